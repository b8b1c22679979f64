"""The app compiler: a hand-written spec compiles deterministically into an app whose own tests pass in the
QA sandbox, whose tests fail when the behaviour they guard is broken, and whose coverage table is honest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from shared.engine import EngineConfig
from shared.engine.appspec import AppSpec, spec_problems
from shared.engine.artifacts import make_zip
from shared.engine.compiler import bad_values, compile_project, default_design, environment
from shared.engine.compiler.pyliteral import py
from shared.engine.stages.qa import run_checks

SPEC_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "specs" / "kiln_studio.json"


@pytest.fixture(scope="module")
def spec() -> AppSpec:
    return AppSpec.model_validate(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def files(spec) -> dict[str, bytes]:
    return compile_project(spec, default_design(spec))


def test_fixture_spec_has_no_problems(spec):
    assert spec_problems(spec) == []


def test_same_spec_gives_a_byte_identical_project(spec, files):
    again = compile_project(AppSpec.model_validate(json.loads(SPEC_FILE.read_text())), default_design(spec))
    assert again == files
    assert make_zip(again) == make_zip(files)


def test_project_layout_follows_the_contract(files):
    for path in ("app/__init__.py", "app/__main__.py", "app/spec.json", "app/db.py", "app/models.py",
                 "app/security.py", "app/errors.py", "app/validation.py", "app/capabilities/__init__.py",
                 "app/capabilities/glaze_log.py", "app/templates/base.html", "tests/support.py", "tests/test_auth.py",
                 "tests/test_kiln.py", "tests/test_firing.py", "tests/test_member.py", "tests/test_cap_glaze_log.py",
                 "requirements.txt", "README.md", "ruff.toml"):
        assert path in files, path
    models = files["app/models.py"].decode()
    assert "class Firing(db.Base):" in models and 'sa.ForeignKey("kilns.id")' in models
    assert "kiln: orm.Mapped[Kiln] = orm.relationship(" in models
    spec_json = json.loads(files["app/spec.json"])
    [cap] = spec_json["capabilities"]
    assert {r["path"] for r in cap["routes"]} == {"/api/glaze_log/items", "/glaze_log"}
    reqs = files["requirements.txt"].decode().split()
    assert "SQLAlchemy==2.1.9" in reqs and all("==" in line for line in reqs)


def test_strict_undefined_refuses_an_unknown_variable():
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("[[ no_such_name ]]").render()


def test_compile_time_delimiters_leave_page_templates_alone(files):
    assert "{% extends \"base.html\" %}" in files["app/templates/capabilities/glaze_log/view.html"].decode()


def test_py_literals_round_trip():
    value = {"a": "x " * 80, "b": [1, 2.5, None, True], "c": {"d": "quote \" and \\ backslash"}}
    assert eval(py(value)) == value  # noqa: S307 (our own literal)


def test_bad_values_cover_every_field_and_banana_datetimes(spec):
    firing = spec.entity("firing")
    bad = dict((f, v) for f, v in bad_values(firing))
    assert bad["start"] == "banana" and bad["end"] == "banana"
    assert {f for f, _ in bad_values(firing)} == {f.name for f in firing.fields}


def test_generated_app_passes_its_tests_in_the_sandbox_and_reports_coverage(files):
    result = run_checks(files, EngineConfig(qa_timeout_s=60))
    assert result["passed"] is True, result["findings"][:5]
    assert result["findings"] == []  # ruff-clean with the project's own ruff.toml
    assert result["tests"]["run"] >= 50 and result["tests"]["failures"] == result["tests"]["errors"] == 0
    cov = result["coverage"]
    assert (cov["features_built"], cov["features_total"]) == (1, 3)
    rows = {r["feature"]: r for r in cov["features"]}
    built = rows["Track glaze and cone temperatures"]
    assert built["status"] == "built" and built["passed"] is True
    assert built["tests"] and all(t.startswith("tests.test_cap_glaze_log.") for t in built["tests"])
    assert rows["Book kiln firings"]["status"] == "not_covered" and "Booking" in rows["Book kiln firings"]["reason"]
    ids = set(result["test_results"])
    for name in ("test_every_field_is_validated", "test_read_only_role_member_cannot_write",
                 "test_role_member_changes_only_its_own_rows", "test_anonymous_write_is_refused",
                 "test_write_without_csrf_token_is_refused", "test_output_is_escaped"):
        assert any(i.endswith("." + name) for i in ids), name


MUTATIONS = [
    # (file, original, broken, the test module that must catch it)
    ("app/security.py", 'return entity in role["write"]', "return True", "tests.test_kiln"),
    ("app/security.py", 'return role["scope"] == "all" or', "return True or", "tests.test_firing"),
    ("app/security.py", "    app.before_request(_check_csrf)\n", "", "tests.test_auth"),
    ("app/validation.py", '    if kind == "datetime":\n        return parse_datetime(value)',
     '    if kind == "datetime":\n        return value', "tests.test_firing"),
    ("app/validation.py", "get_visible(field[\"ref\"], out[name]) is None", "False", "tests.test_firing"),
    ("app/templates/_field_value.html", "{%- else -%}{{ v }}", "{%- else -%}{{ v | safe }}", "tests.test_kiln"),
    ("app/capabilities/glaze_log.py", '{name: data[name] for name in FIELDS}', "data", "tests.test_cap_glaze_log"),
    ("app/validation.py", "    if amount.copy_abs() > MONEY_MAX:", "    if False:", "tests.test_kiln"),  # "1e30" -> 500
]


@pytest.mark.parametrize("path,original,broken,module", MUTATIONS, ids=[f"{m[0]}:{i}" for i, m in enumerate(MUTATIONS)])
def test_generated_tests_catch_a_broken_behaviour(files, tmp_path, path, original, broken, module):
    text = files[path].decode()
    assert original in text, "the mutation no longer matches the template"
    for rel, data in files.items():
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    (tmp_path / path).write_text(text.replace(original, broken, 1), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "unittest", module], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode != 0, f"{module} still passes with {path} broken"
    assert "FAILED" in proc.stderr


def test_development_stage_stores_the_spec_and_the_project(state_dir):
    from shared.engine import StageInput, no_artifacts, run_stage
    from shared.engine.artifacts import read_zip

    from .corpus import idea_by_id

    result = run_stage("development", StageInput("dev-art", "t", idea_by_id("billable"), {}, no_artifacts),
                       EngineConfig(state_dir=state_dir))
    assert result.outcome == "ok", result.reason
    assert set(result.artifacts) == {"app-spec.json", "app-spec-history.json", "app-spec.md", "project.zip",
                                     "project-manifest.json"}
    assert result.summary["spec"]["origin"] == "planned"  # run alone, with no stored spec: it plans it here
    spec = AppSpec.model_validate_json(result.artifacts["app-spec.json"])
    assert spec_problems(spec) == []
    project = read_zip(result.artifacts["project.zip"])
    assert json.loads(project["app/spec.json"]) == json.loads(result.artifacts["app-spec.json"])
    md = result.artifacts["app-spec.md"].decode()
    assert "## Feature trace" in md and all(t.feature.replace("|", "/") in md for t in spec.trace)
    summary = result.summary
    assert summary["features_total"] == len(spec.trace) and summary["entities"] == [e.name for e in spec.entities]
    manifest = json.loads(result.artifacts["project-manifest.json"])
    assert {f["path"] for f in manifest["files"]} == set(project)


def test_a_spec_with_problems_is_a_clear_failure_not_a_build(state_dir, monkeypatch):
    from shared.engine import StageInput, no_artifacts, planner, run_stage

    broken = json.loads(SPEC_FILE.read_text())
    broken["trace"] = broken["trace"][1:]  # "Book kiln firings" is no longer traced
    # development plans only when the run holds no stored spec (decision 0021): this run holds none
    monkeypatch.setattr(planner, "plan_spec", lambda context, gen: AppSpec.model_validate(broken))
    result = run_stage("development", StageInput("dev-bad", "t", {"title": "Kiln", "description": "x"}, {},
                                                 no_artifacts), EngineConfig(state_dir=state_dir))
    assert result.outcome == "reject" and result.artifacts == {}
    assert "Book kiln firings" in result.reason and "missing from the trace" in result.reason


MONEY_PROBE = """import unittest

