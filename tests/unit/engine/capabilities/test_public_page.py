"""Capability `public_page`: name checks, routes, the segno pin, and the generated app's own public-page tests
(only public fields and published rows, read-only, escaped, QR codes) in two domains."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.engine.appspec import AppSpec
from shared.engine.capabilities import public_page

from . import _caps2_specs as S

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("idea, extra", [
    ("cafe", ("test_qr_codes_encode_the_public_urls", "test_abuse_a_spoofed_host_header_never_reaches_a_qr_code")),
    ("grants", ("test_no_qr_code_when_not_asked_for",)),
])
def test_generated_public_page_tests_pass(idea, extra, tmp_path):
    S.assert_generated_tests_pass(S.IDEAS[idea]("public_page"), tmp_path,
                                  extra + ("test_abuse_unpublished_rows_are_not_public",
                                           "test_abuse_public_routes_are_read_only",
                                           "test_anonymous_sees_the_public_list_with_only_public_fields",
                                           "test_public_output_is_escaped"), at_least=5)


def test_routes_are_public_and_get_only():
    spec = AppSpec.model_validate(S.cafe("public_page"))
    routes = public_page.routes(spec.capabilities[0], spec)
    assert {r.method for r in routes} == {"GET"} and all(r.roles == [] for r in routes)
    assert ("/menu/qr.svg" in {r.path for r in routes}) is True
    spec = AppSpec.model_validate(S.grants("public_page"))
    assert not any("qr" in r.path for r in public_page.routes(spec.capabilities[0], spec))


def test_segno_is_pinned_for_the_app_and_the_factory():
    assert public_page.PACKAGES == [public_page.SEGNO]
    from infra import package

    assert public_page.SEGNO in package.requirements("engine").splitlines()  # the stage functions' pins
    _, files = S.compile_spec(S.cafe("public_page"))
    assert public_page.SEGNO.encode() in files["requirements.txt"]


@pytest.mark.parametrize("change, words", [
    ({"entity": "plate"}, ["'plate' is not an entity"]),
    ({"fields": ["name", "secret"]}, ["'secret' is not a field of 'dish'"]),
    ({"published_field": "name"}, ["published_field 'name'", "boolean", "on_menu"]),
    ({"fields": ["price"]}, ["display field 'name'"]),
])
def test_check_names_what_does_not_fit(change, words):
    spec = AppSpec.model_validate(S.cafe("public_page"))
    cap = spec.capabilities[0].model_copy(update=change)
    problems = public_page.check(cap, spec)
    assert problems and all(any(w in p for p in problems) for w in words), problems
