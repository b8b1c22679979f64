"""Static checks for a generated project: py_compile of every .py file plus a small AST lint.

Standard library only: QA copies this file into the sandbox and runs it as a script in the isolated
child (`python lint.py PROJECT_DIR PYC_DIR` prints a JSON report), so nothing here may import the engine.

Codes (severity):
  E999 syntax error (error)            F821 undefined name (error)
  F401 unused import (warning)         F811 redefinition of unused name (warning)
  E722 bare except (warning)           B006 mutable default argument (warning)
  E711 comparison to None with ==/!= (warning)
  S307 eval/exec (warning)             F541 f-string without placeholders (info)
  R001 requirements.txt missing or a line not pinned with == (error)
  P001 no tests/ package with test_*.py files (error)  P002 no README (warning)
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import py_compile
import re
import sys

ERROR, WARNING, INFO = "error", "warning", "info"

_BUILTINS = set(dir(builtins)) | {
    "__file__", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__", "__path__",
    "__annotations__", "__dict__", "__module__", "__qualname__", "__class__", "__debug__",
}

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _finding(path, line, code, severity, message):
    return {"file": path, "line": line, "code": code, "severity": severity, "message": message}


class _Scope:
    def __init__(self, kind: str, names: set[str]):
        self.kind = kind
        self.names = names


def _target_names(node) -> set[str]:
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Starred) and isinstance(sub.value, ast.Name):
            out.add(sub.value.id)
    return out


def _bindings(body: list[ast.AST]) -> tuple[set[str], bool]:
    """Names bound directly in a scope whose statements are `body` (not inside nested scopes)."""
    names: set[str] = set()
    star = False
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            else:
                stack.extend(node.bases)
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # only walrus targets leak out of a comprehension
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    names.add(sub.target.id)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                else:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.MatchAs) and node.name or isinstance(node, ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names, star


def _args_names(args: ast.arguments) -> set[str]:
    out = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg:
        out.add(args.vararg.arg)
    if args.kwarg:
        out.add(args.kwarg.arg)
    return out


class _UndefinedNames:
    def __init__(self, tree: ast.Module, path: str):
        self.path = path
        self.findings: list[dict] = []
        module_names, self.star = _bindings(tree.body)
        for node in ast.walk(tree):  # `global x` inside a function binds x at module level
            if isinstance(node, ast.Global):
                module_names.update(node.names)
        self.tree = tree
        self.module = _Scope("module", module_names)

    def run(self) -> list[dict]:
        if not self.star:
            for stmt in self.tree.body:
                self._visit(stmt, [self.module])
        return self.findings

    def _lookup(self, name: str, chain: list[_Scope]) -> bool:
        innermost = chain[-1]
        for scope in reversed(chain):
            if scope.kind == "class" and scope is not innermost:
                continue  # class bodies are not visible to nested scopes
            if name in scope.names:
                return True
        return name in _BUILTINS

    def _visit(self, node, chain: list[_Scope]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                self._visit(d, chain)
            self._visit_args(node.args, chain)
            if node.returns:
                self._visit(node.returns, chain)
            names, _ = _bindings(node.body)
            names |= _args_names(node.args)
            inner = chain + [_Scope("function", names)]
            for stmt in node.body:
                self._visit(stmt, inner)
            return
        if isinstance(node, ast.Lambda):
            self._visit_args(node.args, chain)
            self._visit(node.body, chain + [_Scope("function", _args_names(node.args))])
            return
        if isinstance(node, ast.ClassDef):
            for d in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                self._visit(d, chain)
            names, _ = _bindings(node.body)
            inner = chain + [_Scope("class", names | {"__qualname__", "__module__"})]
            for stmt in node.body:
                self._visit(stmt, inner)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            first, rest = node.generators[0], node.generators[1:]
            self._visit(first.iter, chain)
            names: set[str] = set()
            for gen in node.generators:
                names |= _target_names(gen.target)
            inner = chain + [_Scope("function", names)]
            for cond in first.ifs:
                self._visit(cond, inner)
            for gen in rest:
                self._visit(gen.iter, inner)
                for cond in gen.ifs:
                    self._visit(cond, inner)
            elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for e in elts:
                self._visit(e, inner)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if not self._lookup(node.id, chain):
                self.findings.append(_finding(self.path, node.lineno, "F821", ERROR, f"undefined name '{node.id}'"))
            return
        if isinstance(node, ast.Constant):
            return
        for child in ast.iter_child_nodes(node):
            self._visit(child, chain)

    def _visit_args(self, args: ast.arguments, chain):
        for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self._visit(d, chain)
        for a in args.posonlyargs + args.args + args.kwonlyargs + [x for x in (args.vararg, args.kwarg) if x]:
            if a.annotation:
                self._visit(a.annotation, chain)


def _unused_imports(tree: ast.Module, path: str) -> list[dict]:
    if os.path.basename(path) == "__init__.py":
        return []  # package re-exports
    imported: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[(alias.asname or alias.name).split(".")[0]] = node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if alias.name != "*":
                    imported[alias.asname or alias.name] = node.lineno
    if not imported:
        return []
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
        ):
            used.update(e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return [
        _finding(path, line, "F401", WARNING, f"'{name}' imported but unused")
        for name, line in sorted(imported.items(), key=lambda kv: (kv[1], kv[0]))
        if name not in used
    ]


def _misc(tree: ast.Module, path: str) -> list[dict]:
    out: list[dict] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            out.append(_finding(path, node.lineno, "E722", WARNING, "bare 'except:' also catches KeyboardInterrupt/SystemExit"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                if isinstance(d, (ast.List, ast.Dict, ast.Set)) or (
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id in ("list", "dict", "set")
                ):
                    out.append(_finding(path, d.lineno, "B006", WARNING, "mutable default argument"))
        elif isinstance(node, ast.Compare):
            for op, comp in zip(node.ops, node.comparators, strict=False):
                if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(comp, ast.Constant) and comp.value is None:
                    out.append(_finding(path, node.lineno, "E711", WARNING, "comparison to None should use 'is' / 'is not'"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
            out.append(_finding(path, node.lineno, "S307", WARNING, f"use of {node.func.id}()"))
        elif isinstance(node, ast.JoinedStr) and not any(isinstance(v, ast.FormattedValue) for v in node.values):
            out.append(_finding(path, node.lineno, "F541", INFO, "f-string without placeholders"))
    # redefinitions of a function/class in the same body before any use
    for scope in [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]:
        seen: dict[str, int] = {}
        for stmt in scope.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if stmt.name in seen and not stmt.decorator_list:
                    out.append(_finding(path, stmt.lineno, "F811", WARNING,
                                        f"redefinition of '{stmt.name}' from line {seen[stmt.name]}"))
                seen[stmt.name] = stmt.lineno
    return out


def lint_source(source: str, path: str) -> list[dict]:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return [_finding(path, exc.lineno or 0, "E999", ERROR, f"syntax error: {exc.msg}")]
    findings = _UndefinedNames(tree, path).run() + _unused_imports(tree, path) + _misc(tree, path)
    return sorted(findings, key=lambda f: (f["file"], f["line"], f["code"], f["message"]))


def check_requirements(root: str) -> list[dict]:
    path = os.path.join(root, "requirements.txt")
    if not os.path.exists(path):
        return [_finding("requirements.txt", 0, "R001", ERROR, "requirements.txt is missing")]
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split("#", 1)[0].strip()
            if line and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]+\])?==[A-Za-z0-9.+!-]+$", line):
                out.append(_finding("requirements.txt", lineno, "R001", ERROR, f"requirement not pinned with ==: {line!r}"))
    return out


def check_layout(root: str, py_files: list[str]) -> list[dict]:
    out = []
    tests = [p for p in py_files if p.startswith("tests/") and os.path.basename(p).startswith("test_")]
    if not tests or "tests/__init__.py" not in py_files:
        out.append(_finding("tests", 0, "P001", ERROR, "no tests/ package with test_*.py modules"))
    if not os.path.exists(os.path.join(root, "README.md")):
        out.append(_finding("README.md", 0, "P002", WARNING, "README.md is missing"))
    return out


def check_project(root: str, pyc_dir: str) -> dict:
    py_files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", ".git", "instance"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                py_files.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    findings: list[dict] = []
    compiled = 0
    for rel in py_files:
        full = os.path.join(root, rel)
        try:
            py_compile.compile(full, cfile=os.path.join(pyc_dir, rel.replace("/", "__") + "c"), doraise=True)
            compiled += 1
        except py_compile.PyCompileError:
            pass  # reported by lint_source as E999 with the line number
        with open(full, encoding="utf-8", errors="replace") as fh:
            findings.extend(lint_source(fh.read(), rel))
    findings.extend(check_requirements(root))
    findings.extend(check_layout(root, py_files))
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in (ERROR, WARNING, INFO)}
    return {"files": len(py_files), "compiled": compiled, "findings": findings, "counts": counts}


def run_unittest(root: str) -> int:
    """`python -m unittest discover -s tests -t . -v` in this process (output on stderr, as unittest does)."""
    import unittest

    os.chdir(root)
    program = unittest.main(module=None, argv=["python -m unittest", "discover", "-s", "tests", "-t", ".", "-v"],
                            exit=False)
    return 0 if program.result.wasSuccessful() else 1


def main(argv: list[str]) -> int:
    """`lint.py PROJECT PYC_DIR [--then-unittest]`: JSON report on one stdout line, then (optionally) the tests.

    Running both in one interpreter saves a process start per QA run; the report is flushed before any
    project code is imported, so a test that hangs or crashes cannot lose it.
    """
    root, pyc_dir = argv[1], argv[2]
    os.makedirs(pyc_dir, exist_ok=True)
    sys.stdout.write(json.dumps(check_project(root, pyc_dir), sort_keys=True) + "\n")
    sys.stdout.flush()
    if "--then-unittest" in argv[3:]:
        return run_unittest(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
