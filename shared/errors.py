"""One error type with codes. Raised anywhere, translated once at the HTTP boundary."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class ValidationFailed(AppError):
    status, code = 400, "validation_failed"


class Unauthenticated(AppError):
    status, code = 401, "unauthenticated"


class PaymentRequired(AppError):
    status, code = 402, "payment_required"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class MethodNotAllowed(AppError):
    status, code = 405, "method_not_allowed"


class Conflict(AppError):
    status, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(AppError):
    status, code = 429, "too_many_requests"


class TransientError(Exception):
    """Something a retry can fix (emulator/network hiccup). Event handlers raise it to be redelivered."""


class PermanentError(Exception):
    """Something a retry cannot fix. Event handlers record it and acknowledge the message."""
