"""Custom operations written by the LLM engine for features the capability library lacks (issue 11).

When the LLM engine serves development, `write_custom_operations` asks the model, for each `not_covered`
feature (at most `limit`), for one module against the generated app's models plus its tests:

* the module is `app/capabilities/<id>.py` (a Flask blueprint `bp`, routes only under `/api/<id>/` or
  `/<id>/`, every route guarded by a `security` decorator, no tables of its own), the tests are
  `tests/test_cap_<id>.py` (unittest on `tests.support.AppTestCase`, at least one test);
* `static_problems` refuses code that does not parse, imports outside a short allow-list (no os,
  subprocess, socket, ...), calls eval/exec/open/__import__, declares routes elsewhere or unguarded —
  the LLM engine sends those back as repair messages;
* the candidate project (the module installed, its id appended to `CAPABILITIES`, `app/spec.json`'s trace
  entry planned with it) runs through `run_tests` (QA's sandbox in production). When any test fails the
  failures go back to the model, at most `max_repairs` times; a module whose tests still fail is dropped
  (the project stays as it was: a broken module never ships) and the feature stays `not_covered` with
  the reason.

The hook is narrow: `files, report = write_custom_operations(spec, files, gen, run_tests)`; nothing here
changes the AppSpec model, and the built-in engine returns the files untouched.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from ..appspec import AppSpec
from ..types import GenerationError, LLMOutputInvalid
from .draft import clip

TASK = "custom_operation"
TASK_TEXT = (
    "Write ONE custom operation for the generated Flask app so that the key feature in 'feature' works, "
    "against the app's existing models (app.models.MODELS[entity_name], columns as in 'entities'; "
    "app.db.session() is the request's SQLAlchemy session, commit explicitly; app.db.now() is the clock). "
    "'module' is the source of app/capabilities/{id}.py: `bp = Blueprint('{id}', __name__)`, routes only "
    "under /api/{id}/ (JSON) or /{id}/ (pages), every route decorated with app.security.login_required, "
    "require_read(entity), require_write(entity) or require_role(...); no new tables; errors via "
    "app.errors.ApiError(status, code, message). 'tests' is the source of tests/test_cap_{id}.py: unittest "
    "classes on tests.support.AppTestCase (self.login(role), self.call(client, method, path, json=...), "
    "self.make(entity, **fields), self.anon), at least one behaviour test and one abuse case. Allowed "
    "imports: {allowed}. If 'repair' is present, your previous module failed: fix it."
)

ALLOWED_IMPORTS = ("__future__", "datetime", "decimal", "json", "math", "re", "statistics", "collections",
                   "itertools", "functools", "typing", "dataclasses", "unittest", "flask", "sqlalchemy", "app",
                   "tests.support")
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars",
                             "breakpoint", "input", "setattr", "delattr"})
GUARDS = ("login_required", "require_read", "require_write", "require_role")


class CustomOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=300, description="what the operation does, for the founder")
    module: str = Field(min_length=20, max_length=20000, description="source of app/capabilities/<id>.py")
    tests: str = Field(min_length=20, max_length=20000, description="source of tests/test_cap_<id>.py")


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append(("." * node.level) + (node.module or ""))
    return out


def _allowed(name: str) -> bool:
    return any(name == a or name.startswith(a + ".") for a in ALLOWED_IMPORTS)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _parse(source: str, what: str) -> tuple[ast.AST | None, list[str]]:
    try:
        return ast.parse(source), []
    except SyntaxError as exc:
        return None, [f"{what} does not parse: {exc.msg} at line {exc.lineno}"]


def static_problems(op: CustomOperation, cid: str) -> list[str]:
    """What is wrong with the code before it is run, each a sentence the model can act on."""
    problems: list[str] = []
    mod, errs = _parse(op.module, "module")
    tst, errs2 = _parse(op.tests, "tests")
    problems += errs + errs2
    for tree, what in ((mod, "module"), (tst, "tests")):
        if tree is None:
            continue
        for name in _imports(tree):
            if not _allowed(name):
                problems.append(f"{what} imports {name!r}; allowed imports: {', '.join(ALLOWED_IMPORTS)}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                problems.append(f"{what} calls {node.func.id}() (line {node.lineno}); that is not allowed")
            if isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr not in (
                    "__name__", "__init__", "__future__"):
                problems.append(f"{what} uses {node.attr} (line {node.lineno}); dunder access is not allowed")
    if mod is not None:
        bp_ok = any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "bp" for t in n.targets)
                    and isinstance(n.value, ast.Call) and _dotted(n.value.func).endswith("Blueprint")
                    and n.value.args and isinstance(n.value.args[0], ast.Constant) and n.value.args[0].value == cid
                    for n in mod.body)
        if not bp_ok:
            problems.append(f"module must define bp = Blueprint({cid!r}, __name__) at the top level")
        routes = 0
        for node in ast.walk(mod):
            if isinstance(node, ast.ClassDef) and any(_dotted(b).endswith("Base") for b in node.bases):
                problems.append(f"class {node.name} defines a table; use the existing models only")
            if not isinstance(node, ast.FunctionDef):
                continue
            decos = [_dotted(d) for d in node.decorator_list]
            paths = [d.args[0].value for d in node.decorator_list
                     if isinstance(d, ast.Call) and _dotted(d.func).startswith("bp.") and d.args
                     and isinstance(d.args[0], ast.Constant) and isinstance(d.args[0].value, str)]
            if not paths:
                continue
            routes += 1
            for p in paths:
                if not (p.startswith(f"/api/{cid}/") or p.startswith(f"/{cid}/") or p in (f"/api/{cid}", f"/{cid}")):
                    problems.append(f"route {p!r} of {node.name} must be under /api/{cid}/ or /{cid}/")
            if not any(d.rsplit(".", 1)[-1] in GUARDS for d in decos):
                problems.append(f"route function {node.name} has no security decorator ({', '.join(GUARDS)})")
        if routes == 0:
            problems.append("module declares no route (use @bp.get/@bp.post with a path)")
    if tst is not None:
        tests = [n for n in ast.walk(tst) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        cases = [n for n in ast.walk(tst) if isinstance(n, ast.ClassDef)
                 and any(_dotted(b).endswith("AppTestCase") for b in n.bases)]
        if not cases or not tests:
            problems.append("tests need a class on tests.support.AppTestCase with at least one test_ method")
    return problems


def _capabilities_init(source: str, cid: str) -> str:
    m = re.search(r"^CAPABILITIES = (\[.*?\])$", source, re.MULTILINE | re.DOTALL)
    if m is None:
        raise GenerationError("app/capabilities/__init__.py has no CAPABILITIES list to extend")
    ids = ast.literal_eval(m.group(1))
    if cid not in ids:
        ids.append(cid)
    return source[: m.start(1)] + repr(ids) + source[m.end(1):]


def install(files: dict[str, bytes], cid: str, feature: str, op: CustomOperation) -> dict[str, bytes]:
    """The project with the custom operation in it (a new dict; `files` is not changed)."""
    out = dict(files)
    out[f"app/capabilities/{cid}.py"] = op.module.encode("utf-8")
    out[f"tests/test_cap_{cid}.py"] = op.tests.encode("utf-8")
    init = out["app/capabilities/__init__.py"].decode("utf-8")
    out["app/capabilities/__init__.py"] = _capabilities_init(init, cid).encode("utf-8")
    spec = json.loads(out["app/spec.json"])
    spec.setdefault("capabilities", []).append(
        {"id": cid, "kind": "custom", "label": clip(feature, 80), "summary": clip(op.summary, 300), "routes": []})
    for t in spec.get("trace", []):
        if t["feature"] == feature:
            t.update(status="planned", capabilities=[cid], reason=None)
    out["app/spec.json"] = (json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    if "app/factory.json" in out:  # what produced the app names the spec it now ships
        from ..compiler import factory_record

        out["app/factory.json"] = factory_record(out["app/spec.json"], json.loads(out["app/factory.json"])["revision"])
    return out


def _context(spec: AppSpec, feature: str, cid: str, files: dict[str, bytes]) -> dict:
    return {
        "id": cid,
        "feature": feature,
        "instructions": TASK_TEXT.replace("{id}", cid).replace("{allowed}", ", ".join(ALLOWED_IMPORTS)),
        "entities": [e.model_dump(mode="json", include={"name", "plural", "fields"}) for e in spec.entities],
        "roles": [r.model_dump(mode="json", include={"name", "read", "write", "scope"}) for r in spec.roles],
        "models_py": files.get("app/models.py", b"").decode("utf-8")[:12000],
    }


def _custom_results(result: dict, cid: str) -> dict[str, str]:
    return {tid: st for tid, st in (result.get("test_results") or {}).items()
            if tid.startswith(f"tests.test_cap_{cid}.")}


def write_custom_operations(spec: AppSpec, files: dict[str, bytes], gen,
                            run_tests: Callable[[dict[str, bytes]], dict], *, max_repairs: int = 2,
                            limit: int = 3) -> tuple[dict[str, bytes], list[dict]]:
    """(files, report): the project with every custom operation whose tests passed, and one report row per
    `not_covered` feature tried ({feature, capability, status built|not_covered, attempts, tests, reason})."""
    if getattr(gen, "engine", "") != "llm":
        return files, []
    report: list[dict] = []
    taken = {c.id for c in spec.capabilities}
    n = 0
    for t in [t for t in spec.trace if t.status == "not_covered"][:limit]:
        n += 1
        cid = f"custom_{n}"
        while cid in taken:
            n += 1
            cid = f"custom_{n}"
        taken.add(cid)
        row = {"feature": t.feature, "capability": cid, "status": "not_covered", "attempts": 0, "tests": [],
               "reason": t.reason}
        context = _context(spec, t.feature, cid, files)
        for attempt in range(1 + max(0, max_repairs)):
            row["attempts"] = attempt + 1
            try:
                op = gen.generate(TASK, context, CustomOperation, check=lambda o, cid=cid: static_problems(o, cid))
            except (LLMOutputInvalid, GenerationError) as exc:
                row["reason"] = clip(f"{t.reason} The LLM engine's custom code was refused: {exc}", 400)
                break
            candidate = install(files, cid, t.feature, op)
            result = run_tests(candidate)
            mine = _custom_results(result, cid)
            failed = sorted(tid for tid, st in mine.items() if st != "passed")
            if mine and not failed and result.get("passed"):
                files = candidate
                row.update(status="built", tests=sorted(mine), reason=None, summary=op.summary)
                break
            problem = ("its tests did not run" if not mine else f"failing tests: {', '.join(failed)}") if (
                not mine or failed) else "it broke other tests of the app"
            tail = str(result.get("test_output_tail") or "")[-3000:]
            row["reason"] = clip(f"{t.reason} A custom operation was written by the LLM engine but {problem} "
                                 f"after {attempt + 1} attempt(s), so it was not shipped.", 400)
            context = dict(context, repair={"problem": problem, "test_output": tail,
                                            "previous_module": op.module, "previous_tests": op.tests})
        report.append(row)
    return files, report
