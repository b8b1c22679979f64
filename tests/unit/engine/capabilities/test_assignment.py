"""Capability `assignment`: name checks, routes, rules it realises, and the generated app's own tests in three
domains — technicians on work orders (start and end datetimes, a people entity linked by email), tour guides
(a date plus a number of days, the guide's sign-in email on the tour) and home-care visits (a datetime plus
minutes, at most two visits at once per carer)."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec.model import AppSpec, FeatureReading, RuleReading, WordUse, spec_problems
from shared.engine.capabilities import assignment

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def field_service():
    """Dispatchers assign technicians to work orders; a technician may not list work orders, only their own."""
    tech = entity("technician", "technicians", [f("full_name", required=True), f("email", "email", required=True)],
                  display="full_name")
    order = entity("work_order", "work_orders", [
        f("title", required=True, max=120), f("technician_id", "reference", ref="technician"),
        f("starts_at", "datetime", required=True), f("ends_at", "datetime", required=True),
        f("address", "text")])
    roles = [role("dispatcher", ["technician", "work_order"], ["technician", "work_order"]),
             role("client", ["work_order"]), role("technician", [])]
    caps = [{"kind": "assignment", "id": "dispatch", "label": "Dispatchers assign technicians to work orders",
             "entity": "work_order", "person_field": "technician_id", "login_field": "email",
             "start_field": "starts_at", "end_field": "ends_at", "roles": ["dispatcher"]}]
    return build("Fix Fleet", "A repair company dispatches technicians to work orders.", [tech, order], roles, caps,
                 default_role="technician")


def tour_guides():
    """Coordinators give each tour a guide (by sign-in email); a tour starts on a date and lasts some days."""
    tour = entity("tour", "tours", [
        f("name", required=True), f("guide_email", "email"), f("starts_on", "date", required=True),
        f("days", "integer", required=True, min=1, max=14), f("group_size", "integer", min=1, max=40)])
    roles = [role("coordinator", ["tour"], ["tour"]), role("guide", ["tour"])]
    caps = [{"kind": "assignment", "id": "guiding", "label": "Coordinators assign a guide to each tour",
             "entity": "tour", "person_field": "guide_email", "start_field": "starts_on",
             "duration_field": "days", "duration_unit": "days"}]
    return build("Trail Desk", "A walking-tour company plans multi-day tours.", [tour], roles, caps,
                 default_role="guide")


def care_visits():
    """Home care: coordinators book carers onto client visits; a carer may hold two visits at once (a shared
    household)."""
    carer = entity("carer", "carers", [f("name", required=True), f("login_email", "email")])
    visit = entity("visit", "visits", [
        f("client_name", required=True), f("carer_id", "reference", ref="carer", required=True),
        f("starts", "datetime", required=True), f("minutes", "integer", required=True, min=15, max=240),
        f("notes", "long_text")], display="client_name")
    roles = [role("coordinator", ["carer", "visit"], ["carer", "visit"]), role("carer", ["visit"]),
             role("family", ["carer"])]
    caps = [{"kind": "assignment", "id": "rostering", "label": "A carer holds at most 2 visits at a time",
             "entity": "visit", "person_field": "carer_id", "login_field": "login_email", "start_field": "starts",
             "duration_field": "minutes", "duration_unit": "minutes", "max_concurrent": 2}]
    return build("Care Round", "A home-care agency schedules carers' visits.", [carer, visit], roles, caps,
                 default_role="carer")


IDEAS = [field_service, tour_guides, care_visits]


def test_each_domain_spec_has_no_problems():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], (idea.__name__, spec_problems(spec))


@pytest.mark.parametrize("idea, change, words", [
    (field_service, {"entity": "job"}, ["assigned entity 'job' is not an entity"]),
    (field_service, {"person_field": "title"}, ["text field but must be reference or email"]),
    (field_service, {"login_field": None}, ["set login_field", "['email']"]),
    (field_service, {"login_field": "full_name"}, ["login_field technician.full_name is a text field"]),
    (field_service, {"end_field": None}, ["needs its end"]),
    (field_service, {"end_field": "address"}, ["end_field work_order.address is a text field"]),
    (field_service, {"duration_field": "title"}, ["set end_field or duration_field, not both", "must be integer"]),
    (field_service, {"roles": ["client"]}, ["'client' may not write 'work_order'", "['dispatcher'] may write"]),
    (field_service, {"roles": ["boss"]}, ["assigning role 'boss' is not a role"]),
    (field_service, {"start_field": "ends_at", "end_field": "starts_at"}, ["list start_field 'ends_at' before"]),
    (tour_guides, {"duration_unit": "hours"}, ["duration_unit must be 'days'"]),
    (tour_guides, {"login_field": "name"}, ["already the person's sign-in email"]),
    (tour_guides, {"duration_field": "group_size", "start_field": "name"}, ["start_field tour.name is a text"]),
    (care_visits, {"duration_field": "notes"}, ["duration_field visit.notes is a long_text field"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(assignment.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(assignment)" in p for p in spec_problems(spec)), spec_problems(spec)


def test_check_wants_a_bounded_positive_duration():
    d = care_visits()
    d["entities"][1]["fields"][3].update(min=None, max=None)
    spec = AppSpec.model_validate(d)
    text = " | ".join(assignment.check(spec.capabilities[0], spec))
    assert "needs a max" in text and "needs a min above 0" in text


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(field_service())
    routes = {(r.method, r.path): r.roles for r in assignment.routes(spec.capabilities[0], spec)}
    assert set(routes) == {("GET", "/api/dispatch/mine"), ("GET", "/api/dispatch/availability"),
                           ("GET", "/dispatch/")}
    assert routes[("GET", "/api/dispatch/mine")] == ["owner", "dispatcher", "client", "technician"]
    assert routes[("GET", "/api/dispatch/availability")] == ["owner", "dispatcher", "client"]
    _, files = S.compile_spec(field_service())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == 3


def test_compiling_twice_gives_the_same_bytes():
    for idea in IDEAS:
        a, b = S.compile_spec(idea())[1], S.compile_spec(idea())[1]
        cap = idea()["capabilities"][0]["id"]
        mine = [n for n in a if cap in n]
        assert len(mine) == 3
        assert all(a[n] == b[n] for n in mine)


def test_the_windows_the_tests_use_fit_the_fields():
    spec = AppSpec.model_validate(tour_guides())
    w = assignment.sample_windows(spec.capabilities[0], spec)
    assert w["first"] == {"starts_on": "2030-01-15", "days": 2}
    assert w["overlap"]["starts_on"] == "2030-01-16" and w["touch"]["starts_on"] == "2030-01-17"
    assert w["bad"] is None
    spec = AppSpec.model_validate(care_visits())
    w = assignment.sample_windows(spec.capabilities[0], spec)
    assert w["first"] == {"starts": "2030-01-15T09:00:00Z", "minutes": 90}
    assert w["touch"]["starts"] == "2030-01-15T10:30:00Z" and len(w["stack"]) == 3
    spec = AppSpec.model_validate(field_service())
    w = assignment.sample_windows(spec.capabilities[0], spec)
    assert w["bad"] == {"starts_at": "2030-01-15T11:00:00Z", "ends_at": "2030-01-15T09:00:00Z"}
    assert assignment.describe_rule(spec.capabilities[0], spec) == \
        "one technician holds at most 1 work order at a time"


# ---------------------------------------------------------------------------------------------- criteria


def _realises(idea, reading=None, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(idea())
    return REALISES["assignment"](spec.capabilities[0], spec, RuleReading(**rule), reading)


def test_a_rule_is_realised_only_with_its_own_number_and_nouns():
    assert _realises(field_service, category="exclusivity", words="only one work order at a time",
                     nouns=["work order"])
    assert _realises(field_service, category="block", words="cannot be double-booked", nouns=["technician"])
    assert _realises(field_service, category="limit", words="one job at a time", number=1, nouns=["technician"])
    assert not _realises(field_service, category="limit", words="at most 3 work orders at a time", number=3,
                         nouns=["work order"])  # three at once, not one
    assert not _realises(field_service, category="limit", words="at most 1 work order per client", number=1,
                         nouns=["work order", "client"])  # not about overlapping times
    assert not _realises(field_service, category="time_window", words="within 2 hours", number=2, unit="hours")
    assert not _realises(field_service, category="exclusivity", words="only one invoice at a time",
                         nouns=["invoice", "tour"])  # another record
    assert _realises(care_visits, category="limit", words="at most 2 visits at a time", number=2, nouns=["visit"])
    assert not _realises(care_visits, category="limit", words="at most 3 visits at a time", number=3,
                         nouns=["visit"])
    assert _realises(tour_guides, category="uniqueness", words="never two overlapping tours", number=2,
                     nouns=["tour"]) is False  # "two" overlapping is what is refused, the number is not a cap
    assert _realises(tour_guides, category="block", words="no guide is booked on overlapping tours",
                     nouns=["guide", "tour"])


def test_derived_criteria_name_the_rule_and_compile():
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = AppSpec.model_validate(care_visits())
    cap = spec.capabilities[0]
    reading = FeatureReading(record="visit", rules=[RuleReading(category="limit", words="at most 2 visits at a time",
                                                                number=2, nouns=["visit"])],
                             words=[WordUse(word="at", maps_to="rule:0")])
    out = DERIVE["assignment"](cap, spec, reading, cap.label)
    assert [c["template"] for c in out] == ["assignment.no_overlap", "assignment.mine"]
    assert out[0]["rules"] == [0] and "3rd" in out[0]["text"] and "carer" in out[0]["text"]
    for c in out:
        sc = compile_criterion(spec, Criterion(id="c", **c), cap.label)
        assert sc["steps"] and all(s["expect"] for s in sc["steps"])
    statuses = [s["expect"] for s in compile_criterion(spec, Criterion(id="c", **out[0]), cap.label)["steps"]]
    assert statuses.count(409) == 2 and 403 in statuses and 401 in statuses


# ---------------------------------------------------------------------------------------------- the app


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_assignment_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 10, run.output
    assert set(mine.values()) == {"passed"}, mine
    for must in ("test_an_overlapping_assignment_is_refused_and_names_the_clash",
                 "test_concurrent_assigners_store_at_most_the_allowed", "test_my_assignments_in_time_order",
                 "test_roles_without_access_are_refused", "test_an_end_before_the_start_is_refused",
                 "test_moving_an_assignment_onto_a_clash_is_refused"):
        assert mine.get(must) == "passed", (must, mine)
    # the whole project passes: the rule keeps the generic CRUD tests of its entities working
    assert all(v == "passed" for v in run.results.values()), run.output
    assert len(run.results) > len(mine)


def piano_tuning():
    """A planned idea whose first role that may write the assigned records reads only its own rows (customers,
    who see only the tuners they made): the generated tests and criteria assign as a role that sees every
    tuner."""
    return {"id": "piano-tuning", "title": "TuneRound", "description": "A piano shop sends tuners to customers' homes.",
            "target_audience": "piano shops",
            "key_features": ["Tuners with name, phone and van registration",
                             "Customers request tunings with home address and tuning time",
                             "A scheduler assigns a tuner to each tuning, never two overlapping tunings",
                             "Tuners see only the tunings assigned to them"]}


def test_the_tests_assign_as_a_role_that_sees_the_people():
    from shared.engine.planner import plan_builtin

    spec = plan_builtin(piano_tuning())
    [cap] = [c for c in spec.capabilities if c.kind == "assignment"]
    scoped = [r.name for r in spec.roles if cap.entity in r.write and {"tuner", cap.entity} & set(r.read_own)]
    assert scoped, spec.roles  # a role that may assign, yet sees only its own tuners
    assert assignment.test_assigner(cap, spec) not in scoped
    _spec, files = S.compile_spec(spec.model_dump(mode="json"))
    run = S.qa(files)
    mine = run.of(f"test_cap_{cap.id}")
    assert len(mine) >= 10 and set(mine.values()) == {"passed"}, (mine, run.output)
    criteria = [c for ft in run.features if ft["feature"] == cap.label for c in ft.get("criteria") or []]
    assert len(criteria) == 2 and all(c["passed"] for c in criteria), criteria
