"""The plans, declared once. Each maps to a Stripe Price found by its `lookup_key`.

A plan is either a one-time credit pack (`mode="payment"`: its credits never expire) or a
subscription (`mode="subscription"`: `credits` runs per billing period, replaced by the next
period's quota when the next invoice is paid, revoked when the subscription ends).

`ensure_prices()` creates the Product and Price of every plan that has none (idempotent: fixed
product ids, idempotency keys derived from the plan, lookup keys); the demo/seed calls it, and
checkout calls it once per process when a lookup finds nothing. Run it against a real Stripe test
account with `python -m shared.plans`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from shared import errors

Mode = Literal["payment", "subscription"]


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    mode: Mode
    credits: int  # factory runs: per purchase (pack) or per billing period (subscription)
    amount: int  # in the currency's smallest unit (cents)
    currency: str = "usd"
    interval: str | None = None  # "month" for subscriptions

    @property
    def lookup_key(self) -> str:
        return f"saas_factory_{self.name}"

    @property
    def product_id(self) -> str:
        return f"saas_factory_{self.name}"

    @property
    def is_subscription(self) -> bool:
        return self.mode == "subscription"

    def public(self, price_id: str | None = None) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "mode": self.mode,
            "credits": self.credits,
            "credits_per": "period" if self.is_subscription else "purchase",
            "amount": self.amount,
            "currency": self.currency,
            "interval": self.interval,
            "lookup_key": self.lookup_key,
            "price_id": price_id,
        }


PLANS: dict[str, Plan] = {
    p.name: p
    for p in (
        Plan("starter_pack", "Starter pack: 10 factory runs", "payment", credits=10, amount=4900),
        Plan("pro_monthly", "Pro: 30 factory runs a month", "subscription", credits=30, amount=9900,
             interval="month"),
    )
}


def names() -> list[str]:
    return list(PLANS)


def get(name: str | None) -> Plan:
    """The plan called `name`, or a 400 that lists the valid names."""
    plan = PLANS.get(name or "")
    if plan is None:
        raise errors.BadRequest(
            f"Unknown plan {name!r}; choose one of: {', '.join(PLANS)} (GET /api/billing/plans).",
            code="unknown_plan",
            details={"plan": name, "valid_plans": list(PLANS)},
        )
    return plan


def find(name: str | None) -> Plan | None:
    return PLANS.get(name or "")


def by_lookup_key(key: str | None) -> Plan | None:
    for plan in PLANS.values():
        if plan.lookup_key == key:
            return plan
    return None


# ------------------------------------------------------------------------------ Stripe prices

_lock = threading.Lock()
_price_ids: dict[str, str] = {}


def _matches(price: dict, plan: Plan) -> bool:
    interval = (price.get("recurring") or {}).get("interval")
    return (price.get("unit_amount") == plan.amount and price.get("currency") == plan.currency
            and interval == plan.interval and bool(price.get("active", True)))


def price_list_params() -> dict:
    """GET /v1/prices (contract: emulator/stripe_fake/contract.json)."""
    return {"lookup_keys": [p.lookup_key for p in PLANS.values()], "limit": 100}


def product_params(plan: Plan) -> dict:
    """POST /v1/products."""
    return {"id": plan.product_id, "name": plan.title, "metadata": {"plan": plan.name}}


def price_params(plan: Plan, replacing: bool) -> dict:
    """POST /v1/prices; `replacing`: the plan changed, so the new price takes the lookup key over."""
    params: dict = {
        "product": plan.product_id,
        "unit_amount": plan.amount,
        "currency": plan.currency,
        "lookup_key": plan.lookup_key,
        "nickname": plan.title,
        "metadata": {"plan": plan.name},
    }
    if plan.interval:
        params["recurring"] = {"interval": plan.interval}
    if replacing:
        params["transfer_lookup_key"] = True
    return params


def ensure_prices(client=None) -> dict[str, str]:
    """{plan name: price id}, creating what is missing. Safe to run any number of times, at once."""
    import stripe

    from shared import stripe_client

    client = client or stripe_client.client()
    listed = client.v1.prices.list(price_list_params())
    existing = {p["lookup_key"]: p.to_dict() for p in listed.data}
    out: dict[str, str] = {}
    for plan in PLANS.values():
        price = existing.get(plan.lookup_key)
        if price is not None and _matches(price, plan):
            out[plan.name] = price["id"]
            continue
        try:
            client.v1.products.create(product_params(plan), {"idempotency_key": f"product-{plan.product_id}"})
        except stripe.InvalidRequestError as exc:
            if getattr(exc, "code", None) != "resource_already_exists":
                raise
        params = price_params(plan, replacing=price is not None)
        key = f"price-{plan.lookup_key}-{plan.amount}-{plan.currency}-{plan.interval or 'once'}"
        out[plan.name] = client.v1.prices.create(params, {"idempotency_key": key}).id
    with _lock:
        _price_ids.update(out)
    return out


def price_ids() -> dict[str, str]:
    """Cached per process; looked up (and created if missing) on first use."""
    if len(_price_ids) == len(PLANS):
        return dict(_price_ids)
    with _lock:
        if len(_price_ids) == len(PLANS):
            return dict(_price_ids)
    return ensure_prices()


def forget_price_ids() -> None:
    """Drop the cache (a price id Stripe no longer knows, e.g. after the fake was reset)."""
    with _lock:
        _price_ids.clear()


if __name__ == "__main__":  # python -m shared.plans: seed the prices of the configured account
    import json

    print(json.dumps(ensure_prices(), indent=1))
