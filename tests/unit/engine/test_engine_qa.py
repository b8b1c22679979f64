"""QA: loop-back on broken generations, isolation of the child process, static checks and output parsing."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from shared.engine import EngineConfig, StageInput, no_artifacts, run_stage, sandbox
from shared.engine.artifacts import make_zip
from shared.engine.lint import lint_source
from shared.engine.runner import run_pipeline
from shared.engine.stages.qa import parse_unittest

from .corpus import idea_by_id

SECRET_NAME = "SAAS_FACTORY_TEST_SECRET"
SECRET_VALUE = "s3cr3t-value-that-must-not-leak"


def _qa(files: dict[str, str], config: EngineConfig):
    zipped = make_zip({k: v.encode() for k, v in files.items()})
    store = {("development", "project.zip"): zipped}
    return run_stage("qa", StageInput("qa-test", "t", {}, {}, lambda s, n: store[(s, n)]), config)


# ------------------------------------------------------------------ loop-back


@pytest.mark.parametrize("fault,code", [("failing_test", "T001"), ("syntax_error", "E999"), ("lint_error", "F821")])
def test_broken_generation_loops_back_and_the_fix_passes(fault, code, state_dir):
    idea = idea_by_id("billable")
    config = EngineConfig(state_dir=state_dir, fault_injection=fault)
    run = run_pipeline(idea, config, pipeline_id=f"fault-{fault.replace('_', '-')}")
    assert run.status == "succeeded", run.reason
    outcomes = [(s, a, o) for s, a, o in run.history if s in ("development", "qa")]
    assert outcomes == [("development", 1, "ok"), ("qa", 1, "loop_back"), ("development", 2, "ok"), ("qa", 2, "ok")]
    # the first QA report (kept by the runner's history only through feedback) named the problem
    dev2 = run.results["development"].summary
    assert "fault_injected" not in dev2
    addressed = dev2["changes"]["addressed"]
    assert any(code in a["finding"] for a in addressed), addressed
    assert dev2["changes"]["changed_files"], dev2["changes"]
    assert run.results["qa"].summary["passed"] is True


def test_loop_back_findings_name_the_failure(state_dir):
    idea = idea_by_id("billable")
    config = EngineConfig(state_dir=state_dir, fault_injection="failing_test")
    run = run_pipeline(idea, config, pipeline_id="fault-findings", stop_after="qa", max_qa_loops=0)
    assert run.status == "failed"
    qa = run.results["qa"]
    assert qa.outcome == "loop_back"
    assert qa.summary["passed"] is False and qa.summary["tests"]["failures"] == 1
    finding = next(f for f in qa.summary["findings"] if f["code"] == "T001")
    assert finding["file"] == "tests/test_injected_fault.py"
    assert "418" in finding["message"]
    report = json.loads(qa.artifacts["qa-report.json"])
    assert report["passed"] is False and report["test_output_tail"]
    assert "FAILED" in qa.artifacts["qa-report.md"].decode()


def test_persistent_failure_exhausts_the_loops(state_dir):
    config = EngineConfig(state_dir=state_dir, fault_injection="always_failing_test")
    run = run_pipeline(idea_by_id("billable"), config, pipeline_id="fault-always")
    assert run.status == "failed"
    assert [o for s, _a, o in run.history if s == "qa"] == ["loop_back"] * 3
    assert "QA failed after 2 loop(s)" in run.reason
    assert "deployment" not in run.results


def test_time_limit_overrun_is_a_failure_not_a_hang(state_dir):
    config = EngineConfig(state_dir=state_dir, fault_injection="hang", qa_timeout_s=4.0)
    store = {}
    idea = idea_by_id("billable")
    dev = run_stage("development", StageInput("hang", "t", idea, {}, lambda s, n: store[(s, n)]), config)
    store.update({("development", k): v for k, v in dev.artifacts.items()})
    started = time.monotonic()
    qa = run_stage("qa", StageInput("hang", "t", idea, {}, lambda s, n: store[(s, n)]), config)
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    assert qa.outcome == "loop_back"
    assert qa.summary["timed_out"] is True
    assert any(f["code"] == "QA002" and "wall-clock" in f["message"] for f in qa.summary["findings"])


# ------------------------------------------------------------------ isolation

ISOLATION_TEST = '''
import os
import socket
import unittest


class IsolationTest(unittest.TestCase):
    def test_no_parent_secret(self):
        self.assertNotIn("__SECRET_NAME__", os.environ)
        self.assertNotIn("__SECRET_VALUE__", "\\n".join("%s=%s" % kv for kv in os.environ.items()))

    def test_environment_is_minimal(self):
        self.assertEqual(os.environ.get("PYTHONHASHSEED"), "0")
        self.assertTrue(os.environ["HOME"].startswith(os.environ["TMPDIR"].rsplit("/tmp", 1)[0]))
        self.assertTrue(os.getcwd().startswith(os.environ["HOME"].rsplit("/home", 1)[0]))

    def test_tcp_to_non_loopback_fails(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        with self.assertRaises(OSError):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed; refused before any packet leaves
        s.close()

    def test_udp_connect_to_non_loopback_fails(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with self.assertRaises(OSError):
            s.connect(("192.0.2.1", 53))
        s.close()

    def test_dns_lookup_fails(self):
        with self.assertRaises(OSError):
            socket.getaddrinfo("example.com", 443)

    def test_memory_limit_applies(self):
        with self.assertRaises(MemoryError):
            bytearray(2 * 1024 * 1024 * 1024)
'''


@pytest.mark.parametrize("mode", ["auto", "sitecustomize"])
def test_qa_child_is_isolated(mode, monkeypatch, state_dir):
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    files = {
        "README.md": "# isolation probe\n",
        "requirements.txt": "Flask==3.1.3\n",
        "tests/__init__.py": "",
        "tests/test_isolation.py": ISOLATION_TEST.replace("__SECRET_NAME__", SECRET_NAME)
        .replace("__SECRET_VALUE__", SECRET_VALUE),
    }
    config = EngineConfig(state_dir=state_dir, qa_network_isolation=mode, qa_memory_mb=512, qa_timeout_s=30)
    result = _qa(files, config)
    report = json.loads(result.artifacts["qa-report.json"])
    assert result.outcome == "ok", report["findings"]
    assert report["tests"]["run"] == 6 and report["tests"]["passed"] == 6
    if mode == "sitecustomize":
        assert report["isolation"]["network"].startswith("sitecustomize socket guard")
    elif sandbox.probe_unshare(config.python_executable):
        assert report["isolation"]["network"].startswith("netns (unshare")
    assert SECRET_VALUE.encode() not in result.artifacts["qa-report.json"]


def test_sandbox_env_is_built_from_scratch(monkeypatch, tmp_path):
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    env = sandbox.isolated_env(tmp_path / "home", None)
    assert SECRET_NAME not in env and set(env) >= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"}
    res = sandbox.run_isolated([sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
                               cwd=tmp_path, env=env, timeout_s=20, cpu_s=10, memory_mb=512)
    child_env = json.loads(res.stdout)
    assert SECRET_NAME not in child_env
    assert child_env["HOME"] == str(tmp_path / "home")


def test_sandbox_wall_clock_kills_the_process_group(tmp_path):
    env = sandbox.isolated_env(tmp_path / "home", None)
    code = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    started = time.monotonic()
    res = sandbox.run_isolated([sys.executable, "-c", code], cwd=tmp_path, env=env, timeout_s=1.5, cpu_s=10,
                               memory_mb=512)
    assert res.timed_out is True and time.monotonic() - started < 10
    assert res.signal_name == "SIGKILL"


def test_cpu_limit_kills_a_busy_loop(tmp_path):
    env = sandbox.isolated_env(tmp_path / "home", None)
    res = sandbox.run_isolated([sys.executable, "-c", "while True: pass"], cwd=tmp_path, env=env, timeout_s=20,
                               cpu_s=1, memory_mb=512)
    assert res.timed_out is False
    assert res.signal_name in ("SIGXCPU", "SIGKILL")


def test_unshare_probe_reports_a_real_namespace():
    prefix = sandbox.probe_unshare(sys.executable)
    if prefix is None:
        pytest.skip("unshare is not usable on this machine; the socket guard is the isolation")
    assert prefix in (("unshare", "-rn"), ("unshare", "-n"))


# ------------------------------------------------------------------ static checks and parsing


def test_lint_finds_real_problems():
    src = (
        "import os\nimport json\n\n"
        "def f(x=[]):\n"
        "    try:\n        return undefined_thing + x\n    except:\n        return None\n\n"
        "def g():\n    return json.dumps({}) if g == None else eval('1')\n"
    )
    codes = {f["code"] for f in lint_source(src, "m.py")}
    assert {"F401", "F821", "E722", "B006", "E711", "S307"} <= codes
    f821 = [f for f in lint_source(src, "m.py") if f["code"] == "F821"]
    assert f821 == [{"file": "m.py", "line": 6, "code": "F821", "severity": "error",
                     "message": "Undefined name `undefined_thing`"}]


def test_lint_understands_scopes():
    src = (
        "import typing\n\n"
        "class A:\n    x = 1\n    y = [x for _ in range(2)]\n\n"  # comprehension can't see class var x
        "    def m(self):\n        return x\n\n"  # neither can a method
        "def outer():\n    v = 1\n    def inner():\n        nonlocal v\n        v += 1\n        return v\n"
        "    return inner, [w for w in range(3) if w], (lambda q: q + v), typing\n"
        "def walrus():\n    if (n := 3) > 2:\n        return n\n"
        "try:\n    import missing_mod\nexcept ImportError as exc:\n    missing_mod = exc\n"
    )
    findings = lint_source(src, "s.py")
    undefined = sorted((f["line"], f["message"]) for f in findings if f["code"] == "F821")
    assert undefined == [(5, "Undefined name `x`"), (8, "Undefined name `x`")]


def test_lint_syntax_error_is_an_error():
    [finding] = lint_source("def broken(:\n    pass\n", "b.py")
    assert finding["code"] == "E999" and finding["severity"] == "error" and finding["line"] == 1


def test_generated_project_is_lint_clean(state_dir):
    idea = idea_by_id("ping-watch")  # realtime + multi-tenancy templates
    result = run_stage("development", StageInput("lint", "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    store = {("development", k): v for k, v in result.artifacts.items()}
    qa = run_stage("qa", StageInput("lint", "t", idea, {}, lambda s, n: store[(s, n)]), EngineConfig(state_dir=state_dir))
    report = json.loads(qa.artifacts["qa-report.json"])
    assert report["findings"] == [] and report["static"]["compiled"] == report["static"]["files"] > 5


def test_parse_unittest_output():
    project = "/tmp/x/project"
    out = (
        "test_a (tests.test_m.T.test_a) ... ok\n"
        "test_b (tests.test_m.T.test_b) ... FAIL\n"
        "test_c (tests.test_m.T.test_c) ... ERROR\n"
        "test_d (tests.test_m.T.test_d) ... skipped 'no'\n\n"
        "======================================================================\n"
        "ERROR: test_c (tests.test_m.T.test_c)\n"
        "----------------------------------------------------------------------\n"
        "Traceback (most recent call last):\n"
        f'  File "{project}/tests/test_m.py", line 12, in test_c\n'
        "    raise KeyError('k')\n"
        "KeyError: 'k'\n\n"
        "======================================================================\n"
        "FAIL: test_b (tests.test_m.T.test_b)\n"
        "----------------------------------------------------------------------\n"
        "Traceback (most recent call last):\n"
        f'  File "{project}/tests/test_m.py", line 9, in test_b\n'
        "    self.assertEqual(1, 2)\n"
        "AssertionError: 1 != 2\n\n"
        "----------------------------------------------------------------------\n"
        "Ran 4 tests in 0.003s\n\n"
        "FAILED (failures=1, errors=1, skipped=1)\n"
    )
    parsed = parse_unittest(out, project)
    assert (parsed["run"], parsed["passed"], parsed["failures"], parsed["errors"], parsed["skipped"]) == (4, 1, 1, 1, 1)
    assert parsed["status"] == "FAILED"
    assert parsed["failed_tests"] == [
        {"kind": "test_error", "test": "tests.test_m.T.test_c", "file": "tests/test_m.py", "line": 12,
         "message": "KeyError: 'k'"},
        {"kind": "test_failure", "test": "tests.test_m.T.test_b", "file": "tests/test_m.py", "line": 9,
         "message": "AssertionError: 1 != 2"},
    ]


def test_qa_temp_dir_is_removed(state_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    files = {"README.md": "x\n", "requirements.txt": "Flask==3.1.3\n", "tests/__init__.py": "",
             "tests/test_ok.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"}
    result = _qa(files, EngineConfig(state_dir=state_dir))
    assert result.outcome == "ok"
    assert not [p for p in Path(tmp_path).iterdir() if p.name.startswith("saas-qa-")]
    assert os.environ["TMPDIR"] == str(tmp_path)


# ------------------------------------------------------------------ feature coverage

def _piano_project(tamper=None) -> dict[str, str]:
    """The piano-tuning spec of test_certification (one reminder feature, fully read) plus a records feature, a
    rule feature served by records alone and a feature nothing covers, compiled; `tamper(files)` edits it."""
    from shared.engine.appspec import AppSpec
    from shared.engine.compiler import compile_project, default_design
    from shared.engine.criteria.certify import certify

    from .test_certification import piano_spec

    d = piano_spec().model_dump()
    d["capabilities"].append({"id": "piano_list", "label": "Pianos", "kind": "records", "entity": "piano",
                              "fields": ["client_email"]})
    extra = [("Piano list with client email", ["piano_list"]),
             ("Each piano is tuned at most 4 times a year", ["piano_list"]),
             ("Concert hall seating plans", [])]
    d["features"] += [f for f, _ in extra]
    d["trace"] += [{"feature": f, "status": "planned" if c else "not_covered", "capabilities": c,
                    **({} if c else {"reason": "no capability fits yet"})} for f, c in extra]
    spec = certify(AppSpec.model_validate(d))
    files = {k: v.decode() for k, v in compile_project(spec, default_design(spec)).items()}
    if tamper:
        tamper(files)
    return files


def test_coverage_counts_a_feature_only_when_its_tests_and_its_criteria_pass(state_dir):
    result = _qa(_piano_project(), EngineConfig(state_dir=state_dir))
    report = json.loads(result.artifacts["qa-report.json"])
    rows = {r["feature"]: r for r in report["coverage"]["features"]}
    reminder = rows["Email clients 14 days before each piano's tuning due date"]
    assert reminder["status"] == "built", reminder
    assert reminder["criteria"] and all(c["passed"] for c in reminder["criteria"])
    assert any(c["rules"] for c in reminder["criteria"])
    assert rows["Piano list with client email"]["status"] == "built"
    capped = rows["Each piano is tuned at most 4 times a year"]
    assert capped["status"] == "partial" and any("at most 4" in nb for nb in capped["not_built"])
    assert rows["Concert hall seating plans"]["status"] == "not_covered"
    cov = report["coverage"]
    assert (cov["features_built"], cov["features_partial"], cov["features_total"]) == (2, 1, 4)
    assert cov["criteria_run"] == cov["criteria_passed"] > 0
    assert (result.summary["features_built"], result.summary["features_total"]) == (2, 4)
    md = result.artifacts["qa-report.md"].decode()
    assert "2 of 4 features built" in md and "| acceptance criterion | result |" in md and "Not built: " in md


def test_a_feature_whose_own_tests_pass_but_whose_criterion_fails_is_partial(state_dir):
    """The app's own tests prove the mechanism; the criteria prove the feature. A reminder module that writes
    to the record's creator (the bug founders found) keeps passing a test that does not look at the address,
    and the recipient criterion catches it."""
    def to_the_creator(files):
        module = next(k for k in files if k.startswith("app/capabilities/tuning_reminders"))
        files[module] = files[module].replace("    if RECIPIENT:\n", "    if RECIPIENT and False:\n")
        assert "RECIPIENT and False" in files[module]
        files["tests/test_cap_tuning_reminders.py"] = (
            "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_mechanism(self):\n"
            "        self.assertTrue(True)\n")

    report = json.loads(_qa(_piano_project(to_the_creator), EngineConfig(state_dir=state_dir))
                        .artifacts["qa-report.json"])
    row = next(r for r in report["coverage"]["features"] if r["feature"].startswith("Email clients"))
    assert row["status"] == "partial", row
    failed = [c for c in row["criteria"] if not c["passed"]]
    assert failed and any("client" in c["text"] for c in failed)
    assert any(nb.startswith("failed: ") for nb in row["not_built"])
    assert report["passed"] is True  # the app's own tests pass: QA does not loop back, the feature is not built


def test_a_failing_behaviour_test_makes_its_feature_failing(state_dir):
    def broken(files):
        files["tests/test_cap_piano_list.py"] = (
            "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_breaks(self):\n"
            "        self.assertTrue(False)\n")

    report = json.loads(_qa(_piano_project(broken), EngineConfig(state_dir=state_dir)).artifacts["qa-report.json"])
    rows = {r["feature"]: r for r in report["coverage"]["features"]}
    assert rows["Piano list with client email"]["status"] == "failing"
    assert "test_breaks" in rows["Piano list with client email"]["reason"]


# ------------------------------------------------------------------ per-test results survive log output

LOGGING_TESTS = '''import logging
import sys
import unittest

log = logging.getLogger("app")


class Noisy(unittest.TestCase):
    def test_logs_mid_test(self):
        log.warning("payment adapter failed ... ok")
        sys.stderr.write("half a line ")
        self.assertTrue(True)

    def test_logs_then_fails(self):
        log.warning("about to fail")
        self.assertEqual(1, 2)

    def test_subtest_fails(self):
        for n in (1, 2):
            with self.subTest(n=n):
                self.assertEqual(n, 1)

    def test_quiet(self):
        pass
'''


def _records_spec(cap_id: str, feature: str) -> dict:
    """A valid one-entity spec whose feature is served by a records capability `cap_id`."""
    names = ["plant"]
    return {"name": "T", "slug": "t", "purpose": "p", "tagline": "t", "features": [feature],
            "roles": [{"name": "owner", "label": "Owner", "read": names, "write": names, "manage_users": True}],
            "default_role": "owner",
            "entities": [{"name": "plant", "plural": "plants", "label": "Plant", "label_plural": "Plants",
                          "display_field": "name", "fields": [{"name": "name", "label": "Name", "type": "text"}]}],
            "capabilities": [{"id": cap_id, "label": feature, "kind": "records", "entity": "plant", "fields": []}],
            "trace": [{"feature": feature, "status": "planned", "capabilities": [cap_id]}]}


def test_a_test_that_logs_mid_test_is_still_counted(state_dir):
    spec = _records_spec("noisy", "Noisy")
    files = {"README.md": "x\n", "requirements.txt": "Flask==3.1.3\n", "tests/__init__.py": "",
             "app/spec.json": json.dumps(spec), "tests/test_cap_noisy.py": LOGGING_TESTS}
    report = json.loads(_qa(files, EngineConfig(state_dir=state_dir)).artifacts["qa-report.json"])
    assert report["test_results"] == {
        "tests.test_cap_noisy.Noisy.test_logs_mid_test": "passed",
        "tests.test_cap_noisy.Noisy.test_logs_then_fails": "failed",
        "tests.test_cap_noisy.Noisy.test_quiet": "passed",
        "tests.test_cap_noisy.Noisy.test_subtest_fails": "failed",
    }
    assert (report["tests"]["run"], report["tests"]["failures"], report["tests"]["passed"]) == (4, 2, 2)
    failed = {f["test"]: f for f in report["findings"] if f["kind"] == "test_failure"}
    assert failed["tests.test_cap_noisy.Noisy.test_logs_then_fails"]["message"] == "AssertionError: 1 != 2"
    assert failed["tests.test_cap_noisy.Noisy.test_logs_then_fails"]["file"] == "tests/test_cap_noisy.py"
    assert "test_logs_then_fails" in report["coverage"]["features"][0]["reason"]
    assert "about to fail" in report["test_output_tail"]  # the human-readable -v output stays for the report


def test_results_file_without_summary_means_the_run_did_not_finish():
    from shared.engine.stages.qa import parse_results_file

    text = ('{"id": "tests.test_a.T.test_x", "status": "passed"}\n'
            '{"id": "tests.test_a.T.test_y", "status": "error", "traceback": "Traceback\\n  File \\"/p/tests/test_a.py\\", '
            'line 3, in test_y\\nKeyError: 1\\n"}\n{"id": "tests.te')
    parsed = parse_results_file(text, "/p")
    assert parsed["status"] is None and parsed["run"] == 2 and parsed["errors"] == 1
    assert parsed["results"] == {"tests.test_a.T.test_x": "passed", "tests.test_a.T.test_y": "failed"}
    assert parsed["failed_tests"][0]["file"] == "tests/test_a.py" and parsed["failed_tests"][0]["line"] == 3
    assert parse_results_file("", "/p") is None


def test_sandbox_child_is_started_without_preexec_fn(tmp_path, monkeypatch):
    """No Python may run between fork and exec in the stage process (live gRPC state): the limits are set by
    launcher interpreters instead, and still apply."""
    import subprocess

    seen = {}
    real = subprocess.Popen

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    env = sandbox.isolated_env(tmp_path / "home", None)
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0], resource.getrlimit(resource.RLIMIT_AS)[0])"
    res = sandbox.run_isolated([sys.executable, "-c", code], cwd=tmp_path, env=env, timeout_s=20, cpu_s=7,
                               memory_mb=600)
    assert seen.get("preexec_fn") is None and seen["start_new_session"] is True
    assert res.stdout.split() == ["7", str(600 * 1024 * 1024)]
