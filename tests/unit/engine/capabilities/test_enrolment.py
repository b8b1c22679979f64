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
                 *(["test_concurrent_first_sign_ups_make_one_person_record"] if idea is not ferry_crossings else []),
                 "test_page_lists_places_and_signs_up_with_the_form"):
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_check_names_what_does_not_fit():
    cases = [
        (rowing_outings, {"entity": "sign_up"}, "sign-up entity 'sign_up' is not an entity"),
        (rowing_outings, {"person_email_field": "name"}, "rower.name is a text field but must be email"),
        (rowing_outings, {"max_field": "title"}, "outing.title is a text field but must be integer"),
        (rowing_outings, {"max": 4}, "set at most one of max"),
        (rowing_outings, {"manager_roles": ["boss"]}, "manager role 'boss' is not a role"),
        (rowing_outings, {"manager_roles": []}, "role 'captain' may write 'outing_rower' through the generic API"),
        (ferry_crossings, {"max": 5}, "limit 'crossing_limit' already holds the count"),
    ]
    for idea, change, words in cases:
        spec = AppSpec.model_validate(S.with_cap(idea(), **change))
        text = " | ".join(enrolment.check(spec.capabilities[0], spec))
        assert words in text, (change, text)
    d = pottery_courses()
    d["relations"] = []
    spec = AppSpec.model_validate(d)
    assert any("not the join (`through`) of a many_to_many relation" in p
               for p in enrolment.check(spec.capabilities[0], spec))


def test_the_capacity_is_the_enrolments_own_or_the_composing_limits():
    spec = AppSpec.model_validate(ferry_crossings())
    cap = spec.capabilities[0]
    assert enrolment.capacity(cap, spec) == (2, None, "crossing_limit")  # the limit enforces, the enrolment reads
    assert enrolment.describe_rule(cap, spec) == ("each passenger signs up for a crossing once, only as themselves "
                                                  "(managers may add anyone); at most 2 passengers per crossing")
    assert enrolment.person_fill(cap, spec) is None  # a passenger needs a date of birth: a manager adds them
    spec = AppSpec.model_validate(rowing_outings())
    assert enrolment.capacity(spec.capabilities[0], spec) == (None, "seats", "enrolment")
    assert enrolment.person_fill(spec.capabilities[0], spec) == ["name"]
    assert enrolment.roles_for_tests(spec.capabilities[0], spec)["member"] == "rower"
    assert enrolment.roles_for_tests(spec.capabilities[0], spec)["outsider"] == "spectator"


# ------------------------------------------------------------------------------------------------ criteria


def _run_criteria(spec, files: dict[str, bytes], tmp: Path) -> dict[str, dict]:
    from shared.engine.criteria import compile_all
    from shared.engine.stages.qa import CRITERIA_RUNNER

    scenarios, failed = compile_all(spec)
    assert scenarios and not failed, failed
    project = tmp / "project"
    for name, data in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(data)
    (tmp / "scenarios.json").write_text(json.dumps(scenarios), encoding="utf-8")
    run = subprocess.run([sys.executable, str(CRITERIA_RUNNER), str(project), str(tmp / "scenarios.json"),
                          str(tmp / "results.jsonl")], cwd=project, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp / "results.jsonl").read_text("utf-8").splitlines()]
    return {r["id"]: r for r in rows if "id" in r}


#: the line of the generated module that registers its rules' hook, and the join's unique pair in models.py
_HOOK = '@event.listens_for(Session, "before_flush")\n'
_PAIR = 'sa.UniqueConstraint("outing_id", "rower_id", name="uq_outing_rowers_outing_id_rower_id"),'
_MIGRATION = "pk_outing_rowers')),\n    sa.UniqueConstraint('outing_id', 'rower_id', name='uq_outing_rowers_outing_id_rower_id')"


@pytest.mark.parametrize("broken", [False, True])
def test_criteria_pass_on_the_built_app_and_fail_with_the_rules_removed(broken, tmp_path):
    from shared.engine.compiler import compile_project, default_design
    from shared.engine.criteria.certify import certify

    spec = certify(AppSpec.model_validate(rowing_outings()))
    t = spec.trace[0]
    assert [c.template for c in t.criteria] == ["enrolment.sign_up_once", "enrolment.not_others",
                                                "enrolment.capacity"]
    files = compile_project(spec, default_design(spec))
    if broken:  # no hook (own person, capacity, friendly duplicate) and no unique pair: every rule is gone
        module = files["app/capabilities/outing_places.py"].decode()
        models = files["app/models.py"].decode()
        migration = files["migrations/versions/0001_initial.py"].decode()
        assert _HOOK in module and _PAIR in models and _MIGRATION in migration
        files["app/capabilities/outing_places.py"] = module.replace(_HOOK, "").encode()
        files["app/models.py"] = models.replace(_PAIR, "").encode()
        files["migrations/versions/0001_initial.py"] = migration.replace(_MIGRATION, "pk_outing_rowers'))").encode()
    results = _run_criteria(spec, files, tmp_path)
    ids = [c.id for c in t.criteria]
    assert set(ids) <= set(results)
    if not broken:
        assert all(results[i]["passed"] for i in ids), results
        return
    details = {c.template: results[c.id] for c in t.criteria}
    assert not any(r["passed"] for r in details.values()), details
    assert "a second sign-up of the same person is refused" in details["enrolment.sign_up_once"]["detail"]
    assert "I may not cancel their place" in details["enrolment.not_others"]["detail"]
    assert "sign-up 3 is refused" in details["enrolment.capacity"]["detail"]


