"""The API behind the dashboard's artifact viewer (issue 20): "Request changes" at an approval gate, the
generated project's files, and redeploying an expired local preview at no credit cost."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
from google.cloud import firestore

from emulator import faults
from shared import artifact_store
from shared.engine import preview
from shared.engine.artifacts import make_zip
from shared.runs.records import artifact_doc_id
from tests.helpers import IDEA, Api, buy_credits, events, join, pipeline_doc, submit, wait_status

# A stand-in for a generated app: `python -m app` serving /health on $PORT (what start_preview waits for).
APP_MAIN = b"""import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status": "ok"}'
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), H).serve_forever()
"""
PROJECT = {"app/__init__.py": b"", "app/__main__.py": APP_MAIN, "README.md": b"# Invoices\n\nIt keeps invoices.\n",
           "static/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary"}


def db() -> firestore.Client:
    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    user = api.signup(company="Viewer Co")
    faults.set_flag(user.tenant_id, "passthrough")
    buy_credits(api, user)
    return user


@pytest.fixture(scope="module")
def other(api):
    return api.signup(company="Elsewhere Co")


@pytest.fixture(scope="module")
def viewer(api, owner):
    return join(api, owner, role="viewer")


@pytest.fixture(scope="module")
def completed(api, owner):
    """A finished run (pass-through stages) whose development stage stored PROJECT as its project.zip."""
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 30)
    return pid


def store_project(tenant_id: str, pid: str, files: dict[str, bytes]) -> None:
    """What the development stage's commit stores: the archive in the bucket, its metadata in Firestore."""
    meta = artifact_store.put(tenant_id, pid, "development", uuid.uuid4().hex, {"project.zip": make_zip(files)})
    db().document(f"tenants/{tenant_id}/pipelines/{pid}/artifacts/{artifact_doc_id('development', 'project.zip')}").set(
        {**meta["project.zip"], "stage": "development", "attempt": 1, "created_at": firestore.SERVER_TIMESTAMP})


