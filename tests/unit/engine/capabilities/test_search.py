"""Capability `search`: name checks, routes, and the generated app's own search tests (FTS5 ranking, index
sync, hostile queries, the LIKE fallback) in two domains."""

from __future__ import annotations

import sqlite3

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import search

from . import _caps2_specs as S

ABUSE = ("test_abuse_fts_syntax_and_sql_in_the_query_are_plain_text", "test_abuse_query_is_bounded_and_required",
         "test_abuse_anonymous_and_outsiders_cannot_search")


def test_this_sqlite_has_fts5():
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING fts5(a)")  # the generated tests assert engine == "fts5"


@pytest.mark.parametrize("idea", ["cafe", "grants"])
def test_generated_search_tests_pass(idea, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("search"), tmp_path,
                                  ABUSE + ("test_results_are_ranked_and_only_matching",
                                           "test_index_follows_updates_and_deletes",
                                           "test_without_fts5_a_ranked_like_scan_answers"), at_least=7)


def test_routes_follow_the_readers_of_the_entity():
    spec = AppSpec.model_validate(S.grants("search"))
    routes = search.routes(spec.capabilities[0], spec)
    assert [(r.method, r.path) for r in routes] == [("GET", "/api/find_applications"),
                                                    ("GET", "/find_applications/")]
    assert all(r.roles == ["owner", "applicant", "reviewer", "auditor"] for r in routes)


@pytest.mark.parametrize("change, words", [
    ({"entity": "grant"}, ["'grant' is not an entity"]),
    ({"fields": ["title", "nope"]}, ["'nope' is not a field of 'application'"]),
    ({"fields": ["amount"]}, ["type 'money'", "fitting fields", "summary"]),
    ({"fields": ["title", "title"]}, ["listed twice"]),
])
def test_check_names_what_does_not_resolve(change, words):
    spec = AppSpec.model_validate(S.grants("search"))
    cap = spec.capabilities[0].model_copy(update=change)
    problems = search.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems
