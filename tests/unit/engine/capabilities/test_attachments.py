"""Capability `attachments`: name checks, routes, and the generated app's own upload tests (413, 415, path
traversal, roles, the Cloud Storage store) in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import attachments

from . import _caps2_specs as S

ABUSE = ("test_abuse_oversized_upload_is_413_and_nothing_is_stored", "test_abuse_wrong_type_is_415",
         "test_abuse_path_traversal_in_the_name_stays_inside_the_store",
         "test_abuse_missing_file_unknown_record_anonymous_and_csrf",
         "test_abuse_read_only_role_downloads_but_cannot_upload_or_delete")


@pytest.mark.parametrize("idea, extra", [
    ("cafe", ()),
    ("grants", ("test_abuse_another_users_record_attachments_cannot_be_changed",
                "test_abuse_outsider_role_cannot_download")),
])
def test_generated_attachment_tests_pass(idea, extra, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("attachments"), tmp_path,
                                  ABUSE + extra + ("test_upload_list_download_delete",
                                                   "test_production_stores_in_the_bucket"), at_least=9)


def test_routes_and_the_bucket_package():
    spec = AppSpec.model_validate(S.grants("attachments"))
    routes = {(r.method, r.path): r.roles for r in attachments.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/uploads/<int:record_id>/files")] == ["owner", "applicant"]
    assert routes[("GET", "/api/uploads/files/<int:file_id>")] == ["owner", "applicant", "reviewer", "auditor"]
    assert any(p.startswith("google-cloud-storage==") for p in attachments.PACKAGES)
    _, files = S.compile_spec(S.grants("attachments"))
    assert b"google-cloud-storage==" in files["requirements.txt"]


@pytest.mark.parametrize("change, words", [
    ({"entity": "grant"}, ["'grant' is not an entity"]),
    ({"allowed_types": ["text/html", "application/pdf"]}, ["'text/html' can run script"]),
    ({"allowed_types": ["pdf"]}, ["'pdf' is not a MIME type", "none of allowed_types"]),
    ({"allowed_types": []}, ["allowed_types is empty"]),
])
def test_check_names_what_does_not_fit(change, words):
    spec = AppSpec.model_validate(S.grants("attachments"))
    cap = spec.capabilities[0].model_copy(update=change)
    problems = attachments.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems
