"""The pipeline state machine: intake, claim, commit, timeouts, dead letters, cancel/retry/approve.

Every decision is a Firestore transaction on `tenants/{t}/pipelines/{p}`; every message the
decision implies is written to the outbox in that same transaction and published after it
commits (shared/dispatch.py). Stage executions are fenced by (stage, attempt, dispatch_id) and a
claim id, so duplicates and stale messages are acknowledged without effect, and only the current
claim holder can commit. Progress events go to the `events` subcollection (one document each,
numbered by `event_seq`) because Firestore sustains about one write per second per document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from google.cloud import firestore as gfs
from pydantic import ValidationError

from shared import artifact_store, clients, dispatch, errors, log, plangate, reconciler, topology
from shared.models.pipeline import PAUSED, TERMINAL, Constraints, IdeaCreate, Pipeline, StageMessage
from shared.settings import get_settings
from shared.store import Runs, Tenant, new_id, now

logger = log.get_logger("pipeline")
STAGES = topology.STAGES


# ------------------------------------------------------------------------------------------ helpers


class Events:
    """Numbered progress events written inside one transaction."""

    def __init__(self, tx, pref, seq: int):
        self.tx, self.pref, self.seq = tx, pref, seq

    def add(self, type_: str, **fields) -> None:
        self.seq += 1
        self.tx.set(self.pref.collection("events").document(f"{self.seq:06d}"),
                    {"type": type_, "seq": self.seq, "at": now(), **fields})


# Fencing fields: who may commit (claim_id), which dispatch is current (dispatch_id), which Pub/Sub
# message runs it (message_id), and who started the run (created_by). The dashboard listens to the
# pipeline document, so they live in a server-only document beside it, which firestore.rules deny;
# the state machine reads and writes both in the same transaction.
FENCE_FIELDS = ("claim_id", "dispatch_id", "message_id")


def fence_ref(pref):
    return pref.collection("private").document("fence")


# Server-only documents a stage may write beside its run (`Outcome.private`, by name), for what only some
# members may see: `claim` holds the owner claim link of the deployed app (deployment stage), which the API
# gives to the workspace owner and the run's starter (`claim_link`). The summary never carries it. `deploy`
# holds what a parked deployment needs when its build reports back (the Cloud Run service to apply and the
# owner claim token; shared/build_events.py, decision 0040).
PRIVATE_DOCS = ("claim", "deploy")


def plan_ref(pref):
    """The spec under review (server-only; shared/planreview.py): `plan/current`, its edits beside it."""
    return pref.collection("plan").document("current")


def private_ref(pref, name: str):
    if name not in PRIVATE_DOCS:
        raise ValueError(f"unknown private document {name!r}; expected one of {PRIVATE_DOCS}")
    return pref.collection("private").document(name)


def _load(tx, pref, snap) -> dict:
    """The pipeline document with its fence overlaid (read in the same transaction, before writes)."""
    p = snap.to_dict()
    fsnap = fence_ref(pref).get(transaction=tx)
    fence = fsnap.to_dict() if fsnap.exists else {}
    for stage, vals in (fence.get("stages") or {}).items():
        if stage in (p.get("stages") or {}):
            p["stages"][stage].update({k: v for k, v in vals.items() if k in FENCE_FIELDS})
    if fence.get("created_by"):
        p["created_by"] = fence["created_by"]
    return p


def _update(tx, pref, updates: dict) -> None:
    """`tx.update(pref, updates)`, with the fencing fields routed to the server-only fence document."""
    fence: dict = {}
    for key in [k for k in updates if k.startswith("stages.") and k.rsplit(".", 1)[-1] in FENCE_FIELDS]:
        _, stage, name = key.split(".")
        fence.setdefault(stage, {})[name] = updates.pop(key)
    if fence:
        tx.set(fence_ref(pref), {"stages": fence}, merge=True)
    tx.update(pref, updates)


def _ms(a: datetime | None, b: datetime | None) -> int | None:
    if not a or not b:
        return None
    return int((b - a).total_seconds() * 1000)


def artifact_doc_id(stage: str, name: str) -> str:
    return hashlib.sha1(f"{stage}/{name}".encode()).hexdigest()[:24]


# Per-stage log lines: `tenants/{t}/pipelines/{p}/logs/{id}`, written in the transaction that records a stage's
# result (append-only: ids are never reused and nothing updates a line), readable by members (firestore.rules)
# and through GET /api/factory/pipelines/{p}/logs. Capped per commit and per run, and each line's length.
LOG_LINES_PER_STAGE = 12
LOG_LINES_PER_RUN = 300
LOG_LINE_CHARS = 240


def _secs(ms: int | None) -> str:
    return "an unknown time" if ms is None else f"{ms / 1000:.1f} s"


def stage_log_lines(stage: str, attempt: int, out: Outcome, artifacts: list[str], cost: dict,
                    duration_ms: int | None) -> list[str]:
    """What a stage did, in a few short lines (pure; the commit stores them)."""
    name = stage.replace("_", " ")
    lines = [f"{name.capitalize()}, attempt {attempt}: ran on the {cost.get('engine') or 'default'} engine "
             f"for {_secs(duration_ms)}"]
    lines += [str(x) for x in out.logs if str(x).strip()]
    if artifacts:
        more = f" and {len(artifacts) - 6} more" if len(artifacts) > 6 else ""
        lines.append(f"Wrote {len(artifacts)} artifact{'s' if len(artifacts) != 1 else ''}: "
                     f"{', '.join(artifacts[:6])}{more}")
    if out.kind == "ok":
        lines.append(f"{name.capitalize()} completed")
    elif out.kind == "waiting":
        w = out.waiting or {}
        lines.append(f"Waiting for the {w.get('for', 'build')} {w.get('build_id', '')} to finish "
                     f"(its log: {w.get('log_url') or 'not given'})")
    elif out.kind == "loop_back":
        lines.append(f"Sent back to development: {out.reason or 'QA found problems'}")
    else:
        lines.append(f"{name.capitalize()} failed: {out.reason or 'see the run error'}")
    if len(lines) > LOG_LINES_PER_STAGE:  # keep the first lines and the outcome
        lines = lines[:LOG_LINES_PER_STAGE - 1] + lines[-1:]
    return [ln if len(ln) <= LOG_LINE_CHARS else ln[:LOG_LINE_CHARS - 1] + "…" for ln in lines]


def _write_logs(tx, pref, p: dict, updates: dict, stage: str, attempt: int, lines: list[str], t,
                level: str = "info") -> None:
    """Append `lines` to the run's logs in the caller's transaction, within the run's cap. Ids start with the
    run's event number at this commit (unique per commit), so lines sort in the order they were written."""
    used = int((p.get("metadata") or {}).get("log_lines", 0))
    room = max(0, LOG_LINES_PER_RUN - used)
    lines = lines[:room]
    if not lines:
        return
    base = int(p.get("event_seq") or 0)
    for i, line in enumerate(lines):
        tx.create(pref.collection("logs").document(f"{base:06d}-{i:02d}"),
                  {"stage": stage, "attempt": attempt, "level": level, "message": line, "at": t, "n": i})
    updates["metadata.log_lines"] = used + len(lines)


