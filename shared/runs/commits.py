"""A stage's result, recorded under its claim: artifacts, cost, progress, events and the next stage's message in
one transaction (or parked, still running, until an awaited build reports back: decision 0040)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from google.cloud import firestore as gfs

from shared import artifact_store, clients, plangate, topology
from shared.models.pipeline import TERMINAL, StageMessage
from shared.runs.claims import Claim
from shared.runs.logs import _write_logs, stage_log_lines
from shared.runs.records import PRIVATE_DOCS, Events, _load, _ms, _update, artifact_doc_id, plan_ref, private_ref
from shared.runs.transitions import _dispatch_next, _fail, _pause_for_input, _preread_refund, _redispatch, _settle
from shared.settings import get_settings
from shared.store import Tenant, now
from shared.topology import STAGES


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

