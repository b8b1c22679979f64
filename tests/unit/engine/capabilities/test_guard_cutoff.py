"""Capability `guard`, test `before_cutoff`: a cut-off before a time stored on a record ("entries close 24 hours
before a race's liberation time") planned from a founder's words and built into an app whose own tests and
acceptance criteria pass — a pottery studio whose bookings can be cancelled until 48 hours before the class starts,
a village bakery whose orders close 2 days before their (date-only) collection date, and an island ferry that sells
no tickets within 2 hours of a sailing's departure time."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def clay_idea():
    return {"id": "clay-classes", "title": "Clay classes", "description": "A pottery studio runs wheel classes and "
            "takes bookings.", "target_audience": "pottery studio staff",
            "key_features": ["Pottery classes with title, teacher and start time",
                             "Bookings with student name, email and class",
                             "Bookings can be cancelled until 48 hours before the class starts"]}


def loaf_idea():
    return {"id": "loaf-orders", "title": "Loaf orders", "description": "A village bakery takes orders for "
            "collection.", "target_audience": "bakers",
            "key_features": ["Orders with customer name, loaves and collection date",
                             "Orders close 2 days before their collection date"]}


def ferry_idea():
    return {"id": "ferry-tickets", "title": "Ferry tickets", "description": "An island ferry sells tickets for each "
            "sailing.", "target_audience": "ferry office staff",
            "key_features": ["Sailings with route, vessel and departure time",
                             "Tickets with passenger name and sailing",
                             "No tickets within 2 hours of a sailing's departure time"]}


def _guard(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "guard"]
    return cap


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def test_a_cancel_window_before_the_named_record_starts():
    spec = plan_builtin(clay_idea())
    cap = _guard(spec)
    assert (cap.on, cap.values, cap.test, cap.hours) == ("transition", ["cancelled"], "before_cutoff", 48)
    assert spec.entity(cap.entity).field(cap.via_field).ref != cap.entity
    tested = spec.entity(spec.entity(cap.entity).field(cap.via_field).ref)
    assert tested.field(cap.test_field).type == "datetime" and "start" in cap.test_field
    assert _trace(spec, "cancelled until").status == "planned"


def test_orders_close_days_before_their_own_date():
    spec = plan_builtin(loaf_idea())
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.via_field, cap.test, cap.hours) == ("order", "create", None, "before_cutoff", 48)
    assert spec.entity("order").field(cap.test_field).type == "date" and cap.test_field == "collection_date"
    assert spec.entity("order").field("hours") is None and spec.entity("order").field("day") is None
    assert _trace(spec, "Orders close").status == "planned"


def test_no_records_within_a_span_of_a_possessed_time():
    spec = plan_builtin(ferry_idea())
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.test, cap.hours, cap.test_field) == ("ticket", "create", "before_cutoff", 2,
                                                                         "departure_time")
    assert spec.entity("ticket").field(cap.via_field).ref == "sailing"
    assert spec.entity("ticket").field(cap.via_field).required
    assert spec.entity("ticket").field("hours") is None
    t = _trace(spec, "No tickets")
    assert t.status == "planned", t


def test_a_missing_record_and_time_are_added_and_no_hours_field():
    """ "Entries close 24 hours before a dive's briefing time": the dive is a record with a briefing time, each
    entry points at one; the span is the rule's, not a field."""
    idea = {"id": "reef-dives", "title": "Reef dives", "description": "A dive club lists entries for its dives.",
            "target_audience": "dive club members",
            "key_features": ["Entries with diver name and certification level",
                             "Entries close 24 hours before a dive's briefing time"]}
    spec = plan_builtin(idea)
    cap = _guard(spec)
    assert (cap.entity, cap.on, cap.hours, cap.test_field) == ("entry", "create", 24, "briefing_time")
    assert spec.entity("dive").field("briefing_time").type == "datetime"
    assert spec.entity("entry").field(cap.via_field).ref == "dive"
    assert spec.entity("entry").field("hours") is None


def test_the_reading_time_window_is_realised_by_the_guard():
    spec = plan_builtin(ferry_idea())
    t = _trace(spec, "No tickets")
    windows = [r for r in t.reading.rules if r.category == "time_window"]
    assert windows, t.reading
    from shared.engine.criteria.k_guard import _realises_guard

    cap = _guard(spec)
    assert all(_realises_guard(cap, spec, r, t.reading) for r in windows)
    other = cap.model_copy(update={"hours": 3})
    assert not any(_realises_guard(other, spec, r, t.reading) for r in windows)


@pytest.mark.parametrize("make", [clay_idea, loaf_idea, ferry_idea], ids=["cancel_window", "own_date", "within"])
def test_generated_cutoff_tests_and_criteria_pass(make):
    spec_dict = plan_builtin(make()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    cap = _guard(spec)
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    assert mine.get("test_the_cutoff_is_exactly_the_stated_span") == "passed", mine
    assert all(v == "passed" for v in run.results.values()), run.output
    guarded = [c for ft in run.features for c in ft.get("criteria") or [] if "naming the rule" in c["text"]]
    assert guarded and all(c["passed"] for c in guarded), guarded
    assert any(f"{cap.hours - 1} hours away" in c["text"] for c in guarded), guarded
    feature = next(ft for ft in run.features if ft["feature"] == make()["key_features"][-1])
    assert feature["status"] == "built", feature
