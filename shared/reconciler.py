"""The reconciler: recovery of stuck runs that needs no single service, and per-stage deadlines.

Every active pipeline document carries `deadline_at`: when its current stage must have made
progress by. It is set when a stage is dispatched (queue deadline) and when it is claimed (run
deadline), and cleared when the run stops moving (terminal, awaiting approval). A scheduled job
(Cloud Scheduler -> watchdog `/reconcile`; locally emulator/scheduler.py) asks Firestore for the
runs whose `deadline_at` has passed -- one indexed collection-group query, not a scan -- and
hands each to `reconcile_run`, the same fenced transaction the Cloud Tasks watchdog uses:
re-dispatch through the outbox a bounded number of times, then fail the run with a reason.
Cloud Tasks stays the fast path; when it is down or a task is lost, this finds the run anyway.
That pass (`reconcile`, `due`) and the decisions it applies live in shared/runs/timeouts.py; this
module holds what they read -- the deadlines and the evidence -- and imports nothing of the runs,
so the runs, the outbox and the watchdog all import it without a cycle (decision 0043).

Deadlines come from measured durations: `factor` x the p95 of recent queue waits (dispatch ->
claim) and run times (claim -> finish) of that stage, never below a floor and never above
STAGE_DEADLINE_S. The reconciler recomputes them from recent runs at most every
REFRESH_INTERVAL_S and stores them in `_system/stage_deadlines`; every process caches that
document for CACHE_TTL_S.

A deadline only says when to look. What happens then is judged from evidence (decision 0032,
`judge_queued`): a stage that has not claimed a run's message is failed only when its service is
seen not to take work -- crash-looping (shared/health.py, checked on every pass whatever the
deadline), or no claim by any instance within the liveness window while runs wait, after the
message was published again. While the service works through a backlog the deadline stretches
with the backlog; a message waiting at an idle service is published again with the same
dispatch id (never a second dispatch), so a copy that was only late is a no-op claim.
Claims are recorded per stage in `_system/activity_{stage}` (throttled, outside the claim's
transaction).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.cloud import firestore as gfs

from shared import clients, health, log, topology
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
    out: dict[str, dict[str, float]] = {"queue_s": {}, "run_s": {}, "run_p95_s": {}}
    floors = {"queue_s": s.stage_queue_floor_s, "run_s": s.stage_run_floor_s}
    for phase in ("queue_s", "run_s"):
        for stage in topology.STAGES:
            xs = samples.get(phase, {}).get(stage) or []
            if len(xs) < MIN_SAMPLES:
                out[phase][stage] = s.stage_deadline_s
                continue
            if phase == "run_s":  # how fast a backlog drains (judge_queued)
                out["run_p95_s"][stage] = round(_p95(xs), 2)
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


# ------------------------------------------------------------------------------ evidence (0032)


def crash_looping_stages(reader: health.HealthReader | None = None) -> dict[str, health.StageHealth]:
    """Crash-looping stage functions, by stage name. Never raises: no health is no evidence."""
    try:
        found = (reader or health.reader()).crash_looping()
    except Exception as exc:  # noqa: BLE001
        log.event(logger, logging.WARNING, "could not read function health", error=str(exc))
        return {}
    return {fn.removeprefix("stage_"): h for fn, h in found.items() if fn.removeprefix("stage_") in topology.STAGES}


def _activity_ref(stage: str):
    return clients.firestore().collection("_system").document(f"activity_{stage}")


ACTIVITY_EVERY_S = 2.0  # per process and stage: at most one activity write this often
_claims: dict[str, float] = {}  # stage -> when this process last wrote its activity
_claims_lock = threading.Lock()


def record_claim(stage: str, t: datetime) -> None:
    """A stage instance claimed a message: evidence that the stage takes work. Outside the claim's
    transaction (which must not contend on one document per stage), at most every ACTIVITY_EVERY_S
    per process and stage. Never raises."""
    with _claims_lock:
        if time.monotonic() - _claims.get(stage, 0.0) < ACTIVITY_EVERY_S:
            return
        _claims[stage] = time.monotonic()
    try:
        _activity_ref(stage).set({"last_claim_at": t}, merge=True)
    except Exception as exc:  # noqa: BLE001 - evidence missing only delays a decision
        with _claims_lock:
            _claims[stage] = 0.0
        log.event(logger, logging.WARNING, "could not record a claim", stage=stage, error=str(exc))


class Context:
    """What one reconciler pass (or one watchdog task) knows beyond the run: the stage's claim
    activity, its health, and the active runs per stage, each read at most once and only if needed."""

    def __init__(self, crashing: dict[str, health.StageHealth] | None = None):
        self._crashing = crashing
        self._activity: dict[str, dict] = {}
        self._active: list | None = None

    def crashing(self) -> dict[str, health.StageHealth]:
        if self._crashing is None:
            self._crashing = crash_looping_stages()
        return self._crashing

    def activity(self, stage: str) -> dict:
        if stage not in self._activity:
            snap = _activity_ref(stage).get()
            self._activity[stage] = (snap.to_dict() or {}) if snap.exists else {}
        return self._activity[stage]

    def _runs(self) -> list:
        if self._active is None:
            # Active runs only (deadline_at is set exactly while a run can move; existing index).
            fields = ["current_stage", *[f"stages.{s}.{f}" for s in topology.STAGES
                                         for f in ("status", "dispatched_at", "started_at")]]
            q = (clients.firestore().collection_group("pipelines")
                 .where(filter=gfs.FieldFilter("deadline_at", ">", datetime(2000, 1, 1, tzinfo=UTC)))
                 .select(fields).limit(ACTIVE_LIMIT))
            self._active = list(q.stream())
        return self._active

    def active_refs(self, stage: str) -> list:
        return [d.reference for d in self._runs() if (d.to_dict() or {}).get("current_stage") == stage]

    def backlog(self, stage: str, dispatched_at: datetime | None, pipeline_id: str) -> tuple[int, int, int]:
        """(waiting runs, of them dispatched before `dispatched_at`, running) in `stage`."""
        waiting = ahead = running = 0
        for d in self._runs():
            p = d.to_dict() or {}
            if p.get("current_stage") != stage:
                continue
            st = (p.get("stages") or {}).get(stage) or {}
            if st.get("status") == "running":
                running += 1
            elif st.get("status") == "dispatched":
                waiting += 1
                at = st.get("dispatched_at")
                if d.id != pipeline_id and isinstance(at, datetime) and isinstance(dispatched_at, datetime) \
                        and at < dispatched_at:
                    ahead += 1
        return waiting, ahead, running


ACTIVE_LIMIT = 2000


@dataclass(frozen=True)
class Evidence:
    """What is known about a stage when one of its runs is past its queue deadline."""

    now: datetime
    dispatched_at: datetime  # when this run's message was (last) published
    base_s: float  # the measured queue deadline (factor x p95 of queue waits, floor, cap)
    run_p95_s: float  # the stage's measured p95 run time
    window_s: float  # liveness window: no claim for this long while runs wait = not taking work
    slots: int  # concurrent executions the stage's service runs
    waiting: int = 1  # runs waiting in the stage, this one included
    ahead: int = 0  # of them dispatched before this one
    running: int = 0  # runs the stage is executing now
    last_claim_at: datetime | None = None  # the latest claim by any instance of the stage
    crash: health.StageHealth | None = None


@dataclass(frozen=True)
class Verdict:
    action: str  # "wait" | "republish" | "fail"
    observed: str  # what was seen, in words for the founder
    recheck_s: float = 0.0  # wait: look again after this long
    code: str = "stage_timeout"  # fail: the run's error code


def backlog_deadline_s(ev: Evidence) -> float:
    """The queue deadline stretched by the work ahead of this run: the measured deadline, plus the
    runs dispatched before it and those running, drained `slots` at a time at the p95 run time."""
    return ev.base_s + (ev.ahead + ev.running) * ev.run_p95_s / max(1, ev.slots)


def _ago(a: datetime | None, b: datetime) -> float | None:
    return (b - a).total_seconds() if isinstance(a, datetime) else None


def judge_queued(stage: str, ev: Evidence, redispatches: int, max_redispatches: int) -> Verdict:
    """THE decision for a run whose stage has not claimed its message, pure (decision 0032).

    Fail only on evidence that the service is not taking work; never on a short percentile alone."""
    name = stage.replace("_", " ")
    if ev.crash is not None and ev.crash.caught(ev.dispatched_at):
        return Verdict("fail", f"the {name} service is crash-looping: {ev.crash.observed(ev.now)}",
                       code="stage_crash_loop")
    if ev.crash is not None:  # published after the latest death: the next start decides
        return Verdict("wait", f"the {name} service is restarting after crashes", recheck_s=2.0)
    waited = max(0.0, (ev.now - ev.dispatched_at).total_seconds())
    expected = backlog_deadline_s(ev)
    if waited < expected:
        return Verdict("wait", f"{ev.ahead} runs ahead and {ev.running} running in {name}",
                       recheck_s=expected - waited)
    claimed_ago = _ago(ev.last_claim_at, ev.now)
    idle_s = min(waited, claimed_ago) if claimed_ago is not None else waited
    if idle_s >= ev.window_s:
        observed = (f"no {name} instance claimed work for {idle_s:.0f} s while {max(1, ev.waiting)} "
                    f"run{'s' if max(1, ev.waiting) != 1 else ''} waited")
    elif ev.ahead + ev.running == 0:
        observed = f"{name} had nothing else to do yet never claimed this run's message (waited {waited:.0f} s)"
    else:
        # The service is working through the runs ahead of this one: its message waits its turn.
        # (Claims may come in any order, so one that overtook this run's message proves nothing.)
        return Verdict("wait", f"{name} is busy: {ev.ahead} runs ahead and {ev.running} running, "
                               f"last claim {claimed_ago if claimed_ago is not None else waited:.0f} s ago",
                       recheck_s=max(ev.base_s, min(ev.window_s - idle_s, expected)))
    if redispatches >= max_redispatches:
        return Verdict("fail", observed)
    return Verdict("republish", observed)


def evidence(stage: str, st: dict, pipeline_id: str, t: datetime, ctx: Context | None = None) -> Evidence:
    """The Evidence for one run's queued stage (`st` its stage map)."""
    ctx = ctx or Context()
    s = get_settings()
    cur = _current()
    base = float((cur.get("queue_s") or {}).get(stage) or s.stage_deadline_s)
    run_p95 = float((cur.get("run_p95_s") or {}).get(stage) or 0.0)
    dispatched_at = st.get("dispatched_at") if isinstance(st.get("dispatched_at"), datetime) else t
    crash = ctx.crashing().get(stage)
    act = ctx.activity(stage) if crash is None else {}
    waiting, ahead, running = ctx.backlog(stage, dispatched_at, pipeline_id) if crash is None else (1, 0, 0)
    return Evidence(now=t, dispatched_at=dispatched_at, base_s=base, run_p95_s=run_p95,
                    window_s=max(s.stage_liveness_window_s, 2 * run_p95), slots=s.stage_slots,
                    waiting=max(1, waiting), ahead=ahead, running=running,
                    last_claim_at=act.get("last_claim_at"), crash=crash)
