"""The artifact viewer in a real browser (issue 20): one real-engine run with an approval gate after the UI/UX
design serves every check, in order: the gate shows the stage's work inline, "Request changes" keeps its
comment in the run's events; then the finished run's Markdown, JSON and project files open in the page (no
new tab), and its preview counts down, expires and is redeployed without spending a credit; last, "Rerun
from…" starts a new run at a chosen stage that reuses the earlier stages' results. axe-core checks the viewer
with each kind of content open.
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from shared.engine import preview
from tests.browser.axe import assert_no_serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_dashboard import admin_db, buy_starter_pack, fill_idea, sign_up

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def run(browser, front_door):
    """A signed-in founder whose real-engine run waits for approval of the UI/UX design."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=front_door, accept_downloads=True)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    user = sign_up(page, company="Viewer Labs")
    buy_starter_pack(page)
    fill_idea(page, gates=("uiux_design",))
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")  # the run route (issue 20 A; #/pipelines/ is only redirected)
    pid = page.url.rsplit("/", 1)[-1]
    try:
        page.wait_for_selector("#pipeline-detail[data-status='awaiting_approval']", timeout=150_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "viewer-setup.png"), full_page=True)
        doc = admin_db().document(f"tenants/{user['tenant_id']}/pipelines/{pid}").get().to_dict() or {}
        print("page errors:", errors, "\nrun:", doc.get("status"), doc.get("current_stage"), doc.get("error_message"))
        ctx.close()
        raise
    yield {"page": page, "ctx": ctx, "pid": pid, "tenant_id": user["tenant_id"], "errors": errors}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / "viewer-last.png"), full_page=True)
    finally:
        ctx.close()


def blob_alive(page, url: str) -> bool:
    return page.evaluate("(u) => fetch(u).then(() => true, () => false)", url)


