"""Custom operations from the LLM engine for a not_covered feature, run in QA's sandbox (fake LLM server).

A good module ships and its feature counts as built; a broken one goes back with its test failures a
bounded number of times and, when it stays broken, never ships (the feature stays not_covered).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from shared.engine import EngineConfig
from shared.engine.appspec import spec_problems
from shared.engine.compiler import compile_project
from shared.engine.generators import BuiltinGenerator, LLMGenerator
from shared.engine.planner import plan_builtin
from shared.engine.planner.custom_code import CustomOperation, static_problems, write_custom_operations
from shared.engine.stages import qa, uiux_design

from .fake_llm import FakeLLM

IDEA = {"title": "Jam Log", "description": "Home preservers log their jars of jam.",
        "target_audience": "Home preservers", "key_features": ["Jars of jam with flavour",
                                                               "Weekly tally of jars per flavour"]}
FEATURE = "Weekly tally of jars per flavour"

GOOD_MODULE = '''"""Tally of jars per flavour."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from app import db, models, security

bp = Blueprint("custom_1", __name__)
Jar = models.MODELS["jar"]


@bp.get("/api/custom_1/tally")
@security.require_read("jar")
def tally():
    rows = db.session().execute(
        select(Jar.flavour_id, func.count(Jar.id)).group_by(Jar.flavour_id).order_by(Jar.flavour_id)).all()
    return jsonify({"items": [{"flavour_id": f, "jars": n} for f, n in rows]})
'''
BROKEN_MODULE = GOOD_MODULE.replace("func.count(Jar.id)", "func.count(Jar.id) + 1")
TESTS = '''from tests.support import AppTestCase


class TallyTest(AppTestCase):
    def test_counts_jars_per_flavour(self):
        owner = self.login()
        plum = self.make("flavour", client=owner)
        fig = self.make("flavour", client=owner)
        for fid in (plum["id"], plum["id"], fig["id"]):
            self.make("jar", client=owner, flavour_id=fid)
        r = self.call(owner, "GET", "/api/custom_1/tally")
        self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
        self.assertEqual(r.get_json()["items"], [{"flavour_id": plum["id"], "jars": 2},
                                                 {"flavour_id": fig["id"], "jars": 1}])

    def test_anonymous_is_refused(self):
        self.assertEqual(self.anon.get("/api/custom_1/tally").status_code, 401)
'''


def _op(module: str, tests: str = TESTS) -> dict:
    return {"summary": "Counts jars per flavour", "module": module, "tests": tests}


@pytest.fixture(scope="module")
def project():
    spec = plan_builtin(IDEA)
    assert spec_problems(spec) == []
    trace = {t.feature: t for t in spec.trace}
    assert trace[FEATURE].status == "not_covered"
    assert spec.entity("jar").field("flavour_id").ref == "flavour"
    design = uiux_design.finalize(uiux_design.propose(IDEA, []))
    return spec, compile_project(spec, design)


def _gen(fake: FakeLLM) -> LLMGenerator:
    return LLMGenerator(EngineConfig(llm_base_url=fake.base_url, llm_api_key="k", llm_timeout_s=5.0,
                                     llm_max_repairs=1))


def _runner(tmp_path):
    config = EngineConfig(state_dir=str(tmp_path), qa_timeout_s=90.0)
    runs = []

    def run(files):
        result = qa.run_checks(files, config)
        runs.append(result)
        return result

    return run, runs


def test_static_checks_refuse_unsafe_or_unguarded_code():
    bad = GOOD_MODULE.replace("from app import db, models, security", "import os\nfrom app import db, models, security")
    bad = bad.replace('@security.require_read("jar")\n', "").replace("/api/custom_1/tally", "/api/jars/tally")
    problems = static_problems(CustomOperation(**_op(bad)), "custom_1")
    text = " | ".join(problems)
    assert "imports 'os'" in text and "has no security decorator" in text and "must be under /api/custom_1/" in text
    assert static_problems(CustomOperation(**_op(GOOD_MODULE)), "custom_1") == []
    assert "does not parse" in " ".join(static_problems(CustomOperation(**_op("def broken(:\n    pass\n")),
                                                        "custom_1"))


def test_the_builtin_engine_writes_no_custom_code(project, tmp_path):
    spec, files = project
    out, report = write_custom_operations(spec, files, BuiltinGenerator(), lambda f: pytest.fail("ran tests"))
    assert out is files and report == []


def test_a_good_module_ships_and_its_feature_is_built(project, tmp_path):
    spec, files = project
    run, runs = _runner(tmp_path)
    with FakeLLM([{"content": _op(GOOD_MODULE)}]) as fake:
        out, report = write_custom_operations(spec, files, _gen(fake), run, max_repairs=1)
    assert [r["status"] for r in report] == ["built"] and report[0]["capability"] == "custom_1"
    assert out["app/capabilities/custom_1.py"].decode() == GOOD_MODULE
    assert "'custom_1'" in out["app/capabilities/__init__.py"].decode()
    assert len(runs) == 1 and runs[0]["passed"]
    coverage = qa.feature_coverage(out, runs[0]["test_results"], True)
    row = next(r for r in coverage["features"] if r["feature"] == FEATURE)
    # its own tests ran and passed, but no acceptance criterion checks a custom operation: honestly partial
    assert row["status"] == "partial" and any(t.startswith("tests.test_cap_custom_1.") for t in row["tests"])
    assert row["passed"] is True and "custom operation" in row["built_as"]
    assert any("no acceptance criterion" in nb for nb in row["not_built"])
    assert json.loads(out["app/spec.json"])["trace"][1]["capabilities"] == ["custom_1"]
    # no table of its own: the factory's revision still matches, and factory.json names the spec now shipped
    assert out["migrations/versions/0001_initial.py"] == files["migrations/versions/0001_initial.py"]
    assert json.loads(out["app/factory.json"])["spec_sha256"] == hashlib.sha256(out["app/spec.json"]).hexdigest()


def test_a_broken_module_is_repaired_with_its_test_failures(project, tmp_path):
    spec, files = project
    run, runs = _runner(tmp_path)
    with FakeLLM([{"content": _op(BROKEN_MODULE)}, {"content": _op(GOOD_MODULE)}]) as fake:
        out, report = write_custom_operations(spec, files, _gen(fake), run, max_repairs=1)
        second = json.loads(fake.requests[1]["messages"][1]["content"])["context"]
    assert report[0]["status"] == "built" and report[0]["attempts"] == 2 and len(runs) == 2
    assert "test_counts_jars_per_flavour" in second["repair"]["problem"]
    assert second["repair"]["previous_module"] == BROKEN_MODULE
    assert out["app/capabilities/custom_1.py"].decode() == GOOD_MODULE


def test_a_module_that_stays_broken_never_ships(project, tmp_path):
    spec, files = project
    run, runs = _runner(tmp_path)
    with FakeLLM([{"content": _op(BROKEN_MODULE)}]) as fake:
        out, report = write_custom_operations(spec, files, _gen(fake), run, max_repairs=1)
    assert len(fake.requests) == 2 and len(runs) == 2
    assert report[0]["status"] == "not_covered" and "not shipped" in report[0]["reason"]
    assert out is files and "app/capabilities/custom_1.py" not in out
    assert json.loads(out["app/spec.json"])["trace"][1]["status"] == "not_covered"
