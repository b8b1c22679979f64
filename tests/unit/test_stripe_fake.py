"""Tests for the local Stripe fake (emulator/stripe_fake), driven through the
official ``stripe`` library (v16) wherever the library has a call for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from emulator.stripe_fake.server import FakeStripe

SECRET = "whsec_unit_test_secret"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
class Receiver:
    """Tiny webhook receiver: records every POST, answers 500 to the first
    ``fail[event_type]`` deliveries of that type, 200 otherwise."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict] = []
        self.fail: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # silence
                pass

            def do_POST(self):
                body = self.rfile.read(
                    int(self.headers.get("Content-Length") or 0)
                ).decode("utf-8")
                etype = json.loads(body).get("type")
                with outer.lock:
                    outer.received.append(
                        {
                            "body": body,
                            "sig": self.headers.get("Stripe-Signature"),
                            "path": self.path,
                        }
                    )
                    status = 200
                    if outer.fail.get(etype, 0) > 0:
                        outer.fail[etype] -= 1
                        status = 500
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()

    def events(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [
                json.loads(r["body"])
                for r in self.received
                if path is None or r["path"] == path
            ]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.fail.clear()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def fake(receiver):
    fs = FakeStripe(
        host="127.0.0.1",
        port=0,
        webhook_url=receiver.url + "/hook",
        webhook_secret=SECRET,
        retry_schedule=(0.05, 0.1, 0.2),
        log_requests=False,
    )
    fs.start()
    yield fs
    fs.stop()


@pytest.fixture(autouse=True)
def _clean(fake, receiver):
    fake.reset()
    receiver.clear()
    yield


@pytest.fixture
def client(fake):
    return stripe.StripeClient(
        "sk_test_unit", base_addresses={"api": fake.url}, max_network_retries=0
    )


def ctl(
    fake: FakeStripe, method: str, path: str, body: dict | None = None
) -> tuple[int, dict]:
    data = (
        json.dumps(body).encode()
        if body is not None
        else (b"" if method == "POST" else None)
    )
    req = urllib.request.Request(
        fake.url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def raw(
    fake: FakeStripe,
    method: str,
    path: str,
    form: str | None = None,
    headers: dict | None = None,
):
    hdrs = {"Authorization": "Bearer sk_test_raw"}
    hdrs.update(headers or {})
    data = form.encode() if form is not None else None
    if data is not None:
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(
        fake.url + path, data=data, method=method, headers=hdrs
    )
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


_NO_REDIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def catalog(client, recurring: bool, amount: int = 1900):
    prod = client.v1.products.create(
        params={"name": "Pro plan", "metadata": {"tier": "pro"}}
    )
    params = {"product": prod.id, "unit_amount": amount, "currency": "usd"}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return prod, client.v1.prices.create(params=params)


def types_of(result: dict) -> list[str]:
    return [e["type"] for e in result["events"]]


# ---------------------------------------------------------------------------
# resources, params, errors
# ---------------------------------------------------------------------------
def test_create_customer_product_price_session(client, fake):
    cus = client.v1.customers.create(
        params={
            "email": "ann@example.com",
            "name": "Ann",
            "metadata": {"tenant_id": "t1"},
        }
    )
    assert isinstance(cus, stripe.Customer)
    assert (
        cus.id.startswith("cus_") and cus.object == "customer" and cus.livemode is False
    )
    assert cus.metadata["tenant_id"] == "t1"
    prod, price = catalog(client, recurring=True)
    assert prod.id.startswith("prod_") and price.id.startswith("price_")
    assert price.recurring.interval == "month" and price.type == "recurring"
    assert (
        client.v1.prices.retrieve(price.id, params={"expand": ["product"]}).product.name
        == "Pro plan"
    )

    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 2}],
            "customer": cus.id,
            "success_url": "https://app.example/ok?sid={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://app.example/cancel",
            "client_reference_id": "tenant-1",
            "metadata": {"tenant_id": "t1"},
            "subscription_data": {"metadata": {"tenant_id": "t1"}},
            "allow_promotion_codes": True,
        }
    )
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert (
        session.status,
        session.payment_status,
        session.amount_total,
        session.currency,
    ) == ("open", "unpaid", 3800, "usd")
    assert (
        session.customer == cus.id
        and session.subscription is None
        and session.metadata["tenant_id"] == "t1"
    )

    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.price.id, i.quantity, i.amount_total) for i in items.data] == [
        (price.id, 2, 3800)
    ]
    listed = client.v1.checkout.sessions.list(params={"customer": cus.id})
    assert [s.id for s in listed.data] == [session.id]

    # list filters: email on customers, lookup_keys[] on prices
    client.v1.customers.create(params={"email": "bob@example.com"})
    assert [
        c.id for c in client.v1.customers.list(params={"email": "ann@example.com"}).data
    ] == [cus.id]
    keyed = client.v1.prices.create(
        params={
            "product": prod.id,
            "unit_amount": 500,
            "currency": "usd",
            "lookup_key": "basic",
        }
    )
    assert [
        p.id for p in client.v1.prices.list(params={"lookup_keys": ["basic"]}).data
    ] == [keyed.id]
    status, _, body = raw(
        fake, "GET", "/v1/prices?lookup_keys[]=basic&expand[]=data.product"
    )
    assert (
        status == 200 and json.loads(body)["data"][0]["product"]["name"] == "Pro plan"
    )

    updated = client.v1.customers.update(
        cus.id, params={"name": "Ann B", "metadata": {"plan": "pro"}}
    )
    assert updated.name == "Ann B" and updated.metadata.to_dict() == {
        "tenant_id": "t1",
        "plan": "pro",
    }
    evt = fake.events("customer.updated")[-1]
    assert evt["data"]["previous_attributes"] == {
        "name": "Ann",
        "metadata": {"plan": None},
    }
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.deleted is True


