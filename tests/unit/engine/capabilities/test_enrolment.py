"""Capability `enrolment`: people sign themselves up for a record, once, cancel their own, a manager adds anyone,
a capacity refuses one more. Three domains: a rowing club's outings (a capacity field on the outing, a captain
who manages), a pottery school's courses (one number for every course, enforced here) and a ferry's crossings
(a `limit` on the same sign-ups enforces the number; the enrolment reads it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import enrolment

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def _join(name, plural, rec, person):
    return entity(name, plural, [f(f"{rec}_id", "reference", ref=rec, required=True),
                                 f(f"{person}_id", "reference", ref=person, required=True), f("note", "text")],
                  display="note")


def _m2m(spec, rec, person, join):
    spec["relations"].append({"kind": "many_to_many", "entity": rec, "target": person, "through": join})
    return spec


def rowing_outings():
    """Rowing club: the captain posts outings with a number of seats; rowers sign up for outings."""
    outing = entity("outing", "outings", [f("title", required=True), f("seats", "integer", min=0, max=40)])
    rower = entity("rower", "rowers", [f("name", required=True), f("email", "email")])
    join = _join("outing_rower", "outing_rowers", "outing", "rower")
    roles = [role("captain", ["outing", "rower", "outing_rower"], ["outing", "rower", "outing_rower"]),
             role("rower", ["outing", "rower", "outing_rower"], [], scope="own"),
             role("spectator", ["outing"])]
    caps = [{"kind": "enrolment", "id": "outing_places", "label": "Rowers sign up for outings up to the seats",
             "entity": "outing_rower", "record_field": "outing_id", "person_field": "rower_id",
             "person_email_field": "email", "max_field": "seats", "member_roles": ["rower"],
             "manager_roles": ["captain"]}]
    return _m2m(build("Oar Club", "A rowing club fills its outings.", [outing, rower, join], roles, caps,
                      default_role="rower"), "outing", "rower", "outing_rower")


def pottery_courses():
    """Pottery school: students enrol in courses, at most 3 students per course; the owner manages."""
    course = entity("course", "courses", [f("title", required=True), f("level", "enum", values=["new", "keen"])])
    student = entity("student", "students", [f("full_name", required=True), f("email", "email", required=True),
                                             f("phone", "phone")], display="full_name")
    join = _join("course_student", "course_students", "course", "student")
    roles = [role("student", ["course", "student", "course_student"], ["student"], scope="own")]
    caps = [{"kind": "enrolment", "id": "course_enrolment", "label": "Students enrol in a course, at most 3 each",
             "entity": "course_student", "record_field": "course_id", "person_field": "student_id",
             "person_email_field": "email", "max": 3}]
    return _m2m(build("Clay School", "A pottery school runs courses.", [course, student, join], roles, caps,
                      default_role="student"), "course", "student", "course_student")


def ferry_crossings():
    """Ferry: passengers book a place on a crossing; a limit holds no more than 2 passengers per crossing; the
    passengers' records need a date of birth, so a first booking cannot make one."""
    crossing = entity("crossing", "crossings", [f("title", required=True), f("departs_at", "datetime")])
    passenger = entity("passenger", "passengers", [f("name", required=True), f("email", "email"),
                                                   f("born_on", "date", required=True)])
    join = _join("crossing_passenger", "crossing_passengers", "crossing", "passenger")
    roles = [role("passenger", ["crossing", "crossing_passenger"], [], scope="own")]
    caps = [{"kind": "enrolment", "id": "crossing_places", "label": "Passengers book a place on a crossing",
             "entity": "crossing_passenger", "record_field": "crossing_id", "person_field": "passenger_id",
             "person_email_field": "email"},
            {"kind": "limit", "id": "crossing_limit", "label": "No more than 2 passengers per crossing",
             "entity": "crossing_passenger", "parent_field": "crossing_id", "max": 2}]
    return _m2m(build("Ferry Places", "A small ferry takes passengers.", [crossing, passenger, join], roles, caps,
                      default_role="passenger"), "crossing", "passenger", "crossing_passenger")


IDEAS = [rowing_outings, pottery_courses, ferry_crossings]


def test_the_ideas_check_clean():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], (idea.__name__, spec_problems(spec))


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_enrolment_tests_pass(idea):
    spec, files = S.compile_spec(idea())
    assert spec_problems(spec) == []
    cap = spec.capabilities[0]
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    for feature in run.features:  # every behaviour test and acceptance criterion passes (the limit's too)
        assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature["criteria"]
    mine = run.of(f"test_cap_{cap.id}")
    assert set(mine.values()) == {"passed"}, (mine, run.output[-3000:])
    for must in ("test_i_sign_up_once_and_a_second_sign_up_is_refused", "test_cancelling_my_sign_up_frees_the_place",
                 "test_another_persons_sign_up_is_not_mine_to_make_or_cancel", "test_a_manager_adds_and_removes_anyone",
                 "test_a_first_sign_up_needs_or_makes_my_person_record", "test_the_capacity_refuses_one_more",
                 "test_concurrent_sign_ups_never_go_over_the_capacity", "test_concurrent_sign_ups_of_one_person_count_once",
                 "test_roles_without_access_are_refused", "test_the_rules_hold_on_a_direct_write",
                 "test_page_lists_places_and_signs_up_with_the_form"):
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output
