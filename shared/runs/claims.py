"""A stage execution's claim on (run, stage, attempt), and the ways a claimed or current stage fails the run.

Stage executions are fenced by (stage, attempt, dispatch_id) and a claim id, so duplicates and stale messages
are acknowledged without effect, and only the current claim holder can commit (commits.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from google.cloud import firestore as gfs

from shared import clients, log, reconciler
from shared.models.pipeline import PAUSED, TERMINAL, StageMessage
from shared.runs.budget import over_budget
from shared.runs.logs import LOG_LINE_CHARS, _write_logs
from shared.runs.records import Events, _load, _update
from shared.runs.transitions import _fail, _preread_refund, _settle
from shared.store import Tenant, now

logger = log.get_logger("pipeline")


@dataclass
class Claim:
    claim_id: str
    pipeline: dict
    stage: str
    attempt: int


def claim(msg: StageMessage, message_id: str, received_at: datetime | None = None) -> Claim | None:
    """Take (pipeline, stage, attempt) for this execution, or None for a duplicate/stale message.

    `received_at` (when the push reached the function) is recorded as the stage's start."""
    tenant = Tenant(msg.tenant_id)
    pref = tenant.pipeline(msg.pipeline_id)
    claim_id = uuid.uuid4().hex

    @gfs.transactional
    def take(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            return None, "pipeline does not exist"
        p = _load(tx, pref, snap)
        st = p["stages"][msg.stage]
        if p["status"] in TERMINAL or p["status"] in PAUSED:
            return None, f"pipeline is {p['status']}"
        if p["current_stage"] != msg.stage or st.get("attempt") != msg.attempt \
                or st.get("dispatch_id") != msg.dispatch_id:
            return None, "stale message (a newer dispatch exists)"
        if st["status"] == "running" and st.get("waiting"):
            return None, f"parked: the stage is waiting for its {st['waiting'].get('for', 'build')}"
        if st["status"] == "running":
            if st.get("message_id") != message_id:
                return None, "duplicate message (another copy is running this attempt)"
            reason = "redelivery of a message whose execution died; taking over"
        elif st["status"] != "dispatched":
            return None, f"stage is already {st['status']}"
        else:
            reason = "claimed"
        t = received_at or now()
        ev = Events(tx, pref, p["event_seq"])
        k = over_budget(p)
        if k:
            # Total spend across every attempt has reached the budget: no stage starts on it.
            updates = {"updated_at": t}
            _fail(updates, ev, p, msg.stage, "budget_exceeded",
                  f"Stopped before {msg.stage.replace('_', ' ')}: the run's {k.replace('_s', ' seconds')} budget "
                  f"of {p['budget'][k]} is used up ({p['spent'][k]} spent). Retry with a larger budget.", t)
            updates["event_seq"] = ev.seq
            _update(tx, pref, updates)
            return None, "budget exceeded; the run is failed"

        ev.add("stage_started", stage=msg.stage, attempt=msg.attempt, progress=p["progress"],
               message=f"{msg.stage.replace('_', ' ')} started")
        updates = {
            f"stages.{msg.stage}.status": "running",
            f"stages.{msg.stage}.claim_id": claim_id,
            f"stages.{msg.stage}.message_id": message_id,
            f"stages.{msg.stage}.started_at": t,
            f"stages.{msg.stage}.executions": gfs.Increment(1),
            f"stages.{msg.stage}.waiting": None,
            "status": "running", "updated_at": t, "event_seq": ev.seq,
            "deadline_at": reconciler.deadline_at(
                msg.stage, "run", t, int((p.get("metadata") or {}).get("redispatches", {}).get(msg.stage, 0))),
        }
        if not p.get("started_at"):
            updates["started_at"] = t
        _update(tx, pref, updates)
        p["stages"][msg.stage]["started_at"] = t
        return p, reason

    p, reason = take(clients.firestore().transaction())
    log.event(logger, logging.INFO if p else logging.WARNING, f"claim: {reason}", pipeline_id=msg.pipeline_id,
              tenant_id=msg.tenant_id, stage=msg.stage, attempt=msg.attempt, message_id=message_id)
    return Claim(claim_id, p, msg.stage, msg.attempt) if p else None


def fail_stage(c: Claim, code: str, message: str) -> None:
    """A permanent error during a stage: fail the stage and the run with a readable message."""
    fail_pipeline(c.pipeline["tenant_id"], c.pipeline["pipeline_id"], code, message, stage=c.stage,
                  claim_id=c.claim_id)


def fail_pipeline(tenant_id: str, pipeline_id: str, code: str, message: str, *, stage: str | None = None,
                  attempt: int | None = None, claim_id: str | None = None,
                  dispatch_id: str | None = None) -> bool:
    pref = Tenant(tenant_id).pipeline(pipeline_id)

    @gfs.transactional
    def write(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            return False
        p = _load(tx, pref, snap)
        if p["status"] in TERMINAL:
            return False
        if stage and p["current_stage"] != stage:
            return False
        if attempt is not None and p["stages"][stage].get("attempt") != attempt:
            return False
        if claim_id and p["stages"][stage].get("claim_id") != claim_id:
            return False
        if dispatch_id and p["stages"][stage].get("dispatch_id") != dispatch_id:
            return False
        bsnap = _preread_refund(tx, p, "failed", code)
        t = now()
        ev = Events(tx, pref, p["event_seq"])
        updates = {"updated_at": t}
        where = stage or p["current_stage"]
        _write_logs(tx, pref, p, updates, where, int(p["stages"][where].get("attempt") or 0),
                    [f"{where.replace('_', ' ').capitalize()} stopped: {message}"[:LOG_LINE_CHARS]], t, level="error")
        _fail(updates, ev, p, where, code, message, t)
        _settle(tx, p, updates, ev, bsnap, t)
        updates["event_seq"] = ev.seq
        _update(tx, pref, updates)
        return True

    return write(clients.firestore().transaction())

