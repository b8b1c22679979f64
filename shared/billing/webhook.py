"""The Stripe webhook: verify the signature on the raw body, then apply the event exactly once.

* Idempotency: each event id is recorded in `stripe_events/{event_id}` in the SAME transaction
  that applies its effect, so a redelivered event is acknowledged and changes nothing.
* Each payment grants once, whichever event reports it first: grants are keyed by the payment
  (`tenants/{t}/grants/{payment_intent | invoice | session id}`).
* Order does not matter: subscription state is decided per subscription by the event's `created`
  (ties: the stronger state wins), and a terminal state (canceled) is never left.
* Refunds revoke only the unused part of the refunded share of a grant; a refund that arrives
  before its grant is kept in `tenants/{t}/refunds/{payment_intent}` and applied when it lands.

The reducers (`_on_*`) are pure functions of the documents read and the event, so they are unit
tested without Firestore; `handle_event` runs one of them inside a transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.cloud import firestore as gfs

from shared import errors, log, plans
from shared.clients import firestore
from shared.store import Tenant, now

from .credits import tenant_lock
from .records import (
    BILLING_STATUS,
    PAYMENT_RANK,
    RANK,
    TERMINAL,
    TX_ATTEMPTS,
    WEBHOOK_TOLERANCE_S,
    _dt,
    _id,
    stripe_customer_doc,
    stripe_event_doc,
)

logger = log.get_logger("billing")


# ------------------------------------------------------------------------------------ webhook: verification


def signature_timestamp(header: str) -> int | None:
    for part in header.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def check_timestamp(ts: int | None, at: float, tolerance: int = WEBHOOK_TOLERANCE_S) -> None:
    """Refuse signatures older than `tolerance` seconds AND ones more than `tolerance` in the future
    (the library checks only the past)."""
    if ts is None:
        raise errors.BadRequest("The Stripe-Signature header has no timestamp.", code="invalid_signature")
    if abs(at - ts) > tolerance:
        raise errors.BadRequest(
            f"The signature's timestamp is {'in the future' if ts > at else 'too old'} "
            f"(more than {tolerance} s from now); the event was not processed.",
            code="timestamp_out_of_tolerance", details={"timestamp": ts, "now": int(at), "tolerance_s": tolerance})


def verify_webhook(raw: bytes, header: str | None, secret: str, at: float | None = None) -> dict:
    """The event, once the signature over the RAW body checks out; 400 otherwise. Nothing is parsed before."""
    import stripe

    at = time.time() if at is None else at
    if not header:
        raise errors.BadRequest("The Stripe-Signature header is missing.", code="invalid_signature")
    try:
        payload = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest("The webhook body is not UTF-8.", code="invalid_payload") from None
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc):
            check_timestamp(signature_timestamp(header), at)  # raises timestamp_out_of_tolerance
        raise errors.BadRequest("The Stripe-Signature header does not match the body.",
                                code="invalid_signature") from None
    check_timestamp(signature_timestamp(header), at)
    try:
        event = json.loads(payload)
    except ValueError:
        raise errors.BadRequest("The webhook body is not valid JSON.", code="invalid_payload") from None
    ok = (isinstance(event, dict) and event.get("object") == "event" and isinstance(event.get("id"), str)
          and event["id"] and "/" not in event["id"] and isinstance(event.get("type"), str)
          and isinstance(event.get("created"), int) and isinstance(event.get("data"), dict)
          and isinstance(event["data"].get("object"), dict))
    if not ok:
        raise errors.BadRequest("The webhook body is not a Stripe event.", code="invalid_payload")
    return event


# ------------------------------------------------------------------------------------ webhook: reducers


@dataclass
class Ctx:
    """The documents one event may touch (read in its transaction), and which of them changed."""

    docs: dict[str, dict | None]
    event: dict
    at: datetime
    changed: set[str] = field(default_factory=set)

    @property
    def billing(self) -> dict:
        self.changed.add("billing")
        return self.docs["billing"]  # type: ignore[return-value]

    def get(self, name: str) -> dict | None:
        return self.docs.get(name)

    def put(self, name: str, data: dict) -> dict:
        self.docs[name] = data
        self.changed.add(name)
        return data

    @property
    def created(self) -> int:
        return int(self.event["created"])


def _plan_from(metadata: dict | None, *price_objs) -> plans.Plan | None:
    plan = plans.find((metadata or {}).get("plan"))
    if plan:
        return plan
    for price in price_objs:
        if isinstance(price, dict):
            plan = plans.by_lookup_key(price.get("lookup_key"))
            if plan:
                return plan
    return None


def _set_payment(ctx: Ctx, name: str, key: str, status: str, **fields) -> None:
    """Upsert the user-facing payment record; a status never moves back (paid is not undone by a late 'pending')."""
    cur = ctx.get(name)
    doc = dict(cur) if cur else {"id": key, "created": _dt(ctx.created), "credits_granted": 0, "credits_revoked": 0,
                                 "amount_refunded": 0}
    if cur is None or PAYMENT_RANK.get(status, 0) >= PAYMENT_RANK.get(cur.get("status"), 0):
        doc["status"] = status
    if doc.get("created") is None or _dt(ctx.created) < doc["created"]:
        doc["created"] = _dt(ctx.created)
    for k, v in fields.items():
        if v is not None:
            doc[k] = v
    doc["updated_at"] = ctx.at
    ctx.put(name, doc)


def _grant(ctx: Ctx, key: str, plan: plans.Plan, *, amount: int | None, currency: str | None,
           period_end: datetime | None = None, subscription_id: str | None = None,
           session_id: str | None = None, invoice_id: str | None = None, payment_intent: str | None = None) -> str:
    """Grant `plan`'s credits for the payment `key`, once. Docs: grant, payment, refund (pending), sub."""
    if ctx.get("grant") is not None:
        return "already_granted"
    b = ctx.billing
    credits, note = plan.credits, None
    bucket = "subscription" if plan.is_subscription else "pack"
    if bucket == "subscription":
        sub = ctx.get("sub") or {}
        current_end = _dt(b.get("credits_period_end"))
        if sub.get("status") in TERMINAL:
            credits, note = 0, "subscription_ended"
        elif current_end is not None and period_end is not None and period_end <= current_end:
            credits, note = 0, "superseded_by_newer_period"
        else:
            expiring = int(b.get("subscription_credits") or 0)
            b["credits"] = int(b.get("credits") or 0) - expiring + credits
            b["subscription_credits"] = credits
            b["credits_period_end"] = period_end
            b["credits_grant_key"] = key
            b["credits_subscription_id"] = subscription_id
    else:
        b["credits"] = int(b.get("credits") or 0) + credits
        if (b.get("status") or "none") == "none":
            b["status"] = "active"
        if not b.get("plan"):
            b["plan"] = plan.name
    b["updated_at"] = ctx.at
    ctx.put("grant", {
        "key": key, "plan": plan.name, "bucket": bucket, "credits": credits, "note": note,
        "amount": amount, "currency": currency, "period_end": period_end, "subscription_id": subscription_id,
        "session_id": session_id, "invoice_id": invoice_id, "payment_intent": payment_intent,
        "revoked": 0, "refund_share": 0, "refunded_amount": 0,
        "event_id": ctx.event["id"], "event_type": ctx.event["type"], "created_at": ctx.at,
    })
    _set_payment(ctx, "payment", key, "paid", kind=bucket, plan=plan.name, amount=amount, currency=currency,
                 credits_granted=credits, session_id=session_id, invoice_id=invoice_id,
                 payment_intent=payment_intent, subscription_id=subscription_id)
    pending = ctx.get("refund")
    if pending and int(pending.get("amount_refunded") or 0) > 0:
        _apply_refund(ctx, "grant", "payment", int(pending["amount_refunded"]), pending.get("amount"))
        ctx.put("refund", {**pending, "applied_to": key, "updated_at": ctx.at})
    return "granted" if credits else f"recorded_without_credits:{note}"


