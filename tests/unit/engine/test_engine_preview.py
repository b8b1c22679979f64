"""Local previews: start, health, TTL reaping, stop_all — and no process left behind."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from shared.engine import EngineConfig, StageInput, no_artifacts, preview, run_stage
from shared.engine.artifacts import read_zip

from .corpus import idea_by_id


@pytest.fixture(scope="module")
def project_files():
    idea = idea_by_id("leafy")
    r = run_stage("development", StageInput("pv", "t", idea, {}, no_artifacts), EngineConfig())
    return read_zip(r.artifacts["project.zip"])


def _gone(pid: int, wait_s: float = 3.0) -> bool:
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        if not preview.is_running(pid):
            return True
        time.sleep(0.05)
    return False


def _standalone_entity(files: dict[str, bytes]) -> dict:
    """An entity of the generated app without required references (creatable in one request)."""
    from shared.engine.appspec import AppSpec
    from shared.engine.compiler import entities_meta

    spec = AppSpec.model_validate_json(files["app/spec.json"])
    return next(e for e in entities_meta(spec).values()
                if not any(f["type"] == "reference" and f["required"] for f in e["fields"]))


def test_preview_serves_the_app_and_stops(project_files, state_dir):
    from shared.engine.compiler.samples import sample_payload

    config = EngineConfig(state_dir=state_dir)
    rec = preview.start_preview("pv-1", project_files, config)
    assert rec["health"]["status"] == "ok"
    entity = _standalone_entity(project_files)
    api = f"{rec['url']}/api/{entity['plural']}"
    assert requests.get(api, timeout=5).status_code == 401  # accounts are on: anonymous reads are refused
    # nobody owns a fresh preview by signing up first; the claim link the record carries makes the owner, once
    early = requests.post(rec["url"] + "/api/auth/signup", json={"email": "early@example.com",
                                                                  "password": "pw-123456789"}, timeout=5)
    assert early.status_code in (202, 403), early.text
    claim = urllib.parse.urlsplit(rec["claim_url"])
    assert rec["claim_url"].startswith(rec["url"] + "/claim?token=")
    claim_token = urllib.parse.parse_qs(claim.query)["token"][0]
    assert len(claim_token) >= 32
    owner = requests.Session()
    assert owner.get(rec["claim_url"], timeout=5).status_code == 200  # the claim page
    signed = owner.post(rec["url"] + "/api/auth/claim", json={"token": claim_token, "email": "o@example.com",
                                                               "password": "pw-123456789"}, timeout=5)
    assert signed.status_code == 201 and signed.json()["user"]["role"] == "owner", signed.text
    again = requests.post(rec["url"] + "/api/auth/claim", json={"token": claim_token, "email": "x@example.com",
                                                                 "password": "pw-123456789"}, timeout=5)
    assert again.status_code == 409
    token = signed.json()["csrf_token"]
    r = owner.get(api, timeout=5)
    assert r.status_code == 200 and r.json()["total"] == 0
    payload = {k: v for k, v in sample_payload(entity).items()}
    assert owner.post(api, json=payload, timeout=5).status_code == 403  # no CSRF token
    created = owner.post(api, json=payload, headers={"X-CSRF-Token": token}, timeout=5)
    assert created.status_code == 201, created.text
    page = owner.get(f"{rec['url']}/{entity['plural']}", timeout=5)
    assert page.status_code == 200 and entity["label_plural"] in page.text
    # the preview's database is a SQLite file under the preview's own directory
    assert (Path(rec["dir"]) / "data" / "app.db").is_file()
    # links and QR codes are built on the preview's own address, never on a request's Host header
    assert f"PUBLIC_BASE_URL={rec['url']}".encode() in Path(f"/proc/{rec['pid']}/environ").read_bytes().split(b"\0")
    saved = json.loads(preview.record_path(state_dir, "pv-1").read_text())
    assert saved["pid"] == rec["pid"] and saved["expires_at"] > time.time()
    assert saved["claim_url"] == rec["claim_url"]
    assert preview.record_path(state_dir, "pv-1").stat().st_mode & 0o077 == 0  # only the factory reads the link
    assert preview.stop_preview("pv-1", state_dir) is True
    assert _gone(rec["pid"])
    assert preview.stop_preview("pv-1", state_dir) is False


def test_reap_expired_stops_only_expired_previews(project_files, state_dir):
    config = EngineConfig(state_dir=state_dir)
    short = preview.start_preview("pv-short", project_files, config, ttl_s=0.5)
    long = preview.start_preview("pv-long", project_files, config, ttl_s=600)
    time.sleep(0.6)
    assert preview.reap_expired(state_dir) == ["pv-short"]
    assert _gone(short["pid"])
    assert preview.is_running(long["pid"])
    assert requests.get(long["url"] + "/health", timeout=5).status_code == 200
    assert [r["pipeline_id"] for r in preview.load_records(state_dir)] == ["pv-long"]
    assert preview.reap_expired(state_dir, now=time.time() + 3600) == ["pv-long"]
    assert _gone(long["pid"])
    assert preview.load_records(state_dir) == []


def test_stop_all_leaves_no_process(project_files, state_dir):
    config = EngineConfig(state_dir=state_dir)
    recs = [preview.start_preview(f"pv-all-{i}", project_files, config) for i in range(3)]
    assert sorted(preview.stop_all(state_dir)) == ["pv-all-0", "pv-all-1", "pv-all-2"]
    for rec in recs:
        assert _gone(rec["pid"]), rec
        with pytest.raises(requests.ConnectionError):
            requests.get(rec["url"] + "/health", timeout=2)
    assert preview.load_records(state_dir) == []
    assert list(preview.previews_dir(state_dir).iterdir()) == []


def test_reaper_clears_records_of_dead_previews(project_files, state_dir):
    import os
    import signal

    rec = preview.start_preview("pv-dead", project_files, EngineConfig(state_dir=state_dir))
    os.killpg(rec["pid"], signal.SIGKILL)
    assert _gone(rec["pid"])
    assert preview.reap_expired(state_dir) == ["pv-dead"]
    assert not preview.record_path(state_dir, "pv-dead").exists()


def test_unhealthy_preview_raises_and_cleans_up(state_dir):
    files = {"app/__init__.py": b"", "app/__main__.py": b"raise SystemExit(3)\n"}
    config = EngineConfig(state_dir=state_dir, preview_health_timeout_s=5)
    with pytest.raises(preview.PreviewError, match="exited with 3"):
        preview.start_preview("pv-bad", files, config)
    assert preview.load_records(state_dir) == []


def test_unsafe_pipeline_ids_map_inside_the_previews_dir(state_dir):
    base = preview.previews_dir(state_dir).resolve()
    for pid in ("../etc", "a/b", "..", "/abs", "x" * 300):
        path = preview.record_path(state_dir, pid).resolve()
        assert path.parent == base, pid
    assert preview.record_path(state_dir, "../etc") != preview.record_path(state_dir, "etc")
    assert preview.stop_preview("../etc", state_dir) is False


def test_the_demo_proves_its_apps_capabilities_on_a_preview(state_dir):
    # `make demo` step 7, against a preview of the demo's own idea: claim, read the schema signed in (it is
    # closed to anonymous visitors), prove every capability it has a proof for
    from emulator import demo, demo_app

    r = run_stage("development", StageInput("pv-demo", "t", demo.IDEA, {}, no_artifacts), EngineConfig())
    rec = preview.start_preview("pv-demo", read_zip(r.artifacts["project.zip"]), EngineConfig(state_dir=state_dir))
    try:
        said: list[str] = []
        proven = demo_app.prove(rec["url"], said.append, rec["claim_url"], email="founder@example.com")
        kinds = {c["kind"] for c in json.loads(read_zip(r.artifacts["project.zip"])["app/spec.json"])["capabilities"]}
        assert proven == len(kinds & set(demo_app.PROOFS)) >= 2, "\n".join(said)
        assert any("anonymous GET /api/schema -> 401" in line for line in said), said
    finally:
        preview.stop_preview("pv-demo", state_dir)
