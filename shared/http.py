"""The HTTP boundary: routing inside a function, body limits, JSON parsing, and error translation.

Entry points stay thin: they hand the flask request to a `Router`, whose handlers are plain
functions taking a `Call` (parsed request + lazily verified caller) and returning data.
Errors are translated here and only here: `AppError` -> 4xx `{"error": {code, message, details}}`,
anything else -> logged with its trace and answered with an opaque 500.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask
import werkzeug.routing
from pydantic import BaseModel, ValidationError

from shared import errors, log

MAX_BODY_BYTES = 64 * 1024
# Deepest nesting of objects/arrays a body may have. Checked on the raw bytes before parsing, so
# a body nested thousands of levels deep is a 400, never a RecursionError inside the parser.
MAX_JSON_DEPTH = 32

# functions-framework routes every path through Flask's catch-all rule `/<path:path>`, whose converter does not
# match a newline: a path with an encoded newline (%0A) got Flask's HTML 404 instead of reaching the Router and its
# JSON errors. Let the converter match any character, so every path is answered in the API's error shape. (Loaded
# with the function's module, before functions-framework adds its rules.)
werkzeug.routing.PathConverter.regex = "[^/](?s:.*?)"

logger = log.get_logger("http")
M = TypeVar("M", bound=BaseModel)


def json_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a JSON text (brackets outside strings), scanning at most to `limit` + 1."""
    depth = deepest = 0
    in_str = escaped = False
    for b in raw:
        if in_str:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:  # quote
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif b in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def validation_details(exc: ValidationError) -> list[dict]:
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in e["loc"]) or "body"
        out.append({"field": loc, "message": e["msg"], "type": e["type"]})
    return out


@dataclass
class Call:
    """One request as handlers see it."""

    request: flask.Request
    params: dict[str, str]
    _caller: Any = None
    _body: Any = field(default=None)
    _body_read: bool = False

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self):
        return self.request.headers

    @property
    def args(self):
        return self.request.args

    def raw_body(self) -> bytes:
        return self.request.get_data(cache=True)

    def json(self) -> Any:
        if not self._body_read:
            raw = self.raw_body()
            if not raw.strip():
                self._body = {}
            else:
                ctype = self.request.mimetype or ""
                if ctype and ctype != "application/json" and not ctype.endswith("+json"):
                    raise errors.UnsupportedMediaType(
                        "Send the body as JSON with Content-Type: application/json.",
                        details={"content_type": ctype},
                    )
                if json_depth(raw) > MAX_JSON_DEPTH:
                    raise errors.BadRequest(
                        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; flatten it.",
                        code="json_too_deep", details={"max_depth": MAX_JSON_DEPTH},
                    )
                try:
                    self._body = json.loads(raw)
                except RecursionError:
                    raise errors.BadRequest(
                        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; flatten it.",
                        code="json_too_deep", details={"max_depth": MAX_JSON_DEPTH},
                    ) from None
                except (ValueError, UnicodeDecodeError) as exc:
                    raise errors.BadRequest(
                        "The request body is not valid JSON; check quotes and commas.",
                        code="malformed_json",
                        details={"position": getattr(exc, "pos", None)},
                    ) from None
            self._body_read = True
        return self._body

    def model(self, cls: type[M]) -> M:
        body = self.json()
        if not isinstance(body, dict):
            raise errors.ValidationFailed(
                "The request body must be a JSON object.", details=[{"field": "body", "message": "expected an object"}]
            )
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            details = validation_details(exc)
            fields = ", ".join(sorted({d["field"] for d in details}))
            raise errors.ValidationFailed(f"Some fields are missing or invalid: {fields}.", details=details) from None

    def query_model(self, cls: type[M]) -> M:
        try:
            return cls.model_validate(self.request.args.to_dict())
        except ValidationError as exc:
            raise errors.ValidationFailed("Some query parameters are invalid.", details=validation_details(exc)) from None

    @property
    def caller(self):
        """The verified user behind the bearer token (401 when absent or invalid)."""
        if self._caller is None:
            from shared import auth

            self._caller = auth.caller_from_request(self.request, check_revoked=False)
        return self._caller

    def caller_checked_revoked(self):
        """As `caller`, but also checks revocation: use where money or deletion is involved."""
        from shared import auth

        self._caller = auth.caller_from_request(self.request, check_revoked=True)
        return self._caller


Handler = Callable[[Call], Any]


@dataclass
class Response:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


IDEMPOTENCY_HEADER = "Idempotency-Key"


def require_idempotency_key(headers) -> str:
    """The request's Idempotency-Key, required on every route that spends a credit (decision 0033):
    a client whose connection drops before the answer retries with the same key and finds the run it
    paid for, instead of paying twice or never learning its id."""
    key = headers.get(IDEMPOTENCY_HEADER)
    if key is None or key == "":
        raise errors.BadRequest(
            "Send an Idempotency-Key header: a new random value (a UUID, say) for each submission, and the same "
            "value again when you retry it, so a retry after a lost answer returns the run you paid for.",
            code="idempotency_key_required", details={"header": IDEMPOTENCY_HEADER})
    if not 1 <= len(key) <= 255:
        raise errors.BadRequest("Idempotency-Key must be 1-255 characters.", code="invalid_idempotency_key")
    return key