from tests.support import AppTestCase


class MoneyProbe(AppTestCase):
    made = 0

    def post(self, **fields):
        MoneyProbe.made += 1  # a fresh variant each time: the kiln's name is unique
        return self.call(self.owner(), "POST", "/api/kilns", json=dict(self.sample("kiln", 100 + self.made), **fields))

    def test_amounts_the_column_cannot_hold_are_refused(self):
        for bad in ("1e30", 1e30, "NaN", "Infinity", "-Infinity", "-1.00", -0.01, "12.345", "1e-5", "9" * 41,
                    "10000000000.00"):
            with self.subTest(value=bad):
                r = self.post(hourly_cost=bad)
                self.assertEqual(r.status_code, 400, r.get_data(as_text=True))
                error = r.get_json()["error"]
                self.assertEqual(error["code"], "invalid")
                self.assertTrue(error["details"]["hourly_cost"].startswith(("must", "may")))
        self.assertEqual(self.post(hourly_cost="-1.00").get_json()["error"]["details"]["hourly_cost"],
                         "must not be negative")

    def test_exponent_within_the_column_is_an_amount(self):
        r = self.post(hourly_cost="1e2")
        self.assertEqual(r.status_code, 201, r.get_data(as_text=True))
        self.assertEqual(r.get_json()["hourly_cost"], "100.00")
        self.assertEqual(self.post(hourly_cost="9999999999.99").status_code, 201)

    def test_integers_beyond_the_column_are_refused(self):
        for bad in (2**31, str(2**40), 1e30):
            with self.subTest(value=bad):
                r = self.post(max_temperature=bad)
                self.assertEqual(r.status_code, 400, r.get_data(as_text=True))
                self.assertIn("max_temperature", r.get_json()["error"]["details"])