def _budget(constraints: Constraints) -> dict:
    s = get_settings()
    b = constraints.budget
    return {"compute_s": (b.compute_s if b and b.compute_s else s.default_budget_compute_s),
            "tokens": (b.tokens if b and b.tokens else s.default_budget_tokens)}


def over_budget(p: dict, budget: dict | None = None) -> str | None:
    """Which budget (compute_s or tokens) the run's total spend, across every stage and attempt,
    has used up; None while there is budget left. Checked at retry, approve and every claim."""
    budget = p.get("budget") or {} if budget is None else budget
    spent = p.get("spent") or {}
    for k in ("compute_s", "tokens"):
        if budget.get(k) and (spent.get(k) or 0) >= budget[k]:
            return k
    return None


def _budget_error(p: dict, k: str) -> errors.Conflict:
    budget, spent = p.get("budget") or {}, p.get("spent") or {}
    return errors.Conflict(
        f"The run has used its {k.replace('_s', ' seconds')} budget ({spent.get(k)} of {budget.get(k)}). "
        f"Retry it with a larger budget (more than {spent.get(k)}; send budget.{k}).",
        code="budget_exceeded", details={"budget": budget, "spent": spent})


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


# ------------------------------------------------------------------------------------------ intake


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


# ------------------------------------------------------------------------------------------ rerun


