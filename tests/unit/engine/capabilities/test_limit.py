"""Capability `limit` (issue 17, rules as capabilities): name checks, routes, and the generated app's own limit
tests in four domains — a count with a status filter (library loans), a per-parent field (restaurant tables and
their capacity), a sum per calendar month (climbing hours) and a count per week of a date (yoga classes)."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec.model import AppSpec, RuleReading, spec_problems
from shared.engine.capabilities import limit

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def library_loans():
    """School library: at most 3 active loans per student; returned loans do not count."""
    student = entity("student", "students", [f("full_name", required=True), f("grade", "integer", min=1, max=12)])
    book = entity("book", "books", [f("title", required=True), f("isbn", "text", unique=True)])
    loan = entity("loan", "loans", [
        f("note", required=True), f("student_id", "reference", ref="student", required=True),
        f("book_id", "reference", ref="book", required=True),
        f("status", "enum", values=["active", "returned", "lost"], default="active"), f("due_on", "date")])
    roles = [role("librarian", ["student", "book", "loan"], ["student", "book", "loan"]),
             role("teacher", ["student", "book", "loan"]), role("visitor", ["book"])]
    caps = [{"kind": "limit", "id": "loan_cap", "label": "At most 3 active loans per student",
             "entity": "loan", "parent_field": "student_id", "max": 3, "where_field": "status",
             "where_values": ["active"]}]
    return build("Shelf Help", "A school library lends books to students.", [student, book, loan], roles, caps)


def restaurant_tables():
    """Restaurant: each table seats up to its own capacity; hosts seat guests, waiters read."""
    table = entity("dining_table", "dining_tables", [f("label", required=True, unique=True),
                                                     f("capacity", "integer", required=True, min=1, max=12)],
                   display="label")
    guest = entity("guest", "guests", [f("guest_name", required=True),
                                       f("dining_table_id", "reference", ref="dining_table", required=True),
                                       f("allergies", "long_text")], display="guest_name")
    roles = [role("host", ["dining_table", "guest"], ["guest"]), role("waiter", ["dining_table", "guest"]),
             role("cook", ["dining_table"])]
    caps = [{"kind": "limit", "id": "seating", "label": "Each table seats up to its capacity",
             "entity": "guest", "parent_field": "dining_table_id", "max_field": "capacity"}]
    return build("Table Plan", "A restaurant seats guests at its tables.", [table, guest], roles, caps)


def climbing_hours():
    """Climbing gym: a member books at most 20 hours a month (the sum of session hours per calendar month)."""
    member = entity("member", "members", [f("name", required=True), f("email", "email", unique=True)])
    session = entity("climb_session", "climb_sessions", [
        f("title", required=True), f("member_id", "reference", ref="member", required=True),
        f("starts_at", "datetime", required=True), f("hours", "decimal", required=True, min=0.5, max=8)])
    roles = [role("coach", ["member", "climb_session"], ["member", "climb_session"]),
             role("climber", ["climb_session"], [])]
    caps = [{"kind": "limit", "id": "monthly_hours", "label": "A member books at most 20 hours a month",
             "entity": "climb_session", "parent_field": "member_id", "max": 20, "sum_field": "hours",
             "period": "month", "date_field": "starts_at"}]
    return build("Crag Hours", "A climbing gym where members book coached sessions.", [member, session], roles, caps)


def yoga_bookings():
    """Yoga studio: a member books at most 2 classes a week; cancelled bookings do not count (a date field)."""
    member = entity("yogi", "yogis", [f("nickname", required=True)])
    booking = entity("class_booking", "class_bookings", [
        f("class_name", required=True), f("yogi_id", "reference", ref="yogi", required=True),
        f("class_day", "date", required=True), f("state", "enum", values=["booked", "cancelled"], default="booked")],
        display="class_name")
    roles = [role("yogi", ["yogi", "class_booking"], ["class_booking"], scope="own"), role("teacher", ["yogi"])]
    caps = [{"kind": "limit", "id": "weekly_classes", "label": "A member books at most 2 classes a week",
             "entity": "class_booking", "parent_field": "yogi_id", "max": 2, "period": "week",
             "date_field": "class_day", "where_field": "state", "where_values": ["booked"]}]
    return build("Mat Time", "A yoga studio where members book classes.", [member, booking], roles, caps)


def swim_lanes():
    """Swimming pool: each swimmer has at most 2 booked swim sessions a day (per user who books them, not per
    record); cancelled sessions do not count. Swimmers may change only their own sessions."""
    lane = entity("lane", "lanes", [f("lane_name", required=True), f("depth", "decimal", min=0.5, max=5)])
    swim = entity("swim_session", "swim_sessions", [
        f("purpose", required=True), f("lane_id", "reference", ref="lane", required=True),
        f("swim_day", "date", required=True), f("state", "enum", values=["booked", "cancelled"], default="booked")],
        display="purpose")
    roles = [role("swimmer", ["lane"], ["swim_session"], scope="own"), role("lifeguard", ["lane", "swim_session"]),
             role("visitor", ["lane"])]
    caps = [{"kind": "limit", "id": "daily_swims", "label": "Each swimmer has at most 2 booked swim sessions a day",
             "entity": "swim_session", "scope": "user", "max": 2, "period": "day", "date_field": "swim_day",
             "where_field": "state", "where_values": ["booked"]}]
    return build("Lane Line", "A swimming pool where swimmers book swim sessions.", [lane, swim], roles, caps,
                 default_role="swimmer")


def dog_daycare():
    """Dog daycare: no more than 15 dogs a day in all (attendances per day for the whole app, whoever books)."""
    dog = entity("dog", "dogs", [f("dog_name", required=True), f("breed", "text")], display="dog_name")
    visit = entity("attendance", "attendances", [
        f("drop_off_note", "text", required=True), f("dog_id", "reference", ref="dog", required=True),
        f("visit_day", "date", required=True)], display="drop_off_note")
    roles = [role("staff", ["dog", "attendance"], ["dog", "attendance"]), role("client", ["dog", "attendance"],
                                                                               ["dog", "attendance"]),
             role("groomer", ["dog", "attendance"]), role("visitor", ["dog"])]
    caps = [{"kind": "limit", "id": "daily_places", "label": "The daycare takes no more than 15 dogs a day",
             "entity": "attendance", "scope": "app", "max": 15, "period": "day", "date_field": "visit_day"}]
    return build("Wag Day", "A dog daycare where clients book days for their dogs.", [dog, visit], roles, caps,
                 default_role="client")


IDEAS = [library_loans, restaurant_tables, climbing_hours, yoga_bookings]
SCOPED = [swim_lanes, dog_daycare]  # a limit per user, and one for the whole app


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_limit_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 9, run.output
    assert set(mine.values()) == {"passed"}, mine
    for must in ("test_the_last_place_is_taken_and_one_more_is_refused", "test_moving_a_row_into_a_full_parent_is_refused",
                 "test_other_parents_are_unaffected", "test_concurrent_writers_never_go_over_the_limit",
                 "test_roles_without_access_are_refused", "test_usage"):
        assert mine.get(must) == "passed", (must, mine)
    # the whole project passes: the limit keeps the generic CRUD tests of its entities working
    assert all(v == "passed" for v in run.results.values()), run.output
    assert len(run.results) > len(mine)


#: the generated tests each scope must run and pass
SCOPED_MUST = {
    "user": ("test_the_last_place_is_taken_and_one_more_is_refused", "test_another_user_is_not_affected",
             "test_rows_created_by_no_user_count_for_nobody", "test_a_row_made_another_users_is_counted_for_them",
             "test_a_new_period_is_free", "test_only_rows_with_a_counting_value_count",
             "test_concurrent_writers_never_go_over_the_limit", "test_the_page_form_says_why_it_was_refused",
             "test_usage", "test_page_shows_the_use", "test_roles_without_access_are_refused"),
    "app": ("test_the_last_place_is_taken_and_one_more_is_refused", "test_rows_of_every_user_count",
            "test_the_guard_row_comes_back_when_it_is_missing", "test_a_new_period_is_free",
            "test_concurrent_writers_never_go_over_the_limit", "test_the_page_form_says_why_it_was_refused",
            "test_usage", "test_page_shows_the_use", "test_roles_without_access_are_refused"),
}


@pytest.mark.parametrize("idea", SCOPED, ids=lambda fn: fn.__name__)
def test_generated_limit_tests_pass_per_user_and_for_the_whole_app(idea):
    spec, cap, run, mine = S.built(idea())
    assert set(mine.values()) == {"passed"}, mine
    for must in SCOPED_MUST[cap.scope]:
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output
    # the acceptance criteria of the scope ran against the app and passed (S.built holds them to passing)
    [feature] = run.features
    assert {c["text"][:40] for c in feature["criteria"]}, feature
    words = {"user": "When a user already has 2 swim sessions", "app": "When 15 attendances in one day are stored"}
    assert any(c["text"].startswith(words[cap.scope]) for c in feature["criteria"]), feature["criteria"]


def test_the_initial_migration_writes_the_guard_row_with_its_table():
    revision = S.compile_spec(dog_daycare())[1]["migrations/versions/0001_initial.py"].decode()
    create = revision.index("op.create_table('daily_places_guard',")
    assert revision.index("op.execute('INSERT INTO daily_places_guard (id) VALUES (1)')") > create


def test_each_domain_runs_the_tests_of_what_it_binds():
    tests = {}
    for idea in IDEAS:
        _spec, files = S.compile_spec(idea())
        cap = idea()["capabilities"][0]["id"]
        tests[idea.__name__] = files[f"tests/test_cap_{cap}.py"].decode()
    assert "def test_only_rows_with_a_counting_value_count" in tests["library_loans"]
    assert "def test_lowering_a_limit_below_its_use_is_allowed_but_blocks_new_rows" in tests["restaurant_tables"]
    assert "def test_each_parent_has_its_own_limit" in tests["restaurant_tables"]
    assert "def test_the_sum_is_limited_not_the_count" in tests["climbing_hours"]
    assert "def test_only_rows_of_the_same_period_count" in tests["climbing_hours"]
    assert "def test_only_rows_of_the_same_period_count" not in tests["library_loans"]
    assert "def test_only_rows_of_the_same_period_count" in tests["yoga_bookings"]
    assert "def test_only_rows_with_a_counting_value_count" in tests["yoga_bookings"]


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(library_loans())
    routes = limit.routes(spec.capabilities[0], spec)
    assert {(r.method, r.path) for r in routes} == {("GET", "/api/loan_cap/usage"), ("GET", "/loan_cap/")}
    for r in routes:
        assert r.roles == ["owner", "librarian", "teacher"], r  # readers of loans; the visitor may not
    _, files = S.compile_spec(library_loans())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == 2


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(climbing_hours())[1], S.compile_spec(climbing_hours())[1]
    mine = [n for n in a if "monthly_hours" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


def test_the_numbers_the_tests_use_fit_the_fields():
    spec = AppSpec.model_validate(climbing_hours())
    nums = limit.sample_numbers(spec.capabilities[0], spec)
    assert (nums["limit"], nums["step"], nums["fits"], nums["used"]) == (20, 5, 4, 20)
    assert nums["over"] is not None and 5 < nums["over"] <= 8
    spec = AppSpec.model_validate(restaurant_tables())
    nums = limit.sample_numbers(spec.capabilities[0], spec)
    assert (nums["limit"], nums["fits"], nums["lower_value"], nums["higher_value"]) == (3, 3, 2, 4)
    assert limit.describe_rule(spec.capabilities[0], spec) == "guests per dining table up to its capacity"
    spec = AppSpec.model_validate(library_loans())
    assert limit.describe_rule(spec.capabilities[0], spec) == "at most 3 loans with status active per student"


@pytest.mark.parametrize("idea, change, words", [
    (library_loans, {"entity": "lending"}, ["limited entity 'lending' is not an entity"]),
    (library_loans, {"parent_field": "note"}, ["text field but must be reference", "student_id"]),
    (library_loans, {"max": None}, ["exactly one of max", "max_field"]),
    (library_loans, {"max_field": "grade"}, ["exactly one of max"]),
    (library_loans, {"max": 0}, ["max 0 would refuse"]),
    (library_loans, {"where_values": ["overdue"]}, ["['overdue'] are not values of loan.status"]),
    (library_loans, {"where_values": []}, ["needs where_values"]),
    (library_loans, {"where_field": "note"}, ["text field but must be enum"]),
    (library_loans, {"where_field": None}, ["where_values need where_field"]),
    (library_loans, {"period": "week"}, ["needs date_field"]),
    (library_loans, {"date_field": "due_on"}, ["used only with period"]),
    (library_loans, {"period": "week", "date_field": "status"}, ["enum field but must be date or datetime"]),
    (restaurant_tables, {"max_field": "label"}, ["text field but must be integer or decimal"]),
    (restaurant_tables, {"max_field": "seats"}, ["'seats' is not a field of 'dining_table'"]),
    (restaurant_tables, {"sum_field": "allergies"}, ["must be integer or decimal or money"]),
    (climbing_hours, {"max": 6}, ["give it a max of at most 6"]),
    (climbing_hours, {"sum_field": "title"}, ["text field but must be integer"]),
    (climbing_hours, {"date_field": None}, ["needs date_field"]),
    (library_loans, {"parent_field": None}, ["scope 'parent' needs parent_field", "['book_id', 'student_id']",
                                             "scope 'user'"]),
    (swim_lanes, {"scope": "parent"}, ["scope 'parent' needs parent_field", "['lane_id']"]),
    (swim_lanes, {"parent_field": "lane_id"}, ["scope 'user' counts swim_session rows per user who creates them, "
                                               "not per lane_id; drop parent_field"]),
    (swim_lanes, {"max": None}, ["scope 'user' needs max: the number of swim_session rows each user may have"]),
    (swim_lanes, {"max": None, "max_field": "depth"}, ["max_field is a field of a parent record, and scope 'user' "
                                                       "has none", "for every user"]),
    (swim_lanes, {"max": 0}, ["max 0 would refuse"]),
    (dog_daycare, {"parent_field": "dog_id"}, ["scope 'app' counts attendance rows together for the whole "
                                               "app, not per dog_id"]),
    (dog_daycare, {"max": None}, ["scope 'app' needs max: the number of attendance rows the app may hold in all"]),
    (dog_daycare, {"max": None, "max_field": "breed"}, ["max_field is a field of a parent record", "whole app"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(limit.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(limit)" in p for p in spec_problems(spec)), spec_problems(spec)


def test_check_refuses_sums_that_could_give_room_back_or_not_fit():
    d = climbing_hours()
    d["entities"][1]["fields"][3].update(min=-2)
    spec = AppSpec.model_validate(d)
    assert any("may be negative" in p for p in limit.check(spec.capabilities[0], spec))
    d = restaurant_tables()
    d["entities"][1]["fields"].append(f("party", "integer", min=1, max=6))
    d["capabilities"][0]["sum_field"] = "party"
    spec = AppSpec.model_validate(d)
    assert any("fits any dining_table" in p for p in limit.check(spec.capabilities[0], spec))


def test_each_domain_spec_has_no_problems():
    for idea in IDEAS + SCOPED:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__


def _realises(idea, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(idea())
    return REALISES["limit"](spec.capabilities[0], spec, RuleReading(**rule), None)


def test_a_rule_is_realised_only_with_its_own_number_and_nouns():
    assert _realises(library_loans, category="limit", words="at most 3 active loans per student", number=3,
                     nouns=["loan", "student"])
    assert not _realises(library_loans, category="limit", words="at most 4 active loans per student", number=4,
                         nouns=["loan", "student"])
    assert not _realises(library_loans, category="limit", words="at most 3 loans per book", number=3,
                         nouns=["loan", "book"])  # counted per book, not per student
    assert not _realises(library_loans, category="limit", words="at most 3 lost loans per student", number=3,
                         nouns=["loan", "student"])  # lost loans do not count here
    assert not _realises(library_loans, category="time_window", words="3 days", number=3, unit="days")
    assert _realises(restaurant_tables, category="capacity", words="seats up to its capacity",
                     nouns=["dining table"])
    assert not _realises(restaurant_tables, category="capacity", words="seats 8", number=8, nouns=["table"])
    assert _realises(climbing_hours, category="limit", words="at most 20 hours a month", number=20, unit="hours",
                     nouns=["member"])
    assert not _realises(climbing_hours, category="limit", words="at most 20 hours a week", number=20, unit="hours",
                         nouns=["member"])
    assert not _realises(climbing_hours, category="limit", words="at most 20 hours", number=20, unit="hours",
                         nouns=["member"])  # in all, not per month
    assert not _realises(climbing_hours, category="limit", words="at most 20 sessions a month", number=20,
                         nouns=["session", "member"])  # a count of sessions, not a sum of hours
    assert not _realises(climbing_hours, category="time_window", words="within 20 hours a month", number=20, unit="hours",
                         nouns=["member"])  # a span of time, not a cap


# ------------------------------------------------------------------------------------ per user and for the whole app


def test_the_rule_routes_and_description_read_for_each_scope():
    from shared.engine.criteria.certify import describe

    spec = AppSpec.model_validate(swim_lanes())
    cap = spec.capabilities[0]
    assert limit.describe_rule(cap, spec) == "each user may have at most 2 swim sessions with state booked per day"
    assert describe(cap, spec) == "each user may have at most 2 swim sessions per day; one more is refused"
    assert "signed-in user" in limit.routes(cap, spec)[0].summary
    spec = AppSpec.model_validate(dog_daycare())
    cap = spec.capabilities[0]
    assert limit.describe_rule(cap, spec) == "at most 15 attendances per day in all"
    assert describe(cap, spec) == "at most 15 attendances per day in all; one more is refused"
    assert "whole app" in limit.routes(cap, spec)[0].summary
    spec = AppSpec.model_validate(library_loans())
    assert describe(spec.capabilities[0], spec) == "a student takes at most 3 loans; one more is refused"


def test_a_rule_with_the_same_number_and_period_is_realised_per_user_or_in_all():
    swims = {"category": "limit", "nouns": ["swim", "session", "day"]}
    assert _realises(swim_lanes, words="at most 2 booked swim sessions a day per swimmer", number=2, **swims)
    assert not _realises(swim_lanes, words="at most 3 booked swim sessions a day per swimmer", number=3, **swims)
    assert not _realises(swim_lanes, words="at most 2 booked swim sessions a week per swimmer", number=2, **swims)
    assert not _realises(swim_lanes, words="at most 2 booked swim sessions a day", number=2,
                         **swims)  # names nobody it is per: a total, not a limit per user
    assert not _realises(swim_lanes, category="limit", words="at most 2 booked swim sessions per lane a day",
                         number=2, nouns=["swim", "session", "lane", "day"])  # per lane, a record
    assert not _realises(swim_lanes, words="at most 2 cancelled swim sessions a day per swimmer", number=2, **swims)
    dogs = {"category": "limit", "nouns": ["dog", "day"]}
    assert _realises(dog_daycare, words="no more than 15 dogs a day", number=15, **dogs)  # attendances, one dog each
    assert not _realises(dog_daycare, words="no more than 16 dogs a day", number=16, **dogs)
    assert not _realises(dog_daycare, words="no more than 15 dogs a week", number=15, **dogs)
    assert not _realises(dog_daycare, words="no more than 15 dogs a day per client", number=15,
                         category="limit", nouns=["dog", "day", "client"])  # per person: not the whole app's


def _scenario(idea):
    from shared.engine.appspec.model import Criterion
    from shared.engine.compiler import spec_with_routes
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = spec_with_routes(AppSpec.model_validate(idea()))
    cap = spec.capabilities[0]
    [crit] = DERIVE["limit"](cap, spec, None, cap.label)
    scenario = compile_criterion(spec, Criterion(id="c", text=crit["text"], template=crit["template"],
                                                 params=crit["params"]), cap.label)
    declared = {(r.method, r.path) for r in cap.routes}
    for s in scenario["steps"]:
        if s["path"].startswith(f"/api/{cap.id}/"):
            assert (s["method"], s["path"].split("?")[0]) in declared, s
    posts = [(s["as"], s["expect"], s.get("json", {})) for s in scenario["steps"]
             if s["method"] == "POST" and s["path"] == f"/api/{spec.entity(cap.entity).plural}"]
    return crit, scenario, posts


def test_the_criteria_per_user_fill_one_users_limit_and_leave_another_free():
    crit, scenario, posts = _scenario(swim_lanes)
    assert crit["template"] == "limit.fill_per_user"
    assert crit["text"] == ("When a user already has 2 swim sessions with state booked in one day, adding a 3rd is "
                            "refused; one with state cancelled is still accepted; one in the next day is still "
                            "accepted; another user still takes swim sessions.")
    a, b = posts[0][0], posts[-1][0]
    assert a != b and scenario["actors"][a] == scenario["actors"][b] == "swimmer"  # two users of one role
    assert [(who, expect) for who, expect, _ in posts] == [(a, 201), (a, 201), (a, 409), (a, 201), (a, 201), (b, 201)]
    refused = next(s for s in scenario["steps"] if s["expect"] == 409)
    assert {"path": "error.code", "op": "eq", "value": "limit_reached"} in refused["checks"]
    assert [p[2]["state"] for p in posts[3:5]] == ["cancelled", "booked"] and posts[4][2]["swim_day"] == "2030-01-11"


def test_the_criteria_for_the_whole_app_fill_it_across_two_users():
    crit, scenario, posts = _scenario(dog_daycare)
    assert crit["template"] == "limit.fill_in_all"
    assert crit["text"].startswith("When 15 attendances in one day are stored in all, by any users, adding a 16th is "
                                   "refused for everyone")
    a, b = posts[0][0], posts[1][0]
    assert a != b and scenario["actors"][a] == scenario["actors"][b]
    assert [who for who, _e, _j in posts[:15]] == [a, b] * 7 + [a]  # the two users take turns filling it
    assert [(who, expect) for who, expect, _ in posts[15:]] == [(a, 409), (b, 409), (b, 201)]
    assert posts[-1][2]["visit_day"] == "2030-01-11"  # the next day is free
    usage = [s for s in scenario["steps"] if s["path"] == "/api/daily_places/usage"]
    assert {s["as"] for s in usage} == {a, b}
    assert all({"path": "used", "op": "eq", "value": 15} in s["checks"] for s in usage)
