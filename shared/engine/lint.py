"""Static checks for a generated project: ruff, plus the project-level checks ruff lacks.

Standard library only: QA copies this file into the sandbox and runs it as a script in the isolated
child (`python lint.py PROJECT_DIR PYC_DIR [--then-unittest] [--results=FILE]` prints a JSON report on one line), so nothing
here may import the engine. Ruff runs as `python -m ruff check` with the interpreter running this script,
reading the project's own ruff.toml (the compiler writes one); without one, `DEFAULT_SELECT` applies.

Severity: syntax errors (E999, ruff's "invalid-syntax") and names that cannot resolve (F821/F822/F823) and
other code that cannot run (F7xx) are errors and fail QA; every other ruff rule is a warning. Project checks:
  R001 requirements.txt missing or a line not pinned with == (error)
  P001 no tests/ package with test_*.py files (error)      P002 no README.md (warning)
  L001 ruff itself could not run (error)
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile

ERROR, WARNING, INFO = "error", "warning", "info"
DEFAULT_SELECT = "E4,E7,E9,F,W,B,S307"
ERROR_CODES = frozenset({"E999", "F821", "F822", "F823", "F632", "F701", "F702", "F704", "F706", "F707", "E902"})
RUFF_TIMEOUT_S = 30


def _finding(path, line, code, severity, message):
    return {"file": path, "line": line, "code": code, "severity": severity, "message": message}


def _has_config(root: str) -> bool:
    if os.path.exists(os.path.join(root, "ruff.toml")) or os.path.exists(os.path.join(root, ".ruff.toml")):
        return True
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.exists(pyproject):
        with open(pyproject, encoding="utf-8", errors="replace") as fh:
            return "[tool.ruff" in fh.read()
    return False


def run_ruff(root: str, select: str | None = None) -> list[dict]:
    """Ruff's findings for the project at `root`, as report findings with paths relative to root."""
    cmd = [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--no-cache", "--exit-zero"]
    if select or not _has_config(root):
        cmd += ["--isolated", "--select", select or DEFAULT_SELECT]
    cmd.append(".")
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=RUFF_TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
        items = json.loads(proc.stdout or "[]")
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        return [_finding(None, 0, "L001", ERROR, f"ruff could not run: {str(detail)[:200]}")]
    if proc.returncode not in (0, 1) and not items:
        return [_finding(None, 0, "L001", ERROR, f"ruff could not run: {proc.stderr.strip()[:200]}")]
    out = []
    syntax_seen: set[str] = set()
    for item in sorted(items, key=lambda i: (i.get("filename") or "", (i.get("location") or {}).get("row") or 0,
                                             (i.get("location") or {}).get("column") or 0)):
        code = item.get("code") or "E999"
        if code == "invalid-syntax":
            code = "E999"
        path = os.path.relpath(item.get("filename") or root, root).replace(os.sep, "/")
        line = (item.get("location") or {}).get("row") or 0
        message = item.get("message") or code
        if code == "E999":
            if path in syntax_seen:
                continue  # the first syntax error of a file is the one to fix; the rest follow from it
            syntax_seen.add(path)
            message = "syntax error: " + message
        out.append(_finding(path, line, code, ERROR if code in ERROR_CODES else WARNING, message))
    return sorted(out, key=lambda f: (f["file"] or "", f["line"], f["code"], f["message"]))


def lint_source(source: str, path: str, select: str | None = None) -> list[dict]:
    """Ruff's findings for one source text (default rule selection), as if it were the file `path`."""
    tmp = tempfile.mkdtemp(prefix="lint-")
    try:
        full = os.path.join(tmp, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(source)
        return run_ruff(tmp, select or DEFAULT_SELECT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    compiled = 0
    for rel in py_files:
        try:
            py_compile.compile(os.path.join(root, rel), cfile=os.path.join(pyc_dir, rel.replace("/", "__") + "c"),
                               doraise=True)
            compiled += 1
        except py_compile.PyCompileError:
            pass  # ruff reports it as E999 with the line number
    findings = run_ruff(root) + check_requirements(root) + check_layout(root, py_files)
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in (ERROR, WARNING, INFO)}
    return {"files": len(py_files), "compiled": compiled, "findings": findings, "counts": counts}


def _recording_result(results_path: str):
    """A TextTestResult (so the -v output stays) that also appends one JSON line per outcome to
    `results_path` and a final {"summary": ...} line: QA reads that file instead of parsing the human output,
    which log lines printed during a test would interleave."""
    import unittest

    def _test_id(test) -> str:
        if type(test).__name__ == "_ErrorHolder":  # setUpClass/setUpModule failure: "setUpClass (mod.Class)"
            m = re.search(r"\(([^()]+)\)$", test.description)
            return m.group(1) if m else test.description
        return test.id()

    class RecordingResult(unittest.TextTestResult):
        def _record(self, test, status: str, err=None, reason: str | None = None) -> None:
            rec = {"id": _test_id(test), "status": status}
            if err is not None:
                rec["traceback"] = self._exc_info_to_string(err, test)[-6000:]
            if reason:
                rec["reason"] = str(reason)[:300]
            with open(results_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, sort_keys=True) + "\n")

        def addSuccess(self, test):
            super().addSuccess(test)
            self._record(test, "passed")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._record(test, "failure", err)

        def addError(self, test, err):
            super().addError(test, err)
            self._record(test, "error", err)

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._record(test, "skipped", reason=reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            self._record(test, "expected_failure")

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            self._record(test, "unexpected_success")

        def addSubTest(self, test, subtest, err):
            super().addSubTest(test, subtest, err)
            if err is not None:  # the test itself then gets no addSuccess
                failed = issubclass(err[0], test.failureException)
                self._record(test, "failure" if failed else "error", err)

        def stopTestRun(self):
            super().stopTestRun()
            summary = {"run": self.testsRun, "failures": len(self.failures), "errors": len(self.errors),
                       "skipped": len(self.skipped), "expected_failures": len(self.expectedFailures),
                       "unexpected_successes": len(self.unexpectedSuccesses), "successful": self.wasSuccessful()}
            with open(results_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"summary": summary}, sort_keys=True) + "\n")

    return RecordingResult


