"""The OpenAPI document of every HTTP function, generated from the routers and pydantic models.

    python -m infra.openapi          rewrite functions/factory/openapi.json (served at /api/openapi.json)
    python -m infra.openapi --check  fail if the committed document is stale (a unit test does this)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "functions" / "factory" / "openapi.json"

from shared import topology  # noqa: E402
from shared.models import accounts as m_acc  # noqa: E402
from shared.models import pipeline as m_pipe  # noqa: E402

# Request bodies and auth per route; everything not listed takes no body.
BODIES = {
    ("POST", "/api/auth/signup"): m_acc.SignupCreate,
    ("POST", "/api/team/invitations"): m_acc.InvitationCreate,
    ("PATCH", "/api/team/members/{uid}"): m_acc.MemberUpdate,
    ("PATCH", "/api/me/settings"): m_acc.MemberSettings,
    ("POST", "/api/ideas"): m_pipe.IdeaCreate,
    ("POST", "/api/factory/trigger"): m_pipe.TriggerCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/approve"): m_pipe.ApproveCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/retry"): m_pipe.RetryCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/rerun"): m_pipe.RerunCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/resume"): m_pipe.ResumeCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/continue"): m_pipe.ContinueCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/request-changes"): m_pipe.ChangesCreate,
    ("POST", "/api/me/workspace"): m_acc.WorkspaceSwitch,
    ("POST", "/api/me/own-workspace"): m_acc.OwnWorkspaceCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/update"): m_pipe.ProgressUpdate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/plan/edits"): m_pipe.PlanEditCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/plan/approve"): m_pipe.PlanApproveCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/preview/rollback"): m_pipe.PreviewRollbackCreate,
}
PUBLIC = {("POST", "/api/auth/signup"), ("POST", "/api/stripe/webhook"), ("GET", "/api/openapi.json")}
SERVICE = {("POST", "/api/factory/pipelines/{pipeline_id}/update")}
STATUS = {("POST", "/api/auth/signup"): "201", ("POST", "/api/me/own-workspace"): "201", ("POST", "/api/team/invitations"): "201",
          ("POST", "/api/billing/checkout"): "201", ("POST", "/api/ideas"): "202",
          ("POST", "/api/factory/trigger"): "202", ("POST", "/api/factory/pipelines/{pipeline_id}/retry"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/approve"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/rerun"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/resume"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/continue"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/plan/edits"): "201",
          ("POST", "/api/factory/pipelines/{pipeline_id}/plan/approve"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/change"): "201",
          ("POST", "/api/factory/pipelines/{pipeline_id}/change/build"): "202"}

# Routes that answer 200 besides their STATUS code.
ALSO_OK = {("POST", "/api/me/own-workspace"): "The caller already owns a workspace: that one, unchanged"}

# Further statuses each route answers (from the errors its code raises), so the document lists
# every status the API can send; the property test (tests/emulator/test_openapi_properties.py)
# fails on any status that is not documented here.
EXTRA = {
    ("POST", "/api/auth/signup"): {"409": "The email already has an account, or its signup is in progress"},
    ("GET", "/api/me"): {},
    ("POST", "/api/me/own-workspace"): {"409": "The workspace the account owns is being restored (reload)"},
    ("POST", "/api/me/invitations/{tenant_id}/accept"): {},
    ("POST", "/api/me/invitations/{tenant_id}/decline"): {},
    ("POST", "/api/team/invitations"): {"409": "Already a member"},
    ("PATCH", "/api/team/members/{uid}"): {"409": "The last owner cannot be demoted"},
    ("DELETE", "/api/team/invitations/{email*}"): {"404": "No pending invitation for that address"},
    ("DELETE", "/api/team/members/{uid}"): {"409": "The last owner cannot be removed"},
    ("POST", "/api/billing/checkout"): {"409": "A checkout is already open for this plan"},
    ("POST", "/api/ideas"): {"402": "No credits left; buy a plan", "409": "Idempotency-Key reused"},
    ("POST", "/api/factory/trigger"): {"402": "No credits left; buy a plan", "409": "Idempotency-Key reused"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/cancel"): {"409": "The run already finished"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/retry"): {
        "402": "The run's credit was refunded and no runs are left to run it again",
        "409": "Not failed, nothing to retry, or the run's budget is used up (send a larger budget)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/rerun"): {
        "400": "No such stage (code unknown_stage), or no Idempotency-Key",
        "402": "No credits left; buy a plan",
        "409": "The run has not finished (code not_finished), a stage before from_stage did not complete in it "
               "(code stage_not_eligible; details.eligible lists the stages it can restart at), or the "
               "Idempotency-Key was reused"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/resume"): {
        "409": "The run is not waiting for your input"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/continue"): {
        "409": "The run is not waiting for your input, or its budget is used up"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/approve"): {
        "409": "Not waiting for this approval, or the budget is used up"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/update"): {"409": "That stage attempt is not running"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/plan"): {
        "404": "No such run, or it has no plan to review (code plan_not_ready)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/plan/edits"): {
        "404": "No such run, or it has no plan to review (code plan_not_ready)",
        "409": "The run is not waiting for a plan review, or the plan is already approved",
        "422": "The edit would make the plan invalid (code plan_edit_invalid; details.problems in the founder's "
               "words); nothing changed"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/plan/undo"): {
        "404": "No such run, or it has no plan to review (code plan_not_ready)",
        "409": "Not in plan review, the plan is approved, or there is no edit to undo"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/plan/approve"): {
        "404": "No such run, or it has no plan to review (code plan_not_ready)",
        "409": "Not in plan review, the plan is already approved, the budget is used up, or the plan is a change of "
               "a built app (code change_builds_separately: build it with .../change/build)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/change"): {
        "409": "The run is not completed (not_completed), a change is already open (change_open), this version was "
               "already changed (change_built), or it stored no spec (no_spec)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/change/build"): {
        "400": "No Idempotency-Key",
        "402": "No credits left; buy a plan",
        "409": "No change is open (no_change_open), the change is empty (change_empty), or the Idempotency-Key "
               "was reused"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/versions"): {},
    ("GET", "/api/factory/pipelines/{pipeline_id}/versions/diff"): {
        "404": "No such run, or the app has no such version (version_not_found)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/preview/rollback"): {
        "400": "Not an earlier version than the preview's (not_an_earlier_version)",
        "404": "No such run, or the app has no such version (version_not_found)",
        "409": "The run has no local preview (not_a_preview), or a stored project is missing (no_artifacts)",
        "503": "The database did not downgrade or the older app did not start (rollback_failed)"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/artifacts/{name*}"): {
        "302": "Redirect to a short-lived signed URL of the artifact (production)",
        "502": "The stored artifact failed its integrity check (code artifact_integrity)"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/request-changes"): {
        "409": "Not waiting for an approval, or waiting for another stage's"},
    ("POST", "/api/factory/pipelines/{pipeline_id}/preview"): {
        "409": "Not deployed, not a local preview, still running (preview_running), or no stored project "
               "(no_artifacts)"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/project/files"): {
        "404": "No such run, or no project built yet (project_not_built)",
        "409": "The stored archive cannot be read",
        "502": "The stored archive failed its integrity check (code artifact_integrity)"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/project/files/{path*}"): {
        "404": "No such run, project or file", "409": "The stored archive cannot be read",
        "502": "The stored archive failed its integrity check (code artifact_integrity)"},
    ("GET", "/api/factory/pipelines/{pipeline_id}/claim"): {
        "403": "Only the workspace owner and the member who started the run may see the claim link",
        "404": "No such run, or its app is not deployed yet (code claim_not_ready)"},
}
# Documented aliases: the same handler under a second path, documented like its target and marked as an alias.
# `POST /api/orchestrate` is the name the product's first design used for submitting an idea.
ALIASES = {("POST", "/api/orchestrate"): ("POST", "/api/ideas")}
ID_PATTERN = r"^(?!__.*__$)[A-Za-z0-9_-]{1,128}$"
QUERIES = {("GET", "/api/factory/pipelines"): m_pipe.ListQuery,
           ("GET", "/api/factory/pipelines/{pipeline_id}/versions/diff"): m_pipe.VersionDiffQuery,
           ("GET", "/api/factory/pipelines/{pipeline_id}/logs"): m_pipe.LogsQuery}


def _query_schema(prop: dict) -> dict:
    """A query parameter's schema: an optional field is simply left out, so `null` is not a value."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    base = options[0] if len(options) == 1 else prop
    return {k: v for k, v in base.items() if k not in ("title", "default", "anyOf")} or {"type": "string"}


