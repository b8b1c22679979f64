"""In-memory Stripe state: resources, lifecycle transitions and events.

Every public method takes ``self.lock`` (one re-entrant lock for all state),
so the store is safe to call from the threaded HTTP server.  Methods receive
parameters already validated by :mod:`.forms` (see ``api.py`` for schemas).

Events produced by one synchronous operation carry the objects' state at the
end of that operation (as Stripe's do); ``*.updated`` events carry
``data.previous_attributes`` with the changed fields' old values.
"""

from __future__ import annotations

import calendar
import copy
import datetime as _dt
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .errors import StripeError, no_such

# The API version stripe-python 16.1.0 pins (stripe._api_version).
DEFAULT_API_VERSION = "2026-10-28.endive"

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
CURRENCIES = ZERO_DECIMAL | {
    "usd",
    "eur",
    "gbp",
    "cad",
    "aud",
    "nzd",
    "chf",
    "sek",
    "nok",
    "dkk",
    "pln",
    "czk",
    "huf",
    "ron",
    "bgn",
    "sgd",
    "hkd",
    "mxn",
    "brl",
    "inr",
    "zar",
    "aed",
    "ils",
    "thb",
    "myr",
    "php",
    "idr",
    "try",
    "twd",
}

LIST_URLS = {
    "customer": "/v1/customers",
    "price": "/v1/prices",
    "checkout.session": "/v1/checkout/sessions",
    "invoice": "/v1/invoices",
}

_ALNUM = string.ascii_letters + string.digits


def gen_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def now() -> int:
    return int(time.time())


def add_interval(ts: int, interval: str, count: int = 1) -> int:
    """Advance a unix timestamp by ``count`` intervals (calendar aware)."""
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    months = count * (12 if interval == "year" else 1)
    m0 = d.month - 1 + months
    year, month = d.year + m0 // 12, m0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def format_amount(amount: int, currency: str) -> str:
    cur = (currency or "").lower()
    if cur in ZERO_DECIMAL:
        return f"{amount} {cur.upper()}"
    return f"{amount / 100.0:.2f} {cur.upper()}"


def diff(old: Any, new: Any) -> dict:
    """previous_attributes: old values of the keys that changed (nested hashes
    report only their changed sub-keys, new keys report ``None``)."""
    out: dict = {}
    for key in set(old) | set(new):
        o, n = old.get(key), new.get(key)
        if o == n:
            continue
        if isinstance(o, dict) and isinstance(n, dict) and o.get("object") != "list":
            out[key] = diff(o, n)
        else:
            out[key] = copy.deepcopy(o)
    return out


def _apply_metadata(current: dict | None, update: Any) -> dict:
    if update == "":
        return {}
    out = dict(current or {})
    for k, v in (update or {}).items():
        if v == "":
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _blank_none(v: Any) -> Any:
    return None if v == "" else v


def _missing(param: str) -> StripeError:
    return StripeError(
        400,
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
        save_idempotent=False,
    )