def rerun_stages(p: dict) -> list[str]:
    """The stages a finished run can be rerun from: each one whose predecessors all completed."""
    out = []
    for s in STAGES:
        out.append(s)
        if (p["stages"].get(s) or {}).get("status") != "completed":
            break
    return out if p.get("status") in TERMINAL else []


@dataclass
class RerunSource:
    run: dict
    from_stage: str
    artifacts: list[dict]
    plan: dict | None


def _rerun_source(tx, tenant: Tenant, source_id: str, from_stage: str) -> RerunSource:
    """Read (in `tx`, before its writes) the finished run a rerun reuses, and check it may restart at `from_stage`."""
    spref = tenant.pipeline(source_id)
    snap = spref.get(transaction=tx)
    if not snap.exists:
        raise errors.NotFound("No such pipeline in your workspace.", code="pipeline_not_found")
    p = snap.to_dict()
    if p["status"] not in TERMINAL:
        raise errors.Conflict(f"The run is still {p['status'].replace('_', ' ')}: a run can be rerun from a stage once "
                              "it has completed, failed or been cancelled.", code="not_finished")
    eligible = rerun_stages(p)
    if from_stage not in eligible:
        missing = next(s for s in STAGES[:STAGES.index(from_stage)] if p["stages"][s]["status"] != "completed")
        raise errors.Conflict(
            f"This run cannot restart at {from_stage.replace('_', ' ')}: {missing.replace('_', ' ')} did not complete "
            f"in it, so there is nothing to reuse. Rerun it from {eligible[-1].replace('_', ' ')} or an earlier stage.",
            code="stage_not_eligible", details={"eligible": eligible})
    done = list(STAGES[:STAGES.index(from_stage)])
    arts = [d.to_dict() for d in tx.get(spref.collection("artifacts").where(
        filter=gfs.FieldFilter("stage", "in", done)))] if done else []
    plan = None
    if plangate.STAGE in done:
        psnap = plan_ref(spref).get(transaction=tx)
        plan = psnap.to_dict() if psnap.exists else None
    return RerunSource(p, from_stage, arts, plan)


def _seed_rerun(tx, pref, doc: dict, src: RerunSource, t) -> int:
    """Mark the stages before `src.from_stage` done in the new run `doc`: their records copied from the finished
    run, and their artifacts' metadata documents copied, pointing at the same (immutable, per-claim) objects in
    Cloud Storage. Returns the progress the run starts at."""
    p, source_id = src.run, src.run["pipeline_id"]
    done = STAGES[:STAGES.index(src.from_stage)]
    for s in done:
        rec = {k: v for k, v in p["stages"][s].items() if k not in FENCE_FIELDS}
        doc["stages"][s] = {**rec, "reused_from": source_id}
    for meta in src.artifacts:
        tx.set(pref.collection("artifacts").document(artifact_doc_id(meta["stage"], meta["name"])),
               {**meta, "reused_from": source_id})
    if src.plan is not None:  # the approved spec, so the plan view reads as it did
        tx.set(plan_ref(pref), {**src.plan, "reused_from": source_id})
    meta = p.get("metadata") or {}
    doc["metadata"]["approvals"] = {s: v for s, v in (meta.get("approvals") or {}).items() if s in done}
    for k in ("plan_approved", "continue_anyway"):
        if meta.get(k) and done:
            doc["metadata"][k] = meta[k]
    if p.get("budget"):  # a budget raised on the finished run holds for its rerun
        doc["budget"] = {**doc["budget"], **p["budget"]}
    doc["rerun_of"] = {"pipeline_id": source_id, "from_stage": src.from_stage}
    doc["progress"] = topology.STAGE_PROGRESS[done[-1]] if done else 0
    return doc["progress"]


def _rerun_message(src: RerunSource, stage: str) -> str:
    done = STAGES[:STAGES.index(stage)]
    title = src.run.get("project_name") or "the idea"
    if not done:
        return f"Rerun of '{title}' queued from the start"
    return (f"Rerun of '{title}' queued from {stage.replace('_', ' ')}; "
            f"{', '.join(s.replace('_', ' ') for s in done)} reuse the earlier run's results")


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


