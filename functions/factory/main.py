"""Factory API (HTTPS): the seed's pipeline API, user actions on runs, artifacts, and the OpenAPI document."""

import io
import json
from pathlib import Path

import flask
import functions_framework

from shared import artifact_store, auth, changes, planreview, previews, project_files
from shared.errors import AppError, NotFound
from shared.http import Response, Router, require_idempotency_key
from shared.models.pipeline import (
    ApproveCreate,
    ChangesCreate,
    ContinueCreate,
    EventsQuery,
    IdeaCreate,
    ListQuery,
    LogsQuery,
    PlanApproveCreate,
    PlanEditCreate,
    PreviewRollbackCreate,
    ProgressUpdate,
    RerunCreate,
    ResumeCreate,
    RetryCreate,
    TriggerCreate,
    VersionDiffQuery,
)
from shared.runs import actions, intake, logs, reads
from shared.settings import get_settings
from shared.store import Tenant

get_settings()
router = Router("factory")
OPENAPI = Path(__file__).resolve().parent / "openapi.json"


@router.route("GET", "/api/factory/status")
def status(call):
    return reads.status_summary(auth.authorize(call.caller, "read"))


@router.route("GET", "/api/factory/pipelines")
def list_pipelines(call):
    tenant = auth.authorize(call.caller, "read")
    q = call.query_model(ListQuery)
    return reads.list_pipelines(tenant, q.status, q.limit, q.cursor)


@router.route("GET", "/api/factory/pipelines/{pipeline_id}")
def get_pipeline(call):
    tenant = auth.authorize(call.caller, "read")
    return reads.public(reads.get(tenant, call.params["pipeline_id"]))


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/update")
def update(call):
    auth.require_service(call.request, "factory")  # stage workers only; a user token gets 403
    body = call.model(ProgressUpdate)
    tenant_id = call.headers.get("X-Tenant-Id", "")
    try:
        tenant = Tenant(tenant_id)
    except ValueError:
        raise NotFound("No such pipeline.", code="pipeline_not_found") from None
    return actions.progress_update(tenant, call.params["pipeline_id"], body.stage, body.attempt,
                                   body.progress, body.message, dispatch_id=body.dispatch_id)


@router.route("POST", "/api/factory/trigger")
def trigger(call):
    tenant = auth.authorize(call.caller, "submit")
    body = call.model(TriggerCreate)
    stored = reads.load_idea(tenant.tenant_id, body.idea_id)
    fields = {k: stored.get(k) for k in ("title", "description", "target_audience", "key_features", "constraints")}
    if body.constraints is not None:
        fields["constraints"] = body.constraints.model_dump()
    idea = IdeaCreate.model_validate(fields)
    key = require_idempotency_key(call.headers)
    result = intake.create_run(tenant, call.caller.uid, idea, idea_id=body.idea_id, idempotency_key=key)
    return Response(result, status=202, headers={"Location": f"/api/factory/pipelines/{result['pipeline_id']}"})


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/cancel")
def cancel(call):
    tenant = auth.authorize(call.caller, "act")
    return actions.cancel(tenant, call.params["pipeline_id"], call.caller.uid)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/retry")
