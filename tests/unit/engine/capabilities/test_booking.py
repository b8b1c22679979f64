"""Capability `booking`: name checks, routes, and the generated app's own booking tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import booking

from . import _ops_specs as S

IDEAS = [S.kiln_studio, S.meeting_rooms]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_booking_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 13, run.output
    assert set(mine.values()) == {"passed"}, mine
    for abuse in ("test_overlapping_booking_is_refused_with_409", "test_moving_a_booking_into_another_is_refused",
                  "test_anonymous_and_unrelated_roles_are_refused", "test_concurrent_bookings_of_one_slot_store_one",
                  "test_concurrent_moves_into_one_slot_store_one", "test_overlong_and_far_future_bookings_are_refused",
                  "test_calendar_bounds_give_400_not_500", "test_postgres_gets_an_exclusion_constraint"):
        assert mine.get(abuse) == "passed", abuse
    # the whole project passes: the capability keeps the generic CRUD tests of its entities working
    assert all(v == "passed" for v in run.results.values()), run.output
    assert len(run.results) > len(mine)


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(S.kiln_studio())
    cap = spec.capabilities[0]
    routes = booking.routes(cap, spec)
    assert {r.path for r in routes} == {"/api/kiln_booking/week", "/api/kiln_booking/availability",
                                        "/api/kiln_booking/calendar.ics", "/kiln_booking/week", "/kiln_booking/"}
    for r in routes:
        assert r.roles == ["owner", "member"], r  # the roles that may read firings; viewer may not
    _, files = S.compile_spec(S.kiln_studio())
    import json
    declared = json.loads(files["app/spec.json"])["capabilities"][0]["routes"]
    assert len(declared) == 5
    # the initial migration adds the exclusion constraint on Postgres, as create_all does
    revision = files["migrations/versions/0001_initial.py"].decode()
    guard = "    if op.get_context().dialect.name in ('postgresql',):\n        op.execute("
    assert guard + "'CREATE EXTENSION IF NOT EXISTS btree_gist')" in revision
    assert guard + """'ALTER TABLE "firings" ADD CONSTRAINT "kiln_booking_no_overlap" EXCLUDE USING gist""" in revision


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(S.meeting_rooms())[1], S.compile_spec(S.meeting_rooms())[1]
    mine = [n for n in a if "room_calendar" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


@pytest.mark.parametrize("change, words", [
    ({"resource": "oven"}, ["'oven' is not an entity", "known entities"]),
    ({"resource_field": "oven_id"}, ["'oven_id' is not a field of 'firing'", "kiln_id"]),
    ({"start_field": "title"}, ["text field but must be datetime", "starts_at"]),
    ({"end_field": "starts_at"}, ["both 'starts_at'"]),
    ({"entity": "kiln", "resource": "kiln"}, ["differ"]),
])
def test_check_names_what_does_not_resolve(change, words):
    spec = AppSpec.model_validate(S.with_cap(S.kiln_studio(), **change))
    problems = booking.check(spec.capabilities[0], spec)
    assert problems, change
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("kiln_booking" in p for p in spec_problems(spec))


def test_check_wants_start_before_end_and_a_title_first():
    d = S.kiln_studio()
    firing = d["entities"][1]
    names = [f["name"] for f in firing["fields"]]
    i, j = names.index("starts_at"), names.index("ends_at")
    firing["fields"][i], firing["fields"][j] = firing["fields"][j], firing["fields"][i]
    spec = AppSpec.model_validate(d)
    assert any("before end_field" in p for p in booking.check(spec.capabilities[0], spec))


def _kiln_studio_limited(period: str, parent_field: str | None = "kiln_id") -> dict:
    """The kiln studio with a limit on its firings: at most one per kiln (or, without a parent field, per member)
    in each `period`."""
    d = S.kiln_studio()
    d["capabilities"].append({"kind": "limit", "id": "firing_cap", "label": f"One firing per kiln per {period}",
                              "entity": "firing", "max": 1, "period": period, "date_field": "starts_at",
                              **({"parent_field": parent_field} if parent_field else {"scope": "user"})})
    return d


def _overlap_criterion(spec_dict: dict) -> tuple[str, list[tuple[str, str, int]]]:
    """(the booking.no_overlap criterion's sentence, the (start HH:MM, end HH:MM, expected status) of its bookings)."""
    from shared.engine.appspec.model import Criterion
    from shared.engine.compiler import spec_with_routes
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = spec_with_routes(AppSpec.model_validate(spec_dict))
    cap = spec.capabilities[0]
    [crit] = DERIVE["booking"](cap, spec, None, cap.label)
    scenario = compile_criterion(spec, Criterion(id="c", text=crit["text"], template=crit["template"],
                                                 params=crit["params"]), cap.label)
    books = [(s["json"]["starts_at"][11:16], s["json"]["ends_at"][11:16], s["expect"]) for s in scenario["steps"]
             if s["method"] == "POST" and s["path"] == "/api/firings"]
    return crit["text"], books


def test_the_overlap_criterion_says_the_times_its_steps_book():
    """Under a limit of one firing per kiln a day the criterion's clock moves 12 hours on (the firing that starts
    when the first ends falls on the next day); its sentence says the moved times, not 10:00-12:00."""
    text, books = _overlap_criterion(_kiln_studio_limited("day"))
    assert books[:2] == [("22:00", "00:00", 201), ("23:00", "01:00", 409)]
    assert books[3] == ("00:00", "02:00", 201)
    assert text.startswith("When a kiln has a firing from 22:00 to 00:00, a second firing of the same kiln from "
                           "23:00 to 01:00 is refused; one from 00:00 to 02:00, or of another kiln at 23:00, is "
                           "accepted"), text
    for limited in (S.kiln_studio(), _kiln_studio_limited("week"), _kiln_studio_limited("day", None)):
        text, books = _overlap_criterion(limited)  # no daily limit per kiln: the times stay where they are
        assert books[0] == ("10:00", "12:00", 201) and "from 10:00 to 12:00, a second" in text, text


@pytest.mark.parametrize("period, days", [(None, ("2030-01-07", "2030-01-07")), ("day", ("2030-01-08", "2030-01-09")),
                                          ("week", ("2030-01-14", "2030-01-21")),
                                          ("month", ("2030-02-07", "2030-03-07"))])
def test_later_bookings_fall_a_period_of_the_limit_apart(period, days):
    """The days the generated booking tests put their later bookings on: the first day with no limit, else one and
    two periods of the limit on."""
    from shared.engine.capabilities._booking_slots import SampleSlots

    spec = AppSpec.model_validate(_kiln_studio_limited(period) if period else S.kiln_studio())
    slots = SampleSlots(spec, "firing")
    assert (slots.later_day(1), slots.later_day(2)) == days
    assert slots.limited == (period is not None)


def test_the_generated_booking_tests_take_their_days_from_the_sample_slots():
    _, files = S.compile_spec(_kiln_studio_limited("week"))
    text = files["tests/test_cap_kiln_booking.py"]
    text = text.decode() if isinstance(text, bytes) else text
    assert 'OTHER_DAY, THIRD_DAY = "2030-01-14", "2030-01-21"' in text and "LIMIT_GAP = 7" in text
