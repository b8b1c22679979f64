"""Stripe-shaped API errors."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An error rendered as Stripe's ``{"error": {...}}`` body.

    ``save_idempotent=False`` marks errors raised before the endpoint "started
    executing" (parameter validation); like Stripe, their result is not stored
    under the request's Idempotency-Key."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict | None = None,
        save_idempotent: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.save_idempotent = save_idempotent

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = "https://stripe.com/docs/error-codes/{}".format(
                self.code.replace("_", "-")
            )
        if self.param is not None:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


def no_such(
    noun: str, obj_id: str, param: str | None = "id", status: int = 404
) -> StripeError:
    return StripeError(
        status,
        f"No such {noun}: '{obj_id}'",
        code="resource_missing",
        param=param,
    )
