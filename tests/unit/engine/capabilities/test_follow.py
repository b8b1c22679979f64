"""Capability `follow`: name checks, routes and the generated app's own follow/notify tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import follow

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)
def test_generated_follow_tests_pass(idea, tmp_path):
    s = S.spec(idea, "follow")  # menu: an enum topic (category); academy: a reference topic (course_id)
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=5, abuse=2)
    for name in ("test_topic_follow_notifies_on_a_new_matching_record_only",
                 "test_record_follow_notifies_when_it_changes",
                 "test_abuse_another_users_follows_and_notifications_stay_private"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))


def test_record_only_follow_compiles_and_passes(tmp_path):
    s = S.spec("caps3_menu", "follow", topic_field=None)
    _files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=3, abuse=1)
    assert "test_topic_follow_notifies_on_a_new_matching_record_only" not in run.results


def test_routes():
    s = S.spec("caps3_academy", "follow")
    routes = {(r.method, r.path): r.roles for r in follow.routes(s.capabilities[0], s)}
    assert routes[("POST", "/api/course_watch/follows")] == ["owner", "instructor", "student", "auditor"]
    assert ("GET", "/api/course_watch/notifications") in routes
    assert ("GET", "/course_watch/") in routes


@pytest.mark.parametrize("change, words", [
    ({"entity": "post"}, ["'post' is not an entity"]),
    ({"topic_field": "tags"}, ["'tags' is not a field of 'dish'", "category"]),
    ({"topic_field": "price"}, ["money field but must be text or enum or reference"]),
])
def test_check_names_what_does_not_resolve(change, words):
    s = S.spec("caps3_menu", "follow", **change)
    problems = follow.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("category_follow" in p for p in spec_problems(s))
