"""Capability `audit_log`: name checks, routes, determinism, and the generated app's own audit tests in two
domains (a café's menu, a grants programme)."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import audit_log

from . import _caps2_specs as S

ABUSE = ("test_abuse_tampered_row_is_reported_as_the_first_broken_entry", "test_abuse_removed_row_breaks_the_chain",
         "test_abuse_no_route_edits_or_deletes_an_entry", "test_abuse_anonymous_and_outsiders_cannot_read_the_trail",
         "test_statements_outside_the_flush_are_recorded_too", "test_abuse_members_see_other_members_by_name_only",
         "test_abuse_removing_the_newest_entries_and_rewriting_the_head_is_detected",
         "test_abuse_re_attribution_needs_the_audit_key_not_the_secret_key")


@pytest.mark.parametrize("idea", ["cafe", "grants"])
def test_generated_audit_tests_pass(idea, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("audit_log"), tmp_path, ABUSE, at_least=11)


def test_routes_are_read_only_and_guarded():
    spec = AppSpec.model_validate(S.grants("audit_log"))
    routes = audit_log.routes(spec.capabilities[0], spec)
    assert {r.method for r in routes} == {"GET"}  # append-only: no route edits or deletes an entry
    assert all(r.path.startswith(("/api/custody_log/", "/custody_log/")) for r in routes)
    assert all(r.roles == ["owner", "applicant", "reviewer", "auditor"] for r in routes)  # not the visitor
    _, files = S.compile_spec(S.grants("audit_log"))
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == len(routes)


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(S.cafe("audit_log"))[1], S.compile_spec(S.cafe("audit_log"))[1]
    mine = [n for n in a if "menu_history" in n]
    assert len(mine) == 3 and all(a[n] == b[n] for n in mine)


@pytest.mark.parametrize("entities, words", [
    (["dish", "oven"], ["'oven' is not an entity", "dish"]),
    (["dish", "dish"], ["'dish' is listed twice"]),
])
def test_check_names_what_does_not_resolve(entities, words):
    spec = AppSpec.model_validate(S.cafe("audit_log"))
    cap = spec.capabilities[0].model_copy(update={"entities": entities})
    problems = audit_log.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems


def test_check_refuses_a_trail_of_entities_nobody_changes():
    d = S.cafe("audit_log")
    d["capabilities"][0]["entities"] = ["ticket"]
    for r in d["roles"]:
        if r["name"] != "owner":
            r["read"], r["write"] = [x for x in r["read"] if x != "ticket"], [x for x in r["write"] if x != "ticket"]
    d["roles"][0]["read"] = [x for x in d["roles"][0]["read"] if x != "ticket"]
    d["roles"][0]["write"] = [x for x in d["roles"][0]["write"] if x != "ticket"]
    spec = AppSpec.model_validate(d)
    problems = audit_log.check(spec.capabilities[0], spec)
    assert problems and "write" in problems[0], problems
