"""The founder's journey in a real browser: sign up, pay on the (fake) Stripe Checkout page, submit
an idea, and watch the pipeline build live; plus tenant isolation as seen from a second browser.

Realtime is the point: after the first page load nothing is reloaded; every later change on the page
comes from Firestore listeners (the detail view says `data-live="realtime"`).
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
from google.cloud import firestore

PASSWORD = "correct-horse-battery"
SDK = "https://www.gstatic.com/firebasejs/12.19.0"
IDEA = {
    "title": "Invoice tracker for freelancers",
    "description": "Freelancers lose track of unpaid invoices; this app tracks invoices, clients and reminders. Unlike "
                   "accounting suites with monthly plans, it is free until an invoice is paid and then takes 1% of it.",
    "target_audience": "independent freelancers and small agencies",
    "features": "create invoices\ntrack clients\npayment reminders",
}

pytestmark = pytest.mark.timeout(240)


# ------------------------------------------------------------------------------------------ helpers


def admin_db() -> firestore.Client:
    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def passthrough(tenant_id: str) -> None:
    """Pass-through stages for this tenant (needs FACTORY_FAULTS=enabled in the local cloud)."""
    admin_db().document(f"_faults/{tenant_id}").set({"flags": {"passthrough": True}}, merge=True)


def sign_up(page, company: str = "Ada Labs") -> dict:
    """Create an account through the sign-up form; -> {email, tenant_id}."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    page.goto("/")
    page.wait_for_selector("body[data-state='signed-out']")
    page.click("#tab-signup")
    page.fill("#signup-name", "Ada Founder")
    page.fill("#signup-company", company)
    page.fill("#signup-email", email)
    page.fill("#signup-password", PASSWORD)
    page.click("#signup-submit")
    page.wait_for_selector("body[data-state='signed-in']")
    assert page.text_content("#workspace-name") == company
    assert page.text_content("#role-badge") == "owner"
    tenant_id = page.evaluate(
        """async (sdk) => {
            const { getAuth } = await import(`${sdk}/firebase-auth.js`);
            return (await getAuth().currentUser.getIdTokenResult()).claims.tenant_id;
        }""", SDK)
    assert tenant_id
    return {"email": email, "tenant_id": tenant_id}


def buy_starter_pack(page) -> None:
    """Buy -> the Stripe fake's hosted Checkout page -> Pay -> back on the dashboard with credits."""
    stripe = os.environ["STRIPE_API_BASE"]
    page.wait_for_selector("#credits[data-credits]")
    before = int(page.get_attribute("#credits", "data-credits"))
    page.click("[data-testid='buy-starter_pack']")
    page.wait_for_url(f"{stripe}/checkout/**")
    page.wait_for_selector("#pay")
    page.click("#pay")
    page.wait_for_url(f"{os.environ['FRONT_DOOR_URL']}/**")
    page.wait_for_selector("body[data-state='signed-in']")
    assert "checkout=" not in page.url, "the dashboard cleans the return URL"
    page.wait_for_function("(n) => Number(document.querySelector('#credits').dataset.credits) === n", arg=before + 10)
    page.wait_for_selector("#payment-pending", state="hidden")
    assert page.locator("[data-testid='payment'][data-status='paid']").count() >= 1


def fill_idea(page, gates: tuple[str, ...] = ()) -> None:
    page.fill("#idea-title", IDEA["title"])
    page.fill("#idea-description", IDEA["description"])
    page.fill("#idea-audience", IDEA["target_audience"])
    page.fill("#idea-features", IDEA["features"])
    page.uncheck("#idea-plan-review")  # these runs go straight through (tests/browser/test_plan_editor.py reviews)
    if gates:
        page.click("#idea-form details.advanced > summary")
        for g in gates:
            page.check(f"[data-testid='gate-{g}']")


def record_detail(page) -> None:
    """Record every progress/status value the detail view shows, as the DOM changes (no polling).

    Installed before the idea is submitted (the detail's elements are always in the page), so the
    first value recorded is whatever the first Firestore snapshot showed.
    """
    page.evaluate("""() => {
        window.__seen = { progress: [], status: [] };
        const bar = document.querySelector('#detail-progress');
        const sec = document.querySelector('#pipeline-detail');
        const note = () => {
            const s = sec.dataset.status;
            if (!s || sec.hidden) return;
            const p = Number(bar.dataset.progress);
            if (window.__seen.progress.at(-1) !== p) window.__seen.progress.push(p);
            if (window.__seen.status.at(-1) !== s) window.__seen.status.push(s);
        };
        const opts = { attributes: true, attributeFilter: ['data-progress', 'data-status', 'hidden'] };
        new MutationObserver(note).observe(bar, opts);
        new MutationObserver(note).observe(sec, opts);
    }""")