def refund_share(granted: int, paid: int | None, refunded: int) -> int:
    """Credits whose money came back: all of them on a full refund, else rounded down (in the customer's favour)."""
    if granted <= 0 or refunded <= 0:
        return 0
    if not paid or refunded >= paid:
        return granted
    return granted * refunded // paid


def revocation(share_delta: int, unused: int, granted: int, revoked: int) -> int:
    """How many credits a refund takes back: the newly refunded share, but never credits already spent."""
    return max(0, min(share_delta, unused, granted - revoked))


def _apply_refund(ctx: Ctx, gname: str, pname: str, refunded: int, charge_amount: int | None) -> int:
    grant = dict(ctx.get(gname) or {})
    b = ctx.billing
    paid = grant.get("amount") or charge_amount
    share = refund_share(int(grant.get("credits") or 0), paid, refunded)
    delta = share - int(grant.get("refund_share") or 0)
    revoke = 0
    if delta > 0:
        credits = int(b.get("credits") or 0)
        sub = int(b.get("subscription_credits") or 0)
        if grant.get("bucket") == "subscription":
            unused = sub if b.get("credits_grant_key") == grant.get("key") else 0
        else:
            unused = credits - sub
        revoke = revocation(delta, unused, int(grant.get("credits") or 0), int(grant.get("revoked") or 0))
        b["credits"] = credits - revoke
        if grant.get("bucket") == "subscription":
            b["subscription_credits"] = sub - revoke
        grant["refund_share"] = share
        grant["revoked"] = int(grant.get("revoked") or 0) + revoke
    grant["refunded_amount"] = max(int(grant.get("refunded_amount") or 0), refunded)
    ctx.put(gname, grant)
    full = paid is not None and grant["refunded_amount"] >= paid
    _set_payment(ctx, pname, grant.get("key"), "refunded" if full else "partially_refunded",
                 amount_refunded=grant["refunded_amount"], credits_revoked=grant["revoked"])
    b["updated_at"] = ctx.at
    return revoke


