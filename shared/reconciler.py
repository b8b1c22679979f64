"""The reconciler: recovery of stuck runs that needs no single service, and per-stage deadlines.

Every active pipeline document carries `deadline_at`: when its current stage must have made
progress by. It is set when a stage is dispatched (queue deadline) and when it is claimed (run
deadline), and cleared when the run stops moving (terminal, awaiting approval). A scheduled job
(Cloud Scheduler -> watchdog `/reconcile`; locally emulator/scheduler.py) asks Firestore for the
runs whose `deadline_at` has passed -- one indexed collection-group query, not a scan -- and
hands each to `pipeline.deadline`, the same fenced transaction the Cloud Tasks watchdog uses:
re-dispatch through the outbox a bounded number of times, then fail the run with a reason.
Cloud Tasks stays the fast path; when it is down or a task is lost, this finds the run anyway.

Deadlines come from measured durations: `factor` x the p95 of recent queue waits (dispatch ->
claim) and run times (claim -> finish) of that stage, never below a floor and never above
STAGE_DEADLINE_S. The reconciler recomputes them from recent runs at most every
REFRESH_INTERVAL_S and stores them in `_system/stage_deadlines`; every process caches that
document for CACHE_TTL_S. Each re-dispatch of the same stage doubles its deadline, so a slow
patch (a burst of load) is not mistaken for a loss more than a couple of times.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime, timedelta

from google.cloud import firestore as gfs

from shared import clients, log, topology
from shared.settings import get_settings
from shared.store import now

logger = log.get_logger("reconciler")

REFRESH_INTERVAL_S = 10.0
CACHE_TTL_S = 10.0
SAMPLE_RUNS = 100
MIN_SAMPLES = 5

_cache: dict = {"at": 0.0, "doc": None}
_cache_lock = threading.Lock()


def _stats_ref():
    return clients.firestore().collection("_system").document("stage_deadlines")


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(0.95 * len(xs)) - 1))]


def compute(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Deadlines (seconds) per phase and stage from measured seconds; stages with too few
    samples get the cap (STAGE_DEADLINE_S), the safe value before anything is known."""
    s = get_settings()
    out: dict[str, dict[str, float]] = {"queue_s": {}, "run_s": {}}
    floors = {"queue_s": s.stage_queue_floor_s, "run_s": s.stage_run_floor_s}
    for phase in ("queue_s", "run_s"):
        for stage in topology.STAGES:
            xs = samples.get(phase, {}).get(stage) or []
            if len(xs) < MIN_SAMPLES:
                out[phase][stage] = s.stage_deadline_s
                continue
            measured = s.stage_deadline_factor * _p95(xs)
            out[phase][stage] = round(min(s.stage_deadline_s, max(floors[phase], measured)), 2)
    return out


def _secs(a, b) -> float | None:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return max(0.0, (b - a).total_seconds())
    return None


def refresh(force: bool = False) -> dict | None:
    """Recompute the stage deadlines from the most recently updated runs (reconciler only)."""
    ref = _stats_ref()
    snap = ref.get()
    if snap.exists and not force:
        at = (snap.to_dict() or {}).get("updated_at")
        if isinstance(at, datetime) and (now() - at).total_seconds() < REFRESH_INTERVAL_S:
            return None
    q = (clients.firestore().collection_group("pipelines")
         .order_by("updated_at", direction=gfs.Query.DESCENDING).limit(SAMPLE_RUNS).select(["stages"]))
    samples: dict[str, dict[str, list[float]]] = {"queue_s": {}, "run_s": {}}
    for d in q.stream():
        for stage, st in ((d.to_dict() or {}).get("stages") or {}).items():
            if stage not in topology.STAGES or st.get("status") != "completed":
                continue
            wait = _secs(st.get("dispatched_at"), st.get("started_at"))
            run = _secs(st.get("started_at"), st.get("finished_at"))
            if wait is not None:
                samples["queue_s"].setdefault(stage, []).append(wait)
            if run is not None:
                samples["run_s"].setdefault(stage, []).append(run)
    doc = {**compute(samples), "samples": {ph: {st: len(v) for st, v in by.items()} for ph, by in samples.items()},
           "updated_at": now()}
    ref.set(doc)
    with _cache_lock:
        _cache.update(at=time.monotonic(), doc=doc)
    return doc


def _current() -> dict:
    with _cache_lock:
        if _cache["doc"] is not None and time.monotonic() - _cache["at"] < CACHE_TTL_S:
            return _cache["doc"]
    try:
        snap = _stats_ref().get()
        doc = snap.to_dict() if snap.exists else {}
    except Exception as exc:  # noqa: BLE001 - no measurements: the cap is the safe deadline
        log.event(logger, logging.WARNING, "could not read the stage deadlines; using the cap", error=str(exc))
        doc = {}
    with _cache_lock:
        _cache.update(at=time.monotonic(), doc=doc or {})
    return doc or {}


def stage_deadline_s(stage: str, phase: str, redispatches: int = 0) -> float:
    """How long `stage` may sit in `phase` ("queue" before a claim, "run" after) before the
    reconciler acts: the measured deadline, doubled for each re-dispatch of this stage so far."""
    base = float((_current().get(f"{phase}_s") or {}).get(stage) or get_settings().stage_deadline_s)
    return base * (2 ** max(0, min(int(redispatches), 6)))


def deadline_at(stage: str, phase: str, t: datetime, redispatches: int = 0) -> datetime:
    return t + timedelta(seconds=stage_deadline_s(stage, phase, redispatches))


def due(limit: int = 100) -> list:
    """Active runs whose current stage is past its deadline (indexed collection-group query)."""
    q = (clients.firestore().collection_group("pipelines")
         .where(filter=gfs.FieldFilter("deadline_at", "<=", now()))
         .order_by("deadline_at").limit(limit))
    return list(q.stream())


def reconcile(limit: int = 100) -> dict:
    """One reconciler pass: refresh the deadlines, then act on every run past its deadline."""
    from shared import pipeline

    try:
        refresh()
    except Exception as exc:  # noqa: BLE001 - stale deadlines are still deadlines
        log.event(logger, logging.WARNING, "could not refresh the stage deadlines", error=str(exc))
    counts = {"due": 0, "redispatched": 0, "failed": 0, "cleared": 0, "skipped": 0}
    for snap in due(limit):
        counts["due"] += 1
        try:
            what = pipeline.reconcile_run(snap.reference)
        except Exception as exc:  # noqa: BLE001 - one bad run must not stop the pass
            log.event(logger, logging.ERROR, "reconcile failed for a run", path=snap.reference.path, error=str(exc))
            counts["skipped"] += 1
            continue
        counts[what if what in counts else "skipped"] += 1
    if counts["due"]:
        log.event(logger, logging.INFO, "reconciler pass", **counts)
    return counts
