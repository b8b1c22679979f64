"""Factory API (HTTPS): the seed's pipeline API, user actions on runs, artifacts, and the OpenAPI document."""

import io
import json
from pathlib import Path

import flask
import functions_framework

from shared import auth, pipeline, previews, project_files
from shared.errors import BadRequest, NotFound
from shared.http import Response, Router
from shared.models.pipeline import (
    ApproveCreate,
    ChangesCreate,
    ContinueCreate,
    IdeaCreate,
    ListQuery,
    ProgressUpdate,
    ResumeCreate,
    RetryCreate,
    TriggerCreate,
)
from shared.settings import get_settings
from shared.store import Tenant

get_settings()
router = Router("factory")
OPENAPI = Path(__file__).resolve().parent / "openapi.json"


@router.route("GET", "/api/factory/status")
def status(call):
    return pipeline.status_summary(auth.authorize(call.caller, "read"))


@router.route("GET", "/api/factory/pipelines")
def list_pipelines(call):
    tenant = auth.authorize(call.caller, "read")
    q = call.query_model(ListQuery)
    return pipeline.list_pipelines(tenant, q.status, q.limit, q.cursor)


@router.route("GET", "/api/factory/pipelines/{pipeline_id}")
def get_pipeline(call):
    tenant = auth.authorize(call.caller, "read")
    return pipeline.public(pipeline.get(tenant, call.params["pipeline_id"]))


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/update")
def update(call):
    auth.require_service(call.request, "factory")  # stage workers only; a user token gets 403
    body = call.model(ProgressUpdate)
    tenant_id = call.headers.get("X-Tenant-Id", "")
    try:
        tenant = Tenant(tenant_id)
    except ValueError:
        raise NotFound("No such pipeline.", code="pipeline_not_found") from None
    return pipeline.progress_update(tenant, call.params["pipeline_id"], body.stage, body.attempt,
                                    body.progress, body.message, dispatch_id=body.dispatch_id)


@router.route("POST", "/api/factory/trigger")
def trigger(call):
    tenant = auth.authorize(call.caller, "submit")
    body = call.model(TriggerCreate)
    stored = pipeline.load_idea(tenant.tenant_id, body.idea_id)
    fields = {k: stored.get(k) for k in ("title", "description", "target_audience", "key_features", "constraints")}
    if body.constraints is not None:
        fields["constraints"] = body.constraints.model_dump()
    idea = IdeaCreate.model_validate(fields)
    key = call.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 255):
        raise BadRequest("Idempotency-Key must be 1-255 characters.", code="invalid_idempotency_key")
    result = pipeline.create_run(tenant, call.caller.uid, idea, idea_id=body.idea_id, idempotency_key=key)
    return Response(result, status=202, headers={"Location": f"/api/factory/pipelines/{result['pipeline_id']}"})


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/cancel")
def cancel(call):
    tenant = auth.authorize(call.caller, "act")
    return pipeline.cancel(tenant, call.params["pipeline_id"], call.caller.uid)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/retry")
def retry(call):
    tenant = auth.authorize(call.caller, "act")
    body = call.model(RetryCreate)
    budget = body.budget.model_dump(exclude_none=True) if body.budget else None
    return Response(pipeline.retry(tenant, call.params["pipeline_id"], call.caller.uid, budget), status=202)


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/idea")
def get_idea(call):
    """The run's idea as the founder wrote it (what "Edit & resume" and "Edit & rerun" pre-fill)."""
    tenant = auth.authorize(call.caller, "read")
    p = pipeline.get(tenant, call.params["pipeline_id"])
    idea = pipeline.load_idea(tenant.tenant_id, p["idea_id"])
    return {"pipeline_id": p["pipeline_id"], "idea_id": p["idea_id"],
            **{k: idea.get(k) for k in ("title", "description", "target_audience", "key_features", "constraints")}}


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/resume")
def resume(call):
    """A run waiting in needs_input: edit the idea and validate it again."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ResumeCreate)
    return Response(pipeline.resume(tenant, call.params["pipeline_id"], call.caller.uid,
                                    body.model_dump(exclude_none=True)), status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/continue")
def continue_anyway(call):
    """A run waiting in needs_input: build the idea as it stands."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ContinueCreate)
    return Response(pipeline.continue_anyway(tenant, call.params["pipeline_id"], call.caller.uid, body.comment),
                    status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/approve")
def approve(call):
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ApproveCreate)
    return Response(pipeline.approve(tenant, call.params["pipeline_id"], call.caller.uid, body.stage, body.comment),
                    status=202)


@router.route("POST", "/api/factory/pipelines/{pipeline_id}/request-changes")
def request_changes(call):
    """At an approval gate: record what should change (an event the team reads); the run keeps waiting."""
    tenant = auth.authorize(call.caller, "act")
    body = call.model(ChangesCreate)
    return pipeline.request_changes(tenant, call.params["pipeline_id"], call.caller.uid, body.stage, body.comment)


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
    link = pipeline.claim_link(tenant, call.params["pipeline_id"], call.caller.uid, role)
    return Response(link, headers={"Cache-Control": "no-store"})


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/artifacts")
def list_artifacts(call):
    tenant = auth.authorize(call.caller, "read")
    pid = call.params["pipeline_id"]
    items = pipeline.artifacts(tenant, pid)
    for a in items:
        a["url"] = f"/api/factory/pipelines/{pid}/artifacts/{a['name']}"
    return {"pipeline_id": pid, "artifacts": items}


CONTENT_TYPES = {".json": "application/json", ".md": "text/markdown; charset=utf-8", ".svg": "image/svg+xml",
                 ".zip": "application/zip", ".gz": "application/gzip", ".yaml": "application/yaml",
                 ".txt": "text/plain; charset=utf-8", ".html": "text/plain; charset=utf-8"}


@router.route("GET", "/api/factory/pipelines/{pipeline_id}/artifacts/{name*}")
def get_artifact(call):
    tenant = auth.authorize(call.caller, "read")
    a = pipeline.artifact(tenant, call.params["pipeline_id"], call.params["name"])
    suffix = "." + a["name"].rsplit(".", 1)[-1] if "." in a["name"] else ""
    ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
    if a["name"] == "Dockerfile":
        ctype = "text/plain; charset=utf-8"
    resp = flask.send_file(io.BytesIO(a["content"]), mimetype=ctype, download_name=a["name"].rsplit("/", 1)[-1],
                           as_attachment=suffix in (".zip", ".gz"))
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