def test_request_changes_at_a_gate_records_the_comment_and_keeps_the_run_waiting(api, owner, other, viewer):
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["tech_stack"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    path = f"/api/factory/pipelines/{pid}/request-changes"

    r = api.post(path, owner, json={"comment": "   "})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed", r.text
    r = api.post(path, owner, json={"stage": "qa", "comment": "Use Postgres"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_stage", r.text
    assert api.post(path, other, json={"comment": "x"}).status_code == 404
    r = api.post(path, viewer, json={"comment": "Use Postgres"})
    assert r.status_code == 403, r.text

    r = api.post(path, owner, json={"stage": "tech_stack", "comment": "Use Postgres, not SQLite"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awaiting_approval"
    p = pipeline_doc(owner.tenant_id, pid)
    assert p["status"] == "awaiting_approval" and p["awaiting_approval_for"] == "tech_stack"
    assert p["metadata"]["change_requests"] == {"tech_stack": 1}
    asked = [e for e in events(owner.tenant_id, pid) if e["type"] == "changes_requested"]
    assert len(asked) == 1 and asked[0]["comment"] == "Use Postgres, not SQLite" and asked[0]["by"] == owner.uid
    assert asked[0]["stage"] == "tech_stack"

    # The approval's comment is kept in its event too (it was stored only in the metadata before).
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={"comment": "Fine after all"})
    assert r.status_code == 202, r.text
    approved = [e for e in events(owner.tenant_id, pid) if e["type"] == "stage_approved"]
    assert len(approved) == 1 and approved[0]["comment"] == "Fine after all" and approved[0]["by"] == owner.uid
    wait_status(owner.tenant_id, pid, "completed", 30)
    r = api.post(path, owner, json={"comment": "Too late"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_awaiting", r.text


def test_the_generated_projects_files_are_listed_and_read_one_at_a_time(api, owner, other, completed):
    base = f"/api/factory/pipelines/{completed}/project/files"
    r = api.get(base, owner)  # pass-through stages stored no project
    assert r.status_code == 404 and r.json()["error"]["code"] == "project_not_built", r.text

    store_project(owner.tenant_id, completed, PROJECT)
    r = api.get(base, owner)
    assert r.status_code == 200, r.text
    assert [f["path"] for f in r.json()["files"]] == sorted(PROJECT)
    assert {f["path"]: f["size"] for f in r.json()["files"]}["README.md"] == len(PROJECT["README.md"])

    r = api.get(f"{base}/README.md", owner)
    assert r.status_code == 200 and r.json()["text"] == PROJECT["README.md"].decode() and not r.json()["binary"]
    r = api.get(f"{base}/app/__main__.py", owner)
    assert r.status_code == 200 and "serve_forever" in r.json()["text"]
    r = api.get(f"{base}/static/logo.png", owner)
    assert r.status_code == 200 and r.json()["binary"] is True and r.json()["text"] is None
    for missing in ("nope.txt", "app", "app/%2E%2E/README.md"):  # names match the listing exactly
        r = api.get(f"{base}/{missing}", owner)
        assert r.status_code == 404, (missing, r.text)
    # Another workspace sees neither the listing nor a file (404, as for any run of theirs).
    assert api.get(base, other).json()["error"]["code"] == "pipeline_not_found"
    assert api.get(f"{base}/README.md", other).status_code == 404


def test_an_expired_preview_is_redeployed_from_the_stored_project_at_no_credit_cost(api, owner, other, viewer,
                                                                                    completed):
    state_dir = os.environ.get("STATE_DIR", ".local")
    path = f"/api/factory/pipelines/{completed}/preview"
    r = api.post(path, owner)  # pass-through deployment: nothing was deployed as a preview
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_preview", r.text

    ref = db().document(f"tenants/{owner.tenant_id}/pipelines/{completed}")
    expired = {"url": "http://127.0.0.1:9", "pid": 0, "port": 9, "expires_at": time.time() - 60}
    ref.update({"stages.deployment.summary": {"mode": "local_preview", "deployed": True, "url": expired["url"],
                                              "preview": expired}})
    store_project(owner.tenant_id, completed, PROJECT)
    credits = api.get("/api/billing", owner).json()["credits"]
    try:
        assert api.post(path, other).status_code == 404
        assert api.post(path, viewer).status_code == 403

        r = api.post(path, owner)
        assert r.status_code == 200, r.text
        shown = r.json()["preview"]
        assert shown["expires_at"] > time.time() + 60 and shown["url"] != expired["url"]
        assert requests.get(shown["url"] + "/health", timeout=5).status_code == 200
        p = pipeline_doc(owner.tenant_id, completed)
        assert p["stages"]["deployment"]["summary"]["preview"] == shown
        assert p["stages"]["deployment"]["summary"]["url"] == shown["url"]
        assert [e["type"] for e in events(owner.tenant_id, completed)][-1] == "preview_redeployed"
        claim = api.get(f"/api/factory/pipelines/{completed}/claim", owner).json()
        assert claim["claim_url"].startswith(shown["url"] + "/claim?token=")
        assert api.get("/api/billing", owner).json()["credits"] == credits, "a redeploy spends no credit"

        # A live preview is not restarted (its data would be lost).
        r = api.post(path, owner)
        assert r.status_code == 409 and r.json()["error"]["code"] == "preview_running", r.text
    finally:
        preview.stop_preview(completed, state_dir)

    # Without the stored project there is nothing to start.
    db().document(f"tenants/{owner.tenant_id}/pipelines/{completed}/artifacts/"
                  f"{artifact_doc_id('development', 'project.zip')}").delete()
    r = api.post(path, owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_artifacts", r.text


def test_a_run_that_has_not_deployed_has_no_preview_to_redeploy(api, owner):
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    r = api.post(f"/api/factory/pipelines/{pid}/preview", owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_deployed", r.text