def _is_current(b: dict, sid: str, sub: dict) -> bool:
    cur = b.get("subscription_id")
    if cur in (None, sid):
        return True
    if b.get("subscription_status") in TERMINAL and sub.get("status") not in TERMINAL:
        return True  # a new subscription after the old one ended
    cur_created, created = b.get("subscription_created"), sub.get("created")
    return bool(cur_created and created and created > cur_created)


def should_apply(old_status: str | None, old_at: int | None, new_status: str, new_at: int) -> bool:
    """Order rule for one subscription: terminal is final; otherwise the newer event wins, ties to the stronger state."""
    if old_status is None:
        return True
    if old_status in TERMINAL:
        return False
    if new_status in TERMINAL:
        return True
    if old_at is None or new_at > old_at:
        return True
    return new_at == old_at and RANK.get(new_status, 1) >= RANK.get(old_status, 1)


def _subscription_state(ctx: Ctx, sid: str, status: str | None, *, plan: plans.Plan | None = None,
                        period_end: datetime | None = None, created: int | None = None,
                        cancel_at_period_end: bool | None = None) -> bool:
    """Apply one observation of subscription `sid` (doc `sub`), then refresh the billing summary."""
    sub = dict(ctx.get("sub") or {"subscription_id": sid, "status": None, "state_at": None, "plan": None,
                                  "current_period_end": None, "created": None})
    if created and not sub.get("created"):
        sub["created"] = created
    if plan and not sub.get("plan"):
        sub["plan"] = plan.name
    if period_end and (sub.get("current_period_end") is None or period_end > sub["current_period_end"]):
        sub["current_period_end"] = period_end
    applied = status is not None and should_apply(sub.get("status"), sub.get("state_at"), status, ctx.created)
    if applied:
        sub["status"], sub["state_at"] = status, ctx.created
        if plan:
            sub["plan"] = plan.name
        if cancel_at_period_end is not None:
            sub["cancel_at_period_end"] = cancel_at_period_end
    sub["updated_at"] = ctx.at
    ctx.put("sub", sub)
    b = ctx.docs["billing"] or {}
    if not _is_current(b, sid, sub):
        return applied
    b = ctx.billing
    b["subscription_id"] = sid
    b["subscription_created"] = sub.get("created")
    if sub.get("status") is None:  # only linked so far (checkout completed before any subscription event)
        b["plan"] = sub.get("plan") or b.get("plan")
        b["updated_at"] = ctx.at
        return applied
    b["subscription_status"] = sub["status"]
    b["subscription_state_at"] = sub["state_at"]
    b["status"] = BILLING_STATUS.get(sub["status"], sub["status"])
    b["period_end"] = sub.get("current_period_end")
    b["cancel_at_period_end"] = bool(sub.get("cancel_at_period_end"))
    if sub["status"] in TERMINAL:
        b["plan"] = None
        if b.get("credits_subscription_id") in (None, sid):
            expiring = int(b.get("subscription_credits") or 0)
            b["credits"] = max(0, int(b.get("credits") or 0) - expiring)
            b["subscription_credits"] = 0
            b["credits_revoked_on_cancel"] = expiring
    else:
        b["plan"] = sub.get("plan") or b.get("plan")
    b["updated_at"] = ctx.at
    return applied


