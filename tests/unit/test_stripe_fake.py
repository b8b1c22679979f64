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


# ---------------------------------------------------------------------------
# checkout flows
# ---------------------------------------------------------------------------
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
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    port = _free_port()
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
    assert cus.email == "cli@example.com"


# ---------------------------------------------------------------------------
# the contract (contract.json): routes, parameters, flows
# ---------------------------------------------------------------------------
def test_routes_are_exactly_the_contract():
    from emulator.stripe_fake import api

    contract = api.load_contract()
    keys = {f"{e['method']} {e['path']}" for e in contract["endpoints"]}
    assert keys == set(api.HANDLERS), "every contract endpoint has a handler, and only those"
    assert len(api.ROUTES) == len(keys)
    assert contract["spec"]["source"].startswith("stripe/openapi@")


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/charges"), ("GET", "/v1/events"), ("POST", "/v1/webhook_endpoints"),
    ("GET", "/v1/products"), ("POST", "/v1/customers/cus_x"), ("DELETE", "/v1/customers/cus_x"),
    ("POST", "/v1/checkout/sessions/cs_x/expire"), ("GET", "/v1/refunds"), ("GET", "/v1/subscriptions"),
])
def test_routes_outside_the_contract_are_unrecognized(fake, method, path):
    status, _, body = raw(fake, method, path, "" if method == "POST" else None)
    err = json.loads(body)["error"]
    assert status == 404 and err["type"] == "invalid_request_error"
    assert err["message"].startswith(f"Unrecognized request URL ({method}: {path})")


@pytest.mark.parametrize("path,form,param", [
    ("/v1/customers", "email=a%40example.com&phone=1", "phone"),
    ("/v1/customers", "email=a%40example.com&expand[]=x", "expand"),
    ("/v1/checkout/sessions", "mode=payment&customer_email=a%40example.com", "customer_email"),
    ("/v1/checkout/sessions", "mode=payment&line_items[0][price_data][currency]=usd", "line_items[0][price_data]"),
    ("/v1/prices", "product=p&unit_amount=1&currency=usd&tax_behavior=inclusive", "tax_behavior"),
    ("/v1/refunds", "payment_intent=pi_x&reason=duplicate", "reason"),
])
def test_parameters_outside_the_contract_are_parameter_unknown(fake, path, form, param):
    status, _, body = raw(fake, "POST", path, form)
    err = json.loads(body)["error"]
    assert status == 400 and err["code"] == "parameter_unknown" and err["param"] == param, err


def test_list_filters_of_the_reconciler(client, fake):
    _, price = catalog(client, recurring=False, amount=900)
    cus = client.v1.customers.create(params={"email": "r@example.com"})
    ids = []
    for _ in range(3):
        s = client.v1.checkout.sessions.create(params={
            "mode": "payment", "customer": cus.id, "success_url": "https://a.example/ok",
            "line_items": [{"price": price.id, "quantity": 1}]})
        ids.append(s.id)
    fake.complete_checkout(ids[0], "paid")
    fake.complete_checkout(ids[2], "paid")
    since = int(time.time()) - 60
    listed = client.v1.checkout.sessions.list({"created": {"gte": since}, "status": "complete", "limit": 1})
    assert sorted(s.id for s in listed.auto_paging_iter()) == sorted([ids[0], ids[2]])
    assert list(client.v1.checkout.sessions.list({"created": {"gte": int(time.time()) + 60}}).data) == []
    assert list(client.v1.invoices.list({"created": {"gte": since}, "status": "paid"}).data) == []


def test_payment_refund_and_subscription_flows(client, fake):
    _, pack = catalog(client, recurring=False, amount=4900)
    _, monthly = catalog(client, recurring=True, amount=1900)
    cus = client.v1.customers.create(params={"email": "f@example.com", "metadata": {"tenant_id": "t1"}})
    s = client.v1.checkout.sessions.create(params={
        "mode": "payment", "customer": cus.id, "client_reference_id": "t1", "metadata": {"plan": "p"},
        "payment_intent_data": {"metadata": {"plan": "p"}}, "success_url": "https://a.example/ok",
        "line_items": [{"price": pack.id, "quantity": 1}]})
    done = fake.complete_checkout(s.id, "paid")
    assert types_of(done)[-1] == "checkout.session.completed"
    pi = done["session"]["payment_intent"]
    assert client.v1.checkout.sessions.retrieve(s.id).payment_status == "paid"
    half = client.v1.refunds.create(params={"payment_intent": pi, "amount": 2450})
    rest = client.v1.refunds.create(params={"payment_intent": pi})
    assert (half.amount, rest.amount) == (2450, 2450)
    refunded = fake.events("charge.refunded")
    assert [e["data"]["object"]["amount_refunded"] for e in refunded] == [2450, 4900]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi})
    assert exc.value.code == "charge_already_refunded"
    # subscription: checkout, renewal, a failed renewal, a metadata update, cancellation
    s = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": cus.id, "subscription_data": {"metadata": {"plan": "m"}},
        "success_url": "https://a.example/ok", "line_items": [{"price": monthly.id, "quantity": 1}]})
    sub_id = fake.complete_checkout(s.id, "paid")["session"]["subscription"]
    assert "invoice.paid" in types_of(fake.renew_subscription(sub_id))
    assert "invoice.payment_failed" in types_of(fake.fail_renewal(sub_id))
    upd = client.v1.subscriptions.update(sub_id, params={"metadata": {"note": "x"}})
    assert upd.metadata["note"] == "x"
    assert fake.events("customer.subscription.updated")[-1]["data"]["previous_attributes"] == {"metadata": {"note": None}}
    assert client.v1.subscriptions.cancel(sub_id).status == "canceled"
    assert fake.events("customer.subscription.deleted")[-1]["data"]["object"]["id"] == sub_id


def test_hosted_checkout_page_pays_and_redirects(client, fake):
    _, price = catalog(client, recurring=False, amount=500)
    cus = client.v1.customers.create(params={"email": "page@example.com"})
    s = client.v1.checkout.sessions.create(params={
        "mode": "payment", "customer": cus.id, "success_url": "https://a.example/ok?sid={CHECKOUT_SESSION_ID}",
        "line_items": [{"price": price.id, "quantity": 1}]})
    with _OPENER.open(s.url, timeout=10) as resp:
        assert resp.status == 200 and 'id="pay"' in resp.read().decode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    req = urllib.request.Request(s.url + "/pay", data=b"outcome=paid&email=page%40example.com", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        opener.open(req, timeout=10)
    assert exc.value.code == 303 and exc.value.headers["Location"] == f"https://a.example/ok?sid={s.id}"
    assert client.v1.checkout.sessions.retrieve(s.id).status == "complete"
