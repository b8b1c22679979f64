"""One error type with codes, translated once at the boundary.

For /api/* paths an error is JSON `{"error": {"code", "message", "details"}}`; pages get an HTML error
page (and a sign-in redirect for 401). Anything unexpected is logged and returned as an opaque 500.

A write that lost a race inside the database is a 409 `conflict` ("try again"), not a 500: on Postgres an
exclusion constraint that refused it (a booking overlapping one committed a moment earlier: the constraint is the
guarantee behind the app's own check), a serialization failure, a deadlock or a lock not available; on SQLite a
database that stayed locked.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Postgres SQLSTATEs of a write that lost a race: exclusion violation, serialization failure, deadlock, lock not
# available
RACE_STATES = ("23P01", "40001", "40P01", "55P03")
HTTP_CODES = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type",
              429: "too_many_requests"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}  # e.g. Retry-After on a 429


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/health"


def _respond(err: ApiError):
    if wants_json():
        body = {"error": {"code": err.code, "message": err.message, "details": err.details}}
        return jsonify(body), err.status, err.headers
    if err.status == 401:
        return redirect(url_for("auth.login_page", next=request.full_path.rstrip("?")))
    return render_template("error.html", error=err), err.status, err.headers


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return _respond(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        messages = {404: "Nothing is here. Check the address.",
                    405: f"{request.method} is not allowed here.",
                    413: "The upload is too large."}
        return _respond(ApiError(status, HTTP_CODES.get(status, "error"),
                                 messages.get(status, exc.description or "The request could not be handled.")))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _respond(ApiError(500, "internal", "Something went wrong on our side; please try again."))

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        if lost_a_race(exc):
            log.info("a write lost a race on %s %s: %s", request.method, request.path, exc.orig.__class__.__name__)
            return _respond(ApiError(409, "conflict", "Another change was saved at the same moment and this one "
                                                      "conflicts with it; reload and try again."))
        return _unexpected(exc)


def lost_a_race(exc: DBAPIError) -> bool:
    """Whether the database refused a write because of a concurrent one (see the module's docstring)."""
    return getattr(exc.orig, "sqlstate", None) in RACE_STATES or "database is locked" in str(exc.orig).lower()