def test_unknown_and_invalid_params_are_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(
            params={"email": "a@example.com", "favourite_color": "red"}
        )
    assert exc.value.http_status == 400
    assert (
        exc.value.code == "parameter_unknown" and exc.value.param == "favourite_color"
    )

    _, price = catalog(client, recurring=False)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": "https://x.example/ok",
                "line_items": [{"price": price.id, "quantity": 1, "colour": "x"}],
            }
        )
    assert (
        exc.value.param == "line_items[0][colour]"
        and exc.value.code == "parameter_unknown"
    )

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={"product": "prod_x", "currency": "usd", "unit_amount": "abc"}
        )  # type: ignore[typeddict-item]
    assert (
        exc.value.code == "parameter_invalid_integer"
        and exc.value.param == "unit_amount"
    )

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "https://x.example/ok"}
        )
    assert exc.value.code == "parameter_missing" and exc.value.param == "line_items"

    _, recurring = catalog(client, recurring=True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [{"price": recurring.id, "quantity": 1}],
            }
        )
    assert (
        "recurring price" in exc.value.user_message
        and exc.value.param == "line_items[0][price]"
    )


def test_missing_resource_and_auth_errors(client, fake):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.retrieve("sub_missing")
    assert exc.value.http_status == 404
    assert exc.value.json_body == {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such subscription: 'sub_missing'",
            "param": "id",
        }
    }
    bad = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": fake.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as exc:
        bad.v1.customers.list()
    assert exc.value.http_status == 401
    status, _, body = raw(fake, "GET", "/v1/customers", headers={"Authorization": ""})
    assert (
        status == 401 and json.loads(body)["error"]["type"] == "invalid_request_error"
    )
    status, _, body = raw(fake, "GET", "/v1/nothing_here")
    assert (
        status == 404
        and "Unrecognized request URL" in json.loads(body)["error"]["message"]
    )


def test_form_encoding_brackets_and_expand_forms(fake):
    status, headers, body = raw(
        fake,
        "POST",
        "/v1/customers",
        "email=x%40example.com&metadata[tenant_id]=t-9&metadata[plan]=pro",
        headers={"Stripe-Version": "2025-03-31.basil"},
    )
    cus = json.loads(body)
    assert status == 200 and cus["metadata"] == {"tenant_id": "t-9", "plan": "pro"}
    assert headers["Stripe-Version"] == "2025-03-31.basil"
    prod = json.loads(raw(fake, "POST", "/v1/products", "name=Widget&id=widget_1")[2])
    assert prod["id"] == "widget_1"
    form = (
        "product=widget_1&unit_amount=700&currency=usd&recurring[interval]=year"
        "&expand[]=product"
    )
    price = json.loads(raw(fake, "POST", "/v1/prices", form)[2])
    assert (
        price["product"]["id"] == "widget_1"
        and price["recurring"]["interval"] == "year"
    )
    form = (
        "mode=subscription&line_items[0][price]={}&line_items[0][quantity]=3&customer={}"
        "&subscription_data[metadata][tenant_id]=t-9&payment_method_types[0]=card&expand[0]=customer".format(
            price["id"], cus["id"]
        )
    )
    status, _, body = raw(fake, "POST", "/v1/checkout/sessions", form)
    session = json.loads(body)
    assert (
        status == 200
        and session["customer"]["email"] == "x@example.com"
        and session["amount_total"] == 2100
    )
    status, _, body = raw(
        fake, "POST", "/v1/customers", "email=y%40example.com&metadata[a][b]=c"
    )
    assert status == 400 and json.loads(body)["error"]["param"] == "metadata[a]"


