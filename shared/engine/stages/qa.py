"""Stage 5 — QA: static checks, the generated tests, and the feature-coverage table.

See `sandbox.py` for the isolation. One child runs in a fresh temporary directory: `lint.py`, copied into
the sandbox, first prints the static-check report (py_compile of every file + ruff with the project's
ruff.toml + project checks) as one JSON line, then runs `unittest discover -s tests -t . -v` in the same
interpreter with a result class (in lint.py) that also writes every test's outcome as a JSON line to a file
outside the project; counts, failures and the result of every test id come from that file (log lines a test
prints cannot hide its result), the `-v` text only from the report's tail (and as a fallback parse when the
file is missing).

The feature-coverage table comes from the project's `app/spec.json` trace: a key feature is **built** only
when every capability it names has a behaviour test module `tests/test_cap_<id>.py` with at least one test
and all of those tests passed; `failing` when one of them failed; `not_covered` (with the reason) otherwise.
The report is deterministic for a given project: durations and temporary paths are kept out of it (timings
go to `usage`).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from pathlib import Path

from .. import sandbox, specstore
from ..artifacts import json_bytes, read_zip
from ..generators import builtin_task
from ..schemas import QAReview
from ..textutil import shorten
from . import StageOutput

STAGE = "qa"
LINT_SOURCE = Path(__file__).resolve().parent.parent / "lint.py"
CRITERIA_RUNNER = Path(__file__).resolve().parent.parent / "criteria" / "runner.py"
MAX_SUMMARY_FINDINGS = 12

_RESULT_LINE = re.compile(r"^(?P<test>\S+) \((?P<id>[^)]+)\)(?: \.\.\. | \.\.\.\n)(?P<status>.*)$", re.MULTILINE)
_FAIL_HEAD = re.compile(r"^(FAIL|ERROR): (\S+) \(([^)]+)\)", re.MULTILINE)
_TEST_LINE = re.compile(r"^(?P<name>\w+) \((?P<id>[\w.]+)\)(?:\n[^\n]*?)? \.\.\. ?(?P<status>ok|FAIL|ERROR|skipped|"
                        r"expected failure|unexpected success)", re.MULTILINE)
_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
_FINAL = re.compile(r"^(OK|FAILED)(?: \(([^)]*)\))?\s*$", re.MULTILINE)


def _stable_text(text: str) -> str:
    """Drop what changes between identical runs (timings, object addresses) so the report is deterministic."""
    text = re.sub(r"^(Ran \d+ tests?) in [\d.]+s$", r"\1", text, flags=re.MULTILINE)
    return re.sub(r"0x[0-9a-fA-F]{6,}", "0x...", text)


def parse_unittest(output: str, project_dir: str) -> dict:
    """Counts and failures from `unittest -v` output (stderr)."""
    ran = _RAN.findall(output)
    final = _FINAL.findall(output)
    counts = {"run": int(ran[-1]) if ran else 0, "failures": 0, "errors": 0, "skipped": 0,
              "expected_failures": 0, "unexpected_successes": 0}
    status = final[-1][0] if final else None
    if final and final[-1][1]:
        for part in final[-1][1].split(","):
            if "=" in part:
                key, val = part.strip().split("=", 1)
                key = key.strip().replace(" ", "_")
                if key in counts and val.strip().isdigit():
                    counts[key] = int(val)
    failed = []
    blocks = re.split(r"^={50,}\n", output, flags=re.MULTILINE)
    for block in blocks[1:]:
        m = _FAIL_HEAD.match(block)
        if not m:
            continue
        body = block.split("-" * 70, 1)[-1]
        body = re.split(r"^-{50,}\n|^Ran \d+ tests? in", body, flags=re.MULTILINE)[0]
        lines = [ln for ln in body.strip().splitlines() if ln.strip()]
        message = lines[-1].strip() if lines else m.group(1)
        file_line = None
        for fm in re.finditer(r'File "([^"]+)", line (\d+)', body):
            path = fm.group(1)
            if path.startswith(project_dir + "/"):
                file_line = (path[len(project_dir) + 1 :], int(fm.group(2)))
        failed.append({
            "kind": "test_failure" if m.group(1) == "FAIL" else "test_error",
            "test": f"{m.group(3)}",
            "file": file_line[0] if file_line else None,
            "line": file_line[1] if file_line else None,
            "message": shorten(_stable_text(message.replace(project_dir, "<project>")), 300),
        })
    results: dict[str, str] = {}
    for m in _TEST_LINE.finditer(output):
        results[m.group("id")] = {"ok": "passed", "FAIL": "failed", "ERROR": "failed"}.get(m.group("status"),
                                                                                         "skipped")
    for f in failed:
        results[f["test"]] = "failed"
    counts["passed"] = max(0, counts["run"] - counts["failures"] - counts["errors"] - counts["skipped"]
                           - counts["expected_failures"] - counts["unexpected_successes"])
    return {"status": status, **counts, "failed_tests": failed, "results": dict(sorted(results.items()))}


_STATUS = {"passed": "passed", "failure": "failed", "error": "failed", "skipped": "skipped",
           "expected_failure": "skipped", "unexpected_success": "skipped"}


def _failure_entry(kind: str, test: str, text: str, project_dir: str) -> dict:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    message = lines[-1].strip() if lines else kind
    file_line = None
    for fm in re.finditer(r'File "([^"]+)", line (\d+)', text):
        path = fm.group(1)
        if path.startswith(project_dir + "/"):
            file_line = (path[len(project_dir) + 1 :], int(fm.group(2)))
    return {"kind": kind, "test": test, "file": file_line[0] if file_line else None,
            "line": file_line[1] if file_line else None,
            "message": shorten(_stable_text(message.replace(project_dir, "<project>")), 300)}


def parse_results_file(text: str, project_dir: str) -> dict | None:
    """Counts, failures and per-test results from the JSON lines lint.py's recording result wrote (None when
    nothing was written). Without the final summary line the run did not finish (`status` None)."""
    records, summary = [], None
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed child
        if not isinstance(rec, dict):
            continue
        if "summary" in rec:
            summary = rec["summary"]
        elif isinstance(rec.get("id"), str) and rec.get("status") in _STATUS:
            records.append(rec)
    if not records and summary is None:
        return None
    results: dict[str, str] = {}
    failed = []
    for rec in records:
        status = _STATUS[rec["status"]]
        if results.get(rec["id"]) != "failed":  # a failed subtest fails its test
            results[rec["id"]] = status
        if rec["status"] in ("failure", "error"):
            failed.append(_failure_entry("test_failure" if rec["status"] == "failure" else "test_error", rec["id"],
                                         rec.get("traceback", ""), project_dir))
    if summary is not None:
        counts = {k: int(summary.get(k, 0)) for k in ("run", "failures", "errors", "skipped", "expected_failures",
                                                      "unexpected_successes")}
        status = "OK" if summary.get("successful") else "FAILED"
    else:
        counts = {"run": len({r["id"] for r in records}),
                  "failures": sum(1 for r in records if r["status"] == "failure"),
                  "errors": sum(1 for r in records if r["status"] == "error"),
                  "skipped": sum(1 for r in records if r["status"] == "skipped"),
                  "expected_failures": sum(1 for r in records if r["status"] == "expected_failure"),
                  "unexpected_successes": sum(1 for r in records if r["status"] == "unexpected_success")}
        status = None
    counts["passed"] = max(0, counts["run"] - counts["failures"] - counts["errors"] - counts["skipped"]
                           - counts["expected_failures"] - counts["unexpected_successes"])
    return {"status": status, **counts, "failed_tests": failed, "results": dict(sorted(results.items()))}


def certified_spec(files: dict[str, bytes]):
    """The project's spec, re-assessed from its readings (statuses stored in it are not trusted), or None."""
    from ..appspec import AppSpec
    from ..criteria.certify import certify

    try:
        data = json.loads(files["app/spec.json"])
        # custom operations (LLM engine) are not library kinds: their features are assessed as custom
        data["capabilities"] = [c for c in data.get("capabilities", []) if c.get("kind") != "custom"]
        return certify(AppSpec.model_validate(data))
    except (KeyError, ValueError):
        return None


