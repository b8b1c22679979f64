"""Issue 19's plan gate through the real functions: a run asking for plan review pauses after the design stage
(`plan_review`, event `factory_plan_review`), costs nothing more while it waits and no deadline fails it; typed edits
go through the API, checked (422 with the problems, nothing changed), undo restores, and approving stores the edited
spec as the next revision for development to build; an idea with `plan_review: false` never stops."""

from __future__ import annotations

import json

import pytest

from emulator import faults
from shared.engine import specstore
from shared.engine.appspec import AppSpec
from shared.runs import reads, timeouts
from shared.store import Tenant
from tests.helpers import IDEA, Api, buy_credits, events, pipeline_doc, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def owner_with_credits(api: Api):
    owner = api.signup(company="Plan Review Co")
    buy_credits(api, owner)
    return owner


def credits(api: Api, owner) -> int:
    return api.get("/api/billing", owner).json()["credits"]


def stored_spec(tenant_id: str, pid: str) -> tuple[AppSpec, dict]:
    read = reads.artifact_reader(tenant_id, pid)
    return (AppSpec.model_validate_json(read("uiux_design", specstore.SPEC_ARTIFACT)),
            json.loads(read("uiux_design", specstore.HISTORY_ARTIFACT)))


def test_plan_gate_pauses_edits_are_checked_and_the_approved_spec_is_built(api):
    owner = owner_with_credits(api)
    pid = submit(api, owner, {**IDEA, "constraints": {"plan_review": True}})
    p = wait_status(owner.tenant_id, pid, "plan_review", 90)
    assert p["stages"]["uiux_design"]["status"] == "completed" and p["stages"]["development"]["status"] == "pending"
    assert p["deadline_at"] is None
    assert [e for e in events(owner.tenant_id, pid) if e["type"] == "factory_plan_review"]
    left = credits(api, owner)

    # The deadline machinery leaves a run in review alone.
    kind = timeouts.reconcile_run(Tenant(owner.tenant_id).pipeline(pid))
    assert kind in ("skipped", "cleared") and pipeline_doc(owner.tenant_id, pid)["status"] == "plan_review"

    r = api.get(f"/api/factory/pipelines/{pid}/plan", owner)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["editable"] and plan["status"] == "review"
    ents = {e["name"]: e for e in plan["plan"]["entities"]}
    assert {"invoice", "client"} <= set(ents)
    assert {a["name"]: a["type"] for a in ents["invoice"]["attributes"]}["due_date"] == "date"
    assert {m["role"] for m in plan["plan"]["matrix"]} >= {"owner"}
    assert all(f["status"] in ("built", "partial", "not_covered") for f in plan["plan"]["features"])
    assert plan["plan"]["signup"]["policy"] in ("invite", "public")

    base = f"/api/factory/pipelines/{pid}/plan"
    # An edit that breaks the spec: 422 with the problem in words, and nothing changes.
    r = api.post(f"{base}/edits", owner, json={"op": "retype_attribute", "entity": "invoice", "name": "due_date",
                                                "type": "text"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "plan_edit_invalid" and any("Due date" in x for x in err["details"]["problems"])
    r = api.post(f"{base}/edits", owner, json={"op": "nope"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"

    r = api.post(f"{base}/edits", owner, json={"op": "add_attribute", "entity": "invoice",
                                                "attribute": {"name": "notes", "type": "long_text"}})
    assert r.status_code == 201, r.text
    assert r.json()["edit"]["seq"] == 1 and {t["status"] for t in r.json()["trace"]} <= {"built", "partial",
                                                                                          "not_covered"}
    r = api.post(f"{base}/edits", owner, json={"op": "link_entities", "entity": "invoice", "target": "client"})
    assert r.status_code == 201, r.text
    r = api.post(f"{base}/undo", owner)
    assert r.status_code == 200 and r.json()["undone"] == 2
    plan = api.get(base, owner).json()
    inv = {e["name"]: e for e in plan["plan"]["entities"]}["invoice"]
    assert "notes" in {a["name"] for a in inv["attributes"]} and "client_id" not in {a["name"] for a in
                                                                                        inv["attributes"]}
    assert [(e["seq"], e["undone"], e["by"]) for e in plan["edits"]] == [(1, False, owner.uid), (2, True, owner.uid)]
    assert credits(api, owner) == left, "a run in review spends nothing more"

    # Suggested edits (decision 0047): a feature bound to the wrong record gets a typed edit that builds it, which
    # the founder applies through the same edits route.
    r = api.post(f"{base}/edits", owner, json={"op": "bind_feature", "feature": 1, "capabilities": ["records_invoice"]})
    assert r.status_code == 201 and r.json()["trace"][1]["status"] == "partial", r.text
    f = api.get(base, owner).json()["plan"]["features"][1]
    assert f["status"] == "partial" and f["suggested_edits"] and f["no_suggestion"] is None
    s = f["suggested_edits"][0]
    assert s["status_after"] == "built" and s["reason"]
    for body in s["edits"]:
        r = api.post(f"{base}/edits", owner, json=body)
        assert r.status_code == 201, r.text
    assert r.json()["trace"][1]["status"] == "built"
    f = api.get(base, owner).json()["plan"]["features"][1]
    assert f["status"] == "built" and f["suggested_edits"] == []
    for _ in range(len(s["edits"]) + 1):  # back to the plan as it was: the rest checks what approving stores
        assert api.post(f"{base}/undo", owner).status_code == 200

    r = api.post(f"{base}/approve", owner, json={"comment": "looks right"})
    assert r.status_code == 202, r.text
    spec, history = stored_spec(owner.tenant_id, pid)
    assert spec.entity("invoice").field("notes").type == "long_text", "development reads the approved spec"
    assert history["revisions"][-1]["origin"] == "edited" and history["revision"] == 2
    assert api.post(f"{base}/edits", owner, json={"op": "mark_not_needed", "feature": 0}).status_code == 409
    assert api.post(f"{base}/approve", owner).status_code == 409
    faults.set_flag(owner.tenant_id, "passthrough")  # the rest of the run is not what this test is about
    p = wait_status(owner.tenant_id, pid, "completed", 120)
    assert p["metadata"]["plan_approved"]["revision"] == 2 and p["stages"]["uiux_design"]["executions"] == 1


def test_plan_review_false_never_stops_and_routes_answer_404_before_a_plan(api):
    owner = owner_with_credits(api)
    faults.set_flag(owner.tenant_id, "passthrough")
    pid = submit(api, owner, {**IDEA, "constraints": {"plan_review": False}})
    r = api.get(f"/api/factory/pipelines/{pid}/plan", owner)
    assert r.status_code == 404 and r.json()["error"]["code"] in ("plan_not_ready", "pipeline_not_found")
    p = wait_status(owner.tenant_id, pid, "completed", 60)
    assert not [e for e in events(owner.tenant_id, pid) if e["type"] == "factory_plan_review"]
    r = api.post(f"/api/factory/pipelines/{pid}/plan/edits", owner, json={"op": "mark_not_needed", "feature": 0})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_in_plan_review"
    assert p["status"] == "completed"
