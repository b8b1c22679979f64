"""`feature_coverage`: the fraction of key features QA calls built (issue 16), and the figures beside it.

Every good idea (expect "go") runs through stages 1-5 in-process with the built-in engine
(`shared.engine.runner.run_pipeline(stop_after="qa")`). QA counts a feature as built only when its reading has no
unread word, every rule it states is realised by a capability carrying the rule's own number and nouns, the
capabilities' behaviour tests pass and its acceptance criteria pass against the app. The denominator is the
number of key features the founders wrote, so a feature the planner dropped still counts against the figure.

* `features_partial`: features QA calls partial (it names what is missing);
* `unread_rule_words`: rule words (numbers, "only", "cannot", "within", ...) the readings leave unread;
* `capability_tests_passed`: the old figure — features whose bound capabilities pass their own tests (it cannot
  see a capability bound to the wrong record or a dropped number);
* `rule_features_built_without_criterion`: on a set with hand-written rule annotations (the held-out set), the
  features stating a rule that are built although no passing criterion exercises a rule of the feature.

The tuning corpus is `tests/fixtures/ideas.json`; the held-out set `tests/fixtures/heldout_ideas.json` is never
tuned on. Run alone: `python -m bench.coverage [--heldout]` (prints every feature that is not built, and why).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDEAS = ROOT / "tests" / "fixtures" / "ideas.json"
HELDOUT = ROOT / "tests" / "fixtures" / "heldout_ideas.json"


def good_ideas() -> list[dict]:
    return [i for i in json.loads(IDEAS.read_text(encoding="utf-8"))["ideas"] if i.get("expect") == "go"]


def heldout_ideas() -> list[dict]:
    return [i for i in json.loads(HELDOUT.read_text(encoding="utf-8"))["ideas"] if i.get("expect") == "go"]


def run(ideas: list[dict] | None = None) -> dict:
    from shared.engine import EngineConfig
    from shared.engine.runner import run_pipeline

    ideas = good_ideas() if ideas is None else ideas
    built = total = partial = unread_rule = cap_ok = rule_built_bad = 0
    per_idea, not_covered, kinds, walls, rule_bad_rows = [], [], Counter(), [], []
    with tempfile.TemporaryDirectory(prefix="bench-coverage-") as state:
        config = EngineConfig(state_dir=state)
        for idea in ideas:
            t0 = time.perf_counter()
            result = run_pipeline(idea, config, pipeline_id=f"cov-{idea['id']}", stop_after="qa")
            walls.append(time.perf_counter() - t0)
            want = len(idea.get("key_features") or [])
            total += want
            try:
                report = json.loads(result.read("qa", "qa-report.json"))
                spec = json.loads(result.read("development", "app-spec.json"))
            except KeyError:
                per_idea.append({"idea": idea["id"], "built": 0, "total": want, "status": result.status,
                                 "reason": result.reason})
                continue
            cov = report.get("coverage", {})
            rows = cov.get("features", [])
            ok = sum(1 for r in rows if r.get("status") == "built")
            built += min(ok, want)
            partial += sum(1 for r in rows if r.get("status") == "partial")
            unread_rule += cov.get("unread_rule_words", 0)
            cap_ok += min(cov.get("capability_tests_passed", 0), want)
            annotated = {r["feature"] for r in idea.get("rules") or []}
            for i, r in enumerate(rows):
                if i in annotated and r.get("status") == "built" and not any(
                        c["passed"] and c.get("rules") for c in r.get("criteria", [])):
                    rule_built_bad += 1
                    rule_bad_rows.append({"idea": idea["id"], "feature": r["feature"]})
            kinds.update({c["kind"] for c in spec.get("capabilities", [])})
            per_idea.append({"idea": idea["id"], "built": ok, "total": want, "status": result.status,
                             "exploits_failed": list((report.get("exploits") or {}).get("failed") or [])})
            not_covered += [{"idea": idea["id"], "feature": r["feature"], "status": r["status"],
                             "reason": r.get("reason")} for r in rows if r.get("status") != "built"]
            per_idea[-1]["criteria"] = {"passed": cov.get("criteria_passed", 0), "run": cov.get("criteria_run", 0)}
    return {
        "feature_coverage": round(built / total, 3) if total else 0.0,
        "features_partial": partial,
        "unread_rule_words": unread_rule,
        "capability_tests_passed": round(cap_ok / total, 3) if total else 0.0,
        "rule_features_built_without_criterion": rule_built_bad,
        "apps_failing_exploit_gate": sum(1 for r in per_idea if r.get("exploits_failed")),
        "details": {"features_built": built, "features_partial": partial, "features_total": total,
                    "ideas": len(ideas),
                    "capability_kinds_used": dict(sorted(kinds.items())),
                    "run_to_qa_s_p50": round(statistics.median(walls), 2) if walls else None,
                    "per_idea": per_idea, "not_covered": not_covered,
                    "rule_features_built_without_criterion": rule_bad_rows},
    }


def main() -> int:
    out = run(heldout_ideas() if "--heldout" in sys.argv else None)
    d = out["details"]
    print(f"feature_coverage {out['feature_coverage']} ({d['features_built']} of {d['features_total']} key "
          f"features of {d['ideas']} good ideas built); partial {out['features_partial']}; unread rule words "
          f"{out['unread_rule_words']}; capability_tests_passed {out['capability_tests_passed']}; rule features "
          f"built without a criterion {out['rule_features_built_without_criterion']}")
    print(f"capability kinds used: {d['capability_kinds_used']}")
    for row in d["rule_features_built_without_criterion"]:
        print(f"  built, but no passing criterion exercises its rule: {row['idea']}: {row['feature']!r}")
    for row in d["not_covered"]:
        print(f"  {row['idea']}: {row['feature']!r} {row['status']}: {row['reason']}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
