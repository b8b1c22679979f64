"""The routes export, ratings, follow, leaderboard, matrix, ai_summary and payments declare (in the spec and at
/api/schema) are exactly the routes their generated blueprints serve, with all seven in one app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.compiler import compile_project

from . import _caps3_specs as S

CHILD = r"""
import json, sys, tempfile
from app import create_app
app = create_app({"DATABASE_URL": "sqlite:///" + tempfile.mkdtemp() + "/x.db", "TESTING": True, "SECRET_KEY": "t"})
rules = sorted({(m, str(r.rule)) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}})
print(json.dumps(rules))
"""


@pytest.mark.parametrize("idea", S.IDEAS)
def test_declared_routes_are_the_served_routes(idea, tmp_path):
    spec = AppSpec.model_validate(json.loads(S._raw(idea)))
    assert spec_problems(spec) == []
    assert len({c.kind for c in spec.capabilities}) == 7
    files = compile_project(spec, S.design())
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    served = {tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])}
    declared_spec = json.loads(files["app/spec.json"])
    for cap in declared_spec["capabilities"]:
        declared = {(r["method"], r["path"]) for r in cap["routes"]}
        mine = {x for x in served if x[1].startswith((f"/api/{cap['id']}/", f"/{cap['id']}/"))}
        assert declared == mine, (cap["id"], sorted(declared ^ mine))
        assert all(r["roles"] or r["path"].endswith("/webhook") for r in cap["routes"]), cap["id"]
