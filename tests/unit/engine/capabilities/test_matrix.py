"""Capability `matrix`: name checks, routes and the generated app's own derived-matrix tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import matrix

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)  # dishes x allergens via ingredients; courses x skills via modules
def test_generated_matrix_tests_pass(idea, tmp_path):
    s = S.spec(idea, "matrix")
    _files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=4, abuse=1)
    for name in ("test_matrix_is_derived_through_the_join_rows", "test_without_filter_and_live_recompute",
                 "test_abuse_bad_filters_missing_rows_and_anonymous"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))


def test_routes_are_for_roles_that_read_every_entity_of_the_view():
    s = S.spec("caps3_menu", "matrix")
    routes = matrix.routes(s.capabilities[0], s)
    assert {r.path for r in routes} == {"/api/allergen_matrix/matrix", "/api/allergen_matrix/rows/<int:row_id>",
                                        "/allergen_matrix/"}
    assert all(r.roles == ["owner", "chef", "guest"] for r in routes)  # the supplier reads ingredients only


@pytest.mark.parametrize("change, words", [
    ({"column_entity": "nutrient"}, ["column_entity 'nutrient' is not an entity"]),
    ({"via_entity": "allergen", "column_entity": "ingredient"}, ["no many_to_many relation links 'dish' and 'allergen'"]),
    ({"column_entity": "dish"}, ["three different entities"]),
])
def test_check_names_what_does_not_resolve(change, words):
    s = S.spec("caps3_menu", "matrix", **change)
    problems = matrix.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("allergen_matrix" in p for p in spec_problems(s))


def test_check_wants_the_join_relations():
    d = S.spec_dict("caps3_academy", "matrix")
    d["relations"] = [r for r in d["relations"] if r.get("through") != "module_skill"]
    s = AppSpec.model_validate(d)
    problems = matrix.check(s.capabilities[0], s)
    assert problems == [problems[0]] and "'module' and 'skill'" in problems[0] and "through" in problems[0]
