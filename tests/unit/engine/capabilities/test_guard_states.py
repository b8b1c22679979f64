"""Capability `guard` in the founder's other words: a linked record's state ("a launch can't be scheduled until its
hull survey is approved", "until the harbour master approves the hull survey"), a person's own expiry date
("volunteers whose DBS check has expired cannot book a shift") and a fee stated with its amount ("members can't enter
a quilt unless they've paid the £8 entry fee"): planned from the words, and built into an app whose own tests and
acceptance criteria pass."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def launch_idea(flow: bool = True, active: bool = False):
    """A boatyard: a launch waits for its hull survey; the surveys move through a workflow, or carry a status."""
    rule = ("A launch can't be scheduled until the harbour master approves the hull survey" if active
            else "A launch can't be scheduled until its hull survey is approved")
    features = ["Hull surveys with surveyor name and survey date",
                "Launches with boat name, launch date and hull survey", rule]
    if flow:
        features.insert(1, "Hull surveys go from requested to approved")
    return {"id": "slipway-launches", "title": "Slipway", "target_audience": "boatyard managers",
            "description": "A boatyard schedules boat launches from its slipway.", "key_features": features}


def rota_idea():
    return {"id": "shelf-rota", "title": "Shelf Rota", "description": "A food bank rosters volunteers onto shifts.",
            "target_audience": "food bank coordinators",
            "key_features": ["Volunteers book a shift slot at the warehouse",
                             "Volunteers whose DBS check has expired cannot book a shift"]}


def guild_idea():
    return {"id": "quilt-show", "title": "Quilt Show", "description": "A quilting guild runs its annual show.",
            "target_audience": "guild organisers",
            "key_features": ["Members enter quilts in the show with title and category",
                             "Members can't enter a quilt unless they've paid the £8 entry fee"]}


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def _guard(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    return cap


@pytest.mark.parametrize("flow,active", [(True, False), (False, False), (True, True)],
                         ids=["workflow_state", "status_field", "person_approves"])
def test_a_linked_records_state_guards_a_move_of_the_record_that_points_at_it(flow, active):
    spec = plan_builtin(launch_idea(flow, active))
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.values, cap.test, cap.test_values) == ("launch", "transition", ["scheduled"],
                                                                          "in_state", ["approved"])
    tested = spec.entity("launch").field(cap.via_field)
    assert tested.type == "reference" and tested.required and spec.entity(tested.ref).label.lower().endswith("survey")
    state = spec.entity(tested.ref).field(cap.test_field)
    assert state.type == "enum" and "approved" in state.values and len(state.values) > 1
    wf = next((c for c in spec.capabilities if c.kind == "workflow" and c.entity == tested.ref), None)
    assert (wf is not None and wf.state_field == cap.test_field) == flow
    assert _trace(spec, "can't be scheduled").status == "planned", _trace(spec, "can't be scheduled")


def test_a_persons_own_date_run_out_guards_the_record_they_make():
    spec = plan_builtin(rota_idea())
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.test) == ("shift", "create", "not_expired")
    person = spec.entity(spec.entity("shift").field(cap.via_field).ref)
    assert person.name == "volunteer" and person.field(cap.test_field).type == "date"
    assert "dbs" in cap.test_field and "expir" in cap.test_field
    assert _trace(spec, "has expired").status == "planned", _trace(spec, "has expired")


def test_unless_they_have_paid_reads_a_staff_set_yes_no_with_the_fee_amount():
    spec = plan_builtin(guild_idea())
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.test) == ("quilt", "create", "is_true")
    person = spec.entity(spec.entity("quilt").field(cap.via_field).ref)
    f = person.field(cap.test_field)
    assert person.name == "member" and f.type == "boolean" and "paid" in f.name and "8" not in f.name
    assert "£8" in f.label
    assert _trace(spec, "unless they've paid").status == "planned", _trace(spec, "unless they've paid")


def test_a_state_the_workflow_never_reaches_or_every_state_is_a_problem():
    from shared.engine.capabilities import guard as G

    spec = plan_builtin(launch_idea())
    cap = _guard(spec)
    every = spec.entity("survey").field(cap.test_field).values
    assert any("every value" in p for p in G.check(cap.model_copy(update={"test_values": list(every)}), spec))
    assert any("not values" in p for p in G.check(cap.model_copy(update={"test_values": ["sunk"]}), spec))
    assert any("starts" in p for p in G.check(cap.model_copy(update={"test_values": ["requested"]}), spec))
    assert any("go with in_state" in p for p in G.check(cap.model_copy(update={"test": "not_expired",
                                                                              "test_field": "survey_date"}), spec))


def _built(idea):
    return plan_builtin(idea).model_dump(mode="json")


@pytest.mark.parametrize("make,test", [(lambda: _built(launch_idea()), "in_state"),
                                       (lambda: _built(launch_idea(flow=False)), "in_state"),
                                       (lambda: _built(rota_idea()), "not_expired"),
                                       (lambda: _built(guild_idea()), "is_true")],
                         ids=["workflow_state", "status_field", "expiry", "fee"])
def test_generated_guard_tests_and_criteria_pass(make, test):
    spec_dict = make()
    spec, files = S.compile_spec(spec_dict)
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    assert cap.test == test, cap
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    guarded = [c for ft in run.features for c in ft.get("criteria") or [] if "naming the rule" in c["text"]]
    assert guarded and all(c["passed"] for c in guarded), guarded


def test_a_things_own_due_date_is_read_when_the_words_name_no_records_of_it():
    """"A glider whose annual inspection has expired cannot be flown": the glider's own next inspection date, kept by
    another feature, is the date that runs out (no date is added beside it), not its inspection records."""
    spec = plan_builtin({"id": "glider-club", "title": "Ridge Soar", "target_audience": "gliding club tug pilots",
                         "description": "A gliding club keeps its fleet airworthy.",
                         "key_features": ["A glider whose annual inspection has expired cannot be flown",
                                          "Gliders with registration, seats and next inspection date"]})
    cap = _guard(spec)
    glider = spec.entity("glider")
    assert (cap.entity, cap.on, cap.values, cap.test, cap.via_field) == ("glider", "transition", ["flown"],
                                                                        "not_expired", None)
    assert cap.test_field == "next_inspection_date", [f.name for f in glider.fields]
    assert [f.name for f in glider.fields if f.type == "date"] == ["next_inspection_date"]
