"""Payments, pure logic: the plan table, grant/refund arithmetic, ordering rules, signature checks.

The webhook reducers are run here against an in-memory copy of the documents, with the same
reads/writes `shared.billing.handle_event` performs inside its Firestore transaction.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stripe

from shared import billing, errors, plans

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + "ab" * 24
T0 = 1_800_000_000
NOW = datetime.fromtimestamp(T0, tz=UTC)
MONTH = 30 * 86400


# ------------------------------------------------------------------------------------------ plans


def test_plan_table():
    assert set(plans.PLANS) >= {"starter_pack", "pro_monthly"}
    pack, pro = plans.PLANS["starter_pack"], plans.PLANS["pro_monthly"]
    assert (pack.mode, pack.credits, pack.amount, pack.interval) == ("payment", 10, 4900, None)
    assert (pro.mode, pro.credits, pro.amount, pro.interval) == ("subscription", 30, 9900, "month")
    keys = [p.lookup_key for p in plans.PLANS.values()]
    assert len(set(keys)) == len(keys)
    assert plans.by_lookup_key(pro.lookup_key) is pro and plans.by_lookup_key("nope") is None
    for p in plans.PLANS.values():
        assert (p.interval is not None) == p.is_subscription
        assert p.public("price_x")["price_id"] == "price_x"


def test_unknown_plan_lists_the_valid_ones():
    with pytest.raises(errors.BadRequest) as info:
        plans.get("gold")
    assert info.value.status == 400 and info.value.code == "unknown_plan"
    assert info.value.details["valid_plans"] == list(plans.PLANS)
    for name in plans.PLANS:
        assert name in info.value.message
    assert plans.get("starter_pack").name == "starter_pack"


# ------------------------------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize("granted,paid,refunded,share", [
    (10, 4900, 0, 0),
    (10, 4900, 4900, 10),
    (10, 4900, 2450, 5),
    (10, 4900, 2449, 4),  # rounded down: never more than the money returned
    (10, 4900, 9999, 10),
    (0, 4900, 4900, 0),  # a grant that gave nothing takes nothing back
    (30, None, 100, 30),
])
def test_refund_share(granted, paid, refunded, share):
    assert billing.refund_share(granted, paid, refunded) == share


@pytest.mark.parametrize("delta,unused,granted,revoked,out", [
    (10, 7, 10, 0, 7),  # 3 used: only the 7 unused go
    (5, 7, 10, 0, 5),
    (5, 2, 10, 5, 2),
    (5, 20, 10, 8, 2),  # never more than the grant
    (-3, 7, 10, 0, 0),
])
def test_revocation(delta, unused, granted, revoked, out):
    assert billing.revocation(delta, unused, granted, revoked) == out


def state(**kw) -> dict:
    base = {"tenant_id": "t_unit01", "plan": None, "status": "none", "credits": 0, "subscription_credits": 0,
            "period_end": None}
    base.update(kw)
    return base


def test_spend_decrements_and_prefers_expiring_credits():
    out = billing.decide_spend(state(status="active", credits=5, subscription_credits=2,
                                     credits_period_end=NOW + timedelta(days=3)), NOW)
    assert out == {"credits": 4, "subscription_credits": 1, "spent_from": "subscription"}
    out = billing.decide_spend(state(status="active", credits=5), NOW)
    assert out == {"credits": 4, "subscription_credits": 0, "spent_from": "pack"}


@pytest.mark.parametrize("doc", [
    state(),
    state(status="active", credits=0),
    state(status="past_due", credits=12, subscription_credits=12, credits_period_end=NOW + timedelta(days=1)),
    state(status="canceled", credits=0),
    # Subscription credits past their period (and grace) are gone.
    state(status="active", credits=3, subscription_credits=3, credits_period_end=NOW - timedelta(days=2)),
])
def test_spend_refused_with_how_to_buy(doc):
    with pytest.raises(errors.PaymentRequired) as info:
        billing.decide_spend(doc, NOW)
    assert info.value.status == 402 and info.value.code == "payment_required"
    # A founder's words in the message; the API's how-to stays in details.
    msg = info.value.message
    assert "runs" in msg and "/api/" not in msg and "POST" not in msg
    assert info.value.details["action"] == "buy_runs"
    assert info.value.details["buy"] == {"plans": "GET /api/billing/plans", "checkout": "POST /api/billing/checkout",
                                         "how": billing.BUY_MORE}
    assert info.value.details["reason"] in ("no_credits", "past_due")


def test_canceled_with_pack_credits_may_still_run():
    out = billing.decide_spend(state(status="canceled", credits=2), NOW)
    assert out["credits"] == 1


def test_expired_subscription_credits_leave_pack_credits():
    doc = state(status="active", credits=13, subscription_credits=3, credits_period_end=NOW - timedelta(days=2))
    assert billing.usable(doc, NOW) == {"credits": 10, "subscription_credits": 0, "expired": 3}
    assert billing.decide_spend(doc, NOW) == {"credits": 9, "subscription_credits": 0, "spent_from": "pack"}
    within_grace = state(status="active", credits=3, subscription_credits=3,
                         credits_period_end=NOW - timedelta(hours=1))
    assert billing.decide_spend(within_grace, NOW)["spent_from"] == "subscription"


# ------------------------------------------------------------------------------------------ signatures


def signed(payload: str, ts: int) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=ts)


def an_event(**over) -> dict:
    e = {"id": "evt_unit", "object": "event", "type": "checkout.session.completed", "created": T0,
         "data": {"object": {"id": "cs_1", "object": "checkout.session"}}}
    e.update(over)
    return e


@pytest.mark.parametrize("offset,ok", [(0, True), (-300, True), (300, True), (-301, False), (301, False),
                                       (-86400, False), (86400, False)])
def test_timestamp_window_both_directions(offset, ok):
    at = time.time()
    ts = int(at) + offset
    if ok:
        billing.check_timestamp(ts, int(at))
    else:
        with pytest.raises(errors.BadRequest) as info:
            billing.check_timestamp(ts, int(at))
        assert info.value.code == "timestamp_out_of_tolerance"


def test_verify_webhook_accepts_a_good_signature():
    payload = json.dumps(an_event())
    assert billing.verify_webhook(payload.encode(), signed(payload, int(time.time())), SECRET)["id"] == "evt_unit"


@pytest.mark.parametrize("case,code", [
    ("missing", "invalid_signature"),
    ("garbage", "invalid_signature"),
    ("wrong_secret", "invalid_signature"),
    ("tampered", "invalid_signature"),
    ("old", "timestamp_out_of_tolerance"),
    ("future", "timestamp_out_of_tolerance"),
    ("not_utf8", "invalid_payload"),
    ("not_json", "invalid_payload"),
    ("not_an_event", "invalid_payload"),
    ("id_with_slash", "invalid_payload"),
])
def test_verify_webhook_refusals(case, code):
    now = int(time.time())
    payload = json.dumps(an_event())
    raw, header = payload.encode(), signed(payload, now)
    if case == "missing":
        header = None
    elif case == "garbage":
        header = "t=x,v1=y"
    elif case == "wrong_secret":
        header = stripe.WebhookSignature.generate_signature_header(payload, "whsec_other", timestamp=now)
    elif case == "tampered":
        raw = payload.replace("evt_unit", "evt_evil").encode()
    elif case == "old":
        header = signed(payload, now - 600)
    elif case == "future":
        header = signed(payload, now + 600)
    elif case == "not_utf8":
        raw = b"\xff" + raw
    elif case == "not_json":
        raw, header = b"{nope", signed("{nope", now)
    elif case == "not_an_event":
        body = json.dumps({"object": "list", "data": []})
        raw, header = body.encode(), signed(body, now)
    elif case == "id_with_slash":
        body = json.dumps(an_event(id="evt/../../x"))
        raw, header = body.encode(), signed(body, now)
    with pytest.raises(errors.BadRequest) as info:
        billing.verify_webhook(raw, header, SECRET)
    assert info.value.status == 400 and info.value.code == code


def test_webhook_function_refuses_to_start_without_its_secret():
    code = ("import functions_framework; "
            "functions_framework.create_app('stripe_webhook', 'functions/stripe_webhook/main.py'); print('started')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "FIRESTORE_", "FIREBASE_"))}
    env.update({"FACTORY_ENV": "local", "GOOGLE_CLOUD_PROJECT": "demo-unit", "PYTHONPATH": str(ROOT),
                "STRIPE_SECRET_KEY": "sk_test_unit"})
    r = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "started" not in r.stdout
    assert "STRIPE_WEBHOOK_SECRET is not set" in r.stderr
    r = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env={**env, "STRIPE_WEBHOOK_SECRET": SECRET},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "started" in r.stdout, r.stderr


# ------------------------------------------------------------------------------------------ reducers


class Memory:
    """The documents of one tenant plus the processed-event set, updated as handle_event does."""

    def __init__(self, **billing_doc):
        self.docs: dict[tuple, dict] = {("billing",): state(**billing_doc)}
        self.events: set[str] = set()

    @property
    def billing(self) -> dict:
        return self.docs[("billing",)]

    def deliver(self, event: dict) -> str:
        if event["id"] in self.events:
            return "duplicate"
        handler = billing.HANDLERS.get(event["type"])
        if handler is None:
            return "ignored_type"
        reads = {n: p for n, p in handler.reads(event, event["data"]["object"]).items() if all(p)}
        paths = {"billing": ("billing",), **reads}
        docs = {n: self.docs.get(p) for n, p in paths.items()}
        outcome, writes = billing.reduce(event, docs, NOW)
        for name, data in writes.items():
            self.docs[paths[name]] = data
        self.events.add(event["id"])
        return outcome

    def grants(self) -> list[dict]:
        return [d for p, d in self.docs.items() if p[0] == "grants"]


_n = iter(range(1, 10_000))


def ev(etype: str, obj: dict, created: int = T0) -> dict:
    return {"id": f"evt_{next(_n)}", "object": "event", "type": etype, "created": created,
            "data": {"object": obj}}


def pack_session(pi="pi_pack1", status="paid", sid="cs_pack1") -> dict:
    return {"id": sid, "object": "checkout.session", "mode": "payment", "payment_status": status,
            "payment_intent": pi, "amount_total": 4900, "currency": "usd",
            "metadata": {"tenant_id": "t_unit01", "plan": "starter_pack"}}


def sub_session(sub="sub_1") -> dict:
    return {"id": "cs_sub1", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
            "subscription": sub, "payment_intent": None, "amount_total": 9900, "currency": "usd",
            "metadata": {"tenant_id": "t_unit01", "plan": "pro_monthly"}}


def invoice(iid="in_1", sub="sub_1", pi="pi_inv1", start=T0, end=T0 + MONTH, reason="subscription_create") -> dict:
    return {"id": iid, "object": "invoice", "subscription": sub, "payment_intent": pi, "amount_paid": 9900,
            "amount_due": 9900, "currency": "usd", "billing_reason": reason,
            "parent": {"subscription_details": {"subscription": sub,
                                                "metadata": {"tenant_id": "t_unit01", "plan": "pro_monthly"}}},
            "lines": {"data": [{"period": {"start": start, "end": end},
                                "price": {"lookup_key": plans.PLANS["pro_monthly"].lookup_key}}]}}


def subscription(sid="sub_1", status="active", end=T0 + MONTH, created=T0) -> dict:
    return {"id": sid, "object": "subscription", "status": status, "created": created, "current_period_end": end,
            "cancel_at_period_end": False, "metadata": {"tenant_id": "t_unit01", "plan": "pro_monthly"},
            "items": {"data": [{"price": {"lookup_key": plans.PLANS["pro_monthly"].lookup_key}}]}}


def charge(pi="pi_pack1", refunded=4900, amount=4900, inv=None) -> dict:
    return {"id": "ch_" + pi, "object": "charge", "payment_intent": pi, "amount": amount,
            "amount_captured": amount, "amount_refunded": refunded, "invoice": inv,
            "metadata": {"tenant_id": "t_unit01"}}


def test_pack_grants_once_whichever_event_reports_it():
    m = Memory()
    completed = ev("checkout.session.completed", pack_session(status="unpaid"))
    succeeded = ev("checkout.session.async_payment_succeeded", pack_session())
    assert m.deliver(succeeded) == "granted"
    assert m.deliver(completed) == "payment_pending"  # the late 'unpaid' completion changes nothing
    assert m.deliver(succeeded) == "duplicate"
    assert m.deliver(ev("checkout.session.async_payment_succeeded", pack_session())) == "already_granted"
    assert m.billing["credits"] == 10 and m.billing["status"] == "active"
    assert m.docs[("payments", "pi_pack1")]["status"] == "paid"
    assert len(m.grants()) == 1


def test_async_failure_grants_nothing():
    m = Memory()
    m.deliver(ev("checkout.session.completed", pack_session(status="unpaid")))
    assert m.deliver(ev("checkout.session.async_payment_failed", pack_session(status="unpaid"))) == "payment_failed"
    assert m.billing["credits"] == 0 and not m.grants()
    assert m.docs[("payments", "pi_pack1")]["status"] == "failed"


def test_subscription_in_reverse_order_grants_the_period_once():
    m = Memory()
    events = [ev("customer.subscription.created", subscription()), ev("invoice.paid", invoice()),
              ev("checkout.session.completed", sub_session())]
    for e in reversed(events):
        m.deliver(e)
    for e in events:  # and every one of them again
        e = dict(e, id=e["id"] + "_again")
        m.deliver(e)
    b = m.billing
    assert b["credits"] == 30 and b["subscription_credits"] == 30
    assert b["status"] == "active" and b["plan"] == "pro_monthly" and b["subscription_id"] == "sub_1"
    assert b["credits_period_end"] == datetime.fromtimestamp(T0 + MONTH, tz=UTC)


def test_renewal_replaces_the_period_quota_and_a_late_old_invoice_is_superseded():
    m = Memory()
    first = ev("invoice.paid", invoice())
    second = ev("invoice.paid", invoice("in_2", pi="pi_inv2", start=T0 + MONTH, end=T0 + 2 * MONTH,
                                        reason="subscription_cycle"), created=T0 + MONTH)
    m.deliver(second)
    assert m.deliver(first) == "recorded_without_credits:superseded_by_newer_period"
    assert m.billing["credits"] == 30
    m2 = Memory()
    m2.deliver(first)
    m2.billing["credits"] -= 4  # 4 runs used in period 1
    m2.billing["subscription_credits"] -= 4
    m2.deliver(second)
    assert m2.billing["credits"] == 30  # no rollover: the new period's quota replaces the old


def test_deleted_is_terminal_and_revokes_the_period_but_not_packs():
    m = Memory()
    m.deliver(ev("checkout.session.completed", pack_session()))
    m.deliver(ev("invoice.paid", invoice()))
    assert m.billing["credits"] == 40
    assert m.deliver(ev("customer.subscription.deleted", subscription(status="canceled"), created=T0 + 5)) == "canceled"
    older = ev("customer.subscription.updated", subscription(status="active"), created=T0 + 2)
    assert m.deliver(older) == "ignored_older_state"
    newer_but_resurrecting = ev("customer.subscription.updated", subscription(status="active"), created=T0 + 9)
    assert m.deliver(newer_but_resurrecting) == "ignored_older_state"
    b = m.billing
    assert b["status"] == "canceled" and b["plan"] is None and b["credits"] == 10 and b["subscription_credits"] == 0
    # A paid invoice of the ended subscription arriving late grants nothing.
    late = ev("invoice.paid", invoice("in_9", pi="pi_9", start=T0 + MONTH, end=T0 + 2 * MONTH), created=T0 + 3)
    assert m.deliver(late) == "recorded_without_credits:subscription_ended"
    assert m.billing["credits"] == 10


def test_status_order_by_created_with_ties_to_the_stronger_state():
    m = Memory()
    m.deliver(ev("customer.subscription.updated", subscription(status="past_due"), created=T0 + 10))
    assert m.deliver(ev("customer.subscription.updated", subscription(status="active"), created=T0 + 5)) \
        == "ignored_older_state"
    assert m.billing["status"] == "past_due"
    m.deliver(ev("customer.subscription.updated", subscription(status="active"), created=T0 + 11))
    assert m.billing["status"] == "active"
    # Same second: incomplete -> active (async settled) must end active, whatever the arrival order.
    for order in ((0, 1), (1, 0)):
        m = Memory()
        evs = [ev("customer.subscription.created", subscription(status="incomplete")),
               ev("customer.subscription.updated", subscription(status="active"))]
        for i in order:
            m.deliver(evs[i])
        assert m.billing["status"] == "active"
    assert billing.should_apply("canceled", 1, "active", 99) is False
    assert billing.should_apply("active", 5, "canceled", 1) is True


def test_invoice_payment_failed_is_past_due_and_refuses_spending():
    m = Memory()
    m.deliver(ev("invoice.paid", invoice()))
    failed = invoice("in_2", pi="pi_inv2", start=T0 + MONTH, end=T0 + 2 * MONTH, reason="subscription_cycle")
    assert m.deliver(ev("invoice.payment_failed", failed, created=T0 + MONTH)) == "past_due"
    assert m.billing["status"] == "past_due"
    with pytest.raises(errors.PaymentRequired):
        billing.decide_spend(m.billing, NOW)


def test_refund_after_use_revokes_only_unused_and_is_order_safe():
    m = Memory()
    m.deliver(ev("checkout.session.completed", pack_session()))
    m.billing["credits"] = 7  # 3 runs spent
    half = ev("charge.refunded", charge(refunded=2450))
    full = ev("charge.refunded", charge(refunded=4900))
    m.deliver(full)
    assert m.billing["credits"] == 0
    assert m.deliver(half) == "refund_applied:revoked=0"  # an older, smaller refund changes nothing
    grant = m.docs[("grants", "pi_pack1")]
    assert grant["revoked"] == 7 and grant["refund_share"] == 10
    assert m.docs[("payments", "pi_pack1")]["status"] == "refunded"


def test_refund_before_grant_is_applied_when_the_grant_lands():
    m = Memory()
    assert m.deliver(ev("charge.refunded", charge(refunded=4900))) == "refund_recorded_pending_grant"
    assert m.billing["credits"] == 0
    m.deliver(ev("checkout.session.completed", pack_session()))
    assert m.billing["credits"] == 0
    assert m.docs[("payments", "pi_pack1")]["status"] == "refunded"


def test_refund_of_the_current_subscription_period():
    m = Memory()
    m.deliver(ev("invoice.paid", invoice()))
    m.billing["credits"] = m.billing["subscription_credits"] = 20  # 10 used
    m.deliver(ev("charge.refunded", charge(pi="pi_inv1", refunded=9900, amount=9900, inv="in_1")))
    assert m.billing["credits"] == 0 and m.billing["subscription_credits"] == 0


def test_view_reports_what_can_be_spent():
    doc = state(status="active", credits=13, subscription_credits=3, credits_period_end=NOW - timedelta(days=2))
    view = billing.billing_view("t_unit01", doc, [], NOW)
    assert view["credits"] == 10 and view["pack_credits"] == 10 and view["can_run"] is True
    assert billing.billing_view("t_unit01", state(status="past_due", credits=5), [], NOW)["can_run"] is False


# ---------------------------------------------------------------------------------------- money follows the outcome


def _run(state="charged", dev="pending"):
    return {"pipeline_id": "p_unit01", "credit": {"state": state, "spent_from": "pack", "charges": 1, "refunds": 0},
            "stages": {"development": {"status": dev}}}


@pytest.mark.parametrize("status,code,stage,dev,reason", [
    ("failed", "stage_rejected", "idea_validation", "pending", "rejected_at_validation"),
    ("cancelled", "cancelled", "idea_validation", "pending", "cancelled_before_development"),
    ("cancelled", "cancelled", "uiux_design", "pending", "cancelled_before_development"),
    ("failed", "dead_lettered", "qa", "completed", "factory_failure"),
    ("failed", "stage_timeout", "development", "running", "factory_failure"),
    ("failed", "stage_failed", "deployment", "completed", "factory_failure"),
    # kept: the founder's own budget, QA after its loops, a cancel once development started, a bad input
    ("failed", "budget_exceeded", "tech_stack", "pending", None),
    ("failed", "qa_failed", "qa", "completed", None),
    ("failed", "stage_error", "tech_stack", "pending", None),
    ("failed", "stage_failed", "development", "failed", None),
    ("cancelled", "cancelled", "development", "running", None),
    ("cancelled", "cancelled", "uiux_design", "completed", None),  # development already ran
    ("completed", None, "deployment", "completed", None),
])
def test_refund_policy(status, code, stage, dev, reason):
    assert billing.refund_reason(_run(dev=dev), status, code, stage) == reason


def test_a_credit_not_held_by_the_run_never_goes_back_twice():
    for state in ("refunded", None):
        run = _run(state=state) if state else {"pipeline_id": "p_unit01", "stages": {}}
        assert billing.refund_reason(run, "failed", "dead_lettered", "qa") is None
        assert billing.refund_reason(run, "cancelled", "cancelled", "idea_validation") is None


def test_an_id_firestore_cannot_store_is_recognised():
    for bad in ("__x__", "__", ".", "..", "a/b", "", None, 7, "x" * 1501):
        assert billing.storable_id(bad) is False, bad
    for good in ("evt_123", "pi_abc", "_x_", "__x", "x__"):
        assert billing.storable_id(good) is True, good