# ------------------------------------------------------------------------------------------ claim


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


# ------------------------------------------------------------------------------------------ commit


@dataclass
class Outcome:
    """What a stage produced, as the state machine needs it."""

    kind: str  # "ok" | "reject" | "loop_back"
    summary: dict = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    usage: dict = field(default_factory=dict)
    reason: str | None = None
    private: dict[str, dict] = field(default_factory=dict)  # server-only documents, by name (PRIVATE_DOCS)
    logs: list[str] = field(default_factory=list)  # short lines saying what the stage did (see stage_log_lines)
    # kind "waiting" (deployment, decision 0040): the stage parks, still running, until an external event
    # completes it (`complete_waiting`): {"for": "build", "build_id", "log_url", "wait_s"}.
    waiting: dict | None = None


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


def commit_ref(pref, stage: str, attempt: int):
    """`commits/{stage}-{attempt}`: server-only (firestore.rules' catch-all), one per stage execution."""
    return pref.collection("commits").document(f"{stage}-{attempt}")


def committed_outcome(c: Claim) -> Outcome | None:
    """The outcome this stage attempt already committed, if its commit record and every artifact it
    names exist (a run restored from an older snapshot); else None. Keyed by (stage, attempt), not by
    dispatch id: a restored run replays the same attempts, but the messages it publishes again are new."""
    p = c.pipeline
    pref = Tenant(p["tenant_id"]).pipeline(p["pipeline_id"])
    snap = commit_ref(pref, c.stage, c.attempt).get()
    if not snap.exists:
        return None
    rec = snap.to_dict() or {}
    col = pref.collection("artifacts")
    arts: dict[str, bytes] = {}
    for name in rec.get("artifacts") or []:
        a = col.document(artifact_doc_id(c.stage, name)).get()
        meta = (a.to_dict() or {}) if a.exists else {}
        if meta.get("attempt") != c.attempt:
            return None  # not all of this attempt's artifacts are there: do the work again
        try:
            arts[name] = artifact_store.read(meta)  # the bytes live in Cloud Storage, checked against their hash
        except artifact_store.ArtifactIntegrityError:  # a missing or damaged object: redo the work
            return None
    return Outcome(rec.get("kind") or "ok", summary=rec.get("summary") or {}, artifacts=arts,
                   usage=rec.get("usage") or {}, reason=rec.get("reason"))


