"""Idea intake (HTTPS): validate, spend a credit, create idea + pipeline in one transaction, start it."""

import functions_framework

from shared import auth
from shared.http import Response, Router, require_idempotency_key
from shared.models.pipeline import IdeaCreate
from shared.runs import intake
from shared.settings import get_settings

get_settings()
router = Router("ideas")


@router.route("POST", "/api/orchestrate")
@router.route("POST", "/api/ideas")
def submit(call):
    """Submit an idea: spend a credit and start a run (`/api/orchestrate` is an alias, the first design's name)."""
    tenant = auth.authorize(call.caller, "submit")
    idea = call.model(IdeaCreate)
    key = require_idempotency_key(call.headers)
    result = intake.create_run(tenant, call.caller.uid, idea, idempotency_key=key)
    pid = result["pipeline_id"]
    body = {**result, "links": {"pipeline": f"/api/factory/pipelines/{pid}",
                                "firestore": f"tenants/{tenant.tenant_id}/pipelines/{pid}"}}
    return Response(body, status=202, headers={"Location": f"/api/factory/pipelines/{pid}"})


@functions_framework.http
def ideas(request):
    return router(request)
