"""firestore.rules against the real emulator, with real Auth-emulator ID tokens over the REST API
(what a browser's Firestore client sends)."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from google.cloud import firestore

from tests.helpers import Api


@pytest.fixture(scope="module")
def world(cloud_env):
    api = Api()
    a, b = api.signup(company="Rules A"), api.signup(company="Rules B")
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    pid = "p_" + uuid.uuid4().hex[:12]
    for user in (a, b):
        ref = db.document(f"tenants/{user.tenant_id}/pipelines/{pid}")
        ref.set({"pipeline_id": pid, "tenant_id": user.tenant_id, "status": "running", "progress": 20})
        ref.collection("events").document("e1").set({"type": "factory_progress", "progress": 20})
        ref.collection("logs").document("000001-00").set({"stage": "idea_validation", "message": "ran"})
    return a, b, pid


def url(path: str) -> str:
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    return f"http://{host}/v1/projects/{project}/databases/(default)/documents/{path}"


def get(path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url(path), headers=headers, timeout=10)


def test_own_tenant_pipeline_and_events_readable(world):
    a, _, pid = world
    r = get(f"tenants/{a.tenant_id}/pipelines/{pid}", a.token)
    assert r.status_code == 200 and r.json()["fields"]["status"]["stringValue"] == "running"
    assert get(f"tenants/{a.tenant_id}/pipelines/{pid}/events/e1", a.token).status_code == 200
    listing = get(f"tenants/{a.tenant_id}/pipelines", a.token)
    assert listing.status_code == 200 and len(listing.json()["documents"]) >= 1


def test_other_tenant_denied(world):
    a, b, pid = world
    assert get(f"tenants/{b.tenant_id}/pipelines/{pid}", a.token).status_code == 403
    assert get(f"tenants/{b.tenant_id}/pipelines/{pid}/events/e1", a.token).status_code == 403
    assert get(f"tenants/{b.tenant_id}/pipelines", a.token).status_code == 403


def test_anonymous_denied(world):
    a, _, pid = world
    assert get(f"tenants/{a.tenant_id}/pipelines/{pid}", None).status_code == 403
    assert get(f"tenants/{a.tenant_id}/pipelines", None).status_code == 403


def test_nothing_else_of_own_tenant_is_readable(world):
    a, _, _ = world
    for path in (f"tenants/{a.tenant_id}", f"tenants/{a.tenant_id}/billing",
                 f"tenants/{a.tenant_id}/members/{a.uid}", f"users/{a.uid}"):
        assert get(path, a.token).status_code == 403, path


def test_members_read_their_own_balance_only(world):
    """The dashboard listens to tenants/{t}/billing/state so credits stay live (issue 20)."""
    a, b, _ = world
    r = get(f"tenants/{a.tenant_id}/billing/state", a.token)
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["credits"]["integerValue"] == "0"
    assert get(f"tenants/{b.tenant_id}/billing/state", a.token).status_code == 403
    assert get(f"tenants/{a.tenant_id}/billing/state", None).status_code == 403
    assert get(f"tenants/{a.tenant_id}/billing/other", a.token).status_code == 403


def test_client_cannot_write_server_fields(world):
    a, _, pid = world
    body = {"fields": {"status": {"stringValue": "completed"}}}
    r = requests.patch(url(f"tenants/{a.tenant_id}/pipelines/{pid}") + "?updateMask.fieldPaths=status",
                       json=body, headers={"Authorization": f"Bearer {a.token}"}, timeout=10)
    assert r.status_code == 403
    r = requests.post(url(f"tenants/{a.tenant_id}/pipelines/{pid}/events"),
                      json={"fields": {"type": {"stringValue": "factory_completed"}}},
                      headers={"Authorization": f"Bearer {a.token}"}, timeout=10)
    assert r.status_code == 403
    r = requests.patch(url(f"tenants/{a.tenant_id}/billing/state") + "?updateMask.fieldPaths=credits",
                       json={"fields": {"credits": {"integerValue": "999"}}},
                       headers={"Authorization": f"Bearer {a.token}"}, timeout=10)
    assert r.status_code == 403
    # Unchanged, as the server sees it.
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    assert db.document(f"tenants/{a.tenant_id}/pipelines/{pid}").get().get("status") == "running"


def test_the_plan_under_review_and_its_edits_are_server_only(world):
    """Issue 19: every edit of the spec goes through the API (checked); no client reads or writes the plan."""
    a, _, pid = world
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    plan = f"tenants/{a.tenant_id}/pipelines/{pid}/plan/current"
    db.document(plan).set({"status": "review", "spec": "{}", "applied": [], "edit_seq": 0})
    db.document(f"{plan}/edits/00001").set({"seq": 1, "op": {"op": "add_entity"}, "undone": False})
    auth = {"Authorization": f"Bearer {a.token}"}
    assert get(plan, a.token).status_code == 403
    assert get(f"{plan}/edits/00001", a.token).status_code == 403
    r = requests.patch(url(plan) + "?updateMask.fieldPaths=status", json={"fields": {"status": {
        "stringValue": "approved"}}}, headers=auth, timeout=10)
    assert r.status_code == 403
    r = requests.post(url(f"{plan}/edits"), json={"fields": {"seq": {"integerValue": "2"}}}, headers=auth,
                      timeout=10)
    assert r.status_code == 403
    r = requests.patch(url(f"{plan}/edits/00001") + "?updateMask.fieldPaths=undone", json={"fields": {"undone": {
        "booleanValue": True}}}, headers=auth, timeout=10)
    assert r.status_code == 403
    assert db.document(plan).get().get("status") == "review"
    assert db.document(f"{plan}/edits/00001").get().get("undone") is False


# ------------------------------------------------------------------ issue 9: membership and fencing


def fields_of(doc: dict) -> set[str]:
    """Every field name in a REST document, nested maps included, as dotted paths."""
    out: set[str] = set()

    def walk(prefix: str, fields: dict) -> None:
        for k, v in fields.items():
            out.add(prefix + k)
            if "mapValue" in v:
                walk(prefix + k + ".", v["mapValue"].get("fields", {}))

    walk("", doc.get("fields", {}))
    return out


def test_removed_member_loses_realtime_read_at_once(world):
    """Broken 3: after DELETE /api/team/members/{uid} the old token must not read the tenant's runs."""
    from tests.helpers import join

    a, _, pid = world
    api = Api()
    member = join(api, a, "viewer")
    path = f"tenants/{a.tenant_id}/pipelines/{pid}"
    assert get(path, member.token).status_code == 200
    assert get(path + "/events/e1", member.token).status_code == 200
    old_token = member.token
    assert api.request("DELETE", f"/api/team/members/{member.uid}", a).status_code == 200
    # The token still says tenant_id=A, role=viewer and has not expired; the membership is gone.
    assert get(path, old_token).status_code == 403
    assert get(path + "/events/e1", old_token).status_code == 403
    assert get(f"tenants/{a.tenant_id}/pipelines", old_token).status_code == 403


