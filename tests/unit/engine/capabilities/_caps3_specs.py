"""Shared by the factory tests of export, ratings, follow, leaderboard, matrix, ai_summary and payments.

Two hand-written specs from different domains live under tests/fixtures/specs/ (caps3_menu: a restaurant's
dishes, ingredients and allergens; caps3_academy: instructors' courses, modules, skills and feedback). Each
test keeps the capabilities of one kind (and their trace entries), compiles the project and runs the
generated behaviour tests of those capabilities in a subprocess.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.compiler import compile_project

SPECS = Path(__file__).resolve().parents[3] / "fixtures" / "specs"
IDEAS = ("caps3_menu", "caps3_academy")


@cache
def _raw(name: str) -> str:
    return (SPECS / f"{name}.json").read_text(encoding="utf-8")


def spec_dict(name: str, kind: str) -> dict:
    """The fixture with only the capabilities of `kind` (and the features they realise)."""
    d = copy.deepcopy(json.loads(_raw(name)))
    d["capabilities"] = [c for c in d["capabilities"] if c["kind"] == kind]
    ids = {c["id"] for c in d["capabilities"]}
    d["trace"] = [t for t in d["trace"] if set(t["capabilities"]) <= ids]
    d["features"] = [t["feature"] for t in d["trace"]]
    return d


def spec(name: str, kind: str, **changes) -> AppSpec:
    """The spec of `spec_dict`, with `changes` applied to its (first) capability of `kind`."""
    d = spec_dict(name, kind)
    d["capabilities"][0].update(changes)
    return AppSpec.model_validate(d)


@cache
def design() -> dict:
    from shared.engine.stages.uiux_design import finalize, propose

    return finalize(propose({"title": "Test"}, []))


@dataclass
class Run:
    returncode: int
    output: str
    results: dict[str, str]  # test method name -> ok | FAIL | ERROR | skipped


def compile_and_run(s: AppSpec, where: Path, timeout_s: float = 120) -> tuple[dict[str, bytes], Run]:
    """Compile `s` (which must have no spec problems) under `where` and run its capability test modules."""
    assert spec_problems(s) == []
    files = compile_project(s, design())
    for path, data in files.items():
        target = where / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    modules = [f"tests.test_cap_{c.id}" for c in s.capabilities]
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", *modules], cwd=where, capture_output=True,
                          text=True, timeout=timeout_s, env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"})
    out = proc.stdout + proc.stderr
    results = {m.group(1): m.group(2) for m in re.finditer(r"^(test_\w+) \(.*?\) \.\.\. (ok|FAIL|ERROR|skipped)",
                                                          out, re.MULTILINE)}
    return files, Run(proc.returncode, out, results)


def assert_all_pass(run: Run, minimum: int, abuse: int = 1) -> None:
    assert run.returncode == 0, run.output[-4000:]
    assert len(run.results) >= minimum, run.output[-4000:]
    assert set(run.results.values()) == {"ok"}, run.results
    assert sum(1 for name in run.results if "abuse" in name) >= abuse, sorted(run.results)