def test_idempotency_replay_and_conflict(client, fake):
    opts = {"idempotency_key": "idem-customer-1"}
    first = client.v1.customers.create(params={"email": "i@example.com"}, options=opts)
    second = client.v1.customers.create(params={"email": "i@example.com"}, options=opts)
    assert first.id == second.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert len(client.v1.customers.list().data) == 1
    assert len(fake.events("customer.created")) == 1
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"email": "other@example.com"}, options=opts)
    assert exc.value.http_status == 400 and exc.value.error.type == "idempotency_error"
    # a request that failed validation is not stored under its key
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(
            params={"bogus": "1"}, options={"idempotency_key": "idem-2"}
        )
    ok = client.v1.customers.create(
        params={"email": "z@example.com"}, options={"idempotency_key": "idem-2"}
    )
    assert ok.email == "z@example.com"


def test_concurrent_requests_with_one_idempotency_key_create_one_customer(client, fake):
    n = 12
    barrier = threading.Barrier(n)
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            c = client.v1.customers.create(
                params={"email": "race@example.com"},
                options={"idempotency_key": "race-key"},
            )
            ids.append(c.id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(ids) == n and len(set(ids)) == 1
    assert len(client.v1.customers.list(params={"limit": 100}).data) == 1


def test_list_pagination_with_auto_paging(client):
    made = [
        client.v1.customers.create(params={"email": f"p{i}@example.com"}).id
        for i in range(5)
    ]
    page = client.v1.customers.list(params={"limit": 2})
    assert page.has_more is True and [c.id for c in page.data] == made[::-1][:2]
    assert [c.id for c in page.auto_paging_iter()] == made[::-1]


# ---------------------------------------------------------------------------
# checkout flows
# ---------------------------------------------------------------------------
def _payment_session(client, **extra):
    _, price = catalog(client, recurring=False, amount=4900)
    params = {
        "mode": "payment",
        "line_items": [{"price": price.id, "quantity": 1}],
        "customer_email": "buyer@example.com",
        "success_url": "https://app.example/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example/cancel",
        "payment_intent_data": {"metadata": {"order": "o-1"}},
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


def _sub_session(client, customer=None):
    _, price = catalog(client, recurring=True, amount=1900)
    params = {
        "mode": "subscription",
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "https://app.example/done?session_id={CHECKOUT_SESSION_ID}",
        "subscription_data": {"metadata": {"tenant_id": "t-42"}},
        "metadata": {"tenant_id": "t-42"},
    }
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = "sub@example.com"
    return client.v1.checkout.sessions.create(params=params)


def test_payment_mode_paid(client, fake):
    session = _payment_session(client)
    status, result = ctl(
        fake, "POST", f"/_fake/checkout/{session.id}/complete", {"outcome": "paid"}
    )
    assert status == 200
    assert types_of(result) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    s = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    assert (s.status, s.payment_status, s.url) == ("complete", "paid", None)
    assert s.customer_details.email == "buyer@example.com"
    pi = s.payment_intent
    assert (
        pi.id.startswith("pi_")
        and pi.status == "succeeded"
        and pi.amount_received == 4900
    )
    assert pi.metadata["order"] == "o-1"
    assert pi.latest_charge.id.startswith("ch_") and pi.latest_charge.paid is True
    assert [
        c.id for c in client.v1.charges.list(params={"payment_intent": pi.id}).data
    ] == [pi.latest_charge.id]
    completed = client.v1.events.list(
        params={"type": "checkout.session.completed"}
    ).data
    assert len(completed) == 1 and completed[0].data.object.id == session.id
    assert completed[0].data.object.payment_status == "paid"
    # a completed session cannot be completed again
    status, err = ctl(
        fake, "POST", f"/_fake/checkout/{session.id}/complete", {"outcome": "paid"}
    )
    assert status == 400 and err["error"]["code"] == "checkout_session_not_open"


def test_payment_mode_async_then_settle(client, fake):
    ok = _payment_session(client)
    r = fake.complete_checkout(ok.id, "async")
    assert types_of(r) == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "checkout.session.completed",
    ]
    assert (r["session"]["status"], r["session"]["payment_status"]) == (
        "complete",
        "unpaid",
    )
    status, r = ctl(
        fake, "POST", f"/_fake/payments/{ok.id}/settle", {"succeeded": True}
    )
    assert status == 200
    assert types_of(r) == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
    ]
    assert client.v1.checkout.sessions.retrieve(ok.id).payment_status == "paid"

    bad = _payment_session(client)
    fake.complete_checkout(bad.id, "async")
    status, r = ctl(
        fake, "POST", f"/_fake/payments/{bad.id}/settle", {"succeeded": False}
    )
    assert types_of(r) == [
        "charge.failed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]
    s = client.v1.checkout.sessions.retrieve(
        bad.id, params={"expand": ["payment_intent"]}
    )
    assert (
        s.payment_status == "unpaid"
        and s.payment_intent.status == "requires_payment_method"
    )
    status, _err = ctl(
        fake, "POST", f"/_fake/payments/{bad.id}/settle", {"succeeded": True}
    )
    assert status == 400


def test_subscription_mode_paid(client, fake):
    cus = client.v1.customers.create(params={"email": "owner@example.com"})
    session = _sub_session(client, customer=cus.id)
    r = fake.complete_checkout(session.id, "paid")
    assert types_of(r) == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]
    s = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "invoice"]}
    )
    assert (s.status, s.payment_status, s.customer) == ("complete", "paid", cus.id)
    sub = s.subscription
    assert (
        sub.id.startswith("sub_") and sub.status == "active" and sub.customer == cus.id
    )
    assert sub.metadata["tenant_id"] == "t-42"
    item = sub["items"].data[0]
    assert item.current_period_start == sub.current_period_start
    assert item.current_period_end == sub.current_period_end
    assert 28 * 86400 <= sub.current_period_end - sub.current_period_start <= 31 * 86400
    inv = s.invoice
    assert (
        inv.id.startswith("in_")
        and inv.status == "paid"
        and inv.billing_reason == "subscription_create"
    )
    assert inv.amount_paid == 1900 and inv.customer == cus.id
    assert (
        inv.subscription == sub.id
        and inv.parent.subscription_details.subscription == sub.id
    )
    assert inv.lines.data[0].period.end == sub.current_period_end
    assert sub.latest_invoice == inv.id
    assert [
        i.id for i in client.v1.invoices.list(params={"subscription": sub.id}).data
    ] == [inv.id]
    created = fake.events("customer.subscription.created")[0]
    assert (
        created["data"]["object"]["status"] == "active"
        and created["request"]["id"] is None
    )


