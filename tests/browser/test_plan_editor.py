"""Issue 19 in a real browser: a corpus idea sent from the New-idea form with "Review the plan before building"
ticked (the default) pauses after planning; the run page shows the data model as a diagram and the role x entity
matrix; the founder retypes an attribute, links two kinds of record, sets a limit to a number (a refused value shows
the problem next to the form first), marks a partial feature as not needed and sees its status change, undoes a
change, approves, and the spec the run builds from (read over the API) has every edit."""

from __future__ import annotations

import json

import pytest

from emulator import faults
from tests.browser.test_dashboard import wait_detail_status
from tests.helpers import PASSWORD, Api, buy_credits, pipeline_doc, wait_status
from tests.unit.engine.corpus import idea_by_id

pytestmark = pytest.mark.timeout(240)


def sign_in(page, email: str) -> None:
    page.goto("/")
    page.wait_for_selector("body[data-state='signed-out']")
    page.fill("#signin-email", email)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-state='signed-in']")


def choose_edit(page, op: str) -> None:
    page.select_option("#plan-op", op)


def apply_edit(page, said: str) -> None:
    page.click("[data-testid='plan-apply']")
    page.wait_for_function("(s) => document.querySelector('#plan-live')?.textContent.includes(s)", arg=said)
    assert page.evaluate("document.activeElement.id") == "plan-op", "focus returns to the edit picker"


def attr_type(page, entity: str, attribute: str) -> str:
    return page.get_attribute(f"[data-testid='diagram-entity'][data-entity='{entity}'] "
                              f"[data-testid='diagram-attribute'][data-attribute='{attribute}']", "data-type")


def feature_status(page, index: int) -> str:
    return page.get_attribute(f"[data-testid='plan-feature'][data-index='{index}']", "data-status")


def test_founder_reviews_edits_and_approves_the_plan(browsers):
    api = Api()
    owner = api.signup(company="LendShed Co")
    buy_credits(api, owner)
    idea = idea_by_id("tool-library-2")
    page = browsers.new_page()
    sign_in(page, owner.email)

    assert page.is_checked("#idea-plan-review"), "plan review is on by default"
    page.fill("#idea-title", idea["title"])
    page.fill("#idea-description", idea["description"])
    page.fill("#idea-audience", idea["target_audience"])
    page.fill("#idea-features", "\n".join(idea["key_features"]))
    page.click("#idea-submit")
    page.wait_for_url("**/#/runs/*")
    pid = page.url.rsplit("/", 1)[-1]
    wait_detail_status(page, "plan_review", 120)

    # The plan as read: entities as boxes with typed attributes, links as arrows, the matrix, each feature.
    page.wait_for_selector("[data-testid='plan-diagram']")
    ents = set(page.eval_on_selector_all("[data-testid='diagram-entity']", "els => els.map(e => e.dataset.entity)"))
    assert ents == {"desk", "tool", "member"}
    assert attr_type(page, "tool", "deposit_amount") == "money"
    links = page.eval_on_selector_all("[data-testid='diagram-link']", "els => els.map(e => e.dataset.from + '>' + e.dataset.to)")
    assert sorted(links) == ["desk>tool", "tool>member"]
    roles = page.eval_on_selector_all("[data-testid='matrix-row']", "els => els.map(e => e.dataset.role)")
    assert "owner" in roles
    assert page.locator("[data-testid='matrix-cell']").count() == len(roles) * 3
    assert page.get_attribute("[data-testid='matrix-cell'][data-role='owner'][data-entity='tool']", "data-write") == "true"
    assert feature_status(page, 1) == "partial" and feature_status(page, 3) == "built"
    assert "desk" in page.text_content("[data-testid='plan-feature'][data-index='1'] [data-testid='feature-not-built']")
    assert page.text_content("[data-testid='plan-signup']")

    # Retype an attribute.
    choose_edit(page, "retype_attribute")
    page.select_option("[data-testid='plan-entity']", "tool")
    page.select_option("[data-testid='plan-name']", "deposit_amount")
    page.select_option("[data-testid='plan-type']", "decimal")
    apply_edit(page, "from money to decimal")
    assert attr_type(page, "tool", "deposit_amount") == "decimal"

    # Link two kinds of record (two pickers).
    choose_edit(page, "link_entities")
    page.select_option("[data-testid='plan-entity']", "desk")
    page.select_option("[data-testid='plan-target']", "member")
    apply_edit(page, "linked each Desk to a Member")
    page.wait_for_selector("[data-testid='diagram-link'][data-from='desk'][data-to='member']")

    # A limit: a value the check refuses shows its problem next to the form, in words; a number is applied.
    choose_edit(page, "set_rule_params")
    page.select_option("[data-testid='plan-capability']", "limit_tool")
    page.fill("[data-testid='plan-param-max']", "-1")
    page.click("[data-testid='plan-apply']")
    page.wait_for_selector("[data-testid='plan-problems']:not([hidden])")
    assert "greater than or equal to 0" in page.text_content("[data-testid='plan-problems']")
    assert page.evaluate("document.activeElement.dataset.testid") == "plan-problems"
    page.fill("[data-testid='plan-param-max']", "3")
    apply_edit(page, "set max=3")
    assert "max = 3" in page.text_content("[data-testid='plan-feature'][data-index='3']")
    assert feature_status(page, 3) == "partial", "'at most two' no longer matches the limit: said honestly"

    # The partial feature: marked not needed, its status changes.
    choose_edit(page, "mark_not_needed")
    page.select_option("select[data-testid='plan-feature']", "1")
    apply_edit(page, "as not needed")
    assert feature_status(page, 1) == "not_needed"

    # Undo a change (an attribute added then taken back).
    choose_edit(page, "add_attribute")
    page.select_option("[data-testid='plan-entity']", "member")
    page.fill("input[data-testid='plan-name']", "phone")
    page.select_option("[data-testid='plan-type']", "phone")
    apply_edit(page, "added phone (phone) to Member")
    assert attr_type(page, "member", "phone") == "phone"
    page.click("[data-testid='plan-undo']")
    page.wait_for_function("() => document.querySelector('#plan-live')?.textContent.startsWith('Undid change 5')")
    assert page.locator("[data-testid='diagram-entity'][data-entity='member'] [data-attribute='phone']").count() == 0
    assert page.locator("[data-testid='plan-edit']").count() == 4

    # Approve: the run goes on (pass-through stages after the plan: this test is about the plan), and the spec it
    # builds from has every edit.
    faults.set_flag(owner.tenant_id, "passthrough")
    page.click("[data-testid='plan-approve']")
    page.wait_for_selector("#plan-review", state="hidden")
    wait_status(owner.tenant_id, pid, "completed", 120)
    r = api.get(f"/api/factory/pipelines/{pid}/artifacts/app-spec.json", owner)
    assert r.status_code == 200, r.text
    spec = json.loads(r.content)
    ents = {e["name"]: {f["name"]: f for f in e["fields"]} for e in spec["entities"]}
    assert ents["tool"]["deposit_amount"]["type"] == "decimal"
    assert ents["desk"]["member_id"]["type"] == "reference" and ents["desk"]["member_id"]["ref"] == "member"
    assert "phone" not in ents["member"], "the undone edit is not built"
    assert next(c for c in spec["capabilities"] if c["id"] == "limit_tool")["max"] == 3
    assert spec["trace"][1]["status"] == "not_covered" and spec["trace"][1]["capabilities"] == []
    p = pipeline_doc(owner.tenant_id, pid)
    assert p["metadata"]["plan_approved"]["edits"] == 4
