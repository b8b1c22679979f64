"""Runs the exploit gate's scenarios against many generated apps in one process (for the corpus gate test).

    python -m tests.unit.engine.gate_worker JOBS_JSON

JOBS_JSON is [{"name", "project", "scenarios", "results"}]. Each job is one generated app: its scenarios run with
the criteria runner's `run_scenario` (a fresh app and database per scenario, as QA runs them), one JSON line per
scenario to the job's results file. Between apps the previous app's modules (`app`, `app.*`) are dropped, so one
interpreter serves every app instead of paying a start-up per app.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time

from shared.engine.criteria.runner import run_scenario


def _forget_app() -> None:
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[name]


def run_job(job: dict, workdir: str) -> None:
    """One app's scenarios; their databases go to a directory of the app's own (scenario ids repeat across apps)."""
    _forget_app()
    workdir = tempfile.mkdtemp(prefix=f"{job['name']}-", dir=workdir)
    sys.path.insert(0, job["project"])
    os.chdir(job["project"])
    t0 = time.perf_counter()
    with open(job["scenarios"], encoding="utf-8") as f:
        scenarios = json.load(f)
    try:
        with open(job["results"], "w", encoding="utf-8") as out:
            try:
                from app import create_app
            except Exception as exc:  # noqa: BLE001 - an app that cannot be imported fails every attack, saying why
                for scenario in scenarios:
                    out.write(json.dumps({"id": scenario["id"], "passed": False, "steps_run": 0,
                                          "detail": f"the app could not be imported: {exc!r}"[:300]}) + "\n")
                return
            for scenario in scenarios:
                out.write(json.dumps(run_scenario(create_app, scenario, workdir)) + "\n")
            out.write(json.dumps({"summary": True, "scenarios": len(scenarios),
                                  "seconds": round(time.perf_counter() - t0, 2)}) + "\n")
    finally:
        sys.path.remove(job["project"])


def main(argv: list[str]) -> int:
    logging.disable(logging.CRITICAL)
    with open(argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    workdir = tempfile.mkdtemp(prefix="gate-")
    try:
        for job in jobs:
            run_job(job, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
