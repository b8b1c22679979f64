"""Capability `export`: name checks, routes, determinism and the generated app's own export tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import export

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)
def test_generated_export_tests_pass(idea, tmp_path):
    s = S.spec(idea, "export")
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=9, abuse=4)
    for name in ("test_formula_prefixes_are_neutralised", "test_abuse_anonymous_cannot_export_courses"
                 if idea == "caps3_academy" else "test_abuse_formula_in_dishes_is_exported_as_text"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    assert any(line.startswith(b"fpdf2==") for line in files["requirements.txt"].splitlines())


def test_routes_are_guarded_by_the_readers_of_each_entity():
    s = S.spec("caps3_menu", "export")
    routes = {r.path: r.roles for r in export.routes(s.capabilities[0], s)}
    assert routes["/api/menu_export/dishes.csv"] == ["owner", "chef", "guest"]
    assert routes["/api/menu_export/ingredients.csv"] == ["owner", "chef", "guest", "supplier"]
    assert routes["/api/menu_export/dishes/<int:row_id>.pdf"] == ["owner", "chef", "guest"]
    assert "/menu_export/" in routes


def test_compiling_twice_gives_the_same_bytes():
    from shared.engine.compiler import compile_project

    s = S.spec("caps3_academy", "export")
    a, b = compile_project(s, S.design()), compile_project(s, S.design())
    mine = [n for n in a if "course_export" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


@pytest.mark.parametrize("change, words", [
    ({"entities": ["dish", "menu"]}, ["'menu' is not an entity", "known entities"]),
    ({"pdf_entity": "recipe"}, ["pdf_entity 'recipe' is not an entity"]),
    ({"entities": ["dish", "dish"]}, ["lists a name twice"]),
])
def test_check_names_what_does_not_resolve(change, words):
    s = S.spec("caps3_menu", "export", **change)
    problems = export.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("menu_export" in p for p in spec_problems(s))


def test_check_wants_a_role_that_may_read():
    d = S.spec_dict("caps3_menu", "export")
    for r in d["roles"]:
        r["read"] = [e for e in r.get("read", []) if e != "ingredient"]
        r["write"] = [e for e in r.get("write", []) if e != "ingredient"]
    from shared.engine.appspec.model import AppSpec

    s = AppSpec.model_validate(d)
    assert any("no role may read 'ingredient'" in p for p in export.check(s.capabilities[0], s))