# --- checkout sessions


def _session_reads(event: dict, s: dict) -> dict[str, tuple[str, ...]]:
    if s.get("mode") == "subscription":
        sid = _id(s.get("subscription"))
        return {"sub": ("subscriptions", sid)} if sid else {}
    pi = _id(s.get("payment_intent"))
    key = pi or s["id"]
    reads = {"grant": ("grants", key), "payment": ("payments", key)}
    if pi:
        reads["refund"] = ("refunds", pi)
    return reads


def _on_session(ctx: Ctx, s: dict) -> str:
    etype = ctx.event["type"]
    plan = _plan_from(s.get("metadata"))
    if s.get("mode") == "subscription":
        sid = _id(s.get("subscription"))
        if not sid:
            return "ignored_no_subscription"
        _subscription_state(ctx, sid, None, plan=plan if plan and plan.is_subscription else None)
        return "subscription_linked"  # credits come with invoice.paid
    if plan is None or plan.is_subscription:
        log.event(logger, logging.ERROR, "checkout session without a known pack plan", session_id=s.get("id"),
                  metadata=s.get("metadata"))
        return "ignored_unknown_plan"
    pi = _id(s.get("payment_intent"))
    key = pi or s["id"]
    common = {"kind": "pack", "plan": plan.name, "amount": s.get("amount_total"), "currency": s.get("currency"),
              "session_id": s["id"], "payment_intent": pi}
    if etype == "checkout.session.async_payment_failed":
        _set_payment(ctx, "payment", key, "failed", **common)
        return "payment_failed"
    if s.get("payment_status") in ("paid", "no_payment_required"):
        return _grant(ctx, key, plan, amount=s.get("amount_total"), currency=s.get("currency"),
                      session_id=s["id"], payment_intent=pi)
    _set_payment(ctx, "payment", key, "pending", **common)
    return "payment_pending"


# --- invoices


def _invoice_subscription(inv: dict) -> str | None:
    sid = _id(inv.get("subscription"))
    if not sid:
        sid = _id(((inv.get("parent") or {}).get("subscription_details") or {}).get("subscription"))
    if not sid:
        for line in (inv.get("lines") or {}).get("data") or []:
            sid = _id(line.get("subscription")) or _id(
                ((line.get("parent") or {}).get("subscription_item_details") or {}).get("subscription"))
            if sid:
                break
    return sid