def failed_attacks(exploits: dict[str, dict] | None) -> list[str]:
    """The names (`attack:<name>`) of the exploit gate's attacks that succeeded (or could not run), sorted."""
    return sorted(k for k, r in (exploits or {}).items() if not r.get("passed"))


def feature_coverage(files: dict[str, bytes], results: dict[str, str], complete: bool,
                     criteria: dict[str, dict] | None = None, exploits: dict[str, dict] | None = None) -> dict:
    """The feature-coverage table from the project's spec and the per-test results (`complete`: the test run
    finished, so a test id missing from `results` really did not run) and the acceptance criteria's results
    (`criteria`: {criterion id: {"passed", "detail"}}) and the exploit gate's (`exploits`, the same shape).

    A feature is `built` only when its assessed status is planned (every word read, every rule realised and
    exercised), every capability it names has behaviour tests that all passed, every criterion passed, and no
    attack of the exploit gate succeeded against the app (else every such feature is `partial`).
    """
    spec = certified_spec(files)
    if spec is None:
        return {"features": [], "features_built": 0, "features_partial": 0, "features_total": 0,
                "criteria_run": 0, "criteria_passed": 0, "unread_rule_words": 0, "capability_tests_passed": 0}
    from ..planner.reading import RULE_WORDS

    criteria = criteria or {}
    broken = failed_attacks(exploits)
    gate = f"the app failed the exploit gate ({', '.join(broken)})" if broken else None
    rows = []
    cap_ok = 0
    for t in spec.trace:
        crit_rows = [{"id": c.id, "text": c.text, "capability": c.capability, "rules": c.rules,
                      "passed": bool((criteria.get(c.id) or {}).get("passed")),
                      "detail": (criteria.get(c.id) or {}).get("detail") or (
                          None if c.id in criteria else "the criterion did not run")} for c in t.criteria]
        unread_rule = sum(1 for u in (t.reading.words if t.reading else []) if u.maps_to == "unread"
                          and u.word in RULE_WORDS)
        row = {"feature": t.feature, "capabilities": list(t.capabilities), "entities": list(t.entities),
               "tests": [], "passed": False, "built_as": t.built_as, "not_built": list(t.not_built),
               "criteria": crit_rows, "unread_rule_words": unread_rule}
        if t.status == "not_covered":
            row.update(status="not_covered", reason=t.reason or "not planned")
            rows.append(row)
            continue
        missing, failing = [], []
        for cid in row["capabilities"]:
            mine = sorted(tid for tid in results if tid.startswith(f"tests.test_cap_{cid}."))
            row["tests"].extend(mine)
            if not mine:
                missing.append(cid)
            elif any(results[tid] != "passed" for tid in mine):
                failing.append(cid)
        tests_ok = bool(row["tests"]) and not missing and not failing and complete
        cap_ok += tests_ok
        failed_criteria = [c for c in crit_rows if not c["passed"]]
        row["passed"] = tests_ok and not failed_criteria
        if failing or not complete:
            row.update(status="failing", reason="behaviour tests failed: " + ", ".join(
                tid.rsplit(".", 1)[-1] for tid in row["tests"] if results[tid] != "passed")[:300]
                if failing else "the test run did not finish")
        elif missing:
            row.update(status="not_covered", reason="no behaviour tests ran for capability " + ", ".join(missing))
        elif failed_criteria or t.status == "partial" or gate:
            row["not_built"] += [f"failed: {c['text']}" for c in failed_criteria] + ([gate] if gate else [])
            row.update(status="partial", reason=shorten("Not built: " + "; ".join(row["not_built"]), 400))
        else:
            row.update(status="built", reason=None)
        rows.append(row)
    built = sum(1 for r in rows if r["status"] == "built")
    return {"features": rows, "features_built": built,
            "features_partial": sum(1 for r in rows if r["status"] == "partial"), "features_total": len(rows),
            "criteria_run": sum(1 for r in rows for c in r["criteria"] if c["id"] in criteria),
            "criteria_passed": sum(1 for r in rows for c in r["criteria"] if c["passed"]),
            "unread_rule_words": sum(r["unread_rule_words"] for r in rows),
            "capability_tests_passed": cap_ok}


