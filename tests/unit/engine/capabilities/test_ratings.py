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
                 "test_abuse_out_of_range_and_malformed_ratings_are_refused"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    cap = s.capabilities[0]
    module = files[f"app/capabilities/{cap.id}.py"].decode()
    assert f"SCALE = {cap.scale}" in module
    assert "UniqueConstraint(\"record_id\", \"user_id\"" in module


def test_routes_are_guarded_by_the_readers():
    s = S.spec("caps3_academy", "ratings")
    routes = ratings.routes(s.capabilities[0], s)
    assert {(r.method, r.path) for r in routes} >= {
        ("PUT", "/api/course_scores/courses/<int:record_id>/rating"),
        ("GET", "/api/course_scores/courses"),
        ("DELETE", "/api/course_scores/courses/<int:record_id>/rating")}
    assert all(r.roles == ["owner", "instructor", "student"] for r in routes)  # the auditor may not read courses


def test_check_names_what_does_not_resolve():
    s = S.spec("caps3_menu", "ratings", entity="meal")
    problems = ratings.check(s.capabilities[0], s)
    assert problems and "'meal' is not an entity" in problems[0] and "dish" in problems[0]
    assert any("dish_ratings" in p for p in spec_problems(s))
