"""Accounts and tenants through the real functions (front door -> functions-framework -> emulators)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC

import pytest
import requests

from tests.helpers import PASSWORD, Api, join, sign_in, verify_email


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def two_tenants(api):
    return api.signup(company="Tenant A"), api.signup(company="Tenant B")


def signup_body(**over):
    body = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD,
            "display_name": "Ada", "company_name": "Ada Inc"}
    body.update(over)
    return body


def fs_admin():
    from google.cloud import firestore

    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def test_signup_creates_user_tenant_owner_membership_and_claims(api):
    body = signup_body()
    r = api.post("/api/auth/signup", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["role"] == "owner" and out["email"] == body["email"] and out["tenant_id"].startswith("t_")
    token = sign_in(body["email"])["idToken"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["tenant_id"] == out["tenant_id"] and claims["role"] == "owner"
    db = fs_admin()
    tenant = db.document(f"tenants/{out['tenant_id']}").get()
    assert tenant.exists and tenant.get("name") == "Ada Inc"
    assert db.document(f"tenants/{out['tenant_id']}/members/{out['uid']}").get().get("role") == "owner"
    me = api.get("/api/me", token=token).json()
    assert me["tenant"] == {"id": out["tenant_id"], "name": "Ada Inc"} and me["role"] == "owner"


def test_duplicate_email_is_409_and_changes_nothing(api):
    from google.cloud.firestore import FieldFilter

    body = signup_body(company_name=f"First {uuid.uuid4().hex[:6]}")
    first = api.post("/api/auth/signup", json=body)
    assert first.status_code == 201
    uid, tenant_id = first.json()["uid"], first.json()["tenant_id"]
    other_name = f"Other {uuid.uuid4().hex[:6]}"
    r = api.post("/api/auth/signup", json={**body, "company_name": other_name})
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_exists"
    db = fs_admin()
    assert not list(db.collection("tenants").where(filter=FieldFilter("name", "==", other_name)).stream())
    owned = list(db.collection("tenants").where(filter=FieldFilter("owner_uid", "==", uid)).stream())
    assert [d.id for d in owned] == [tenant_id]
    assert db.document(f"users/{uid}").get().get("tenant_id") == tenant_id
    assert sign_in(body["email"])["localId"] == uid  # the first password still works


def test_signup_retry_after_crash_finishes_the_same_account(api):
    """A first attempt that died after creating the Auth user is finished by the retry."""
    from firebase_admin import auth as fb_auth

    from shared.clients import firebase_app
    from shared.store import signup_doc

    body = signup_body()
    # Simulate the crashed attempt: the claim and the Auth user exist, nothing else, lease expired.
    from datetime import datetime, timedelta

    uid, tenant_id = "u_crash" + uuid.uuid4().hex[:8], "t_crash" + uuid.uuid4().hex[:8]
    signup_doc(body["email"]).set({"status": "pending", "uid": uid, "tenant_id": tenant_id, "role": "owner",
                                   "joined": False, "email": body["email"], "attempts": 1,
                                   "lease_until": datetime.now(UTC) - timedelta(seconds=1),
                                   "created_at": datetime.now(UTC)})
    fb_auth.create_user(uid=uid, email=body["email"], password="first-attempt-pw", app=firebase_app())
    r = api.post("/api/auth/signup", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["uid"] == uid and r.json()["tenant_id"] == tenant_id
    assert fs_admin().document(f"tenants/{tenant_id}/members/{uid}").get().exists
    assert sign_in(body["email"])["localId"] == uid  # the retry's password is the one that works


@pytest.mark.parametrize("body,fields", [
    ({"password": "short"}, {"password"}),
    ({"email": "not-an-email"}, {"email"}),
    ({"display_name": None}, {"display_name"}),
])
def test_signup_bad_input_is_400_with_fields(api, body, fields):
    payload = {k: v for k, v in signup_body(**body).items() if v is not None}
    r = api.post("/api/auth/signup", json=payload)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    assert fields <= {d["field"] for d in err["details"]}
    if "email" in payload and "@" in payload["email"]:
        from google.cloud import firestore as _  # noqa: F401

        from shared.store import signup_doc

        assert not signup_doc(payload["email"]).get().exists, "nothing stored"


def test_signup_malformed_json_and_oversized(api):
    r = api.post("/api/auth/signup", data=b'{"email": "x@y.z",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = api.post("/api/auth/signup", data=b'{"a": "' + b"x" * (70 * 1024) + b'"}',
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("header,code", [
    (None, "missing_token"),
    ("Token abc", "malformed_token"),
    ("Bearer not.a.jwt", "invalid_token"),
])
def test_missing_or_malformed_token_is_401(api, header, code):
    headers = {"Authorization": header} if header else {}
    r = api.get("/api/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == code


def test_expired_token_is_401(api, two_tenants):
    a, _ = two_tenants
    header, payload, _sig = a.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] = claims["iat"] - 10
    expired = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), ""])
    r = api.get("/api/me", token=expired)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_revoked_token_is_401_where_revocation_is_checked(api):
    from firebase_admin import auth as fb_auth

    from shared.clients import firebase_app

    owner = api.signup()
    import time

    time.sleep(1.1)  # revocation is second-granular: tokens issued before the revocation second fail
    fb_auth.revoke_refresh_tokens(owner.uid, app=firebase_app())
    r = api.request("DELETE", f"/api/team/members/{owner.uid}", owner)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_tenant_isolation_through_every_function(api, two_tenants):
    a, b = two_tenants
    r = api.request("PATCH", f"/api/team/members/{b.uid}", a, json={"role": "viewer"})
    assert r.status_code == 404
    r = api.request("DELETE", f"/api/team/members/{b.uid}", a)
    assert r.status_code == 404
    team = api.get("/api/team", a).json()
    assert {m["uid"] for m in team["members"]} == {a.uid}
    assert team["tenant_id"] == a.tenant_id
    # The body cannot choose the tenant: it is taken from the token.
    r = api.post("/api/team/invitations", a, json={"email": "x@example.com", "role": "member",
                                                   "tenant_id": b.tenant_id})
    assert r.status_code == 400  # unknown field refused outright


def test_roles_invitations_and_claim_refresh(api):
    owner = api.signup(company="Roles Inc")
    invitee_email = f"{uuid.uuid4().hex[:10]}@example.com"
    r = api.post("/api/team/invitations", owner, json={"email": invitee_email, "role": "viewer"})
    assert r.status_code == 201, r.text
    # Inviting again replaces the role; the invitee then joins explicitly with a verified email.
    invitee = join(api, owner, "member", email=invitee_email)
    assert invitee.tenant_id == owner.tenant_id and invitee.role == "member"
    team = api.get("/api/team", owner).json()
    assert {m["uid"]: m["role"] for m in team["members"]} == {owner.uid: "owner", invitee.uid: "member"}

    # A member may not manage the team: 403.
    r = api.post("/api/team/invitations", invitee, json={"email": "z@example.com"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"

    # Owner demotes the member to viewer; the next token carries the new role.
    r = api.request("PATCH", f"/api/team/members/{invitee.uid}", owner, json={"role": "viewer"})
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    invitee.refreshed()
    assert api.get("/api/me", invitee).json()["role"] == "viewer"

    # Last owner cannot be demoted.
    r = api.request("PATCH", f"/api/team/members/{owner.uid}", owner, json={"role": "member"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_owner"

    # Removal takes effect at once, even for the member's still-unexpired token.
    old_token = invitee.token
    r = api.request("DELETE", f"/api/team/members/{invitee.uid}", owner)
    assert r.status_code == 200
    r = api.get("/api/team", token=old_token)
    assert r.status_code in (401, 403) and r.json()["error"]["code"] in ("not_a_member", "token_revoked")
    # Their sessions were revoked: signing in again gives a token with no workspace at all.
    fresh = sign_in(invitee.email)["idToken"]
    r = api.get("/api/team", token=fresh)
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_tenant"
    assert {m["uid"] for m in api.get("/api/team", owner).json()["members"]} == {owner.uid}


def test_demoted_owner_loses_power_before_token_refresh(api):
    owner = api.signup(company="Two Owners")
    second = join(api, owner, "owner")
    assert second.role == "owner"
    r = api.request("PATCH", f"/api/team/members/{second.uid}", owner, json={"role": "viewer"})
    assert r.status_code == 200
    # `second` still holds a token that says owner; the membership document says viewer.
    r = api.post("/api/team/invitations", second, json={"email": "q@example.com"})
    assert r.status_code == 403 and r.json()["error"]["details"]["role"] == "viewer"


# ------------------------------------------------------------------ invitations (issue 9, items 1-2)


def test_invitation_is_not_taken_by_whoever_registers_the_email(api):
    """Broken 1: owner A invites new@x as owner; someone registers new@x (signup or the Auth REST API)."""
    owner = api.signup(company="Victim Owner Co")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/team/invitations", owner, json={"email": email, "role": "owner"}).status_code == 201
    # Through our signup: they get a workspace of their own, not A's.
    squatter = api.signup(email=email, company="Squatter")
    assert squatter.tenant_id != owner.tenant_id and squatter.role == "owner"
    me = api.get("/api/me", squatter).json()
    assert me["tenant"]["id"] == squatter.tenant_id and me["email_verified"] is False
    assert me["pending_invitations"] == [], "an unverified email sees no invitations"
    # Accepting without a verified email is refused and changes nothing.
    r = api.post(f"/api/me/invitations/{owner.tenant_id}/accept", squatter)
    assert r.status_code == 403 and r.json()["error"]["code"] == "email_not_verified"
    assert not fs_admin().document(f"tenants/{owner.tenant_id}/members/{squatter.uid}").get().exists
    assert {m["uid"] for m in api.get("/api/team", owner).json()["members"]} == {owner.uid}
    # A hand-edited token that claims email_verified changes nothing either: the Auth record decides.
    header, payload, _sig = squatter.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email_verified"] = True
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), ""])
    r = api.post(f"/api/me/invitations/{owner.tenant_id}/accept", token=forged)
    assert r.status_code == 403 and r.json()["error"]["code"] == "email_not_verified"


def test_invitation_is_not_taken_by_an_auth_only_account(api):
    """Broken 1, second path: an account made straight in Firebase Auth with the invited email."""
    from tests.helpers import auth_url

    owner = api.signup(company="Auth Only Co")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/team/invitations", owner, json={"email": email, "role": "owner"}).status_code == 201
    tokens = requests.post(auth_url("accounts:signUp"), json={"email": email, "password": PASSWORD,
                                                              "returnSecureToken": True}, timeout=10).json()
    me = api.get("/api/me", token=tokens["idToken"])
    assert me.status_code == 200, me.text
    assert me.json()["tenant"] is None and me.json()["role"] is None and me.json()["pending_invitations"] == []
    from tests.helpers import refresh

    assert api.get("/api/team", token=refresh(tokens["refreshToken"])).json()["error"]["code"] == "no_tenant"
    assert not fs_admin().document(f"tenants/{owner.tenant_id}/members/{tokens['localId']}").get().exists


def test_preemptive_invitation_does_not_capture_a_strangers_signup(api):
    """Broken 2: tenant B invites victim@x as viewer before the victim ever signs up."""
    b = api.signup(company="Tenant B")
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/team/invitations", b, json={"email": email, "role": "viewer"}).status_code == 201
    r = api.post("/api/auth/signup", json=signup_body(email=email, company_name="Victim Corp"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["tenant_id"] != b.tenant_id and out["role"] == "owner"
    tenant = fs_admin().document(f"tenants/{out['tenant_id']}").get()
    assert tenant.exists and tenant.get("name") == "Victim Corp" and tenant.get("owner_uid") == out["uid"]
    assert not fs_admin().document(f"tenants/{b.tenant_id}/members/{out['uid']}").get().exists
    # The invitation still waits; once verified, the victim sees it and may decline it.
    token = sign_in(email)["idToken"]
    verify_email(token, email)
    me = api.get("/api/me", token=token).json()
    assert me["email_verified"] is True and me["tenant"]["id"] == out["tenant_id"]
    assert [(i["tenant_id"], i["role"], i["tenant_name"]) for i in me["pending_invitations"]] == \
        [(b.tenant_id, "viewer", "Tenant B")]
    r = api.post(f"/api/me/invitations/{b.tenant_id}/decline", token=token)
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert api.get("/api/me", token=token).json()["pending_invitations"] == []
    r = api.post(f"/api/me/invitations/{b.tenant_id}/accept", token=token)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    assert not fs_admin().document(f"tenants/{b.tenant_id}/members/{out['uid']}").get().exists
    # Signing up again is still 409 (the account exists), and nothing joined B.
    assert api.post("/api/auth/signup", json=signup_body(email=email)).status_code == 409


def test_verified_invitee_accepts_explicitly_and_can_switch_back(api):
    owner = api.signup(company="Inviting Co")
    user = join(api, owner, "member")
    me = api.get("/api/me", user).json()
    assert me["tenant"]["id"] == owner.tenant_id and me["role"] == "member" and me["pending_invitations"] == []
    ids = {w["tenant_id"]: w["role"] for w in me["workspaces"]}
    own = [t for t, role in ids.items() if t != owner.tenant_id]
    assert ids[owner.tenant_id] == "member" and len(own) == 1 and ids[own[0]] == "owner"
    # Accepting twice is a 404: the invitation is used.
    r = api.post(f"/api/me/invitations/{owner.tenant_id}/accept", user)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    # Back to their own workspace; a workspace they are not in is a 404.
    r = api.post("/api/me/workspace", user, json={"tenant_id": own[0]})
    assert r.status_code == 200 and r.json()["role"] == "owner"
    assert api.get("/api/me", user.refreshed()).json()["tenant"]["id"] == own[0]
    r = api.post("/api/me/workspace", user, json={"tenant_id": "t_" + uuid.uuid4().hex[:20]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "workspace_not_found"


def test_accept_needs_the_invited_email(api):
    """A verified account whose email was not invited cannot take another's invitation."""
    owner = api.signup(company="Other Email Co")
    assert api.post("/api/team/invitations", owner,
                    json={"email": f"{uuid.uuid4().hex[:10]}@example.com"}).status_code == 201
    other = api.signup()
    verify_email(other.token, other.email)
    r = api.post(f"/api/me/invitations/{owner.tenant_id}/accept", other)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    assert not fs_admin().document(f"tenants/{owner.tenant_id}/members/{other.uid}").get().exists


