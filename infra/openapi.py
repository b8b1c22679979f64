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
    ("POST", "/api/ideas"): m_pipe.IdeaCreate,
    ("POST", "/api/factory/trigger"): m_pipe.TriggerCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/approve"): m_pipe.ApproveCreate,
    ("POST", "/api/factory/pipelines/{pipeline_id}/retry"): m_pipe.RetryCreate,
    ("POST", "/api/me/workspace"): m_acc.WorkspaceSwitch,
    ("POST", "/api/factory/pipelines/{pipeline_id}/update"): m_pipe.ProgressUpdate,
}
PUBLIC = {("POST", "/api/auth/signup"), ("POST", "/api/stripe/webhook"), ("GET", "/api/openapi.json")}
SERVICE = {("POST", "/api/factory/pipelines/{pipeline_id}/update")}
STATUS = {("POST", "/api/auth/signup"): "201", ("POST", "/api/team/invitations"): "201",
          ("POST", "/api/billing/checkout"): "201", ("POST", "/api/ideas"): "202",
          ("POST", "/api/factory/trigger"): "202", ("POST", "/api/factory/pipelines/{pipeline_id}/retry"): "202",
          ("POST", "/api/factory/pipelines/{pipeline_id}/approve"): "202"}


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
            oa_path = re.sub(r"\{(\w+)\*\}", r"{\1}", pattern)
            key = (method, pattern)
            op = {
                "operationId": f"{fname}.{handler.__name__}",
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
            params = re.findall(r"\{(\w+)\*?\}", pattern)
            if params:
                op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for p in params]
            if key not in PUBLIC:
                op["security"] = [{"serviceToken": []}] if key in SERVICE else [{"firebaseIdToken": []}]
                op["responses"]["401"] = {"description": "Missing, malformed, expired or revoked token",
                                          "content": {"application/json": {"schema": error}}}
                op["responses"]["403"] = {"description": "Role not allowed",
                                          "content": {"application/json": {"schema": error}}}
            model = bodies.get(key)
            if model is not None:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[model.__name__] = schema
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
            if key == ("POST", "/api/ideas"):
                op["responses"]["402"] = {"description": "No credits left; buy a plan",
                                          "content": {"application/json": {"schema": error}}}
                op["parameters"] = [{"name": "Idempotency-Key", "in": "header", "required": False,
                                     "schema": {"type": "string", "maxLength": 255}}]
            op["responses"]["413"] = {"description": "Body over 64 KiB"}
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