def event_types(page) -> list[str]:
    return page.eval_on_selector_all("[data-testid='event']", "els => els.map(e => e.dataset.type)")


def wait_detail_status(page, status: str, timeout_s: float) -> None:
    page.wait_for_selector(f"#pipeline-detail[data-status='{status}']", timeout=timeout_s * 1000)


# ------------------------------------------------------------------------------------------ tests


def test_founder_signs_up_pays_submits_and_watches_a_run_live(browsers):
    page = browsers.new_page()
    user = sign_up(page)
    passthrough(user["tenant_id"])
    assert page.text_content("#credits") == "0"

    buy_starter_pack(page)
    assert page.is_visible("#toast")

    # An approval gate after the tech stack: the run stops at 35 %, and goes on when approved.
    fill_idea(page, gates=("tech_stack",))
    record_detail(page)
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    pid = page.url.rsplit("/", 1)[-1]
    item = page.locator(f"[data-testid='pipeline-item'][data-pipeline-id='{pid}']")
    item.wait_for()
    assert item.locator("[data-testid='status-chip']").count() == 1
    page.wait_for_selector(f"#pipeline-detail[data-pipeline-id='{pid}'][data-live='realtime']")
    assert page.text_content("#detail-title") == IDEA["title"]

    wait_detail_status(page, "awaiting_approval", 30)
    assert page.get_attribute("#detail-progress", "data-progress") == "35"
    assert page.get_attribute("[data-testid='stage-tech_stack']", "data-status") == "completed"
    assert page.get_attribute("[data-testid='stage-uiux_design']", "data-status") == "pending"
    assert "Tech stack" in page.text_content("#detail-awaiting")
    page.wait_for_selector(f"[data-testid='pipeline-item'][data-pipeline-id='{pid}'][data-status='awaiting_approval']")
    assert page.is_visible("#action-cancel") and not page.is_visible("#action-retry")

    page.fill("#approve-comment", "Stack looks right")
    page.click("#action-approve")
    wait_detail_status(page, "completed", 60)
    page.wait_for_selector("#detail-progress[data-progress='100']")
    assert page.text_content("#detail-progress-label") == "6 of 6 stages done"

    seen = page.evaluate("window.__seen")
    assert seen["progress"][0] <= 35 and seen["progress"][-1] == 100 and 35 in seen["progress"], seen
    assert seen["progress"] == sorted(seen["progress"]), f"progress only moves forward: {seen}"
    assert "awaiting_approval" in seen["status"] and seen["status"][-1] == "completed", seen

    for s in ("idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment"):
        row = page.locator(f"[data-testid='stage-{s}']")
        assert row.get_attribute("data-status") == "completed", s
        assert row.locator("td[data-col='attempt']").text_content() == "1", s
    page.wait_for_function("document.querySelectorAll(\"[data-testid='event'][data-type='factory_completed']\").length === 1")
    types = event_types(page)
    assert types[-1] == "factory_triggered" and types[0] == "factory_completed", types  # newest first
    assert "awaiting_approval" in types and "stage_approved" in types, types
    seqs = page.eval_on_selector_all("[data-testid='event']", "els => els.map(e => Number(e.dataset.seq))")
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs), seqs
    page.wait_for_selector(f"[data-testid='pipeline-item'][data-pipeline-id='{pid}'][data-status='completed']")
    assert not page.is_visible("#action-cancel") and not page.is_visible("#action-approve")
    page.wait_for_function("document.querySelector('#credits').dataset.credits === '9'")


