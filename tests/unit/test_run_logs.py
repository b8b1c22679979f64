"""Per-stage log lines (shared/logs.stage_log_lines, shared/stage_runner.summary_lines): short, capped, in
the founder's words."""

from shared import stage_runner
from shared.runs import commits, logs


def test_lines_say_what_the_stage_did_and_how_it_ended():
    out = commits.Outcome("ok", logs=["Features: 4"])
    lines = logs.stage_log_lines("tech_stack", 2, out, ["stack.json", "adr.md"], {"engine": "rules"}, 1530)
    assert lines == ["Tech stack, attempt 2: ran on the rules engine for 1.5 s", "Features: 4",
                     "Wrote 2 artifacts: stack.json, adr.md", "Tech stack completed"]
    bad = logs.stage_log_lines("qa", 1, commits.Outcome("loop_back", reason="2 tests failed"), [], {}, None)
    assert bad == ["Qa, attempt 1: ran on the default engine for an unknown time",
                   "Sent back to development: 2 tests failed"]
    rej = logs.stage_log_lines("development", 1, commits.Outcome("reject", reason="no plan"), [], {}, 10)
    assert rej[-1] == "Development failed: no plan"


def test_lines_are_capped_in_number_and_length_and_keep_the_outcome():
    out = commits.Outcome("ok", logs=[f"step {i} " + "x" * 500 for i in range(40)])
    names = [f"f{i}.py" for i in range(9)]
    lines = logs.stage_log_lines("development", 1, out, names, {}, 5)
    assert len(lines) == logs.LOG_LINES_PER_STAGE and lines[-1] == "Development completed"
    assert all(len(ln) <= logs.LOG_LINE_CHARS for ln in lines)
    assert lines[1].endswith("…")
    few = logs.stage_log_lines("development", 1, commits.Outcome("ok"), names, {}, 5)
    assert few[1] == "Wrote 9 artifacts: f0.py, f1.py, f2.py, f3.py, f4.py, f5.py and 3 more"


def test_summary_lines_keep_plain_values_only():
    summary = {"verdict": "go", "score": 0.82, "needs_input": False, "features": ["a"], "spec": {"x": 1},
               "empty": " ", "tests_passed": 12}
    assert stage_runner.summary_lines(summary) == ["Verdict: go", "Score: 0.82", "Needs input: no",
                                                   "Tests passed: 12"]
    assert len(stage_runner.summary_lines({f"k{i}": i for i in range(20)})) == 6
