"""Whole journeys with the real stage engine: sign up, pay, submit, six stages, artifacts, preview."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import requests

from emulator import faults
from tests.helpers import IDEA, Api, buy_credits, bytes_in_firestore, events, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    o = api.signup(company="Journey Inc")
    buy_credits(api, o)
    return o


def test_idea_becomes_a_tested_running_app_with_artifacts(api, owner):
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 120)
    assert p["status"] == "completed", p.get("error_message")
    qa = p["stages"]["qa"]["summary"]
    assert qa["passed"] is True and qa["tests"]["run"] > 0 and qa["tests"]["failures"] == 0
    listing = api.get(f"/api/factory/pipelines/{pid}/artifacts", owner).json()["artifacts"]
    names = {a["name"] for a in listing}
    assert {"validation-report.json", "tech-stack.md", "design-system.json", "project.zip", "qa-report.json",
            "Dockerfile", "service.yaml", "source.tar.gz"} <= names
    r = api.get(f"/api/factory/pipelines/{pid}/artifacts/project.zip", owner)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert any(n.endswith("requirements.txt") for n in zf.namelist())
    r = api.get(f"/api/factory/pipelines/{pid}/artifacts/validation-report.json", owner)
    assert json.loads(r.content)["verdict"] in ("go", "needs_work")
    svg = next(n for n in names if n.startswith("wireframes/"))
    r = api.get(f"/api/factory/pipelines/{pid}/artifacts/{svg}", owner)
    assert r.status_code == 200 and r.content.lstrip().startswith(b"<") and "sandbox" in r.headers[
        "Content-Security-Policy"]
    url = p["stages"]["deployment"]["summary"]["url"]
    health = requests.get(url.rstrip("/") + "/health", timeout=5)
    assert health.status_code == 200
    # The owner claim link: from the API, for the owner who started the run; never in the run document
    # every member reads (issue 18). The deployment stage's commit put it in the server-only document.
    r = api.get(f"/api/factory/pipelines/{pid}/claim", owner)
    assert r.status_code == 200, r.text
    claim_url = r.json()["claim_url"]
    assert claim_url.startswith(url.rstrip("/") + "/claim?token=")
    assert "token=" not in json.dumps(p, default=str) and p["stages"]["deployment"]["summary"]["claim"]
    assert requests.get(claim_url, timeout=5).status_code == 200  # the app's claim page takes the token
    # Artifacts are in Cloud Storage: no document of the whole run holds their bytes (issue 21).
    from shared.store import Tenant

    scanned, found = bytes_in_firestore(Tenant(owner.tenant_id).pipeline(pid))
    assert scanned > 20 and found == [], found
    # Another tenant gets nothing of it.
    other = api.signup(company="Nosy")
    assert api.get(f"/api/factory/pipelines/{pid}/artifacts/project.zip", other).status_code == 404


def test_bad_idea_is_rejected_with_a_reason(api, owner):
    bad = {"title": "asdf qwer", "description": "asdfgh qwerty zxcvbn asdfgh qwerty zxcvbn",
           "target_audience": "qwerty", "key_features": []}
    pid = submit(api, owner, bad)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 60)
    assert p["status"] == "failed" and p["error_code"] == "stage_rejected"
    assert p["error_message"] and p["stages"]["idea_validation"]["status"] == "failed"
    assert p["stages"]["tech_stack"]["status"] == "pending"


def test_qa_failure_loops_back_to_development_and_is_fixed(api, owner):
    faults.arm(owner.tenant_id, "engine", "development", remaining=1, value="failing_test")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 120)
    assert p["status"] == "completed", p.get("error_message")
    assert p["metadata"]["qa_loops"] == 1
    assert p["stages"]["development"]["attempt"] == 2
    assert [e["type"] for e in events(owner.tenant_id, pid)].count("qa_loop_back") == 1


def test_qa_that_keeps_failing_fails_the_run_with_the_report(api, owner):
    faults.arm(owner.tenant_id, "engine", "development", remaining=3, value="always_failing_test")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 180)
    assert p["status"] == "failed" and p["error_code"] == "qa_failed"
    assert p["metadata"]["qa_loops"] == 2 and p["stages"]["development"]["attempt"] == 3
    names = {a["name"] for a in api.get(f"/api/factory/pipelines/{pid}/artifacts", owner).json()["artifacts"]}
    assert "qa-report.json" in names and "project.zip" in names


def test_budget_stops_the_run_cleanly(api, owner):
    idea = {**IDEA, "constraints": {"budget": {"compute_s": 0.001}}}
    pid = submit(api, owner, idea)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 60)
    assert p["status"] == "failed" and p["error_code"] == "budget_exceeded"
    assert "budget" in p["error_message"] and p["stages"]["idea_validation"]["status"] == "completed"


def test_duplicate_stage_message_gives_byte_identical_artifacts(api, owner):
    """A stage rerun from a duplicate (redelivered) message produces the same bytes."""
    faults.arm(owner.tenant_id, "crash_mid_stage", "development")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 120)
    assert p["status"] == "completed" and p["stages"]["development"]["executions"] == 2
    from shared.engine import STAGES, StageInput, run_stage
    from shared.runs.reads import artifact_reader, load_idea

    idea = load_idea(owner.tenant_id, p["idea_id"])
    read = artifact_reader(owner.tenant_id, pid)
    inp = StageInput(pipeline_id=pid, tenant_id=owner.tenant_id,
                     idea={k: idea.get(k) for k in ("title", "description", "target_audience", "key_features",
                                                    "constraints")},
                     prior={s: p["stages"][s]["summary"] for s in STAGES[:3]}, artifacts=read, attempt=1)
    again = run_stage("development", inp)
    assert again.artifacts["project.zip"] == read("development", "project.zip")
