"""Capability `guard`: an act refused with 409 until a condition holds, planned from a founder's guard sentence and
built into an app whose own tests and acceptance criteria pass — a choir whose singers may not book a rehearsal room until
their membership fee is paid, a bakery whose sourdough loaves cannot be shipped until 3 days have passed since
they were proved, and a hand-written climbing-wall spec whose climbers may not book a lead session until every
skill of their checklist is signed."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def choir_idea():
    return {"id": "choir-scores", "title": "Choir score loans",
            "description": "A community choir lends printed scores to its singers.", "target_audience": "choir librarians",
            "key_features": ["Singers book a rehearsal room for a time slot",
                             "A singer who has not paid the membership fee cannot book a rehearsal room"]}


def bakery_idea():
    return {"id": "bakery-batches", "title": "Sourdough batches",
            "description": "A small bakery logs each batch of loaves with its bake date.", "target_audience": "bakers",
            "key_features": ["Batches with flour, hydration and bake date",
                             "A batch cannot be shipped until it has rested for at least 3 days"]}


def harbour_idea():
    return {"id": "harbour-voyages", "title": "Harbour voyages",
            "description": "A harbour office clears charter voyages and keeps each skipper's licences.",
            "target_audience": "harbour masters",
            "key_features": ["Skippers with name and phone", "Licences per skipper with type and expiry date",
                             "Voyages with departure date and skipper",
                             "A voyage cannot be cleared while the skipper's licence has expired"]}


def test_an_item_past_its_date_guards_a_move_of_the_record_that_points_at_its_owner():
    spec = plan_builtin(harbour_idea())
    t = _trace(spec, "cannot be cleared")
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert t.status == "planned", t
    assert (cap.entity, cap.on, cap.values, cap.test, cap.child_entity) == ("voyage", "transition", ["cleared"],
                                                                           "none_expired", "licence")
    assert spec.entity("voyage").field(cap.via_field).ref == "skipper"
    assert spec.entity("licence").field(cap.test_field).type == "date"


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def test_a_person_state_guards_the_record_they_make():
    spec = plan_builtin(choir_idea())
    t = _trace(spec, "has not paid")
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert t.capabilities == [cap.id] and t.status == "planned", t
    assert (cap.on, cap.test, cap.via_field) == ("create", "is_true", "singer_id")
    assert spec.entity("singer").field(cap.test_field).type == "boolean" and "paid" in cap.test_field


def test_a_date_and_the_stated_days_guard_a_move_to_a_status():
    spec = plan_builtin(bakery_idea())
    t = _trace(spec, "cannot be shipped")
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert t.status == "planned", t
    assert (cap.entity, cap.on, cap.values, cap.test, cap.days) == ("batch", "transition", ["shipped"],
                                                                    "days_since", 3)
    assert spec.entity("batch").field(cap.test_field).type == "date"


def test_a_noun_that_names_no_record_after_a_booking_verb_holds_back_one_kind():
    idea = {**choir_idea(), "key_features": ["Singers book a rehearsal room for a time slot",
                                             "A singer who has not paid the membership fee cannot book a solo "
                                             "audition"]}
    spec = plan_builtin(idea)
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert cap.where_field and cap.where_values == ["solo_audition"]
    f = spec.entity(cap.entity).field(cap.where_field)
    assert "solo_audition" in f.values and len(f.values) > 1  # another kind is not held back


def climbing_wall():
    climber = entity("climber", "climbers", [f("name", required=True)], display="name")
    skill = entity("skill", "skills", [f("title", required=True), f("signed", "boolean"),
                                       f("climber_id", "reference", ref="climber", required=True)])
    wall = entity("wall", "walls", [f("name", required=True)], display="name")
    session = entity("lead_session", "lead_sessions", [f("title", required=True),
                                                       f("style", "enum", values=["top_rope", "lead"]),
                                                       f("wall_id", "reference", ref="wall", required=True),
                                                       f("start_at", "datetime", required=True),
                                                       f("end_at", "datetime", required=True),
                                                       f("climber_id", "reference", ref="climber", required=True)])
    roles = [role("instructor", ["climber", "skill", "wall", "lead_session"], ["climber", "skill", "wall",
                                                                            "lead_session"]),
             role("visitor", ["lead_session"])]
    caps = [{"kind": "guard", "id": "lead_guard", "label": "No lead session until every skill is signed",
             "entity": "lead_session", "on": "create", "via_field": "climber_id", "test": "all_checked",
             "test_field": "signed", "child_entity": "skill", "child_link": "climber_id",
             "where_field": "style", "where_values": ["lead"]},
            {"kind": "booking", "id": "wall_booking", "label": "Book a wall for a lead session",
             "entity": "lead_session", "resource": "wall", "resource_field": "wall_id", "start_field": "start_at",
             "end_field": "end_at"}]
    return build("Lead Ready", "A climbing wall signs off skills before lead climbing.", [climber, skill, wall, session],
                 roles, caps, default_role="instructor")


def _built_spec(idea):
    from shared.engine.planner import plan_builtin as plan

    return plan(idea).model_dump(mode="json")


@pytest.mark.parametrize("make", [climbing_wall, lambda: _built_spec(bakery_idea()), lambda: _built_spec(choir_idea()),
                                  lambda: _built_spec(harbour_idea())],
                         ids=["checklist", "days", "person_flag", "expiry"])
def test_generated_guard_tests_and_criteria_pass(make):
    spec_dict = make()
    spec_dict["capabilities"] = [c for c in spec_dict["capabilities"] if c["kind"] == "guard"] + \
        [c for c in spec_dict["capabilities"] if c["kind"] != "guard"]
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    guarded = [c for ft in run.features for c in ft.get("criteria") or [] if "naming the rule" in c["text"]]
    assert guarded and all(c["passed"] for c in guarded), guarded


def climbing_idea(checklist_last: bool = False):
    """A climbing gym: each climber's safety checklist names its checks, and a lead climb waits until every check
    is ticked (the checklist feature may come before or after the guard)."""
    features = ["Climbers book a route for a time slot",
                "Safety checklist per climber: harness, knot, belay",
                "A climber cannot book a lead climb until every check is ticked"]
    if checklist_last:
        features = [features[0], features[2], features[1]]
    return {"id": "gym-lead", "title": "Lead ready", "description": "A climbing gym where climbers book walls.",
            "target_audience": "climbing gym staff", "key_features": features}


@pytest.mark.parametrize("checklist_last", [False, True], ids=["checklist_first", "checklist_after"])
def test_every_item_of_a_checklist_planned_per_the_subject_guards_with_that_checklist(checklist_last):
    spec = plan_builtin(climbing_idea(checklist_last))
    [ck] = [c for c in spec.capabilities if c.kind == "checklist"]
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert ck.entity == "climber" and ck.items == ["Harness", "Knot", "Belay"]
    assert (cap.test, cap.checklist, cap.child_entity) == ("checklist_done", ck.id, None)
    assert spec.entity(cap.entity).field(cap.via_field).ref == "climber" and cap.where_values == ["lead_climb"]
    assert spec.entity("check") is None  # the checks are the checklist's items, not records of their own
    assert _trace(spec, "cannot book a lead climb").status == "planned"


def test_every_item_of_a_checklist_that_is_not_the_subjects_keeps_child_records():
    idea = {**climbing_idea(), "key_features": ["Climbers book a route for a time slot",
                                                "Skills per climber with a signed flag",
                                                "A climber cannot book a lead climb until every skill is signed"]}
    spec = plan_builtin(idea)
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    assert (cap.test, cap.child_entity, cap.checklist) == ("all_checked", "skill", None)


def test_a_checklist_that_names_its_items_cannot_hold_back_every_record_made():
    idea = {**climbing_idea(), "key_features": ["Climbers book a route for a time slot",
                                                "Safety checklist per climber: harness, knot, belay",
                                                "A climber cannot book a route until every check is ticked"]}
    spec = plan_builtin(idea)
    t = _trace(spec, "cannot book a route")
    assert t.status != "planned" and not any(c.kind == "guard" for c in spec.capabilities), t


@pytest.mark.parametrize("checklist_last", [False, True], ids=["checklist_first", "checklist_after"])
def test_generated_checklist_guard_tests_and_criteria_pass(checklist_last):
    spec_dict = _built_spec(climbing_idea(checklist_last))
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    assert cap.test == "checklist_done"
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    assert mine.get("test_a_checklist_item_deleted_is_not_a_tick") == "passed", mine  # a named item stays owed
    assert all(v == "passed" for v in run.results.values()), run.output
    guarded = [c for ft in run.features for c in ft.get("criteria") or [] if "naming the rule" in c["text"]]
    assert guarded and all(c["passed"] for c in guarded), guarded
    feature = next(ft for ft in run.features if "cannot book a lead climb" in ft["feature"])
    assert feature["status"] == "built", feature


def test_the_person_held_back_cannot_meet_the_condition_nor_dodge_it_by_an_edit():
    """A singer (who changes only their own rows) cannot tick their own membership fee as paid — only staff set a
    field a guard reads (403 staff_only) — and a booking made for a paid-up singer cannot be re-pointed at one who
    has not paid (409): the generated tests prove both against the running app."""
    spec_dict = _built_spec(choir_idea())
    spec, files = S.compile_spec(spec_dict)
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    singer = spec.role("singer")
    assert singer is not None and singer.scope == "own" and cap.via_field, (singer, cap)
    meta = files["app/spec_data.py"].decode()
    assert '"staff_only": True' in meta
    run = S.qa(files)
    mine = run.of(f"test_cap_{cap.id}")
    wanted = [k for k in mine if "set_by_staff" in k or "moving_a_row" in k]
    assert len(wanted) == 2 and all(mine[k] == "passed" for k in wanted), (mine, run.output)


def grant_idea():
    return {"id": "grant-bids", "title": "Bid desk", "description": "A small charity prepares grant bids.",
            "target_audience": "charity fundraisers",
            "key_features": ["Grant bids with funder, amount and deadline",
                             "References per grant bid with referee name and date",
                             "Grant bids go from draft to submitted to decided",
                             "A grant bid cannot be marked submitted until two references are received"]}


def test_a_move_held_until_the_record_has_a_stated_number_of_others():
    """"A will can't be marked signed unless two witnesses are recorded" (17g probe: signed with none): the move to
    the named state is held until the record has that many of the records counted, which point at it."""
    spec = plan_builtin(grant_idea())
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    assert (cap.entity, cap.on, cap.values, cap.test, cap.count, cap.child_entity) == (
        "bid", "transition", ["submitted"], "count_at_least", 2, "reference")
    assert spec.entity("reference").field(cap.child_link).ref == "bid"
    assert spec.trace[3].status == "planned", spec.trace[3].not_built


def test_generated_count_guard_tests_and_criteria_pass():
    spec_dict = _built_spec(grant_idea())
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    cap = next(c for c in spec.capabilities if c.kind == "guard")
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    guarded = [c for ft in run.features for c in ft.get("criteria") or [] if "naming the rule" in c["text"]]
    assert guarded and all(c["passed"] for c in guarded), guarded
