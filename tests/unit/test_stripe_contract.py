"""Every Stripe call the product makes is inside the contract (emulator/stripe_fake/contract.json,
generated from Stripe's OpenAPI): its endpoint is listed as `product` and every parameter it sends is
allowed there. A new call site, or a new parameter on an existing one, fails here until
gen_contract.py's CONTRACT names it and contract.json is regenerated (decision 0044)."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from stripe._encode import _api_encode

from emulator.stripe_fake import api
from emulator.stripe_fake.errors import StripeError
from emulator.stripe_fake.forms import parse_form, validate
from shared import plans
from shared.billing import checkout, reconcile

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = api.load_contract()
PRODUCT = {(e["method"], e["path"]): e for e in CONTRACT["endpoints"] if e["used_by"] == "product"}

# stripe-python resource call -> the endpoint it requests
CALLS = {
    "customers.create": ("POST", "/v1/customers"),
    "checkout.sessions.create": ("POST", "/v1/checkout/sessions"),
    "checkout.sessions.list": ("GET", "/v1/checkout/sessions"),
    "invoices.list": ("GET", "/v1/invoices"),
    "prices.list": ("GET", "/v1/prices"),
    "prices.create": ("POST", "/v1/prices"),
    "products.create": ("POST", "/v1/products"),
}


def allowed(method: str, path: str, params: dict) -> dict:
    """Encode `params` as stripe-python does and check them as the fake does (raises StripeError)."""
    ep = PRODUCT[(method, path)]
    schema = {k: api.schema(v) for k, v in ep["params"].items()}
    return validate(parse_form(urlencode(list(_api_encode(params)))), schema)


def product_calls() -> list[tuple[str, str, dict]]:
    """What the product sends, from the same builders it calls."""
    since = int(time.time()) - 3600
    out = [("GET", "/v1/prices", plans.price_list_params()),
           ("GET", "/v1/checkout/sessions", reconcile.session_list_params(since)),
           ("GET", "/v1/invoices", reconcile.invoice_list_params(since)),
           ("POST", "/v1/customers", checkout.customer_params(checkout.customer_request("a@example.com", "Acme", "t1")))]
    for plan in plans.PLANS.values():
        out.append(("POST", "/v1/products", plans.product_params(plan)))
        for replacing in (False, True):
            out.append(("POST", "/v1/prices", plans.price_params(plan, replacing)))
        out.append(("POST", "/v1/checkout/sessions",
                    checkout.session_params(plan, "cus_1", "t1", "u1", "https://app.example", "price_1")))
    return out


@pytest.mark.parametrize("method,path,params", product_calls(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_product_call_is_allowed_by_the_contract(method, path, params):
    assert allowed(method, path, params)


def test_a_parameter_outside_the_contract_is_refused():
    params = checkout.session_params(plans.PLANS[next(iter(plans.PLANS))], "cus_1", "t1", "u1", "https://a", "p")
    with pytest.raises(StripeError) as exc:
        allowed("POST", "/v1/checkout/sessions", {**params, "allow_promotion_codes": True})
    assert exc.value.code == "parameter_unknown" and exc.value.param == "allow_promotion_codes"


def _call_sites() -> set[str]:
    """`client.v1.<resource>.<method>(` call sites in shared/ and functions/ (the engine generates apps;
    its Stripe code is not the factory's)."""
    found = set()
    for f in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]:
        if "engine" in f.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                chain, cur = [], node.func
                while isinstance(cur, ast.Attribute):
                    chain.append(cur.attr)
                    cur = cur.value
                chain.reverse()
                if "v1" in chain:
                    found.add(".".join(chain[chain.index("v1") + 1:]))
    return found


def test_the_product_makes_only_the_calls_listed_here():
    assert _call_sites() == set(CALLS), "a new Stripe call: add it to CALLS and to gen_contract.CONTRACT"
    assert set(CALLS.values()) == set(PRODUCT), "contract.json's product endpoints are exactly these calls"