def retry(call):
    tenant = auth.authorize(call.caller, "act")
    body = call.model(RetryCreate)
    budget = body.budget.model_dump(exclude_none=True) if body.budget else None
    return Response(actions.retry(tenant, call.params["pipeline_id"], call.caller.uid, budget), status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/rerun")
def rerun(call):
    """A NEW run of a finished run's idea from a chosen stage (one credit): the stages before it reuse the
    finished run's results and artifacts. Needs an Idempotency-Key, as every route that spends a credit."""
    tenant = auth.authorize(call.caller, "submit")
    body = call.model(RerunCreate)
    key = require_idempotency_key(call.headers)
    result = intake.rerun_from(tenant, call.params["pipeline_id"], call.caller.uid, body.from_stage, key)
    return Response(result, status=202, headers={"Location": f"/api/factory/pipelines/{result['pipeline_id']}"})


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/idea")
def get_idea(call):
    """The run's idea as the founder wrote it (what "Edit & resume" and "Edit & rerun" pre-fill)."""
    tenant = auth.authorize(call.caller, "read")
    p = reads.get(tenant, call.params["pipeline_id"])
    idea = reads.load_idea(tenant.tenant_id, p["idea_id"])
    return {"pipeline_id": p["pipeline_id"], "idea_id": p["idea_id"],
            **{k: idea.get(k) for k in ("title", "description", "target_audience", "key_features", "constraints")}}


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/events")
def list_events(call):
    """The run's progress events in order (after=seq pages on): what the dashboard polls when realtime fails."""
    tenant = auth.authorize(call.caller, "read")
    q = call.query_model(EventsQuery)
    return reads.list_events(tenant, call.params["pipeline_id"], q.after, q.limit)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/resume")
def resume(call):
    """A run waiting in needs_input: edit the idea and validate it again."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ResumeCreate)
    return Response(actions.resume(tenant, call.params["pipeline_id"], call.caller.uid,
                                   body.model_dump(exclude_none=True)), status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/continue")
def continue_anyway(call):
    """A run waiting in needs_input: build the idea as it stands."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ContinueCreate)
    return Response(actions.continue_anyway(tenant, call.params["pipeline_id"], call.caller.uid, body.comment),
                    status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/approve")
def approve(call):
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ApproveCreate)
    return Response(actions.approve(tenant, call.params["pipeline_id"], call.caller.uid, body.stage, body.comment),
                    status=202)


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/plan")
def get_plan(call):
    """The app spec under review (or approved), as a founder reads it, with the edits so far."""
    tenant = auth.authorize(call.caller, "read")
    return planreview.get_plan(tenant, call.params["pipeline_id"])


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/plan/edits")
def edit_plan(call):
    """One typed edit of the spec under review, checked (422 plan_edit_invalid with the problems otherwise)."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(PlanEditCreate)
    return Response(planreview.edit(tenant, call.params["pipeline_id"], call.caller.uid, body.model_dump()),
                    status=201)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/plan/undo")
def undo_plan_edit(call):
    tenant = auth.authorize(call.caller, "act")
    return planreview.undo(tenant, call.params["pipeline_id"], call.caller.uid)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/plan/approve")
def approve_plan(call):
    """Approve the plan: development builds the approved spec."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(PlanApproveCreate)
    return Response(planreview.approve(tenant, call.params["pipeline_id"], call.caller.uid, body.comment),
                    status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/change")
def start_change(call):
    """Change the built app: its spec opens as the next version in the plan editor (edit and undo as in review)."""
    tenant = auth.authorize(call.caller, "act")
    return Response(changes.start(tenant, call.params["pipeline_id"], call.caller.uid), status=201)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/change/build")
def build_change(call):
    """Build the open change: a NEW run from development (one credit, Idempotency-Key) whose project keeps the
    previous Alembic revisions plus the next one, and whose preview starts on the previous preview's data."""
    tenant = auth.authorize(call.caller, "submit")
    key = require_idempotency_key(call.headers)
    result = changes.build(tenant, call.params["pipeline_id"], call.caller.uid, key)
    return Response(result, status=202, headers={"Location": f"/api/factory/pipelines/{result['pipeline_id']}"})


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/versions")
def list_versions(call):
    """The versions of this run's app (version, run, who, when, spec SHA-256), oldest first."""
    tenant = auth.authorize(call.caller, "read")
    return changes.versions(tenant, call.params["pipeline_id"])


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/versions/diff")
def diff_versions(call):
    """What changed between two versions of the app (?a=1&b=2): entities, attributes, links, roles, rules."""
    tenant = auth.authorize(call.caller, "read")
    q = call.query_model(VersionDiffQuery)
    return changes.diff(tenant, call.params["pipeline_id"], q.a, q.b)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/preview/rollback")
def rollback_preview(call):
    """Restart the run's preview at an earlier version of the app, its database downgraded to that version."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(PreviewRollbackCreate)
    return changes.rollback(tenant, call.params["pipeline_id"], call.caller.uid, body.version)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/request-changes")
def request_changes(call):
    """At an approval gate: record what should change (an event the team reads); the run keeps waiting."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ChangesCreate)
    return actions.request_changes(tenant, call.params["pipeline_id"], call.caller.uid, body.stage, body.comment)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/preview")
def redeploy_preview(call):
    """Start an expired local preview again from the run's stored project (no credit, no rebuild)."""
    tenant = auth.authorize(call.caller, "act")
    return previews.redeploy(tenant, call.params["pipeline_id"], call.caller.uid)


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/project/files")
def project_file_list(call):
    """The generated project's files (from the development stage's project.zip)."""
    tenant = auth.authorize(call.caller, "read")
    return project_files.list_files(tenant, call.params["pipeline_id"])


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/project/files/{path*}")
def project_file(call):
    """One file of the generated project, as text (binary files answer text null)."""
    tenant = auth.authorize(call.caller, "read")
    return project_files.read_file(tenant, call.params["pipeline_id"], call.params["path"])


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/claim")
def get_claim(call):
    """The deployed app's one-time owner claim link: the workspace owner's and the run starter's only."""
    tenant, role = auth.authorize_role(call.caller, "read")
    link = reads.claim_link(tenant, call.params["pipeline_id"], call.caller.uid, role)
    return Response(link, headers={"Cache-Control": "no-store"})


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/artifacts")
def list_artifacts(call):
    tenant = auth.authorize(call.caller, "read")
    pid = call.params["pipeline_id"]
    items = reads.artifacts(tenant, pid)
    for a in items:
        a["url"] = f"/api/factory/pipelines/{pid}/artifacts/{a['name']}"
    return {"pipeline_id": pid, "artifacts": items}


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/logs")
def list_logs(call):
    """The run's per-stage log lines, oldest first (`?stage=` keeps one stage's)."""
    tenant = auth.authorize(call.caller, "read")
    pid = call.params["pipeline_id"]
    lines = reads.logs(tenant, pid, call.query_model(LogsQuery).stage)
    return {"pipeline_id": pid, "logs": lines, "cap": logs.LOG_LINES_PER_RUN}


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/artifacts/{name*}")
def get_artifact(call):
    """get artifact

    The tenant check first (a name in another tenant's run is a 404), then the bytes: streamed after their
    SHA-256 is checked (local), or a redirect to a short-lived V4 signed URL of the recorded object
    generation (production, ARTIFACT_DOWNLOAD=signed_url)."""
    tenant = auth.authorize(call.caller, "read")
    a = reads.artifact(tenant, call.params["pipeline_id"], call.params["name"])
    ctype = a.get("content_type") or artifact_store.content_type(a["name"])
    filename = a["name"].rsplit("/", 1)[-1]
    attachment = artifact_store.suffix(a["name"]) in (".zip", ".gz")
    try:
        if get_settings().artifact_download == "signed_url" and "object" in a:
            resp = flask.redirect(artifact_store.signed_url(a, filename, attachment), code=302)
            resp.headers["Cache-Control"] = "no-store"
            return resp
        body = artifact_store.read(a)
    except artifact_store.ArtifactIntegrityError:
        raise AppError(f"The stored copy of {a['name']} failed its integrity check, so it is not served. Retry "
                       f"the run from the {a['stage'].replace('_', ' ')} stage to rebuild it.",
                       code="artifact_integrity", status=502) from None
    resp = flask.send_file(io.BytesIO(body), mimetype=ctype, download_name=filename, as_attachment=attachment)
    resp.headers["ETag"] = a["sha256"]
    resp.headers["X-Content-SHA256"] = a["sha256"]
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # Artifacts are generated content: never let one run script on our origin.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
    return resp


@router.route("GET", "/api/openapi.json")
def openapi(call):
    return json.loads(OPENAPI.read_text())


@functions_framework.http
def factory(request):
    return router(request)
