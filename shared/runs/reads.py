"""Reads of a tenant's runs for the API: a run, the list, the summary, events, artifacts, logs, the claim link."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from google.cloud import firestore as gfs

from shared import artifact_store, errors
from shared.models.pipeline import Pipeline
from shared.runs.logs import LOG_LINES_PER_RUN
from shared.runs.records import FENCE_FIELDS, artifact_doc_id, fence_ref, private_ref
from shared.store import Runs, Tenant
from shared.topology import STAGES

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