def test_a_token_claiming_a_tenant_without_membership_reads_nothing(world):
    """The rules trust the membership document, not the token's tenant_id claim."""
    import base64
    import json

    a, b, pid = world
    header, payload, _ = b.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(tenant_id=a.tenant_id, role="owner")
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), ""])
    assert get(f"tenants/{a.tenant_id}/pipelines/{pid}", forged).status_code == 403
    assert get(f"tenants/{a.tenant_id}/pipelines", forged).status_code == 403


def test_fencing_fields_are_not_in_what_the_browser_reads(cloud_env):
    """Broken 8a: claim_id, dispatch_id, message_id and created_by stay in a server-only document."""
    from emulator import faults
    from tests.helpers import buy_credits, submit, wait_status

    api = Api()
    owner = api.signup(company="Fence Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 60)
    r = get(f"tenants/{owner.tenant_id}/pipelines/{pid}", owner.token)
    assert r.status_code == 200
    names = fields_of(r.json())
    leaked = {n for n in names if n.rsplit(".", 1)[-1] in ("claim_id", "dispatch_id", "message_id", "created_by")}
    assert not leaked, leaked
    assert "stages.deployment.status" in names
    # The fence exists, is what the state machine used, and no member may read it.
    fence_path = f"tenants/{owner.tenant_id}/pipelines/{pid}/private/fence"
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    fence = db.document(fence_path).get().to_dict()
    assert fence["created_by"] == owner.uid and fence["stages"]["deployment"]["claim_id"]
    assert get(fence_path, owner.token).status_code == 403
    assert get(f"tenants/{owner.tenant_id}/pipelines/{pid}/private", owner.token).status_code == 403


# ------------------------------------------------------------------ issue 18: the owner claim link


def test_the_claim_link_is_the_owners_and_the_starters_only(cloud_env):
    """The deployed app's one-time owner claim link is in the run's server-only `private/claim` document: no
    client reads it from Firestore, and the API gives it to the workspace owner and the member who started
    the run, never to another member or a viewer (who could otherwise take the founder's app)."""
    from emulator import faults
    from shared.runs import records
    from tests.helpers import buy_credits, join, submit, wait_status

    api = Api()
    owner = api.signup(company="Claim Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    starter, other, viewer = join(api, owner, "member"), join(api, owner, "member"), join(api, owner, "viewer")
    pid = submit(api, starter)
    wait_status(owner.tenant_id, pid, "completed", 60)
    path = f"/api/factory/pipelines/{pid}/claim"

    def code(r) -> str:
        return r.json()["error"]["code"]

    # Deployed without a link (a pass-through run): 404 for those who may see it, 403 for the others.
    r = api.get(path, owner)
    assert r.status_code == 404 and code(r) == "claim_not_ready", r.text
    r = api.get(path, viewer)
    assert r.status_code == 403 and code(r) == "claim_forbidden", r.text
    # What the deployment stage's commit writes (commits.commit, from StageOutput.private).
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    link = f"http://127.0.0.1:9/claim?token=tok-{uuid.uuid4().hex}"
    pref = db.document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    records.private_ref(pref, "claim").set({"claim_url": link, "stage": "deployment", "attempt": 1})

    for who in (owner, starter):
        r = api.get(path, who)
        assert r.status_code == 200 and r.json()["claim_url"] == link, r.text
        assert r.headers["Cache-Control"] == "no-store"
    for who in (other, viewer):
        r = api.get(path, who)
        assert r.status_code == 403 and code(r) == "claim_forbidden", r.text
        assert "owner or the member who started" in r.json()["error"]["message"]
        assert link not in r.text
    outsider = api.signup(company="Claim Outsider")
    r = api.get(path, outsider)
    assert r.status_code == 404 and code(r) == "pipeline_not_found", r.text
    # No client reads the link from Firestore: not in the run document, not from the private document.
    doc_path = f"tenants/{owner.tenant_id}/pipelines/{pid}"
    for who in (owner, starter, viewer):
        r = get(doc_path, who.token)
        assert r.status_code == 200 and "token=" not in r.text
        assert get(f"{doc_path}/private/claim", who.token).status_code == 403
    r = api.get(f"/api/factory/pipelines/{pid}", viewer)
    assert r.status_code == 200 and "token=" not in r.text


def test_log_lines_are_read_by_members_only_and_written_by_no_client(world):
    a, b, pid = world
    own = f"tenants/{a.tenant_id}/pipelines/{pid}/logs"
    r = get(f"{own}/000001-00", a.token)
    assert r.status_code == 200 and r.json()["fields"]["message"]["stringValue"] == "ran"
    assert get(own, a.token).status_code == 200
    assert get(f"tenants/{b.tenant_id}/pipelines/{pid}/logs/000001-00", a.token).status_code == 403
    assert get(f"tenants/{b.tenant_id}/pipelines/{pid}/logs", a.token).status_code == 403
    assert get(own, None).status_code == 403
    headers = {"Authorization": f"Bearer {a.token}"}
    r = requests.post(url(own), json={"fields": {"message": {"stringValue": "forged"}}}, headers=headers, timeout=10)
    assert r.status_code == 403
    r = requests.patch(url(f"{own}/000001-00") + "?updateMask.fieldPaths=message",
                       json={"fields": {"message": {"stringValue": "edited"}}}, headers=headers, timeout=10)
    assert r.status_code == 403
    assert requests.delete(url(f"{own}/000001-00"), headers=headers, timeout=10).status_code == 403