def _invoice_metadata(inv: dict) -> dict:
    md = ((inv.get("parent") or {}).get("subscription_details") or {}).get("metadata")
    md = md or (inv.get("subscription_details") or {}).get("metadata")
    if not md:
        for line in (inv.get("lines") or {}).get("data") or []:
            if line.get("metadata"):
                md = line["metadata"]
                break
    return md or {}


def _invoice_plan(inv: dict) -> plans.Plan | None:
    prices = [line.get("price") for line in (inv.get("lines") or {}).get("data") or []]
    return _plan_from(_invoice_metadata(inv), *prices)


def _invoice_period_end(inv: dict) -> datetime | None:
    ends = [((line.get("period") or {}).get("end")) for line in (inv.get("lines") or {}).get("data") or []]
    ends = [e for e in ends if e]
    return _dt(max(ends) if ends else inv.get("period_end"))


def _invoice_payment_intent(inv: dict) -> str | None:
    pi = _id(inv.get("payment_intent"))
    if pi:
        return pi
    for p in ((inv.get("payments") or {}).get("data") or []):
        pi = _id((p.get("payment") or {}).get("payment_intent"))
        if pi:
            return pi
    return None


def _invoice_reads(event: dict, inv: dict) -> dict[str, tuple[str, ...]]:
    sid = _invoice_subscription(inv)
    if not sid:
        return {}
    pi = _invoice_payment_intent(inv)
    key = pi or inv["id"]
    reads = {"sub": ("subscriptions", sid), "grant": ("grants", key), "payment": ("payments", key)}
    if pi:
        reads["refund"] = ("refunds", pi)
    return reads


def _on_invoice(ctx: Ctx, inv: dict) -> str:
    sid = _invoice_subscription(inv)
    if not sid:
        return "ignored_not_a_subscription_invoice"
    plan = _invoice_plan(inv)
    pi = _invoice_payment_intent(inv)
    key = pi or inv["id"]
    if ctx.event["type"] == "invoice.payment_failed":
        status = "incomplete" if inv.get("billing_reason") == "subscription_create" else "past_due"
        _subscription_state(ctx, sid, status, plan=plan)
        _set_payment(ctx, "payment", key, "failed", kind="subscription", plan=plan.name if plan else None,
                     amount=inv.get("amount_due"), currency=inv.get("currency"), invoice_id=inv["id"],
                     payment_intent=pi, subscription_id=sid)
        return status
    if plan is None or not plan.is_subscription:
        log.event(logger, logging.ERROR, "paid invoice without a known subscription plan", invoice_id=inv["id"])
        _subscription_state(ctx, sid, "active")
        return "ignored_unknown_plan"
    period_end = _invoice_period_end(inv)
    outcome = _grant(ctx, key, plan, amount=inv.get("amount_paid"), currency=inv.get("currency"),
                     period_end=period_end, subscription_id=sid, invoice_id=inv["id"], payment_intent=pi)
    _subscription_state(ctx, sid, "active", plan=plan, period_end=period_end)
    return outcome


# --- subscriptions


def _subscription_reads(event: dict, sub: dict) -> dict[str, tuple[str, ...]]:
    return {"sub": ("subscriptions", sub["id"])}


def _on_subscription(ctx: Ctx, s: dict) -> str:
    status = "canceled" if ctx.event["type"] == "customer.subscription.deleted" else s.get("status")
    items = (s.get("items") or {}).get("data") or []
    plan = _plan_from(s.get("metadata"), *[i.get("price") for i in items])
    end = s.get("current_period_end") or (items[0].get("current_period_end") if items else None)
    applied = _subscription_state(ctx, s["id"], status, plan=plan, period_end=_dt(end), created=s.get("created"),
                                  cancel_at_period_end=s.get("cancel_at_period_end"))
    return status if applied else "ignored_older_state"


# --- refunds


