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
    for path in (f"tenants/{a.tenant_id}", f"tenants/{a.tenant_id}/billing/state",
                 f"tenants/{a.tenant_id}/members/{a.uid}", f"users/{a.uid}"):
        assert get(path, a.token).status_code == 403, path


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
