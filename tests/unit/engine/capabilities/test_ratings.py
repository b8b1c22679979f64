"""Capability `ratings`: name checks, routes and the generated app's own rating tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import ratings

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)
def test_generated_ratings_tests_pass(idea, tmp_path):
    s = S.spec(idea, "ratings")
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=6, abuse=3)
    for name in ("test_second_rating_by_the_same_user_replaces_the_first",
                 "test_average_over_users_and_ranking_by_rating",
                 "test_abuse_out_of_range_and_malformed_ratings_are_refused",
                 "test_a_rater_may_rate_a_record_they_created",
                 "test_abuse_fresh_accounts_cannot_reorder_the_ranking"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    cap = s.capabilities[0]
    module = files[f"app/capabilities/{cap.id}.py"].decode()
    assert f"SCALE = {cap.scale}" in module
    assert "UniqueConstraint(\"record_id\", \"user_id\", \"criterion\"" in module


def test_routes_are_guarded_by_the_readers():
    s = S.spec("caps3_academy", "ratings")
    routes = ratings.routes(s.capabilities[0], s)
    assert {(r.method, r.path) for r in routes} >= {
        ("PUT", "/api/course_scores/courses/<int:record_id>/rating"),
        ("GET", "/api/course_scores/courses"),
        ("DELETE", "/api/course_scores/courses/<int:record_id>/rating")}
    rating = {("PUT", "/api/course_scores/courses/<int:record_id>/rating"), ("POST", "/course_scores/<int:record_id>")}
    # the auditor may not read courses; students (the sign-up role) read them but their ratings do not count
    assert all(r.roles == ["owner", "instructor", "student"] for r in routes if (r.method, r.path) not in rating)
    assert all(r.roles == ["owner", "instructor"] for r in routes if (r.method, r.path) in rating)


def test_raters_leave_out_the_sign_up_role_unless_the_spec_names_it():
    s = S.spec("caps3_academy", "ratings")
    assert ratings.raters(s.capabilities[0], s) == ["owner", "instructor"]
    s = S.spec("caps3_academy", "ratings", raters=["student"])
    assert ratings.raters(s.capabilities[0], s) == ["student"] and ratings.check(s.capabilities[0], s) == []
    put = next(r for r in ratings.routes(s.capabilities[0], s) if r.method == "PUT")
    assert put.roles == ["student"]
    module = S.compile_project(s, S.design())["app/capabilities/course_scores.py"].decode()
    assert 'RATERS = frozenset(["student"])' in module


@pytest.mark.parametrize("raters, words", [
    (["judge"], ["rater role 'judge' is not a role"]),
    (["auditor"], ["'auditor' may not read 'course'"]),
])
def test_check_names_raters_that_do_not_fit(raters, words):
    s = S.spec("caps3_academy", "ratings", raters=raters)
    text = " | ".join(ratings.check(s.capabilities[0], s))
    assert all(w in text for w in words), text


def test_check_wants_a_rater_besides_the_sign_up_role():
    d = S.spec_dict("caps3_academy", "ratings")
    for role in d["roles"]:
        if role["name"] in ("owner", "instructor"):
            role["read"] = [e for e in role["read"] if e != "course"]
            role["write"] = [e for e in role.get("write", []) if e != "course"]
    from shared.engine.appspec.model import AppSpec
    s = AppSpec.model_validate(d)
    assert any("list the roles that may rate in `raters`" in p for p in ratings.check(s.capabilities[0], s))


def test_check_names_what_does_not_resolve():
    s = S.spec("caps3_menu", "ratings", entity="meal")
    problems = ratings.check(s.capabilities[0], s)
    assert problems and "'meal' is not an entity" in problems[0] and "dish" in problems[0]
    assert any("dish_ratings" in p for p in spec_problems(s))


@pytest.mark.parametrize("idea, changes, tests", [
    # "students score each course for pace and clarity once it has started": a date that opens rating, two criteria
    ("caps3_academy", {"criteria": ["pace", "clarity"], "opens_field": "starts_on", "opens_words": "once it has started"},
     ("test_one_score_per_criterion_and_averages_per_criterion", "test_rating_opens_only_when_the_record_says_so")),
    # "diners rate a dish once it is on the fish menu": a state that opens rating
    ("caps3_menu", {"opens_field": "category", "opens_values": ["fish", "meat"]},
     ("test_rating_opens_only_when_the_record_says_so",)),
])
def test_generated_ratings_tests_pass_with_criteria_and_an_opening(idea, changes, tests, tmp_path):
    s = S.spec(idea, "ratings", **changes)
    assert ratings.check(s.capabilities[0], s) == []
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=6, abuse=3)
    for name in ("test_second_rating_by_the_same_user_replaces_the_first",
                 "test_abuse_out_of_range_and_malformed_ratings_are_refused", *tests):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert 'UniqueConstraint("record_id", "user_id", "criterion"' in module


@pytest.mark.parametrize("changes, words", [
    ({"opens_field": "summary"}, ["is a long_text", "date, datetime or enum"]),
    ({"opens_field": "nope"}, ["'nope' is not a field"]),
    ({"opens_field": "level", "opens_values": ["expert"]}, ["opens_values ['expert']"]),
    ({"criteria": ["pace", "pace"]}, ["name one twice"]),
])
def test_check_names_an_opening_or_criteria_that_do_not_fit(changes, words):
    s = S.spec("caps3_academy", "ratings", **changes)
    text = " | ".join(ratings.check(s.capabilities[0], s))
    assert all(w in text for w in words), text