def commit(c: Claim, out: Outcome, *, waiting_for: str | None = None) -> tuple[StageMessage | None, str]:
    """Record a stage's result, progress and events atomically; returns the message to publish.

    Kind "waiting" parks the stage (still running, under its claim) until `complete_waiting` commits the real
    outcome with `waiting_for` = the id it waits on; any other id is stale and discarded."""
    p0 = c.pipeline
    tenant = Tenant(p0["tenant_id"])
    pref = tenant.pipeline(p0["pipeline_id"])
    s = get_settings()
    # The bytes go to Cloud Storage first, under this claim's own prefix; the transaction records
    # their metadata only (shared/artifact_store.py).
    stored = artifact_store.put(tenant.tenant_id, p0["pipeline_id"], c.stage, c.claim_id, out.artifacts) \
        if out.artifacts else {}

    @gfs.transactional
    def write(tx):
        snap = pref.get(transaction=tx)
        if not snap.exists:
            return None, "discarded (the pipeline document no longer exists)"
        p = _load(tx, pref, snap)
        st = p["stages"][c.stage]
        if p["status"] in TERMINAL or st.get("claim_id") != c.claim_id or st["status"] != "running":
            return None, "discarded (cancelled, timed out or taken over meanwhile)"
        parked = st.get("waiting") or {}
        if waiting_for is not None and parked.get("build_id") != waiting_for:
            return None, "discarded (stale: the stage is not waiting for this build)"
        if waiting_for is None and parked:
            return None, "discarded (the stage is parked; only its awaited event completes it)"
        code = "stage_rejected" if c.stage == "idea_validation" else "stage_failed"
        bsnap = _preread_refund(tx, p, "failed", code, c.stage) if out.kind == "reject" else None
        review = out.kind == "ok" and plangate.gate_on(p, c.stage) and plangate.has_spec(out.artifacts)
        plan_held = review and plan_ref(pref).get(transaction=tx).exists  # read before any write
        t = now()
        ev = Events(tx, pref, p["event_seq"])
        names = sorted(out.artifacts)
        if out.kind == "waiting":
            for name, fields in sorted((out.private or {}).items()):
                tx.set(private_ref(pref, name), {**fields, "stage": c.stage, "attempt": c.attempt, "created_at": t})
            w = dict(out.waiting or {})
            wait_s = float(w.pop("wait_s", 0) or s.stage_deadline_s)
            for name in names:
                tx.set(pref.collection("artifacts").document(artifact_doc_id(c.stage, name)),
                       {**stored[name], "stage": c.stage, "attempt": c.attempt, "created_at": t})
            usage = out.usage or {}
            updates = {f"stages.{c.stage}.waiting": {**w, "since": t}, f"stages.{c.stage}.artifacts": names,
                       f"stages.{c.stage}.summary": out.summary, "updated_at": t,
                       "deadline_at": t + timedelta(seconds=wait_s), "metadata.waiting_usage": usage}
            _write_logs(tx, pref, p, updates, c.stage, c.attempt,
                        stage_log_lines(c.stage, c.attempt, out, names, {"engine": usage.get("engine")},
                                        _ms(st.get("started_at"), t)), t)
            ev.add("stage_waiting", stage=c.stage, attempt=c.attempt, progress=p["progress"],
                   message=f"{c.stage.replace('_', ' ')}: waiting for the {w.get('for', 'build')} to finish",
                   build_id=w.get("build_id"), log_url=w.get("log_url"))
            updates["event_seq"] = ev.seq
            _update(tx, pref, updates)
            return None, "waiting"
        if parked:  # the awaited event completes the stage: keep what the parking commit stored
            names = sorted(set(names) | set(st.get("artifacts") or []))
            out.usage = {**((p.get("metadata") or {}).get("waiting_usage") or {}), **(out.usage or {})}
        for name in sorted(out.artifacts):
            tx.set(pref.collection("artifacts").document(artifact_doc_id(c.stage, name)),
                   {**stored[name], "stage": c.stage, "attempt": c.attempt, "created_at": t})
        # The stage's result, beside its artifacts: a run restored from an older snapshot that comes
        # back with this attempt pending records this commit again instead of redoing the work.
        tx.set(commit_ref(pref, c.stage, c.attempt), {
            "stage": c.stage, "attempt": c.attempt, "dispatch_id": st.get("dispatch_id"), "kind": out.kind,
            "summary": out.summary, "artifacts": names, "usage": out.usage or {}, "reason": out.reason,
            "created_at": t})
        usage = out.usage or {}
        cost = {"compute_s": round(float(usage.get("compute_s", 0.0)), 3),
                "tokens": int(usage.get("tokens_in", 0)) + int(usage.get("tokens_out", 0)),
                "usd": round(float(usage.get("cost_usd", 0.0)), 6), "engine": usage.get("engine")}
        spent = p.get("spent") or {}
        spent = {"compute_s": round(spent.get("compute_s", 0.0) + cost["compute_s"], 3),
                 "tokens": spent.get("tokens", 0) + cost["tokens"], "usd": round(spent.get("usd", 0.0) + cost["usd"], 6)}
        started = st.get("started_at")
        updates = {
            f"stages.{c.stage}.finished_at": t, f"stages.{c.stage}.duration_ms": _ms(started, t),
            f"stages.{c.stage}.cost": cost, f"stages.{c.stage}.artifacts": names,
            f"stages.{c.stage}.summary": out.summary, "spent": spent, "updated_at": t,
        }
        if parked:
            updates[f"stages.{c.stage}.waiting"] = None
        _write_logs(tx, pref, p, updates, c.stage, c.attempt,
                    stage_log_lines(c.stage, c.attempt, out, names, cost, _ms(started, t)), t,
                    level="info" if out.kind == "ok" else "warning")
        msg = None
        if out.kind == "ok":
            for name, fields in sorted((out.private or {}).items()):
                tx.set(private_ref(pref, name), {**fields, "stage": c.stage, "attempt": c.attempt, "created_at": t})
            progress = topology.STAGE_PROGRESS[c.stage]
            updates.update({f"stages.{c.stage}.status": "completed", "progress": progress})
            p["progress"] = progress
            ev.add("stage_completed", stage=c.stage, attempt=c.attempt, progress=progress,
                   message=f"{c.stage.replace('_', ' ')} completed", artifacts=names)
            ev.add("factory_progress", stage=c.stage, progress=progress)
            budget = p.get("budget") or {}
            over = [k for k in ("compute_s", "tokens") if budget.get(k) and spent[k] > budget[k]]
            if over and topology.next_stage(c.stage):
                k = over[0]
                _fail(updates, ev, p, None, "budget_exceeded",
                      f"Stopped: the run's {k.replace('_s', ' seconds')} budget of {budget[k]} was reached "
                      f"({spent[k]} used after {c.stage.replace('_', ' ')}). Raise the budget and retry.", t)
            elif c.stage == STAGES[0] and (out.summary or {}).get("needs_input") \
                    and not p["metadata"].get("continue_anyway"):
                _pause_for_input(updates, ev, p, out.summary)
            elif review:
                plangate.pause(tx, pref, updates, ev, p, out.artifacts, plan_held, t)
            else:
                msg = _dispatch_next(tx, updates, ev, p, c.stage, t)
        elif out.kind == "loop_back" and c.stage == "qa":
            loops = int(p["metadata"].get("qa_loops", 0))
            if loops < s.qa_max_loops:
                updates.update({f"stages.{c.stage}.status": "failed", "metadata.qa_loops": loops + 1,
                                "metadata.qa_feedback": out.summary})
                ev.add("qa_loop_back", stage=c.stage, progress=p["progress"],
                       message=f"QA found problems; development rework {loops + 1} of {s.qa_max_loops}")
                msg = _redispatch(tx, updates, ev, p, "development", t)
            else:
                _fail(updates, ev, p, c.stage, "qa_failed",
                      f"QA still failed after {loops} rework loops: {out.reason or 'see the QA report'}", t)
        else:
            _fail(updates, ev, p, c.stage, code, out.reason or f"{c.stage} failed", t)
            _settle(tx, p, updates, ev, bsnap, t)
        updates["event_seq"] = ev.seq
        _update(tx, pref, updates)
        return msg, updates.get("status", "running")

    msg, status = write(clients.firestore().transaction())
    if stored and status.startswith("discarded"):
        artifact_store.discard(stored)  # never committed: nothing refers to these objects
    return msg, status


