"""/v1 route table: method, path pattern, parameter allowlist (schema) and
the store call that serves it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .forms import Enum

EXPAND = {"expand": ["str"]}
LIST = {
    "limit": "int",
    "starting_after": "str",
    "ending_before": "str",
    "created": "range",
    **EXPAND,
}
ADDRESS = {
    k: "str" for k in ("city", "country", "line1", "line2", "postal_code", "state")
}

CUSTOMER = {
    "email": "email",
    "name": "str",
    "description": "str",
    "metadata": "metadata",
    "phone": "str",
    "address": ADDRESS,
    **EXPAND,
}

PRODUCT_CREATE = {
    "id": "str",
    "name": "str",
    "description": "str",
    "active": "bool",
    "images": ["str"],
    "metadata": "metadata",
    **EXPAND,
}
PRODUCT_UPDATE = {
    "name": "str",
    "description": "str",
    "active": "bool",
    "default_price": "str",
    "metadata": "metadata",
    **EXPAND,
}

INTERVAL = Enum("day", "week", "month", "year")
RECURRING = {"interval": INTERVAL, "interval_count": "int"}

PRICE_CREATE = {
    "product": "str",
    "product_data": {"name": "str", "metadata": "metadata"},
    "unit_amount": "int",
    "currency": "str",
    "recurring": RECURRING,
    "lookup_key": "str",
    "transfer_lookup_key": "bool",
    "metadata": "metadata",
    "nickname": "str",
    "active": "bool",
    "tax_behavior": Enum("exclusive", "inclusive", "unspecified"),
    **EXPAND,
}
PRICE_UPDATE = {
    "active": "bool",
    "lookup_key": "str",
    "transfer_lookup_key": "bool",
    "metadata": "metadata",
    "nickname": "str",
    **EXPAND,
}

LINE_ITEM = {
    "price": "str",
    "quantity": "int",
    "price_data": {
        "currency": "str",
        "unit_amount": "int",
        "product": "str",
        "product_data": {"name": "str", "description": "str", "metadata": "metadata"},
        "recurring": RECURRING,
    },
}

SESSION_CREATE = {
    "mode": Enum("payment", "setup", "subscription"),
    "line_items": [LINE_ITEM],
    "customer": "str",
    "customer_email": "email",
    "customer_creation": Enum("always", "if_required"),
    "success_url": "url",
    "cancel_url": "url",
    "client_reference_id": "str",
    "metadata": "metadata",
    "subscription_data": {"metadata": "metadata", "description": "str"},
    "payment_intent_data": {
        "metadata": "metadata",
        "description": "str",
        "receipt_email": "email",
    },
    "allow_promotion_codes": "bool",
    "expires_at": "int",
    "payment_method_types": ["str"],
    "billing_address_collection": Enum("auto", "required"),
    "locale": "str",
    **EXPAND,
}

SUBSCRIPTION_UPDATE = {
    "cancel_at_period_end": "bool",
    "metadata": "metadata",
    "description": "str",
    "cancellation_details": {
        "comment": "str",
        "feedback": Enum(
            "customer_service",
            "low_quality",
            "missing_features",
            "other",
            "switched_service",
            "too_complex",
            "too_expensive",
            "unused",
        ),
    },
    "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
    **EXPAND,
}
SUBSCRIPTION_CANCEL = {
    "invoice_now": "bool",
    "prorate": "bool",
    "cancellation_details": SUBSCRIPTION_UPDATE["cancellation_details"],
    **EXPAND,
}
SUBSCRIPTION_STATUS = Enum(
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)

REFUND_CREATE = {
    "payment_intent": "str",
    "charge": "str",
    "amount": "int",
    "reason": Enum("duplicate", "fraudulent", "requested_by_customer"),
    "metadata": "metadata",
    **EXPAND,
}

WEBHOOK_CREATE = {
    "url": "url",
    "enabled_events": ["str"],
    "description": "str",
    "metadata": "metadata",
    "api_version": "str",
    "connect": "bool",
    **EXPAND,
}
WEBHOOK_UPDATE = {
    "url": "url",
    "enabled_events": ["str"],
    "description": "str",
    "metadata": "metadata",
    "disabled": "bool",
    **EXPAND,
}

ID = r"([^/]+)"

Route = tuple[str, "re.Pattern[str]", dict, Callable[..., Any]]


def _r(method: str, pattern: str, schema: dict, fn: Callable[..., Any]) -> Route:
    return (method, re.compile("^" + pattern + "$"), schema, fn)


ROUTES: list[Route] = [
    # customers
    _r("POST", "/v1/customers", CUSTOMER, lambda s, p: s.create_customer(p)),
    _r(
        "GET",
        "/v1/customers",
        {**LIST, "email": "str"},
        lambda s, p: s.list_customers(p),
    ),
    _r("GET", "/v1/customers/" + ID, EXPAND, lambda s, p, i: s.retrieve("customer", i)),
    _r(
        "POST", "/v1/customers/" + ID, CUSTOMER, lambda s, p, i: s.update_customer(i, p)
    ),
    _r("DELETE", "/v1/customers/" + ID, {}, lambda s, p, i: s.delete_customer(i)),
    # products
    _r("POST", "/v1/products", PRODUCT_CREATE, lambda s, p: s.create_product(p)),
    _r(
        "GET",
        "/v1/products",
        {**LIST, "active": "bool", "ids": ["str"]},
        lambda s, p: s.list_products(p),
    ),
    _r("GET", "/v1/products/" + ID, EXPAND, lambda s, p, i: s.retrieve("product", i)),
    _r(
        "POST",
        "/v1/products/" + ID,
        PRODUCT_UPDATE,
        lambda s, p, i: s.update_product(i, p),
    ),
    # prices
    _r("POST", "/v1/prices", PRICE_CREATE, lambda s, p: s.create_price(p)),
    _r(
        "GET",
        "/v1/prices",
        {
            **LIST,
            "active": "bool",
            "product": "str",
            "type": Enum("one_time", "recurring"),
            "currency": "str",
            "lookup_keys": ["str"],
            "recurring": {"interval": INTERVAL},
        },
        lambda s, p: s.list_prices(p),
    ),
    _r("GET", "/v1/prices/" + ID, EXPAND, lambda s, p, i: s.retrieve("price", i)),
    _r("POST", "/v1/prices/" + ID, PRICE_UPDATE, lambda s, p, i: s.update_price(i, p)),
    # checkout sessions
    _r(
        "POST",
        "/v1/checkout/sessions",
        SESSION_CREATE,
        lambda s, p: s.create_checkout_session(p),
    ),
    _r(
        "GET",
        "/v1/checkout/sessions",
        {
            **LIST,
            "customer": "str",
            "payment_intent": "str",
            "subscription": "str",
            "status": Enum("open", "complete", "expired"),
        },
        lambda s, p: s.list_checkout_sessions(p),
    ),
    _r(
        "GET",
        "/v1/checkout/sessions/" + ID,
        EXPAND,
        lambda s, p, i: s.retrieve("checkout.session", i),
    ),
    _r(
        "POST",
        "/v1/checkout/sessions/" + ID + "/expire",
        EXPAND,
        lambda s, p, i: s.expire_checkout_session(i),
    ),
    _r(
        "GET",
        "/v1/checkout/sessions/" + ID + "/line_items",
        {"limit": "int", "starting_after": "str", "ending_before": "str", **EXPAND},
        lambda s, p, i: s.list_session_line_items(i, p),
    ),
    # payment intents & charges (read-only; created by completing checkouts)
    _r(
        "GET",
        "/v1/payment_intents",
        {**LIST, "customer": "str"},
        lambda s, p: s.list_payment_intents(p),
    ),
    _r(
        "GET",
        "/v1/payment_intents/" + ID,
        {**EXPAND, "client_secret": "str"},
        lambda s, p, i: s.retrieve("payment_intent", i),
    ),
    _r(
        "GET",
        "/v1/charges",
        {**LIST, "customer": "str", "payment_intent": "str"},
        lambda s, p: s.list_charges(p),
    ),
    _r("GET", "/v1/charges/" + ID, EXPAND, lambda s, p, i: s.retrieve("charge", i)),
    # subscriptions
    _r(
        "GET",
        "/v1/subscriptions",
        {**LIST, "customer": "str", "price": "str", "status": SUBSCRIPTION_STATUS},
        lambda s, p: s.list_subscriptions(p),
    ),
    _r(
        "GET",
        "/v1/subscriptions/" + ID,
        EXPAND,
        lambda s, p, i: s.retrieve("subscription", i),
    ),
    _r(
        "POST",
        "/v1/subscriptions/" + ID,
        SUBSCRIPTION_UPDATE,
        lambda s, p, i: s.update_subscription(i, p),
    ),
    _r(
        "DELETE",
        "/v1/subscriptions/" + ID,
        SUBSCRIPTION_CANCEL,
        lambda s, p, i: s.cancel_subscription(i, p),
    ),
    # invoices
    _r(
        "GET",
        "/v1/invoices",
        {
            **LIST,
            "customer": "str",
            "subscription": "str",
            "status": Enum("draft", "open", "paid", "uncollectible", "void"),
        },
        lambda s, p: s.list_invoices(p),
    ),
    _r("GET", "/v1/invoices/" + ID, EXPAND, lambda s, p, i: s.retrieve("invoice", i)),
    # refunds
    _r("POST", "/v1/refunds", REFUND_CREATE, lambda s, p: s.create_refund(p)),
    _r(
        "GET",
        "/v1/refunds",
        {**LIST, "charge": "str", "payment_intent": "str"},
        lambda s, p: s.list_refunds(p),
    ),
    _r("GET", "/v1/refunds/" + ID, EXPAND, lambda s, p, i: s.retrieve("refund", i)),
    # events
    _r(
        "GET",
        "/v1/events",
        {**LIST, "type": "str", "types": ["str"]},
        lambda s, p: s.list_events(p),
    ),
    _r("GET", "/v1/events/" + ID, EXPAND, lambda s, p, i: s.retrieve("event", i)),
    # webhook endpoints
    _r(
        "POST",
        "/v1/webhook_endpoints",
        WEBHOOK_CREATE,
        lambda s, p: s.create_webhook_endpoint(p),
    ),
    _r(
        "GET",
        "/v1/webhook_endpoints",
        {"limit": "int", "starting_after": "str", "ending_before": "str", **EXPAND},
        lambda s, p: s.list_objects("webhook_endpoint", p),
    ),
    _r(
        "GET",
        "/v1/webhook_endpoints/" + ID,
        EXPAND,
        lambda s, p, i: s.retrieve("webhook_endpoint", i),
    ),
    _r(
        "POST",
        "/v1/webhook_endpoints/" + ID,
        WEBHOOK_UPDATE,
        lambda s, p, i: s.update_webhook_endpoint(i, p),
    ),
    _r(
        "DELETE",
        "/v1/webhook_endpoints/" + ID,
        {},
        lambda s, p, i: s.delete_webhook_endpoint(i),
    ),
]


def match(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        if route[0] != method:
            continue
        m = route[1].match(path)
        if m:
            return route, m.groups()
    return None
