"""POST /api/me/own-workspace: an Auth user made outside our signup (a first Google sign-in) gets their
own workspace, with the same documents and claims as signup, once however often it is called."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import requests
from google.cloud import firestore

from tests.helpers import Api, auth_url, refresh

pytestmark = pytest.mark.timeout(60)


def idp_user(display_name: str = "Grace Google") -> dict:
    """An Auth user as a Google sign-in creates it: the emulator's signInWithIdp with a fake id token."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    fake = json.dumps({"sub": uuid.uuid4().hex, "email": email, "email_verified": True, "name": display_name})
    r = requests.post(auth_url("accounts:signInWithIdp"), timeout=10, json={
        "requestUri": "http://localhost", "returnSecureToken": True,
        "postBody": f"id_token={requests.utils.quote(fake)}&providerId=google.com"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("isNewUser") is True
    return {"email": email, "uid": body["localId"], "token": body["idToken"], "refresh": body["refreshToken"]}


def test_a_new_google_user_gets_one_workspace_of_their_own():
    api, user = Api(), idp_user()
    me = api.get("/api/me", token=user["token"]).json()
    assert me["tenant"] is None and me["workspaces"] == []

    r = api.post("/api/me/own-workspace", token=user["token"], json={})
    assert r.status_code == 201, r.text
    tenant_id = r.json()["tenant_id"]
    token = refresh(user["refresh"])
    me = api.get("/api/me", token=token).json()
    assert me["tenant"] == {"id": tenant_id, "name": "Grace Google's workspace"}
    assert me["role"] == "owner" and me["claims_updated"] is False
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    billing = db.document(f"tenants/{tenant_id}/billing/state").get()
    assert billing.exists and billing.get("credits") == 0, "billing is created with the workspace"
    member = db.document(f"tenants/{tenant_id}/members/{user['uid']}").get()
    assert member.exists and member.get("role") == "owner" and member.get("email") == user["email"]

    # Again, with the old token and with the new one: the same workspace, nothing created twice.
    for t in (user["token"], token):
        again = api.post("/api/me/own-workspace", token=t, json={"company_name": "Another"})
        assert again.status_code == 200, again.text
        assert again.json()["tenant_id"] == tenant_id and again.json()["created"] is False
    owned = db.collection("tenants").where(filter=firestore.FieldFilter("owner_uid", "==", user["uid"])).get()
    assert [s.id for s in owned] == [tenant_id]


def test_an_email_signup_owner_gets_their_workspace_back_and_bad_names_are_400():
    api = Api()
    owner = api.signup(company="Kept Co")
    r = api.post("/api/me/own-workspace", owner, json={})
    assert r.status_code == 200 and r.json()["tenant_id"] == owner.tenant_id and r.json()["created"] is False
    user = idp_user()
    for body in ({"company_name": ""}, {"company_name": "x" * 121}, {"plan": "free"}):
        bad = api.post("/api/me/own-workspace", token=user["token"], json=body)
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"]["code"] and bad.json()["error"]["message"]
    assert api.post("/api/me/own-workspace", json={}).status_code == 401