def complete_waiting(tenant_id: str, pipeline_id: str, stage: str, build_id: str,
                     finish) -> tuple[StageMessage | None, str]:
    """An awaited event arrived for a parked stage (decision 0040): if the run's `stage` is still waiting for
    `build_id`, `finish(stage_state, private_docs)` (given the stage's state, with the summary the parking
    commit recorded, and its server-only documents of this attempt, e.g. `deploy`) returns the stage's real
    Outcome, committed under the parked claim -- fenced like every commit: a duplicate
    notification, a stale build id or a run that moved on (cancelled, timed out, re-dispatched) commits
    nothing and `finish` is not called. Returns (message to publish, status)."""
    pref = Tenant(tenant_id).pipeline(pipeline_id)
    snap = pref.get()
    if not snap.exists:
        return None, "skipped (no such run)"
    p = _load(None, pref, snap)
    st = (p.get("stages") or {}).get(stage) or {}
    if p["status"] in TERMINAL or p.get("current_stage") != stage or st.get("status") != "running" \
            or (st.get("waiting") or {}).get("build_id") != build_id:
        return None, "skipped (the run is not waiting for this build)"
    docs = {}
    for name in PRIVATE_DOCS:
        d = private_ref(pref, name).get()
        if d.exists and (d.to_dict() or {}).get("attempt") == st.get("attempt"):
            docs[name] = d.to_dict()
    out = finish(st, docs)
    c = Claim(st["claim_id"], p, stage, int(st.get("attempt") or 0))
    return commit(c, out, waiting_for=build_id)


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


# ------------------------------------------------------------------------------------------ watchdog


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


# ------------------------------------------------------------------------------------------ user actions


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


# ------------------------------------------------------------------------------------------ reads


