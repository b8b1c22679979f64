"""The Stripe client: created lazily, once per process (never at import: functions are forked).

Locally `STRIPE_API_BASE` points it at the Stripe fake (emulator/stripe_fake); unset, the same
code talks to Stripe itself with whatever key is configured (`sk_test_...` for test mode).
Production settings refuse `STRIPE_API_BASE`, so a fake can never stand in for Stripe there.
"""

from __future__ import annotations

import functools

from shared import errors
from shared.settings import get_settings

TIMEOUT_S = 20.0
NETWORK_RETRIES = 2  # the library retries connection errors and 409/429/5xx with the same idempotency key


@functools.lru_cache(maxsize=1)
def client():
    import stripe

    s = get_settings()
    s.require("stripe_secret_key")
    kwargs = {}
    if s.stripe_api_base:
        kwargs["base_addresses"] = {"api": s.stripe_api_base}
    return stripe.StripeClient(
        s.stripe_secret_key.get_secret_value(),  # type: ignore[union-attr]
        http_client=stripe.RequestsClient(timeout=TIMEOUT_S),
        max_network_retries=NETWORK_RETRIES,
        **kwargs,
    )


def unavailable(exc: Exception) -> errors.AppError:
    """What a caller sees when Stripe cannot be reached (a 503 it may retry)."""
    return errors.AppError(
        "The payment provider is not reachable right now; try again in a minute.",
        code="payment_provider_unavailable",
        status=503,
        details={"error": type(exc).__name__},
        headers={"Retry-After": "30"},
    )


def transient_types() -> tuple[type[Exception], ...]:
    import stripe

    return (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
