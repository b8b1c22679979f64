"""Change the app after it is built (issue 19, decision 0039), with the real stage engine: records created in the
preview before the change are there after it, with the new field defaulted; the versions are listed with a diff;
the preview rolls back to the previous version and keeps its records."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
import requests

from shared import pipeline
from shared.engine.appspec import AppSpec
from shared.engine.compiler import entities_meta
from shared.engine.compiler.samples import sample_payload
from tests.helpers import Api, buy_credits, submit, wait_status

EMAIL, PASSWORD = "owner@example.com", "pw-123456789"


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def sign_in(url: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    r = s.post(url + "/api/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return s, r.json()["csrf_token"]


def clients(url: str) -> list[dict]:
    s, _ = sign_in(url)
    r = s.get(url + "/api/clients", timeout=10)
    assert r.status_code == 200, r.text
    return sorted(r.json()["items"], key=lambda c: c["id"])


def test_a_change_keeps_the_previews_records_and_rolls_back(api):
    owner = api.signup(company="Change Co")
    buy_credits(api, owner)
    pid = submit(api, owner)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 180)
    assert p["status"] == "completed", p.get("error_message")
    url = p["stages"]["deployment"]["summary"]["url"].rstrip("/")

    # Records made in version 1's preview, by its owner.
    claim_url = api.get(f"/api/factory/pipelines/{pid}/claim", owner).json()["claim_url"]
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(claim_url).query)["token"][0]
    app = requests.Session()
    signed = app.post(url + "/api/auth/claim", json={"token": token, "email": EMAIL, "password": PASSWORD},
                      timeout=10)
    assert signed.status_code == 201, signed.text
    spec = AppSpec.model_validate_json(pipeline.artifact_reader(owner.tenant_id, pid)("development", "app-spec.json"))
    meta = entities_meta(spec)["client"]
    for variant in (0, 1):
        r = app.post(url + "/api/clients", json=sample_payload(meta, variant),
                     headers={"X-CSRF-Token": signed.json()["csrf_token"]}, timeout=10)
        assert r.status_code == 201, r.text
    before = clients(url)
    assert len(before) == 2 and "priority" not in before[0]

    # Version 2: the built spec opens in the plan editor; the same edit API, its own build route.
    base = f"/api/factory/pipelines/{pid}"
    r = api.post(f"{base}/change", owner)
    assert r.status_code == 201 and r.json()["version"] == 2, r.text
    r = api.post(f"{base}/change", owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "change_open"
    plan = api.get(f"{base}/plan", owner).json()
    assert plan["editable"] and plan["version"] == 2 and plan["change"]["status"] == "open"
    r = api.post(f"{base}/plan/edits", owner, json={"op": "add_attribute", "entity": "client", "attribute": {
        "name": "priority", "type": "integer", "required": True, "default": 3}})
    assert r.status_code == 201, r.text
    r = api.post(f"{base}/plan/approve", owner, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "change_builds_separately"
    assert api.post(f"{base}/change/build", owner).status_code == 400  # no Idempotency-Key
    left = api.get("/api/billing", owner).json()["credits"]
    key = str(uuid.uuid4())
    r = api.post(f"{base}/change/build", owner, headers={"Idempotency-Key": key})
    assert r.status_code == 202, r.text
    new = r.json()["pipeline_id"]
    again = api.post(f"{base}/change/build", owner, headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.json()["pipeline_id"] == new  # the same run, paid once
    p2 = wait_status(owner.tenant_id, new, ("completed", "failed"), 180)
    assert p2["status"] == "completed", p2.get("error_message")
    assert api.get("/api/billing", owner).json()["credits"] == left - 1
    assert p2["rerun_of"]["change"] == {"version": 2, "base_version": 1}
    assert p2["stages"]["uiux_design"]["reused_from"] == pid and p2["stages"]["development"]["attempt"] >= 1
    files = {f["path"] for f in api.get(f"/api/factory/pipelines/{new}/project/files", owner).json()["files"]}
    assert {"migrations/versions/0001_initial.py", "migrations/versions/0002_change.py"} <= files
    dep = p2["stages"]["deployment"]["summary"]
    assert dep["data"] == {"from": pid, "kept": True} and dep["preview_version"] == 2

    # The preview's records survived the change, with the new field defaulted.
    url2 = dep["url"].rstrip("/")
    after = clients(url2)
    assert [c["id"] for c in after] == [c["id"] for c in before] and [c["priority"] for c in after] == [3, 3]

    versions = api.get(f"/api/factory/pipelines/{new}/versions", owner).json()
    assert [(v["version"], v["pipeline_id"]) for v in versions["versions"]] == [(1, pid), (2, new)]
    d = api.get(f"/api/factory/pipelines/{new}/versions/diff?a=1&b=2", owner).json()["diff"]
    assert d["attributes"]["added"] == ["client.priority"] and not d["same"]
    r = api.get(f"/api/factory/pipelines/{new}/versions/diff?a=1&b=9", owner)
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"

    # Roll the preview back to version 1: the database downgraded, version 1's app on it, the records kept.
    r = api.post(f"/api/factory/pipelines/{new}/preview/rollback", owner, json={"version": 2})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_an_earlier_version"
    r = api.post(f"/api/factory/pipelines/{new}/preview/rollback", owner, json={"version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == "0001"
    back = clients(r.json()["preview"]["url"].rstrip("/"))
    assert [c["id"] for c in back] == [c["id"] for c in before] and "priority" not in back[0]
    assert json.dumps(back[0], sort_keys=True) == json.dumps(before[0], sort_keys=True)