def test_user_without_workspace_gets_clear_403(api):
    from tests.helpers import auth_url

    r = requests.post(auth_url("accounts:signUp"), json={"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                                         "password": PASSWORD, "returnSecureToken": True}, timeout=10)
    resp = api.get("/api/team", token=r.json()["idToken"])
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "no_tenant"


# ------------------------------------------------------------------ team page routes (issue 20)


def test_owner_revokes_a_pending_invitation_and_it_disappears_for_the_invitee(api):
    owner = api.signup(company="Revokers")
    email = f"{uuid.uuid4().hex[:10]}@Example.com"
    assert api.post("/api/team/invitations", owner, json={"email": email, "role": "viewer"}).status_code == 201
    invitee = api.signup(email=email.lower(), company="Invitee's own")
    verify_email(invitee.token, email.lower())
    assert [i["tenant_id"] for i in api.get("/api/me", invitee).json()["pending_invitations"]] == [owner.tenant_id]
    member = join(api, owner, "member")

    # Wrong role: a member may not revoke (403); bad input: not an address (400); unknown address (404).
    r = api.request("DELETE", f"/api/team/invitations/{email}", member)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"
    r = api.request("DELETE", "/api/team/invitations/not-an-address", owner)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_email"
    r = api.request("DELETE", "/api/team/invitations/nobody@example.com", owner)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"

    r = api.request("DELETE", f"/api/team/invitations/{email}", owner)  # any case: addresses compare lower-case
    assert r.status_code == 200 and r.json() == {"email": email.lower(), "status": "revoked"}
    assert api.get("/api/team", owner).json()["invitations"] == []
    assert api.get("/api/me", invitee).json()["pending_invitations"] == []
    r = api.post(f"/api/me/invitations/{owner.tenant_id}/accept", invitee)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    again = api.request("DELETE", f"/api/team/invitations/{email}", owner)
    assert again.status_code == 404


def test_last_owner_cannot_be_removed_and_members_cannot_remove(api):
    owner = api.signup(company="Lone Owner")
    member = join(api, owner, "member")
    r = api.request("DELETE", f"/api/team/members/{owner.uid}", member)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"
    r = api.request("DELETE", f"/api/team/members/{owner.uid}", owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_owner"
    r = api.request("PATCH", f"/api/team/members/{member.uid}", owner, json={"role": "admin"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    team = api.get("/api/team", member).json()
    assert {m["uid"]: m["you"] for m in team["members"]} == {owner.uid: False, member.uid: True}


def test_member_turns_email_notifications_off_and_on(api):
    owner = api.signup(company="Quiet Co")
    viewer = join(api, owner, "viewer")
    assert api.get("/api/me", viewer).json()["settings"] == {"notify_email": True}  # on by default
    r = api.request("PATCH", "/api/me/settings", viewer, json={"notify_email": False})
    assert r.status_code == 200 and r.json()["settings"] == {"notify_email": False}
    assert api.get("/api/me", viewer).json()["settings"] == {"notify_email": False}
    assert api.get("/api/me", owner).json()["settings"] == {"notify_email": True}  # only the caller's own
    for bad in ({"notify_email": "maybe"}, {}, {"notify_email": True, "role": "owner"}):
        r = api.request("PATCH", "/api/me/settings", viewer, json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed", bad
    r = api.request("PATCH", "/api/me/settings", viewer, json={"notify_email": True})
    assert r.status_code == 200 and r.json()["settings"] == {"notify_email": True}
    assert api.request("PATCH", "/api/me/settings", json={"notify_email": False}).status_code == 401