def run_criteria(files: dict[str, bytes], tmp: Path, project: Path, env: dict, prefix, isolation: str,
                 config, timeout_s: float) -> dict[str, dict]:
    """Compile the spec's acceptance criteria and the exploit gate's attacks (`exploits/`, run after the criteria
    by the same runner) into scenarios and run them against the app in the sandbox, apart from the app's own
    tests. {scenario id: {"passed", "detail"}} (attacks' ids start with "attack:"; an attack passes when the app
    refused it); a criterion that did not run is absent, an attack that did not run has failed."""
    from ..criteria import compile_all
    from ..exploits import compile_attacks

    spec = certified_spec(files)
    if spec is None:
        return {}
    scenarios, failed = compile_all(spec)
    attacks, not_compiled = compile_attacks(spec)
    scenarios += attacks
    out = {f["id"]: f for f in failed + not_compiled}
    if not scenarios:
        return out
    tools = tmp / "tools"
    shutil.copyfile(CRITERIA_RUNNER, tools / "qa_criteria.py")
    (tools / "scenarios.json").write_text(json.dumps(scenarios), encoding="utf-8")
    results = tmp / "results" / "criteria.jsonl"
    run = sandbox.run_isolated(
        [config.python_executable, str(tools / "qa_criteria.py"), str(project), str(tools / "scenarios.json"),
         str(results)],
        cwd=project, env=env, timeout_s=max(5.0, timeout_s), cpu_s=math.ceil(max(5.0, timeout_s)) + 1,
        memory_mb=config.qa_memory_mb, net_prefix=prefix, isolation=isolation)
    text = results.read_text("utf-8", "replace") if results.exists() else ""
    for line in text.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "id" in r:
            out[r["id"]] = {"passed": bool(r.get("passed")), "detail": r.get("detail")}
    for s in attacks:
        out.setdefault(s["id"], {"passed": False, "detail": "the attack did not run"})
        out[s["id"]]["text"] = s["text"]
    if run.timed_out or run.returncode:
        why = ("timed out" if run.timed_out else
               shorten((run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1], 200))
        for s in scenarios:
            out.setdefault(s["id"], {"passed": False, "detail": f"the criteria run stopped: {why}"})
    return out


