"""Billing records shared by the credits, checkout and webhook modules: constants, the global
server-only documents (`stripe_events`, `stripe_customers`) and small converters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.clients import firestore

WEBHOOK_TOLERANCE_S = 300
# Subscription credits stay usable this long after their period ends, to cover the time Stripe
# takes to renew and deliver `invoice.paid`; a failed renewal makes the status past_due sooner.
SUBSCRIPTION_GRACE = timedelta(hours=24)
RECENT_PAYMENTS = 10
TX_ATTEMPTS = 25

BUY_MORE = "POST /api/billing/checkout with a plan from GET /api/billing/plans"

# Subscription statuses: ties between events of the same second go to the stronger state.
RANK = {"incomplete": 0, "trialing": 1, "active": 1, "past_due": 2, "unpaid": 2, "paused": 2,
        "canceled": 3, "incomplete_expired": 3}
TERMINAL = frozenset({"canceled", "incomplete_expired"})
BILLING_STATUS = {"incomplete": "incomplete", "trialing": "active", "active": "active", "past_due": "past_due",
                  "unpaid": "past_due", "paused": "past_due", "canceled": "canceled",
                  "incomplete_expired": "canceled"}
LIVE_SUBSCRIPTION = frozenset({"active", "trialing", "past_due", "unpaid"})
PAYMENT_RANK = {"pending": 0, "failed": 1, "paid": 2, "partially_refunded": 3, "refunded": 4}


# ------------------------------------------------------------------------------------ documents


def stripe_event_doc(event_id: str):
    """Global, server-only: one per processed Stripe event (idempotency)."""
    return firestore().collection("stripe_events").document(event_id)


def stripe_customer_doc(customer_id: str):
    """Global, server-only: Stripe customer id -> tenant id."""
    return firestore().collection("stripe_customers").document(customer_id)


def _dt(ts: Any) -> datetime | None:
    if ts is None or ts == "":
        return None
    if isinstance(ts, datetime):
        return ts
    return datetime.fromtimestamp(int(ts), tz=UTC)


def _id(x: Any) -> str | None:
    """An id field that may be expanded into an object."""
    if isinstance(x, dict):
        return x.get("id")
    return x or None
