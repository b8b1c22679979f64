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