def test_subscription_mode_creates_customer_and_async(client, fake):
    session = _sub_session(client)
    r = fake.complete_checkout(session.id, "async", email="new@example.com")
    assert types_of(r) == [
        "customer.created",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "checkout.session.completed",
    ]
    sub = client.v1.subscriptions.retrieve(r["session"]["subscription"])
    assert sub.status == "incomplete"
    assert client.v1.customers.retrieve(sub.customer).email == "new@example.com"
    r = fake.settle_payment(session.id, True)
    assert types_of(r) == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
        "checkout.session.async_payment_succeeded",
    ]
    upd = fake.events("customer.subscription.updated")[-1]
    assert upd["data"]["object"]["status"] == "active"
    assert upd["data"]["previous_attributes"] == {"status": "incomplete"}


def test_checkout_page_pay_decline_and_redirect(client, fake):
    session = _payment_session(client)
    with _OPENER.open(session.url, timeout=5) as resp:
        html = resp.read().decode()
    for marker in (
        'id="pay"',
        'id="pay-async"',
        'id="decline"',
        'value="buyer@example.com"',
        "Pro plan",
        "49.00 USD",
        'id="cancel" href="https://app.example/cancel"',
    ):
        assert marker in html

    pay_url = f"{fake.url}/checkout/{session.id}/pay"
    form = urllib.parse.urlencode(
        {"outcome": "declined", "email": "buyer@example.com"}
    ).encode()
    try:
        _NO_REDIRECT.open(urllib.request.Request(pay_url, data=form), timeout=5)
        raise AssertionError("decline should not succeed")
    except urllib.error.HTTPError as exc:
        assert exc.code == 402
        assert 'id="error"' in exc.read().decode()
    s = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert s.status == "open" and s.payment_intent.status == "requires_payment_method"
    assert [e["type"] for e in fake.events()][-3:] == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]

    form = urllib.parse.urlencode(
        {"outcome": "paid", "email": "buyer@example.com"}
    ).encode()
    try:
        _NO_REDIRECT.open(urllib.request.Request(pay_url, data=form), timeout=5)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303
        assert (
            exc.headers["Location"]
            == f"https://app.example/done?session_id={session.id}"
        )
    s = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert s.payment_status == "paid" and s.payment_intent.status == "succeeded"
    # the retry reused the declined payment intent
    assert len(client.v1.payment_intents.list().data) == 1


