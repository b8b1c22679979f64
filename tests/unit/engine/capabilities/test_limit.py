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


IDEAS = [library_loans, restaurant_tables, climbing_hours, yoga_bookings]


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
    for idea in IDEAS:
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
