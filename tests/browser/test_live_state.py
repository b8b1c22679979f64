"""Honest live state in a real browser (issue 20): Connected / Offline driven by the browser's network,
a refused realtime channel with the REST API up (the polling fallback shows the truth, events included,
never "No pipelines yet" or "not found"), credits that change in another session shown without a reload,
Cancel that asks first, the run route (title, focus, scroll), history paging/filter/search, and a phone's
width with no sideways scrolling."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from emulator import faults
from tests.browser.axe import assert_no_serious_violations
from tests.helpers import IDEA, PASSWORD, Api, buy_credits, submit, wait_status

pytestmark = pytest.mark.timeout(120)

LISTEN = "**/google.firestore.v1.Firestore/Listen/**"


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    """A workspace with credits whose stages pass straight through, and one completed run."""
    user = api.signup(company="Live State Co")
    faults.set_flag(user.tenant_id, "passthrough")
    buy_credits(api, user)
    pid = submit(api, user)
    wait_status(user.tenant_id, pid, "completed", 30)
    user.done_pid = pid
    return user


def sign_in(page, user, path: str = "/") -> None:
    """The sign-in form, submitted from the keyboard."""
    page.goto(path)
    page.wait_for_selector("body[data-state='signed-out']")
    page.fill("#signin-email", user.email)
    page.fill("#signin-password", PASSWORD)
    page.press("#signin-password", "Enter")
    page.wait_for_selector("body[data-state='signed-in']")


def credits(page) -> int:
    return int(page.get_attribute("#credits", "data-credits"))


def test_connected_offline_and_connected_again_with_focus_on_the_heading(browsers, owner):
    page = browsers.new_page()
    sign_in(page, owner)
    # A keyboard sign-in leaves focus on the page's h1, not the body.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'app-heading'")
    assert page.evaluate("document.querySelectorAll('h1:not([hidden])').length") >= 1
    page.wait_for_selector("#live-indicator[data-live='realtime']")
    assert page.text_content("#live-state") == "Connected"
    assert page.text_content("#live-updated").startswith("last update ")
    assert page.get_attribute("#live-state", "aria-live") == "polite"

    page.context.set_offline(True)
    page.wait_for_selector("#live-indicator[data-live='offline']", timeout=10_000)
    assert page.text_content("#live-state") == "Offline"
    assert "live" not in page.text_content("#live-indicator").lower()

    page.context.set_offline(False)
    page.wait_for_selector("#live-indicator[data-live='realtime']", timeout=30_000)
    assert page.text_content("#live-state") == "Connected"


def test_a_refused_realtime_channel_falls_back_to_the_api_and_shows_the_truth(browsers, owner):
    page = browsers.new_page()
    refused = []
    page.route(LISTEN, lambda route: (refused.append(route.request.url), route.abort()))
    # Record anything the page ever says from cache-only data: an empty list or a missing run.
    page.add_init_script("""
        window.__lies = [];
        new MutationObserver(() => {
            const empty = document.querySelector('#pipelines-empty');
            if (empty && !empty.hidden) window.__lies.push('empty');
            const d = document.querySelector('#pipeline-detail');
            if (d && d.dataset.status === 'missing') window.__lies.push('missing');
        }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    """)
    sign_in(page, owner, f"/#/runs/{owner.done_pid}")
    assert page.is_visible("#pipelines-loading"), "before any server data: Loading, not 'No pipelines yet'"
    assert page.get_attribute("#live-indicator", "data-live") != "realtime"

    # The fallback (within a few seconds) lists the runs, and shows the open run with its events.
    item = page.locator(f"[data-testid='pipeline-item'][data-pipeline-id='{owner.done_pid}']")
    item.wait_for(timeout=15_000)
    page.wait_for_selector("#live-indicator[data-live='polling']")
    assert page.text_content("#live-state").startswith("Reconnecting")
    page.wait_for_selector(f"#pipeline-detail[data-pipeline-id='{owner.done_pid}'][data-status='completed']")
    assert page.get_attribute("#pipeline-detail", "data-live") == "polling"
    assert page.text_content("#detail-title") == IDEA["title"]
    page.wait_for_selector("[data-testid='event'][data-type='factory_completed']")
    types = page.eval_on_selector_all("[data-testid='event']", "els => els.map(e => e.dataset.type)")
    assert types[0] == "factory_completed" and types[-1] == "factory_triggered", types  # newest first
    assert refused, "the realtime channel was asked for (and refused)"

    # A run started elsewhere appears through the fallback too, without a reload.
    api = Api()
    pid = submit(api, owner)
    page.wait_for_selector(f"[data-testid='pipeline-item'][data-pipeline-id='{pid}']", timeout=15_000)
    assert page.evaluate("window.__lies") == []
    assert page.text_content("#detail-title") != "Pipeline not found"
    wait_status(owner.tenant_id, pid, "completed", 30)


def test_credits_from_another_session_cancel_confirms_and_the_run_fits_a_phone(browsers, owner):
    api = Api()
    page = browsers.new_page(width=390, height=844)
    sign_in(page, owner)
    page.wait_for_selector("#live-indicator[data-live='realtime']")
    page.wait_for_selector("#credits[data-credits]")
    before = credits(page)

    # Another session spends a credit: a run held at its first approval gate.
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}})
    page.wait_for_function("(n) => Number(document.querySelector('#credits').dataset.credits) === n", arg=before - 1,
                           timeout=10_000)
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)

    # Opening the run from the list: its route, the title, focus and scroll all move to it.
    page.click(f"[data-testid='pipeline-item'][data-pipeline-id='{pid}'] [data-testid='open-pipeline']")
    page.wait_for_url(f"**/#/runs/{pid}")
    page.wait_for_selector("#pipeline-detail[data-status='awaiting_approval']")
    assert page.title() == f"{IDEA['title']} · SaaS Factory"
    assert page.evaluate("document.activeElement.id") == "detail-title"
    top = page.evaluate("document.querySelector('#pipeline-detail').getBoundingClientRect().top")
    assert 0 <= top < 844, top
    assert page.text_content("#detail-progress-label") == "1 of 6 stages done"
    assert page.get_attribute("#detail-progress", "aria-label") == "Run progress"
    assert page.get_attribute("#events-log", "role") == "log"
    assert page.evaluate("document.querySelector('#events-feed').getAttribute('role')") is None
    assert_no_serious_violations(page, "run")
    # At 390 px nothing scrolls sideways; stages are cards; "New idea" stays in reach.
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), \
        page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert page.evaluate("getComputedStyle(document.querySelector('[data-testid=stage-qa]')).display") == "block"
    assert page.is_visible("#new-idea-jump")
    assert 0 <= page.evaluate("document.querySelector('#new-idea-jump').getBoundingClientRect().top") < 844

    # Cancel asks first; "Keep it running" changes nothing.
    page.click("#action-cancel")
    page.wait_for_selector("#cancel-confirm", state="visible")
    assert page.evaluate("document.activeElement.id") == "action-cancel-confirm"
    page.click("#action-cancel-keep")
    page.wait_for_selector("#cancel-confirm", state="hidden")
    page.wait_for_timeout(300)
    assert page.get_attribute("#pipeline-detail", "data-status") == "awaiting_approval"
    page.click("#action-cancel")
    page.click("#action-cancel-confirm")
    page.wait_for_selector("#pipeline-detail[data-status='cancelled']")
    # The refund (cancelled before development) reaches the header live as well.
    page.wait_for_function("(n) => Number(document.querySelector('#credits').dataset.credits) === n", arg=before)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_history_pages_filters_and_searches(browsers, api):
    user = api.signup(company="History Co")
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    t0 = datetime.now(UTC) - timedelta(hours=2)
    batch = db.batch()
    for i in range(25):
        status = "failed" if i % 10 == 3 else "completed"
        name = f"{'Beta' if status == 'failed' else 'Alpha'} run {i:02d}"
        batch.set(db.document(f"tenants/{user.tenant_id}/pipelines/hist{i:04d}"), {
            "pipeline_id": f"hist{i:04d}", "tenant_id": user.tenant_id, "project_name": name, "status": status,
            "progress": 100 if status == "completed" else 50, "created_at": t0 + timedelta(minutes=i), "stages": {}})
    batch.commit()
    page = browsers.new_page()
    sign_in(page, user)
    page.wait_for_function("document.querySelectorAll('[data-testid=pipeline-item]').length === 20")
    assert page.get_attribute("[data-testid='pipeline-item']", "data-pipeline-id") == "hist0024"  # newest first
    page.click("#runs-more")
    page.wait_for_function("document.querySelectorAll('[data-testid=pipeline-item]').length === 25")
    page.select_option("#runs-filter", "failed")
    page.wait_for_function("document.querySelectorAll('[data-testid=pipeline-item]').length === 3")
    statuses = page.eval_on_selector_all("[data-testid='pipeline-item']", "els => els.map(e => e.dataset.status)")
    assert statuses == ["failed"] * 3
    page.fill("#runs-search", "run 13")
    page.wait_for_function("document.querySelectorAll('[data-testid=pipeline-item]').length === 1")
    assert page.get_attribute("[data-testid='pipeline-item']", "data-pipeline-id") == "hist0013"
    page.fill("#runs-search", "nothing like this")
    page.wait_for_selector("#pipelines-empty", state="visible")
    assert "No run loaded matches" in page.text_content("#pipelines-empty")


def test_a_budget_failed_run_is_retried_with_a_raised_budget_and_edit_rerun_keeps_constraints(browsers, owner):
    import time

    api = Api()
    faults.arm(owner.tenant_id, "slow_stage", "idea_validation", seconds=2)
    pid = submit(api, owner, {**IDEA, "constraints": {"budget": {"compute_s": 0.5}, "preferred_stack": "Flask"}})
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    ref = db.document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    deadline = time.monotonic() + 15
    while (ref.get().to_dict() or {}).get("stages", {}).get("idea_validation", {}).get("status") != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ref.update({"spent.compute_s": 0.9})  # the first stage's compute passes the budget
    wait_status(owner.tenant_id, pid, "failed", 30)

    page = browsers.new_page()
    sign_in(page, owner, f"/#/runs/{pid}")
    page.wait_for_selector("#pipeline-detail[data-status='failed']")
    page.wait_for_selector("#retry-budget", state="visible")
    assert not page.is_visible("#action-retry"), "a plain retry would only be refused"
    text = page.text_content("#retry-budget-text")
    assert "{" not in text and "budget" in text, text  # words, no raw JSON
    assert page.get_attribute("#retry-budget-value", "type") == "number"
    page.fill("#retry-budget-value", "100")
    page.click("#action-retry-budget")
    page.wait_for_selector("#pipeline-detail[data-status='completed']", timeout=30_000)
    assert wait_status(owner.tenant_id, pid, "completed", 5)["budget"]["compute_s"] == 100

    # "Edit & rerun" on a cancelled run keeps its budget and preferred stack.
    pid2 = submit(api, owner, {**IDEA, "constraints": {"budget": {"compute_s": 42}, "preferred_stack": "Flask",
                                                       "approval_gates": ["idea_validation"]}})
    wait_status(owner.tenant_id, pid2, "awaiting_approval", 30)
    assert api.post(f"/api/factory/pipelines/{pid2}/cancel", owner).status_code == 200
    page.evaluate("(id) => { location.hash = '#/runs/' + id; }", pid2)
    page.wait_for_selector("#pipeline-detail[data-status='cancelled']")
    page.click("#action-edit-rerun")
    page.wait_for_function("document.querySelector('#idea-title').value !== ''")
    assert page.input_value("#idea-budget") == "42"
    assert page.input_value("#idea-stack") == "Flask"
    assert page.is_checked("[data-testid='gate-idea_validation']")
