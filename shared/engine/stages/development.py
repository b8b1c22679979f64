"""Stage 4 — development: compile the stored app spec into the project; on a QA loop-back, repair the spec first.

The spec is planned once, by the design stage, and stored (`specstore`: app-spec.json + app-spec-history.json).
This stage reads the current revision, checks it (`spec_problems`) and renders the project from it
(`compiler.compile_project`). On a QA loop-back (`inp.feedback`) QA's problems (error findings, unread words,
rules not enforced, failed criteria) go through the generator's repair path with the stored spec: a changed spec is
the next revision, written here; the built-in engine keeps its spec. Nothing is planned again; only a run with no
stored spec (its design stage ran before specs were stored) plans here. Artifacts: app-spec.json,
app-spec-history.json, app-spec.md (for people, with the feature trace), project.zip and project-manifest.json;
on a loop-back the summary records which findings were addressed, which files changed compared with the previous
attempt's manifest, and the repair of the spec.
"""

from __future__ import annotations

import json

from .. import specstore
from ..appspec import AppSpec, spec_problems
from ..artifacts import json_bytes, make_zip, read_json_artifact, sha256
from ..compiler import compile_project, count_test_methods, spec_with_routes
from ..compiler.specdoc import spec_markdown
from ..domain import detect_needs
from ..planner.custom_code import write_custom_operations
from ..textutil import shorten
from ..types import FAULTS, EngineConfigError, GenerationError
from . import StageOutput, qa, uiux_design

STAGE = "development"

# ------------------------------------------------------------------ fault injection (tests only)


def inject_fault(files: dict[str, bytes], fault: str) -> dict[str, bytes]:
    files = dict(files)
    if fault in ("failing_test", "always_failing_test"):
        files["tests/test_injected_fault.py"] = (
            b'"""Deliberately failing test injected by EngineConfig.fault_injection."""\n\n'
            b"import unittest\n\nfrom tests.support import AppTestCase\n\n\n"
            b"class InjectedFaultTest(AppTestCase):\n"
            b"    def test_health_reports_teapot(self):\n"
            b'        self.assertEqual(self.anon.get("/health").status_code, 418)\n\n\n'
            b'if __name__ == "__main__":\n    unittest.main()\n'
        )
    elif fault == "syntax_error":
        files["app/api.py"] = files["app/api.py"] + b"\n\ndef broken_endpoint(:\n    return None\n"
    elif fault == "lint_error":
        files["app/models.py"] = files["app/models.py"] + (
            b"\n\ndef _injected_helper():\n    return injected_undefined_name + 1\n"
        )
    elif fault == "hang":
        files["tests/test_injected_fault.py"] = (
            b'"""A test that never finishes, injected by EngineConfig.fault_injection."""\n\n'
            b"import time\nimport unittest\n\n\n"
            b"class InjectedHangTest(unittest.TestCase):\n"
            b"    def test_sleeps_forever(self):\n"
            b"        while True:\n            time.sleep(1)\n\n\n"
            b'if __name__ == "__main__":\n    unittest.main()\n'
        )
    else:
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
    return files


# ------------------------------------------------------------------ loop-back bookkeeping


def _finding_files(feedback: dict) -> list[str]:
    out = []
    for f in feedback.get("findings", []):
        path = f.get("file")
        if path and path not in out:
            out.append(path)
    return out


def describe_changes(feedback: dict | None, previous_manifest: dict | None, files: dict[str, bytes]) -> dict:
    if not feedback:
        return {}
    findings = feedback.get("findings", [])
    addressed = []
    for f in findings[:20]:
        where = f.get("file") or "project"
        addressed.append({
            "finding": shorten(f"{f.get('code') or f.get('kind')}: {f.get('message', '')}", 160),
            "file": where,
            "action": ("removed" if where not in files and where != "project" else "regenerated")
            + " from the verified template",
        })
    changed: list[str] = []
    if previous_manifest:
        before = {e["path"]: e["sha256"] for e in previous_manifest.get("files", [])}
        after = {p: sha256(d) for p, d in files.items()}
        changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    else:
        changed = _finding_files(feedback)
    return {"addressed": addressed, "changed_files": changed[:40]}


# ------------------------------------------------------------------ stage


def _design(inp) -> dict:
    try:
        return json.loads(inp.artifacts("uiux_design", "design-system.json"))
    except KeyError:
        return uiux_design.finalize(uiux_design.propose(inp.idea or {}, []))


def _needs(inp) -> list[str]:
    stack = inp.prior.get("tech_stack") or {}
    if "needs" in stack:
        return list(stack["needs"])
    return [k for k, v in detect_needs(inp.idea or {}).items() if v["detected"]]


AUTH_ENDPOINTS = 9  # signup, claim, login, logout, password, me; list, add and change users


def api_route_count(spec: AppSpec) -> int:
    """JSON endpoints of the generated app: auth and users, /health, /api/schema, 5 per entity, capabilities'."""
    return AUTH_ENDPOINTS + 2 + 5 * len(spec.entities) + sum(
        1 for c in spec.capabilities for r in c.routes if r.path.startswith("/api/"))


