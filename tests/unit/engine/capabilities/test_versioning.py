"""Capability `versioning`: name checks, routes, and the generated app's own revision tests (author, diff,
restore as a new revision, roles) in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import versioning

from . import _caps2_specs as S

BASE = ("test_every_change_is_a_revision_with_its_author", "test_diff_between_two_revisions",
        "test_restore_creates_a_new_revision", "test_abuse_unknown_revisions_and_bad_numbers",
        "test_abuse_anonymous_and_missing_csrf_cannot_restore",
        "test_abuse_read_only_role_reads_history_but_cannot_restore", "test_abuse_members_see_other_authors_by_name_only")


@pytest.mark.parametrize("idea, extra", [
    ("cafe", ()),
    ("grants", ("test_abuse_another_users_document_cannot_be_restored",)),
])
def test_generated_versioning_tests_pass(idea, extra, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("versioning"), tmp_path, BASE + extra, at_least=8)


def test_routes_split_readers_and_writers():
    spec = AppSpec.model_validate(S.grants("versioning"))
    routes = {(r.method, r.path): r.roles for r in versioning.routes(spec.capabilities[0], spec)}
    assert routes[("GET", "/api/proposal_drafts/<int:record_id>/diff")] == ["owner", "applicant", "reviewer",
                                                                             "auditor"]
    assert routes[("POST", "/api/proposal_drafts/<int:record_id>/revisions/<int:number>/restore")] == \
        ["owner", "applicant"]


@pytest.mark.parametrize("change, words", [
    ({"entity": "grant"}, ["'grant' is not an entity"]),
    ({"field": "amount"}, ["type 'money'", "summary", "proposal"]),
    ({"field": "body"}, ["'body' is not a field of 'application'"]),
    ({"field": "title"}, ["allows only 120 characters", "at least 200"]),
])
def test_check_names_what_does_not_fit(change, words):
    spec = AppSpec.model_validate(S.grants("versioning"))
    cap = spec.capabilities[0].model_copy(update=change)
    problems = versioning.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems
