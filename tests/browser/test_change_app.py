"""Issue 19 in a real browser: "Change the app" on a built app's run page opens its plan as version 2 in the same
editor, an attribute (with a default) is added, "Build this change" starts a new run for one credit and the page opens
it; the preview's record made before the change is still there with the new field defaulted. The Versions panel lists
both versions and their diff names the added attribute, and rolling the preview back to version 1 drops the field and
keeps the record. The API's refusals on the way (a second change while one is open, approving a change, building
without an Idempotency-Key, an unknown version, rolling back to the version running) are checked on the same runs,
so the two real builds are paid for once in the suite."""

from __future__ import annotations

import urllib.parse

import pytest
import requests

from shared.engine.appspec import AppSpec
from shared.engine.compiler import entities_meta
from shared.engine.compiler.samples import sample_payload
from shared.runs import reads
from tests.browser.test_dashboard import wait_detail_status
from tests.browser.test_plan_editor import apply_edit, choose_edit, sign_in
from tests.helpers import PASSWORD, Api, buy_credits, submit, wait_status

pytestmark = pytest.mark.timeout(420)


def app_session(url: str, email: str, claim_url: str | None = None) -> tuple[requests.Session, str]:
    """A session in the generated app: claimed as its owner (first time), else signed in."""
    s = requests.Session()
    if claim_url:
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(claim_url).query)["token"][0]
        r = s.post(url + "/api/auth/claim", json={"token": token, "email": email, "password": PASSWORD}, timeout=10)
        assert r.status_code == 201, r.text
    else:
        r = s.post(url + "/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, r.text
    return s, r.json()["csrf_token"]


def clients(url: str, email: str) -> list[dict]:
    s, _ = app_session(url, email)
    r = s.get(url + "/api/clients", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_founder_changes_the_built_app_and_rolls_the_preview_back(browsers):
    api = Api()
    owner = api.signup(company="Change UI Co")
    buy_credits(api, owner)
    pid = submit(api, owner)  # the API's default: no plan review, built straight through
    page = browsers.new_page()
    sign_in(page, owner.email)
    p = wait_status(owner.tenant_id, pid, ("completed", "failed"), 180)
    assert p["status"] == "completed", p.get("error_message")

    # A record in version 1's preview, made by its owner over the app's own API.
    url = p["stages"]["deployment"]["summary"]["url"].rstrip("/")
    claim_url = api.get(f"/api/factory/pipelines/{pid}/claim", owner).json()["claim_url"]
    app, csrf = app_session(url, owner.email, claim_url)
    spec = AppSpec.model_validate_json(reads.artifact_reader(owner.tenant_id, pid)("development", "app-spec.json"))
    r = app.post(url + "/api/clients", json=sample_payload(entities_meta(spec)["client"], 0),
                 headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201, r.text
    record = r.json()
    before = clients(url, owner.email)
    assert [c["id"] for c in before] == [record["id"]] and "priority" not in before[0]

    # "Change the app": the built plan opens as version 2 in the plan editor; nothing to build until it changes.
    page.goto(f"/#/runs/{pid}")
    wait_detail_status(page, "completed", 30)
    page.wait_for_selector("#change-app[data-change='none']")
    page.click("#action-change-app")
    page.wait_for_selector("#plan-review[data-mode='change'] [data-testid='plan-edit-form']")
    assert page.text_content("#plan-heading") == "Change the app: version 2"
    assert page.locator("#change-app[data-change='open'] #action-change-app").is_hidden()
    assert page.is_disabled("[data-testid='change-build']")
    assert page.locator("[data-testid='plan-approve']").count() == 0, "a change is built, not approved"
    base = f"/api/factory/pipelines/{pid}"
    r = api.post(f"{base}/change", owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "change_open"
    plan = api.get(f"{base}/plan", owner).json()
    assert plan["editable"] and plan["version"] == 2 and plan["change"]["status"] == "open"

    choose_edit(page, "add_attribute")
    page.select_option("[data-testid='plan-entity']", "client")
    page.fill("input[data-testid='plan-name']", "priority")
    page.select_option("[data-testid='plan-type']", "integer")
    page.check("[data-testid='plan-required']")
    page.fill("[data-testid='plan-default']", "3")
    apply_edit(page, "added priority (integer) to Client")

    r = api.post(f"{base}/plan/approve", owner, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "change_builds_separately"
    r = api.post(f"{base}/change/build", owner)
    assert r.status_code == 400, r.text  # no Idempotency-Key

    # "Build this change": a new run (one credit), which the page opens.
    credits = api.get("/api/billing", owner).json()["credits"]
    page.click("[data-testid='change-build']")
    page.wait_for_function("(pid) => location.hash.startsWith('#/runs/') && !location.hash.endsWith(pid)", arg=pid)
    new = page.url.rsplit("/", 1)[-1]
    wait_detail_status(page, "completed", 180)
    assert api.get("/api/billing", owner).json()["credits"] == credits - 1
    p2 = wait_status(owner.tenant_id, new, "completed", 5)
    assert p2["rerun_of"]["change"] == {"version": 2, "base_version": 1}
    assert p2["stages"]["uiux_design"]["reused_from"] == pid and p2["stages"]["development"]["attempt"] >= 1
    files = {f["path"] for f in api.get(f"/api/factory/pipelines/{new}/project/files", owner).json()["files"]}
    assert {"migrations/versions/0001_initial.py", "migrations/versions/0002_change.py"} <= files
    dep = p2["stages"]["deployment"]["summary"]
    assert dep["data"] == {"from": pid, "kept": True} and dep["preview_version"] == 2

    # The record made before the change is in the new preview, the new field at its default.
    url2 = p2["stages"]["deployment"]["summary"]["url"].rstrip("/")
    after = clients(url2, owner.email)
    assert [(c["id"], c["priority"]) for c in after] == [(record["id"], 3)]

    # Versions: both listed (the preview runs version 2), and the diff names the added attribute.
    page.click("#versions-toggle")
    page.wait_for_selector("[data-testid='version-row'][data-version='2'][data-preview='true']")
    assert page.eval_on_selector_all("[data-testid='version-row']", "els => els.map(e => e.dataset.version)") == ["1", "2"]
    assert page.locator("[data-testid='version-rollback']").count() == 1
    page.click("#versions-compare-submit")
    page.wait_for_selector("#versions-diff[data-from='1'][data-to='2']")
    added = page.eval_on_selector_all("[data-testid='diff-part'][data-part='attributes'] [data-testid='diff-item']",
                                      "els => els.map(e => e.dataset.kind + ':' + e.dataset.name)")
    assert added == ["added:client.priority"]

    versions = api.get(f"/api/factory/pipelines/{new}/versions", owner).json()
    assert [(v["version"], v["pipeline_id"]) for v in versions["versions"]] == [(1, pid), (2, new)]
    r = api.get(f"/api/factory/pipelines/{new}/versions/diff?a=1&b=9", owner)
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
    r = api.post(f"/api/factory/pipelines/{new}/preview/rollback", owner, json={"version": 2})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_an_earlier_version"

    # Roll the preview back to version 1 (asked first): the field goes, the record stays.
    page.click("[data-testid='version-rollback'][data-version='1']")
    page.wait_for_selector("#versions-confirm:not([hidden])")
    page.click("#versions-confirm-yes")
    page.wait_for_selector("#versions-result:not([hidden]) #versions-preview-link", timeout=60_000)
    url3 = page.get_attribute("#versions-preview-link", "href").rstrip("/")
    back = clients(url3, owner.email)
    assert back == before, "version 1's app on the downgraded database: the record as it was, no priority"
    page.wait_for_selector("[data-testid='version-row'][data-version='1'][data-preview='true']")
    assert page.locator("[data-testid='version-rollback']").count() == 0
    assert page.get_attribute("#preview-link", "href").rstrip("/") == url3

    # The run that was changed says so, and points at the run that built the change.
    page.goto(f"/#/runs/{pid}")
    page.wait_for_selector("#change-app[data-change='built']")
    assert page.get_attribute("#change-built-link", "href") == f"#/runs/{new}"
    assert page.locator("#action-change-app").is_hidden()
