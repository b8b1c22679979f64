import json

from infra import openapi


def test_committed_openapi_document_is_current():
    assert openapi.OUT.read_text() == openapi.render(), "run `python -m infra.openapi` and commit the result"


def test_every_route_of_every_http_function_is_documented():
    doc = json.loads(openapi.OUT.read_text())
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routes = set()
    for router in openapi.routers().values():
        for method, pattern, _ in router.patterns:
            routes.add((method, pattern.replace("*}", "}")))
    # every route the front door serves (/api/...); service routes outside /api (the scheduler's POST
    # /reconcile) are reached only by their service identity and are not part of the published API
    assert {r for r in routes if r[1].startswith("/api/")} == documented
    assert ("POST", "/reconcile") in routes and ("POST", "/reconcile") not in documented
    assert {"/api/auth/signup", "/api/ideas", "/api/factory/pipelines/{pipeline_id}/retry",
            "/api/stripe/webhook", "/api/openapi.json"} <= {p for _, p in routes}
    ideas = doc["paths"]["/api/ideas"]["post"]
    assert "402" in ideas["responses"] and ideas["requestBody"]
    assert doc["components"]["schemas"]["IdeaCreate"]["properties"]["title"]["maxLength"] == 120


def test_orchestrate_is_documented_as_an_alias_of_idea_intake():
    doc = json.loads(openapi.OUT.read_text())
    alias, target = doc["paths"]["/api/orchestrate"]["post"], doc["paths"]["/api/ideas"]["post"]
    assert alias["x-alias-of"] == {"method": "POST", "path": "/api/ideas"} and "x-alias-of" not in target
    assert alias["operationId"] != target["operationId"]
    for same in ("requestBody", "responses", "parameters", "security", "x-function"):
        assert alias[same] == target[same], same