def test_real_engine_builds_an_app_with_artifacts_and_a_preview(browsers):
    page = browsers.new_page()
    sign_up(page, company="Real Engine Co")
    buy_starter_pack(page)
    fill_idea(page)
    record_detail(page)
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    page.wait_for_selector("#pipeline-detail[data-live='realtime']")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = page.get_attribute("#pipeline-detail", "data-status")
        if status in ("completed", "failed", "cancelled"):
            break
        page.wait_for_timeout(250)
    assert status == "completed", f"{status}: {page.text_content('#detail-error')}"
    seen = page.evaluate("window.__seen")
    assert seen["status"][0] in ("queued", "running") and seen["status"][-1] == "completed", seen
    assert len(seen["progress"]) >= 2 and seen["progress"] == sorted(seen["progress"]), seen

    page.wait_for_selector("[data-testid='artifact'][data-name='project.zip']")
    page.wait_for_function("document.querySelector('#factory-stats').textContent.startsWith('1 run · 1 completed')")
    names = page.eval_on_selector_all("[data-testid='artifact']", "els => els.map(e => e.dataset.name)")
    assert {"project.zip", "qa-report.json", "Dockerfile"} <= set(names), names
    link = page.locator("#preview-link")
    assert link.is_visible()
    href = link.get_attribute("href")
    assert href and href.startswith("http"), href
    assert link.text_content() == href
    assert requests.get(href, timeout=10).status_code < 500, "the preview answers"
    claim = page.locator("#claim-link")  # nobody owns the new app until the founder opens this link
    assert claim.is_visible() and claim.get_attribute("href").startswith(href + "/claim?token=")

    # The feature table says built, partial or not covered, with what was built and what was not, in words.
    headline = page.text_content("#coverage-headline")
    assert " features built" in headline, headline
    rows = page.locator("[data-testid='coverage-row']")
    assert rows.count() >= 1
    statuses = set(page.eval_on_selector_all("[data-testid='coverage-row']", "els => els.map(e => e.dataset.status)"))
    assert statuses <= {"built", "partial", "failing", "not_covered"}, statuses
    table = page.text_content("[data-testid='coverage-table']")
    assert "Built as: " in table, table
    if "partial" in statuses:
        assert "Not built: " in table and "partial" in headline, (headline, table)

    # Artifacts need the bearer header: the page fetches them and hands over a blob.
    zip_item = page.locator("[data-testid='artifact'][data-name='project.zip']")
    with page.expect_download() as dl:
        zip_item.locator("[data-testid='artifact-download']").click()
    download = dl.value
    assert download.suggested_filename == "project.zip"
    with open(download.path(), "rb") as f:
        assert f.read(2) == b"PK"
    # Opened in the page's viewer (tests/browser/test_viewer.py covers every kind), never in a new tab.
    page.locator("[data-testid='artifact'][data-name='qa-report.md'] [data-testid='artifact-open']").click()
    page.wait_for_selector("#artifact-viewer[data-name='qa-report.md'][data-ready='true']")
    assert "QA" in page.inner_text("[data-testid='viewer-markdown']")
    assert len(page.context.pages) == 1


def test_a_second_tenant_sees_nothing_of_the_first(browsers, front_door):
    # Tenant A: a pipeline, made through the browser.
    a = browsers.new_page()
    owner_a = sign_up(a, company="Tenant A")
    passthrough(owner_a["tenant_id"])
    buy_starter_pack(a)
    fill_idea(a)
    a.click("#idea-submit")
    a.wait_for_url("**/#/runs/*")
    pid = a.url.rsplit("/", 1)[-1]
    wait_detail_status(a, "completed", 30)

    # Tenant B, in its own browser context, at a phone's width.
    b = browsers.new_page(width=390, height=844)
    owner_b = sign_up(b, company="Tenant B")
    assert owner_b["tenant_id"] != owner_a["tenant_id"]
    b.wait_for_selector("#live-indicator[data-live='realtime']")
    b.wait_for_selector("#pipelines-empty", state="visible")
    assert b.locator("[data-testid='pipeline-item']").count() == 0
    assert b.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling on a phone"

    # A direct Firestore read of A's pipeline from B's page is refused by the security rules.
    denied = b.evaluate(
        """async ([sdk, path, col]) => {
            const fs = await import(`${sdk}/firebase-firestore.js`);
            const db = fs.getFirestore();
            const out = {};
            try { await fs.getDoc(fs.doc(db, path)); out.doc = 'allowed'; } catch (e) { out.doc = e.code; }
            try { await fs.getDocs(fs.collection(db, col)); out.list = 'allowed'; } catch (e) { out.list = e.code; }
            return out;
        }""", [SDK, f"tenants/{owner_a['tenant_id']}/pipelines/{pid}", f"tenants/{owner_a['tenant_id']}/pipelines"])
    assert denied == {"doc": "permission-denied", "list": "permission-denied"}, denied

    # Asking for A's pipeline by its id shows "not found", not A's data.
    b.goto(f"/#/pipelines/{pid}")
    b.wait_for_selector("#pipeline-detail[data-status='missing']")
    assert IDEA["title"] not in b.text_content("#pipeline-detail")
    assert b.locator("[data-testid='event']").count() == 0
    assert b.locator("[data-testid='pipeline-item']").count() == 0

    # B has no credits: the idea is refused with the server's 402 message.
    fill_idea(b)
    b.click("#idea-submit")
    b.wait_for_selector("#idea-error:not([hidden])")
    assert "used all the runs" in b.text_content("#idea-error") and "/api/" not in b.text_content("#idea-error")
    assert b.is_visible("#idea-buy")  # B is an owner: a Buy button right there
    assert b.locator("[data-testid='pipeline-item']").count() == 0
    r = requests.get(f"{front_door}/api/factory/pipelines/{pid}", timeout=10)
    assert r.status_code == 401