def test_the_gate_shows_the_stages_work_inline_and_request_changes_keeps_the_comment(run):
    page = run["page"]
    gate = page.locator("#gate-review[data-stage='uiux_design']")
    gate.wait_for()
    assert "UI/UX design" in page.text_content("#gate-review-heading")
    # The viewer opened by itself inside the gate, without taking the focus.
    page.wait_for_selector("#gate-review #artifact-viewer[data-ready='true']")
    assert page.evaluate("document.activeElement.id") != "viewer-title"

    # Wireframes: a gallery of images from Blob URLs (never SVG markup in the page).
    gate.locator("[data-testid='gate-artifact']", has_text="Wireframes").click()
    page.wait_for_selector("#artifact-viewer[data-kind='wireframes'][data-ready='true']")
    assert page.evaluate("document.activeElement.id") == "viewer-title"
    frames = page.locator("[data-testid='wireframe'] img")
    assert frames.count() >= 2
    page.wait_for_function("[...document.querySelectorAll(\"[data-testid='wireframe'] img\")]"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    srcs = page.eval_on_selector_all("[data-testid='wireframe'] img", "els => els.map(e => e.src)")
    assert all(s.startswith("blob:") for s in srcs), srcs
    assert page.locator("#viewer-body svg").count() == 0
    assert blob_alive(page, srcs[0])
    assert_no_serious_violations(page, "viewer (wireframes, at the gate)")

    # The palette with its contrast ratios; opening it releases the wireframes' object URLs.
    gate.locator("[data-testid='gate-artifact'][data-name='design-system.json']").click()
    page.wait_for_selector("#artifact-viewer[data-kind='palette'][data-ready='true']")
    assert page.locator("[data-testid='swatch']").count() >= 5
    rows = page.locator("[data-testid='contrast-row']")
    assert rows.count() >= 2 and ":1" in rows.first.text_content()
    assert not blob_alive(page, srcs[0]), "the replaced gallery's Blob URLs are revoked"

    # Request changes needs a comment; the run keeps waiting and the comment shows in its events.
    page.click("#action-request-changes")
    assert "Write what should change" in page.text_content("#action-error")
    comment = "Make the invoice list show the due date first"
    page.fill("#approve-comment", comment)
    page.click("#action-request-changes")
    event = page.locator("[data-testid='event'][data-type='changes_requested']")
    event.wait_for()
    assert event.locator("[data-testid='event-comment']").text_content() == comment
    assert "you" in event.text_content()
    assert page.get_attribute("#pipeline-detail", "data-status") == "awaiting_approval"
    assert page.is_visible("#action-approve")

    # Approve with a comment: kept in its event too, and the run goes on to the end.
    page.fill("#approve-comment", "Fine for a first version")
    page.click("#action-approve")
    approved = page.locator("[data-testid='event'][data-type='stage_approved'] [data-testid='event-comment']")
    approved.wait_for()
    assert approved.text_content() == "Fine for a first version"
    page.wait_for_selector("#gate-review", state="hidden")
    page.wait_for_selector("#pipeline-detail[data-status='completed']", timeout=150_000)


def test_markdown_json_and_project_files_open_in_the_page(run):
    page = run["page"]
    page.wait_for_selector("[data-testid='artifact'][data-name='project.zip']")
    pages_before = len(run["ctx"].pages)

    opener = page.locator("[data-testid='artifact'][data-name='validation-report.md'] [data-testid='artifact-open']")
    opener.click()
    page.wait_for_selector("#artifact-viewer[data-name='validation-report.md'][data-ready='true']")
    md = page.locator("[data-testid='viewer-markdown']")
    assert md.locator("table").count() >= 1 and md.locator("table td").count() > 4
    text = md.inner_text()
    assert "<br>" not in text and "| ---" not in text and "|---" not in text, text[:500]
    assert md.locator("td br").count() >= 1, "the report's line breaks inside cells are rendered"
    assert md.locator("script, iframe, [onerror]").count() == 0
    assert_no_serious_violations(page, "viewer (markdown)")
    assert len(run["ctx"].pages) == pages_before, "no new tab"
    # Escape closes the viewer and the focus goes back to the link that opened it.
    page.keyboard.press("Escape")
    page.wait_for_selector("#artifact-viewer", state="hidden")
    assert page.evaluate("document.activeElement.closest(\"[data-testid='artifact']\").dataset.name") == \
        "validation-report.md"

    page.click("[data-testid='artifact'][data-name='qa-report.json'] [data-testid='artifact-open']")
    page.wait_for_selector("#artifact-viewer[data-name='qa-report.json'][data-ready='true']")
    tree = page.locator("[data-testid='json-tree']")
    assert tree.locator("details").count() > 3
    assert "coverage" in tree.inner_text()
    assert_no_serious_violations(page, "viewer (JSON tree)")

    # The app spec: features with their status sentences.
    page.click("[data-testid='artifact'][data-name='app-spec.json'][data-stage='development'] "
               "[data-testid='artifact-open']")
    page.wait_for_selector("#artifact-viewer[data-name='app-spec.json'][data-ready='true']")
    features = page.locator("[data-testid='spec-feature']")
    assert features.count() == 3
    statuses = set(page.eval_on_selector_all("[data-testid='spec-feature']", "els => els.map(e => e.dataset.status)"))
    assert statuses <= {"built", "partial", "failing", "not_covered"}, statuses
    assert "Built as: " in features.first.text_content()

    # The generated project: a file tree, one file's contents on demand.
    page.click("[data-testid='artifact'][data-name='project.zip'] [data-testid='artifact-open']")
    page.wait_for_selector("#artifact-viewer[data-kind='project'][data-ready='true']")
    page.click("[data-testid='project-file'][data-path='requirements.txt']")
    page.wait_for_selector("[data-testid='file-path']:has-text('requirements.txt')")
    assert "flask" in page.text_content("#viewer-body [data-testid='file-content']").lower()
    assert_no_serious_violations(page, "viewer (project files)")
    folder = page.locator("#viewer-body details:has(> summary:text-is('templates/'))")
    assert folder.get_attribute("open") is None  # nested folders start closed, and open on a click
    folder.locator("> summary").click()
    page.locator("[data-testid='project-file'][data-path='app/templates/base.html']").wait_for()
    page.click("[data-testid='project-file'][data-path='app/__main__.py']")
    page.wait_for_selector("[data-testid='file-path']:has-text('app/__main__.py')")
    assert "import" in page.text_content("#viewer-body [data-testid='file-content']")
    page.click("#viewer-close")
    page.wait_for_selector("#artifact-viewer", state="hidden")
    assert not run["errors"], run["errors"]


def test_the_preview_counts_down_expires_and_is_redeployed_at_no_cost(run):
    page, pid = run["page"], run["pid"]
    page.wait_for_selector("#preview-expiry:not([hidden])")
    assert page.text_content("#preview-expiry").startswith("Expires in ")
    first = page.get_attribute("#preview-link", "href")
    credits = page.get_attribute("#credits", "data-credits")

    # Force the expiry: the watchdog's sweep would stop the process and the clock would pass expires_at.
    preview.stop_preview(pid, os.environ.get("STATE_DIR", ".local"))
    admin_db().document(f"tenants/{run['tenant_id']}/pipelines/{pid}").update(
        {"stages.deployment.summary.preview.expires_at": time.time() - 5})
    page.wait_for_selector("#preview-expired:not([hidden])")
    assert not page.is_visible("#detail-preview"), "no 'Deployed' with a dead link"
    assert "expired" in page.text_content("#preview-expired-text")

    page.click("#action-redeploy")
    page.wait_for_selector("#detail-preview:not([hidden])", timeout=60_000)
    page.wait_for_selector("#preview-expired", state="hidden")
    href = page.get_attribute("#preview-link", "href")
    assert href and href != first
    assert requests.get(href, timeout=10).status_code < 500, "the redeployed preview answers"
    assert page.text_content("#preview-expiry").startswith("Expires in ")
    page.wait_for_selector("[data-testid='event'][data-type='preview_redeployed']")
    assert page.get_attribute("#credits", "data-credits") == credits, "a redeploy costs no credit"


def test_rerun_from_a_chosen_stage_opens_a_new_run_that_reuses_the_earlier_stages(run):
    page, pid = run["page"], run["pid"]
    credits = int(page.get_attribute("#credits", "data-credits"))
    page.wait_for_selector("#rerun-form:not([hidden])")
    options = page.eval_on_selector_all("#rerun-stage option", "els => els.map(e => e.value)")
    assert options == ["idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment"]
    page.select_option("#rerun-stage", "deployment")  # the quickest stage to run again
    page.click("#action-rerun")
    page.wait_for_function("(p) => /^#\\/runs\\/p_/.test(location.hash) && !location.hash.endsWith(p)", arg=pid)
    new = page.url.rsplit("/", 1)[-1]
    page.wait_for_selector(f"#credits[data-credits='{credits - 1}']")
    doc = admin_db().document(f"tenants/{run['tenant_id']}/pipelines/{new}").get().to_dict()
    assert doc["rerun_of"] == {"pipeline_id": pid, "from_stage": "deployment"}
    # The new run is open, its first five stages done with the earlier run's results from the start.
    for s in ("idea_validation", "tech_stack", "uiux_design", "development", "qa"):
        assert doc["stages"][s]["status"] == "completed" and doc["stages"][s]["reused_from"] == pid
    page.wait_for_function("() => document.querySelector('#pipeline-detail').dataset.status === 'completed' "
                           "&& /Rerun of/.test(document.querySelector(\"[data-testid='event'][data-type="
                           "'factory_triggered']\")?.textContent || '') "
                           "&& document.querySelector(\"[data-testid='event'][data-type='factory_completed']\")",
                           timeout=120_000)
    assert page.text_content("#detail-title") == doc["project_name"]
    page.wait_for_selector("[data-testid='artifact'][data-name='project.zip']")  # the reused development files
    assert not run["errors"], run["errors"]
