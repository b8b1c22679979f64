"""Criteria for the money kinds: ledger and payments.

Each scenario drives the capability's own routes (see its `module.py.j2`) and asserts both the behaviour and
the refusal the behaviour implies: a settlement above what is owed 409, a payment by someone who may not see the
record 401/403.
"""

from __future__ import annotations

import math
import re

from . import ScenarioError, rule_number
from ._flow_helpers import (
    _a,
    _ent_label,
    _ent_plural,
    _field_label,
    _fitted,
    _readers,
    _realised,
    _role_label,
    _writers,
)

# ---------------------------------------------------------------------------------------------- ledger


def _realises_ledger(cap, spec, rule, reading) -> bool:
    """A ledger has no parameter for a stated rule (its exact split and settle-up limit hold always)."""
    return False


def _ledger_cents(field) -> int:
    """An amount (cents) the charge accepts that three cannot share evenly (a cent is left over)."""
    lo = field.min if field is not None and field.min is not None else float("-inf")
    hi = field.max if field is not None and field.max is not None else float("inf")
    for cents in (10000, 1000, 100):
        if lo <= cents / 100 <= hi:
            return cents
    start = max(4, math.ceil(lo * 100)) if lo != float("-inf") else 4
    cents = next((c for c in range(start, start + 3) if c % 3), start)
    if cents / 100 > hi:
        raise ScenarioError(f"the charge's amount field accepts no amount three cannot share evenly ({lo}..{hi})")
    return cents


