"""Money reconciled with Stripe: the scheduled pass beside the webhook (issue 23, decision 0034).

A webhook can be acknowledged and its effect still be lost: the local Firestore restarts from an
export older than the grant, or (in production) a restore from a backup. Stripe remains the record
of what was paid, so every few minutes (Cloud Scheduler -> `stripe_webhook` /reconcile; the local
scheduler locally) this lists the recent complete Checkout Sessions and paid invoices and re-applies
each paid one whose grant (`tenants/{t}/grants/{payment}`) is missing, as a synthetic event of the
same type through the webhook's own `handle_event`: the same reducer, the same transaction, the
same per-payment grant key, so a payment is never granted twice however often this runs and
whichever of the webhook and the reconciler comes first.

A tenant whose billing document is missing too is skipped ("waiting_for_account"): its account is
rolled forward at its next sign-in (shared/accounts.py), and a later pass grants.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from shared import log
from shared.store import Tenant

from . import webhook

logger = log.get_logger("billing.reconcile")

WINDOW_S = 3 * 24 * 3600  # sessions complete within 24 h of creation; async payments settle within days
PAGE = 100


def as_event(etype: str, obj: dict) -> dict:
    """A Stripe-shaped event for `obj`, with an id of its own (`evt_reconcile_<object id>`) so the
    webhook's event ledger never mistakes it for Stripe's event."""
    return {"id": f"evt_reconcile_{obj['id']}", "object": "event", "type": etype, "created": int(obj["created"]),
            "livemode": bool(obj.get("livemode")), "api_version": None, "data": {"object": obj},
            "request": {"id": None, "idempotency_key": None}}


def paid_events(sessions: Iterable[dict], invoices: Iterable[dict]) -> list[dict]:
    """Pure: the events that would grant, for paid one-off Checkout Sessions (packs) and paid
    subscription invoices (subscription sessions grant nothing themselves: their invoice does)."""
    out = []
    for s in sessions:
        if (s.get("status") == "complete" and s.get("mode") == "payment"
                and s.get("payment_status") in ("paid", "no_payment_required")):
            out.append(as_event("checkout.session.completed", s))
    for inv in invoices:
        if inv.get("status") == "paid" and webhook._invoice_subscription(inv):
            out.append(as_event("invoice.paid", inv))
    return out


def grant_path(event: dict) -> tuple[str, ...] | None:
    """Where the grant of this event's payment lives under its tenant (the reducer's own key)."""
    reads = webhook.HANDLERS[event["type"]].reads(event, event["data"]["object"])
    path = reads.get("grant")
    return path if path and all(path) else None


def session_list_params(since: int) -> dict:
    """GET /v1/checkout/sessions (contract: emulator/stripe_fake/contract.json)."""
    return {"created": {"gte": since}, "status": "complete", "limit": PAGE}


def invoice_list_params(since: int) -> dict:
    """GET /v1/invoices."""
    return {"created": {"gte": since}, "status": "paid", "limit": PAGE}


def list_recent(window_s: float = WINDOW_S) -> tuple[list[dict], list[dict]]:
    """Complete Checkout Sessions and paid invoices created in the window, every page."""
    from shared import stripe_client

    client = stripe_client.client()
    since = int(time.time() - window_s)
    sessions = client.v1.checkout.sessions.list(session_list_params(since))
    invoices = client.v1.invoices.list(invoice_list_params(since))
    return ([s.to_dict() for s in sessions.auto_paging_iter()],
            [i.to_dict() for i in invoices.auto_paging_iter()])


def reconcile(window_s: float = WINDOW_S) -> dict:
    """One pass: counts of what was checked, found missing, re-applied, or left for later."""
    from shared.clients import firestore

    started = time.perf_counter()
    sessions, invoices = list_recent(window_s)
    counts = {"checked": 0, "missing": 0, "reapplied": 0, "waiting_for_account": 0, "unknown_tenant": 0}
    todo: list[tuple[dict, Tenant, tuple[str, ...]]] = []
    for event in paid_events(sessions, invoices):
        counts["checked"] += 1
        path = grant_path(event)
        obj = event["data"]["object"]
        if path is None or not all(webhook.storable_id(p) for p in path[1:]):
            continue
        tenant_id = webhook.resolve_tenant(obj)
        if tenant_id is None:
            counts["unknown_tenant"] += 1
            continue
        todo.append((event, Tenant(tenant_id), path))
    if not todo:
        return counts
    refs = [t.doc(*path) for _, t, path in todo] + list({t.tenant_id: t.billing() for _, t, _ in todo}.values())
    exists = {snap.reference.path: snap.exists for snap in firestore().get_all(refs)}
    for event, tenant, path in todo:
        if exists[tenant.doc(*path).path]:
            continue
        counts["missing"] += 1
        if not exists[tenant.billing().path]:
            counts["waiting_for_account"] += 1
            continue
        outcome = webhook.handle_event(event)
        if outcome == "granted" or outcome.startswith("recorded_without_credits"):
            counts["reapplied"] += 1
        log.event(logger, logging.WARNING, "paid Stripe object had no grant; re-applied through the webhook reducer",
                  tenant_id=tenant.tenant_id, object_id=event["data"]["object"]["id"], type=event["type"],
                  outcome=outcome)
    counts["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return counts