def test_expire_session(client, fake):
    session = _payment_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    assert fake.events()[-1]["type"] == "checkout.session.expired"
    status, _ = ctl(
        fake, "POST", f"/_fake/checkout/{session.id}/complete", {"outcome": "paid"}
    )
    assert status == 400


# ---------------------------------------------------------------------------
# webhooks
# ---------------------------------------------------------------------------
def test_webhooks_signed_retried_and_logged(client, fake, receiver):
    receiver.fail["customer.created"] = 1
    cus = client.v1.customers.create(params={"email": "hook@example.com"})
    status, body = ctl(fake, "POST", "/_fake/deliveries/wait", {"timeout": 5})
    assert status == 200 and body["idle"] is True
    got = [
        r
        for r in receiver.received
        if json.loads(r["body"])["type"] == "customer.created"
    ]
    assert len(got) == 2  # first answered 500, retried
    for r in got:
        event = stripe.Webhook.construct_event(r["body"], r["sig"], SECRET)
        assert event.type == "customer.created" and event.data.object.id == cus.id
        assert event.object == "event" and event.livemode is False and event.api_version
        assert event.request.idempotency_key  # the library sends one on every POST
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(got[0]["body"], got[0]["sig"], "whsec_wrong")
    status, log = ctl(fake, "GET", "/_fake/deliveries")
    attempts = [
        (d["attempt"], d["status"], d["ok"])
        for d in log["data"]
        if d["event_type"] == "customer.created"
    ]
    assert attempts == [(1, 500, False), (2, 200, True)]
    entry = log["data"][0]
    assert entry["event_id"] == json.loads(got[0]["body"])["id"]
    assert entry["endpoint"] == receiver.url + "/hook" and entry["timestamp"] > 0


def test_webhook_gives_up_after_schedule(client, fake, receiver):
    receiver.fail["product.created"] = 10
    client.v1.products.create(params={"name": "Flaky"})
    assert fake.wait_for_deliveries(5)
    attempts = [d for d in fake.deliveries() if d["event_type"] == "product.created"]
    assert [d["attempt"] for d in attempts] == [1, 2, 3, 4]  # 1 + len(retry_schedule)
    assert attempts[-1]["will_retry"] is False and not any(d["ok"] for d in attempts)


def test_webhook_endpoint_api_and_filtering(client, fake, receiver):
    we = client.v1.webhook_endpoints.create(
        params={
            "url": receiver.url + "/api-hook",
            "enabled_events": ["customer.created"],
        }
    )
    assert we.id.startswith("we_") and we.secret.startswith("whsec_")
    assert "secret" not in client.v1.webhook_endpoints.retrieve(we.id)
    client.v1.products.create(params={"name": "Ignored"})
    cus = client.v1.customers.create(params={"email": "api@example.com"})
    assert fake.wait_for_deliveries(5)
    api_hits = [r for r in receiver.received if r["path"] == "/api-hook"]
    assert len(api_hits) == 1
    event = stripe.Webhook.construct_event(
        api_hits[0]["body"], api_hits[0]["sig"], we.secret
    )
    assert event.data.object.id == cus.id
    assert [w.id for w in client.v1.webhook_endpoints.list().data] == [we.id]
    assert client.v1.webhook_endpoints.delete(we.id).deleted is True
    client.v1.customers.create(params={"email": "api2@example.com"})
    assert fake.wait_for_deliveries(5)
    assert len([r for r in receiver.received if r["path"] == "/api-hook"]) == 1


