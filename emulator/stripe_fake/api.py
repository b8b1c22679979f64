"""/v1 route table, built from contract.json (written by gen_contract.py from Stripe's OpenAPI).

The fake serves exactly the endpoints of the contract (decision 0044) and accepts exactly the
parameters listed there: anything else is Stripe's 404 `Unrecognized request URL` or 400
`parameter_unknown`. HANDLERS maps each contract endpoint to the store call that serves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .forms import Enum

CONTRACT_FILE = Path(__file__).with_name("contract.json")

HANDLERS: dict[str, Callable[..., Any]] = {
    "POST /v1/customers": lambda s, p: s.create_customer(p),
    "GET /v1/customers": lambda s, p: s.list_customers(p),
    "GET /v1/customers/{customer}": lambda s, p, i: s.retrieve("customer", i),
    "POST /v1/products": lambda s, p: s.create_product(p),
    "POST /v1/prices": lambda s, p: s.create_price(p),
    "GET /v1/prices": lambda s, p: s.list_prices(p),
    "GET /v1/prices/{price}": lambda s, p, i: s.retrieve("price", i),
    "POST /v1/checkout/sessions": lambda s, p: s.create_checkout_session(p),
    "GET /v1/checkout/sessions": lambda s, p: s.list_checkout_sessions(p),
    "GET /v1/checkout/sessions/{session}": lambda s, p, i: s.retrieve("checkout.session", i),
    "GET /v1/invoices": lambda s, p: s.list_invoices(p),
    "POST /v1/subscriptions/{subscription_exposed_id}": lambda s, p, i: s.update_subscription(i, p),
    "DELETE /v1/subscriptions/{subscription_exposed_id}": lambda s, p, i: s.cancel_subscription(i, p),
    "POST /v1/refunds": lambda s, p: s.create_refund(p),
}

Route = tuple[str, "re.Pattern[str]", dict, Callable[..., Any]]


def schema(t: dict) -> Any:
    """A contract type -> the forms.validate schema DSL."""
    kind = t["type"]
    if kind == "object":
        return {k: schema(v) for k, v in t["properties"].items()}
    if kind == "array":
        return [schema(t["items"])]
    if kind == "metadata":
        return "metadata"
    if t.get("enum"):
        return Enum(*t["enum"])
    return {"string": "str", "integer": "int", "boolean": "bool"}[kind]


def load_contract(path: Path = CONTRACT_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def build_routes(contract: dict) -> list[Route]:
    routes = []
    for ep in contract["endpoints"]:
        key = f"{ep['method']} {ep['path']}"
        pattern = "^" + re.sub(r"\{[a-z_]+\}", "([^/]+)", ep["path"]) + "$"
        params = {k: schema(v) for k, v in ep["params"].items()}
        routes.append((ep["method"], re.compile(pattern), params, HANDLERS[key]))
    return routes


ROUTES: list[Route] = build_routes(load_contract())


def match(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        if route[0] != method:
            continue
        m = route[1].match(path)
        if m:
            return route, m.groups()
    return None