class Store:
    def __init__(
        self,
        base_url: Callable[[], str],
        api_version: str = DEFAULT_API_VERSION,
        deliver: Callable[..., None] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.api_version = api_version
        self._deliver = deliver or (
            lambda evt, payload, targets, redelivery=False: None
        )
        self.cli_endpoint: tuple[str, str] | None = None  # (url, secret)
        self._ctx = threading.local()
        self.reset()

    # ------------------------------------------------------------------
    # bookkeeping
    # ------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.objects: dict[str, dict] = {}
            self.order: dict[str, list[str]] = {}
            self.session_items: dict[str, list[dict]] = {}
            # Data that is not part of any rendered object (checkout
            # payment_intent_data/subscription_data, payment intent -> invoice).
            self.private: dict[str, dict] = {}
            self.last_event_created = 0

    def set_request(self, request_id: str | None, idempotency_key: str | None) -> None:
        self._ctx.request = {"id": request_id, "idempotency_key": idempotency_key}

    def clear_request(self) -> None:
        self._ctx.request = None

    def _insert(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        self.order.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def _get(
        self, obj_type: str, obj_id: str, param: str | None = "id", status: int = 404
    ) -> dict:
        obj = self.objects.get(obj_id)
        if obj is None or obj.get("object") != obj_type:
            raise no_such(
                obj_type, obj_id, param=param, status=status
            )
        return obj

    def _event_count(self) -> int:
        return len(self.order.get("event", []))

    def _events_since(self, mark: int) -> list[dict]:
        return [
            {"id": eid, "type": self.objects[eid]["type"]}
            for eid in self.order.get("event", [])[mark:]
        ]

    # ------------------------------------------------------------------
    # events
    # ------------------------------------------------------------------
    def _targets(self, event_type: str) -> list[tuple[str, str, str]]:
        targets = []
        if self.cli_endpoint:
            targets.append(("we_cli", self.cli_endpoint[0], self.cli_endpoint[1]))
        return targets

    def _emit(self, event_type: str, obj: dict, previous: dict | None = None) -> dict:
        created = max(now(), self.last_event_created)
        self.last_event_created = created
        req = getattr(self._ctx, "request", None) or {
            "id": None,
            "idempotency_key": None,
        }
        targets = self._targets(event_type)
        data: dict = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        evt = {
            "id": gen_id("evt_", 24),
            "object": "event",
            "api_version": self.api_version,
            "created": created,
            "data": data,
            "livemode": False,
            "pending_webhooks": len(targets),
            "request": dict(req),
            "type": event_type,
        }
        self._insert(evt)
        self._deliver(evt, self.event_payload(evt), targets)
        return evt

    @staticmethod
    def event_payload(evt: dict) -> str:
        return json.dumps(evt, indent=2)

    def redeliver_event(self, event_id: str) -> dict:
        with self.lock:
            evt = self._get("event", event_id)
            targets = self._targets(evt["type"])
            self._deliver(evt, self.event_payload(evt), targets, redelivery=True)
            return {"event": copy.deepcopy(evt), "endpoints": [t[1] for t in targets]}

    # ------------------------------------------------------------------
    # listing
    # ------------------------------------------------------------------
    def list_objects(
        self,
        obj_type: str,
        params: dict,
        predicate: Callable[[dict], bool] | None = None,
        ids: Iterable[str] | None = None,
        url: str | None = None,
    ) -> dict:
        with self.lock:
            limit = params.get("limit", 10)
            if limit == "" or limit is None:
                limit = 10
            if not 1 <= limit <= 100:
                raise StripeError(
                    400,
                    "Invalid limit: must be between 1 and 100",
                    param="limit",
                    save_idempotent=False,
                )
            created = params.get("created")
            source = (
                list(ids) if ids is not None else list(self.order.get(obj_type, []))
            )
            items = []
            for oid in reversed(source):
                obj = self.objects.get(oid) if isinstance(oid, str) else oid
                if obj is None or obj.get("deleted"):
                    continue
                if created is not None and not _in_range(obj.get("created"), created):
                    continue
                if predicate and not predicate(obj):
                    continue
                items.append(obj)
            after, before = params.get("starting_after"), params.get("ending_before")
            if after and before:
                raise StripeError(
                    400,
                    "You may only specify one of these parameters: ending_before, starting_after.",
                    code="parameters_exclusive",
                    param="ending_before",
                )
            cursor = after or before
            if cursor:
                pos = next((i for i, o in enumerate(items) if o["id"] == cursor), None)
                if pos is None:
                    raise no_such(
                        obj_type,
                        cursor,
                        param="starting_after" if after else "ending_before",
                        status=400,
                    )
                if after:
                    window = items[pos + 1 :]
                    page, has_more = window[:limit], len(window) > limit
                else:
                    window = items[:pos]
                    page, has_more = window[-limit:], len(window) > limit
            else:
                page, has_more = items[:limit], len(items) > limit
            return {
                "object": "list",
                "data": copy.deepcopy(page),
                "has_more": has_more,
                "url": url or LIST_URLS.get(obj_type, "/v1/" + obj_type),
            }

    def render(self, obj: dict) -> dict:
        with self.lock:
            return copy.deepcopy(obj)

    def retrieve(self, obj_type: str, obj_id: str) -> dict:
        with self.lock:
            obj = self.objects.get(obj_id)
            if obj_type == "customer" and obj is not None and obj.get("deleted"):
                return {"id": obj_id, "object": "customer", "deleted": True}
            if obj is None or obj.get("object") != obj_type or obj.get("deleted"):
                raise no_such(obj_type, obj_id)
            if obj_type == "checkout.session":
                self._maybe_expire(obj)
            return obj

    # ------------------------------------------------------------------
    # customers
    # ------------------------------------------------------------------
    def _new_customer(self, email: str | None, name: str | None, **extra: Any) -> dict:
        cust = {
            "id": gen_id("cus_", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": email,
            "invoice_prefix": "".join(
                secrets.choice("0123456789ABCDEF") for _ in range(8)
            ),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": name,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        cust.update(extra)
        return self._insert(cust)

    def create_customer(self, p: dict) -> dict:
        with self.lock:
            cust = self._new_customer(
                _blank_none(p.get("email")),
                _blank_none(p.get("name")),
                metadata=_apply_metadata({}, p.get("metadata")),
            )
            self._emit("customer.created", cust)
            return cust

    def list_customers(self, p: dict) -> dict:
        email = p.get("email")
        return self.list_objects(
            "customer", p, (lambda c: c.get("email") == email) if email else None
        )

    # ------------------------------------------------------------------
    # products & prices
    # ------------------------------------------------------------------
    def _new_product(self, name: str, **extra: Any) -> dict:
        t = now()
        prod = {
            "id": extra.pop("id", None) or gen_id("prod_", 14),
            "object": "product",
            "active": True,
            "attributes": [],
            "created": t,
            "default_price": None,
            "description": None,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {},
            "name": name,
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": t,
            "url": None,
        }
        prod.update(extra)
        return self._insert(prod)

    def create_product(self, p: dict) -> dict:
        with self.lock:
            name = p.get("name")
            if not name:
                raise _missing("name")
            pid = _blank_none(p.get("id"))
            if pid is not None:
                if not all(c in _ALNUM + "_-" for c in pid) or len(pid) > 200:
                    raise StripeError(400, f"Invalid product id: {pid}", param="id")
                if pid in self.objects:
                    raise StripeError(
                        400,
                        "Product already exists.",
                        code="resource_already_exists",
                        param="id",
                    )
            prod = self._new_product(
                name,
                id=pid,
                metadata=_apply_metadata({}, p.get("metadata")),
            )
            self._emit("product.created", prod)
            return prod

    def _new_price(
        self,
        product: str,
        unit_amount: int,
        currency: str,
        recurring: dict | None,
        **extra: Any,
    ) -> dict:
        price = {
            "id": gen_id("price_", 24),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": product,
            "recurring": (
                {
                    "interval": recurring["interval"],
                    "interval_count": recurring.get("interval_count") or 1,
                    "meter": None,
                    "trial_period_days": None,
                    "usage_type": "licensed",
                }
                if recurring
                else None
            ),
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        }
        price.update(extra)
        return self._insert(price)

    def _check_currency(self, cur: Any, param: str) -> str:
        if not cur:
            raise _missing(param)
        cur = cur.lower()
        if cur not in CURRENCIES:
            raise StripeError(
                400,
                "Invalid currency: {}. Stripe currently supports these currencies: {}".format(
                    cur, ", ".join(sorted(CURRENCIES))
                ),
                param=param,
            )
        return cur

    def _check_recurring(self, rec: Any, param: str) -> dict | None:
        if rec in (None, ""):
            return None
        if not rec.get("interval"):
            raise _missing(param + "[interval]")
        count = rec.get("interval_count") or 1
        if count < 1:
            raise StripeError(
                400,
                "Invalid interval_count: must be at least 1",
                param=param + "[interval_count]",
            )
        return {"interval": rec["interval"], "interval_count": count}

    def create_price(self, p: dict) -> dict:
        with self.lock:
            currency = self._check_currency(p.get("currency"), "currency")
            if p.get("unit_amount") in (None, ""):
                raise _missing("unit_amount")
            amount = p["unit_amount"]
            if amount < 0:
                raise StripeError(
                    400,
                    "Invalid non-negative integer",
                    code="parameter_invalid_integer",
                    param="unit_amount",
                )
            recurring = self._check_recurring(p.get("recurring"), "recurring")
            if not p.get("product"):
                raise _missing("product")
            prod = self._get("product", p["product"], param="product", status=400)
            lookup_key = _blank_none(p.get("lookup_key"))
            transferred = None
            if lookup_key is not None:
                holder = self._price_by_lookup_key(lookup_key)
                if holder is not None:
                    if not p.get("transfer_lookup_key"):
                        raise StripeError(
                            400,
                            "A price (`{}`) already uses that lookup key.".format(
                                holder["id"]
                            ),
                            param="lookup_key",
                        )
                    transferred = holder
            if transferred is not None:
                before = copy.deepcopy(transferred)
                transferred["lookup_key"] = None
                self._emit("price.updated", transferred, diff(before, transferred))
            price = self._new_price(
                prod["id"],
                amount,
                currency,
                recurring,
                lookup_key=lookup_key,
                nickname=_blank_none(p.get("nickname")),
                metadata=_apply_metadata({}, p.get("metadata")),
            )
            self._emit("price.created", price)
            return price

    def _price_by_lookup_key(self, key: str) -> dict | None:
        for pid in self.order.get("price", []):
            pr = self.objects[pid]
            if pr.get("lookup_key") == key:
                return pr
        return None

    def list_prices(self, p: dict) -> dict:
        keys = set(p.get("lookup_keys") or [])

        def pred(pr: dict) -> bool:
            return not keys or pr.get("lookup_key") in keys

        return self.list_objects("price", p, pred)

    # ------------------------------------------------------------------
    # checkout sessions
    # ------------------------------------------------------------------
    def create_checkout_session(self, p: dict) -> dict:
        with self.lock:
            mode = p.get("mode")
            if not mode:
                raise _missing("mode")
            if mode == "setup":
                raise StripeError(
                    400,
                    "stripe_fake does not implement `setup` mode Checkout Sessions.",
                    param="mode",
                )
            if mode == "payment" and p.get("subscription_data"):
                raise StripeError(
                    400,
                    "You can not pass `subscription_data` in `payment` mode.",
                    param="subscription_data",
                )
            if mode == "subscription" and p.get("payment_intent_data"):
                raise StripeError(
                    400,
                    "You can not pass `payment_intent_data` in `subscription` mode.",
                    param="payment_intent_data",
                )
            customer = _blank_none(p.get("customer"))
            if customer is not None:
                c = self.objects.get(customer)
                if c is None or c.get("object") != "customer" or c.get("deleted"):
                    raise no_such("customer", customer, param="customer", status=400)
            t = now()
            expires_at = t + 24 * 3600
            cref = _blank_none(p.get("client_reference_id"))
            if cref is not None and len(cref) > 200:
                raise StripeError(
                    400,
                    "client_reference_id must be at most 200 characters",
                    param="client_reference_id",
                )
            sid = gen_id("cs_test_", 58)
            items, new_objects = self._build_line_items(sid, mode, p.get("line_items"))
            currency = items[0]["currency"]
            subtotal = sum(i["amount_total"] for i in items)
            pid_data = p.get("payment_intent_data") or {}
            sub_data = p.get("subscription_data") or {}
            session = {
                "id": sid,
                "object": "checkout.session",
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": subtotal,
                "amount_total": subtotal,
                "automatic_tax": {
                    "enabled": False,
                    "liability": None,
                    "provider": None,
                    "status": None,
                },
                "billing_address_collection": None,
                "cancel_url": _blank_none(p.get("cancel_url")),
                "client_reference_id": cref,
                "client_secret": None,
                "consent": None,
                "consent_collection": None,
                "created": t,
                "currency": currency,
                "custom_fields": [],
                "custom_text": {
                    "after_submit": None,
                    "shipping_address": None,
                    "submit": None,
                    "terms_of_service_acceptance": None,
                },
                "customer": customer,
                "customer_creation": "if_required"
                if mode == "payment" and customer is None
                else None,
                "customer_details": None,
                "customer_email": None,
                "discounts": [],
                "expires_at": expires_at,
                "invoice": None,
                "invoice_creation": None,
                "livemode": False,
                "locale": None,
                "metadata": _apply_metadata({}, p.get("metadata")),
                "mode": mode,
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "always",
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "recovered_from": None,
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_options": [],
                "status": "open",
                "submit_type": None,
                "subscription": None,
                "success_url": _blank_none(p.get("success_url")),
                "total_details": {
                    "amount_discount": 0,
                    "amount_shipping": 0,
                    "amount_tax": 0,
                },
                "ui_mode": "hosted",
                "url": f"{self.base_url()}/checkout/{sid}",
            }
            self._insert(session)
            self.session_items[sid] = items
            # Private, not rendered: what to apply to created objects.
            session_private = {
                "payment_intent_data": {
                    "metadata": _apply_metadata({}, pid_data.get("metadata")),
                    "description": None,
                    "receipt_email": None,
                },
                "subscription_data": {
                    "metadata": _apply_metadata({}, sub_data.get("metadata")),
                    "description": None,
                },
            }
            self.private[sid] = session_private
            for obj in new_objects:
                self._emit(obj["object"] + ".created", obj)
            return session

    def _build_line_items(
        self, sid: str, mode: str, line_items: Any
    ) -> tuple[list[dict], list[dict]]:
        if not line_items:
            raise _missing("line_items")
        items: list[dict] = []
        new_objects: list[dict] = []
        currency = None
        has_recurring = False
        for i, li in enumerate(line_items):
            base = f"line_items[{i}]"
            if li.get("quantity") in (None, ""):
                raise StripeError(
                    400,
                    f"Quantity is required. Add `quantity` to `{base}`",
                    code="parameter_missing",
                    param=base + "[quantity]",
                )
            qty = li["quantity"]
            if not 1 <= qty <= 999999:
                raise StripeError(
                    400,
                    "Quantity must be between 1 and 999999.",
                    param=base + "[quantity]",
                )
            if li.get("price"):
                price = self._get(
                    "price", li["price"], param=base + "[price]", status=400
                )
                if not price["active"]:
                    raise StripeError(
                        400,
                        "The price specified is inactive. This field only accepts active prices.",
                        param=base + "[price]",
                    )
            else:
                raise StripeError(
                    400,
                    f"You must specify `price` in `{base}`.",
                    code="parameter_missing",
                    param=base + "[price]",
                )
            if currency is None:
                currency = price["currency"]
            elif price["currency"] != currency:
                raise StripeError(
                    400,
                    "All line items must have the same currency.",
                    param=base + "[price]",
                )
            if price["type"] == "recurring":
                has_recurring = True
                if mode == "payment":
                    raise StripeError(
                        400,
                        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                        param=base + "[price]",
                    )
            amount = price["unit_amount"] * qty
            product = self.objects.get(price["product"], {})
            items.append(
                {
                    "id": gen_id("li_", 24),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": price["currency"],
                    "description": product.get("name"),
                    "price": price["id"],
                    "quantity": qty,
                }
            )
        if mode == "subscription" and not has_recurring:
            raise StripeError(
                400,
                "You must provide at least one recurring price in `subscription` mode when using prices.",
                param="line_items",
            )
        # Roll back nothing on error: objects are only created after all
        # validation of earlier items; a later failure leaves inactive inline
        # prices behind, which is harmless.
        return items, new_objects

    def _session_line_items(self, sid: str, p: dict) -> dict:
        items = []
        for li in self.session_items.get(sid, []):
            item = copy.deepcopy(li)
            item["price"] = copy.deepcopy(self.objects.get(li["price"]))
            items.append(item)
        return {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{sid}/line_items",
        }

    def list_checkout_sessions(self, p: dict) -> dict:
        with self.lock:
            for sid in self.order.get("checkout.session", []):
                self._maybe_expire(self.objects[sid])

            def pred(s: dict) -> bool:
                for key in ("customer", "payment_intent", "subscription", "status"):
                    if p.get(key) and s.get(key) != p[key]:
                        return False
                return True

            return self.list_objects("checkout.session", p, pred)

    def _maybe_expire(self, session: dict) -> None:
        if session["status"] == "open" and now() >= session["expires_at"]:
            self._expire(session)

    def _expire(self, session: dict) -> None:
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", session)

    # ------------------------------------------------------------------
    # payments (payment intents, charges)
    # ------------------------------------------------------------------
    def _new_payment_intent(
        self,
        amount: int,
        currency: str,
        customer: str | None,
        *,
        metadata=None,
        description=None,
        receipt_email=None,
        method_type="card",
    ) -> dict:
        pid = gen_id("pi_", 24)
        pi = {
            "id": pid,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": "{}_secret_{}".format(pid, gen_id("", 25)),
            "confirmation_method": "automatic",
            "created": now(),
            "currency": currency,
            "customer": customer,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": [method_type],
            "processing": None,
            "receipt_email": receipt_email,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
        return self._insert(pi)

    def _charge_attempt(
        self, pi: dict, outcome: str, email: str | None, name: str | None
    ) -> dict:
        """Create a charge for ``pi``: outcome paid|async|declined|async_failed
        and move the payment intent to the matching status."""
        method_type = "us_bank_account" if outcome == "async" else "card"
        pm_id = gen_id("pm_", 24)
        if outcome == "paid":
            status, failure = "succeeded", None
        elif outcome == "async":
            status, failure = "pending", None
        else:
            status = "failed"
            failure = ("card_declined", "Your card was declined.")
        if method_type == "card":
            details = {
                "card": {
                    "brand": "visa",
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": None,
                        "cvc_check": "pass",
                    },
                    "country": "US",
                    "exp_month": 12,
                    "exp_year": _dt.date.today().year + 3,
                    "fingerprint": "FakeFingerprint1",
                    "funding": "credit",
                    "last4": "4242" if status == "succeeded" else "0002",
                    "network": "visa",
                },
                "type": "card",
            }
        else:
            details = {
                "type": "us_bank_account",
                "us_bank_account": {
                    "account_holder_type": "individual",
                    "account_type": "checking",
                    "bank_name": "STRIPE TEST BANK",
                    "last4": "6789",
                    "routing_number": "110000000",
                },
            }
        charge = {
            "id": gen_id("ch_", 24),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if status == "succeeded" else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": gen_id("txn_", 24)
            if status == "succeeded"
            else None,
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": email,
                "name": name,
                "phone": None,
            },
            "calculated_statement_descriptor": "STRIPE FAKE",
            "captured": status == "succeeded",
            "created": now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": failure[0] if failure else None,
            "failure_message": failure[1] if failure else None,
            "fraud_details": {},
            "invoice": self.private.get(pi["id"], {}).get("invoice"),
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": (
                {
                    "network_status": "declined_by_network",
                    "reason": "generic_decline",
                    "risk_level": "normal",
                    "risk_score": 40,
                    "seller_message": "The bank did not return any further details with this decline.",
                    "type": "issuer_declined",
                }
                if failure
                else {
                    "network_status": "approved_by_network",
                    "reason": None,
                    "risk_level": "normal",
                    "risk_score": 32,
                    "seller_message": "Payment complete.",
                    "type": "authorized",
                }
            ),
            "paid": status == "succeeded",
            "payment_intent": pi["id"],
            "payment_method": pm_id,
            "payment_method_details": details,
            "receipt_email": pi.get("receipt_email"),
            "receipt_number": None,
            "receipt_url": None,
            "refunded": False,
            "review": None,
            "shipping": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": status,
            "transfer_data": None,
            "transfer_group": None,
        }
        self._insert(charge)
        pi["latest_charge"] = charge["id"]
        pi["payment_method"] = pm_id
        pi["payment_method_types"] = [method_type]
        if status == "succeeded":
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            pi["last_payment_error"] = None
        elif status == "pending":
            pi["status"] = "processing"
            pi["processing"] = {"type": method_type}
        else:
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {
                "charge": charge["id"],
                "code": "card_declined",
                "decline_code": "generic_decline",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": "Your card was declined.",
                "payment_method": {
                    "id": pm_id,
                    "object": "payment_method",
                    "type": method_type,
                },
                "type": "card_error",
            }
        return charge

    def _settle_charge(self, pi: dict, succeeded: bool) -> dict:
        charge = self.objects[pi["latest_charge"]]
        if succeeded:
            charge.update(
                status="succeeded",
                paid=True,
                captured=True,
                amount_captured=charge["amount"],
                balance_transaction=gen_id("txn_", 24),
            )
            pi.update(status="succeeded", amount_received=pi["amount"], processing=None)
        else:
            charge.update(
                status="failed",
                failure_code="insufficient_funds",
                failure_message="The customer's account has insufficient funds to cover this payment.",
                outcome={
                    "network_status": "declined_by_network",
                    "reason": "insufficient_funds",
                    "risk_level": "normal",
                    "risk_score": 32,
                    "seller_message": "The bank returned the decline code `insufficient_funds`.",
                    "type": "issuer_declined",
                },
            )
            pi.update(
                status="requires_payment_method",
                processing=None,
                last_payment_error={
                    "charge": charge["id"],
                    "code": "insufficient_funds",
                    "message": "The customer's account has insufficient funds to cover this payment.",
                    "payment_method": {
                        "id": pi["payment_method"],
                        "object": "payment_method",
                        "type": pi["payment_method_types"][0],
                    },
                    "type": "card_error",
                },
            )
        return charge

    # ------------------------------------------------------------------
    # subscriptions & invoices
    # ------------------------------------------------------------------
    def _new_subscription(
        self, customer: str, session: dict, items: list[dict], status: str
    ) -> dict:
        sid = gen_id("sub_", 24)
        t = now()
        recurring = [
            li for li in items if self.objects[li["price"]]["type"] == "recurring"
        ]
        first = self.objects[recurring[0]["price"]]["recurring"]
        end = add_interval(t, first["interval"], first["interval_count"])
        priv = self.private.get(session["id"], {}).get("subscription_data", {})
        sub_items = []
        for li in recurring:
            sub_items.append(
                {
                    "id": gen_id("si_", 14),
                    "object": "subscription_item",
                    "billing_thresholds": None,
                    "created": t,
                    "current_period_end": end,
                    "current_period_start": t,
                    "discounts": [],
                    "metadata": {},
                    "price": copy.deepcopy(self.objects[li["price"]]),
                    "quantity": li["quantity"],
                    "subscription": sid,
                    "tax_rates": [],
                }
            )
        sub = {
            "id": sid,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
            },
            "billing_cycle_anchor": t,
            "billing_cycle_anchor_config": None,
            "billing_mode": {"type": "classic"},
            "billing_thresholds": None,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": t,
            "currency": session["currency"],
            "current_period_end": end,
            "current_period_start": t,
            "customer": customer,
            "days_until_due": None,
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": priv.get("description"),
            "discounts": [],
            "ended_at": None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {
                "object": "list",
                "data": sub_items,
                "has_more": False,
                "total_count": len(sub_items),
                "url": f"/v1/subscription_items?subscription={sid}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(priv.get("metadata") or {}),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "quantity": sub_items[0]["quantity"] if len(sub_items) == 1 else None,
            "schedule": None,
            "start_date": t,
            "status": status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": None,
            "trial_settings": {
                "end_behavior": {"missing_payment_method": "create_invoice"}
            },
            "trial_start": None,
        }
        return self._insert(sub)

    def _new_invoice(
        self,
        sub: dict,
        billing_reason: str,
        lines: list[tuple[dict, int, tuple[int, int], str | None]],
        period: tuple[int, int],
    ) -> dict:
        """``lines``: (price, quantity, (start, end), subscription_item_id)."""
        cust = self.objects[sub["customer"]]
        iid = gen_id("in_", 24)
        t = now()
        line_objs = []
        for price, qty, (ps, pe), si in lines:
            prod = self.objects.get(price["product"], {})
            amount = price["unit_amount"] * qty
            rec = price.get("recurring")
            desc = "{} × {}".format(qty, prod.get("name", price["product"]))
            if rec:
                desc += " (at {} / {})".format(
                    format_amount(price["unit_amount"], price["currency"]),
                    rec["interval"],
                )
            line_objs.append(
                {
                    "id": gen_id("il_", 24),
                    "object": "line_item",
                    "amount": amount,
                    "currency": price["currency"],
                    "description": desc,
                    "discount_amounts": [],
                    "discountable": True,
                    "discounts": [],
                    "invoice": iid,
                    "livemode": False,
                    "metadata": dict(sub["metadata"]) if si else {},
                    "parent": {
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "invoice_item": None,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": sub["id"],
                            "subscription_item": si,
                        },
                        "type": "subscription_item_details",
                    },
                    "period": {"end": pe, "start": ps},
                    "pretax_credit_amounts": [],
                    "pricing": {
                        "price_details": {
                            "price": price["id"],
                            "product": price["product"],
                        },
                        "type": "price_details",
                        "unit_amount_decimal": str(price["unit_amount"]),
                    },
                    "quantity": qty,
                    "subscription": sub["id"],
                    "taxes": [],
                    "price": copy.deepcopy(price),
                }
            )
        total = sum(li["amount"] for li in line_objs)
        inv = {
            "id": iid,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Stripe Fake",
            "account_tax_ids": None,
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": total,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": True,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": billing_reason,
            "charge": None,
            "collection_method": "charge_automatically",
            "created": t,
            "currency": sub["currency"],
            "custom_fields": None,
            "customer": cust["id"],
            "customer_address": cust.get("address"),
            "customer_email": cust.get("email"),
            "customer_name": cust.get("name"),
            "customer_phone": cust.get("phone"),
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": None,
            "ending_balance": None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": line_objs,
                "has_more": False,
                "total_count": len(line_objs),
                "url": f"/v1/invoices/{iid}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "number": None,
            "on_behalf_of": None,
            "paid": False,
            "paid_out_of_band": False,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(sub["metadata"]),
                    "subscription": sub["id"],
                },
                "type": "subscription_details",
            },
            "payment_intent": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": period[1],
            "period_start": period[0],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subscription": sub["id"],
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "test_clock": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": t,
        }
        self._insert(inv)
        sub["latest_invoice"] = iid
        return inv

    def _finalize_invoice(self, inv: dict) -> None:
        cust = self.objects[inv["customer"]]
        seq = cust.get("next_invoice_sequence", 1)
        cust["next_invoice_sequence"] = seq + 1
        t = now()
        inv.update(
            status="open",
            number="{}-{:04d}".format(cust["invoice_prefix"], seq),
            effective_at=t,
            ending_balance=0,
        )
        inv["status_transitions"]["finalized_at"] = t

    def _mark_invoice_paid(self, inv: dict) -> None:
        t = now()
        inv.update(
            status="paid",
            paid=True,
            amount_paid=inv["amount_due"],
            amount_remaining=0,
            attempted=True,
            next_payment_attempt=None,
        )
        inv["attempt_count"] = max(inv["attempt_count"], 1)
        inv["status_transitions"]["paid_at"] = t

    def _mark_invoice_failed(self, inv: dict) -> None:
        inv["attempted"] = True
        inv["attempt_count"] += 1
        inv["next_payment_attempt"] = now() + 3 * 86400

    def _invoice_payments(self, inv: dict) -> dict:
        data = []
        if inv.get("payment_intent"):
            pi = self.objects[inv["payment_intent"]]
            data.append(
                {
                    "id": "inpay_" + pi["id"][3:],
                    "object": "invoice_payment",
                    "amount_paid": pi["amount_received"] or None,
                    "amount_requested": pi["amount"],
                    "created": pi["created"],
                    "currency": pi["currency"],
                    "invoice": inv["id"],
                    "is_default": True,
                    "livemode": False,
                    "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
                    "status": "paid" if inv["status"] == "paid" else "open",
                    "status_transitions": {
                        "canceled_at": None,
                        "paid_at": inv["status_transitions"]["paid_at"],
                    },
                }
            )
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": "/v1/invoice_payments?invoice={}".format(inv["id"]),
        }

    def _invoice_payment_intent(self, inv: dict, description: str) -> tuple[dict, bool]:
        """Return (payment_intent, created_now) for an invoice."""
        if inv.get("payment_intent"):
            return self.objects[inv["payment_intent"]], False
        pi = self._new_payment_intent(
            inv["amount_due"], inv["currency"], inv["customer"], description=description
        )
        self.private[pi["id"]] = {"invoice": inv["id"]}
        inv["payment_intent"] = pi["id"]
        return pi, True

    def _sub_period_lines(self, sub: dict, start: int, end: int) -> list:
        return [
            (item["price"], item["quantity"], (start, end), item["id"])
            for item in sub["items"]["data"]
        ]

    def update_subscription(self, sid: str, p: dict) -> dict:
        with self.lock:
            sub = self.retrieve("subscription", sid)
            before = copy.deepcopy(sub)
            if "metadata" in p:
                sub["metadata"] = _apply_metadata(sub["metadata"], p["metadata"])
            changes = diff(before, sub)
            if changes:
                self._emit("customer.subscription.updated", sub, changes)
            return sub

    def _cancel_subscription(
        self, sub: dict, reason: str, at: int | None = None, details: dict | None = None
    ) -> None:
        t = now()
        sub["status"] = "canceled"
        sub["canceled_at"] = sub["canceled_at"] or t
        sub["ended_at"] = at or t
        sub["cancel_at_period_end"] = (
            False if at is None else sub["cancel_at_period_end"]
        )
        sub["cancellation_details"]["reason"] = reason
        for key, value in (details or {}).items():
            sub["cancellation_details"][key] = _blank_none(value)
        self._emit("customer.subscription.deleted", sub)

    def cancel_subscription(self, sid: str, p: dict) -> dict:
        with self.lock:
            sub = self.retrieve("subscription", sid)
            if sub["status"] == "canceled":
                raise StripeError(
                    400,
                    f"This subscription has already been canceled: {sid}",
                    param="subscription",
                )
            self._cancel_subscription(sub, "cancellation_requested")
            return sub

    def list_invoices(self, p: dict) -> dict:
        def pred(i: dict) -> bool:
            for key in ("customer", "subscription", "status"):
                if p.get(key) and i.get(key) != p[key]:
                    return False
            return True

        return self.list_objects("invoice", p, pred)

    # ------------------------------------------------------------------
    # checkout completion (page / test controls)
    # ------------------------------------------------------------------
    def complete_checkout(
        self, sid: str, outcome: str, email: str | None = None, name: str | None = None
    ) -> dict:
        if outcome not in ("paid", "async", "declined"):
            raise StripeError(
                400, "outcome must be one of paid, async, declined", param="outcome"
            )
        with self.lock:
            self.clear_request()
            session = self._get("checkout.session", sid)
            self._maybe_expire(session)
            if session["status"] != "open":
                raise StripeError(
                    400,
                    "This Checkout Session is no longer active (status: {}).".format(
                        session["status"]
                    ),
                    code="checkout_session_not_open",
                    param="session",
                )
            mark = self._event_count()
            cust = (
                self.objects.get(session["customer"]) if session["customer"] else None
            )
            email = (
                email
                or (cust or {}).get("email")
                or session["customer_email"]
                or "customer@example.com"
            )
            name = name or (cust or {}).get("name")
            if session["mode"] == "payment":
                error = self._complete_payment_mode(session, outcome, email, name)
            else:
                error = self._complete_subscription_mode(session, outcome, email, name)
            result = {"session": session, "events": self._events_since(mark)}
            if error:
                result["error"] = error
            return result

    def _customer_details(self, email: str, name: str | None) -> dict:
        return {
            "address": None,
            "email": email,
            "name": name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }

    def _decline_error(self, charge: dict | None) -> dict:
        err = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
        }
        if charge:
            err["charge"] = charge["id"]
        return err

    def _complete_payment_mode(
        self, session: dict, outcome: str, email: str, name: str | None
    ) -> dict | None:
        priv = self.private.get(session["id"], {}).get("payment_intent_data", {})
        amount = session["amount_total"]
        new_customer = None
        pi = (
            self.objects.get(session["payment_intent"])
            if session["payment_intent"]
            else None
        )
        pi_created = False
        if amount > 0 and pi is None:
            pi = self._new_payment_intent(
                amount,
                session["currency"],
                session["customer"],
                metadata=priv.get("metadata"),
                description=priv.get("description"),
                receipt_email=priv.get("receipt_email"),
            )
            session["payment_intent"] = pi["id"]
            pi_created = True
        if outcome == "declined":
            charge = self._charge_attempt(pi, "declined", email, name) if pi else None
            if pi_created:
                self._emit("payment_intent.created", pi)
            if charge:
                self._emit("charge.failed", charge)
                self._emit("payment_intent.payment_failed", pi)
            return self._decline_error(charge)
        if session["customer"] is None and session.get("customer_creation") == "always":
            new_customer = self._new_customer(email, name)
            session["customer"] = new_customer["id"]
            if pi is not None:
                pi["customer"] = new_customer["id"]
        charge = self._charge_attempt(pi, outcome, email, name) if pi else None
        session.update(
            status="complete",
            url=None,
            customer_details=self._customer_details(email, name),
        )
        if amount == 0:
            session["payment_status"] = "no_payment_required"
        else:
            session["payment_status"] = "paid" if outcome == "paid" else "unpaid"
        if new_customer:
            self._emit("customer.created", new_customer)
        if pi_created:
            self._emit("payment_intent.created", pi)
        if charge and outcome == "paid":
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", pi)
        elif charge:
            self._emit("charge.pending", charge)
            self._emit("payment_intent.processing", pi)
        self._emit("checkout.session.completed", session)
        return None

    def _complete_subscription_mode(
        self, session: dict, outcome: str, email: str, name: str | None
    ) -> dict | None:
        if outcome == "declined":
            # Checkout validates the card before it creates the subscription:
            # nothing is created, the session stays open.
            return self._decline_error(None)
        new_customer = None
        if session["customer"] is None:
            new_customer = self._new_customer(email, name)
            session["customer"] = new_customer["id"]
        items = self.session_items[session["id"]]
        amount = session["amount_total"]
        sub = self._new_subscription(
            session["customer"],
            session,
            items,
            "active" if outcome == "paid" or amount == 0 else "incomplete",
        )
        start, end = sub["current_period_start"], sub["current_period_end"]
        lines = []
        si_by_price = {i["price"]["id"]: i["id"] for i in sub["items"]["data"]}
        for li in items:
            price = self.objects[li["price"]]
            if price["type"] == "recurring":
                lines.append(
                    (price, li["quantity"], (start, end), si_by_price.get(price["id"]))
                )
            else:
                lines.append((price, li["quantity"], (start, start), None))
        inv = self._new_invoice(sub, "subscription_create", lines, (start, start))
        self._finalize_invoice(inv)
        pi = charge = None
        if inv["amount_due"] > 0:
            pi, _ = self._invoice_payment_intent(inv, "Subscription creation")
            charge = self._charge_attempt(
                pi, "paid" if outcome == "paid" else "async", email, name
            )
            inv["charge"] = charge["id"]
        if outcome == "paid" or inv["amount_due"] == 0:
            self._mark_invoice_paid(inv)
        else:
            inv["attempted"] = True
            inv["attempt_count"] = 1
        session.update(
            status="complete",
            url=None,
            subscription=sub["id"],
            invoice=inv["id"],
            customer_details=self._customer_details(email, name),
            payment_status=(
                "no_payment_required"
                if amount == 0
                else ("paid" if outcome == "paid" else "unpaid")
            ),
        )
        if new_customer:
            self._emit("customer.created", new_customer)
        self._emit("customer.subscription.created", sub)
        self._emit("invoice.created", inv)
        self._emit("invoice.finalized", inv)
        if pi is not None:
            self._emit("payment_intent.created", pi)
            if outcome == "paid":
                self._emit("charge.succeeded", charge)
                self._emit("payment_intent.succeeded", pi)
            else:
                self._emit("charge.pending", charge)
                self._emit("payment_intent.processing", pi)
        if inv["status"] == "paid":
            self._emit("invoice.paid", inv)
            self._emit("invoice.payment_succeeded", inv)
        self._emit("checkout.session.completed", session)
        return None

    def settle_payment(self, sid: str, succeeded: bool) -> dict:
        with self.lock:
            self.clear_request()
            session = self._get("checkout.session", sid)
            pi = (
                self.objects.get(session["payment_intent"])
                if session["payment_intent"]
                else None
            )
            inv = (
                self.objects.get(session["invoice"]) if session.get("invoice") else None
            )
            if inv is not None and inv.get("payment_intent"):
                pi = self.objects[inv["payment_intent"]]
            if (
                session["status"] != "complete"
                or pi is None
                or pi["status"] != "processing"
            ):
                raise StripeError(
                    400,
                    f"Checkout Session {sid} has no processing (async) payment to settle.",
                    code="no_pending_payment",
                    param="session",
                )
            mark = self._event_count()
            charge = self._settle_charge(pi, succeeded)
            sub = (
                self.objects.get(session["subscription"])
                if session.get("subscription")
                else None
            )
            sub_before = copy.deepcopy(sub) if sub else None
            if succeeded:
                session["payment_status"] = "paid"
                if inv is not None:
                    self._mark_invoice_paid(inv)
                if sub is not None and sub["status"] == "incomplete":
                    sub["status"] = "active"
                self._emit("charge.succeeded", charge)
                self._emit("payment_intent.succeeded", pi)
                if inv is not None:
                    self._emit("invoice.paid", inv)
                    self._emit("invoice.payment_succeeded", inv)
                if sub is not None and sub_before is not None and diff(sub_before, sub):
                    self._emit(
                        "customer.subscription.updated", sub, diff(sub_before, sub)
                    )
                self._emit("checkout.session.async_payment_succeeded", session)
            else:
                if inv is not None:
                    inv["next_payment_attempt"] = None
                self._emit("charge.failed", charge)
                self._emit("payment_intent.payment_failed", pi)
                if inv is not None:
                    self._emit("invoice.payment_failed", inv)
                self._emit("checkout.session.async_payment_failed", session)
            return {"session": session, "events": self._events_since(mark)}

    def renew_subscription(self, sid: str, fail: bool = False) -> dict:
        with self.lock:
            self.clear_request()
            sub = self._get("subscription", sid)
            if sub["status"] not in ("active", "past_due", "trialing"):
                raise StripeError(
                    400,
                    "Subscription {} cannot be renewed (status: {}).".format(
                        sid, sub["status"]
                    ),
                    param="subscription",
                )
            mark = self._event_count()
            before = copy.deepcopy(sub)
            cust = self.objects[sub["customer"]]
            open_inv = (
                self.objects.get(sub["latest_invoice"])
                if sub["latest_invoice"]
                else None
            )
            if open_inv is not None and open_inv["status"] != "open":
                open_inv = None
            if sub["cancel_at_period_end"] and open_inv is None:
                self._cancel_subscription(
                    sub, "cancellation_requested", at=sub["current_period_end"]
                )
                return {
                    "subscription": sub,
                    "invoice": None,
                    "events": self._events_since(mark),
                }
            created_inv = False
            if open_inv is None:
                old_start, old_end = (
                    sub["current_period_start"],
                    sub["current_period_end"],
                )
                rec = sub["items"]["data"][0]["price"]["recurring"]
                new_end = add_interval(old_end, rec["interval"], rec["interval_count"])
                sub["current_period_start"], sub["current_period_end"] = (
                    old_end,
                    new_end,
                )
                for item in sub["items"]["data"]:
                    item["current_period_start"], item["current_period_end"] = (
                        old_end,
                        new_end,
                    )
                if sub["cancel_at"] is not None and sub["cancel_at_period_end"]:
                    sub["cancel_at"] = new_end
                inv = self._new_invoice(
                    sub,
                    "subscription_cycle",
                    self._sub_period_lines(sub, old_end, new_end),
                    (old_start, old_end),
                )
                self._finalize_invoice(inv)
                created_inv = True
            else:
                inv = open_inv
            pi = charge = None
            pi_created = False
            if inv["amount_due"] > 0:
                pi, pi_created = self._invoice_payment_intent(
                    inv, "Subscription update"
                )
                charge = self._charge_attempt(
                    pi,
                    "declined" if fail else "paid",
                    cust.get("email"),
                    cust.get("name"),
                )
                inv["charge"] = charge["id"]
            if fail:
                self._mark_invoice_failed(inv)
                sub["status"] = "past_due"
            else:
                self._mark_invoice_paid(inv)
                sub["status"] = "active"
            if created_inv:
                self._emit("invoice.created", inv)
                self._emit("invoice.finalized", inv)
            if pi_created:
                self._emit("payment_intent.created", pi)
            if charge is not None:
                if fail:
                    self._emit("charge.failed", charge)
                    self._emit("payment_intent.payment_failed", pi)
                else:
                    self._emit("charge.succeeded", charge)
                    self._emit("payment_intent.succeeded", pi)
            if fail:
                self._emit("invoice.payment_failed", inv)
            else:
                self._emit("invoice.paid", inv)
                self._emit("invoice.payment_succeeded", inv)
            changes = diff(before, sub)
            if changes:
                self._emit("customer.subscription.updated", sub, changes)
            return {
                "subscription": sub,
                "invoice": inv,
                "events": self._events_since(mark),
            }

    # ------------------------------------------------------------------
    # refunds
    # ------------------------------------------------------------------
    def create_refund(self, p: dict) -> dict:
        with self.lock:
            if p.get("payment_intent"):
                pi = self._get(
                    "payment_intent",
                    p["payment_intent"],
                    param="payment_intent",
                    status=400,
                )
                if pi["status"] != "succeeded" or not pi["latest_charge"]:
                    raise StripeError(
                        400,
                        "This PaymentIntent ({}) does not have a successful charge to refund.".format(
                            pi["id"]
                        ),
                        code="charge_not_refundable",
                        param="payment_intent",
                    )
                charge = self.objects[pi["latest_charge"]]
            else:
                raise _missing("payment_intent")
            if charge["status"] != "succeeded":
                raise StripeError(
                    400,
                    "Charge {} has not succeeded and cannot be refunded.".format(
                        charge["id"]
                    ),
                    code="charge_not_refundable",
                    param="charge",
                )
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            if remaining <= 0:
                raise StripeError(
                    400,
                    "Charge {} has already been refunded.".format(charge["id"]),
                    code="charge_already_refunded",
                    param="charge",
                )
            amount = p.get("amount")
            if amount in (None, ""):
                amount = remaining
            if amount <= 0:
                raise StripeError(
                    400, "Refund amount must be positive.", param="amount"
                )
            if amount > remaining:
                raise StripeError(
                    400,
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})".format(
                        format_amount(amount, charge["currency"]),
                        format_amount(remaining, charge["currency"]),
                    ),
                    code="amount_too_large",
                    param="amount",
                )
            before = copy.deepcopy(charge)
            refund = {
                "id": gen_id("re_", 24),
                "object": "refund",
                "amount": amount,
                "balance_transaction": gen_id("txn_", 24),
                "charge": charge["id"],
                "created": now(),
                "currency": charge["currency"],
                "destination_details": {
                    "card": {
                        "reference_status": "pending",
                        "reference_type": "acquirer_reference_number",
                        "type": "refund",
                    },
                    "type": "card",
                },
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": None,
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None,
            }
            self._insert(refund)
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            self._emit("refund.created", refund)
            self._emit("charge.refunded", charge, diff(before, charge))
            return refund

    # ------------------------------------------------------------------

def _in_range(value: Any, spec: Any) -> bool:
    if value is None:
        return False
    if isinstance(spec, int):
        return value == spec
    ok = True
    if "gt" in spec:
        ok &= value > spec["gt"]
    if "gte" in spec:
        ok &= value >= spec["gte"]
    if "lt" in spec:
        ok &= value < spec["lt"]
    if "lte" in spec:
        ok &= value <= spec["lte"]
    return ok


