"""The error model at the boundary, through a real functions-framework app."""

import json
import logging

import functions_framework
import pytest
from pydantic import BaseModel, Field

from shared import errors
from shared.http import MAX_BODY_BYTES, Router


class Thing(BaseModel):
    name: str = Field(min_length=3)
    count: int


router = Router("unit")


@router.route("POST", "/api/things")
def create(call):
    thing = call.model(Thing)
    return {"name": thing.name, "count": thing.count}


@router.route("GET", "/api/things/{thing_id}")
def get(call):
    if call.params["thing_id"] == "missing":
        raise errors.NotFound("No such thing.")
    if call.params["thing_id"] == "boom":
        raise RuntimeError("database password is hunter2")
    return {"id": call.params["thing_id"]}


@pytest.fixture
def client(tmp_path):
    src = tmp_path / "main.py"
    src.write_text(
        "import functions_framework\n"
        "from tests.unit.test_http_boundary import router\n"
        "@functions_framework.http\n"
        "def entry(request):\n    return router(request)\n"
    )
    return functions_framework.create_app("entry", str(src), "http").test_client()


def test_ok_and_path_params(client):
    r = client.post("/api/things", json={"name": "abc", "count": 2})
    assert r.status_code == 200 and r.get_json() == {"name": "abc", "count": 2}
    assert client.get("/api/things/x1").get_json() == {"id": "x1"}


def test_malformed_json_is_400_with_code(client):
    r = client.post("/api/things", data=b'{"name": ', content_type="application/json")
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "malformed_json"


def test_validation_errors_name_fields(client):
    r = client.post("/api/things", json={"name": "a"})
    body = r.get_json()["error"]
    assert r.status_code == 400 and body["code"] == "validation_failed"
    assert {d["field"] for d in body["details"]} == {"name", "count"}
    assert "name" in body["message"] and "count" in body["message"]


def test_body_over_limit_is_413(client):
    r = client.post("/api/things", data=b"{" + b" " * MAX_BODY_BYTES + b"}", content_type="application/json")
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "payload_too_large"


def test_not_found_and_method_not_allowed(client):
    assert client.get("/api/things/missing").status_code == 404
    r = client.delete("/api/things/x")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert client.get("/api/nothing").get_json()["error"]["code"] == "route_not_found"


def test_unexpected_error_is_opaque_500_and_logged(client, caplog):
    with caplog.at_level(logging.ERROR):
        r = client.get("/api/things/boom")
    assert r.status_code == 500
    text = r.get_data(as_text=True)
    assert "hunter2" not in text and "RuntimeError" not in text
    assert r.get_json()["error"]["code"] == "internal"
    assert any(rec.exc_info for rec in caplog.records), "the trace is logged"


def test_json_log_lines_have_severity():
    from shared.log import JsonFormatter

    rec = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("there",), None)
    rec.fields = {"pipeline_id": "p1"}
    line = json.loads(JsonFormatter().format(rec))
    assert line["severity"] == "WARNING" and line["message"] == "hello there" and line["pipeline_id"] == "p1"


def test_log_lines_carry_the_trace_cloud_logging_correlates(monkeypatch):
    from shared import log

    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "saas-factory-prod")
    trace = "0af7651916cd43dd8448eb211c80319c"
    assert log.trace_from_headers({"X-Cloud-Trace-Context": f"{trace.upper()}/1234;o=1"}) == (trace, f"{1234:016x}")
    assert log.trace_from_headers({"traceparent": f"00-{trace}-b7ad6b7169203331-01"}) == (trace, "b7ad6b7169203331")
    for bad in ({"X-Cloud-Trace-Context": 'x"}, "severity": "CRITICAL'}, {"traceparent": "00-" + "0" * 32 + "-1-01"}, {}):
        assert log.trace_from_headers(bad) == (None, None)
    token = log.bind(trace=trace, span_id="b7ad6b7169203331")
    try:
        rec = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
        line = json.loads(log.JsonFormatter().format(rec))
    finally:
        log.reset(token)
    assert line["logging.googleapis.com/trace"] == f"projects/saas-factory-prod/traces/{trace}"
    assert line["logging.googleapis.com/spanId"] == "b7ad6b7169203331"


def test_log_level_follows_LOG_LEVEL(monkeypatch):
    from shared import log

    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert log.level_from_env() == (logging.WARNING, None)
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    level, problem = log.level_from_env()
    assert level == logging.INFO and "LOUD" in problem
    monkeypatch.delenv("LOG_LEVEL")
    assert log.level_from_env() == (logging.INFO, None)


def test_a_path_with_an_encoded_newline_reaches_the_router_and_gets_a_json_error(client):
    """Flask's catch-all converter does not match a newline: without shared.http's converter change the answer
    was Flask's HTML 404 (the OpenAPI property test found it)."""
    r = client.get("/api/things/a%0Ab")
    assert r.status_code == 400 and r.is_json and r.get_json()["error"]["code"], r.data[:200]  # the router refuses it
    r = client.get("/api/nothing%0Ahere")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "route_not_found"