PUBLIC_FIELDS = ("pipeline_id", "tenant_id", "project_id", "project_name", "idea_id", "status", "current_stage",
                 "progress", "stages", "started_at", "updated_at", "completed_at", "created_at", "duration_ms",
                 "error_message", "error_code", "awaiting_approval_for", "budget", "spent", "metadata", "credit",
                 "rerun_of")


def public(p: dict | Pipeline) -> dict:
    """What the API returns for a run: the typed stored document, less anything internal."""
    run = p if isinstance(p, Pipeline) else Pipeline.model_validate(p)
    out = {k: getattr(run, k, None) for k in PUBLIC_FIELDS}
    # Runs stored before the fence document kept the fencing fields in the stage map.
    out["stages"] = {s: run.stages[s].model_dump(exclude=set(FENCE_FIELDS)) for s in STAGES}
    out["metadata"] = {k: v for k, v in run.metadata.items() if k != "qa_feedback"}
    return out


def get_run(tenant: Tenant, pipeline_id: str) -> Pipeline:
    run = Runs(tenant).pipeline(pipeline_id)
    if run is None:
        raise errors.NotFound("No such pipeline in your workspace.", code="pipeline_not_found")
    return run


def get(tenant: Tenant, pipeline_id: str) -> dict:
    return get_run(tenant, pipeline_id).model_dump()


# Who may read a run's owner claim link besides the member who started the run.
CLAIM_ROLES = ("owner",)


def claim_link(tenant: Tenant, pipeline_id: str, caller_uid: str, role: str) -> dict:
    """The deployed app's one-time owner claim link, for the workspace owner or the member who started the
    run (the server-only `private/claim` document; the summary every member reads never has it)."""
    run = get_run(tenant, pipeline_id)
    pref = tenant.pipeline(pipeline_id)
    started_by = (fence_ref(pref).get().to_dict() or {}).get("created_by") or run.created_by
    if role not in CLAIM_ROLES and caller_uid != started_by:
        raise errors.Forbidden(
            "Only the workspace owner or the member who started this run can see its claim link; "
            "ask one of them to open it.", code="claim_forbidden")
    snap = private_ref(pref, "claim").get()
    if run.stages["deployment"].status != "completed" or not snap.exists:
        raise errors.NotFound("This run has no claim link yet: it appears once the deployment stage has "
                              "finished deploying the app.", code="claim_not_ready")
    claim = snap.to_dict()
    return {"pipeline_id": pipeline_id, "claim_url": claim["claim_url"], "created_at": claim.get("created_at")}


def _encode_cursor(p: dict) -> str:
    raw = json.dumps({"c": p["created_at"].isoformat(), "id": p["pipeline_id"]})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        d = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(d["c"]), d["id"]
    except (ValueError, KeyError, TypeError):
        raise errors.BadRequest("The cursor is not valid; use next_cursor from the previous page.",
                                code="invalid_cursor") from None


def list_pipelines(tenant: Tenant, status: str | None, limit: int, cursor: str | None) -> dict:
    q = tenant.collection("pipelines")
    if status:
        q = q.where(filter=gfs.FieldFilter("status", "==", status))
    q = q.order_by("created_at", direction=gfs.Query.DESCENDING).order_by(
        "pipeline_id", direction=gfs.Query.DESCENDING)
    if cursor:
        created_at, last_id = _decode_cursor(cursor)
        q = q.start_after({"created_at": created_at, "pipeline_id": last_id})
    docs = [d.to_dict() for d in q.limit(limit + 1).stream()]
    page = docs[:limit]
    return {"pipelines": [public(p) for p in page],
            "next_cursor": _encode_cursor(page[-1]) if len(docs) > limit else None}


def status_summary(tenant: Tenant) -> dict:
    col = tenant.collection("pipelines")
    counts = {}
    for st in ("queued", "running", "awaiting_approval", "needs_input", "plan_review", "completed", "failed",
               "cancelled"):
        agg = col.where(filter=gfs.FieldFilter("status", "==", st)).count().get()
        counts[st] = int(agg[0][0].value)
    done = counts["completed"] + counts["failed"]
    durations = sorted(
        d.get("duration_ms") for d in col.where(filter=gfs.FieldFilter("status", "==", "completed"))
        .order_by("completed_at", direction=gfs.Query.DESCENDING).limit(1000).select(["duration_ms"]).stream()
        if d.get("duration_ms") is not None
    )
    avg = sum(durations) / len(durations) if durations else None
    p95 = durations[min(len(durations) - 1, int(0.95 * len(durations)))] if durations else None
    return {"counts": counts, "total": sum(counts.values()),
            "success_rate": round(counts["completed"] / done, 4) if done else None,
            "avg_duration_ms": round(avg, 1) if avg is not None else None, "p95_duration_ms": p95,
            "sample_size": len(durations)}