def run_unittest(root: str, results_path: str | None = None) -> int:
    """`python -m unittest discover -s tests -t . -v` in this process (output on stderr, as unittest does);
    with `results_path`, every outcome is also written there as JSON lines (see `_recording_result`)."""
    import unittest

    results_path = os.path.abspath(results_path) if results_path else None
    os.chdir(root)
    runner = (unittest.TextTestRunner(verbosity=2, resultclass=_recording_result(results_path))
              if results_path else None)
    program = unittest.main(module=None, argv=["python -m unittest", "discover", "-s", "tests", "-t", ".", "-v"],
                            exit=False, testRunner=runner)
    return 0 if program.result.wasSuccessful() else 1


def main(argv: list[str]) -> int:
    """`lint.py PROJECT PYC_DIR [--then-unittest] [--results=FILE]`: JSON report on one stdout line, then
    (optionally) the tests, whose outcomes also go to FILE as JSON lines.

    Running both from one interpreter saves a process start per QA run; the report is flushed before any
    project code is imported, so a test that hangs or crashes cannot lose it.
    """
    root, pyc_dir = argv[1], argv[2]
    os.makedirs(pyc_dir, exist_ok=True)
    sys.stdout.write(json.dumps(check_project(root, pyc_dir), sort_keys=True) + "\n")
    sys.stdout.flush()
    options = dict(a[2:].split("=", 1) for a in argv[3:] if a.startswith("--") and "=" in a)
    if "--then-unittest" in argv[3:]:
        return run_unittest(root, options.get("results"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
