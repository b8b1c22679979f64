"""A founder's way through validation feedback in a real browser: the refund policy before submitting,
a vague idea pausing in needs_input, editing it in place and resuming until it completes; "Edit & rerun"
on a rejected run (whose credit came back); and running out of runs, said plainly, with a Buy button."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import buy_starter_pack, passthrough, sign_up, wait_detail_status

pytestmark = pytest.mark.timeout(240)

VAGUE = {"title": "Helper app", "description": "It is an app. It does stuff for people, like a helper.",
         "target_audience": "people", "features": ""}
SHARP = {
    "title": "ChairTime",
    "description": "Independent barbers book appointments on paper and lose clients to no-shows. Unlike salon software "
                   "priced per staff seat, ChairTime gives each barber an online booking page, sends text reminders "
                   "the day before, and barbers pay a flat monthly subscription of 5 pounds.",
    "target_audience": "Independent barbers with one or two chairs",
    "features": "Online booking page per barber\nText reminders the day before\nClient list with visit history",
}


def fill(page, idea: dict, prefix: str = "idea") -> None:
    page.fill(f"#{prefix}-title", idea["title"])
    page.fill(f"#{prefix}-description", idea["description"])
    page.fill(f"#{prefix}-audience", idea["target_audience"])
    page.fill(f"#{prefix}-features", idea["features"])
    if prefix == "idea":
        page.uncheck("#idea-plan-review")  # these runs go straight through (test_plan_editor.py reviews)


def credits(page) -> int:
    return int(page.get_attribute("#credits", "data-credits"))


def test_edit_a_needs_input_idea_resume_it_and_watch_it_complete(browsers):
    page = browsers.new_page()
    user = sign_up(page, company="Barber Labs")
    buy_starter_pack(page)
    policy = page.text_content("#refund-policy")
    assert page.is_visible("#refund-policy")
    assert "rejected at validation" in policy and "cancel" in policy and "before development" in policy

    fill(page, VAGUE)
    page.click("#idea-form details.advanced > summary")
    page.check("[data-testid='gate-idea_validation']")  # hold after a good validation, to finish fast
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    wait_detail_status(page, "needs_input", 30)
    page.wait_for_selector("[data-testid='needs-input-panel']", state="visible")
    assert page.locator("[data-testid='needs-input-item']").count() >= 1
    page.wait_for_selector("#needs-input[data-filled='true']")
    assert page.input_value("#resume-description") == VAGUE["description"], "the form is pre-filled"
    assert page.is_visible("#action-continue") and page.is_visible("#action-cancel")
    assert page.get_attribute("[data-testid='stage-tech_stack']", "data-status") == "pending"
    assert credits(page) == 9

    fill(page, SHARP, prefix="resume")
    page.click("#action-resume")
    # Validated again on the new text: go, then the approval gate holds it.
    wait_detail_status(page, "awaiting_approval", 30)
    assert not page.is_visible("[data-testid='needs-input-panel']")
    assert page.text_content("#detail-title") == "ChairTime"
    assert page.locator("[data-testid='stage-idea_validation'] td[data-col='attempt']").text_content() == "2"
    passthrough(user["tenant_id"])  # the build itself is not what this test checks
    page.click("#action-approve")
    wait_detail_status(page, "completed", 60)
    types = page.eval_on_selector_all("[data-testid='event']", "els => els.map(e => e.dataset.type)")
    assert "factory_needs_input" in types and "factory_resumed" in types and types[0] == "factory_completed"
    assert credits(page) == 9, "one run, one credit"


def test_edit_and_rerun_a_rejected_run_prefills_the_form_and_the_credit_came_back(browsers):
    page = browsers.new_page()
    sign_up(page, company="Mash Co")
    buy_starter_pack(page)
    bad = {"title": "asdf qwer", "description": "asdfgh qwerty zxcvbn asdfgh qwerty zxcvbn hjkl",
           "target_audience": "qwerty people", "features": ""}
    fill(page, bad)
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    wait_detail_status(page, "failed", 30)
    page.wait_for_selector("#detail-note:has-text('refunded')")
    page.wait_for_function("document.querySelector('#credits').dataset.credits === '10'")
    page.wait_for_selector("#action-edit-rerun", state="visible")
    page.click("#action-edit-rerun")
    page.wait_for_function("document.querySelector('#idea-title').value === 'asdf qwer'")
    assert page.input_value("#idea-description") == bad["description"]
    assert page.input_value("#idea-audience") == bad["target_audience"]
    page.click("#payments-details > summary")
    assert page.locator("#payments li:has-text('1 run refunded')").count() == 1


def test_out_of_runs_is_said_plainly_with_a_buy_button(browsers):
    page = browsers.new_page()
    sign_up(page, company="Broke Co")
    page.wait_for_selector("#credits[data-credits='0']")
    fill(page, SHARP)
    page.click("#idea-submit")
    page.wait_for_selector("#idea-error:has-text('used all the runs')")
    message = page.text_content("#idea-error")
    assert "/api/" not in message and "POST" not in message
    page.wait_for_selector("#idea-buy", state="visible")
    page.click("#idea-buy")
    page.wait_for_url("**/checkout/**")