def test_redeliver_duplicates_event(client, fake, receiver):
    cus = client.v1.customers.create(params={"email": "dup@example.com"})
    assert fake.wait_for_deliveries(5)
    evt_id = fake.events("customer.created")[0]["id"]
    status, body = ctl(fake, "POST", f"/_fake/events/{evt_id}/redeliver")
    assert status == 200 and body["event"]["id"] == evt_id
    assert fake.wait_for_deliveries(5)
    bodies = [e for e in receiver.events("/hook") if e["id"] == evt_id]
    assert (
        len(bodies) == 2
        and bodies[0] == bodies[1]
        and bodies[0]["data"]["object"]["id"] == cus.id
    )
    log = fake.deliveries(evt_id)
    assert [d["redelivery"] for d in log] == [False, True]
    assert ctl(fake, "POST", "/_fake/events/evt_nope/redeliver")[0] == 404


def test_hold_and_release_reversed(client, fake, receiver):
    assert ctl(fake, "POST", "/_fake/deliveries/hold")[1]["holding"] is True
    made = [
        client.v1.customers.create(params={"email": f"o{i}@example.com"}).id
        for i in range(3)
    ]
    time.sleep(0.1)
    assert receiver.received == []
    status, body = ctl(fake, "GET", "/_fake/deliveries")
    assert body["held"] == 3 and body["holding"] is True
    status, body = ctl(fake, "POST", "/_fake/deliveries/release", {"order": "reversed"})
    assert status == 200 and body["released"] == 3
    assert fake.wait_for_deliveries(5)
    assert [e["data"]["object"]["id"] for e in receiver.events("/hook")] == made[::-1]
    created = [e["created"] for e in fake.events()]
    assert created == sorted(created)


# ---------------------------------------------------------------------------
# subscription lifecycle, refunds
# ---------------------------------------------------------------------------
def _active_subscription(client, fake):
    session = _sub_session(client)
    r = fake.complete_checkout(session.id, "paid")
    return client.v1.subscriptions.retrieve(r["session"]["subscription"])


def test_renewal_and_failed_renewal(client, fake):
    sub = _active_subscription(client, fake)
    old_start, old_end = sub.current_period_start, sub.current_period_end
    status, r = ctl(fake, "POST", f"/_fake/subscriptions/{sub.id}/renew")
    assert status == 200
    assert types_of(r) == [
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert (
        renewed.current_period_start == old_end and renewed.current_period_end > old_end
    )
    assert renewed["items"].data[0].current_period_end == renewed.current_period_end
    inv = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert (
        inv.billing_reason == "subscription_cycle"
        and inv.status == "paid"
        and inv.amount_paid == 1900
    )
    assert (inv.period_start, inv.period_end) == (
        old_start,
        old_end,
    )  # Stripe: the period just ended
    assert inv.lines.data[0].period.start == old_end
    upd = fake.events("customer.subscription.updated")[-1]
    assert upd["data"]["previous_attributes"]["current_period_end"] == old_end

    status, r = ctl(fake, "POST", f"/_fake/subscriptions/{sub.id}/fail_renewal")
    assert types_of(r) == [
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    failed = client.v1.subscriptions.retrieve(sub.id)
    assert failed.status == "past_due"
    open_inv = client.v1.invoices.retrieve(failed.latest_invoice)
    assert (
        open_inv.status == "open"
        and open_inv.amount_paid == 0
        and open_inv.attempt_count == 1
    )
    assert (
        fake.events("customer.subscription.updated")[-1]["data"]["previous_attributes"][
            "status"
        ]
        == "active"
    )
    # paying the open invoice brings the subscription back
    r = fake.renew_subscription(sub.id)
    assert r["invoice"]["id"] == open_inv.id and r["invoice"]["status"] == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 3


def test_subscription_update_and_cancel(client, fake):
    sub = _active_subscription(client, fake)
    upd = client.v1.subscriptions.update(
        sub.id, params={"cancel_at_period_end": True, "metadata": {"x": "1"}}
    )
    assert upd.cancel_at_period_end is True and upd.cancel_at == upd.current_period_end
    evt = fake.events("customer.subscription.updated")[-1]
    assert evt["data"]["previous_attributes"]["cancel_at_period_end"] is False
    r = fake.renew_subscription(
        sub.id
    )  # period end reached: cancels instead of renewing
    assert (
        types_of(r) == ["customer.subscription.deleted"]
        and r["subscription"]["status"] == "canceled"
    )

    other = _active_subscription(client, fake)
    canceled = client.v1.subscriptions.cancel(other.id)
    assert canceled.status == "canceled" and canceled.ended_at
    assert fake.events()[-1]["type"] == "customer.subscription.deleted"
    assert client.v1.subscriptions.list().data == []
    assert len(client.v1.subscriptions.list(params={"status": "all"}).data) == 2
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(other.id, params={"cancel_at_period_end": False})


def test_refund_emits_charge_refunded(client, fake):
    session = _payment_session(client)
    r = fake.complete_checkout(session.id, "paid")
    pi_id = r["session"]["payment_intent"]
    refund = client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 1000})
    assert (
        refund.id.startswith("re_")
        and refund.amount == 1000
        and refund.status == "succeeded"
    )
    charge = client.v1.charges.retrieve(refund.charge)
    assert charge.amount_refunded == 1000 and charge.refunded is False
    evt = fake.events("charge.refunded")[-1]
    assert evt["data"]["object"]["amount_refunded"] == 1000
    assert evt["data"]["previous_attributes"] == {"amount_refunded": 0}
    full = client.v1.refunds.create(params={"charge": charge.id})
    assert full.amount == 3900
    evt = fake.events("charge.refunded")[-1]
    assert (
        evt["data"]["object"]["amount_refunded"] == 4900
        and evt["data"]["object"]["refunded"] is True
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id})
    assert exc.value.code == "charge_already_refunded"
    assert [
        x.id for x in client.v1.refunds.list(params={"charge": charge.id}).data
    ] == [full.id, refund.id]


