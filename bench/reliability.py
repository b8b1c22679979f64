"""Reliability figures of issue 23 (decision 0032), each on the cloud `bench.run` started:

- `false_failures_in_burst`: a burst of 30 runs after a quiet spell, QA busy (3 s a run, pass-through
  otherwise); runs that failed although every service was up (target 0).
- `crash_loop_detect_s`: seconds from the first crash of QA (the slowest stage; its instance killed under
  two runs, every new one dying at start) until every run waiting on it has failed (target <= 60).
- `runs_per_min_real_engine`: 100 runs of the real engine from 10 tenants, submitted at once.

Check them alone (not the whole `make bench`): `BENCH_ONLY=reliability BENCH_REAL_RUNS=10 make bench`
runs this phase with 10 real-engine runs instead of 100 and writes nothing.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TERMINAL = ("completed", "failed", "cancelled")


def _wait(db, tenant_id: str, pids, timeout: float) -> tuple[list[dict], float]:
    t0 = time.monotonic()
    while True:
        docs = [db.document(f"tenants/{tenant_id}/pipelines/{p}").get(timeout=10).to_dict() or {} for p in pids]
        if all(d.get("status") in TERMINAL for d in docs):
            return docs, time.monotonic()
        if time.monotonic() - t0 > timeout:
            return docs, time.monotonic()
        time.sleep(0.25)


def _owner(api, packs: int, passthrough: bool = True):
    from emulator import faults
    from tests.helpers import buy_credits

    owner = api.signup(company="Bench Reliability")
    if passthrough:
        faults.set_flag(owner.tenant_id, "passthrough")
    for _ in range(packs):
        buy_credits(api, owner)
    return owner


def quiet_spell(api, db) -> None:
    """A few quick runs, so every stage's deadline is measured and sits at its floor."""
    from shared import reconciler
    from tests.helpers import IDEA

    owner = _owner(api, 1)
    pids = [api.post("/api/ideas", owner, json=IDEA).json()["pipeline_id"] for _ in range(6)]
    _wait(db, owner.tenant_id, pids, 60)
    reconciler.refresh(force=True)
    time.sleep(reconciler.CACHE_TTL_S + 1)


def false_failures_in_burst(api, db, n: int = 30) -> tuple[int, dict]:
    from emulator import faults
    from tests.helpers import IDEA

    owner = _owner(api, (n + 9) // 10)
    faults.arm(owner.tenant_id, "slow_stage", "qa", remaining=n, seconds=3)
    t0 = time.monotonic()
    pids = [api.post("/api/ideas", owner, json=IDEA, timeout=30).json()["pipeline_id"] for _ in range(n)]
    docs, last = _wait(db, owner.tenant_id, pids, 180)
    failed = [d.get("error_message") for d in docs if d.get("status") != "completed"]
    return len(failed), {"runs": n, "wall_s": round(last - t0, 1), "failures": failed[:3],
                         "published_again": sum(sum((d.get("metadata", {}).get("redispatches") or {}).values())
                                                for d in docs)}


def crash_loop_detect_s(api, db, state_dir: str) -> tuple[float | None, dict]:
    from emulator import faults
    from tests.faults import drill
    from tests.helpers import IDEA

    owner = _owner(api, 1)
    faults.arm(owner.tenant_id, "slow_stage", "qa", remaining=2, seconds=60)
    pids = [api.post("/api/ideas", owner, json=IDEA).json()["pipeline_id"] for _ in range(2)]
    end = time.monotonic() + 30
    while time.monotonic() < end and not all(
            (d.get("stages") or {}).get("qa", {}).get("status") == "running" for d in _wait(db, owner.tenant_id, pids, 0)[0]):
        time.sleep(0.2)
    marker = Path(state_dir) / "faults" / "crashloop" / "stage_qa"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        os.kill(drill.functions_info()["stage_qa"]["pid"], signal.SIGKILL)
        t0 = time.monotonic()
        pids.append(api.post("/api/ideas", owner, json=IDEA).json()["pipeline_id"])
        docs, last = _wait(db, owner.tenant_id, pids, 120)
    finally:
        marker.unlink(missing_ok=True)
    back = time.monotonic() + 45  # QA comes back once it stops dying (backoff capped at 30 s)
    while time.monotonic() < back and not (drill.functions_info()["stage_qa"].get("pid") and drill.port_answers(
            drill.functions_info()["stage_qa"]["port"])):
        time.sleep(0.2)
    ok = all(d.get("error_code") == "stage_crash_loop" for d in docs)
    return (round(last - t0, 1) if ok else None), {"runs": len(docs), "codes": [d.get("error_code") for d in docs],
                                                   "reason": docs[-1].get("error_message")}


def runs_per_min_real_engine(api, db, n: int = 100, tenants: int = 10) -> tuple[float, dict]:
    from tests.helpers import IDEA

    tenants = max(1, min(tenants, n))
    owners = [_owner(api, max(1, (-(-n // tenants) + 9) // 10), passthrough=False) for _ in range(tenants)]
    jobs = [owners[i % tenants] for i in range(n)]
    t0 = time.monotonic()
    def submit(o):
        r = api.post("/api/ideas", o, json=IDEA, timeout=60)
        assert r.status_code == 202, r.text
        return o, r.json()["pipeline_id"]

    with ThreadPoolExecutor(max_workers=10) as ex:
        pids = list(ex.map(submit, jobs))
    docs, walls = [], []
    for o in owners:
        got, last = _wait(db, o.tenant_id, [p for oo, p in pids if oo is o], 900)
        docs += got
    wall = max(time.monotonic(), last) - t0
    completed = sum(d.get("status") == "completed" for d in docs)
    for d in docs:
        if d.get("completed_at") and d.get("created_at"):
            walls.append((d["completed_at"] - d["created_at"]).total_seconds())
    walls.sort()
    return round(completed / wall * 60, 1), {
        "runs": n, "tenants": tenants, "completed": completed, "wall_s": round(wall, 1),
        "p50_s": walls[len(walls) // 2] if walls else None,
        "p95_s": walls[min(len(walls) - 1, int(0.95 * len(walls)))] if walls else None,
        "failed": [d.get("error_code") for d in docs if d.get("status") != "completed"]}


def phase(metrics: dict, extra: dict, start_cloud, stop_cloud, say, real_runs: int = 100) -> None:
    env, _ = start_cloud({"FACTORY_FAULTS": "enabled", "STAGE_DEADLINE_S": "20", "LOCAL_SCHEDULER_INTERVAL_S": "1"})
    try:
        from google.cloud import firestore

        from tests.helpers import Api

        api = Api(env["FRONT_DOOR_URL"])
        db = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"])
        quiet_spell(api, db)
        metrics["false_failures_in_burst"], extra["false_failures_in_burst"] = false_failures_in_burst(api, db)
        say(f"false_failures_in_burst {metrics['false_failures_in_burst']} {extra['false_failures_in_burst']}")
        metrics["crash_loop_detect_s"], extra["crash_loop_detect"] = crash_loop_detect_s(api, db, env["STATE_DIR"])
        say(f"crash_loop_detect_s {metrics['crash_loop_detect_s']} {extra['crash_loop_detect']}")
        metrics["runs_per_min_real_engine"], extra["runs_per_min_real_engine"] = \
            runs_per_min_real_engine(api, db, real_runs)
        say(f"runs_per_min_real_engine {metrics['runs_per_min_real_engine']} {extra['runs_per_min_real_engine']}")
    finally:
        stop_cloud(env)
