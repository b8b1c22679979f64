"""Checkout: the plans, the tenant's single Stripe customer, Checkout Sessions, and the billing view."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.cloud import firestore as gfs

from shared import auth, errors, log, plans
from shared.clients import firestore
from shared.models.billing import CheckoutCreate
from shared.settings import get_settings
from shared.store import Tenant, now

from .credits import tenant_lock, usable
from .records import LIVE_SUBSCRIPTION, RECENT_PAYMENTS, SUBSCRIPTION_GRACE, TX_ATTEMPTS, _dt, stripe_customer_doc

logger = log.get_logger("billing")




def _authorize_read(caller: auth.Caller) -> Tenant:
    return auth.authorize(caller, "read")


def _stripe_call(fn: Callable[[], Any]) -> Any:
    from shared import stripe_client

    try:
        return fn()
    except stripe_client.transient_types() as exc:
        raise stripe_client.unavailable(exc) from None


def list_plans(caller: auth.Caller) -> dict:
    _authorize_read(caller)
    ids = _stripe_call(plans.price_ids)
    return {"plans": [p.public(ids.get(p.name)) for p in plans.PLANS.values()]}


def ensure_customer(tenant: Tenant, caller: auth.Caller, billing: dict | None = None) -> str:
    """The tenant's Stripe customer, created exactly once.

    The creation parameters are fixed in the billing document first (one transaction), so every
    concurrent or retried request sends Stripe the same parameters with the same idempotency key
    (`customer-{tenant_id}`) and gets the same customer back; a second transaction records it once.
    """
    if billing and billing.get("stripe_customer_id"):
        return billing["stripe_customer_id"]
    with tenant_lock(tenant):
        return _ensure_customer(tenant, caller)


def _ensure_customer(tenant: Tenant, caller: auth.Caller) -> str:
    from shared import stripe_client

    db = firestore()
    ref = tenant.billing()

    @gfs.transactional
    def claim(tx):
        snap, tsnap = ref.get(transaction=tx), tenant.ref.get(transaction=tx)
        d = snap.to_dict() or {}
        if d.get("stripe_customer_id"):
            return d["stripe_customer_id"], None
        req = d.get("stripe_customer_request")
        if not req:
            req = customer_request(caller.email, tsnap.get("name") if tsnap.exists else None, tenant.tenant_id)
            tx.set(ref, {"stripe_customer_request": req, "updated_at": now()}, merge=True)
        return None, req

    existing, req = claim(db.transaction(max_attempts=TX_ATTEMPTS))
    if existing:
        return existing
    customer = _stripe_call(lambda: stripe_client.client().v1.customers.create(
        customer_params(req), {"idempotency_key": f"customer-{tenant.tenant_id}"}))
    mref = stripe_customer_doc(customer.id)

    @gfs.transactional
    def record(tx):
        d = ref.get(transaction=tx).to_dict() or {}
        if d.get("stripe_customer_id"):
            if d["stripe_customer_id"] != customer.id:
                log.event(logger, logging.ERROR, "a second Stripe customer for one tenant",
                          tenant_id=tenant.tenant_id, kept=d["stripe_customer_id"], extra=customer.id)
            return d["stripe_customer_id"]
        t = now()
        tx.set(ref, {"stripe_customer_id": customer.id, "updated_at": t}, merge=True)
        tx.set(mref, {"tenant_id": tenant.tenant_id, "customer_id": customer.id, "created_at": t})
        return customer.id

    return record(db.transaction(max_attempts=TX_ATTEMPTS))


def customer_request(email: str | None, name: str | None, tenant_id: str) -> dict:
    """What is fixed in the billing document before the customer is created (so retries send the same)."""
    return {"email": email, "name": name, "metadata": {"tenant_id": tenant_id}}


def customer_params(req: dict) -> dict:
    """POST /v1/customers (contract: emulator/stripe_fake/contract.json)."""
    return {k: v for k, v in req.items() if v}


def session_params(plan: plans.Plan, customer_id: str, tenant_id: str, uid: str, base: str, price_id: str) -> dict:
    """POST /v1/checkout/sessions for one plan (contract: emulator/stripe_fake/contract.json)."""
    metadata = {"tenant_id": tenant_id, "plan": plan.name, "uid": uid}
    params: dict[str, Any] = {
        "mode": plan.mode,
        "customer": customer_id,
        "client_reference_id": tenant_id,
        "metadata": metadata,
        "success_url": f"{base}/?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/?checkout=cancel",
        "line_items": [{"price": price_id, "quantity": 1}],
    }
    if plan.is_subscription:
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
    return params


def create_checkout(caller: auth.Caller, req: CheckoutCreate) -> dict:
    """A Stripe Checkout Session for one plan (owners only; the caller's token is checked for revocation)."""
    import stripe

    from shared import stripe_client

    tenant = auth.authorize(caller, "billing")
    plan = plans.get(req.plan)
    snap = tenant.billing().get()
    if not snap.exists:
        raise errors.NotFound("This workspace has no billing record.", code="billing_not_found")
    billing = snap.to_dict()
    if plan.is_subscription and billing.get("subscription_status") in LIVE_SUBSCRIPTION:
        raise errors.Conflict(
            f"This workspace already has a subscription ({billing.get('plan')}, status "
            f"{billing.get('subscription_status')}); buy a pack for more runs instead.",
            code="already_subscribed",
            details={"subscription_id": billing.get("subscription_id"), "plan": billing.get("plan")})
    customer_id = ensure_customer(tenant, caller, billing)
    base = get_settings().public_base_url.rstrip("/")

    def create():
        for attempt in (1, 2):
            price_id = plans.price_ids()[plan.name]
            try:
                return stripe_client.client().v1.checkout.sessions.create(
                    session_params(plan, customer_id, tenant.tenant_id, caller.uid, base, price_id))
            except stripe.InvalidRequestError as exc:
                # A cached price Stripe no longer knows (e.g. a reset fake): look it up again once.
                if attempt == 1 and getattr(exc, "code", None) == "resource_missing" and "price" in (
                        getattr(exc, "param", None) or ""):
                    plans.forget_price_ids()
                    continue
                raise

    session = _stripe_call(create)
    log.event(logger, logging.INFO, "checkout session created", tenant_id=tenant.tenant_id, plan=plan.name,
              session_id=session.id, customer_id=customer_id)
    return {"url": session.url, "session_id": session.id, "plan": plan.name, "mode": plan.mode,
            "customer_id": customer_id}


def billing_view(tenant_id: str, billing: dict, payments: list[dict], at: datetime) -> dict:
    """Pure: what GET /api/billing returns."""
    bal = usable(billing, at)
    credits, sub = bal["credits"], bal["subscription_credits"]
    end = _dt(billing.get("credits_period_end"))
    subscription = None
    if billing.get("subscription_id"):
        subscription = {"id": billing.get("subscription_id"), "status": billing.get("subscription_status"),
                        "cancel_at_period_end": bool(billing.get("cancel_at_period_end"))}
    return {
        "tenant_id": tenant_id,
        "plan": billing.get("plan"),
        "status": billing.get("status") or "none",
        "credits": credits,
        "subscription_credits": sub,
        "pack_credits": credits - sub,
        "period_end": billing.get("period_end"),
        "credits_expire_at": (end + SUBSCRIPTION_GRACE) if (end and sub) else None,
        "subscription": subscription,
        "can_run": credits > 0 and billing.get("status") != "past_due",
        "payments": [
            {k: p.get(k) for k in ("id", "kind", "plan", "status", "amount", "currency", "credits_granted",
                                   "credits_revoked", "amount_refunded", "created", "updated_at")}
            | {"credits_granted": int(p.get("credits_granted") or 0),
               "credits_revoked": int(p.get("credits_revoked") or 0),
               "amount_refunded": int(p.get("amount_refunded") or 0)}
            for p in payments
        ],
    }


def get_billing(caller: auth.Caller) -> dict:
    tenant = _authorize_read(caller)
    snap = tenant.billing().get()
    if not snap.exists:
        raise errors.NotFound("This workspace has no billing record.", code="billing_not_found")
    q = tenant.collection("payments").order_by("created", direction=gfs.Query.DESCENDING).limit(RECENT_PAYMENTS)
    payments = [d.to_dict() for d in q.stream()]
    return billing_view(tenant.tenant_id, snap.to_dict(), payments, now())
