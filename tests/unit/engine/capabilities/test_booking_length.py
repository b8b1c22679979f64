"""Bookings of a stated length: "book hour-long slots", "for 45 minutes", "2-hour sessions", "for up to 3 hours".

The planner reads the length from the booking feature's words into the booking capability (`slot_minutes`, or
`max_minutes` for an upper bound); the reading records it as a duration rule the capability realises; a criterion
books the stated length (accepted) and other lengths (refused), and the generated app refuses any other length on
create and on edit, so QA certifies the feature only when that holds. Ideas in domains of their own.
"""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin
from shared.engine.planner.reading import rules_of

from . import _ops_specs as S


def _minutes(rule):
    from shared.engine.planner.reading import duration_minutes

    return duration_minutes(rule)


def _idea(key: str, description: str, features: list[str]) -> dict:
    return {"id": key, "title": key.replace("-", " ").title(), "description": description,
            "target_audience": "small venues", "key_features": features}


CLIMBING_WALL = _idea("belay-wall", "A climbing wall rents its auto-belay lanes by the slot.",
                      ["Climbers book a lane in hour-long slots"])
RECORDING_BOOTH = _idea("booth-hours", "A library lends its recording booth to local musicians.",
                        ["Musicians book the recording booth for 45 minutes"])
SAUNA = _idea("lake-sauna", "A lakeside sauna sells sessions to winter swimmers.",
              ["Guests book the sauna for 2-hour sessions"])
KAYAKS = _idea("paddle-shed", "A canoe club lends its kayaks to members.",
               ["Members reserve a kayak for up to 3 hours"])


def _booking(idea: dict):
    spec = plan_builtin(idea)
    cap = next(c for c in spec.capabilities if c.kind == "booking")
    return spec, cap


@pytest.mark.parametrize("idea, slot, most, words", [
    (CLIMBING_WALL, 60, None, "hour-long"),
    (RECORDING_BOOTH, 45, None, "for 45 minutes"),
    (SAUNA, 120, None, "2-hour"),
    (KAYAKS, None, 180, "for up to 3 hours"),
])
def test_the_planner_reads_the_length_of_a_booking(idea, slot, most, words):
    spec, cap = _booking(idea)
    assert (cap.slot_minutes, cap.max_minutes) == (slot, most), cap
    t = spec.trace[0]
    assert t.status == "planned", t.reason
    [rule] = [r for r in t.reading.rules if r.category == "duration"]
    assert rule.words == words
    index = t.reading.rules.index(rule)
    # realised by the booking and exercised by a criterion of its own: QA certifies it only when that passes
    [length] = [c for c in t.criteria if c.template == "booking.length"]
    assert length.rules == [index] and length.capability == cap.id
    assert not any(index in c.rules for c in t.criteria if c is not length)
    assert any(u.maps_to == f"rule:{index}" for u in t.reading.words)
    assert not [u.word for u in t.reading.words if u.maps_to == "unread"]


@pytest.mark.parametrize("text, minutes, at_most", [
    ("Divers book 90-minute dive slots", 90, False),
    ("Tutors run 45 min lessons", 45, False),
    ("Riders book a half-day trek", 720, False),
    ("Players book a court for an hour", 60, False),
    ("Painters book the kiln for half an hour", 30, False),
    ("Each fitting lasts 40 minutes", 40, False),
    ("Hikers rent a tent for two hours", 120, False),
    ("Writers book a desk for at most 4 hours", 240, True),
])
def test_a_length_is_read_in_the_ways_english_states_it(text, minutes, at_most):
    [rule] = rules_of(text, "duration")
    assert _minutes(rule) == (minutes, at_most), rule


@pytest.mark.parametrize("text, with_length, minutes", [
    # a quota, not one booking's length
    ("Each research team books at most 10 hours a week", "Each research team books 10-hour sessions", 600),
    # a window before the booking
    ("Bookings can be cancelled up to 4 hours before the dive", "Divers book the boat for 4 hours", 240),
    ("Send a reminder 2 hours before the session", "Each session lasts 2 hours", 120),
    # a unit alone is no length
    ("Guides lead day trips to the glacier", "Guides lead full-day trips to the glacier", 1440),
    # past one day: no sitting's length
    ("Members book a boat for 3 days", "Members book a boat for 3 hours", 180),
])
def test_a_quota_a_window_or_a_long_stay_is_no_length(text, with_length, minutes):
    assert [r for r in rules_of(text) if r.category == "duration"] == []
    [rule] = rules_of(with_length, "duration")
    assert _minutes(rule) == (minutes, False)


@pytest.mark.parametrize("idea", [CLIMBING_WALL, RECORDING_BOOTH, SAUNA, KAYAKS],
                         ids=lambda i: i["id"])
def test_the_app_holds_the_stated_length_and_qa_certifies_it(idea):
    spec, cap = _booking(idea)
    spec, files = S.compile_spec(spec.model_dump())
    form = files["app/spec_data.py"].decode()
    assert ("exactly" if cap.slot_minutes else "at most") + " " in form and "after_minutes" in form
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    wanted = ["test_the_form_and_the_schema_say_the_length"] + (
        ["test_a_booking_lasts_exactly_the_stated_length", "test_editing_a_booking_to_another_length_is_refused"]
        if cap.slot_minutes else ["test_a_booking_lasts_at_most_the_stated_length"])
    assert all(mine.get(name) == "passed" for name in wanted), mine
    assert any("a_role_that_may_not_book" in name for name in mine) or not any(
        r for r in spec.roles if cap.entity not in r.write), mine
    assert all(v == "passed" for v in run.results.values()), run.output
    [feature] = run.features
    length = [c for c in feature["criteria"] if "30 minutes longer is refused" in c["text"]]
    assert length and all(c["passed"] for c in length), feature["criteria"]
    assert feature["status"] == "built", feature