@builtin_task("qa_review")
def _builtin(context: dict) -> QAReview:
    tests = context["tests"]
    errors = [f for f in context["findings"] if f["severity"] == "error"]
    if context["passed"]:
        summary = (f"All {tests['run']} generated tests passed and the static checks found no errors "
                   f"({context['lint_counts']['warning']} warnings).")
    else:
        summary = (f"QA failed: {tests['failures']} failing and {tests['errors']} erroring of {tests['run']} tests"
                   f"{', the run timed out' if context['timed_out'] else ''}; {len(errors)} error-level findings.")
    priorities = [shorten(f"{f.get('file') or 'project'}: {f['message']}", 200) for f in errors[:10]]
    return QAReview(summary=summary, priorities=priorities)


def _findings(static: dict | None, tests: dict, run_result, timeout_s: float, static_problem: str | None) -> list[dict]:
    out: list[dict] = []
    if static_problem:
        out.append({"kind": "static", "severity": "error", "code": "QA001", "file": None, "line": None,
                    "message": static_problem})
    if run_result.timed_out:
        out.append({"kind": "timeout", "severity": "error", "code": "QA002", "file": None, "line": None,
                    "message": f"the test run exceeded the {timeout_s:g}s wall-clock limit and was killed"})
    elif run_result.signal_name in ("SIGXCPU", "SIGKILL"):
        out.append({"kind": "resource", "severity": "error", "code": "QA003", "file": None, "line": None,
                    "message": f"the test run was killed by {run_result.signal_name} (CPU or memory limit)"})
    for t in tests["failed_tests"]:
        out.append({"kind": t["kind"], "severity": "error", "code": "T001" if t["kind"] == "test_failure" else "T002",
                    "file": t["file"], "line": t["line"], "test": t["test"], "message": t["message"]})
    if not run_result.timed_out and tests["run"] == 0:
        out.append({"kind": "no_tests", "severity": "error", "code": "QA004", "file": None, "line": None,
                    "message": "no tests ran (unittest discovery found nothing or crashed)"})
    for f in (static or {}).get("findings", []):
        out.append({"kind": "lint", **f})
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda f: (order[f["severity"]], f.get("file") or "", f.get("line") or 0, f["code"],
                                      f["message"]))


