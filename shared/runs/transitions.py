"""The moves a run makes inside a caller's transaction: fail, refund, pause for input, dispatch the next stage.

Shared by the stage commit (commits.py), the fail paths (claims.py), the time-outs (timeouts.py) and the
founder's actions (actions.py). Each adds to the caller's `updates` and events; none opens a transaction.
"""

from __future__ import annotations

from shared import dispatch, reconciler, topology
from shared.models.pipeline import StageMessage
from shared.runs.records import Events, _ms
from shared.store import Tenant
from shared.topology import STAGES


def _fail(updates: dict, ev: Events, p: dict, stage: str | None, code: str, message: str, t) -> None:
    updates.update({"status": "failed", "error_code": code, "error_message": message, "completed_at": t,
                    "duration_ms": _ms(p.get("started_at") or p.get("created_at"), t), "deadline_at": None})
    if stage:
        updates[f"stages.{stage}.status"] = "failed"
        updates[f"stages.{stage}.error"] = message
    ev.add("factory_failed", stage=stage, progress=p["progress"], message=message, code=code)


def _preread_refund(tx, p: dict, status: str, code: str | None, stage: str | None = None):
    """The billing snapshot a refund of this transition needs, read now (Firestore: reads before
    writes), or None when the policy (billing.refund_reason) gives nothing back."""
    from shared import billing

    if billing.refund_reason(p, status, code, stage or p["current_stage"]) is None:
        return None
    return billing.read_billing(tx, Tenant(p["tenant_id"]))


def _settle(tx, p: dict, updates: dict, ev: Events, bsnap, t) -> None:
    """Money follows the outcome, in the transaction that changes the status (the one place that
    refunds). `billing.refund_reason` decides; `credit.state` on the pipeline makes it at most once."""
    from shared import billing

    status = updates.get("status")
    if status not in ("failed", "cancelled"):
        return
    reason = billing.refund_reason(p, status, updates.get("error_code"), p["current_stage"])
    if reason is None or bsnap is None:
        return
    updates.update(billing.refund_run(tx, Tenant(p["tenant_id"]), p, bsnap, reason, t))
    ev.add("credit_refunded", stage=p["current_stage"], progress=p["progress"], reason=reason,
           message=f"Your run's credit was refunded: {billing.REFUND_REASONS[reason]}")


def _pause_for_input(updates: dict, ev: Events, p: dict, summary: dict) -> None:
    """Validation said needs_work: stop before any money is spent on building, with the feedback."""
    updates.update({"status": "needs_input", "deadline_at": None, "awaiting_approval_for": None})
    ev.add("factory_needs_input", stage=STAGES[0], progress=p["progress"],
           message="The idea needs your input before building starts: edit it and resume, continue anyway, "
                   "or cancel (cancelling refunds the run).",
           feedback=(summary.get("feedback") or [])[:5], clone_of=summary.get("clone_of") or [])


def _dispatch_next(tx, updates: dict, ev: Events, p: dict, stage: str, t) -> StageMessage | None:
    """After `stage` is done: wait for approval, finish, or dispatch the next stage."""
    gates = p["metadata"].get("approval_gates", [])
    approved = p["metadata"].get("approvals", {})
    if stage in gates and stage not in approved:
        updates.update({"status": "awaiting_approval", "awaiting_approval_for": stage, "deadline_at": None})
        ev.add("awaiting_approval", stage=stage, progress=p["progress"],
               message=f"Waiting for approval of {stage.replace('_', ' ')}")
        return None
    nxt = topology.next_stage(stage)
    if nxt is None:
        updates.update({"status": "completed", "progress": 100, "completed_at": t, "current_stage": stage,
                        "duration_ms": _ms(p.get("started_at") or p.get("created_at"), t),
                        "awaiting_approval_for": None, "deadline_at": None})
        ev.add("factory_completed", stage=stage, progress=100, message="The app is built, tested and deployed")
        return None
    return _redispatch(tx, updates, ev, p, nxt, t)


def _redispatch(tx, updates: dict, ev: Events, p: dict, stage: str, t, reason: str | None = None,
                redispatches: int | None = None) -> StageMessage:
    if redispatches is None:
        redispatches = int((p.get("metadata") or {}).get("redispatches", {}).get(stage, 0))
    attempt = int(p["stages"][stage].get("attempt") or 0) + 1
    msg = dispatch.stage_message(p["tenant_id"], p["pipeline_id"], stage, attempt)
    updates.update({
        "current_stage": stage, "status": "running", "awaiting_approval_for": None,
        f"stages.{stage}.status": "dispatched", f"stages.{stage}.attempt": attempt,
        f"stages.{stage}.dispatch_id": msg.dispatch_id, f"stages.{stage}.dispatched_at": t,
        f"stages.{stage}.error": None,
        "deadline_at": reconciler.deadline_at(stage, "queue", t, redispatches),
    })
    if reason:
        ev.add("stage_redispatched", stage=stage, attempt=attempt, progress=p["progress"], message=reason)
    dispatch.enqueue(tx, msg)
    return msg