def _charge_reads(event: dict, ch: dict) -> dict[str, tuple[str, ...]]:
    pi = _id(ch.get("payment_intent"))
    key = pi or ch["id"]
    reads = {"refund": ("refunds", key), "grant": ("grants", key), "payment": ("payments", key)}
    inv = _id(ch.get("invoice"))
    if inv:
        reads["grant_inv"] = ("grants", inv)
        reads["payment_inv"] = ("payments", inv)
    return reads


def _on_refund(ctx: Ctx, ch: dict) -> str:
    pi = _id(ch.get("payment_intent"))
    key = pi or ch["id"]
    refunded = int(ch.get("amount_refunded") or 0)
    amount = ch.get("amount_captured") or ch.get("amount")
    cur = ctx.get("refund") or {}
    refund = {**cur, "key": key, "charge": ch["id"], "payment_intent": pi, "invoice": _id(ch.get("invoice")),
              "amount": amount, "amount_refunded": max(refunded, int(cur.get("amount_refunded") or 0)),
              "updated_at": ctx.at}
    for gname, pname in (("grant", "payment"), ("grant_inv", "payment_inv")):
        if ctx.get(gname) is not None:
            revoked = _apply_refund(ctx, gname, pname, refund["amount_refunded"], amount)
            refund["applied_to"] = ctx.get(gname).get("key")
            ctx.put("refund", refund)
            return f"refund_applied:revoked={revoked}"
    ctx.put("refund", refund)
    return "refund_recorded_pending_grant"


@dataclass(frozen=True)
class Handler:
    reads: Callable[[dict, dict], dict[str, tuple[str, ...]]]
    apply: Callable[[Ctx, dict], str]


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": Handler(_session_reads, _on_session),
    "checkout.session.async_payment_succeeded": Handler(_session_reads, _on_session),
    "checkout.session.async_payment_failed": Handler(_session_reads, _on_session),
    "invoice.paid": Handler(_invoice_reads, _on_invoice),
    "invoice.payment_failed": Handler(_invoice_reads, _on_invoice),
    "customer.subscription.created": Handler(_subscription_reads, _on_subscription),
    "customer.subscription.updated": Handler(_subscription_reads, _on_subscription),
    "customer.subscription.deleted": Handler(_subscription_reads, _on_subscription),
    "charge.refunded": Handler(_charge_reads, _on_refund),
}


def reduce(event: dict, docs: dict[str, dict | None], at: datetime) -> tuple[str, dict[str, dict]]:
    """Pure: apply `event` to the documents read for it -> (outcome, {name: new document})."""
    handler = HANDLERS[event["type"]]
    ctx = Ctx(docs={k: (dict(v) if v is not None else None) for k, v in docs.items()}, event=event, at=at)
    outcome = handler.apply(ctx, event["data"]["object"])
    return outcome, {name: ctx.docs[name] for name in ctx.changed if ctx.docs[name] is not None}


# ------------------------------------------------------------------------------------ webhook: processing


def _valid_tenant(tid: Any) -> str | None:
    try:
        return Tenant(tid).tenant_id if tid else None
    except ValueError:
        return None


def storable_id(x: Any) -> bool:
    """Whether `x` can name a Firestore document: ids like `__x__`, `.` and `..` are reserved, and a `/`
    would change the path. An event naming such an id can never be applied, however often Stripe retries."""
    return (isinstance(x, str) and 0 < len(x.encode("utf-8")) <= 1500 and "/" not in x and x not in (".", "..")
            and not (x.startswith("__") and x.endswith("__")))


