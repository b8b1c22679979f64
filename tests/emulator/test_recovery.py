"""The reconciler's field and the clean ends: `deadline_at` is set while a run's current stage can
make progress and cleared when it cannot; a stage whose pipeline document vanished mid-stage
acknowledges without a crash and without writing anything back."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.cloud import firestore

from emulator import faults
from shared import clients
from tests.helpers import IDEA, Api, buy_credits, pipeline_doc, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    o = api.signup(company="Recovery Co")
    faults.set_flag(o.tenant_id, "passthrough")
    buy_credits(api, o)
    return o


def wait_for(pred, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s")


def test_deadline_at_follows_the_current_stage_and_is_cleared_when_the_run_stops(api, owner):
    faults.arm(owner.tenant_id, "slow_stage", "tech_stack", seconds=1.5)
    idea = {**IDEA, "constraints": {"approval_gates": ["uiux_design"]}}
    pid = submit(api, owner, idea)
    p = wait_for(lambda: (d := pipeline_doc(owner.tenant_id, pid)).get("stages", {}).get("tech_stack", {})
                 .get("status") == "running" and d, 20, "tech stack never ran")
    now = datetime.now(UTC)
    started = p["stages"]["tech_stack"]["started_at"]
    assert p["deadline_at"] > now, "a running stage's deadline is in the future"
    assert p["deadline_at"] >= started, "set from the claim"
    p = wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    assert p["deadline_at"] is None, "a run waiting for a person has no deadline"
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={})
    assert r.status_code in (200, 202), r.text
    p = wait_status(owner.tenant_id, pid, "completed", 30)
    assert p["deadline_at"] is None, "a finished run has no deadline (the reconciler never sees it)"


def test_a_stage_whose_pipeline_document_vanished_acknowledges_cleanly(api, owner):
    faults.arm(owner.tenant_id, "slow_stage", "uiux_design", seconds=2)
    pid = submit(api, owner)
    wait_for(lambda: pipeline_doc(owner.tenant_id, pid).get("stages", {}).get("uiux_design", {})
             .get("status") == "running", 20, "uiux design never ran")
    db = clients.firestore()
    pref = db.document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    pref.delete()
    time.sleep(4)  # the stage finishes its work and tries to commit
    assert not pref.get().exists, "the commit must not bring the document back"
    outbox = [d.id for d in db.collection("outbox").where(
        filter=firestore.FieldFilter("pipeline_id", "==", pid)).stream()]
    assert outbox == [], "nothing was dispatched for a vanished run"
    log = Path(os.environ["STATE_DIR"]) / "logs" / "functions.log"
    mine = []
    for line in log.read_text(errors="replace").splitlines():
        if pid in line:
            try:
                mine.append(json.loads(line))
            except ValueError:
                continue
    uiux = [r for r in mine if r.get("stage") == "uiux_design"]
    assert any(r["message"].startswith("stage done; run is discarded") for r in uiux), [r["message"] for r in uiux]
    assert not [r for r in mine if r.get("severity") in ("ERROR", "CRITICAL")]
    assert not [r for r in uiux if r["message"] == "claim: pipeline does not exist"], \
        "the message was acknowledged, not redelivered after a crash"


def test_a_completed_run_restored_as_running_records_its_commits_instead_of_redoing_the_work(api, owner):
    """Issue 23: Firestore restored from an older snapshot brought completed runs back as running, and
    QA and deployment ran again. A stage that finds its attempt already committed records that commit."""
    from shared import dispatch, topology
    from shared.models.pipeline import StageMessage

    pid = submit(api, owner)
    done = wait_status(owner.tenant_id, pid, "completed", 30)
    db = clients.firestore()
    pref = db.document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    commits = {d.id: d.to_dict() for d in pref.collection("commits").stream()}
    assert {"qa-1", "deployment-1"} <= set(commits), sorted(commits)
    # Mark what the first executions committed, so a re-run (which would write its own) shows.
    for name in ("qa-1", "deployment-1"):
        pref.collection("commits").document(name).update({"summary.restored_marker": name})
    # The snapshot as it was when QA had been dispatched: QA queued, deployment not yet started.
    qa = done["stages"]["qa"]
    pref.update({"status": "running", "current_stage": "qa", "progress": topology.STAGE_PROGRESS["development"],
                 "completed_at": None, "deadline_at": datetime.now(UTC) + timedelta(seconds=30),
                 "stages.qa.status": "dispatched", "stages.qa.summary": None,
                 "stages.deployment.status": "pending", "stages.deployment.attempt": 0,
                 "stages.deployment.summary": None})
    fence = (pref.collection("private").document("fence").get().to_dict() or {})["stages"]["qa"]
    msg = StageMessage(tenant_id=owner.tenant_id, pipeline_id=pid, stage="qa", attempt=qa["attempt"],
                       dispatch_id=fence["dispatch_id"])
    dispatch.publish(topology.stage_topic("qa"), msg.model_dump_json().encode(), msg.attributes())
    p = wait_status(owner.tenant_id, pid, "completed", 30)
    assert p["stages"]["qa"]["summary"].get("restored_marker") == "qa-1", p["stages"]["qa"]["summary"]
    assert p["stages"]["deployment"]["summary"].get("restored_marker") == "deployment-1", \
        p["stages"]["deployment"]["summary"]
    assert p["stages"]["deployment"]["attempt"] == 1