def test_idea_form_checks_fields_before_sending_and_shows_server_field_errors(browsers):
    page = browsers.new_page()
    sign_up(page, company="Validation Co")
    sent = []
    page.on("request", lambda r: r.url.endswith("/api/ideas") and sent.append(r))

    page.fill("#idea-title", "ab")
    page.fill("#idea-description", "too short")
    page.fill("#idea-audience", "founders")
    page.click("#idea-submit")
    assert "at least 3" in page.text_content("#idea-title-error")
    assert "at least 20" in page.text_content("#idea-description-error")
    assert page.get_attribute("#idea-title", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "idea-title"
    assert sent == [], "nothing is sent while a field is invalid"

    # A field error only the server knows about is shown next to its field.
    def reject(route):
        route.fulfill(status=400, content_type="application/json", body=(
            '{"error": {"code": "validation_failed", "message": "Some fields are missing or invalid: title.",'
            ' "details": [{"field": "title", "message": "That title is already taken", "type": "value_error"}]}}'))

    page.route("**/api/ideas", reject)
    fill_idea(page)
    page.click("#idea-submit")
    page.wait_for_selector("#idea-error:not([hidden])")
    assert page.text_content("#idea-error") == "Some fields are missing or invalid: title."
    assert page.text_content("#idea-title-error") == "That title is already taken"
    assert sent[-1].post_data_json["constraints"]["plan_review"] is False, "unticked: the run is not held for review"
    assert page.text_content("#idea-description-error") == ""

    page.click("#sign-out")
    page.wait_for_selector("body[data-state='signed-out']")
    assert not page.is_visible("#app-view")


def test_cancel_a_waiting_run_and_retry_a_failed_one_from_the_detail_view(browsers):
    from shared.topology import MAX_DELIVERY_ATTEMPTS

    page = browsers.new_page()
    user = sign_up(page, company="Actions Co")
    passthrough(user["tenant_id"])
    buy_starter_pack(page)

    # Cancel: a run held at its first approval gate.
    fill_idea(page, gates=("idea_validation",))
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    wait_detail_status(page, "awaiting_approval", 30)
    page.click("#action-cancel")
    page.click("#action-cancel-confirm")  # Cancel asks first
    wait_detail_status(page, "cancelled", 15)
    page.wait_for_selector("[data-testid='event'][data-type='factory_cancelled']")
    # Cancelled before development: the note says so and that the credit came back.
    assert page.text_content("#detail-note") == "This run was cancelled by you. Your credit for this run was refunded."
    assert not page.is_visible("#detail-error")
    assert not page.is_visible("#action-cancel") and not page.is_visible("#action-approve")
    assert not page.is_visible("#action-retry")

    # Retry: development fails on every delivery, the run is dead-lettered, Retry resumes it there.
    admin_db().document(f"_faults/{user['tenant_id']}").set(
        {"points": {"transient": {"stage": "development", "remaining": MAX_DELIVERY_ATTEMPTS}}}, merge=True)
    first = page.url
    fill_idea(page)
    page.click("#idea-submit")
    page.wait_for_function("(u) => location.href !== u && location.hash.startsWith('#/runs/')", arg=first)
    wait_detail_status(page, "failed", 90)
    assert page.is_visible("#detail-error") and page.text_content("#detail-error").strip()
    assert page.get_attribute("[data-testid='stage-development']", "data-status") == "failed"
    assert page.get_attribute("[data-testid='stage-tech_stack']", "data-status") == "completed"
    assert page.is_visible("#action-retry") and not page.is_visible("#action-cancel")
    page.click("#action-retry")
    wait_detail_status(page, "completed", 60)
    assert page.locator("[data-testid='stage-development'] td[data-col='attempt']").text_content() == "2"
    assert not page.is_visible("#detail-error")
    types = event_types(page)
    assert "factory_failed" in types and "factory_retried" in types and types[0] == "factory_completed", types