"""


def test_money_without_a_min_refuses_bad_amounts_with_a_400(spec, tmp_path):
    """The PROBE_REPORT's 500 on {"amount": "1e30"}; money is never negative unless the spec's min allows it."""
    data = spec.model_dump(mode="json")
    kiln = next(e for e in data["entities"] if e["name"] == "kiln")
    next(f for f in kiln["fields"] if f["name"] == "hourly_cost")["min"] = None
    changed = AppSpec.model_validate(data)
    out = compile_project(changed, default_design(changed))
    assert ["hourly_cost", "-1.00"] in bad_values(changed.entity("kiln"))
    for rel, blob in out.items():
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(blob)
    (tmp_path / "tests" / "test_money_probe.py").write_text(MONEY_PROBE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "unittest", "tests.test_money_probe", "tests.test_kiln"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_negative_min_lets_money_go_below_zero(spec, tmp_path):
    data = spec.model_dump(mode="json")
    kiln = next(e for e in data["entities"] if e["name"] == "kiln")
    next(f for f in kiln["fields"] if f["name"] == "hourly_cost")["min"] = -100
    changed = AppSpec.model_validate(data)
    out = compile_project(changed, default_design(changed))
    for rel, blob in out.items():
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(blob)
    (tmp_path / "tests" / "test_neg.py").write_text(
        "from tests.support import AppTestCase\n\n\nclass Neg(AppTestCase):\n    def test_refund(self):\n"
        "        r = self.call(self.owner(), 'POST', '/api/kilns', json=dict(self.sample('kiln'), hourly_cost='-5.50'))\n"
        "        self.assertEqual((r.status_code, r.get_json().get('hourly_cost')), (201, '-5.50'))\n"
        "        r = self.call(self.owner(), 'POST', '/api/kilns', json=dict(self.sample('kiln', 9), hourly_cost='-100.01'))\n"
        "        self.assertEqual(r.status_code, 400)\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "unittest", "tests.test_neg"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_join_entity_links_each_pair_once(tmp_path):
    """Many-to-many join rows: a unique constraint plus a 409 conflict; the generated test catches its absence."""
    from shared.engine.compiler import link_pairs
    from shared.engine.planner import plan_builtin

    from .corpus import idea_by_id

    menu = plan_builtin(idea_by_id("allergen-menu"))
    assert link_pairs(menu) == {"dish_ingredient": [["dish_id", "ingredient_id"]],
                                "ingredient_allergen": [["ingredient_id", "allergen_id"]]}
    out = compile_project(menu, default_design(menu))
    assert "sa.UniqueConstraint(\"dish_id\", \"ingredient_id\"" in out["app/models.py"].decode()
    for rel, blob in out.items():
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(blob)

    def run():
        return subprocess.run([sys.executable, "-m", "unittest", "tests.test_dish_ingredient"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)

    proc = run()
    assert proc.returncode == 0 and "test_each_pair_is_linked_once" in (tmp_path / "tests" / "test_dish_ingredient.py"
                                                                       ).read_text(), proc.stderr[-3000:]
    validation = tmp_path / "app" / "validation.py"
    text = validation.read_text()
    assert 'for pair in meta.get("unique_together", [])' in text
    validation.write_text(text.replace('for pair in meta.get("unique_together", [])', "for pair in []"))
    assert run().returncode != 0  # without the check the second link is a 500 (constraint), not a 409


def test_dates_and_times_are_shown_in_words_not_raw_iso():
    """Junk labels (issue 17): "2030-01-07T10:00:00Z" on a page reads as "7 Jan 2030, 10:00 UTC"."""

    root = Path(__file__).resolve().parents[3] / "shared/engine/compiler/templates/static_files/app/templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), autoescape=True)
    show = env.get_template("_field_value.html").module.show
    when = show({"name": "at", "type": "datetime"}, {"at": "2030-01-07T10:05:00Z"}, {})
    day = show({"name": "on", "type": "date"}, {"on": "2021-03-04"}, {})
    assert ">7 Jan 2030, 10:05 UTC</time>" in str(when) and 'datetime="2030-01-07T10:05:00Z"' in str(when)
    assert ">4 Mar 2021</time>" in str(day)
    assert str(show({"name": "on", "type": "date"}, {"on": "soon"}, {})) == "soon"  # not a date: shown as stored


# ---------------------------------------------------------------- migrations (Alembic)


def test_the_initial_revision_creates_every_table_the_models_declare(spec, files):
    revision = files["migrations/versions/0001_initial.py"].decode()
    models = files["app/models.py"].decode()
    for table in ("users", "auth_owner_claim", "auth_login_failures", *(e.plural for e in spec.entities)):
        assert f"op.create_table('{table}'," in revision, table
    assert revision.index("op.create_table('kilns',") < revision.index("op.create_table('firings',")  # FK order
    # enums: a named CHECK in the model and in the revision; money and decimals: NUMERIC, never FLOAT
    assert """sa.CheckConstraint("\\"cone\\" IN ('cone_06', 'cone_04', 'cone_6', 'cone_10')", name="ck_firings_cone")""" \
        in models
    assert """sa.CheckConstraint('"cone" IN (\\'cone_06\\', \\'cone_04\\', \\'cone_6\\', \\'cone_10\\')', name='ck_firings_cone')""" \
        in revision
    assert "name='ck_members_membership'" in revision
    assert "sa.Column('hourly_cost', sa.Numeric(precision=12, scale=2), nullable=True)" in revision
    assert "sa.Column('capacity', sa.Numeric(asdecimal=False), nullable=True)" in revision
    assert "Float" not in revision and "Float" not in models
    assert "op.create_index(op.f('ix_firings_kiln_id'), 'firings', ['kiln_id'], unique=False)" in revision
    assert "sa.ForeignKeyConstraint(['kiln_id'], ['kilns.id'], name=op.f('fk_firings_kiln_id_kilns'))" in revision
    assert "op.drop_table('kilns')" in revision and "create_all" not in revision
    compile(revision, "0001_initial.py", "exec")


def test_the_project_ships_flask_migrate_layout_and_what_produced_it(files):
    import hashlib

    for path in ("migrations/alembic.ini", "migrations/env.py", "migrations/script.py.mako",
                 "migrations/versions/0001_initial.py", "tests/test_migrations.py", "app/factory.json"):
        assert path in files, path
    record = json.loads(files["app/factory.json"])
    assert record == {"factory_version": "2.0", "revision": "0001",
                      "spec_sha256": hashlib.sha256(files["app/spec.json"]).hexdigest()}
    reqs = files["requirements.txt"].decode().split()
    assert {"alembic==1.20.1", "Flask-Migrate==4.1.0", "Mako==1.4.3"} <= set(reqs)
    assert "render_as_batch" in files["migrations/env.py"].decode()


def test_rendering_the_revision_leaves_the_factorys_modules_alone(files):
    import sys
    import types

    from shared.engine.compiler.revision import initial_revision

    sentinel = types.ModuleType("app")
    sys.modules["app"] = sentinel
    try:
        up, _down = initial_revision(files)
        assert sys.modules["app"] is sentinel and "app.models" not in sys.modules
    finally:
        del sys.modules["app"]
    assert "op.create_table('users'," in up


def test_after_create_ddl_is_rendered_behind_its_dialect_and_anything_else_is_refused():
    import sqlalchemy as sa

    from shared.engine.compiler.revision import RevisionError, render_operations

    md = sa.MetaData()
    t = sa.Table("slots", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.event.listen(t, "after_create", sa.DDL("INSERT INTO slots (id) VALUES (1)"))
    sa.event.listen(t, "after_create", sa.DDL("CREATE EXTENSION x").execute_if(dialect="postgresql"))
    up, down = render_operations(md)
    assert "    op.execute('INSERT INTO slots (id) VALUES (1)')" in up
    assert "    if op.get_context().dialect.name in ('postgresql',):\n        op.execute('CREATE EXTENSION x')" in up
    assert "op.drop_table('slots')" in down

    sa.event.listen(t, "after_create", lambda target, connection, **kw: None)
    with pytest.raises(RevisionError, match="slots.*not a DDL statement"):
        render_operations(md)


def test_near_payload_moves_sample_times_to_next_week_keeping_order_and_spacing():
    from datetime import date, datetime

    from shared.engine.compiler.samples import near_payload, sample_payload

    ent = {"fields": [{"name": "starts_at", "type": "datetime", "required": True},
                      {"name": "ends_at", "type": "datetime", "required": True},
                      {"name": "day", "type": "date", "required": True}]}
    today = date(2026, 12, 7)
    a, b = near_payload(ent, 0, today), near_payload(ent, 2, today)
    start, end = (datetime.fromisoformat(a[k].replace("Z", "+00:00")) for k in ("starts_at", "ends_at"))
    assert start.date() == date(2026, 12, 14) and start < end
    raw = sample_payload(ent, 0)
    assert (end - start) == (datetime.fromisoformat(raw["ends_at"].replace("Z", "+00:00"))
                             - datetime.fromisoformat(raw["starts_at"].replace("Z", "+00:00")))
    assert datetime.fromisoformat(b["starts_at"].replace("Z", "+00:00")).date() == date(2026, 12, 16)
    assert a["day"] == raw["day"]  # dates stay as sampled
