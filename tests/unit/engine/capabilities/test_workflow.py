"""Capability `workflow`: name checks, routes, and the generated app's own workflow tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import workflow

from . import _ops_specs as S

IDEAS = [S.grant_review, S.repair_tickets]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_workflow_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 9, run.output
    for abuse in ("test_illegal_transition_is_refused_with_409", "test_repeating_a_transition_is_refused_with_409",
                  "test_wrong_role_and_anonymous_are_refused", "test_state_cannot_be_set_through_the_generic_api",
                  "test_board_form_without_csrf_token_is_refused",
                  "test_fields_are_frozen_once_the_record_leaves_its_editable_states",
                  "test_edits_racing_the_transition_never_land_after_it"):
        assert mine.get(abuse) == "passed", (abuse, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_each_transition_is_a_route_with_its_own_roles():
    spec = AppSpec.model_validate(S.grant_review())
    routes = {(r.method, r.path): r.roles for r in workflow.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/review/records/<int:record_id>/submit")] == ["applicant"]
    assert routes[("POST", "/api/review/records/<int:record_id>/approve")] == ["reviewer"]
    assert routes[("POST", "/api/review/records/<int:record_id>/reopen")] == ["owner", "reviewer"]
    assert routes[("GET", "/api/review/records/<int:record_id>/history")] == ["owner", "applicant", "reviewer"]
    assert all(p.startswith(("/api/review/", "/review/")) for _m, p in routes)


def _transitions(**change):
    d = S.grant_review()
    d["capabilities"][0]["transitions"][0].update(change)
    return d


@pytest.mark.parametrize("spec_dict, words", [
    (S.with_cap(S.grant_review(), state_field="stage"), ["'stage' is not a field of 'application'", "status"]),
    (S.with_cap(S.grant_review(), state_field="title"), ["text field but must be enum"]),
    (S.with_cap(S.grant_review(), initial="pending"), ["initial state 'pending'"]),
    (S.with_cap(S.grant_review(), states=["draft", "submitted", "approved", "rejected", "archived"]),
     ["['archived'] are not values"]),
    (_transitions(roles=["auditor"]), ["'auditor' is not a role", "known roles"]),
    (_transitions(to="published"), ["state 'published'"]),
    (_transitions(name="approve"), ["'approve' is used twice"]),
    (S.with_cap(S.grant_review(), editable_states=["draft", "archived"]), ["editable_states ['archived']"]),
])
def test_check_names_what_does_not_resolve(spec_dict, words):
    spec = AppSpec.model_validate(spec_dict)
    text = " | ".join(workflow.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any(p.startswith("capability 'review' (workflow)") for p in spec_problems(spec))


def test_check_wants_the_initial_state_first_and_reachable_states():
    d = S.grant_review()
    d["entities"][0]["fields"][3]["values"] = ["submitted", "draft", "approved", "rejected"]
    d["entities"][0]["fields"][3]["default"] = None
    spec = AppSpec.model_validate(d)
    assert any("must be the first value" in p for p in workflow.check(spec.capabilities[0], spec))
    d = S.grant_review()
    d["capabilities"][0]["transitions"] = d["capabilities"][0]["transitions"][:2]
    spec = AppSpec.model_validate(d)
    assert any("['rejected'] cannot be reached" in p for p in workflow.check(spec.capabilities[0], spec))


def test_check_refuses_two_workflows_on_one_state_field():
    d = S.grant_review()
    twin = dict(d["capabilities"][0], id="review_again", label="Review applications again")
    d["capabilities"].append(twin)
    d["trace"].append({"feature": twin["label"], "status": "planned", "capabilities": ["review_again"]})
    d["features"].append(twin["label"])
    spec = AppSpec.model_validate(d)
    assert any("already driven by workflow 'review'" in p for p in workflow.check(spec.capabilities[1], spec))


def test_fields_freeze_outside_the_editable_states():
    """editable_states defaults to the initial state; listed states reach the module and the generated tests,
    which move the record into the nearest state outside them before they try to edit it."""
    assert workflow.editable(AppSpec.model_validate(S.grant_review()).capabilities[0]) == ["draft"]
    _, files = S.compile_spec(S.grant_review())
    assert 'EDITABLE = ["draft"]' in files["app/capabilities/review.py"].decode()
    assert 'FROZEN_FIELDS = ["title", "amount", "summary"]' in files["app/capabilities/review.py"].decode()
    _, files = S.compile_spec(S.with_cap(S.grant_review(), editable_states=["draft", "submitted"]))
    assert 'EDITABLE = ["draft", "submitted"]' in files["app/capabilities/review.py"].decode()
    test = files["tests/test_cap_review.py"].decode()
    plan = test[test.index("EDITABLE, TO_FROZEN"):test.index("# a field the tests edit")]
    assert plan.index('"submit"') < plan.index('"approve"'), plan  # submitted is still editable: on to approved
