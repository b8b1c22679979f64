"""`feature_coverage`: the fraction of the corpus's key features whose capability behaviour tests pass.

Every good idea of `tests/fixtures/ideas.json` (expect "go") runs through stages 1-5 in-process with the
built-in engine (`shared.engine.runner.run_pipeline(stop_after="qa")`). QA's coverage table counts a feature
as built only when each capability its trace names has behaviour tests in `tests/test_cap_<id>.py` and all
of them passed. The denominator is the number of key features the founders wrote, not the trace's length,
so a feature the planner dropped still counts against the figure.

Run alone: `python -m bench.coverage` (prints the table, with every not-covered feature and its reason).
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


def good_ideas() -> list[dict]:
    return [i for i in json.loads(IDEAS.read_text(encoding="utf-8"))["ideas"] if i.get("expect") == "go"]


def run(ideas: list[dict] | None = None) -> dict:
    from shared.engine import EngineConfig
    from shared.engine.runner import run_pipeline

    ideas = good_ideas() if ideas is None else ideas
    built = total = 0
    per_idea, not_covered, kinds, walls = [], [], Counter(), []
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
            rows = report.get("coverage", {}).get("features", [])
            ok = sum(1 for r in rows if r.get("status") == "built")
            built += min(ok, want)
            kinds.update({c["kind"] for c in spec.get("capabilities", [])})
            per_idea.append({"idea": idea["id"], "built": ok, "total": want, "status": result.status})
            not_covered += [{"idea": idea["id"], "feature": r["feature"], "status": r["status"],
                             "reason": r.get("reason")} for r in rows if r.get("status") != "built"]
    return {
        "feature_coverage": round(built / total, 3) if total else 0.0,
        "details": {"features_built": built, "features_total": total, "ideas": len(ideas),
                    "capability_kinds_used": dict(sorted(kinds.items())),
                    "run_to_qa_s_p50": round(statistics.median(walls), 2) if walls else None,
                    "per_idea": per_idea, "not_covered": not_covered},
    }


def main() -> int:
    out = run()
    d = out["details"]
    print(f"feature_coverage {out['feature_coverage']} ({d['features_built']} of {d['features_total']} key "
          f"features of {d['ideas']} good ideas built)")
    print(f"capability kinds used: {d['capability_kinds_used']}")
    for row in d["not_covered"]:
        print(f"  {row['idea']}: {row['feature']!r} {row['status']}: {row['reason']}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