def resolve_tenant(obj: dict) -> str | None:
    """The tenant of the object's Stripe customer (stripe_customers map), else our own metadata on it.

    The customer mapping wins: it was recorded by us when the tenant's customer was created, whereas
    metadata travels with the object and could name another tenant (a session created for tenant A's
    customer carrying metadata.tenant_id of B credits A)."""
    customer = _id(obj.get("customer"))
    md = obj.get("metadata") or {}
    candidates = [md.get("tenant_id")]
    if obj.get("object") == "invoice":
        candidates.append(_invoice_metadata(obj).get("tenant_id"))
    if obj.get("object") == "checkout.session":
        candidates.append(obj.get("client_reference_id"))
    if customer and storable_id(customer):
        snap = stripe_customer_doc(customer).get()
        if snap.exists:
            mapped = _valid_tenant(snap.get("tenant_id"))
            claimed = {tid for tid in (_valid_tenant(c) for c in candidates) if tid}
            if mapped and claimed - {mapped}:
                log.event(logger, logging.WARNING, "stripe object's metadata names another tenant than its customer; "
                          "the customer's tenant is credited", customer=customer, tenant_id=mapped,
                          claimed=sorted(claimed - {mapped}), object_id=obj.get("id"))
            if mapped:
                return mapped
    for c in candidates:
        tid = _valid_tenant(c)
        if tid:
            return tid
    return None


def handle_event(event: dict) -> str:
    """Apply one verified event exactly once. Raises (-> 5xx, Stripe retries) when it could not be applied."""
    started = time.perf_counter()
    etype, eid = event["type"], event["id"]
    handler = HANDLERS.get(etype)
    if handler is None:
        log.event(logger, logging.INFO, "stripe event acknowledged, not handled", event_id=eid, type=etype)
        return "ignored_type"
    obj = event["data"]["object"]
    paths = [path for path in handler.reads(event, obj).values() if all(path)]
    if not storable_id(eid) or not all(storable_id(part) for path in paths for part in path[1:]):
        # Acknowledged (2xx): a reserved or malformed id can never be stored, so a retry cannot succeed.
        log.event(logger, logging.ERROR, "stripe event names an id Firestore cannot store; acknowledged, not applied",
                  event_id=eid if isinstance(eid, str) else None, type=etype, object_id=obj.get("id"))
        return "unstorable_id"
    tenant_id = resolve_tenant(obj)
    if tenant_id is None:
        log.event(logger, logging.WARNING, "stripe event for no known tenant", event_id=eid, type=etype,
                  customer=_id(obj.get("customer")), object_id=obj.get("id"))
        return "unknown_tenant"
    tenant = Tenant(tenant_id)
    reads = {name: path for name, path in handler.reads(event, obj).items() if all(path)}
    refs = {"billing": tenant.billing(), **{name: tenant.doc(*path) for name, path in reads.items()}}
    eref = stripe_event_doc(eid)
    db = firestore()

    @gfs.transactional
    def run(tx) -> str:
        unique = {r.path: r for r in [eref, *refs.values()]}
        snaps = {s.reference.path: s for s in tx.get_all(list(unique.values()))}
        if snaps[eref.path].exists:
            return "duplicate"
        t = now()
        record = {"id": eid, "type": etype, "created": _dt(event["created"]), "tenant_id": tenant_id,
                  "object_id": obj.get("id"), "livemode": bool(event.get("livemode")), "processed_at": t}
        bsnap = snaps[refs["billing"].path]
        if not bsnap.exists:
            tx.create(eref, {**record, "outcome": "unknown_tenant"})
            return "unknown_tenant"
        docs = {name: (snaps[ref.path].to_dict() if snaps[ref.path].exists else None) for name, ref in refs.items()}
        outcome, writes = reduce(event, docs, t)
        for name, data in writes.items():
            tx.set(refs[name], data)
        tx.create(eref, {**record, "outcome": outcome})
        return outcome

    with tenant_lock(tenant):
        outcome = run(db.transaction(max_attempts=TX_ATTEMPTS))
    log.event(logger, logging.INFO, "stripe event processed", event_id=eid, type=etype, tenant_id=tenant_id,
              outcome=outcome, ms=round((time.perf_counter() - started) * 1000, 2))
    return outcome
