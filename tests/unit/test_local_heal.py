"""The supervisor's truth-telling and healing (issue 23), without a local cloud: status words,
health probes against frozen processes, stranger ports, a dead supervisor, and `down` finding every
process it started by the instance id."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import localcloud

HTTP_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

GRPC_SERVER = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
import grpc
server = grpc.server(ThreadPoolExecutor(max_workers=1))
server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
server.start()
time.sleep(120)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.25):
            return True
    except OSError:
        return False


def start(code: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], start_new_session=True)
    deadline = time.monotonic() + 20
    while not connects(port):
        assert time.monotonic() < deadline and proc.poll() is None, "test server did not start"
        time.sleep(0.05)
    return proc


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)


def _stopped(pid: int, within: float = 5.0) -> None:
    """Wait until the kernel reports `pid` stopped (state T in /proc/<pid>/stat)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("T", "t"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not stop within {within} s")


@pytest.mark.parametrize("kind", ["http", "h2"])
def test_a_frozen_process_holds_its_port_but_does_not_answer(procs, kind):
    port = free_port()
    proc = start(HTTP_SERVER if kind == "http" else GRPC_SERVER, port)
    procs.append(proc)
    url = f"http://127.0.0.1:{port}/" if kind == "http" else f"h2://127.0.0.1:{port}"
    assert localcloud._answers(url, timeout=2)
    os.killpg(proc.pid, signal.SIGSTOP)
    _stopped(proc.pid)  # SIGSTOP is delivered asynchronously: under load the probe could be answered before it lands
    try:
        assert connects(port), "the kernel still accepts connections for a frozen process"
        assert not localcloud._answers(url, timeout=0.5)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    assert localcloud._answers(url, timeout=2)


def test_an_http_server_is_not_a_grpc_server():
    port = free_port()
    with socket.socket() as s:  # accepts, never speaks: like a frozen or foreign process
        s.bind(("127.0.0.1", port))
        s.listen()
        assert not localcloud._answers(f"h2://127.0.0.1:{port}", timeout=0.3)


def test_status_words():
    assert localcloud.service_word(True, None, True) == "up"
    assert localcloud.service_word(True, None, None) == "up"
    assert localcloud.service_word(True, None, False).startswith("NOT ANSWERING")
    assert localcloud.service_word(False, None, None).startswith("DOWN")
    stranger = "port 5 held by a stranger (pid 9: x)"
    assert localcloud.service_word(True, stranger, True) == f"NOT SERVING ({stranger})"
    assert stranger in localcloud.service_word(False, stranger, None)


def test_a_port_held_by_another_process_group_is_named_as_a_stranger():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        held = localcloud.listeners()
        assert held[port] == os.getpid()
        assert localcloud._check_ports([port], os.getpgid(0), held) is None
        problem = localcloud._check_ports([port], os.getpgid(0) + 100000, held)
        assert problem and "stranger" in problem and f"pid {os.getpid()}" in problem
    assert localcloud._check_ports([port], os.getpgid(0), localcloud.listeners()) == f"port {port} not listening"


def write_state(state_dir: Path, state: dict) -> None:
    (state_dir / "run").mkdir(parents=True, exist_ok=True)
    (state_dir / "run" / "localcloud.json").write_text(json.dumps(state))


def sleeper(env: dict | None = None, ignore_term: bool = False) -> subprocess.Popen:
    code = ("import signal, time\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "")
            + "time.sleep(120)")
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True, env={**os.environ, **(env or {})})


def base_state(svc: subprocess.Popen, supervisor_pid: int, instance: str = "") -> dict:
    return {"started_at": "now", "offset": 0, "fresh": True, "instance": instance,
            "ports": {k: 1 for k in localcloud.ports()}, "functions": {},  # every port a cloud of today records
            "env": {}, "supervisor": {"pid": supervisor_pid, "pgid": supervisor_pid},
            "services": {"scheduler": {"pid": svc.pid, "pgid": svc.pid, "health": "process", "ports": []}}}


def test_status_counts_a_dead_supervisor_as_down(tmp_path, monkeypatch, procs, capsys):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    svc, sup = sleeper(), sleeper()
    procs += [svc, sup]
    write_state(tmp_path, base_state(svc, sup.pid))
    assert localcloud.status() == 0
    os.killpg(sup.pid, signal.SIGKILL)
    sup.wait(timeout=10)
    assert localcloud.status() == 1
    assert "supervisor" in capsys.readouterr().out.split("DOWN")[0].splitlines()[-1]


def test_down_kills_every_process_of_the_instance_even_one_that_left_its_group(tmp_path, monkeypatch, procs):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    monkeypatch.setattr(localcloud, "STOP_TIMEOUT_S", 1.0)
    instance = "test" + os.urandom(4).hex()
    svc = sleeper({localcloud.INSTANCE_VAR: instance}, ignore_term=True)
    escaped = sleeper({localcloud.INSTANCE_VAR: instance}, ignore_term=True)  # its own session: not in svc's group
    other = sleeper({localcloud.INSTANCE_VAR: "another-cloud"})
    procs += [svc, escaped, other]
    dead_sup = sleeper()
    os.kill(dead_sup.pid, signal.SIGKILL)
    dead_sup.wait(timeout=10)
    write_state(tmp_path, base_state(svc, dead_sup.pid, instance))
    assert sorted(localcloud.instance_processes(instance)) == sorted([svc.pid, escaped.pid])
    assert localcloud.down() == 0
    for p in (svc, escaped):
        p.wait(timeout=10)
    assert other.poll() is None, "a process of another local cloud is left alone"
    assert not (tmp_path / "run" / "localcloud.json").exists()


def test_down_reports_and_fails_when_a_port_stays_held(tmp_path, monkeypatch, procs, capsys):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    svc = sleeper()
    procs.append(svc)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        state = base_state(svc, 0, "none")
        state["services"]["scheduler"]["ports"] = [port]
        state["supervisor"] = {}
        write_state(tmp_path, state)
        assert localcloud.down() == 1
        out = capsys.readouterr().out
        assert "NOT STOPPED" in out and f"port {port} held by pid {os.getpid()}" in out
        assert (tmp_path / "run" / "localcloud.json").exists(), "the state is kept for the next `make down`"


def test_kill_group_takes_the_children_too(procs):
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                               "time.sleep(120)"], start_new_session=True)
    procs.append(parent)
    deadline = time.monotonic() + 10
    while sum(1 for d in Path("/proc").iterdir() if d.name.isdigit() and localcloud.pgid_of(int(d.name)) == parent.pid) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(parent.pid, signal.SIGKILL)  # the host dies; its child lives on in the group
    parent.wait(timeout=10)
    assert localcloud._group_alive(parent.pid)
    assert localcloud.kill_group(parent.pid) == 0
    assert not localcloud._group_alive(parent.pid)
