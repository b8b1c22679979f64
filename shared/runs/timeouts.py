"""A run past its stage's deadline: the Cloud Tasks watchdog's `deadline`, the reconciler's `reconcile_run`,
and `fail_crash_looping` -- one fenced decision each, judged from evidence (shared/reconciler.py, 0032) -- and
the reconciler pass itself (`reconcile`, watchdog /reconcile), which finds the runs to hand them.

The pass lives here, beside the decisions it applies, so that shared/reconciler.py (measured deadlines and the
evidence) imports nothing of the runs and every module here can import it (decision 0043)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from google.cloud import firestore as gfs

from shared import clients, dispatch, log, reconciler
from shared.models.pipeline import StageMessage
from shared.runs.logs import LOG_LINE_CHARS, _write_logs
from shared.runs.records import Events, _load, _ms, _update
from shared.runs.transitions import _fail, _preread_refund, _redispatch, _settle
from shared.settings import get_settings
from shared.store import Tenant, now

logger = log.get_logger("pipeline")
pass_logger = log.get_logger("reconciler")  # the pass logs as it did in shared/reconciler.py


def deadline(msg: StageMessage) -> str:
    """The Cloud Tasks watchdog fired for a dispatch: judge it (only if that dispatch is still
    current and past its deadline) as the reconciler does."""
    out, what, kind, n = _time_out(Tenant(msg.tenant_id).pipeline(msg.pipeline_id), msg.stage, msg.dispatch_id)
    if out:
        dispatch.flush(out, watchdog_delay_s=reconciler.stage_deadline_s(out.stage, "queue", n))
    if kind == "failed":
        from shared import notify

        notify.after_run_changed(msg.tenant_id, msg.pipeline_id)
    log.event(logger, logging.WARNING if out else logging.INFO, f"watchdog: {what}", pipeline_id=msg.pipeline_id,
              stage=msg.stage, attempt=msg.attempt)
    return what


def reconcile_run(pref, ctx: reconciler.Context | None = None) -> str:
    """The reconciler found this run past its `deadline_at`: the same fenced decision as the
    watchdog, for whatever stage is current. Returns redispatched | deferred | failed | cleared | skipped."""
    out, what, kind, n = _time_out(pref, None, None, ctx)
    if out:
        dispatch.flush(out, watchdog_delay_s=reconciler.stage_deadline_s(out.stage, "queue", n))
    if kind == "failed":
        from shared import notify

        notify.after_run_changed(pref.parent.parent.id, pref.id)
    log.event(logger, logging.WARNING if kind in ("redispatched", "failed") else logging.INFO,
              f"reconciler: {what}", pipeline_id=pref.id)
    return kind


def _give_up(tx, pref, updates: dict, ev: Events, p: dict, stage: str, code: str, message: str, t) -> None:
    bsnap = _preread_refund(tx, p, "failed", code, stage)  # before the first write
    _write_logs(tx, pref, p, updates, stage, int(p["stages"][stage].get("attempt") or 0),
                [f"{stage.replace('_', ' ').capitalize()} stopped: {message}"[:LOG_LINE_CHARS]], t, level="error")
    _fail(updates, ev, p, stage, code, message, t)
    _settle(tx, p, updates, ev, bsnap, t)


def _republish(tx, updates: dict, ev: Events, p: dict, stage: str, t, n: int, observed: str) -> StageMessage:
    """Publish the stage's current dispatch again (same attempt and dispatch id, through the outbox):
    never a second dispatch, so whichever copy arrives first claims it and the other is a no-op."""
    st = p["stages"][stage]
    msg = StageMessage(tenant_id=p["tenant_id"], pipeline_id=p["pipeline_id"], stage=stage,
                       attempt=int(st.get("attempt") or 1), dispatch_id=st["dispatch_id"])
    updates.update({f"metadata.redispatches.{stage}": n + 1, f"stages.{stage}.dispatched_at": t,
                    "deadline_at": reconciler.deadline_at(stage, "queue", t, n + 1)})
    ev.add("stage_timed_out", stage=stage, attempt=msg.attempt, progress=p["progress"],
           message=f"{stage.replace('_', ' ')}: {observed}; publishing its message again")
    dispatch.enqueue(tx, msg)
    return msg


def _time_out(pref, stage: str | None, dispatch_id: str | None,
              ctx: reconciler.Context | None = None) -> tuple[StageMessage | None, str, str, int]:
    """The watchdog's and the reconciler's fenced decision: (message to publish, what happened,
    redispatched | deferred | failed | cleared | skipped, how often the stage has now been re-dispatched).

    A stage that never claimed its message is judged from evidence (reconciler.judge_queued); a
    claimed stage that did not finish in its run deadline is re-dispatched as a new attempt."""
    s = get_settings()
    ctx = ctx or reconciler.Context()

    @gfs.transactional
    def write(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            return None, "pipeline gone", "skipped", 0
        p = _load(tx, pref, snap)
        cur = stage or p["current_stage"]
        st = p["stages"][cur]
        if p["status"] not in ("queued", "running") or st["status"] not in ("dispatched", "running"):
            if p.get("deadline_at") is not None and cur == p["current_stage"]:
                tx.update(pref, {"deadline_at": None})
                return None, f"nothing to do (the run is {p['status']}); deadline cleared", "cleared", 0
            return None, "nothing to do (the stage moved on)", "skipped", 0
        if p["current_stage"] != cur or (dispatch_id and st.get("dispatch_id") != dispatch_id):
            return None, "nothing to do (the stage moved on)", "skipped", 0
        t = now()
        due_at = p.get("deadline_at")
        if isinstance(due_at, datetime) and due_at > t:
            return None, "not yet due (the stage made progress)", "skipped", 0
        ev = Events(tx, pref, p["event_seq"])
        n = int(p["metadata"].get("redispatches", {}).get(cur, 0))
        updates = {"updated_at": t}
        name = cur.replace("_", " ")
        if st["status"] == "dispatched":
            verdict = reconciler.judge_queued(cur, reconciler.evidence(cur, st, p["pipeline_id"], t, ctx), n,
                                              s.watchdog_max_redispatch)
            if verdict.action == "wait":
                tx.update(pref, {"deadline_at": t + timedelta(seconds=max(1.0, verdict.recheck_s))})
                return None, f"deferred: {verdict.observed}", "deferred", n
            if verdict.action == "fail":
                code = verdict.code
                tries = f" (its message was published {n + 1} times)" if code == "stage_timeout" else ""
                _give_up(tx, pref, updates, ev, p, cur, code,
                         f"{name.capitalize()} never started this run: {verdict.observed}{tries}. "
                         "We gave up on this run and refunded its credit. Retry the run to try again.", t)
                out, what, kind = None, f"failed the run: {verdict.observed}", "failed"
            else:
                out = _republish(tx, updates, ev, p, cur, t, n, verdict.observed)
                what, kind = f"published again: {verdict.observed}", "redispatched"
        else:
            since = _ms(st.get("started_at"), t)
            ran = f"{since / 1000:.0f} s" if since is not None else "past its deadline"
            if n >= s.watchdog_max_redispatch:
                _give_up(tx, pref, updates, ev, p, cur, "stage_timeout",
                         f"{name.capitalize()} did not finish (ran {ran}), {n + 1} times in a row: the {name} "
                         "step stopped responding. We gave up on this run and refunded its credit. "
                         "Retry the run to try again.", t)
                out, what, kind = None, "failed the run", "failed"
            else:
                updates[f"metadata.redispatches.{cur}"] = n + 1
                ev.add("stage_timed_out", stage=cur, attempt=st.get("attempt"), progress=p["progress"],
                       message=f"{name} did not finish (ran {ran}); re-dispatching")
                out = _redispatch(tx, updates, ev, p, cur, t, redispatches=n + 1)
                what, kind = "re-dispatched", "redispatched"
        updates["event_seq"] = ev.seq
        _update(tx, pref, updates)
        return out, what, kind, n + 1

    return write(clients.firestore().transaction())


def fail_crash_looping(pref, stage: str, crash) -> bool:
    """The stage's function is crash-looping (shared/health.py): fail the run if it waits on that
    stage -- its message not claimed, or claimed before the loop began (that instance died) --
    with what was observed, and refund it. Fenced like every decision; True when it failed the run."""
    t = now()
    observed = f"the {stage.replace('_', ' ')} service is crash-looping: {crash.observed(t)}"

    @gfs.transactional
    def write(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            return False
        p = _load(tx, pref, snap)
        st = p["stages"].get(stage) or {}
        if p["status"] not in ("queued", "running") or p["current_stage"] != stage:
            return False
        started = st.get("started_at")
        # A stage parked on its build (decision 0040) no longer needs its function: a crash loop there is not its.
        died = st["status"] == "running" and not st.get("waiting") and crash.since is not None \
            and isinstance(started, datetime) and started <= crash.since
        if st["status"] != "dispatched" and not died:
            return False
        if st["status"] == "dispatched" and not crash.caught(st.get("dispatched_at")):
            return False  # published after the latest death: the next start decides (shared/health.py)
        ev = Events(tx, pref, p["event_seq"])
        updates = {"updated_at": now()}
        what = "never started this run" if st["status"] == "dispatched" else "stopped in the middle of this run"
        _give_up(tx, pref, updates, ev, p, stage, "stage_crash_loop",
                 f"{stage.replace('_', ' ').capitalize()} {what}: {observed}. We gave up on this run and "
                 "refunded its credit. Retry the run once the service is fixed.", updates["updated_at"])
        updates["event_seq"] = ev.seq
        _update(tx, pref, updates)
        return True

    failed = write(clients.firestore().transaction())
    if failed:
        log.event(logger, logging.WARNING, "run failed: its stage is crash-looping", pipeline_id=pref.id, stage=stage)
    return failed


# ------------------------------------------------------------------------------ the reconciler pass


def due(limit: int = 100) -> list:
    """Active runs whose current stage is past its deadline (indexed collection-group query)."""
    q = (clients.firestore().collection_group("pipelines")
         .where(filter=gfs.FieldFilter("deadline_at", "<=", now()))
         .order_by("deadline_at").limit(limit))
    return list(q.stream())


def reconcile(limit: int = 100) -> dict:
    """One reconciler pass: refresh the deadlines, then act on every run past its deadline."""
    try:
        reconciler.refresh()
    except Exception as exc:  # noqa: BLE001 - stale deadlines are still deadlines
        log.event(pass_logger, logging.WARNING, "could not refresh the stage deadlines", error=str(exc))
    counts = {"due": 0, "redispatched": 0, "deferred": 0, "failed": 0, "crash_looping": 0, "cleared": 0,
              "skipped": 0}
    crashing = reconciler.crash_looping_stages()
    ctx = reconciler.Context(crashing)
    for stage, h in crashing.items():
        # Found within one pass of the third quick death, whatever the deadlines say.
        for ref in ctx.active_refs(stage):
            try:
                if fail_crash_looping(ref, stage, h):
                    counts["crash_looping"] += 1
            except Exception as exc:  # noqa: BLE001 - one bad run must not stop the pass
                log.event(pass_logger, logging.ERROR, "crash-loop fail failed for a run", path=ref.path,
                          error=str(exc))
    for snap in due(limit):
        counts["due"] += 1
        try:
            what = reconcile_run(snap.reference, ctx)
        except Exception as exc:  # noqa: BLE001 - one bad run must not stop the pass
            log.event(pass_logger, logging.ERROR, "reconcile failed for a run", path=snap.reference.path,
                      error=str(exc))
            counts["skipped"] += 1
            continue
        counts[what if what in counts else "skipped"] += 1
    if counts["due"] or counts["crash_looping"]:
        log.event(pass_logger, logging.INFO, "reconciler pass", **counts)
    return counts
