"""Capability `payments`: Stripe Checkout and verified webhooks in the app; platform fee and payout records for marketplaces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "payments"


class Params(CapabilityBase):
    kind: Literal["payments"] = "payments"
    entity: Name = Field(description="what is paid for, e.g. order or booking")
    amount_field: Name = Field(description="money field on `entity`")
    mode: Literal["one_time", "subscription"] = "one_time"
    platform_fee_percent: float | None = Field(default=None, ge=0, le=50)
    unit_price: float | None = Field(default=None, gt=0, le=1_000_000, description=(
        "a price the words state (\"£38 per hour\", \"each load costs £90\"): the app sets `amount_field` to it, "
        "times `quantity_field` when set, on every write; what a client sends for the amount is overwritten"))
    quantity_field: Name | None = Field(default=None, description=(
        "number field on `entity` the price is per (hours, nights, items); None: the price is per record"))
    start_field: Name | None = Field(default=None, description=(
        "with a unit_price per hour: datetime field on `entity` where the paid time starts (a booking's start); the "
        "amount is the price times the hours from it to `end_field`"))
    end_field: Name | None = Field(default=None, description="datetime field on `entity` where the paid time ends")
    deposit_percent: float | None = Field(default=None, gt=0, lt=100, description=(
        "checkout charges this percentage of the amount (\"a 50% deposit\"), rounded half up to the minor unit"))
    state_field: Name | None = Field(default=None, description=(
        "enum field of `entity` (its status) that `paid_before` names values of"))
    paid_before: list[Name] = Field(default_factory=list, description=(
        "\"a deposit before work starts\": a move of `state_field` to one of these is refused (409 payment_required) "
        "until a payment of the record is paid"))


# The same pins as the factory's own requirements.txt (stripe and what it pulls in).
PACKAGES: list[str] = ["stripe==16.1.0", "requests==2.34.2", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3",
                       "idna==3.20", "urllib3==2.8.0", "typing_extensions==4.16.0"]

SETTINGS = [
    ("STRIPE_API_KEY", "payments: Stripe secret key (sk_test_... for test mode)"),
    ("STRIPE_WEBHOOK_SECRET", "payments: signing secret of the webhook endpoint /api/<id>/webhook (whsec_...)"),
    ("STRIPE_API_BASE", "payments: a local Stripe fake's address (development only; refused in production)"),
    ("PAYMENTS_CURRENCY", "payments: ISO currency of the charges (default usd)"),
    ("APP_BASE_URL", "payments: public address Checkout returns to (default: the request's host)"),
]


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    m = b.entity_problem(spec, cap.entity, "paid entity")
    if m:
        return [m]
    p = [x for x in (b.field_problem(spec, cap.entity, cap.amount_field, "amount_field", ("money",)),) if x]
    if cap.quantity_field is not None:
        q = b.field_problem(spec, cap.entity, cap.quantity_field, "quantity_field", ("integer", "decimal"))
        p += [q] if q else []
        if cap.unit_price is None:
            p.append("quantity_field needs a unit_price to multiply")
    if (cap.start_field is None) != (cap.end_field is None):
        p.append("start_field and end_field go together: the hours between them are what is paid for")
    elif cap.start_field is not None:
        p += [x for x in (b.field_problem(spec, cap.entity, cap.start_field, "start_field", ("datetime",)),
                          b.field_problem(spec, cap.entity, cap.end_field, "end_field", ("datetime",))) if x]
        if cap.unit_price is None or cap.quantity_field is not None:
            p.append("start_field and end_field price the hours between them: set unit_price, not quantity_field")
    if cap.paid_before:
        m = b.field_problem(spec, cap.entity, cap.state_field or "", "state_field", ("enum",)) if cap.state_field \
            else "paid_before needs state_field: the enum field (status) whose values it names"
        if m:
            p.append(m)
        else:
            values = spec.entity(cap.entity).field(cap.state_field).values
            bad = [v for v in cap.paid_before if v not in values]
            if bad:
                p.append(f"{bad} are not values of {cap.entity}.{cap.state_field}; its values: {values}")
            elif values and values[0] in cap.paid_before:
                p.append(f"{values[0]!r} is where a {cap.entity} starts: a new record could never be made")
            elif flow_of(cap, spec) is not None:
                from .trigger import flow_path

                wf = flow_of(cap, spec)
                if not flow_path(wf, wf.initial, cap.paid_before[0]):
                    p.append(f"no transition of workflow {wf.id!r} leads to {cap.paid_before[0]!r}: the held move "
                             f"could never be made; name a state its transitions reach")
    elif cap.state_field:
        p.append("state_field goes with paid_before")
    if not b.readers(spec, cap.entity):
        p.append(f"no role may read {cap.entity!r}, so nobody could pay for one; add it to a role's read list")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    e = spec.entity(cap.entity)
    r = b.readers(spec, cap.entity)
    a = f"/api/{cap.id}"
    out = [
        Route(method="POST", path=f"{a}/{e.plural}/<int:record_id>/checkout",
              summary=f"start a Stripe Checkout ({cap.mode.replace('_', '-')}) for the record's {cap.amount_field} "
                      f"(once per record: 409 when already paid or a checkout is open)", roles=r),
        Route(method="POST", path=f"{a}/webhook",
              summary="Stripe webhook (signature verified on the raw body; idempotent by event id)", roles=[]),
        Route(method="GET", path=f"{a}/payments", summary="my payments (everyone's for the owner)", roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="payments page with pay buttons", roles=r),
        Route(method="POST", path=f"/{cap.id}/<int:record_id>/checkout", summary="pay button (form)", roles=r),
        Route(method="GET", path=f"/{cap.id}/done", summary="back from Checkout (success or cancel)", roles=r),
    ]
    if cap.platform_fee_percent:
        out.insert(3, Route(method="GET", path=f"{a}/payouts",
                            summary=f"payouts owed to sellers after the {cap.platform_fee_percent:g}% platform fee",
                            roles=r))
    return out


def sample_span(cap: Params, spec, day=None, until: str = "12:00") -> dict:
    """Two hours of `cap`'s start and end fields ({} without them): what the tests and criteria book and pay for,
    at the booking criteria's clock (a daily limit per resource moves it, see `_booking_slots`)."""
    from datetime import datetime

    from ._booking_slots import FIRST_DAY, SampleSlots

    if cap.start_field is None or cap.end_field is None:
        return {}
    day = day or datetime.combine(FIRST_DAY, datetime.min.time())
    booking = next((c for c in spec.capabilities if c.kind == "booking" and c.entity == cap.entity), None)
    slots = SampleSlots(spec, cap.entity)
    field = booking.resource_field if booking is not None else ""
    return {cap.start_field: slots.overlap_at(day, field, "10:00"), cap.end_field: slots.overlap_at(day, field, until)}