def _shares(cents: int) -> list[int]:
    """Three equal shares in cents: the cents left over go one each to the lowest ids (equal fractions)."""
    return [cents // 3 + (1 if i < cents % 3 else 0) for i in range(3)]


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _derive_ledger(cap, spec, reading, feature) -> list[dict]:
    charge, part = _ent_label(spec, cap.charge_entity), _ent_label(spec, cap.participant_entity)
    parts = _ent_plural(spec, cap.participant_entity)
    try:
        cents = _ledger_cents(spec.entity(cap.charge_entity).field(cap.amount_field))
    except ScenarioError:  # compiling the criterion reports it
        cents = 10000
    amount, third = _money(cents), _money(_shares(cents)[1])
    text = (f"{_a(charge).capitalize()} of {amount} paid by one {part} and split equally among three {parts} gives "
            f"shares adding up to exactly {amount} and balances adding up to zero; a settlement of more than the "
            f"{third} a {part} owes is refused, one of {third} clears their balance.")
    return [{"text": text, "template": "ledger.split_settle",
             "params": {"capability": cap.id, "charge_entity": cap.charge_entity, "amount_field": cap.amount_field,
                        "participant_entity": cap.participant_entity, "payer_field": cap.payer_field},
             "rules": []}]


def _split_settle(p, capability: str, charge_entity: str, amount_field: str, participant_entity: str,
                  payer_field: str | None) -> None:
    charge = p.entity(charge_entity)
    cents = _ledger_cents(charge.field(amount_field))
    plabel, clabel = p.entity(participant_entity).label.lower(), charge.label.lower()
    who = p.writer(charge_entity)
    role = p.scenario["actors"].get(who, who)
    if participant_entity in (p.spec.role(role).write if p.spec.role(role) else []):
        part_maker, settler = who, who  # the recorder created the participants, so it speaks for them
    else:
        if "owner" not in _writers(p.spec, charge_entity) or "owner" not in _writers(p.spec, participant_entity):
            raise ScenarioError(f"no role both adds {participant_entity!r} and records settlements")
        part_maker, settler = "owner", "owner"
    people = [p.make(participant_entity, part_maker, note=f"{plabel} {i + 1}") for i in range(3)]
    over = {amount_field: _money(cents)}
    if payer_field:
        over[payer_field] = f"${{{people[0]}.id}}"
    row = p.make(charge_entity, who, over, note=f"{_a(clabel)} of {_money(cents)} paid by {plabel} 1")
    body = {"method": "equal", "participants": [f"${{{x}.id}}" for x in people]}
    if not payer_field:
        body["payer_id"] = f"${{{people[0]}.id}}"
    shares = _shares(cents)
    share = shares[1]  # what participant 2 owes
    split = f"/api/{capability}/charges/${{{row}.id}}/split"
    # the payer's speaker splits: the recorder when it created the participants, else the owner
    p.step(settler, "POST", split, json=body, expect=201,
           checks=[{"path": "total", "op": "eq", "value": _money(cents)},
                   {"path": "payer_id", "op": "eq", "value": f"${{{people[0]}.id}}"},
                   {"path": "shares", "op": "len", "value": 3}]
           + [{"path": f"shares.{i}.amount", "op": "eq", "value": _money(c)} for i, c in enumerate(shares)],
           note="split it equally: the shares add up to the amount to the cent")
    p.step(settler, "POST", split, json=body, expect=409, note=f"the same {clabel} cannot be split twice")
    balances = [cents - shares[0], -shares[1], -shares[2]]
    p.step(who, "GET", f"/api/{capability}/balances", expect=200,
           checks=[{"path": "total", "op": "eq", "value": "0.00"}]
           + [{"path": f"participants.{i}.balance", "op": "eq", "value": _money(b)} for i, b in enumerate(balances)],
           note="balances: the payer is owed, the others owe, and they sum to zero")
    pay = {"from_id": f"${{{people[1]}.id}}", "to_id": f"${{{people[0]}.id}}"}
    p.step(settler, "POST", f"/api/{capability}/settlements", json={**pay, "amount": _money(share + 1)},
           expect=409, note=f"settling one cent more than {plabel} 2 owes is refused")
    p.step(settler, "POST", f"/api/{capability}/settlements", json={**pay, "amount": _money(share)},
           expect=201, checks=[{"path": "amount", "op": "eq", "value": _money(share)}],
           note=f"{plabel} 2 settles exactly what they owe")
    p.step(who, "GET", f"/api/{capability}/balances", expect=200,
           checks=[{"path": "total", "op": "eq", "value": "0.00"},
                   {"path": "participants.0.balance", "op": "eq", "value": _money(balances[0] - share)},
                   {"path": "participants.1.balance", "op": "eq", "value": "0.00"}],
           note=f"{plabel} 2 is settled; the balances still sum to zero")
    p.step(settler, "POST", f"/api/{capability}/settlements", json={**pay, "amount": "0.01"}, expect=409,
           note=f"{plabel} 2 owes nothing more")


# ---------------------------------------------------------------------------------------------- payments

_PERCENT = ("", "%", "percent", "per cent", "pct")


def _realises_payments(cap, spec, rule, reading) -> bool:
    """A stated price the checkout computes (`_realises_price`), a deposit it charges a share of, or a fee rule whose percentage is the platform fee the app takes: the words say a fee, commission or cut the
    platform keeps ("a 10% fee", "keeps 12%"), never a share of the price the payer pays ("a 25% deposit", "10%
    off", "a 5% tip" are not what the platform keeps)."""
    if rule.category == "price" or (rule.category == "fee" and cap.deposit_percent is not None):
        said = {u.word for u in (reading.words if reading else [])}
        if said & {"deposit", "deposits"} and any(re.match(r"(refund|return|repa[iy]|give[sn]? back)", w)
                                                  for w in said):
            return False  # "a deposit, returned after collection": the app takes it but gives nothing back
    if rule.category == "price":
        return _realises_price(cap, rule)
    unit = (rule.unit or "").strip().lower()
    if (rule.category == "fee" and cap.deposit_percent is not None and rule_number(rule) is not None
            and unit in _PERCENT and abs(rule_number(rule) - float(cap.deposit_percent)) < 1e-9):
        return True  # "a 50% deposit": checkout charges that share of the amount
    said = " ".join([rule.words.lower()] + [u.word for u in (reading.words if reading else [])])
    kept = re.search(r"\b(fees?|commissions?|cut|keeps?|kept|takes?|platform|service charges?|surcharges?)\b", said)
    other = re.search(r"\b(deposits?|discounts?|off|refunds?|tips?|down ?payments?|upfront|advance)\b",
                      rule.words.lower())
    return (rule.category == "fee" and cap.platform_fee_percent is not None and rule_number(rule) is not None
            and unit in _PERCENT and abs(rule_number(rule) - float(cap.platform_fee_percent)) < 1e-9
            and kept is not None and other is None)


def _realises_price(cap, rule) -> bool:
    """ "£38 per hour" is realised by a unit price of 38 times a quantity field named for the hours; "£90" (or
    "8 pounds per firing" on the firings, "$39 monthly" on a subscription) by a unit price of 90 per record."""
    from ..planner.text import singular

    if cap.unit_price is None or rule_number(rule) is None or abs(rule_number(rule) - cap.unit_price) > 1e-9:
        return False
    per = singular(rule.unit) if rule.unit else None
    if cap.start_field is not None:
        return per == "hour"  # the hours from the record's start to its end
    if cap.quantity_field is not None:
        return per is not None and singular(cap.quantity_field.split("_")[-1]) == per
    return per is None or per == cap.entity or (cap.mode == "subscription" and per in ("month", "year"))


def _minor(value: float) -> int:
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(str(value)) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _due(unit_price: float | None, quantity: int, deposit_percent: float | None, price: str) -> tuple[int, int]:
    """(the record's amount, what checkout charges), both in minor units, as the app computes them."""
    from decimal import ROUND_HALF_UP, Decimal

    amount = _minor(unit_price * quantity) if unit_price is not None else _minor(float(price))
    due = amount if not deposit_percent else int((Decimal(amount) * Decimal(str(deposit_percent)) / 100).quantize(
        Decimal("1"), rounding=ROUND_HALF_UP))
    return amount, due


def _payer(spec, entity: str) -> tuple[str | None, bool]:
    """(the role a payment scenario pays as, whether it reads `entity` only where the row is its own). The first
    reader other than the owner, of those reading every row or able to make rows of their own (under read_own it
    pays for its own record, and another's is as missing to it as a deleted one)."""
    readers = _readers(spec, entity)
    ok = [r for r in readers if r != "owner" and (entity not in spec.role(r).read_own or entity in spec.role(r).write)]
    role = (ok or readers or [None])[0]
    return role, role is not None and entity in spec.role(role).read_own


def _derive_payments(cap, spec, reading, feature) -> list[dict]:
    ent = _ent_label(spec, cap.entity)
    params = {"capability": cap.id, "entity": cap.entity, "amount_field": cap.amount_field}
    outsiders = [r.name for r in spec.roles if r.name not in _readers(spec, cap.entity)]
    who = f"{_a(_role_label(spec, outsiders[0]))} or " if outsiders else ""
    payer, own = _payer(spec, cap.entity)
    theirs = (f"; {_a(_role_label(spec, payer))} pays for {_a(ent)} of their own, and another "
              f"{_role_label(spec, payer)} may not pay for it" if own else "")
    out = [{"text": f"Only signed-in users who may see {_a(ent)} can pay for it ({who}an anonymous visitor is "
                    f"refused){theirs}; a forged 'payment received' message marks nothing paid; checkout "
                    f"charges the {ent}'s own {_field_label(spec, cap.entity, cap.amount_field)}, once.",
            "template": "payments.guarded", "params": params, "rules": []}]
    rules = _realised(cap, spec, reading)
    money = [i for i in rules if reading.rules[i].category == "price" or (
        cap.deposit_percent is not None and reading.rules[i].category == "fee"
        and rule_number(reading.rules[i]) == float(cap.deposit_percent))]
    if cap.unit_price is not None or cap.deposit_percent is not None:
        qty = 2 if cap.quantity_field or cap.start_field else 1
        amount, due = _due(cap.unit_price, qty, cap.deposit_percent,
                           _price(spec.entity(cap.entity).field(cap.amount_field)))
        field = _field_label(spec, cap.entity, cap.amount_field)
        said = (f"{_a(ent).capitalize()} of {qty} {_field_label(spec, cap.entity, cap.quantity_field)} "
                f"at {cap.unit_price:.2f} each" if cap.quantity_field else
                f"{_a(ent).capitalize()} of 2 hours at {cap.unit_price:.2f} an hour" if cap.start_field else
                f"{_a(ent).capitalize()} at its {cap.unit_price:.2f}" if cap.unit_price is not None else
                f"{_a(ent).capitalize()} of {_money(amount)}")
        deposit = f" and checkout charges the {cap.deposit_percent:g}% deposit, {_money(due)}" \
            if cap.deposit_percent else f" and checkout charges {_money(due)} ({due} minor units)"
        out.append({"text": f"{said} has a {field} of {_money(amount)} computed by the app (an amount the client "
                            f"sends is ignored){deposit}.",
                    "template": "payments.computed_amount",
                    "params": {**params, "unit_price": cap.unit_price, "quantity_field": cap.quantity_field,
                               "deposit_percent": cap.deposit_percent, "start_field": cap.start_field,
                               "end_field": cap.end_field}, "rules": money})
        rules = [i for i in rules if i not in money]
    if getattr(cap, "paid_before", None):
        state = " or ".join(v.replace("_", " ") for v in cap.paid_before)
        from ..capabilities.payments import flow_of

        how = "the move (its workflow's transition too)" if flow_of(cap, spec) is not None else "the move"
        out.append({"text": f"{_a(ent).capitalize()} cannot move to {state} until it is paid: {how} is refused "
                            f"(409) while it is unpaid, even with a checkout open or a forged 'paid' message, and "
                            f"succeeds once Stripe's signed webhook confirms the payment.",
                    "template": "payments.paid_before",
                    "params": {**params, "state_field": cap.state_field, "paid_before": list(cap.paid_before)},
                    "rules": []})
    if cap.platform_fee_percent:
        out.append({"text": f"The app keeps a {cap.platform_fee_percent:g}% platform fee on each {ent} paid for.",
                    "template": "payments.platform_fee",
                    "params": {**params, "percent": float(cap.platform_fee_percent)}, "rules": rules})
    return out


def _price(field) -> str:
    lo = float(field.min) if field is not None and field.min is not None else 0.0
    price = max(lo, 12.5) if field is None or field.max is None or field.max >= 12.5 else float(field.max)
    return f"{price:.2f}"


def _stated(p, capability: str, entity: str, amount_field: str) -> tuple[dict, str, str]:
    """(what a test row sets, the record's price, what its checkout charges) for a payments capability: a stated
    price (times a quantity of 2) and a deposit as the app computes them, else the row's own amount."""
    ent = p.entity(entity)
    cap = next((c for c in p.spec.capabilities if c.id == capability), None)
    price = _price(ent.field(amount_field))
    unit, qty_field = getattr(cap, "unit_price", None), getattr(cap, "quantity_field", None)
    span = _span(p, cap)
    amount, due = _due(unit, 2 if qty_field or span else 1, getattr(cap, "deposit_percent", None), price)
    over = {amount_field: price} if unit is None else ({qty_field: 2} if qty_field else dict(span))
    return over, _money(amount), _money(due)


def _span(p, cap, until: str = "12:00") -> dict:
    """Two hours (10:00 to `until`) of a price per hour's start and end, four days after the criteria's clock."""
    from datetime import timedelta

    from ..capabilities.payments import sample_span
    from . import NOW

    if cap is None or getattr(cap, "start_field", None) is None:
        return {}
    return sample_span(cap, p.spec, day=NOW + timedelta(days=4), until=until)


def _guarded(p, capability: str, entity: str, amount_field: str) -> None:
    ent = p.entity(entity)
    label = ent.label.lower()
    over, price, due = _stated(p, capability, entity, amount_field)
    readers = _readers(p.spec, entity)
    if not readers:
        raise ScenarioError(f"no role may read {entity!r}")
    role, own = _payer(p.spec, entity)
    buyer = p.actor(role)
    row = p.make(entity, buyer if own else p.writer(entity), over,
                 note=f"{_a(label)} priced {price}" + (f", the {role.replace('_', ' ')}'s own" if own else ""))
    pay = f"/api/{capability}/{ent.plural}/${{{row}.id}}/checkout"
    p.step("anon", "POST", pay, json={}, expect=401, note="an anonymous visitor may not pay")
    outsider = next((r.name for r in p.spec.roles if r.name not in readers), None)
    if outsider:
        p.step(p.actor(outsider), "POST", pay, json={}, expect=403, note=f"{_a(outsider)} may not see it, nor pay")
    if own:
        p.step(p.actor(role), "POST", pay, json={}, expect=404,
               note=f"another {role.replace('_', ' ')} may not see it, nor pay")
    p.step(buyer, "POST", f"/api/{capability}/{ent.plural}/999999/checkout", json={}, expect=404,
           note=f"paying for {_a(label)} that does not exist is refused")
    # Payments go to the runner's loopback Stripe stand-in: the checkout opens at the record's own price whatever
    # the client sends, and a second one while it is open is 409.
    p.scenario["stripe"] = True
    p.step(buyer, "POST", pay, json={"amount": "0.07", "unit_amount": 7}, expect=201,
           checks=[{"path": "payment.amount", "op": "eq", "value": due},
                   {"path": "payment.status", "op": "eq", "value": "pending"},
                   {"op": "text_not_contains", "value": "0.07"}],
           note="a checkout charges the record's own price, never the one the client sends")
    p.step(buyer, "POST", pay, json={}, expect=409, note="a second checkout while one is open is refused")
    event = {"id": "evt_forged", "object": "event", "type": "checkout.session.completed",
             "data": {"object": {"id": "cs_forged", "payment_status": "paid", "amount_total": 1, "currency": "usd"}}}
    p.step("anon", "POST", f"/api/{capability}/webhook", json=event, expect=400,
           note="an unsigned 'payment received' message is refused")
    p.step(buyer, "GET", f"/api/{capability}/payments", expect=200,
           checks=[{"path": "items", "op": "none", "key": "status", "value": "paid"},
                   {"path": "items", "op": "none", "key": "status", "value": "active"}],
           note="nothing is marked paid")


def _platform_fee(p, capability: str, entity: str, amount_field: str, percent: float) -> None:
    readers = _readers(p.spec, entity)
    if not readers:
        raise ScenarioError(f"no role may read {entity!r}")
    role, own = _payer(p.spec, entity)
    reader = p.actor(role)
    p.step(reader, "GET", f"/api/{capability}/payouts", expect=200,
           checks=[{"path": "fee_percent", "op": "eq", "value": percent},
                   {"path": "items", "op": "len", "value": 0}],
           note=f"the platform fee is {percent:g}% (no payouts before any payment)")
    from decimal import ROUND_HALF_UP, Decimal

    ent = p.entity(entity)
    over, _amount, price = _stated(p, capability, entity, amount_field)
    fee = (Decimal(price) * Decimal(str(percent)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    row = p.make(entity, reader if own else p.writer(entity), over,  # under read_own, its own
                 note=f"{_a(ent.label.lower())} priced {price}")
    p.scenario["stripe"] = True
    p.step(reader, "POST", f"/api/{capability}/{ent.plural}/${{{row}.id}}/checkout", json={}, expect=201,
           checks=[{"path": "payment.amount", "op": "eq", "value": price},
                   {"path": "payment.platform_fee", "op": "eq", "value": f"{fee:.2f}"}],
           note=f"paying {price} keeps a platform fee of {fee:.2f} ({percent:g}%)")


def _computed_amount(p, capability: str, entity: str, amount_field: str, unit_price: float | None,
                     quantity_field: str | None, deposit_percent: float | None, start_field: str | None = None,
                     end_field: str | None = None) -> None:
    ent = p.entity(entity)
    label = ent.label.lower()
    role, own = _payer(p.spec, entity)
    if role is None:
        raise ScenarioError(f"no role may read {entity!r}")
    buyer = p.actor(role)
    maker = buyer if own else p.writer(entity)
    cap = next((c for c in p.spec.capabilities if c.id == capability), None)
    span = _span(p, cap) if start_field else {}
    qty = 2 if quantity_field or span else 1
    price = _price(ent.field(amount_field))
    amount, due = _due(unit_price, qty, deposit_percent, price)
    sent = price if _minor(float(price)) != amount else _money(amount + 100)  # one the field accepts
    over = {amount_field: sent if unit_price is not None else price}
    if quantity_field:
        over[quantity_field] = qty
    over.update(span)
    row = p.make(entity, maker, over, note=f"{_a(label)}" + (f" of {qty} {quantity_field.replace('_', ' ')}"
                                                           if quantity_field else " of 2 hours" if span else "")
                 + (f", the client sending an amount of {sent}" if unit_price is not None else ""))
    if unit_price is not None:
        p.step(maker, "GET", f"/api/{ent.plural}/${{{row}.id}}", expect=200,
               checks=[{"path": amount_field, "op": "eq", "value": _money(amount)}],
               note=f"the app computed its {amount_field.replace('_', ' ')}: {_money(amount)}, not the client's {sent}")
        p.step(maker, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={amount_field: sent}, expect=200,
               checks=[{"path": amount_field, "op": "eq", "value": _money(amount)}],
               note="changing the amount by hand does not change what is owed")
    p.scenario["stripe"] = True
    p.step(buyer, "POST", f"/api/{capability}/{ent.plural}/${{{row}.id}}/checkout",
           json={"amount": "0.07", "unit_amount": 7}, expect=201,
           checks=[{"path": "payment.amount", "op": "eq", "value": _money(due)},
                   {"path": "payment.amount_minor", "op": "eq", "value": due}],
           note=f"checkout charges {due} minor units" + (f" ({deposit_percent:g}% of {_money(amount)})"
                                                          if deposit_percent else ""))
    if span and unit_price is not None:
        three = _minor(unit_price * 3)
        p.step(maker, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={end_field: _span(p, cap, "13:00")[end_field]},
               expect=200, checks=[{"path": amount_field, "op": "eq", "value": _money(three)}],
               note=f"booked an hour longer, it costs three hours: {_money(three)}")


def _paid_before(p, capability: str, entity: str, amount_field: str, state_field: str, paid_before: list) -> None:
    from ..capabilities.payments import _flow_ctx

    ent = p.entity(entity)
    label = ent.label.lower()
    role, own = _payer(p.spec, entity)
    if role is None:
        raise ScenarioError(f"no role may read {entity!r}")
    buyer = p.actor(role)
    maker = buyer if own else p.writer(entity)
    over, price, due = _stated(p, capability, entity, amount_field)
    row = p.make(entity, maker, over, note=f"{_a(label)} priced {price}, not paid")
    rec = f"/api/{ent.plural}/${{{row}.id}}"
    cap = p.spec.capability(capability)
    flow = _flow_ctx(cap, p.spec) if cap is not None else None
    if flow is not None and not flow["moves"]:
        raise ScenarioError(f"no transition of workflow {flow['cap']!r} leads to {paid_before[0]!r}")
    for state in paid_before:  # a workflow refuses every edit of its state; else the hold names the payment
        p.step(maker, "PATCH", rec, json={state_field: state}, expect=409,
               checks=None if flow else [{"path": "error.code", "op": "eq", "value": "payment_required"}],
               note=f"it cannot move to {state.replace('_', ' ')} while unpaid" + (" by an edit" if flow else ""))
    if flow:  # the workflow moves the state: through its transitions, the held one last
        p.ready(entity, row, but=capability)  # other rules holding a move back (a guard's condition) hold
        *before, last = flow["moves"]
        for name, mover, _start, end in before:
            p.step("owner" if mover == "owner" else p.actor(mover), "POST",
                   f"/api/{flow['cap']}/records/${{{row}.id}}/{name}", json={},
                   note=f"{name.replace('_', ' ')}: it moves to {end.replace('_', ' ')} (no payment due yet)")
        last_mover = "owner" if last[1] == "owner" else p.actor(last[1])

    def move(expect: int, note: str, code: bool = True) -> None:
        if not flow:
            checks = [{"path": "error.code", "op": "eq", "value": "payment_required"}] if expect == 409 and code \
                else [{"path": state_field, "op": "eq", "value": paid_before[0]}] if expect == 200 else None
            p.step(maker, "PATCH", rec, json={state_field: paid_before[0]}, expect=expect, checks=checks, note=note)
            return
        checks = [{"path": "error.code", "op": "eq", "value": "payment_required"}] if expect == 409 else \
            [{"path": f"record.{state_field}", "op": "eq", "value": paid_before[0]}]
        p.step(last_mover, "POST", f"/api/{flow['cap']}/records/${{{row}.id}}/{last[0]}", json={}, expect=expect,
               checks=checks, note=f"{last[0].replace('_', ' ')}: " + note)

    if flow:
        move(409, f"the transition to {paid_before[0].replace('_', ' ')} is refused while unpaid")
    p.scenario["stripe"] = True
    p.step(buyer, "POST", f"/api/{capability}/{ent.plural}/${{{row}.id}}/checkout", json={}, expect=201,
           save="checkout", note="a checkout is opened (not yet paid)")
    move(409, "an open checkout is not a payment: the move is still refused", code=False)
    from decimal import Decimal

    paid = {"id": "evt_paid_before", "object": "event", "type": "checkout.session.completed",
            "data": {"object": {"id": "${checkout.payment.session_id}", "object": "checkout.session",
                                "payment_status": "paid", "amount_total": int(Decimal(due) * 100), "currency": "usd"}}}
    p.step("anon", "POST", f"/api/{capability}/webhook", json=paid, expect=400,
           note="an unsigned 'paid' message for that checkout is refused")
    move(409, "a forged 'paid' message does not unlock the move")
    p.step("anon", "POST", f"/api/{capability}/webhook", json=paid, expect=200, stripe_signed=True,
           note=f"Stripe confirms the checkout is paid ({due}), signed with the webhook secret")
    move(200, f"once paid, it moves to {paid_before[0].replace('_', ' ')}")


# ---------------------------------------------------------------------------------------------- tables

REALISES: dict = {"ledger": _realises_ledger, "payments": _realises_payments}
DERIVE = {kind: _fitted(fn) for kind, fn in (("ledger", _derive_ledger), ("payments", _derive_payments))}
COMPILE = {"ledger.split_settle": _split_settle, "payments.guarded": _guarded, "payments.platform_fee": _platform_fee,
           "payments.computed_amount": _computed_amount, "payments.paid_before": _paid_before}
