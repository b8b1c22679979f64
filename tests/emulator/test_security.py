"""Issue 9 through the real local cloud: deleted and disabled accounts, internal doors, budgets
and hostile input. Each test reproduces one "Broken" item as written in the issue."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest
import requests
from google.cloud import firestore, pubsub_v1

from emulator import faults
from shared import topology
from shared.auth import ACCOUNT_CHECK_TTL_S
from tests.helpers import IDEA, Api, buy_credits, join, pipeline_doc, sign_in, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def fs():
    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def admin_auth():
    from firebase_admin import auth as fb_auth

    from shared.clients import firebase_app

    return fb_auth, firebase_app()


def forge(token: str, **claims) -> str:
    """An emulator token with edited claims (emulator tokens are unsigned; production ones are not)."""
    header, payload, _ = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body.update(claims)
    return ".".join([header, base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("="), ""])


def routes_of(user) -> list[tuple[str, str, dict]]:
    return [
        ("GET", "/api/me", {}),
        ("GET", "/api/team", {}),
        ("GET", "/api/billing", {}),
        ("POST", "/api/team/invitations", {"json": {"email": f"{uuid.uuid4().hex[:8]}@example.com"}}),
        ("POST", "/api/billing/checkout", {"json": {"plan": "starter_pack"}}),
        ("DELETE", f"/api/team/members/{user.uid}", {}),
        ("GET", "/api/factory/pipelines", {}),
        ("POST", "/api/ideas", {"json": IDEA}),
    ]


# ------------------------------------------------------------------ Broken 4: deleted / disabled accounts


def test_deleted_account_is_refused_on_every_route_within_the_bound(api):
    owner = api.signup(company="Deleted Co")
    assert api.get("/api/me", owner).status_code == 200  # the account's state is now cached somewhere
    assert api.get("/api/team", owner).status_code == 200
    fb_auth, app = admin_auth()
    fb_auth.delete_user(owner.uid, app=app)
    deleted_at = time.monotonic()
    pending = routes_of(owner)
    while pending:
        still = []
        for method, path, kw in pending:
            r = api.request(method, path, owner, **kw)
            assert r.status_code < 500, (method, path, r.status_code, r.text)
            if r.status_code == 401:
                assert r.json()["error"]["code"] == "account_deleted", (path, r.text)
            else:
                still.append((method, path, kw))
        pending = still
        if pending:
            assert time.monotonic() - deleted_at < ACCOUNT_CHECK_TTL_S + 3, f"still served after the bound: {pending}"
            time.sleep(0.5)
    assert not fs().collection(f"tenants/{owner.tenant_id}/invitations").get(), "no invitation was created"


def test_account_deleted_before_its_first_call_is_refused_at_once(api):
    owner = api.signup(company="Deleted Early Co")
    fb_auth, app = admin_auth()
    fb_auth.delete_user(owner.uid, app=app)
    for method, path, kw in routes_of(owner):
        r = api.request(method, path, owner, **kw)
        assert r.status_code == 401 and r.json()["error"]["code"] == "account_deleted", (path, r.status_code, r.text)


def test_disabled_account_is_refused(api):
    owner = api.signup(company="Disabled Co")
    fb_auth, app = admin_auth()
    fb_auth.update_user(owner.uid, disabled=True, app=app)
    for method, path, kw in routes_of(owner)[:3]:
        r = api.request(method, path, owner, **kw)
        assert r.status_code == 401 and r.json()["error"]["code"] == "user_disabled", (path, r.text)


def test_removing_a_member_whose_account_was_deleted_is_not_a_500(api):
    owner = api.signup(company="Remove Deleted Co")
    member = join(api, owner, "member")
    fb_auth, app = admin_auth()
    fb_auth.delete_user(member.uid, app=app)
    r = api.request("DELETE", f"/api/team/members/{member.uid}", owner)
    assert r.status_code == 200, r.text
    assert not fs().document(f"tenants/{owner.tenant_id}/members/{member.uid}").get().exists
    r = api.request("PATCH", f"/api/team/members/{member.uid}", owner, json={"role": "viewer"})
    assert r.status_code == 404


# ------------------------------------------------------------------ Broken 5: internal doors


def push_envelope(attrs: dict, data: bytes = b"{}") -> dict:
    return {"message": {"data": base64.b64encode(data).decode(), "messageId": uuid.uuid4().hex,
                        "attributes": attrs}, "subscription": "projects/x/subscriptions/hand-made"}


def function_url(name: str) -> str:
    return f"http://127.0.0.1:{topology.function(name).port + int(os.environ['LOCALCLOUD_PORT_OFFSET'])}/"


def parked_run(api):
    owner = api.signup(company="Parked Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)
    return owner, pid


def test_hand_made_cloudevents_to_internal_ports_are_refused(api):
    owner, pid = parked_run(api)
    fence = fs().document(f"tenants/{owner.tenant_id}/pipelines/{pid}/private/fence").get().to_dict()
    attrs = {"tenant_id": owner.tenant_id, "pipeline_id": pid, "stage": "idea_validation", "attempt": "1",
             "dispatch_id": fence["stages"]["idea_validation"]["dispatch_id"]}
    # Straight to the dead-letter function, even with the right attempt and dispatch: 403.
    r = requests.post(function_url("dead_letter"), json=push_envelope(attrs), timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "push_only"
    # Undecodable data straight to every stage port: 403 before anything is forwarded.
    for stage in topology.STAGES:
        r = requests.post(function_url(f"stage_{stage}"), json=push_envelope(attrs, b"\x00garbage"), timeout=10)
        assert r.status_code == 403, (stage, r.status_code)
    # The service token does not open the push doors either (they take the push secret only).
    r = requests.post(function_url("dead_letter"), json=push_envelope(attrs), timeout=10,
                      headers={"Authorization": f"Bearer {os.environ['SERVICE_TOKEN']}"})
    assert r.status_code == 403
    time.sleep(1.5)
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "awaiting_approval"


def test_dead_letter_from_pubsub_without_attempt_leaves_the_run_alone(api):
    """Through the real dead-letter topic: a message with no attempt/dispatch must not touch a run."""
    owner, pid = parked_run(api)
    pub = pubsub_v1.PublisherClient()
    topic = pub.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], topology.DEAD_LETTER_TOPIC)
    pub.publish(topic, b"{}", tenant_id=owner.tenant_id, pipeline_id=pid, stage="idea_validation").result(10)
    pub.publish(topic, b"{}", tenant_id=owner.tenant_id, pipeline_id=pid, stage="idea_validation",
                attempt="1", dispatch_id="d_not_the_current_one").result(10)
    time.sleep(2.5)
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "awaiting_approval"


# ------------------------------------------------------------------ Broken 6: budgets


def test_budget_cannot_be_bypassed_by_retry(api):
    owner = api.signup(company="Budget Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    faults.arm(owner.tenant_id, "slow_stage", "idea_validation", seconds=3)
    pid = submit(api, owner, {**IDEA, "constraints": {"budget": {"compute_s": 0.001}}})
    # While the first stage runs, the run's spend passes its budget (as a real stage's compute would).
    ref = fs().document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    deadline = time.monotonic() + 15
    while pipeline_doc(owner.tenant_id, pid).get("stages", {}).get("idea_validation", {}).get("status") != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ref.update({"spent.compute_s": 0.635})
    p = wait_status(owner.tenant_id, pid, "failed", 30)
    assert p["error_code"] == "budget_exceeded"
    for _ in range(5):
        r = api.post(f"/api/factory/pipelines/{pid}/retry", owner)
        assert r.status_code == 409 and r.json()["error"]["code"] == "budget_exceeded", r.text
        assert r.json()["error"]["details"]["spent"]["compute_s"] >= 0.635
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "failed"
    # Too small a raise is still refused; a real raise retries and completes.
    r = api.post(f"/api/factory/pipelines/{pid}/retry", owner, json={"budget": {"compute_s": 0.5}})
    assert r.status_code == 409
    r = api.post(f"/api/factory/pipelines/{pid}/retry", owner, json={"budget": {"compute_s": 100}})
    assert r.status_code == 202, r.text
    p = wait_status(owner.tenant_id, pid, "completed", 60)
    assert p["budget"]["compute_s"] == 100


def test_budget_is_checked_at_approve(api):
    owner, pid = parked_run(api)
    fs().document(f"tenants/{owner.tenant_id}/pipelines/{pid}").update({"spent.tokens": 10**9})
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "budget_exceeded"
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "awaiting_approval"


def test_budget_is_checked_at_every_stage_claim(api):
    owner, pid = parked_run(api)
    # The next stage's first delivery fails before its claim; its redelivery must not start it.
    faults.arm(owner.tenant_id, "transient", "tech_stack", remaining=1)
    r = api.post(f"/api/factory/pipelines/{pid}/approve", owner, json={})
    assert r.status_code == 202
    fs().document(f"tenants/{owner.tenant_id}/pipelines/{pid}").update({"spent.compute_s": 10**6})
    p = wait_status(owner.tenant_id, pid, "failed", 30)
    assert p["error_code"] == "budget_exceeded" and p["stages"]["tech_stack"]["executions"] == 0
    assert "Stopped before tech stack" in p["error_message"]


# ------------------------------------------------------------------ Broken 7: input that made 500s


@pytest.mark.parametrize("bad", ["__x__", "__abcdef__", "%2e%2e", "..", ".", "a%2Fb"])
def test_reserved_and_dotted_ids_in_paths_are_4xx(api, bad):
    owner = api.signup(company="Ids Co")
    for method, path, kw in (
        ("GET", f"/api/factory/pipelines/{bad}", {}),
        ("GET", f"/api/factory/pipelines/{bad}/artifacts", {}),
        ("POST", f"/api/factory/pipelines/{bad}/cancel", {}),
        ("POST", f"/api/factory/pipelines/{bad}/retry", {}),
        ("PATCH", f"/api/team/members/{bad}", {"json": {"role": "viewer"}}),
        ("DELETE", f"/api/team/members/{bad}", {}),
        ("POST", f"/api/me/invitations/{bad}/accept", {}),
    ):
        status, body = raw_request(method, path, owner, kw.get("json"))
        assert 400 <= status < 500, (method, path, status, body)
        assert body["error"]["code"] in ("invalid_id", "route_not_found", "pipeline_not_found"), body


def raw_request(method: str, path: str, user, body=None) -> tuple[int, dict]:
    """Send the path exactly as written (requests would resolve `.` and `..` segments itself)."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(os.environ["FRONT_DOOR_URL"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    headers = {**user.headers, **({"Content-Type": "application/json"} if data else {})}
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read() or b"{}")
    conn.close()
    return out


def test_reserved_idea_id_in_trigger_is_400(api):
    owner = api.signup(company="Trigger Co")
    r = api.post("/api/factory/trigger", owner, json={"idea_id": "__abcdef__"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_deeply_nested_signup_body_is_400_without_a_token(api):
    body = b'{"email": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    r = api.post("/api/auth/signup", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"


@pytest.mark.parametrize("claim", [["t_abcdef1234"], "../x", "__abcdef__", {"t": 1}])
def test_malformed_tenant_claim_is_401_not_500(api, claim):
    owner = api.signup(company="Claims Co")
    token = forge(sign_in(owner.email)["idToken"], tenant_id=claim)
    for path in ("/api/me", "/api/team", "/api/billing", "/api/factory/pipelines"):
        r = api.get(path, token=token)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token", (path, r.text)
