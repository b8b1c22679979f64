"""Contract scenarios, written once against a Stripe target (conftest.py): the Stripe fake in
`make test`, Stripe's test mode in `make test-stripe-live`. Every request is the product's own (the
builders in shared/plans.py, shared/billing/checkout.py and reconcile.py); every webhook is checked by
the product's verify_webhook and applied by its pure reducer to an in-memory ledger, as the webhook
function applies it to Firestore (one stripe_events record per event id, reducer keyed by payment)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from shared import errors, plans
from shared.billing import checkout, reconcile, webhook

PACK = plans.PLANS["starter_pack"]


class Ledger:
    """One tenant's billing documents, updated the way handle_event updates Firestore."""

    def __init__(self) -> None:
        self.docs: dict[tuple, dict] = {("billing",): {"credits": 0, "status": "none"}}
        self.events: dict[str, str] = {}

    def apply(self, event: dict) -> str:
        if event["id"] in self.events:
            return "duplicate"
        reads = webhook.HANDLERS[event["type"]].reads(event, event["data"]["object"])
        paths = {"billing": ("billing",), **{k: v for k, v in reads.items() if all(v)}}
        outcome, writes = webhook.reduce(event, {k: self.docs.get(p) for k, p in paths.items()}, datetime.now(UTC))
        for name, data in writes.items():
            self.docs[paths[name]] = data
        self.events[event["id"]] = outcome
        return outcome

    @property
    def credits(self) -> int:
        return self.docs[("billing",)]["credits"]


def customer(target) -> str:
    req = checkout.customer_request(f"contract-{target.run}@example.com", "Contract Co", f"t-{target.run}")
    first = target.client.v1.customers.create(checkout.customer_params(req), {"idempotency_key": f"c-{target.run}"})
    again = target.client.v1.customers.create(checkout.customer_params(req), {"idempotency_key": f"c-{target.run}"})
    assert first.id == again.id and first.metadata["tenant_id"] == f"t-{target.run}"
    return first.id


def pack_session(target, cus: str):
    ids = plans.ensure_prices(target.client)
    assert plans.ensure_prices(target.client) == ids, "the catalogue is created once"
    params = checkout.session_params(PACK, cus, f"t-{target.run}", "u-1", "https://app.example", ids[PACK.name])
    s = target.client.v1.checkout.sessions.create(params)
    assert (s.status, s.mode, s.customer, s.client_reference_id) == ("open", "payment", cus, f"t-{target.run}")
    assert s.url and s.metadata["plan"] == PACK.name and s.amount_total == PACK.amount
    return s


def test_pack_checkout_paid_webhook_verified_and_granted_once(target):
    s = pack_session(target, customer(target))
    body, header = target.pay(s.id)
    with pytest.raises(errors.BadRequest):
        webhook.verify_webhook(body.replace(b'"paid"', b'"unpaid"', 1), header, target.secret)
    with pytest.raises(errors.BadRequest):
        webhook.verify_webhook(body, header, "whsec_someone_else")
    event = webhook.verify_webhook(body, header, target.secret)
    assert event["type"] == "checkout.session.completed" and event["data"]["object"]["id"] == s.id
    obj = event["data"]["object"]
    assert obj["client_reference_id"] == obj["metadata"]["tenant_id"] == f"t-{target.run}"
    ledger = Ledger()
    assert ledger.apply(event) == "granted" and ledger.credits == PACK.credits
    assert ledger.apply(event) == "duplicate", "a redelivered event is recorded once"
    ledger.events.clear()
    assert ledger.apply(event) == "already_granted" and ledger.credits == PACK.credits, "one grant per payment"


def test_reconciler_lists_complete_sessions(target):
    since = int(time.time()) - 120
    s = pack_session(target, customer(target))

    def listed() -> set[str]:
        pages = target.client.v1.checkout.sessions.list(reconcile.session_list_params(since))
        return {x.id for x in pages.auto_paging_iter()}

    assert s.id not in listed(), "an open session is not listed as complete"
    invoices = target.client.v1.invoices.list(reconcile.invoice_list_params(since))
    assert all(i.status == "paid" for i in invoices.data)
    if target.is_fake:
        target.pay(s.id)
        assert s.id in listed()


def test_refund_revokes_the_pack(target, fake_only):
    s = pack_session(target, customer(target))
    ledger = Ledger()
    body, header = target.pay(s.id)
    assert ledger.apply(webhook.verify_webhook(body, header, target.secret)) == "granted"
    pi = target.client.v1.checkout.sessions.retrieve(s.id).payment_intent
    target.client.v1.refunds.create({"payment_intent": pi})
    refunds = target.deliveries("charge.refunded", target.fake.events("charge.refunded")[-1]["data"]["object"]["id"])
    assert len(refunds) == 1
    outcome = ledger.apply(webhook.verify_webhook(*refunds[0], target.secret))
    assert outcome.startswith("refund_applied") and ledger.credits == 0, (outcome, ledger.docs)
