"""Stripe webhook (HTTPS, no user auth): verifies the signature on the raw body, then applies the event once.
Also the scheduled Stripe reconciler (POST /reconcile, service identity only: shared/billing/reconcile.py).

Answers 200 only once the event's effect is committed (or it is a duplicate / not ours); any failure
raises, becomes a 5xx at the HTTP boundary, and Stripe delivers the event again.
"""

import functions_framework

from shared import auth
from shared.billing import reconcile as money
from shared.billing import webhook as core
from shared.http import Router
from shared.settings import get_settings

settings = get_settings()
settings.require("stripe_webhook_secret", "stripe_secret_key")  # a missing secret stops the function starting
_SECRET = settings.stripe_webhook_secret.get_secret_value()  # type: ignore[union-attr]
router = Router("stripe_webhook")


@router.route("POST", "/api/stripe/webhook")
def receive(call):
    event = core.verify_webhook(call.raw_body(), call.headers.get("Stripe-Signature"), _SECRET)
    outcome = core.handle_event(event)
    return {"received": True, "event_id": event["id"], "outcome": outcome}


@router.route("POST", "/reconcile")
def reconcile(call):
    """Cloud Scheduler (the local scheduler locally): re-apply paid Stripe objects whose grant is missing."""
    auth.require_service(call.request, "stripe_webhook")
    return money.reconcile()


@functions_framework.http
def stripe_webhook(request):
    return router(request)