# ---------------------------------------------------------------------------
# controls, CLI
# ---------------------------------------------------------------------------
def test_health_and_reset(client, fake):
    assert ctl(fake, "GET", "/_fake/health") == (200, {"ok": True, "url": fake.url})
    client.v1.customers.create(params={"email": "gone@example.com"})
    assert ctl(fake, "POST", "/_fake/reset")[0] == 200
    assert client.v1.customers.list().data == [] and client.v1.events.list().data == []
    assert ctl(fake, "POST", "/_fake/nope")[0] == 404


def test_state_file_roundtrip(tmp_path):
    path = str(tmp_path / "fake-state.json")
    first = FakeStripe(port=0, state_file=path, log_requests=False).start()
    try:
        c = stripe.StripeClient(
            "sk_test_state", base_addresses={"api": first.url}, max_network_retries=0
        )
        cus = c.v1.customers.create(
            params={"email": "keep@example.com", "metadata": {"k": "v"}}
        )
    finally:
        first.stop()
    second = FakeStripe(port=0, state_file=path, log_requests=False).start()
    try:
        c = stripe.StripeClient(
            "sk_test_state", base_addresses={"api": second.url}, max_network_retries=0
        )
        again = c.v1.customers.retrieve(cus.id)
        assert again.email == "keep@example.com" and again.metadata["k"] == "v"
        assert [e.type for e in c.v1.events.list().data] == ["customer.created"]
    finally:
        second.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    state = tmp_path / "state.json"
    cmd = [
        sys.executable,
        "-m",
        "emulator.stripe_fake",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--webhook-url",
        "http://127.0.0.1:9/none",
        "--retry-schedule",
        "0.1,0.2",
        "--state-file",
        str(state),
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with _OPENER.open(url + "/_fake/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        c = stripe.StripeClient(
            "sk_test_cli", base_addresses={"api": url}, max_network_retries=0
        )
        cus = c.v1.customers.create(params={"email": "cli@example.com"})
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert out == ""
    assert all({"severity", "message"} <= set(line) for line in lines)
    assert any(
        line.get("path") == "/v1/customers" and line.get("status") == 200
        for line in lines
    )
    assert any(line.get("webhook_secret", "").startswith("whsec_") for line in lines)
    saved = json.loads(state.read_text())
    assert saved["objects"][cus.id]["email"] == "cli@example.com"