def _local_env() -> None:
    os.environ.setdefault("FACTORY_ENV", "local")
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "demo-factory")
    os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_openapi")
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_openapi_only")


def routers() -> dict[str, object]:
    _local_env()
    out = {}
    for fn in topology.FUNCTIONS:
        if fn.signature != "http" or not fn.public:
            continue
        path = ROOT / "functions" / fn.name / "main.py"
        spec = importlib.util.spec_from_file_location(f"fn_{fn.name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        out[fn.name] = mod.router
    return out


def _body_models() -> dict:
    try:
        from shared.models import billing as m_bill

        return {**BODIES, ("POST", "/api/billing/checkout"): m_bill.CheckoutCreate}
    except ImportError:
        return BODIES


def document() -> dict:
    schemas: dict = {}
    paths: dict = {}
    bodies = _body_models()
    error = {"$ref": "#/components/schemas/Error"}
    for fname, router in routers().items():
        for method, pattern, handler in router.patterns:
            if not pattern.startswith("/api/"):
                continue  # a service route (e.g. the scheduler's POST /reconcile): not behind the front door
            oa_path = re.sub(r"\{(\w+)\*\}", r"{\1}", pattern)
            alias_of = ALIASES.get((method, pattern))
            key = alias_of or (method, pattern)
            op = {
                "operationId": f"{fname}.{handler.__name__}" + (f"_{oa_path.rsplit('/', 1)[-1]}" if alias_of else ""),
                "summary": (handler.__doc__ or handler.__name__.replace("_", " ")).strip().splitlines()[0],
                "tags": [fname],
                "x-function": fname,
                "responses": {
                    STATUS.get(key, "200"): {"description": "OK"},
                    "400": {"description": "Bad input", "content": {"application/json": {"schema": error}}},
                    "404": {"description": "Not found (also: another tenant's resource)",
                            "content": {"application/json": {"schema": error}}},
                },
            }
            if key in ALSO_OK:
                op["responses"]["200"] = {"description": ALSO_OK[key]}
            if alias_of:
                op["x-alias-of"] = {"method": alias_of[0], "path": alias_of[1]}
                op["description"] = (f"Alias of `{alias_of[0]} {alias_of[1]}`: the same handler, request, responses "
                                     "and behaviour (credits, idempotency), under the name the first design used.")
            params = re.findall(r"\{(\w+)(\*?)\}", pattern)
            if params:
                # `{id}` segments are validated ids (400 invalid_id otherwise); `{name*}` is free text.
                op["parameters"] = [{"name": p, "in": "path", "required": True,
                                     "schema": {"type": "string", "minLength": 1} if star else
                                     {"type": "string", "pattern": ID_PATTERN, "maxLength": 128}}
                                    for p, star in params]
            if key in QUERIES:
                qs = QUERIES[key].model_json_schema()
                op.setdefault("parameters", []).extend(
                    {"name": name, "in": "query", "required": name in qs.get("required", []),
                     "schema": _query_schema(prop)} for name, prop in qs["properties"].items())
            for code, text in EXTRA.get(key, {}).items():
                op["responses"][code] = {"description": text, "content": {"application/json": {"schema": error}}}
            op["responses"]["503"] = {"description": "Temporarily unavailable; retry after Retry-After seconds",
                                      "content": {"application/json": {"schema": error}}}
            if key not in PUBLIC:
                op["security"] = [{"serviceToken": []}] if key in SERVICE else [{"firebaseIdToken": []}]
                op["responses"]["401"] = {"description": "Missing, malformed, expired or revoked token",
                                          "content": {"application/json": {"schema": error}}}
                op["responses"].setdefault("403", {"description": "Role not allowed",
                                                   "content": {"application/json": {"schema": error}}})
            model = bodies.get(key)
            if model is not None:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[model.__name__] = schema
                op["requestBody"] = {"required": bool(schema.get("required")), "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
                op["responses"]["415"] = {"description": "The body is not JSON",
                                          "content": {"application/json": {"schema": error}}}
            if key in (("POST", "/api/ideas"), ("POST", "/api/factory/trigger"),
                       ("POST", "/api/factory/pipelines/{pipeline_id}/rerun"),
                       ("POST", "/api/factory/pipelines/{pipeline_id}/change/build")):  # aliases included
                op.setdefault("parameters", []).append(
                    {"name": "Idempotency-Key", "in": "header", "required": True,
                     "description": "A new random value for each submission, the same value on a retry of it: "
                                    "a retry returns the run already paid for (decision 0033). Missing: 400 "
                                    "idempotency_key_required.",
                     "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
            op["responses"]["413"] = {"description": "Body over 64 KiB",
                                      "content": {"application/json": {"schema": error}}}
            paths.setdefault(oa_path, {})[method.lower()] = op
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "SaaS Factory API", "version": "1.0.0",
                 "description": "Every HTTP function of the SaaS Factory, behind Firebase Hosting rewrites."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": {
            "firebaseIdToken": {"type": "http", "scheme": "bearer", "bearerFormat": "Firebase ID token"},
            "serviceToken": {"type": "http", "scheme": "bearer",
                             "description": "Google-signed OIDC token of a factory service account"}}},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run `python -m infra.openapi`")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
