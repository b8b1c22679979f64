"""`make up` / `make down` / `make reset` as a user meets them, on a second local cloud with its
own ports and state (the suite's own cloud keeps running beside it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo-factory"


@pytest.fixture
def lc(tmp_path, cloud_env):
    env = {**os.environ, "LOCALCLOUD_PORT_OFFSET": "10000", "STATE_DIR": str(tmp_path / "state"),
           "PYTHONPATH": str(ROOT)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "emulator.localcloud", *args], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
        if check:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    yield run, env
    run("down", check=False)


def group_members(state_dir: Path) -> list[int]:
    """Every live process in any process group the local cloud started."""
    run_file = state_dir / "run" / "localcloud.json"
    pgids = {s["pgid"] for s in json.loads(run_file.read_text())["services"].values()}
    live = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in pgids and fields[0] != "Z":
                live.append(int(d.name))
    return live


def fs_url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}/v1/projects/{PROJECT}/databases/(default)/documents/{path}"


def put_doc(port: int, path: str, value: str) -> None:
    body = json.dumps({"fields": {"v": {"stringValue": value}}}).encode()
    req = urllib.request.Request(fs_url(port, path), data=body, method="PATCH",
                                 headers={"Authorization": "Bearer owner", "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


def get_doc(port: int, path: str) -> str | None:
    req = urllib.request.Request(fs_url(port, path), headers={"Authorization": "Bearer owner"})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=5).read())["fields"]["v"]["stringValue"]
    except urllib.error.HTTPError as e:
        assert e.code == 404
        return None


def test_up_twice_down_persists_reset_clears(lc, tmp_path):
    run, env = lc
    state = tmp_path / "state"
    first = run("up")
    assert "all services answer after" in first.stdout
    assert "http://127.0.0.1:15000/" in first.stdout  # hosting port, shifted
    second = run("up")
    assert "already running" in second.stdout
    info = json.loads((state / "run" / "localcloud.json").read_text())
    fs_port = info["ports"]["firestore"]
    # Through the front door, an API route reaches its function (unauthenticated -> 401 JSON).
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{info['ports']['hosting']}/api/me", timeout=5)
        pytest.fail("expected 401")
    except urllib.error.HTTPError as e:
        assert e.code == 401
        assert json.loads(e.read())["error"]["code"] == "missing_token"

    put_doc(fs_port, "lifecycle/doc", "kept")
    members = group_members(state)
    assert members
    run("down")
    assert not [p for p in members if Path(f"/proc/{p}").exists()
                and (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]

    run("up")
    assert get_doc(fs_port, "lifecycle/doc") == "kept", "data survives down/up"
    run("down")
    run("reset")
    run("up")
    assert get_doc(fs_port, "lifecycle/doc") is None, "reset clears the data"
    run("down")


def test_port_in_use_names_port_and_owner(lc):
    import socket

    run, env = lc
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 5000 + 10000))
        s.listen()
        p = run("up", check=False)
    assert p.returncode == 2
    assert "port 15000 (for frontdoor) is already in use by pid" in p.stdout
    assert str(os.getpid()) in p.stdout