def test_a_stated_capacity_is_realised_only_with_its_own_number():
    from shared.engine.appspec.model import RuleReading
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(pottery_courses())
    cap = spec.capabilities[0]
    ok = RuleReading(category="limit", words="at most 3 students per course", number=3, nouns=["student", "course"])
    assert REALISES["enrolment"](cap, spec, ok, None)
    assert not REALISES["enrolment"](cap, spec, ok.model_copy(update={"number": 4, "words": "at most 4 students "
                                                                                            "per course"}), None)
    assert REALISES["enrolment"](cap, spec, RuleReading(category="uniqueness", words="only once"), None)
    assert not REALISES["enrolment"](cap, spec, RuleReading(category="uniqueness", words="once a week"), None)
    spec = AppSpec.model_validate(ferry_crossings())  # the limit holds the number there, and realises it itself
    rule = RuleReading(category="capacity", words="no more than 2 passengers", number=2, nouns=["passenger"])
    assert not REALISES["enrolment"](spec.capabilities[0], spec, rule, None)


# ------------------------------------------------------------------------------------------------ planner


def _plan(title, description, features):
    from shared.engine.planner import plan_builtin

    return plan_builtin({"title": title, "description": description, "key_features": features})


@pytest.mark.parametrize("title, description, features, record, person, number", [
    ("Birdwatch Trips", "A birding club runs boat tours.",
     ["Boat tours with date and harbour", "Birdwatchers book a spot on a boat tour"], "tour", "birdwatcher", None),
    ("Race Day", "A running club organises races.",
     ["Races with distance and start time", "Runners register for a race"], "race", "runner", None),
    ("Supper Club", "Hosts invite guests to dinners.",
     ["Dinners with menu and date", "Guests RSVP to a dinner"], "dinner", "guest", None),
    ("Maker Space", "A makerspace runs workshops.",
     ["Apprentices enrol in a workshop, at most 8 per workshop"], "workshop", "apprentice", 8),
    ("Group Rides", "A cycling club posts rides.",
     ["Rides with route and date", "Cyclists join a ride"], "ride", "cyclist", None),
    ("Ferry Hop", "An island ferry runs crossings.",
     ["Crossings with date and port", "Islanders reserve a seat on a crossing"], "crossing", "islander", None),
])
def test_sign_up_words_bind_to_an_enrolment_of_the_record(title, description, features, record, person, number):
    spec = _plan(title, description, features)
    [cap] = [c for c in spec.capabilities if c.kind == "enrolment"]
    assert (enrolment.record_entity(cap, spec), enrolment.person_entity(cap, spec)) == (record, person)
    assert cap.max == number
    assert spec.entity(person).field(cap.person_email_field).type == "email"
    names = {e.name for e in spec.entities}
    assert not names & {"seat", "spot", "place", "book", "join"}  # a unit of capacity, a verb: no records
    assert not [c for c in spec.capabilities if c.kind in ("booking", "assignment")]
    t = next(t for t in spec.trace if cap.id in t.capabilities)
    assert t.status == "planned", t.not_built
    assert spec.entity(record).field(f"{person}_id") is None  # many people per record, not one


def test_a_capacity_field_of_the_record_is_the_capacity():
    spec = _plan("Hike Hub", "A walking club posts hikes.",
                 ["Hikes with a date and a number of places", "Walkers sign up for a hike"])
    [cap] = [c for c in spec.capabilities if c.kind == "enrolment"]
    assert (cap.max, cap.max_field) == (None, "places")


def test_a_stated_capacity_elsewhere_composes_with_a_limit():
    spec = _plan("Kayak Club", "A kayak club runs paddles on the river.",
                 ["Paddles with date and launch point", "Paddlers sign up for a paddle",
                  "Each paddle takes no more than 6 paddlers"])
    [cap] = [c for c in spec.capabilities if c.kind == "enrolment"]
    [lim] = [c for c in spec.capabilities if c.kind == "limit"]
    assert (lim.entity, lim.parent_field, lim.max) == (cap.entity, cap.record_field, 6)
    assert cap.max is None and enrolment.capacity(cap, spec) == (6, None, lim.id)
    assert all(t.status == "planned" for t in spec.trace), [(t.feature, t.not_built) for t in spec.trace]


def test_booking_words_without_a_place_stay_bookings():
    spec = _plan("Court Time", "A tennis club.", ["Members book a court with start and end time"])
    assert [c.kind for c in spec.capabilities] == ["booking"]
    spec = _plan("Harbour", "A harbour master lets berths.", ["Owners book berths on a calendar"])
    assert [c.kind for c in spec.capabilities] == ["booking"] and spec.entity("berth") is not None


def test_members_sign_up_only_through_the_capability():
    spec = _plan("Race Day", "A running club organises races; marshals run them.",
                 ["Races with distance and start time", "Runners register for a race"])
    [cap] = [c for c in spec.capabilities if c.kind == "enrolment"]
    writers = [r.name for r in spec.roles if cap.entity in r.write]
    assert set(writers) <= {"owner", *cap.manager_roles}, writers
    assert enrolment.check(cap, spec) == []
