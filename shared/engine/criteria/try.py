"""Derive, compile and run the acceptance criteria of a spec file, printing each with pass or fail.

    python -m shared.engine.criteria.try SPEC.json [--kind KIND] [--keep DIR] [-v]

For developing criterion templates: the spec is compiled, every capability's base criteria are derived (the
trace's own criteria too), compiled into scenarios and run by `runner.py` directly (no sandbox).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..appspec import Criterion
from ..compiler import compile_project, default_design, load_spec_file
from . import ScenarioError, cid, compile_criterion
from .kinds import DERIVE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--kind")
    ap.add_argument("--keep")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args(argv)
    spec, problems = load_spec_file(args.spec)
    if problems:
        print("spec_problems:", *problems, sep="\n  - ")
        return 2
    crits: list[tuple[str, Criterion]] = []
    for t in spec.trace:
        crits += [(t.feature, c) for c in t.criteria]
    for cap in spec.capabilities:
        if args.kind and cap.kind != args.kind:
            continue
        fn = DERIVE.get(cap.kind)
        if fn is None:
            print(f"{cap.id} ({cap.kind}): no criteria for this kind yet")
            continue
        for n, c in enumerate(fn(cap, spec, None, cap.label)):
            crits.append((cap.label, Criterion(id=cid(cap.id, str(n)), capability=cap.id, **c)))
    scenarios = []
    for feature, c in crits:
        try:
            scenarios.append(compile_criterion(spec, c, feature))
        except ScenarioError as exc:
            print(f"  COMPILE FAIL {c.id}: {exc}")
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="criteria-try-"))
    try:
        files = compile_project(spec, default_design(spec))
        for rel, data in files.items():
            (out / "project" / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / "project" / rel).write_bytes(data)
        (out / "scenarios.json").write_text(json.dumps(scenarios, indent=1), encoding="utf-8")
        results = out / "results.jsonl"
        results.unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("runner.py")), str(out / "project"),
                               str(out / "scenarios.json"), str(results)], capture_output=True, text=True,
                              check=False)
        if proc.returncode:
            print(proc.stderr[-3000:])
        texts = {s["id"]: s["text"] for s in scenarios}
        bad = 0
        for line in results.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("summary"):
                continue
            bad += not r["passed"]
            print(f"  {'PASS' if r['passed'] else 'FAIL'} {r['id']}: {texts.get(r['id'])}")
            if not r["passed"]:
                print(f"       {r.get('detail')}")
                if args.v and r.get("trace"):
                    print(r["trace"])
        return 1 if bad else 0
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