def custom_markdown(custom: list[dict]) -> str:
    if not custom:
        return ""
    lines = ["## Custom operations (LLM engine)", "", "| feature | module | result | attempts | reason |",
             "| --- | --- | --- | --- | --- |"]
    for row in custom:
        lines.append(f"| {str(row['feature']).replace('|', '/')} | {row['capability']} | {row['status']} | "
                     f"{row['attempts']} | {str(row.get('reason') or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _qa_report(inp) -> dict | None:
    try:
        return json.loads(inp.artifacts("qa", "qa-report.json"))
    except KeyError:
        return None


def _previous_project(inp) -> tuple[dict[str, bytes] | None, dict[tuple[str, str], str] | None]:
    """A change of a built app (shared/changes.py): the project it changes (whose revisions are kept and whose
    models the next revision is computed from) and the renames its edits made; (None, None) for a first build."""
    from ..artifacts import read_zip

    change = read_json_artifact(inp.artifacts, "uiux_design", "app-change.json", default={})
    if not change:
        return None, None
    previous = read_zip(inp.artifacts("uiux_design", "previous-project.zip"))
    return previous, {(t, old): new for t, old, new in change.get("renames") or []}


def stored_spec(inp, gen) -> tuple[AppSpec, dict, str, dict | None]:
    """(spec, history, origin, repair note): the stored spec, repaired with QA's problems on a loop-back."""
    idea = inp.idea or {}
    stored = specstore.current(inp.artifacts, idea)
    if stored is None:  # no stored spec (a run whose design stage predates it, or this stage run alone)
        spec, history = specstore.plan(idea, _needs(inp), gen, stage=STAGE, attempt=inp.attempt)
        return spec, history, "planned", None
    if not inp.feedback:
        return stored.spec, stored.history, "stored", None
    problems = specstore.qa_problems(stored.spec, inp.feedback, _qa_report(inp))
    spec, history, note = specstore.repair(stored, idea, _needs(inp), problems, gen, stage=STAGE,
                                           attempt=inp.attempt)
    return spec, history, ("repaired" if note["status"] == "changed" else "stored"), note


def run(inp, config, gen) -> StageOutput:
    design = _design(inp)
    spec, history, origin, repair = stored_spec(inp, gen)
    problems = spec_problems(spec)
    if problems:  # a planner must hand over a checked spec; compiling an unchecked one would hide the gap
        raise GenerationError("the app spec has problems: " + "; ".join(problems[:10]))
    spec = spec_with_routes(spec)
    previous, renames = _previous_project(inp)
    files = compile_project(spec, design, previous=previous, renames=renames)
    # LLM engine only: custom operations for not_covered features, installed only when their tests pass in QA
    files, custom = write_custom_operations(spec, files, gen, lambda f: qa.run_checks(f, config))
    fault = config.fault_injection
    injected = None
    if fault:
        if fault not in FAULTS:
            raise EngineConfigError(f"EngineConfig.fault_injection must be one of {FAULTS}, not {fault!r}")
        if inp.feedback is None or fault.startswith("always_"):
            files = inject_fault(files, fault)
            injected = fault
    previous_manifest = None
    if inp.feedback:
        try:
            previous_manifest = json.loads(inp.artifacts(STAGE, "project-manifest.json"))
        except KeyError:
            previous_manifest = None
    project_zip = make_zip(files)
    manifest = {
        "app_name": spec.name,
        "spec_version": spec.version,
        "spec_revision": int(history.get("revision") or 1),
        "spec_sha256": specstore.spec_sha256(spec),
        "entrypoint": "python -m app",
        "test_command": "python -m unittest discover -s tests -t . -v",
        "files": [{"path": p, "size": len(d), "sha256": sha256(d)} for p, d in sorted(files.items())],
        "total_size": sum(len(d) for d in files.values()),
        "zip_sha256": sha256(project_zip),
    }
    changes = describe_changes(inp.feedback, previous_manifest, files)
    planned = [t for t in spec.trace if t.status == "planned"]
    summary = {
        "app_name": spec.name,
        "entities": [e.name for e in spec.entities],
        "roles": [r.name for r in spec.roles],
        "capabilities": [{"id": c.id, "kind": c.kind} for c in spec.capabilities],
        "features_total": len(spec.trace),
        "features_planned": len(planned),
        "features_partial": sum(1 for t in spec.trace if t.status == "partial"),
        "endpoints": api_route_count(spec),
        "pages": ["home"] + [e.plural for e in spec.entities] + [c.id for c in spec.capabilities],
        "files": len(files),
        "tests": count_test_methods(files),
        "project_sha256": manifest["zip_sha256"],
        "attempt": inp.attempt,
        "spec": {"revision": int(history.get("revision") or 1), "sha256": specstore.spec_sha256(spec),
                 "origin": origin},
    }
    if repair:
        summary["spec"]["repair"] = {k: v for k, v in repair.items() if k != "changes"}
        if repair.get("changes"):
            summary["spec"]["changes"] = repair["changes"]
    if custom:
        summary["custom_operations"] = [{k: (shorten(v, 160) if isinstance(v, str) else v)
                                         for k, v in row.items() if k != "tests"} for row in custom[:5]]
    if injected:
        summary["fault_injected"] = injected
    if changes:
        summary["changes"] = {"addressed": changes["addressed"][:8], "changed_files": changes["changed_files"][:20]}
    artifacts = {
        specstore.SPEC_ARTIFACT: specstore.spec_bytes(spec),
        specstore.HISTORY_ARTIFACT: json_bytes(history),
        "app-spec.md": (spec_markdown(spec) + custom_markdown(custom)).encode("utf-8"),
        "project.zip": project_zip,
        "project-manifest.json": json_bytes(manifest),
    }
    return StageOutput("ok", summary, artifacts)
