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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[3]


def write_project(files: dict[str, bytes], where: Path) -> None:
    for rel, data in files.items():
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        (where / rel).write_bytes(data)


def job(name: str, files: dict[str, bytes], scenarios: list[dict], where: Path) -> dict:
    """A job for `run_jobs`: the app written to where/name, its scenarios beside it."""
    write_project(files, where / name)
    (where / f"{name}.json").write_text(json.dumps(scenarios), "utf-8")
    return {"name": name, "project": str(where / name), "scenarios": str(where / f"{name}.json"),
            "results": str(where / f"{name}.jsonl"), "n": len(scenarios), "ids": [s["id"] for s in scenarios]}


def _shards(jobs: list[dict], n: int) -> list[list[dict]]:
    """Jobs split into n shards of about the same number of scenarios (the longest first)."""
    shards: list[list[dict]] = [[] for _ in range(n)]
    load = [0] * n
    for j in sorted(jobs, key=lambda j: -j["n"]):
        i = load.index(min(load))
        shards[i].append(j)
        load[i] += j["n"]
    return [s for s in shards if s]


def run_jobs(jobs: list[dict], where: Path, workers: int = 2, timeout_s: float = 1200) -> dict[str, dict[str, dict]]:
    """Run the jobs in `workers` processes; {job name: {scenario id: result}}. A scenario that never ran is
    reported as failed ("never ran")."""
    procs = []
    for i, shard in enumerate(_shards(jobs, workers)):
        (where / f"shard-{i}.json").write_text(json.dumps(shard), "utf-8")
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.unit.engine.gate_worker",
                                       str(where / f"shard-{i}.json")], cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    try:
        for proc in procs:
            _out, err = proc.communicate(timeout=timeout_s)
            assert proc.returncode == 0, err[-3000:]
    finally:
        for proc in procs:  # a worker past its time (or left by a failed one) is stopped, never orphaned
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out: dict[str, dict[str, dict]] = {}
    for j in jobs:
        path = Path(j["results"])
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []
        got = {r["id"]: r for r in rows if "id" in r}
        for missing in set(j["ids"]) - set(got):
            got[missing] = {"id": missing, "passed": False, "detail": "the attack never ran"}
        out[j["name"]] = got
    return out


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