def charged_cents(cap: Params, amount_cents: int) -> int:
    """What a checkout charges for a record of `amount_cents`: all of it, or the deposit's share (half up)."""
    from decimal import ROUND_HALF_UP, Decimal

    if not cap.deposit_percent:
        return amount_cents
    return int((Decimal(amount_cents) * Decimal(str(cap.deposit_percent)) / 100).quantize(
        Decimal("1"), rounding=ROUND_HALF_UP))


def _buyer_and_seller(spec, entity: str, readers: list[str]) -> dict:
    """Who the generated tests pay as, and who makes the record paid for. The buyer is a role (not the owner) that
    reads every row of `entity`; when every such role reads only its own rows (read_own), the buyer makes the
    record itself and pays for its own (seller = buyer), since another's record is a 404 to it. `own_buyer` is a
    role reading only its own rows that may make one (None when there is none): it pays for its own record, and
    another's record is as missing to it as a deleted one."""
    from . import _bind as b
    own = set(b.own_readers(spec, entity))
    writes = set(b.writers(spec, entity))
    own_buyer = next((r for r in readers if r in own and r in writes and r != "owner"), None)
    full = next((r for r in readers if r != "owner" and r not in own), None)
    if full is not None or own_buyer is None:
        return {"buyer": full or "owner", "seller": b.writer_role(spec, entity), "buyer_is_seller": False,
                "own_buyer": own_buyer}
    return {"buyer": own_buyer, "seller": own_buyer, "buyer_is_seller": True, "own_buyer": own_buyer}


def flow_of(cap: Params, spec):
    """The workflow that moves the held status (it changes the state only through its transitions), or None."""
    if not cap.paid_before:
        return None
    return next((c for c in spec.capabilities if c.kind == "workflow" and c.entity == cap.entity
                 and c.state_field == cap.state_field), None)


def ready_actions(cap: Params, spec) -> list[dict]:
    """How a test makes a record free to move through its workflow past this hold (decision 0062): it is paid for.
    The generated tests record a paid payment of it; the criteria open a checkout as the owner and deliver Stripe's
    signed webhook. Empty unless a workflow moves the held status (a PATCH of it is the generic tests' own)."""
    if flow_of(cap, spec) is None:
        return []
    return [{"of": cap.id, "entity": cap.entity, "via": None, "target": cap.entity, "do": "pay",
             "payments": cap.id, "mode": cap.mode}]


def _flow_ctx(cap: Params, spec) -> dict | None:
    """For the templates: the workflow's id and transitions table, and the moves (transition, the role the tests
    make it as, from, to) from its initial state to the first held one, the last of which is the held move."""
    from .trigger import flow_path

    wf = flow_of(cap, spec)
    if wf is None:
        return None
    path = flow_path(wf, wf.initial, cap.paid_before[0])
    if not path:
        return {"cap": wf.id, "moves": []}
    moves, state = [], wf.initial
    for t in path:
        moves.append([t.name, "owner" if "owner" in t.roles else t.roles[0], state, t.to])
        state = t.to
    return {"cap": wf.id, "moves": moves}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    e = spec.entity(cap.entity)
    readers = b.readers(spec, cap.entity)
    amount = e.field(cap.amount_field)
    lo = float(amount.min) if amount.min is not None else 0.0
    price = max(lo, 12.5) if amount.max is None or amount.max >= 12.5 else float(amount.max)
    sent = price  # an amount the field accepts, which the tests send and the app overwrites
    if cap.unit_price is not None:  # the app computes the amount: the tests send a quantity of 2
        price = cap.unit_price * (2 if cap.quantity_field or cap.start_field else 1)
        sent = sent + 1 if abs(sent - price) < 0.005 else sent
    charged = charged_cents(cap, int(round(price * 100)))
    ctx = {
        "ent": e, "readers": readers, "price": f"{price:.2f}", "cents": charged, "charged": f"{charged / 100:.2f}",
        "sent": f"{sent:.2f}", "span": sample_span(cap, spec),
        "span_end3": sample_span(cap, spec, until="13:00").get(cap.end_field or ""),
        **_buyer_and_seller(spec, cap.entity, readers),
        "outsider": next((r.name for r in spec.roles if r.name not in readers), None),
        "fee_percent": cap.platform_fee_percent or 0, "flow": _flow_ctx(cap, spec),
    }
    d = "capabilities/payments/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """A stated price makes the amount the app's own: it computes it on every write (price, price x quantity or
    x hours) and overwrites what a client sends, so the foundation's CRUD tests neither expect it to round-trip
    nor PATCH it."""
    if cap.unit_price is None:
        return {}
    return {(cap.entity, cap.amount_field): round(float(cap.unit_price), 2)}
