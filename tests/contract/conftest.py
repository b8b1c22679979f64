"""The "Stripe target" the contract scenarios run against.

fake (default, in `make test`): the Stripe fake in-process on a free port, delivering webhooks to a
receiver in this process. live (`make test-stripe-live`, STRIPE_CONTRACT_TARGET=live): Stripe's own
test mode with STRIPE_API_KEY=sk_test_...; a Checkout Session cannot be paid through the API, so the
paid event is built from the real session and signed the way Stripe signs it (see docs/payments.md).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from emulator.stripe_fake.server import FakeStripe

SECRET = "whsec_contract_fake"


def pytest_configure(config):
    if os.environ.get("STRIPE_CONTRACT_TARGET") == "live" and not os.environ.get("STRIPE_API_KEY", "").startswith(
            "sk_test_"):
        pytest.exit("STRIPE_CONTRACT_TARGET=live needs STRIPE_API_KEY=sk_test_... (test mode only)", returncode=2)


class Receiver:
    """Records each webhook delivery's raw body and Stripe-Signature header."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.deliveries.append((body, self.headers.get("Stripe-Signature") or ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def find(self, etype: str, object_id: str) -> list[tuple[bytes, str]]:
        return [(b, h) for b, h in list(self.deliveries)
                if (e := json.loads(b))["type"] == etype and e["data"]["object"]["id"] == object_id]


@dataclass
class Target:
    name: str
    client: stripe.StripeClient
    secret: str
    fake: FakeStripe | None = None
    receiver: Receiver | None = None
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def is_fake(self) -> bool:
        return self.fake is not None

    def pay(self, session_id: str) -> tuple[bytes, str]:
        """The customer pays; returns the checkout.session.completed webhook (raw body, signature header)."""
        if self.fake is not None:
            self.fake.complete_checkout(session_id, "paid")
            assert self.fake.wait_for_deliveries(10), "webhook deliveries did not finish"
            found = self.receiver.find("checkout.session.completed", session_id)
            assert len(found) == 1, found
            return found[0]
        obj = self.client.v1.checkout.sessions.retrieve(session_id).to_dict()
        obj.update(status="complete", payment_status="paid")
        event = {"id": "evt_contract_" + uuid.uuid4().hex[:16], "object": "event", "api_version": stripe.api_version,
                 "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": "checkout.session.completed",
                 "data": {"object": obj}}
        payload = json.dumps(event)
        return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, self.secret)

    def deliveries(self, etype: str, object_id: str) -> list[tuple[bytes, str]]:
        assert self.fake is not None and self.fake.wait_for_deliveries(10)
        return self.receiver.find(etype, object_id)


@pytest.fixture(scope="session")
def target():
    if os.environ.get("STRIPE_CONTRACT_TARGET") == "live":
        client = stripe.StripeClient(os.environ["STRIPE_API_KEY"], max_network_retries=2)
        yield Target("live", client, "whsec_contract_" + uuid.uuid4().hex)
        return
    receiver = Receiver()
    fake = FakeStripe(host="127.0.0.1", port=0, webhook_url=receiver.url, webhook_secret=SECRET,
                      retry_schedule=(0.05, 0.1), log_requests=False).start()
    client = stripe.StripeClient("sk_test_contract", base_addresses={"api": fake.url}, max_network_retries=0)
    try:
        yield Target("fake", client, SECRET, fake, receiver)
    finally:
        fake.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def fake_only(target):
    if not target.is_fake:
        pytest.skip("needs a paid charge, which Stripe's test mode makes only through the hosted page")
