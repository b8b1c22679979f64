"""Capability `live_board`: name checks, routes, and the generated app's own server-sent-event tests (a created
record reaches an open stream, order, rollback, roles, replay, bounds) in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import live_board

from . import _caps2_specs as S

BASE = ("test_a_created_record_is_pushed_to_an_open_stream", "test_updates_and_deletes_follow_in_order",
        "test_abuse_rolled_back_and_refused_writes_publish_nothing",
        "test_abuse_anonymous_and_other_roles_see_only_what_they_may_read",
        "test_reconnect_replays_missed_events_with_last_event_id",
        "test_abuse_stream_is_bounded_and_its_parameters_checked", "test_abuse_too_many_open_streams_get_503",
        "test_page_listens_with_event_source_and_escapes", "test_statements_outside_the_flush_are_pushed_too",
        "test_abuse_one_user_cannot_take_every_stream")


@pytest.mark.parametrize("idea", ["cafe", "grants"])
def test_generated_live_board_tests_pass(idea, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("live_board"), tmp_path, BASE, at_least=10)


def test_the_grants_board_filters_by_role():
    spec = AppSpec.model_validate(S.grants("live_board"))
    _, files = S.compile_spec(S.grants("live_board"))
    test = files["tests/test_cap_review_board.py"].decode()
    assert 'self.login("applicant")' in test and 'self.login("visitor")' in test  # partial reader, outsider
    routes = live_board.routes(spec.capabilities[0], spec)
    assert {r.path for r in routes} == {"/api/review_board/stream", "/api/review_board/recent", "/review_board/",
                                        "/review_board/board.js"}
    assert all(r.roles == ["owner", "applicant", "reviewer", "auditor"] for r in routes)


@pytest.mark.parametrize("entities, words", [
    (["application", "grant"], ["'grant' is not an entity"]),
    (["review", "review"], ["listed twice"]),
])
def test_check_names_what_does_not_resolve(entities, words):
    spec = AppSpec.model_validate(S.grants("live_board"))
    cap = spec.capabilities[0].model_copy(update={"entities": entities})
    problems = live_board.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems
