"""A limit on the sum of a number field (decision 0077), read from a founder's words and built into an app whose own
tests and acceptance criteria pass: a boat trip that holds at most 12 passengers where each booking has a group
size, a copy-editor who takes no more than 20,000 words a week, a rehearsal studio where each band books at most 6
hours a week. Places reused over time, booked time from a start to an end and a minimum stay honestly not built."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def boat_idea():
    return {"id": "bay-boat-trips", "title": "Bay boat trips", "target_audience": "skippers",
            "description": "A skipper runs sightseeing boat trips around the bay.",
            "key_features": ["Trips with departure date and route",
                             "Bookings per trip with group size and contact name",
                             "Each trip holds at most 12 passengers"]}


def copy_idea():
    return {"id": "copy-desk", "title": "Copy desk", "target_audience": "managing editors",
            "description": "A publisher hands manuscripts to freelance copy-editors.",
            "key_features": ["Copy-editors with name and email",
                             "Jobs per copy-editor with manuscript title and due date",
                             "A copy-editor takes no more than 20,000 words a week"]}


def studio_idea():
    return {"id": "rehearsal-rooms", "title": "Rehearsal rooms", "target_audience": "studio managers",
            "description": "A rehearsal studio rents its rooms to local bands.",
            "key_features": ["Bands with name and contact email",
                             "Sessions with band, date and hours",
                             "Each band books at most 6 hours a week"]}


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def _limit(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "limit"]
    return cap


def test_people_are_the_sum_of_the_group_sizes_of_the_bookings():
    spec = plan_builtin(boat_idea())
    cap = _limit(spec)
    assert (cap.entity, cap.parent_field, cap.max, cap.sum_field, cap.period) == ("booking", "trip_id", 12,
                                                                                  "group_size", None)
    assert _trace(spec, "12 passengers").status == "planned", _trace(spec, "12 passengers")
    assert spec.entity("passenger") is None  # the passengers are the group sizes, no record of their own
    size = spec.entity("booking").field("group_size")
    assert (size.min, size.max) == (0, 12)  # never negative, and one booking alone fits


def test_words_a_week_add_a_word_count_to_the_records_of_the_person():
    spec = plan_builtin(copy_idea())
    cap = _limit(spec)
    assert (cap.entity, cap.parent_field, cap.max, cap.sum_field, cap.period) == ("job", "copy_editor_id", 20000,
                                                                                  "word_count", "week")
    f = spec.entity("job").field("word_count")
    assert f.type == "integer" and f.required and f.max == 20000
    assert spec.entity("job").field(cap.date_field).type == "date"
    assert spec.entity("word") is None
    assert _trace(spec, "20,000 words").status == "planned", _trace(spec, "20,000 words")


def test_hours_a_week_are_the_sum_of_the_hours_the_sessions_carry():
    spec = plan_builtin(studio_idea())
    cap = _limit(spec)
    assert (cap.parent_field, cap.max, cap.sum_field, cap.period) == ("band_id", 6, "hours", "week")
    assert spec.entity(cap.entity).label == "Session"
    t = _trace(spec, "6 hours a week")
    assert t.status == "planned" and t.capabilities == [cap.id], t
    assert not [c for c in spec.capabilities if c.kind == "booking"]  # "books" caps hours; no slot is booked


def test_a_count_of_rows_does_not_realise_an_amount_the_rows_carry():
    """ "at most 12 passengers" counted as 12 bookings (each with a group size) is not the rule."""
    from shared.engine.appspec.model import AppSpec
    from shared.engine.criteria.certify import certify

    d = plan_builtin(boat_idea()).model_dump(mode="json")
    at = next(i for i, t in enumerate(d["trace"]) if "12 passengers" in t["feature"])
    assert certify(AppSpec.model_validate(d)).trace[at].status == "planned"
    next(c for c in d["capabilities"] if c["kind"] == "limit")["sum_field"] = None
    assert certify(AppSpec.model_validate(d)).trace[at].status == "partial"


def test_people_on_a_place_reused_over_time_are_not_summed_for_good():
    spec = plan_builtin({"id": "bunk-barn", "title": "Bunk barn", "target_audience": "hostel wardens",
                         "description": "A bunk barn lets rooms to walkers.",
                         "key_features": ["Walkers book a dorm for a stay with arrival date and party size",
                                          "Each dorm holds no more than 8 people"]})
    t = _trace(spec, "8 people")
    assert t.status == "not_covered" and "come and go" in t.reason, t
    assert not [c for c in spec.capabilities if c.kind == "limit"]


def test_booked_time_from_a_start_to_an_end_is_not_summed_yet():
    spec = plan_builtin({"id": "kiln-hire", "title": "Kiln hire", "target_audience": "pottery studios",
                         "description": "A pottery studio hires out its kiln.",
                         "key_features": ["Potters book the kiln for a slot with start and end time",
                                          "Each potter books at most 4 hours a week"]})
    t = _trace(spec, "4 hours a week")
    assert t.status == "not_covered" and "booked time" in t.reason, t


def test_a_minimum_is_not_a_limit():
    spec = plan_builtin({"id": "flour-mill", "title": "Flour mill orders", "target_audience": "millers",
                         "description": "A flour mill sells sacks of flour to bakeries.",
                         "key_features": ["Orders with bakery name and delivery date",
                                          "Bakeries order flour with a minimum of 25 kg per order"]})
    t = _trace(spec, "minimum of 25 kg")
    assert "minimum, not a limit" in (t.reason or ""), t
    assert not [c for c in spec.capabilities if c.kind == "limit"]


@pytest.mark.parametrize("idea", [boat_idea, copy_idea, studio_idea], ids=["people", "words", "hours"])
def test_generated_sum_tests_and_criteria_pass(idea):
    spec_dict = plan_builtin(idea()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    assert cap.sum_field
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert {"test_the_last_place_is_taken_and_one_more_is_refused", "test_the_sum_is_limited_not_the_count",
            "test_other_parents_are_unaffected", "test_concurrent_writers_never_go_over_the_limit",
            "test_roles_without_access_are_refused", "test_moving_a_row_into_a_full_parent_is_refused"} <= set(mine)
    assert set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    feature = next(f for f in run.features if f["feature"] == idea()["key_features"][-1])
    assert feature["status"] == "built", feature
    ruled = [c for c in feature["criteria"] if c["text"].startswith('"')]  # the founder's rule, quoted
    assert ruled and all(c["passed"] for c in feature["criteria"]), feature["criteria"]
    assert any(spec.entity(cap.entity).field(cap.sum_field).label.lower() in c["text"].lower() for c in ruled), ruled
