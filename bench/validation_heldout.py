"""Idea validation on ideas it has never seen (issue 22): the held-out set tests/fixtures/heldout_validation.json.

`figures(ideas)` runs stage 1 (built-in engine, in-process) on each held-out idea and returns
`heldout_restatements_paused` (the fraction of restatements that pause, `needs_input`, naming the product they
restate first in `clone_of`) and `heldout_good_ideas_go` (the fraction of good ideas that go), each with its
counts and the ids that missed. `make bench` reports both; tests/unit/engine/test_validation_heldout.py holds
the targets (>= 0.9 and >= 0.95). Never tune the validator on these ideas: answer a miss with a general rule
and a fresh batch of held-out ideas (`round` in the file).
"""

from __future__ import annotations

import json
from pathlib import Path

HELDOUT_FILE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "heldout_validation.json"


def heldout_ideas() -> list[dict]:
    return json.loads(HELDOUT_FILE.read_text(encoding="utf-8"))["ideas"]


def rounds() -> dict[str, dict]:
    """{round: {"tuned_on", "first_run", "note"}}: which rounds the rules were changed after, and each round's
    figures on its first run (before any change), as recorded when it was run."""
    return json.loads(HELDOUT_FILE.read_text(encoding="utf-8"))["rounds"]


def unseen_ideas() -> list[dict]:
    """The held-out ideas of rounds the validator was never changed after: the only honest held-out figures."""
    tuned = {k for k, v in rounds().items() if v["tuned_on"]}
    return [i for i in heldout_ideas() if str(i.get("round", 1)) not in tuned]


def first_run_totals() -> dict[str, str]:
    """Every round's first-run figures added up: what the validator did on each idea the first time it saw it."""
    out = {}
    run = [r for r in rounds().values() if r["first_run"]]  # a round written but not yet run has none
    for key in ("restatements_paused", "good_go"):
        hit = sum(int(r["first_run"][key].split("/")[0]) for r in run)
        total = sum(int(r["first_run"][key].split("/")[1]) for r in run)
        out[key] = f"{hit}/{total}"
    return out


def _validate(idea: dict) -> dict:
    from shared.engine import EngineConfig, StageInput, no_artifacts, run_stage

    result = run_stage("idea_validation", StageInput("bench-heldout", "t", idea, {}, no_artifacts), EngineConfig())
    return json.loads(result.artifacts["validation-report.json"])


def figures(ideas: list[dict], validate=None) -> dict:
    """{heldout_restatements_paused, heldout_good_ideas_go, counts, misses} for `ideas` (`validate(idea)` returns
    the validation report; by default stage 1 runs in-process)."""
    validate = validate or _validate
    paused = goes = n_restated = n_good = 0
    misses: list[dict] = []
    by_round: dict[str, list[int]] = {}
    for idea in ideas:
        report = validate(idea)
        if idea["kind"] == "restatement":
            n_restated += 1
            ok = report["needs_input"] and report["clone_of"][:1] == [idea["product"]]
            paused += ok
        else:
            n_good += 1
            ok = report["verdict"] == "go"
            goes += ok
        tally = by_round.setdefault(f"round {idea.get('round', 1)} {idea['kind']}", [0, 0])
        tally[0] += ok
        tally[1] += 1
        if not ok:
            misses.append({"id": idea["id"], "verdict": report["verdict"], "clone_of": report["clone_of"],
                           "expected": idea.get("product") or "go"})
    return {
        "heldout_restatements_paused": round(paused / n_restated, 3) if n_restated else 0.0,
        "heldout_good_ideas_go": round(goes / n_good, 3) if n_good else 0.0,
        "counts": {"restatements_paused": paused, "restatements": n_restated, "good_go": goes, "good": n_good,
                   "by_round": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_round.items())}},
        "misses": misses,
    }
