"""Payments benchmark against a running local cloud.

    run(env) -> {"checkout_session": {p50_ms, p95_ms, n},
                 "webhook_to_entitlement": {p50_ms, p95_ms, n},
                 "webhook_delivered_by_fake": {p50_ms, p95_ms, n}}

* checkout_session: the round trip of POST /api/billing/checkout through the front door (owner
  token checked for revocation, Stripe customer already recorded, Checkout Session created in the
  Stripe fake). Ten warm-up calls (the first creates the customer) are not counted.
* webhook_to_entitlement: receipt -> commit. A signed `checkout.session.completed` event for each
  of those real sessions (as Stripe sends it once paid) is POSTed to the webhook through the front
  door; the function answers 200 only after the transaction granting the credits has committed,
  so the round trip is the time to entitlement. Each answer must say `granted`, and the billing
  document must show exactly 10 credits per event at the end.
* webhook_delivered_by_fake: sessions completed through the fake's own control; the fake's
  delivery log reports how long our webhook took to answer each checkout.session.completed.

Timed requests use a fresh connection each (as Stripe's deliveries do): the local front door
writes response headers and body separately without TCP_NODELAY, so on a reused keep-alive
connection every answer waits ~40 ms for the client's delayed ACK, an artifact of the local
proxy that Firebase Hosting / Cloud Run do not have.

Standalone: `python -m bench.payments` inside `python -m emulator.localcloud run -- ...`.
"""

from __future__ import annotations

import json
import math
import statistics
import time
import uuid

import requests

N = 30
N_FAKE = 10
WARMUP = 10
PASSWORD = "bench-password-123"


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "n": len(ordered)}


def _owner(s: requests.Session, env: dict) -> tuple[str, str]:
    front = env["FRONT_DOOR_URL"]
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    r = s.post(f"{front}/api/auth/signup", json={"email": email, "password": PASSWORD,
                                                 "display_name": "Bench", "company_name": "Bench Co"}, timeout=30)
    r.raise_for_status()
    tenant_id = r.json()["tenant_id"]
    auth = env["FIREBASE_AUTH_EMULATOR_HOST"]
    r = s.post(f"http://{auth}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=local-api-key",
               json={"email": email, "password": PASSWORD, "returnSecureToken": True}, timeout=30)
    r.raise_for_status()
    return r.json()["idToken"], tenant_id


def _completed_event(session: dict) -> dict:
    now = int(time.time())
    obj = dict(session, status="complete", payment_status="paid", url=None,
               payment_intent="pi_bench_" + uuid.uuid4().hex[:20])
    return {"id": "evt_bench_" + uuid.uuid4().hex[:20], "object": "event", "api_version": None, "created": now,
            "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "type": "checkout.session.completed", "data": {"object": obj}}


def run(env: dict) -> dict:
    import stripe

    front, fake = env["FRONT_DOOR_URL"], env["STRIPE_API_BASE"]
    secret = env["STRIPE_WEBHOOK_SECRET"]
    stripe_auth = {"Authorization": f"Bearer {env.get('STRIPE_SECRET_KEY', 'sk_test_localfake')}"}
    s = requests.Session()
    token, tenant_id = _owner(s, env)
    user = {"Authorization": f"Bearer {token}"}

    def checkout() -> str:
        r = requests.post(f"{front}/api/billing/checkout", json={"plan": "starter_pack"}, headers=user, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["session_id"]

    # Warm-up (not counted): creates the tenant's Stripe customer, caches the price ids, and lets
    # the freshly started emulators' JVMs and the functions' connections settle.
    warm = [checkout() for _ in range(WARMUP)]
    sessions, checkout_ms = [], []
    for _ in range(N):
        t0 = time.perf_counter()
        sessions.append(checkout())
        checkout_ms.append((time.perf_counter() - t0) * 1000)

    webhook_ms = []
    for i, sid in enumerate(warm + sessions):
        session = s.get(f"{fake}/v1/checkout/sessions/{sid}", headers=stripe_auth, timeout=30).json()
        payload = json.dumps(_completed_event(session))
        header = stripe.WebhookSignature.generate_signature_header(payload, secret)
        t0 = time.perf_counter()
        r = requests.post(f"{front}/api/stripe/webhook", data=payload.encode(),
                   headers={"Content-Type": "application/json", "Stripe-Signature": header}, timeout=30)
        if i >= len(warm):
            webhook_ms.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and r.json()["outcome"] == "granted", r.text
    state = s.get(f"{front}/api/billing", headers=user, timeout=30).json()
    assert state["credits"] == 10 * (WARMUP + N), state

    # The fake's own deliveries (same handler, sent by the fake's delivery worker).
    delivered_ids = []
    for _ in range(N_FAKE):
        done = s.post(f"{fake}/_fake/checkout/{checkout()}/complete", json={"outcome": "paid"}, timeout=30).json()
        delivered_ids += [e["id"] for e in done["events"] if e["type"] == "checkout.session.completed"]
    s.post(f"{fake}/_fake/deliveries/wait", json={"timeout": 30}, timeout=40)
    fake_ms = []
    for eid in delivered_ids:
        attempts = s.get(f"{fake}/_fake/deliveries", params={"event_id": eid}, timeout=30).json()["data"]
        ok = [a for a in attempts if a["ok"]]
        assert ok, attempts
        fake_ms.append(float(ok[0]["duration_ms"]))
    state = s.get(f"{front}/api/billing", headers=user, timeout=30).json()
    assert state["credits"] == 10 * (WARMUP + N + N_FAKE), state

    return {
        "checkout_session": _stats(checkout_ms),
        "webhook_to_entitlement": _stats(webhook_ms),
        "webhook_delivered_by_fake": _stats(fake_ms),
        "tenant_id": tenant_id,
    }


if __name__ == "__main__":
    import os

    print(json.dumps(run(dict(os.environ)), indent=1))
