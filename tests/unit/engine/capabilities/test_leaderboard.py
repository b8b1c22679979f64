"""Capability `leaderboard`: name checks, routes and the generated app's own points tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import leaderboard

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)
def test_generated_leaderboard_tests_pass(idea, tmp_path):
    s = S.spec(idea, "leaderboard")
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=5, abuse=2)
    for name in ("test_creators_earn_points_and_are_ranked", "test_periods_follow_the_clock",
                 "test_abuse_deleting_takes_points_back_and_points_cannot_be_posted"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert "db.now()" in module  # points are stamped with the app's clock, which tests move


def test_routes_are_for_the_readers_of_the_award_entities():
    s = S.spec("caps3_menu", "leaderboard")
    routes = leaderboard.routes(s.capabilities[0], s)
    assert {r.path for r in routes} == {"/api/chef_board/leaderboard", "/api/chef_board/points", "/chef_board/"}
    assert all(r.roles == ["owner", "chef", "guest", "supplier"] for r in routes)
    assert all(r.method == "GET" for r in routes)  # nothing writes points over HTTP


@pytest.mark.parametrize("awards, words", [
    ([{"entity": "review", "points": 3}], ["award entity 'review' is not an entity"]),
    ([{"entity": "dish", "points": 3}, {"entity": "dish", "points": 4}], ["'dish' twice"]),
])
def test_check_names_what_does_not_resolve(awards, words):
    s = S.spec("caps3_menu", "leaderboard", awards=awards)
    problems = leaderboard.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("chef_board" in p for p in spec_problems(s))


def test_check_wants_a_role_that_may_create_the_award_entity():
    d = S.spec_dict("caps3_menu", "leaderboard")
    for r in d["roles"]:
        r["write"] = [e for e in r.get("write", []) if e != "ingredient"]
    from shared.engine.appspec.model import AppSpec

    s = AppSpec.model_validate(d)
    assert any("no role may create 'ingredient'" in p for p in leaderboard.check(s.capabilities[0], s))
