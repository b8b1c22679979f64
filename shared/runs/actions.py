"""What the founder (and a stage worker's progress report) does to a run: cancel, retry, resume, continue anyway,
approve, request changes. Each is one transaction through `_act`; a stage message it implies is published after."""

from __future__ import annotations

from google.cloud import firestore as gfs
from pydantic import ValidationError

from shared import clients, dispatch, errors, topology
from shared.models.pipeline import TERMINAL, IdeaCreate, StageMessage
from shared.runs.budget import _budget_error, over_budget
from shared.runs.records import Events, _load, _ms, _update
from shared.runs.transitions import _dispatch_next, _preread_refund, _redispatch, _settle
from shared.store import Tenant, now
from shared.topology import STAGES


def _act(tenant: Tenant, pipeline_id: str, fn) -> tuple[dict, StageMessage | None]:
    pref = tenant.pipeline(pipeline_id)

    @gfs.transactional
    def write(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            raise errors.NotFound("No such pipeline in your workspace.", code="pipeline_not_found")
        p = _load(tx, pref, snap)
        t = now()
        ev = Events(tx, pref, p["event_seq"])
        updates = {"updated_at": t}
        msg = fn(tx, p, updates, ev, t)
        updates["event_seq"] = ev.seq
        _update(tx, pref, updates)
        return {"pipeline_id": pipeline_id, "status": updates.get("status", p["status"]),
                "current_stage": updates.get("current_stage", p["current_stage"]), "event_seq": ev.seq}, msg

    result, msg = write(clients.firestore().transaction())
    if msg:
        dispatch.flush(msg)
    return result, msg


def cancel(tenant: Tenant, pipeline_id: str, uid: str) -> dict:
    def fn(tx, p, updates, ev, t):
        if p["status"] in TERMINAL:
            raise errors.Conflict(f"The run is already {p['status']}; nothing to cancel.", code="already_finished")
        stage = p["current_stage"]
        bsnap = _preread_refund(tx, p, "cancelled", "cancelled", stage)
        updates.update({"status": "cancelled", "completed_at": t, "error_code": "cancelled",
                        "error_message": f"Cancelled by {uid}", "deadline_at": None,
                        "duration_ms": _ms(p.get("started_at") or p.get("created_at"), t)})
        if p["stages"][stage]["status"] != "completed":  # a run paused after validation keeps its report
            updates[f"stages.{stage}.status"] = "cancelled"
        ev.add("factory_cancelled", stage=stage, progress=p["progress"], message="Run cancelled")
        _settle(tx, p, updates, ev, bsnap, t)
        return None

    return _act(tenant, pipeline_id, fn)[0]


def retry(tenant: Tenant, pipeline_id: str, uid: str, budget: dict | None = None) -> dict:
    """Retry a failed run from its first unfinished stage. `budget` (compute_s / tokens) raises the
    run's budget; a run whose spend has reached its budget is not retried without one."""
    def fn(tx, p, updates, ev, t):
        if p["status"] != "failed":
            raise errors.Conflict(f"Only a failed run can be retried; this one is {p['status']}.", code="not_failed")
        stage = next((s for s in STAGES if p["stages"][s]["status"] != "completed"), None)
        if stage is None:
            raise errors.Conflict("Every stage already completed.", code="nothing_to_retry")
        new_budget = {**(p.get("budget") or {}), **{k: v for k, v in (budget or {}).items() if v}}
        k = over_budget(p, new_budget)
        if k:
            raise _budget_error({**p, "budget": new_budget}, k)
        if new_budget != (p.get("budget") or {}):
            updates["budget"] = new_budget
        if (p.get("credit") or {}).get("state") == "refunded":
            # Its credit came back when it failed; running it again takes one (402 if none is left).
            from shared import billing

            updates.update(billing.charge_run(tx, Tenant(p["tenant_id"]), p))
        updates.update({"error_code": None, "error_message": None, "completed_at": None, "duration_ms": None,
                        "metadata.redispatches": {}, "metadata.qa_loops": 0})
        for later in STAGES[STAGES.index(stage) + 1:]:
            updates[f"stages.{later}.status"] = "pending"
        ev.add("factory_retried", stage=stage, progress=p["progress"],
               message=f"Retrying from {stage.replace('_', ' ')}; earlier stages keep their artifacts")
        return _redispatch(tx, updates, ev, p, stage, t, redispatches=0)

    return _act(tenant, pipeline_id, fn)[0]


def resume(tenant: Tenant, pipeline_id: str, uid: str, edits: dict) -> dict:
    """A run waiting in needs_input: save the founder's edits to the idea and validate it again
    (same run, same credit). Fields not in `edits` keep their value."""
    def fn(tx, p, updates, ev, t):
        if p["status"] != "needs_input":
            raise errors.Conflict(f"Only a run waiting for your input can be resumed; this one is {p['status']}.",
                                  code="not_needs_input")
        iref = tenant.doc("ideas", p["idea_id"])
        isnap = iref.get(transaction=tx)  # read before any write
        if not isnap.exists:
            raise errors.NotFound("The idea of this run no longer exists; submit it again.", code="idea_not_found")
        stored = isnap.to_dict()
        fields = {k: stored.get(k) for k in ("title", "description", "target_audience", "key_features",
                                             "constraints")}
        changes = {k: v for k, v in edits.items() if v is not None}
        try:
            merged = IdeaCreate.model_validate({**fields, **changes})  # the same rules as a new submission
        except ValidationError as exc:
            from shared.http import validation_details

            details = validation_details(exc)
            raise errors.ValidationFailed(
                "The edited idea is not complete: " + ", ".join(sorted({d["field"] for d in details}))
                + " must be filled in before it can be validated again.", details=details) from None
        tx.update(iref, {**{k: getattr(merged, k) for k in changes}, "updated_at": t, "edited_by": uid})
        edits_n = int(p["metadata"].get("edits", 0)) + 1
        updates.update({"project_name": merged.title, "metadata.edits": edits_n,
                        "metadata.continue_anyway": False, f"stages.{STAGES[0]}.summary": None})
        ev.add("factory_resumed", stage=STAGES[0], progress=p["progress"], edited=sorted(changes),
               message=f"Idea edited ({', '.join(sorted(changes)) or 'no changes'}); validating it again")
        return _redispatch(tx, updates, ev, p, STAGES[0], t, redispatches=0)

    return _act(tenant, pipeline_id, fn)[0]


def continue_anyway(tenant: Tenant, pipeline_id: str, uid: str, comment: str | None = None) -> dict:
    """A run waiting in needs_input goes on to building as the idea stands (the founder's call)."""
    def fn(tx, p, updates, ev, t):
        if p["status"] != "needs_input":
            raise errors.Conflict(f"Only a run waiting for your input can continue; this one is {p['status']}.",
                                  code="not_needs_input")
        k = over_budget(p)
        if k:
            raise _budget_error(p, k)
        updates["metadata.continue_anyway"] = {"by": uid, "at": t, "comment": comment}
        p["metadata"]["continue_anyway"] = True
        ev.add("factory_continued", stage=STAGES[0], progress=p["progress"],
               message="Continuing despite the validation feedback")
        return _dispatch_next(tx, updates, ev, p, STAGES[0], t)

    return _act(tenant, pipeline_id, fn)[0]


def approve(tenant: Tenant, pipeline_id: str, uid: str, stage: str | None, comment: str | None) -> dict:
    def fn(tx, p, updates, ev, t):
        waiting = p.get("awaiting_approval_for")
        if p["status"] != "awaiting_approval" or not waiting:
            raise errors.Conflict(f"The run is {p['status']}, not waiting for an approval.", code="not_awaiting")
        if stage and stage != waiting:
            raise errors.Conflict(f"The run is waiting for approval of {waiting}, not {stage}.",
                                  code="wrong_stage", details={"awaiting": waiting})
        k = over_budget(p)
        if k and topology.next_stage(waiting):
            raise _budget_error(p, k)
        updates[f"metadata.approvals.{waiting}"] = {"by": uid, "at": t, "comment": comment}
        p["metadata"].setdefault("approvals", {})[waiting] = True
        # The comment goes into the event too: the run's event list is where the team reads it.
        ev.add("stage_approved", stage=waiting, progress=p["progress"], by=uid, comment=comment,
               message=f"{waiting.replace('_', ' ')} approved")
        return _dispatch_next(tx, updates, ev, p, waiting, t)

    return _act(tenant, pipeline_id, fn)[0]


def request_changes(tenant: Tenant, pipeline_id: str, uid: str, stage: str | None, comment: str) -> dict:
    """At an approval gate: record what should change, as a review does (docs/decisions/0030). The run
    stays waiting at the gate: the stages build from the idea, not from free text, so nothing is re-run
    on a comment. The team reads it in the run's events and decides: approve, cancel, or edit and rerun."""
    def fn(tx, p, updates, ev, t):
        waiting = p.get("awaiting_approval_for")
        if p["status"] != "awaiting_approval" or not waiting:
            raise errors.Conflict(f"The run is {p['status']}, not waiting for an approval; changes can be "
                                  "requested only at an approval gate.", code="not_awaiting")
        if stage and stage != waiting:
            raise errors.Conflict(f"The run is waiting for approval of {waiting}, not {stage}.",
                                  code="wrong_stage", details={"awaiting": waiting})
        n = int((p["metadata"].get("change_requests") or {}).get(waiting, 0)) + 1
        updates[f"metadata.change_requests.{waiting}"] = n
        ev.add("changes_requested", stage=waiting, progress=p["progress"], by=uid, comment=comment,
               message=f"Changes requested on {waiting.replace('_', ' ')}")
        return None

    return _act(tenant, pipeline_id, fn)[0]


def progress_update(tenant: Tenant, pipeline_id: str, stage: str, attempt: int, pct: int, message: str,
                    dispatch_id: str | None = None) -> dict:
    """A stage worker reports progress within its stage: an event (the document only counts it).
    Fenced like every stage effect: only the running (attempt, dispatch) may report."""
    lo = topology.STAGE_PROGRESS[STAGES[STAGES.index(stage) - 1]] if STAGES.index(stage) else 0
    overall = lo + (topology.STAGE_PROGRESS[stage] - lo) * pct // 100

    def fn(tx, p, updates, ev, t):
        st = p["stages"][stage]
        if p["current_stage"] != stage or st.get("attempt") != attempt or st["status"] != "running" \
                or (dispatch_id is not None and st.get("dispatch_id") != dispatch_id):
            raise errors.Conflict("That stage attempt is not running.", code="stale_update")
        ev.add("factory_progress", stage=stage, attempt=attempt, progress=overall, stage_progress=pct,
               message=message)
        return None

    result, _ = _act(tenant, pipeline_id, fn)
    return {"pipeline_id": pipeline_id, "progress": overall, "seq": result["event_seq"]}

