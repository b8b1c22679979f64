"""Run creation: a new submission, or a rerun of a finished run from a stage, with its credit and its
Idempotency-Key, in one transaction; then the first stage's message is published (from the outbox)."""

from __future__ import annotations

import hashlib
import json
import logging

from google.cloud import firestore as gfs

from shared import clients, dispatch, errors, log, reconciler
from shared.models.pipeline import IdeaCreate, StageMessage
from shared.runs.budget import _budget
from shared.runs.reads import get, load_idea
from shared.runs.records import Events, fence_ref
from shared.runs.rerun import _rerun_message, _rerun_source, _seed_rerun
from shared.store import Tenant, new_id, now
from shared.topology import STAGES

logger = log.get_logger("pipeline")


def new_pipeline_doc(tenant: Tenant, pipeline_id: str, idea_id: str, idea: IdeaCreate, created_by: str,
                     first: StageMessage) -> dict:
    t = now()
    stages = {s: {"status": "pending", "attempt": 0, "executions": 0, "artifacts": [], "cost": {}} for s in STAGES}
    stages[first.stage].update(status="dispatched", attempt=first.attempt, dispatched_at=t)
    return {
        "pipeline_id": pipeline_id, "tenant_id": tenant.tenant_id, "project_id": idea_id,
        "project_name": idea.title, "idea_id": idea_id,
        "status": "queued", "current_stage": first.stage, "progress": 0, "stages": stages,
        "created_at": t, "started_at": None, "updated_at": t, "completed_at": None, "duration_ms": None,
        "error_message": None, "error_code": None, "awaiting_approval_for": None,
        "budget": _budget(idea.constraints), "spent": {"compute_s": 0.0, "tokens": 0, "usd": 0.0},
        "metadata": {"approval_gates": idea.constraints.approval_gates, "plan_review": idea.constraints.plan_review,
                     "qa_loops": 0, "redispatches": {},
                     "approvals": {}, "preferred_stack": idea.constraints.preferred_stack},
        "event_seq": 0,
        # When the current stage must have made progress by; the reconciler's indexed field.
        "deadline_at": reconciler.deadline_at(first.stage, "queue", t),
    }


def _idem_ref(tenant: Tenant, key: str):
    return tenant.doc("idempotency", hashlib.sha256(key.encode()).hexdigest()[:40])


def create_run(tenant: Tenant, caller_uid: str, idea: IdeaCreate, *, idea_id: str | None = None,
               idempotency_key: str | None = None, rerun: tuple[str, str] | None = None, seed=None) -> dict:
    """Spend a credit and create the idea (unless given) and its pipeline in one transaction,
    then publish the first stage. Repeating an Idempotency-Key returns the same pipeline.

    `rerun` = (finished run id, stage): the new run starts at that stage, the stages before it
    reusing the finished run's records and artifacts (`rerun_from`). `seed` (a change of the app, shared/changes.py)
    reads in the transaction with `seed.read(tx)` before any write and adds to the new run with
    `seed.write(tx, pref, doc, ev, t)`; `seed.tag` is part of the request an Idempotency-Key stands for."""
    from shared import billing

    db = clients.firestore()
    request_hash = hashlib.sha256(idea.model_dump_json().encode()
                                  + (json.dumps(list(rerun)).encode() if rerun else b"")
                                  + (seed.tag.encode() if seed is not None else b"")).hexdigest()
    pipeline_id = new_id("p_")
    new_idea_id = idea_id or new_id("i_")
    first = dispatch.stage_message(tenant.tenant_id, pipeline_id, rerun[1] if rerun else STAGES[0], 1)
    pref = tenant.pipeline(pipeline_id)

    @gfs.transactional
    def write(tx) -> dict:
        if idempotency_key:
            isnap = _idem_ref(tenant, idempotency_key).get(transaction=tx)
            if isnap.exists:
                prior = isnap.to_dict()
                if prior["request_hash"] != request_hash:
                    raise errors.Conflict("This Idempotency-Key was used with a different request; use a new key.",
                                          code="idempotency_key_reused")
                return {**prior["response"], "replayed": True}
        src = _rerun_source(tx, tenant, *rerun) if rerun else None  # reads before any write
        if seed is not None:
            seed.read(tx)
        bill = billing.spend_credit(tx, tenant)  # reads first; raises 402 when out of credits
        t = now()
        if not idea_id:
            tx.create(tenant.doc("ideas", new_idea_id), {"idea_id": new_idea_id, **idea.model_dump(),
                                                         "created_by": caller_uid, "created_at": t})
        doc = new_pipeline_doc(tenant, pipeline_id, new_idea_id, idea, caller_uid, first)
        # The run holds one credit; money follows its outcome (docs/payments.md, billing.refund_reason).
        doc["credit"] = {"state": "charged", "spent_from": bill.get("spent_from", "pack"), "charges": 1,
                         "refunds": 0}
        ev = Events(tx, pref, 0)
        if src:
            ev.add("factory_triggered", stage=first.stage, progress=_seed_rerun(tx, pref, doc, src, t),
                   message=_rerun_message(src, first.stage), rerun_of=src.run["pipeline_id"])
        else:
            ev.add("factory_triggered", stage=STAGES[0], progress=0, message=f"Run queued for '{idea.title}'")
        if seed is not None:
            seed.write(tx, pref, doc, ev, t)
        doc["event_seq"] = ev.seq
        tx.create(pref, doc)
        tx.create(fence_ref(pref), {"created_by": caller_uid,
                                    "stages": {first.stage: {"dispatch_id": first.dispatch_id}}})
        dispatch.enqueue(tx, first)
        response = {"pipeline_id": pipeline_id, "idea_id": new_idea_id, "status": "queued",
                    "credits_remaining": bill.get("credits")}
        if idempotency_key:
            tx.set(_idem_ref(tenant, idempotency_key), {"request_hash": request_hash, "response": response,
                                                        "created_at": t})
        return response

    try:
        # The billing document is the tenant's hot spot: many submissions at once queue on it.
        with billing.tenant_lock(tenant):
            result = write(db.transaction(max_attempts=20))
    except ValueError as exc:
        if "Failed to commit transaction" not in str(exc):
            raise
        raise errors.TransientError("too many concurrent submissions for this workspace") from exc
    if not result.get("replayed"):
        dispatch.flush(first)
        log.event(logger, logging.INFO, "pipeline created", tenant_id=tenant.tenant_id, pipeline_id=pipeline_id)
    return result


def rerun_from(tenant: Tenant, pipeline_id: str, caller_uid: str, from_stage: str, idempotency_key: str, *,
               seed=None) -> dict:
    """Start a NEW run of a finished run's idea at `from_stage` (one credit, as a new submission): the stages
    before it are done, reusing the finished run's records and artifacts; `from_stage` and the later ones run."""
    if from_stage not in STAGES:
        raise errors.BadRequest(f"There is no stage called {from_stage!r}; choose one of {', '.join(STAGES)}.",
                                code="unknown_stage", details={"stages": list(STAGES)})
    src = get(tenant, pipeline_id)  # 404 first (also for another tenant's run)
    stored = load_idea(tenant.tenant_id, src["idea_id"])
    idea = IdeaCreate.model_validate({k: stored.get(k) for k in ("title", "description", "target_audience",
                                                                 "key_features", "constraints")})
    return create_run(tenant, caller_uid, idea, idea_id=src["idea_id"], idempotency_key=idempotency_key,
                      rerun=(pipeline_id, from_stage), seed=seed)

