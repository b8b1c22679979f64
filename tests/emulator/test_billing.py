"""Payments through the real functions: front door -> billing / stripe_webhook -> Firestore, Stripe fake.

Credits are only ever bought through the Stripe fake (checkout, then the fake's `/_fake/` controls
complete it and deliver signed webhooks to the webhook function), never written directly.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stripe

from tests.helpers import Api, join

# tenant_id -> (owner email, credits this module expects the tenant to end with); checked last.
EXPECTED: dict[str, tuple[str, int]] = {}


# ---------------------------------------------------------------------------------------- helpers


class Fake:
    """The Stripe fake's API and test controls."""

    def __init__(self):
        self.base = os.environ["STRIPE_API_BASE"]
        self.auth = {"Authorization": f"Bearer {os.environ['STRIPE_SECRET_KEY']}"}

    def control(self, method: str, path: str, **body) -> dict:
        r = requests.request(method, f"{self.base}/_fake/{path}", json=body if method == "POST" else None,
                             timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def complete(self, session_id: str, outcome: str = "paid") -> dict:
        return self.control("POST", f"checkout/{session_id}/complete", outcome=outcome)

    def settle(self, session_id: str, succeeded: bool) -> dict:
        return self.control("POST", f"payments/{session_id}/settle", succeeded=succeeded)

    def wait(self, timeout: float = 30) -> None:
        assert self.control("POST", "deliveries/wait", timeout=timeout)["idle"], "webhook deliveries did not finish"

    def hold(self) -> None:
        self.control("POST", "deliveries/hold")

    def release(self, order: str) -> dict:
        return self.control("POST", "deliveries/release", order=order)

    def redeliver(self, event_id: str) -> None:
        self.control("POST", f"events/{event_id}/redeliver")

    def deliveries(self, event_id: str | None = None) -> list[dict]:
        return self.control("GET", "deliveries" + (f"?event_id={event_id}" if event_id else ""))["data"]

    def api(self, method: str, path: str, **data) -> dict:
        r = requests.request(method, f"{self.base}/v1/{path}", headers=self.auth, data=data or None, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def customers(self, email: str) -> list[dict]:
        return self.api("GET", f"customers?email={requests.utils.quote(email)}&limit=100")["data"]


def event_id(result: dict, etype: str) -> str:
    ids = [e["id"] for e in result["events"] if e["type"] == etype]
    assert len(ids) == 1, (etype, result["events"])
    return ids[0]


def fs():
    from google.cloud import firestore

    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def billing_doc(tenant_id: str) -> dict:
    return fs().document(f"tenants/{tenant_id}/billing/state").get().to_dict()


def wait_for(fn, timeout: float = 15.0, interval: float = 0.1):
    """Poll until fn() is truthy (bounded); returns its last value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    return value


def sign(payload: str, ts: int | None = None, secret: str | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret or os.environ["STRIPE_WEBHOOK_SECRET"], timestamp=int(time.time()) if ts is None else ts)


def post_webhook(payload: str | bytes, header: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    body = payload.encode() if isinstance(payload, str) else payload
    return requests.post(os.environ["FRONT_DOOR_URL"] + "/api/stripe/webhook", data=body, headers=headers, timeout=30)


def pack_event(tenant_id: str, *, pi: str | None = None, eid: str | None = None) -> dict:
    """A checkout.session.completed event for a paid starter pack, as Stripe would send it."""
    now = int(time.time())
    sid = "cs_test_" + uuid.uuid4().hex
    return {
        "id": eid or "evt_" + uuid.uuid4().hex[:24], "object": "event", "api_version": stripe.api_version,
        "created": now, "livemode": False, "pending_webhooks": 1, "type": "checkout.session.completed",
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": sid, "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": "paid", "amount_total": 4900, "currency": "usd", "customer": None,
            "client_reference_id": tenant_id, "payment_intent": pi or "pi_" + uuid.uuid4().hex[:24],
            "metadata": {"tenant_id": tenant_id, "plan": "starter_pack"}, "created": now,
        }},
    }


def spend(tenant_id: str, n: int = 1) -> list[str]:
    """Spend credits the way the idea intake does: spend_credit inside a transaction."""
    from google.cloud import firestore as gfs

    from shared import billing, errors
    from shared.clients import firestore
    from shared.store import Tenant

    tenant, out = Tenant(tenant_id), []
    for _ in range(n):
        @gfs.transactional
        def run(tx):
            return billing.spend_credit(tx, tenant)

        try:
            with billing.tenant_lock(tenant):
                run(firestore().transaction())
            out.append("ok")
        except errors.PaymentRequired as exc:
            out.append(exc.code)
    return out


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def fake(cloud_env):
    f = Fake()
    f.first_delivery = len(f.deliveries())  # this module checks only the deliveries it caused
    return f


def new_owner(api):
    owner = api.signup(company="Pay Co")
    EXPECTED[owner.tenant_id] = (owner.email, 0)
    return owner


def expect(owner, credits: int) -> None:
    EXPECTED[owner.tenant_id] = (owner.email, credits)


def checkout(api, owner, plan: str) -> dict:
    r = api.post("/api/billing/checkout", owner, json={"plan": plan})
    assert r.status_code == 201, r.text
    return r.json()


def billing(api, user) -> dict:
    r = api.get("/api/billing", user)
    assert r.status_code == 200, r.text
    return r.json()


def buy_pack(api, fake, owner) -> tuple[dict, dict]:
    co = checkout(api, owner, "starter_pack")
    result = fake.complete(co["session_id"], "paid")
    fake.wait()
    return co, result


def subscribe(api, fake, owner) -> tuple[dict, str]:
    co = checkout(api, owner, "pro_monthly")
    result = fake.complete(co["session_id"], "paid")
    fake.wait()
    return result, result["session"]["subscription"]


# ---------------------------------------------------------------------------------------- tests


def test_plans_listing(api):
    owner = new_owner(api)
    r = api.get("/api/billing/plans", owner)
    assert r.status_code == 200, r.text
    plans = {p["name"]: p for p in r.json()["plans"]}
    assert plans["starter_pack"]["mode"] == "payment" and plans["starter_pack"]["credits"] == 10
    assert plans["starter_pack"]["amount"] == 4900
    assert plans["pro_monthly"]["mode"] == "subscription" and plans["pro_monthly"]["credits"] == 30
    assert plans["pro_monthly"]["interval"] == "month" and plans["pro_monthly"]["amount"] == 9900
    fake = Fake()
    for p in plans.values():
        assert p["price_id"].startswith("price_")
        price = fake.api("GET", f"prices/{p['price_id']}")
        assert price["lookup_key"] == p["lookup_key"] and price["unit_amount"] == p["amount"]
    assert api.get("/api/billing/plans").status_code == 401


def test_checkout_as_owner_returns_fake_stripe_url(api, fake):
    owner = new_owner(api)
    co = checkout(api, owner, "starter_pack")
    assert co["url"].startswith(os.environ["STRIPE_API_BASE"] + "/checkout/cs_test_")
    session = fake.api("GET", f"checkout/sessions/{co['session_id']}")
    assert session["mode"] == "payment" and session["status"] == "open"
    assert session["metadata"]["tenant_id"] == owner.tenant_id and session["metadata"]["plan"] == "starter_pack"
    assert session["client_reference_id"] == owner.tenant_id
    assert session["customer"] == co["customer_id"] == billing_doc(owner.tenant_id)["stripe_customer_id"]
    assert session["success_url"].startswith(os.environ["PUBLIC_BASE_URL"])
    assert session["cancel_url"].startswith(os.environ["PUBLIC_BASE_URL"])
    customer = fake.api("GET", f"customers/{co['customer_id']}")
    assert customer["email"] == owner.email and customer["metadata"]["tenant_id"] == owner.tenant_id
    assert fs().document(f"stripe_customers/{co['customer_id']}").get().get("tenant_id") == owner.tenant_id
    # Nothing is granted by opening a checkout.
    assert billing(api, owner)["credits"] == 0


def test_members_and_viewers_cannot_buy_but_can_read(api):
    owner = new_owner(api)
    users = {}
    for role in ("member", "viewer"):
        users[role] = join(api, owner, role)  # invited, verified email, explicit accept
        assert users[role].role == role
    for role, user in users.items():
        r = api.post("/api/billing/checkout", user, json={"plan": "starter_pack"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden", (role, r.text)
        assert api.get("/api/billing/plans", user).status_code == 200
        assert billing(api, user)["credits"] == 0
    assert "stripe_customer_id" not in billing_doc(owner.tenant_id), "no customer made for a refused checkout"


def test_bad_plan_is_400_with_the_valid_names(api):
    owner = new_owner(api)
    r = api.post("/api/billing/checkout", owner, json={"plan": "gold"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "unknown_plan" and set(err["details"]["valid_plans"]) == {"starter_pack", "pro_monthly"}
    assert "starter_pack" in err["message"] and "pro_monthly" in err["message"]
    r = api.post("/api/billing/checkout", owner, json={})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    r = api.post("/api/billing/checkout", owner, json={"plan": "starter_pack", "tenant_id": "t_other123"})
    assert r.status_code == 400
    assert "stripe_customer_id" not in billing_doc(owner.tenant_id)


def test_concurrent_checkouts_make_exactly_one_customer(api, fake):
    owner = new_owner(api)
    barrier = threading.Barrier(8)

    def go(_):
        barrier.wait()
        r = Api().post("/api/billing/checkout", owner, json={"plan": "starter_pack"})
        return r.status_code, r.json()

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(go, range(8)))
    assert [s for s, _ in results] == [201] * 8, results
    ids = {body["customer_id"] for _, body in results}
    assert len(ids) == 1
    assert len({body["session_id"] for _, body in results}) == 8
    customers = fake.customers(owner.email)
    assert [c["id"] for c in customers] == list(ids), customers
    assert billing_doc(owner.tenant_id)["stripe_customer_id"] == ids.pop()


def test_checkout_retry_after_a_crash_reuses_the_customer_stripe_made(api, fake):
    """A first attempt died after Stripe created the customer but before it was recorded: the retry
    sends the same parameters with the same idempotency key and records that same customer."""
    from shared import stripe_client

    owner = new_owner(api)
    request = {"email": owner.email, "name": "Pay Co", "metadata": {"tenant_id": owner.tenant_id}}
    fs().document(f"tenants/{owner.tenant_id}/billing/state").update({"stripe_customer_request": request})
    crashed = stripe_client.client().v1.customers.create(request,
                                                         {"idempotency_key": f"customer-{owner.tenant_id}"})
    co = checkout(api, owner, "starter_pack")
    assert co["customer_id"] == crashed.id
    assert [c["id"] for c in fake.customers(owner.email)] == [crashed.id]
    assert billing_doc(owner.tenant_id)["stripe_customer_id"] == crashed.id
    assert fs().document(f"stripe_customers/{crashed.id}").get().get("tenant_id") == owner.tenant_id


def test_pack_purchase_grants_once_and_redelivery_changes_nothing(api, fake):
    owner = new_owner(api)
    _, result = buy_pack(api, fake, owner)
    state = wait_for(lambda: (b := billing(api, owner))["credits"] and b)
    assert state["credits"] == 10 and state["pack_credits"] == 10 and state["status"] == "active"
    assert state["plan"] == "starter_pack" and state["can_run"] is True
    assert [(p["status"], p["credits_granted"], p["amount"]) for p in state["payments"]] == [("paid", 10, 4900)]
    completed = event_id(result, "checkout.session.completed")
    assert fs().document(f"stripe_events/{completed}").get().get("outcome") == "granted"

    before = billing_doc(owner.tenant_id)
    fake.redeliver(completed)
    fake.wait()
    attempts = fake.deliveries(completed)
    assert [a["redelivery"] for a in attempts if a["ok"]] == [False, True]
    assert json.loads(attempts[-1]["response_body"])["outcome"] == "duplicate"
    after = billing_doc(owner.tenant_id)
    assert after["credits"] == 10 and after["updated_at"] == before["updated_at"]
    assert len(list(fs().collection(f"tenants/{owner.tenant_id}/grants").stream())) == 1
    expect(owner, 10)


def test_reversed_delivery_invoice_paid_before_checkout_completed_grants_quota_once(api, fake):
    owner = new_owner(api)
    co = checkout(api, owner, "pro_monthly")
    fake.hold()
    try:
        result = fake.complete(co["session_id"], "paid")
    finally:
        released = fake.release("reversed")
    fake.wait()
    types = {e["id"]: e["type"] for e in result["events"]}
    order = [types[e] for e in released["event_ids"] if e in types]
    assert order.index("checkout.session.completed") < order.index("invoice.paid") < order.index(
        "customer.subscription.created"), order
    sub_id = result["session"]["subscription"]
    state = wait_for(lambda: (b := billing(api, owner))["credits"] and b)
    assert state["credits"] == 30 and state["subscription_credits"] == 30
    assert state["status"] == "active" and state["plan"] == "pro_monthly"
    assert state["subscription"]["id"] == sub_id and state["period_end"]
    assert len(list(fs().collection(f"tenants/{owner.tenant_id}/grants").stream())) == 1
    # The same events again, in the original order: nothing changes.
    for eid in [e["id"] for e in result["events"]]:
        fake.redeliver(eid)
    fake.wait()
    assert billing(api, owner)["credits"] == 30
    # A second subscription is refused while this one is live.
    r = api.post("/api/billing/checkout", owner, json={"plan": "pro_monthly"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_subscribed"
    expect(owner, 30)


def test_subscription_deleted_before_an_older_updated_stays_canceled(api, fake):
    owner = new_owner(api)
    _, sub_id = subscribe(api, fake, owner)
    assert wait_for(lambda: billing(api, owner)["credits"] == 30)
    fake.hold()
    try:
        fake.api("POST", f"subscriptions/{sub_id}", **{"metadata[note]": "older update"})
        fake.api("DELETE", f"subscriptions/{sub_id}")
    finally:
        released = fake.release("reversed")
    fake.wait()
    kinds = [fake.deliveries(e)[0]["event_type"] for e in released["event_ids"]]
    assert kinds == ["customer.subscription.deleted", "customer.subscription.updated"], kinds
    updated_resp = json.loads(fake.deliveries(released["event_ids"][1])[-1]["response_body"])
    assert updated_resp["outcome"] == "ignored_older_state"
    state = billing(api, owner)
    assert state["status"] == "canceled" and state["plan"] is None
    assert state["subscription"] == {"id": sub_id, "status": "canceled", "cancel_at_period_end": False}
    assert state["credits"] == 0 and state["can_run"] is False  # the period's unused runs end with it
    assert spend(owner.tenant_id) == ["payment_required"]
    expect(owner, 0)


def test_bad_old_and_future_signatures_are_400_and_change_nothing(api):
    owner = new_owner(api)
    event = pack_event(owner.tenant_id)
    payload = json.dumps(event)
    now = int(time.time())
    cases = [
        (None, payload, "invalid_signature"),
        ("", payload, "invalid_signature"),
        ("t=abc,v1=zzz", payload, "invalid_signature"),
        (sign(payload, secret="whsec_" + "0" * 48), payload, "invalid_signature"),
        (sign(payload), payload.replace('"starter_pack"', '"pro_monthly"'), "invalid_signature"),
        (sign(payload, ts=now - 400), payload, "timestamp_out_of_tolerance"),
        (sign(payload, ts=now + 400), payload, "timestamp_out_of_tolerance"),
        (sign("not json"), "not json", "invalid_payload"),
        (sign('{"object": "list"}'), '{"object": "list"}', "invalid_payload"),
    ]
    for header, body, code in cases:
        r = post_webhook(body, header)
        assert r.status_code == 400 and r.json()["error"]["code"] == code, (header, code, r.text)
    r = post_webhook(b"\xff\xfe" + payload.encode(), sign(payload))
    assert r.status_code == 400
    assert billing_doc(owner.tenant_id)["credits"] == 0
    assert not fs().document(f"stripe_events/{event['id']}").get().exists
    # The same event, signed properly, is applied: the refusals above were the signatures' doing.
    r = post_webhook(payload, sign(payload, ts=now - 200))
    assert r.status_code == 200 and r.json()["outcome"] == "granted", r.text
    r = post_webhook(payload, sign(payload))
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    assert billing_doc(owner.tenant_id)["credits"] == 10
    expect(owner, 10)


def test_async_payment_failed_grants_nothing_and_succeeded_grants_once(api, fake):
    owner = new_owner(api)
    failing = checkout(api, owner, "starter_pack")
    fake.complete(failing["session_id"], "async")
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 0 and [p["status"] for p in state["payments"]] == ["pending"]
    fake.settle(failing["session_id"], succeeded=False)
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 0 and [p["status"] for p in state["payments"]] == ["failed"]

    ok = checkout(api, owner, "starter_pack")
    completed = fake.complete(ok["session_id"], "async")
    fake.wait()
    assert billing(api, owner)["credits"] == 0
    settled = fake.settle(ok["session_id"], succeeded=True)
    fake.wait()
    assert wait_for(lambda: billing(api, owner)["credits"] == 10)
    # Redeliver the success and the earlier 'unpaid' completion: still exactly one grant, still paid.
    fake.redeliver(event_id(settled, "checkout.session.async_payment_succeeded"))
    fake.redeliver(event_id(completed, "checkout.session.completed"))
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 10
    assert sorted(p["status"] for p in state["payments"]) == ["failed", "paid"]
    expect(owner, 10)


def test_invoice_payment_failed_makes_past_due_and_spending_refused(api, fake):
    from shared import billing as core
    from shared import errors

    owner = new_owner(api)
    _, sub_id = subscribe(api, fake, owner)
    assert wait_for(lambda: billing(api, owner)["credits"] == 30)
    assert spend(owner.tenant_id, 2) == ["ok", "ok"]
    time.sleep(1.1)  # a later second than the subscription's creation (event `created` is whole seconds)
    fake.control("POST", f"subscriptions/{sub_id}/fail_renewal")
    fake.wait()
    state = billing(api, owner)
    assert state["status"] == "past_due" and state["can_run"] is False
    assert state["credits"] == 28  # not revoked, but not spendable while past_due
    with pytest.raises(errors.PaymentRequired) as info:
        spend_once_raising(owner.tenant_id)
    assert info.value.status == 402 and info.value.code == "payment_required"
    # In a founder's words (what to do), the API's how-to in details.
    assert "payment did not go through" in info.value.message and "/api/" not in info.value.message
    assert info.value.details["reason"] == "past_due"
    assert info.value.details["buy"]["checkout"] == "POST /api/billing/checkout"
    assert core.billing_view  # (the module under test is importable from the test process)

    time.sleep(1.1)
    fake.control("POST", f"subscriptions/{sub_id}/renew")  # pays the open invoice: the new period's quota
    fake.wait()
    state = billing(api, owner)
    assert state["status"] == "active" and state["credits"] == 30, state
    assert spend(owner.tenant_id) == ["ok"]
    expect(owner, 29)


def spend_once_raising(tenant_id: str) -> None:
    from google.cloud import firestore as gfs

    from shared import billing
    from shared.clients import firestore
    from shared.store import Tenant

    @gfs.transactional
    def run(tx):
        return billing.spend_credit(tx, Tenant(tenant_id))

    run(firestore().transaction())


def test_refund_after_partial_use_revokes_only_the_unused_part(api, fake):
    owner = new_owner(api)
    _, result = buy_pack(api, fake, owner)
    pi = result["session"]["payment_intent"]
    assert wait_for(lambda: billing(api, owner)["credits"] == 10)
    assert spend(owner.tenant_id, 3) == ["ok"] * 3
    fake.api("POST", "refunds", payment_intent=pi, amount="2450")  # half the money back
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 2, state  # half the pack (5 runs) revoked; the 3 used are not touched
    assert state["payments"][0]["status"] == "partially_refunded" and state["payments"][0]["credits_revoked"] == 5
    fake.api("POST", "refunds", payment_intent=pi)  # the rest
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 0
    pay = state["payments"][0]
    assert pay["status"] == "refunded" and pay["credits_revoked"] == 7 and pay["amount_refunded"] == 4900
    expect(owner, 0)


def test_refund_delivered_before_its_payment_is_applied_when_the_grant_lands(api, fake):
    owner = new_owner(api)
    co = checkout(api, owner, "starter_pack")
    fake.hold()
    try:
        result = fake.complete(co["session_id"], "paid")
        fake.api("POST", "refunds", payment_intent=result["session"]["payment_intent"])
    finally:
        fake.release("reversed")
    fake.wait()
    state = billing(api, owner)
    assert state["credits"] == 0 and state["payments"][0]["status"] == "refunded", state
    expect(owner, 0)


def test_concurrent_spending_never_oversells(api, fake):
    from google.cloud import firestore as gfs

    from shared import billing as core
    from shared import errors
    from shared.clients import firestore
    from shared.store import Tenant

    owner = new_owner(api)
    buy_pack(api, fake, owner)
    assert wait_for(lambda: billing(api, owner)["credits"] == 10)
    tenant = Tenant(owner.tenant_id)
    barrier = threading.Barrier(50)

    def one(locked: bool, attempts: int):
        @gfs.transactional
        def run(tx):
            return core.spend_credit(tx, tenant)

        barrier.wait() if locked else None
        try:
            if locked:
                with core.tenant_lock(tenant):
                    run(firestore().transaction(max_attempts=attempts))
            else:
                run(firestore().transaction(max_attempts=attempts))
            return "ok"
        except errors.PaymentRequired:
            return "402"

    with ThreadPoolExecutor(50) as ex:
        results = Counter(ex.map(lambda _: one(True, 5), range(50)))
    assert results == {"ok": 10, "402": 40}, results
    assert billing_doc(owner.tenant_id)["credits"] == 0

    # Without the in-process lock (as across instances): the transaction alone still never oversells.
    buy_pack(api, fake, owner)
    assert wait_for(lambda: billing(api, owner)["credits"] == 10)
    assert spend(owner.tenant_id, 8) == ["ok"] * 8
    with ThreadPoolExecutor(4) as ex:
        results = Counter(ex.map(lambda _: one(False, 30), range(4)))
    assert results == {"ok": 2, "402": 2}, results
    assert billing_doc(owner.tenant_id)["credits"] == 0
    expect(owner, 0)


@pytest.mark.parametrize("where,bad_id", [("event", "__x__"), ("event", ".."), ("payment_intent", "__pi__"),
                                          ("payment_intent", "..")])
def test_an_id_firestore_cannot_store_is_acknowledged_not_a_500(api, where, bad_id):
    owner = new_owner(api)
    event = pack_event(owner.tenant_id, pi=bad_id if where == "payment_intent" else None,
                       eid=bad_id if where == "event" else None)
    payload = json.dumps(event)
    r = post_webhook(payload, sign(payload))
    # 2xx: the event can never be applied, so Stripe must not retry it; and nothing was granted.
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "unstorable_id"
    assert billing_doc(owner.tenant_id)["credits"] == 0
    again = post_webhook(payload, sign(payload))
    assert again.status_code == 200 and again.json()["outcome"] == "unstorable_id"


def test_the_customer_mapping_wins_over_metadata_naming_another_tenant(api, fake):
    a, b = new_owner(api), new_owner(api)
    co = checkout(api, a, "starter_pack")  # creates A's Stripe customer and its mapping
    event = pack_event(b.tenant_id)  # metadata and client_reference_id name B ...
    event["data"]["object"]["customer"] = co["customer_id"]  # ... but the customer is A's
    payload = json.dumps(event)
    r = post_webhook(payload, sign(payload))
    assert r.status_code == 200 and r.json()["outcome"] == "granted", r.text
    assert billing_doc(a.tenant_id)["credits"] == 10
    assert billing_doc(b.tenant_id)["credits"] == 0
    assert fs().document(f"stripe_events/{event['id']}").get().to_dict()["tenant_id"] == a.tenant_id
    expect(a, 10)
    expect(b, 0)


def test_zz_credits_customers_and_deliveries_are_exactly_right(api, fake):
    """After everything above: every tenant's credits and Stripe customers are exactly as expected."""
    assert EXPECTED, "the tests above registered their tenants"
    for tenant_id, (email, credits) in EXPECTED.items():
        doc = billing_doc(tenant_id)
        assert doc["credits"] == credits, (tenant_id, doc)
        customers = fake.customers(email)
        assert len(customers) <= 1, customers
        if customers:
            assert doc["stripe_customer_id"] == customers[0]["id"]
            assert customers[0]["metadata"]["tenant_id"] == tenant_id
    # Every webhook the fake delivered was answered 2xx at the first attempt (no processing errors).
    mine = fake.deliveries()[fake.first_delivery:]
    assert len(mine) > 50
    failed = [(a["event_type"], a["status"], a["response_body"]) for a in mine if not a["ok"]]
    assert not failed, failed