def check_path_ids(params: dict[str, str], id_params: tuple[str, ...]) -> None:
    """Every id named in a path is validated before a handler (and Firestore) sees it."""
    from shared.store import valid_id

    for name in id_params:
        if not valid_id(params.get(name)):
            raise errors.BadRequest(
                f"The {name} in the path is not a valid id: ids are 1-128 letters, digits, '_' or '-'.",
                code="invalid_id", details={"param": name},
            )


def store_unavailable() -> tuple[type[BaseException], ...]:
    """Errors meaning a backing service (Firestore, Pub/Sub, Tasks) did not answer within its
    deadline (shared/clients.py bounds every call): the request gets 503 with Retry-After."""
    from google.api_core import exceptions as gexc

    return (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError)


class Router:
    def __init__(self, name: str):
        self.name = name
        self._routes: list[tuple[str, re.Pattern, Handler]] = []
        self._id_params: dict[Handler, tuple[str, ...]] = {}
        self.patterns: list[tuple[str, str, Handler]] = []  # (method, pattern, handler), for the OpenAPI doc

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        # {name} matches one path segment; {name*} matches the rest of the path.
        body = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", pattern.rstrip("/"))
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", body) + "/?$")

        def deco(fn: Handler) -> Handler:
            # `{name}` segments are ids (validated); `{name*}` tails are free-form (e.g. artifact names).
            self._id_params[fn] = tuple(re.findall(r"\{(\w+)\}", pattern))
            self._routes.append((method.upper(), regex, fn))
            self.patterns.append((method.upper(), pattern, fn))
            return fn

        return deco

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = []
        for m, regex, fn in self._routes:
            hit = regex.match(path)
            if hit:
                if m == method:
                    return fn, hit.groupdict()
                allowed.append(m)
        if allowed:
            raise errors.MethodNotAllowed(
                f"{method} is not supported here; use {', '.join(sorted(set(allowed)))}.",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise errors.NotFound(f"No route for {method} {path}.", code="route_not_found")

    def __call__(self, request: flask.Request) -> flask.Response:
        return self.dispatch(request)

    def dispatch(self, request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        trace, span = log.trace_from_headers(request.headers)
        token = log.bind(trace=trace or uuid.uuid4().hex, span_id=span, function=self.name)
        status = 500
        try:
            if request.method == "OPTIONS":
                status = 204
                return flask.Response(status=204)
            length = request.content_length
            if length is not None and length > MAX_BODY_BYTES:
                raise errors.PayloadTooLarge(
                    f"The request body is {length} bytes; the limit is {MAX_BODY_BYTES} bytes.",
                    details={"limit": MAX_BODY_BYTES},
                )
            if length is None and request.method in ("POST", "PUT", "PATCH"):
                # Chunked bodies: read at most one byte past the limit.
                data = request.stream.read(MAX_BODY_BYTES + 1)
                if len(data) > MAX_BODY_BYTES:
                    raise errors.PayloadTooLarge(
                        f"The request body is over the limit of {MAX_BODY_BYTES} bytes.",
                        details={"limit": MAX_BODY_BYTES},
                    )
                request._cached_data = data  # type: ignore[attr-defined]
            handler, params = self._match(request.method, request.path)
            check_path_ids(params, self._id_params.get(handler, ()))
            result = handler(Call(request, params))
            if isinstance(result, flask.Response):
                status = result.status_code
                return result
            if not isinstance(result, Response):
                result = Response(result)
            status = result.status
            resp = flask.Response(
                json.dumps(result.body, default=str, separators=(",", ":")),
                status=result.status,
                mimetype="application/json",
                headers=result.headers,
            )
            return resp
        except errors.AppError as exc:
            status = exc.status
            log.event(logger, logging.INFO, "request refused", code=exc.code, status=exc.status,
                      path=request.path, method=request.method)
            return flask.Response(json.dumps(exc.body()), status=exc.status, mimetype="application/json",
                                  headers=exc.headers)
        except (errors.TransientError, *store_unavailable()) as exc:
            status = 503
            log.event(logger, logging.WARNING, "transient failure", error=str(exc), path=request.path)
            body = {"error": {"code": "temporarily_unavailable",
                              "message": "The service is busy; retry this request in a second.", "details": None}}
            return flask.Response(json.dumps(body), status=503, mimetype="application/json",
                                  headers={"Retry-After": "1"})
        except Exception:  # noqa: BLE001 - the one place unexpected errors become an opaque 500
            status = 500
            ref = uuid.uuid4().hex[:12]
            logger.exception("unhandled error", extra={"fields": {"ref": ref, "path": request.path}})
            body = {"error": {"code": "internal", "message": f"Something went wrong on our side (reference {ref}). Try again; if it persists, contact support with the reference.", "details": None}}
            return flask.Response(json.dumps(body), status=500, mimetype="application/json")
        finally:
            log.event(logger, logging.DEBUG, "request", method=request.method, path=request.path,
                      status=status, ms=round((time.perf_counter() - started) * 1000, 2))
            log.reset(token)
