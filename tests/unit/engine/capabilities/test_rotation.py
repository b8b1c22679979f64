"""Capability `rotation`: name checks, routes, and the generated app's own rotation tests in two domains
(round-robin with approved swaps and dates; least-loaded with immediate swaps)."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import rotation

from . import _ops_specs as S

IDEAS = [S.volunteer_shifts, S.chores]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_rotation_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    must = ["test_load_counts_each_members_work", "test_a_swap_exchanges_two_assignments_and_is_recorded",
            "test_bad_swaps_are_refused", "test_work_cannot_change_hands_through_the_generic_api",
            "test_anonymous_and_wrong_roles_are_refused", "test_abuse_only_the_holder_of_a_duty_may_swap_it"]
    must.append("test_round_robin_assigns_in_turn_and_continues" if cap.strategy == "round_robin"
                else "test_least_loaded_gives_work_to_whoever_has_least")
    if cap.swap_requires_role:
        must += ["test_only_the_approver_decides_swaps", "test_a_stale_swap_is_refused"]
    if cap.date_field:
        must.append("test_repeat_creates_dated_copies_and_assigns_them")
    for name in must:
        assert mine.get(name) == "passed", (name, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_swap_routes_follow_the_approval_setting():
    spec = AppSpec.model_validate(S.volunteer_shifts())
    routes = {(r.method, r.path): r.roles for r in rotation.routes(spec.capabilities[0], spec)}
    # the approver role, and the owner (manage_users: the app's superuser)
    assert routes[("POST", "/api/shift_rota/swaps/<int:swap_id>/approve")] == ["owner", "coordinator"]
    assert routes[("POST", "/api/shift_rota/swaps")] == ["owner", "coordinator", "volunteer"]  # readers may ask
    assert routes[("POST", "/api/shift_rota/assign")] == ["owner", "coordinator"]
    assert ("POST", "/api/shift_rota/repeat/<int:row_id>") in routes
    spec = AppSpec.model_validate(S.chores())
    routes = {(r.method, r.path): r.roles for r in rotation.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/chore_wheel/swaps")] == ["owner", "flatmate"]  # no approval: writers only
    assert not any("approve" in p for _m, p in routes)


@pytest.mark.parametrize("idea, change, words", [
    (S.volunteer_shifts, {"assignee_field": "title"}, ["text field but must be reference"]),
    (S.volunteer_shifts, {"assignee_field": "helper_id"}, ["'helper_id' is not a field of 'shift'", "volunteer_id"]),
    (S.volunteer_shifts, {"member_entity": "helper"}, ["member_entity 'helper' is not an entity"]),
    (S.volunteer_shifts, {"swap_requires_role": "manager"}, ["swap_requires_role 'manager' is not a role"]),
    (S.volunteer_shifts, {"date_field": "title"}, ["must be date or datetime"]),
    (S.chores, {"member_entity": "chore", "assignee_field": "flatmate_id"}, ["references 'flatmate'", "differ"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(rotation.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(rotation)" in p for p in spec_problems(spec))


def test_check_wants_work_that_can_start_unassigned():
    d = S.chores()
    d["entities"][1]["fields"][1]["required"] = True
    spec = AppSpec.model_validate(d)
    assert any("make the field optional" in p for p in rotation.check(spec.capabilities[0], spec))