def run_checks(files: dict[str, bytes], config) -> dict:
    """Run static checks and tests for a project in a fresh sandbox; returns the raw QA result."""
    started = time.monotonic()
    deadline = started + config.qa_timeout_s
    tmp = Path(tempfile.mkdtemp(prefix="saas-qa-"))
    try:
        project = tmp / "project"
        for rel, data in files.items():
            dest = project / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        tools = tmp / "tools"
        tools.mkdir()
        shutil.copyfile(LINT_SOURCE, tools / "qa_lint.py")
        guard = sandbox.write_guard(tmp / "guard")
        (tmp / "results").mkdir()
        results_file = tmp / "results" / "test-results.jsonl"  # outside the project, written by lint.py
        home = tmp / "home"
        env = sandbox.isolated_env(home, guard, {"TEST_DATABASE_URL": config.qa_database_url,
                                                 "CRITERIA_DATABASE_URL": config.qa_database_url}
                                   if config.qa_database_url else None)
        prefix, isolation = sandbox.network_prefix(config.python_executable, config.qa_network_isolation)
        cpu = math.ceil(config.qa_timeout_s) + 1

        # One child runs the static checks (JSON report flushed to stdout first) and then the tests
        # (`unittest discover -v`, output on stderr) under one wall-clock limit.
        test_run = sandbox.run_isolated(
            [config.python_executable, str(tools / "qa_lint.py"), str(project), str(home / "pyc"), "--then-unittest",
             f"--results={results_file}"],
            cwd=project, env=env, timeout_s=max(0.5, deadline - time.monotonic()), cpu_s=cpu,
            memory_mb=config.qa_memory_mb, net_prefix=prefix, isolation=isolation,
        )
        static, static_problem = None, None
        first_line = test_run.stdout.split("\n", 1)[0]
        try:
            static = json.loads(first_line)
        except json.JSONDecodeError:
            static_problem = ("the static checker did not finish within the time limit" if test_run.timed_out else
                              "the static checker failed: "
                              + shorten(test_run.stderr.strip().splitlines()[-1] if test_run.stderr.strip() else
                                        f"exit {test_run.returncode}", 200))
        recorded = results_file.read_text("utf-8", "replace") if results_file.exists() else ""
        tests = parse_results_file(recorded, str(project)) or parse_unittest(test_run.stderr, str(project))
        complete = not test_run.timed_out and tests["status"] is not None  # unittest printed its final line
        findings = _findings(static, tests, test_run, config.qa_timeout_s, static_problem)
        lint_counts = {s: sum(1 for f in findings if f["kind"] == "lint" and f["severity"] == s)
                       for s in ("error", "warning", "info")}
        errors = [f for f in findings if f["severity"] == "error"]
        passed = (not errors and tests["run"] > 0 and tests["failures"] == 0 and tests["errors"] == 0
                  and test_run.returncode == 0 and not test_run.timed_out)
        tail = _stable_text("\n".join(test_run.stderr.replace(str(project), "<project>").splitlines()[-40:]))
        criteria_started = time.monotonic()
        criteria = run_criteria(files, tmp, project, env, prefix, isolation, config,
                                max(15.0, config.qa_timeout_s / 2)) if tests["run"] > 0 else {}
        criteria_s = time.monotonic() - criteria_started
        exploits = {k: criteria.pop(k) for k in sorted(criteria) if k.startswith("attack:")}
        broken = failed_attacks(exploits)
        gate: list[dict] = []
        for name in broken:  # an attack that worked fails QA, named
            r = exploits[name]
            detail = str(r.get("detail") or "")
            if not passed and detail.startswith(("the attack did not run", "the criteria run stopped")):
                continue  # the app failed QA already (it may not even start): that failure is the one to mend
            gate.append({"kind": "exploit", "severity": "error", "code": "X001", "file": None, "line": None,
                         "attack": name, "attack_text": r.get("text") or "",
                         "message": shorten(f"{name} succeeded: {detail or 'no detail'}", 400)})
        findings = gate + findings if passed else findings + gate  # the cause first
        passed = passed and not broken
        return {
            "passed": passed,
            "isolation": {
                "network": isolation,
                "environment": "built from scratch: " + ", ".join(sorted(env)),
                "filesystem": "fresh temporary directory, removed afterwards",
                "limits": {"wall_clock_s": config.qa_timeout_s, "cpu_s": cpu, "memory_mb": config.qa_memory_mb,
                           "file_size_mb": 256},
            },
            "static": {
                "files": (static or {}).get("files", 0),
                "compiled": (static or {}).get("compiled", 0),
                "counts": lint_counts,
            },
            "tests": {k: tests[k] for k in ("run", "passed", "failures", "errors", "skipped",
                                            "expected_failures", "unexpected_successes")},
            "test_exit": {"returncode": test_run.returncode, "signal": test_run.signal_name,
                          "timed_out": test_run.timed_out},
            "timed_out": test_run.timed_out,
            "findings": findings,
            "test_results": tests["results"],
            "coverage": feature_coverage(files, tests["results"], complete, criteria, exploits),
            "exploits": {"run": len(exploits), "passed": len(exploits) - len(broken), "failed": broken,
                         "attacks": [{"id": k, "text": r.get("text") or "", "passed": bool(r.get("passed")),
                                      "detail": None if r.get("passed") else r.get("detail")}
                                     for k, r in exploits.items()]},
            "test_output_tail": tail if not passed else "",
            "_durations": {"checks_s": test_run.duration_s, "criteria_s": criteria_s},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_markdown(result: dict, review: QAReview) -> str:
    t = result["tests"]
    lines = ["# QA report", "", f"**Result:** {'PASSED' if result['passed'] else 'FAILED'}", "", review.summary, "",
             "## Tests", "", "| run | passed | failures | errors | skipped |", "| --- | --- | --- | --- | --- |",
             f"| {t['run']} | {t['passed']} | {t['failures']} | {t['errors']} | {t['skipped']} |", "",
             "## Static checks", "",
             (f"{result['static']['compiled']}/{result['static']['files']} Python files compiled; lint: "
              f"{result['static']['counts']['error']} errors, {result['static']['counts']['warning']} warnings, "
              f"{result['static']['counts']['info']} info."), "", "## Findings", ""]
    if result["findings"]:
        lines += ["| severity | code | where | message |", "| --- | --- | --- | --- |"]
        for f in result["findings"][:100]:
            where = f"{f.get('file') or '-'}:{f.get('line') or ''}".rstrip(":")
            lines.append(f"| {f['severity']} | {f['code']} | {where} | {f['message'].replace('|', '/')} |")
    else:
        lines.append("None.")
    cov = result.get("coverage") or {}
    lines += ["", "## Feature coverage", "",
              f"**{cov.get('features_built', 0)} of {cov.get('features_total', 0)} features built**, "
              f"{cov.get('features_partial', 0)} partial. A feature is built only when every word of it is read, "
              "every rule it states is enforced by a capability carrying its own numbers and nouns, the behaviour "
              "tests of its capabilities pass, and its acceptance criteria pass against the app "
              f"({cov.get('criteria_passed', 0)} of {cov.get('criteria_run', 0)} criteria passed).", ""]
    for row in cov.get("features") or []:
        lines.append(f"### {row['feature']} — {row['status'].replace('_', ' ')}")
        lines.append("")
        if row.get("built_as"):
            lines.append(row["built_as"])
        if row.get("not_built"):
            lines.append("Not built: " + "; ".join(row["not_built"]))
        if row["status"] == "not_covered" and row.get("reason"):
            lines.append(f"Not covered: {row['reason']}")
        if row.get("capabilities"):
            lines.append(f"Capabilities: {', '.join(row['capabilities'])}; behaviour tests: {len(row['tests'])}"
                         f" ({'all passed' if row['tests'] and row['status'] != 'failing' else 'see findings'}).")
        if row.get("criteria"):
            lines += ["", "| acceptance criterion | result |", "| --- | --- |"]
            for c in row["criteria"]:
                res = "pass" if c["passed"] else f"fail: {(c.get('detail') or '').replace('|', '/')[:200]}"
                lines.append(f"| {c['text'].replace('|', '/')} | {res} |")
        lines.append("")
    gate = result.get("exploits") or {}
    lines += ["## Exploit gate", ""]
    if gate.get("run"):
        lines += [f"**{'FAILED' if gate['failed'] else 'PASSED'}:** {gate['passed']} of {gate['run']} attacks were "
                  "refused. Each attack runs against the app in the sandbox (a fresh database each); one that "
                  "succeeds fails QA and no feature of the app counts as built.", "",
                  "| attack | what it tries | result |", "| --- | --- | --- |"]
        for a in gate["attacks"]:
            res = "refused" if a["passed"] else f"SUCCEEDED: {(a.get('detail') or '').replace('|', '/')[:240]}"
            lines.append(f"| {a['id']} | {a['text'].replace('|', '/')} | {res} |")
    else:
        lines.append("Not run (no generated tests ran, or the project has no spec).")
    lines.append("")
    if review.priorities:
        lines += ["", "## Fix first", ""] + [f"{i}. {p}" for i, p in enumerate(review.priorities, 1)]
    iso = result["isolation"]
    lines += ["", "## Isolation", "", f"- network: {iso['network']}", f"- environment: {iso['environment']}",
              f"- filesystem: {iso['filesystem']}",
              "- limits: " + ", ".join(f"{k}={v}" for k, v in iso["limits"].items())]
    if result.get("test_output_tail"):
        lines += ["", "## Test output (tail)", "", "```", result["test_output_tail"], "```"]
    lines.append("")
    return "\n".join(lines)


SUMMARY_BUDGET = 7 * 1024


def summary_row(row: dict) -> dict:
    """One coverage row for the stage summary (the report has the full test names and criteria)."""
    crit = row.get("criteria") or []
    return {"feature": shorten(row["feature"], 100), "status": row["status"], "capabilities": row["capabilities"][:6],
            "tests": [t.rsplit(".", 1)[-1] for t in row["tests"][:3]], "tests_total": len(row["tests"]),
            "passed": row["passed"], "reason": shorten(row["reason"], 140) if row.get("reason") else None,
            "built_as": shorten(row["built_as"], 160) if row.get("built_as") else None,
            "not_built": [shorten(x, 100) for x in (row.get("not_built") or [])[:3]],
            "criteria": {"passed": sum(1 for c in crit if c["passed"]), "total": len(crit)}}


def _shape(spec: dict) -> dict:
    return {"entities": sorted((e.get("name"), tuple((f.get("name"), f.get("type")) for f in e.get("fields", [])))
                               for e in spec.get("entities", [])),
            "pages": sorted(p.get("id") for p in spec.get("pages", []))}


def spec_match(files: dict[str, bytes], stored) -> dict | None:
    """Whether the project was built from the stored spec: the same entities (fields and types) and pages as the
    current revision (custom operations may add capabilities, never records or pages). None: no stored spec."""
    if stored is None:
        return None
    try:
        built = json.loads(files["app/spec.json"])
    except (KeyError, ValueError):
        built = {}
    return {"revision": stored.revision, "sha256": stored.sha256,
            "matches_project": _shape(built) == _shape(stored.spec.model_dump(mode="json"))}


def run(inp, config, gen) -> StageOutput:
    files = read_zip(inp.artifacts("development", "project.zip"))
    result = run_checks(files, config)
    durations = result.pop("_durations")
    result["spec"] = spec_match(files, specstore.current(inp.artifacts, inp.idea or {}))
    if result["spec"] and not result["spec"]["matches_project"]:
        result["findings"].insert(0, {
            "kind": "spec", "severity": "error", "code": "S001", "file": "app/spec.json", "line": None,
            "message": f"the project was not built from the stored app spec (revision {result['spec']['revision']}): "
                       "its entities or pages differ"})
        result["passed"] = False
    review = gen.generate("qa_review", {"passed": result["passed"], "tests": result["tests"],
                                        "findings": result["findings"][:50], "timed_out": result["timed_out"],
                                        "lint_counts": result["static"]["counts"]}, QAReview)
    report = dict(result, review=review.model_dump(mode="json"))
    artifacts = {"qa-report.json": json_bytes(report), "qa-report.md": render_markdown(result, review).encode("utf-8")}
    shown = [
        {k: (shorten(v, 200) if isinstance(v, str) else v) for k, v in f.items()}
        for f in result["findings"] if f["severity"] == "error"
    ][:MAX_SUMMARY_FINDINGS]
    summary = {
        "passed": result["passed"],
        "tests": result["tests"],
        "lint": result["static"]["counts"],
        "timed_out": result["timed_out"],
        "isolation": result["isolation"]["network"],
        "findings": shown,
        "findings_total": sum(1 for f in result["findings"] if f["severity"] == "error"),
        "features_built": result["coverage"]["features_built"],
        "features_total": result["coverage"]["features_total"],
        "features_partial": result["coverage"].get("features_partial", 0),
        "criteria": {"passed": result["coverage"].get("criteria_passed", 0),
                     "run": result["coverage"].get("criteria_run", 0)},
        "exploits": {"passed": result["exploits"]["passed"], "run": result["exploits"]["run"],
                     "failed": result["exploits"]["failed"][:10]},
        "coverage": [summary_row(r) for r in result["coverage"]["features"]],
        "attempt": inp.attempt,
    }
    if result["spec"]:
        summary["spec"] = result["spec"]
    while len(json.dumps(summary)) > SUMMARY_BUDGET and (summary["findings"] or summary["coverage"]):
        if len(summary["findings"]) > 3:
            summary["findings"] = summary["findings"][:-1]
        else:
            summary["coverage"] = summary["coverage"][:-1]
            summary["coverage_truncated"] = True
    output = StageOutput("ok" if result["passed"] else "loop_back", summary, artifacts,
                         extra_usage={"qa_child_s": durations["checks_s"]})
    if not result["passed"]:
        output.reason = shorten(review.summary, 300)
    return output
