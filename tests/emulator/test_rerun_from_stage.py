"""Rerun from a chosen stage (issue 20): a NEW run (one credit) of a finished run's idea that starts at the
chosen stage, the stages before it done with the finished run's records and artifacts (the metadata copied,
pointing at the same objects in Cloud Storage), the chosen stage and the later ones run again."""

from __future__ import annotations

import json
import uuid

import pytest

from emulator import faults
from shared import artifact_store
from shared.engine.artifacts import make_zip
from shared.runs.records import artifact_doc_id
from shared.store import Tenant, now
from tests.helpers import IDEA, Api, buy_credits, events, pipeline_doc, submit, wait_status

STACK = json.dumps({"backend": "flask", "database": "postgres"}).encode()
README = b"# Invoices\n\nIt keeps invoices.\n"


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    user = api.signup(company="Rerun Co")
    faults.set_flag(user.tenant_id, "passthrough")
    buy_credits(api, user)
    return user


def store_artifacts(tenant_id: str, pid: str, stage: str, files: dict[str, bytes]) -> dict[str, dict]:
    """What a stage's commit stores: the bytes in the bucket under a claim's prefix, the metadata in Firestore
    (pass-through stages store none, so the test stores what the real engine would)."""
    stored = artifact_store.put(tenant_id, pid, stage, uuid.uuid4().hex, files)
    col = Tenant(tenant_id).pipeline(pid).collection("artifacts")
    for name, meta in stored.items():
        col.document(artifact_doc_id(stage, name)).set({**meta, "stage": stage, "attempt": 1, "created_at": now()})
    return stored


@pytest.fixture(scope="module")
def completed(api, owner):
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 30)
    stack = store_artifacts(owner.tenant_id, pid, "tech_stack", {"tech-stack.json": STACK})
    store_artifacts(owner.tenant_id, pid, "development",
                    {"README.md": README, "project.zip": make_zip({"app/__init__.py": b"", "README.md": README})})
    store_artifacts(owner.tenant_id, pid, "qa", {"qa-report.md": b"# QA\n\nold report\n"})
    return pid, stack["tech-stack.json"]


def rerun(api, user, pid, from_stage, key=None):
    return api.post(f"/api/factory/pipelines/{pid}/rerun", user, json={"from_stage": from_stage},
                    headers={"Idempotency-Key": key or str(uuid.uuid4())})


def credits(api, user) -> int:
    return api.get("/api/billing", user).json()["credits"]


def test_rerun_a_completed_run_from_qa_reuses_the_earlier_stages(api, owner, completed):
    src, stack_meta = completed
    before = pipeline_doc(owner.tenant_id, src)
    left = credits(api, owner)
    key = str(uuid.uuid4())
    r = rerun(api, owner, src, "qa", key)
    assert r.status_code == 202, r.text
    new = r.json()["pipeline_id"]
    assert new != src and r.headers["Location"] == f"/api/factory/pipelines/{new}"
    assert r.json()["credits_remaining"] == left - 1
    again = rerun(api, owner, src, "qa", key)  # the same key: the same run, paid once
    assert again.status_code == 202 and again.json()["pipeline_id"] == new and again.json()["replayed"] is True

    p = wait_status(owner.tenant_id, new, "completed", 30)
    assert credits(api, owner) == left - 1
    assert p["rerun_of"] == {"pipeline_id": src, "from_stage": "qa"} and p["idea_id"] == before["idea_id"]
    for s in ("idea_validation", "tech_stack", "uiux_design", "development"):
        st = p["stages"][s]
        assert st["status"] == "completed" and st["reused_from"] == src
        assert st["finished_at"] == before["stages"][s]["finished_at"]
    for s in ("qa", "deployment"):
        assert p["stages"][s]["status"] == "completed" and "reused_from" not in p["stages"][s]
        assert p["stages"][s]["executions"] == 1 and p["stages"][s]["attempt"] == 1
    started = [e["stage"] for e in events(owner.tenant_id, new) if e["type"] == "stage_started"]
    assert started == ["qa", "deployment"]  # nothing before qa ran again

    public = api.get(f"/api/factory/pipelines/{new}", owner).json()
    assert public["rerun_of"]["pipeline_id"] == src
    listing = {a["name"]: a for a in api.get(f"/api/factory/pipelines/{new}/artifacts", owner).json()["artifacts"]}
    assert set(listing) == {"tech-stack.json", "README.md", "project.zip"}  # not the old QA report
    assert listing["tech-stack.json"]["sha256"] == stack_meta["sha256"]
    got = api.get(f"/api/factory/pipelines/{new}/artifacts/tech-stack.json", owner)
    assert got.status_code == 200 and got.content == STACK
    # The reused project opens as files (read from the bucket, as the dashboard's project viewer does).
    files = api.get(f"/api/factory/pipelines/{new}/project/files", owner)
    assert files.status_code == 200, files.text
    assert [f["path"] for f in files.json()["files"]] == ["README.md", "app/__init__.py"]
    one = api.get(f"/api/factory/pipelines/{new}/project/files/README.md", owner)
    assert one.status_code == 200 and one.json()["text"] == README.decode(), one.text
    # The metadata points at the finished run's object: nothing was copied in the bucket.
    meta = Tenant(owner.tenant_id).pipeline(new).collection("artifacts") \
        .document(artifact_doc_id("tech_stack", "tech-stack.json")).get().to_dict()
    assert meta["object"] == stack_meta["object"] and meta["object"].startswith(f"tenants/{owner.tenant_id}/pipelines/{src}/")
    # The finished run is untouched.
    assert pipeline_doc(owner.tenant_id, src)["status"] == "completed"


def test_rerun_refuses_unfinished_runs_ineligible_stages_and_bad_input(api, owner, completed):
    src, _ = completed
    left = credits(api, owner)
    gated = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["tech_stack"]}})
    wait_status(owner.tenant_id, gated, "awaiting_approval", 30)
    r = rerun(api, owner, gated, "tech_stack")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_finished", r.text
    assert "completed, failed or been cancelled" in r.json()["error"]["message"]

    assert api.post(f"/api/factory/pipelines/{gated}/cancel", owner).status_code == 200
    wait_status(owner.tenant_id, gated, "cancelled", 10)
    r = rerun(api, owner, gated, "development")  # design never ran in the cancelled run
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "stage_not_eligible" and "uiux design did not complete" in err["message"]
    assert err["details"]["eligible"] == ["idea_validation", "tech_stack", "uiux_design"]

    r = rerun(api, owner, src, "packaging")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_stage", r.text
    r = api.post(f"/api/factory/pipelines/{src}/rerun", owner, json={"from_stage": "qa"})  # no Idempotency-Key
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required", r.text
    assert rerun(api, owner, "p_doesnotexist0000", "qa").status_code == 404
    stranger = api.signup(company="Elsewhere Co")
    r = rerun(api, stranger, src, "qa")  # another workspace's run
    assert r.status_code == 404 and r.json()["error"]["code"] == "pipeline_not_found", r.text
    assert credits(api, owner) == left  # the gated run was paid, then refunded on cancel; no refusal charged
