"""The factory pipeline through the real functions and the real Pub/Sub emulator: exactly-once
effects under duplicates, crashes, lost publishes and lost messages; user actions; isolation."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.cloud import pubsub_v1

from emulator import faults
from shared import topology
from tests.helpers import IDEA, Api, buy_credits, events, join, pipeline_doc, submit, wait_status

STAGES = topology.STAGES


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def sink_mails(to: str) -> list[dict]:
    import requests

    return requests.get(os.environ["MAIL_SINK_URL"] + "/messages", params={"to": to}, timeout=10).json()["messages"]


def passthrough_owner(api: Api, packs: int = 1):
    owner = api.signup(company="Pipeline Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    for _ in range(packs):
        buy_credits(api, owner)
    return owner


def assert_each_stage_once(p: dict, except_stage: str | None = None) -> None:
    for s in STAGES:
        st = p["stages"][s]
        assert st["status"] == "completed", (s, st["status"])
        if s != except_stage:
            assert st["executions"] == 1, (s, st["executions"])


def stage_completions(evs: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in evs:
        if e["type"] == "stage_completed":
            out[e["stage"]] = out.get(e["stage"], 0) + 1
    return out


def test_a_run_goes_through_six_stages_with_progress_and_events(api):
    owner = passthrough_owner(api)
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, "completed", 30)
    assert p["progress"] == 100 and p["completed_at"] and p["duration_ms"] > 0
    assert_each_stage_once(p)
    evs = events(owner.tenant_id, pid)
    assert evs[0]["type"] == "factory_triggered" and evs[-1]["type"] == "factory_completed"
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    progress = [e["progress"] for e in evs if e["type"] == "factory_progress"]
    assert progress == [20, 35, 50, 75, 90, 100]
    assert stage_completions(evs) == {s: 1 for s in STAGES}
    body = api.get(f"/api/factory/pipelines/{pid}", owner).json()
    assert body["status"] == "completed" and "claim_id" not in body["stages"]["qa"]
    # The same events through the API (the dashboard's polling fallback), paged after a seq.
    r = api.get(f"/api/factory/pipelines/{pid}/events", owner)
    assert r.status_code == 200, r.text
    assert [e["seq"] for e in r.json()["events"]] == [e["seq"] for e in evs] and r.json()["next_after"] is None
    assert r.json()["events"][-1]["type"] == "factory_completed" and r.json()["events"][-1]["at"]
    page = api.get(f"/api/factory/pipelines/{pid}/events?after=2&limit=3", owner).json()
    assert [e["seq"] for e in page["events"]] == [3, 4, 5] and page["next_after"] == 5
    assert api.get(f"/api/factory/pipelines/{pid}/events?after=-1", owner).status_code == 400
    other = api.signup(company="Other Co")
    r = api.get(f"/api/factory/pipelines/{pid}/events", other)
    assert r.status_code == 404 and r.json()["error"]["code"] == "pipeline_not_found"


def test_a_completed_run_has_log_lines_for_each_stage_readable_through_the_api(api):
    owner = passthrough_owner(api)
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 30)
    r = api.get(f"/api/factory/pipelines/{pid}/logs", owner)
    assert r.status_code == 200, r.text
    lines = r.json()["logs"]
    by_stage = {s: [ln["message"] for ln in lines if ln["stage"] == s] for s in STAGES}
    for s in STAGES:
        name = s.replace("_", " ").capitalize()
        assert by_stage[s][0].startswith(f"{name}, attempt 1: ran on the passthrough engine"), by_stage[s]
        assert any("Pass-through mode" in m for m in by_stage[s]) and by_stage[s][-1] == f"{name} completed"
    assert [ln["stage"] for ln in lines] == sorted((ln["stage"] for ln in lines), key=STAGES.index)  # write order
    one = api.get(f"/api/factory/pipelines/{pid}/logs?stage=qa", owner).json()["logs"]
    assert one and {ln["stage"] for ln in one} == {"qa"}
    bad = api.get(f"/api/factory/pipelines/{pid}/logs?stage=marketing", owner)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"
    other = api.signup(company="Other Co")
    r = api.get(f"/api/factory/pipelines/{pid}/logs", other)
    assert r.status_code == 404 and r.json()["error"]["code"] == "pipeline_not_found"


def test_orchestrate_is_an_alias_of_idea_intake(api):
    owner = passthrough_owner(api)
    before = api.get("/api/billing", owner).json()["credits"]
    r = api.post("/api/orchestrate", owner, json=IDEA, headers={"Idempotency-Key": "orch-1"})
    assert r.status_code == 202, r.text
    body = r.json()
    pid = body["pipeline_id"]
    assert body["status"] == "queued" and r.headers["Location"] == f"/api/factory/pipelines/{pid}"
    assert body["links"]["firestore"] == f"tenants/{owner.tenant_id}/pipelines/{pid}"
    again = api.post("/api/orchestrate", owner, json=IDEA, headers={"Idempotency-Key": "orch-1"})
    assert again.status_code == 202 and again.json()["pipeline_id"] == pid
    assert api.get("/api/billing", owner).json()["credits"] == before - 1
    p = wait_status(owner.tenant_id, pid, "completed", 30)
    assert p["tenant_id"] == owner.tenant_id and p["idea_id"] == body["idea_id"]
    bad = api.post("/api/orchestrate", owner, json={"title": ""})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_failed"


def test_every_message_delivered_three_times_executes_each_stage_once(api):
    owner = passthrough_owner(api)
    faults.set_flag(owner.tenant_id, "triplicate")
    pids = [submit(api, owner) for _ in range(3)]
    for pid in pids:
        p = wait_status(owner.tenant_id, pid, "completed", 60)
        assert_each_stage_once(p)
        assert stage_completions(events(owner.tenant_id, pid)) == {s: 1 for s in STAGES}


def test_stage_process_killed_mid_stage_is_redelivered_and_completes(api):
    owner = passthrough_owner(api)
    faults.arm(owner.tenant_id, "crash_mid_stage", "uiux_design")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, "completed", 60)
    assert p["stages"]["uiux_design"]["executions"] == 2, "the crashed execution and the redelivery"
    assert_each_stage_once(p, except_stage="uiux_design")
    assert stage_completions(events(owner.tenant_id, pid)) == {s: 1 for s in STAGES}, "one execution's effects"


def test_publish_failure_after_commit_still_starts_next_stage(api):
    owner = passthrough_owner(api)
    faults.arm(owner.tenant_id, "publish_fail", "tech_stack")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, "completed", 60)
    assert_each_stage_once(p)


def test_watchdog_recovers_a_lost_message(api):
    owner = passthrough_owner(api)
    faults.arm(owner.tenant_id, "lose_message", "tech_stack")
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, "completed", 90)
    assert_each_stage_once(p)
    assert p["metadata"]["redispatches"] == {"uiux_design": 1}
    # The same dispatch was published again (decision 0032): one attempt, one execution.
    assert p["stages"]["uiux_design"]["attempt"] == 1 and p["stages"]["uiux_design"]["executions"] == 1
    assert any(e["type"] == "stage_timed_out" and "publishing its message again" in e["message"]
               for e in events(owner.tenant_id, pid))


def test_poison_message_is_dead_lettered_and_fails_the_run(api):
    owner = passthrough_owner(api)
    idea = {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}}
    pid = submit(api, owner, idea)
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    pub = pubsub_v1.PublisherClient()
    topic = pub.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], topology.stage_topic("idea_validation"))
    import time

    from google.cloud import firestore

    # A poison message that names no attempt and dispatch cannot be matched to the run: ignored.
    pub.publish(topic, b"\x00not json", tenant_id=owner.tenant_id, pipeline_id=pid, stage="idea_validation").result(10)
    # One naming the stage's current attempt and dispatch (server-only fence document) fails the run.
    fence = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"]).document(
        f"tenants/{owner.tenant_id}/pipelines/{pid}/private/fence").get().to_dict()
    dispatch_id = fence["stages"]["idea_validation"]["dispatch_id"]
    time.sleep(2)
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "awaiting_approval", "an unfenced dead letter changed the run"
    pub.publish(topic, b"\x00not json", tenant_id=owner.tenant_id, pipeline_id=pid, stage="idea_validation",
                attempt="1", dispatch_id=dispatch_id).result(10)
    p = wait_status(owner.tenant_id, pid, "failed", 30)
    assert p["error_code"] == "dead_lettered"
    assert "could not read its message" in p["error_message"]


def test_repeated_transient_failure_dead_letters_then_retry_resumes_from_last_good_stage(api):
    owner = passthrough_owner(api)
    faults.arm(owner.tenant_id, "transient", "development", remaining=topology.MAX_DELIVERY_ATTEMPTS)
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, "failed", 90)
    assert p["error_code"] == "dead_lettered" and "deliveries" in p["error_message"]
    assert p["stages"]["development"]["status"] == "failed"
    stopped = [ln for ln in api.get(f"/api/factory/pipelines/{pid}/logs?stage=development", owner).json()["logs"]
               if ln["level"] == "error"]
    assert len(stopped) == 1 and stopped[0]["message"].startswith("Development stopped: development failed on every")
    done_before = {s: p["stages"][s]["executions"] for s in STAGES[:3]}
    r = api.post(f"/api/factory/pipelines/{pid}/retry", owner)
    assert r.status_code == 202, r.text
    p = wait_status(owner.tenant_id, pid, "completed", 60)
    assert {s: p["stages"][s]["executions"] for s in STAGES[:3]} == done_before, "earlier stages were not rerun"
    # The owner was mailed once when it stopped and once when it finished (the old failure is not mailed again).
    deadline = time.monotonic() + 10
    while len(subjects := [m["subject"] for m in sink_mails(owner.email)]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(subjects) == sorted(["Your run stopped: Invoice tracker for freelancers",
                                       "Your app is ready: Invoice tracker for freelancers"]), subjects
    assert p["stages"]["development"]["attempt"] == 2
    assert api.post(f"/api/factory/pipelines/{pid}/retry", owner).status_code == 409


def test_approval_gate_waits_then_continues(api):
    owner = passthrough_owner(api)
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["tech_stack"]}})
    p = wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    assert p["awaiting_approval_for"] == "tech_stack" and p["stages"]["uiux_design"]["status"] == "pending"
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={"stage": "uiux_design"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_stage"
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={"stage": "tech_stack", "comment": "ok"})
    assert r.status_code == 202
    wait_status(owner.tenant_id, pid, "completed", 30)


def test_cancel_stops_the_run(api):
    owner = passthrough_owner(api)
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    assert api.post(f"/api/factory/pipelines/{pid}/cancel", owner).json()["status"] == "cancelled"
    assert api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={}).status_code == 409
    assert api.post(f"/api/factory/pipelines/{pid}/cancel", owner).status_code == 409
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "cancelled"


def test_idempotency_key_returns_same_pipeline_and_spends_once(api):
    owner = passthrough_owner(api)
    before = api.get("/api/billing", owner).json()["credits"]
    key = uuid.uuid4().hex
    r1 = api.post("/api/ideas", owner, json=IDEA, headers={"Idempotency-Key": key})
    r2 = api.post("/api/ideas", owner, json=IDEA, headers={"Idempotency-Key": key})
    assert r1.status_code == r2.status_code == 202
    assert r1.json()["pipeline_id"] == r2.json()["pipeline_id"]
    assert api.get("/api/billing", owner).json()["credits"] == before - 1
    r3 = api.post("/api/ideas", owner, json={**IDEA, "title": "Another title"}, headers={"Idempotency-Key": key})
    assert r3.status_code == 409 and r3.json()["error"]["code"] == "idempotency_key_reused"


def test_submission_without_an_idempotency_key_is_400_saying_how_to_send_one(api):
    owner = passthrough_owner(api)
    before = api.get("/api/billing", owner).json()["credits"]
    r = api.post("/api/ideas", owner, json=IDEA, headers={"Idempotency-Key": None})  # None: not sent
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "idempotency_key_required" and "Idempotency-Key" in err["message"]
    assert api.get("/api/billing", owner).json()["credits"] == before, "nothing was charged"
    assert api.get("/api/factory/pipelines?limit=100", owner).json()["pipelines"] == []


def test_no_credits_is_402_with_how_to_buy(api):
    owner = api.signup()
    r = api.post("/api/ideas", owner, json=IDEA)
    assert r.status_code == 402
    err = r.json()["error"]
    # In a founder's words; how to buy through the API is in details.
    assert err["code"] == "payment_required" and "runs" in err["message"] and "/api/" not in err["message"]
    assert err["details"]["buy"]["checkout"] == "POST /api/billing/checkout"


def test_fifty_concurrent_submissions_against_ten_credits(api):
    owner = passthrough_owner(api)  # one pack = 10 credits
    with ThreadPoolExecutor(max_workers=25) as ex:
        results = list(ex.map(lambda _: api.post("/api/ideas", owner, json=IDEA), range(50)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(202) == 10 and codes.count(402) == 40, codes
    assert api.get("/api/billing", owner).json()["credits"] == 0
    listed = api.get("/api/factory/pipelines?limit=100", owner).json()["pipelines"]
    assert len(listed) == 10


@pytest.mark.parametrize("body,field", [
    ({**IDEA, "title": "ab"}, "title"),
    ({**IDEA, "description": "too short"}, "description"),
    ({**IDEA, "key_features": ["x"] * 21}, "key_features"),
    ({k: v for k, v in IDEA.items() if k != "target_audience"}, "target_audience"),
    ({**IDEA, "constraints": {"approval_gates": ["nope"]}}, "constraints.approval_gates.0"),
])
def test_invalid_ideas_are_400_and_spend_nothing(api, body, field):
    owner = passthrough_owner(api)
    r = api.post("/api/ideas", owner, json=body)
    assert r.status_code == 400 and field in {d["field"] for d in r.json()["error"]["details"]}
    assert api.get("/api/billing", owner).json()["credits"] == 10


def test_roles_and_isolation_on_the_factory_api(api):
    a, b = passthrough_owner(api), api.signup(company="Other")
    pid = submit(api, a)
    assert api.get(f"/api/factory/pipelines/{pid}", b).status_code == 404
    assert api.post(f"/api/factory/pipelines/{pid}/cancel", b).status_code == 404
    assert api.get(f"/api/factory/pipelines/{pid}/artifacts", b).status_code == 404
    assert api.get("/api/factory/pipelines", b).json()["pipelines"] == []
    # A viewer reads but may not submit or act.
    viewer = join(api, a, "viewer")  # invited, verified email, explicit accept
    assert api.get(f"/api/factory/pipelines/{pid}", viewer).status_code == 200
    assert api.post("/api/ideas", viewer, json=IDEA).status_code == 403
    assert api.post(f"/api/factory/pipelines/{pid}/cancel", viewer).status_code == 403


def test_update_route_is_service_only(api):
    import time

    owner = passthrough_owner(api)
    faults.arm(owner.tenant_id, "slow_stage", "idea_validation", seconds=4)
    pid = submit(api, owner)
    deadline = time.monotonic() + 15
    while pipeline_doc(owner.tenant_id, pid).get("stages", {}).get("idea_validation", {}).get("status") != "running":
        assert time.monotonic() < deadline, "the stage never started"
        time.sleep(0.05)
    from google.cloud import firestore

    fence = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"]).document(
        f"tenants/{owner.tenant_id}/pipelines/{pid}/private/fence").get().to_dict()
    body = {"stage": "idea_validation", "attempt": 1, "progress": 50, "message": "halfway",
            "dispatch_id": fence["stages"]["idea_validation"]["dispatch_id"]}
    r = api.post(f"/api/factory/pipelines/{pid}/update", owner, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "service_only"
    svc = {"Authorization": f"Bearer {os.environ['SERVICE_TOKEN']}", "X-Tenant-Id": owner.tenant_id}
    r = api.post(f"/api/factory/pipelines/{pid}/update", json=body, headers=svc)
    assert r.status_code == 200, r.text
    assert r.json()["progress"] == 10  # half of idea validation's 20%
    ev = [e for e in events(owner.tenant_id, pid) if e["type"] == "factory_progress"]
    assert ev and ev[0]["stage_progress"] == 50 and ev[0]["message"] == "halfway"
    # A stale attempt is refused, and so is another tenant's id.
    r = api.post(f"/api/factory/pipelines/{pid}/update", json={**body, "attempt": 2}, headers=svc)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_update"
    r = api.post(f"/api/factory/pipelines/{pid}/update", json={**body, "dispatch_id": "d_not_current"}, headers=svc)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_update"
    r = api.post(f"/api/factory/pipelines/{pid}/update", json=body, headers={**svc, "X-Tenant-Id": "t_nobody12345"})
    assert r.status_code == 404
    wait_status(owner.tenant_id, pid, "completed", 30)


def test_status_and_pagination(api):
    owner = passthrough_owner(api)
    pids = [submit(api, owner) for _ in range(5)]
    for pid in pids:
        wait_status(owner.tenant_id, pid, "completed", 60)
    st = api.get("/api/factory/status", owner).json()
    assert st["counts"]["completed"] == 5 and st["success_rate"] == 1.0
    assert st["avg_duration_ms"] > 0 and st["p95_duration_ms"] >= st["avg_duration_ms"] * 0.5
    seen, cursor = [], None
    while True:
        q = "/api/factory/pipelines?limit=2&status=completed" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(q, owner).json()
        seen += [p["pipeline_id"] for p in page["pipelines"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(pids) and len(seen) == 5
    assert api.get("/api/factory/pipelines?cursor=garbage", owner).status_code == 400


def test_fifty_concurrent_pipelines_from_three_tenants(api):
    owners = [passthrough_owner(api, packs=2) for _ in range(3)]  # 20 credits each
    jobs = [owners[i % 3] for i in range(50)]
    with ThreadPoolExecutor(max_workers=16) as ex:
        pids = list(ex.map(lambda o: (o, submit(api, o)), jobs))
    for owner, pid in pids:
        p = wait_status(owner.tenant_id, pid, "completed", 180)
        assert p["tenant_id"] == owner.tenant_id
        assert_each_stage_once(p)
        evs = events(owner.tenant_id, pid)
        assert stage_completions(evs) == {s: 1 for s in STAGES}
    for owner in owners:
        mine = {pid for o, pid in pids if o is owner}
        listed = {p["pipeline_id"] for p in api.get("/api/factory/pipelines?limit=100", owner).json()["pipelines"]}
        assert listed == mine