EVENT_FIELDS = ("seq", "type", "stage", "attempt", "progress", "message", "at")


def list_events(tenant: Tenant, pipeline_id: str, after: int, limit: int) -> dict:
    """A run's progress events in order, those numbered after `after` (what the dashboard's polling
    fallback reads when realtime is refused; the same documents its listener reads)."""
    get(tenant, pipeline_id)  # 404 first (also for another tenant's run)
    q = (tenant.pipeline(pipeline_id).collection("events").where(filter=gfs.FieldFilter("seq", ">", after))
         .order_by("seq").limit(limit + 1))
    docs = [(d.id, d.to_dict()) for d in q.stream()]
    page = docs[:limit]
    out = []
    for i, e in page:
        ev = {"id": i, **{k: e.get(k) for k in EVENT_FIELDS if e.get(k) is not None}}
        if isinstance(ev.get("at"), datetime):
            ev["at"] = ev["at"].isoformat()
        out.append(ev)
    return {"pipeline_id": pipeline_id, "events": out,
            "next_after": page[-1][1]["seq"] if len(docs) > limit else None}


def artifacts(tenant: Tenant, pipeline_id: str) -> list[dict]:
    get(tenant, pipeline_id)  # 404 first
    col = tenant.pipeline(pipeline_id).collection("artifacts")
    out = []
    for d in col.select(["stage", "name", "kind", "size", "content_type", "sha256", "attempt",
                         "created_at"]).stream():
        out.append(d.to_dict())
    order = {s: i for i, s in enumerate(STAGES)}
    return sorted(out, key=lambda a: (order.get(a["stage"], 99), a["name"]))


def artifact(tenant: Tenant, pipeline_id: str, name: str) -> dict:
    """One artifact by name (names are unique within a run; on a clash the latest stage wins)."""
    get(tenant, pipeline_id)
    col = tenant.pipeline(pipeline_id).collection("artifacts")
    hits = [d.to_dict() for d in col.where(filter=gfs.FieldFilter("name", "==", name)).stream()]
    if not hits:
        raise errors.NotFound(f"No artifact named {name} in this run; list them at "
                              f"/api/factory/pipelines/{pipeline_id}/artifacts.", code="artifact_not_found")
    return max(hits, key=lambda a: STAGES.index(a["stage"]) if a["stage"] in STAGES else -1)


def logs(tenant: Tenant, pipeline_id: str, stage: str | None = None) -> list[dict]:
    """The run's log lines, oldest first (at most LOG_LINES_PER_RUN exist)."""
    get(tenant, pipeline_id)  # 404 first (also for another tenant's run)
    col = tenant.pipeline(pipeline_id).collection("logs")
    out = [{"id": d.id, **d.to_dict()} for d in col.limit(LOG_LINES_PER_RUN).stream()]  # by id: write order
    return [ln for ln in out if stage is None or ln.get("stage") == stage]


def artifact_reader(tenant_id: str, pipeline_id: str):
    col = Tenant(tenant_id).pipeline(pipeline_id).collection("artifacts")
    cache: dict[tuple[str, str], bytes] = {}

    def read(stage: str, name: str) -> bytes:
        key = (stage, name)
        if key not in cache:
            snap = col.document(artifact_doc_id(stage, name)).get()
            if not snap.exists:
                raise KeyError(f"{stage}/{name}")
            cache[key] = artifact_store.read(snap.to_dict())
        return cache[key]

    return read


def load_idea(tenant_id: str, idea_id: str) -> dict:
    idea = Runs(Tenant(tenant_id)).idea(idea_id)
    if idea is None:
        raise errors.NotFound("No such idea in your workspace.", code="idea_not_found")
    return idea.model_dump()
