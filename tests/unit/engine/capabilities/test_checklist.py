"""Capability `checklist`: name checks, routes, and the generated app's own checklist tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import checklist

from . import _caps2_specs as S


@pytest.mark.parametrize("idea, abuse", [
    ("cafe", ("test_abuse_read_only_role_sees_but_cannot_tick",)),
    ("grants", ("test_abuse_read_only_role_sees_but_cannot_tick", "test_abuse_another_users_record_cannot_be_changed",
                "test_abuse_outsider_role_cannot_read")),
])
def test_generated_checklist_tests_pass(idea, abuse, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("checklist"), tmp_path,
                                  abuse + ("test_abuse_bad_input_is_refused_with_details",
                                           "test_abuse_anonymous_and_missing_csrf_are_refused",
                                           "test_completion_percentage_follows_ticks",
                                           "test_incomplete_filter_lists_only_records_with_open_items"),
                                  at_least=7)


def test_routes_split_readers_and_writers():
    spec = AppSpec.model_validate(S.grants("checklist"))
    routes = {(r.method, r.path): r.roles for r in checklist.routes(spec.capabilities[0], spec)}
    assert routes[("GET", "/api/documents/incomplete")] == ["owner", "applicant", "reviewer", "auditor"]
    assert routes[("POST", "/api/documents/<int:record_id>/items")] == ["owner", "applicant"]
    assert routes[("PATCH", "/api/documents/items/<int:item_id>")] == ["owner", "applicant"]


def test_check_names_what_does_not_resolve():
    spec = AppSpec.model_validate(S.grants("checklist"))
    cap = spec.capabilities[0].model_copy(update={"entity": "grant"})
    assert "'grant' is not an entity" in checklist.check(cap, spec)[0]


def test_named_items_prefill_every_new_record_and_the_other_tests_still_pass(tmp_path):
    spec = S.grants("checklist")
    spec["capabilities"][0]["items"] = ["Budget attached", "References named", "Signed by the head"]
    S.assert_generated_tests_pass(spec, tmp_path, ("test_named_items_are_prefilled_on_each_new_record",
                                                   "test_completion_percentage_follows_ticks",
                                                   "test_deleting_the_record_removes_its_checklist",
                                                   "test_abuse_another_users_record_cannot_be_changed"),
                                  at_least=8)


def test_check_refuses_an_item_named_twice():
    spec = AppSpec.model_validate(S.grants("checklist"))
    cap = spec.capabilities[0].model_copy(update={"items": ["Budget", "budget"]})
    assert any("twice" in p for p in checklist.check(cap, spec))


def _own_only(spec: dict) -> dict:
    """The applicant reads only their own applications: another's checklist is as missing as the record. Only
    applicants use the app beside the owner, so the one refused is another applicant."""
    spec["capabilities"][0]["items"] = ["Budget attached", "References named"]
    spec["roles"] = [r for r in spec["roles"] if r["name"] in ("owner", "applicant")]
    role = next(r for r in spec["roles"] if r["name"] == "applicant")
    role["read_own"] = ["application"]
    return spec


def test_a_role_reading_only_its_own_records_is_refused_anothers_checklist_as_missing(tmp_path):
    """Named items on every record and an own-only reader: the app's own abuse test (another applicant may neither
    add to nor tick alice's checklist) passes, and the criterion expects the 404 the app gives, not a 403."""
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    S.assert_generated_tests_pass(_own_only(S.grants("checklist")), tmp_path,
                                  ("test_abuse_another_users_record_cannot_be_changed",), at_least=8)
    spec = AppSpec.model_validate(_own_only(S.grants("checklist")))
    cap = spec.capabilities[0]
    [c] = [c for c in DERIVE["checklist"](cap, spec, None, cap.label) if c["template"] == "checklist.named_items"]
    steps = compile_criterion(spec, Criterion(id="c1", **c), cap.label)["steps"]
    [refused] = [s for s in steps if "without write access" in (s.get("note") or "")]
    assert refused["expect"] == 404, refused
