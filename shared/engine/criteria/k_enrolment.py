"""Criteria for `enrolment`: a person signs up for a record as themselves and only once, cannot make or cancel
another person's sign-up, and — when a capacity is bound — the sign-up past it is refused.

The scenarios drive the capability's own routes (see `capabilities/enrolment/module.py.j2`). A stated rule is
realised only when the capability carries the rule's own number and nouns: "no more than 12 passengers" per trip
by a capacity of 12 on the trip's sign-ups (held by the enrolment, or by a `limit` on the same sign-ups, which
then realises it itself), "up to its seats" by the record's capacity field, "only once" by the one sign-up per
person and record every enrolment keeps.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from . import ScenarioError, a, entity_label

_PERIOD_WORDS = re.compile(r"\b(day|days|daily|week|weeks|weekly|month|months|monthly|year|years|yearly)\b")


def _cap(p, capability: str):
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "enrolment"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no enrolment capability {capability!r}")
    return cap


def _realises_enrolment(cap, spec, rule, reading) -> bool:
    """capacity/limit: the capacity the enrolment itself holds (not one a composing limit holds), with the rule's
    number or, for a capacity field, a capacity rule without one — read exactly as the limit kind reads it, per
    record; uniqueness: "only once", "once per trip", with no period."""
    from ..capabilities.enrolment import composing_limit
    from .k_limit import _realises_limit

    if rule.category in ("capacity", "limit"):
        if composing_limit(cap, spec) is not None or (cap.max is None and not cap.max_field):
            return False
        as_limit = SimpleNamespace(kind="limit", id=cap.id, entity=cap.entity, scope="parent",
                                   parent_field=cap.record_field, max=cap.max, max_field=cap.max_field,
                                   sum_field=None, period=None, date_field=None, where_field=None, where_values=[])
        return _realises_limit(as_limit, spec, rule, reading)
    if rule.category == "uniqueness":
        return rule.number in (None, 1, 1.0) and not _PERIOD_WORDS.search((rule.words or "").lower())
    return False


# ---------------------------------------------------------------------------------------------------- derive


def _rlabel(spec, role: str | None) -> str:
    r = spec.role(role) if role else None
    return (r.label if r else (role or "person").replace("_", " ")).lower()


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _params(cap, spec) -> dict:
    from ..capabilities.enrolment import person_entity, record_entity, sample_capacity

    return {"capability": cap.id, "record": record_entity(cap, spec), "person": person_entity(cap, spec),
            "fill": sample_capacity(cap, spec)}


def _derive_enrolment(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.enrolment import capacity, person_entity, record_entity, roles_for_tests

    rec, person = record_entity(cap, spec), person_entity(cap, spec)
    if spec.entity(rec or "") is None or spec.entity(person or "") is None:
        return []
    rules = list(enumerate(reading.rules)) if reading is not None else []
    realised = {cat: [i for i, r in rules if r.category in cats and _realises_enrolment(cap, spec, r, reading)]
                for cat, cats in (("capacity", ("capacity", "limit")), ("uniqueness", ("uniqueness",)))}
    who = roles_for_tests(cap, spec)
    one, ppl, member = entity_label(spec, rec), entity_label(spec, person, True), _rlabel(spec, who["member"])
    prm = _params(cap, spec)
    out = [{"text": _fit(f"{a(member)[:1].upper()}{a(member)[1:]} signs up for {a(one)} as themselves and sees it "
                         f"in their sign-ups; signing up again for the same {one} is refused, and they can cancel "
                         f"their own."), "template": "enrolment.sign_up_once", "params": prm,
            "rules": realised["uniqueness"]}]
    if who["member"] not in ("owner", who["manager"]):
        out.append({"text": _fit(f"{a(member)[:1].upper()}{a(member)[1:]} cannot cancel another "
                                 f"{entity_label(spec, person)}'s place on {a(one)}, nor sign them up."),
                    "template": "enrolment.not_others", "params": prm, "rules": []})
    n, field, _by = capacity(cap, spec)
    if prm["fill"] is not None:
        if n is not None:
            said = f"{a(one)[:1].upper()}{a(one)[1:]} takes at most {n} {ppl}: the next sign-up is refused"
        else:
            f = spec.entity(rec).field(field)
            said = (f"{a(one)[:1].upper()}{a(one)[1:]} takes no more {ppl} than its "
                    f"{(f.label if f else field).lower()}: with {prm['fill']}, a {prm['fill'] + 1}th sign-up is "
                    f"refused")
        out.append({"text": _fit(said + ", and a cancelled place can be taken again."),
                    "template": "enrolment.capacity", "params": prm, "rules": realised["capacity"]})
    return out


# ---------------------------------------------------------------------------------------------------- compile


def _setup(p, capability: str, record: str, person: str, fill: int | None = None):
    from ..capabilities.enrolment import capacity, roles_for_tests

    cap = _cap(p, capability)
    if (cap.record_field.removesuffix("_id"), cap.person_field.removesuffix("_id")) != (record, person) and (
            p.spec.entity(cap.entity).field(cap.record_field).ref != record):
        raise ScenarioError(f"enrolment {capability!r} is not of {record!r}")
    who = roles_for_tests(cap, p.spec)
    _n, field, _by = capacity(cap, p.spec)
    maker = "owner" if who["maker"] == "owner" else p.actor(who["maker"])
    rec = p.make(record, maker, {field: fill} if field and fill is not None else {},
                 note=f"a {p.entity(record).label.lower()}")
    pm = "owner" if who["person_maker"] == "owner" else p.actor(who["person_maker"])
    return cap, who, rec, pm


def _person(p, pm, person: str, cap, actor: str) -> str:
    return p.make(person, pm, {cap.person_email_field: f"${{actor.{actor}.email}}"},
                  note=f"the {p.entity(person).label.lower()} record of {actor}, with their sign-in email")


def _sign_up(p, actor, capability, rec, expect, note, body=None, save=None, checks=None):
    p.step(actor, "POST", f"/api/{capability}/records/${{{rec}.id}}/sign-up", json=body, expect=expect, save=save,
           checks=checks, note=note)


def _sign_up_once(p, capability: str, record: str, person: str, fill: int | None = None) -> None:
    cap, who, rec, pm = _setup(p, capability, record, person, fill)
    one = p.entity(record).label.lower()
    me = p.actor(who["member"])
    mine = _person(p, pm, person, cap, me)
    _sign_up(p, me, capability, rec, 201, f"the {who['member']} signs up for the {one}",
             checks=[{"path": "record.taken", "op": "eq", "value": 1}, {"path": "record.signed_up", "op": "true"},
                     {"path": "sign_up.person_id", "op": "eq", "value": f"${{{mine}.id}}"}])
    _sign_up(p, me, capability, rec, 409, "a second sign-up of the same person is refused",
             checks=[{"path": "error.code", "op": "eq", "value": "already_signed_up"}])
    p.step(me, "GET", f"/api/{capability}/records/${{{rec}.id}}", expect=200,
           checks=[{"path": "taken", "op": "eq", "value": 1}], note="one place is taken, not two")
    p.step(me, "GET", f"/api/{capability}/mine", expect=200,
           checks=[{"path": "items.0.record_id", "op": "eq", "value": f"${{{rec}.id}}"},
                   {"path": "items", "op": "len", "value": 1}], note="it is in my sign-ups")
    p.step(me, "DELETE", f"/api/{capability}/records/${{{rec}.id}}/sign-up", expect=200,
           checks=[{"path": "record.taken", "op": "eq", "value": 0}], note="I cancel my place")
    p.step("anon", "POST", f"/api/{capability}/records/${{{rec}.id}}/sign-up", expect=401,
           note="a visitor who is not signed in may not sign up")


def _not_others(p, capability: str, record: str, person: str, fill: int | None = None) -> None:
    cap, who, rec, pm = _setup(p, capability, record, person, fill)
    one = p.entity(record).label.lower()
    me, other = p.actor(who["member"]), p.actor(who["member"])
    _person(p, pm, person, cap, me)
    theirs = _person(p, pm, person, cap, other)
    _sign_up(p, other, capability, rec, 201, f"another {who['member']} signs up for the {one}", save="theirs")
    p.step(me, "DELETE", f"/api/{capability}/sign-ups/${{theirs.sign_up.id}}", expect=403,
           checks=[{"path": "error.code", "op": "eq", "value": "not_your_sign_up"}],
           note="I may not cancel their place")
    second = p.make(record, "owner" if who["maker"] == "owner" else p.actor(who["maker"]), {},
                    note=f"a second {one}")
    _sign_up(p, me, capability, second, 403, f"I may not sign them up for another {one}",
             body={"person_id": f"${{{theirs}.id}}"},
             checks=[{"path": "error.code", "op": "eq", "value": "not_your_sign_up"}])
    p.step(other, "GET", f"/api/{capability}/records/${{{rec}.id}}", expect=200,
           checks=[{"path": "taken", "op": "eq", "value": 1}, {"path": "signed_up", "op": "true"}],
           note="their place is still there")


def _capacity(p, capability: str, record: str, person: str, fill: int | None = None) -> None:
    if fill is None:
        raise ScenarioError(f"enrolment {capability!r} has no capacity")
    cap, who, rec, pm = _setup(p, capability, record, person, fill)
    one = p.entity(record).label.lower()
    manager = "owner" if who["manager"] == "owner" else p.actor(who["manager"])
    people = [p.make(person, pm, {cap.person_email_field: f"place{i + 1}@example.com"},
                     note=f"{p.entity(person).label.lower()} {i + 1}") for i in range(fill)]
    for i, var in enumerate(people):
        _sign_up(p, manager, capability, rec, 201, f"place {i + 1} of {fill} is taken", body={"person_id":
                                                                                               f"${{{var}.id}}"},
                 save="first" if i == 0 else None)
    me = p.actor(who["member"])
    _person(p, pm, person, cap, me)
    _sign_up(p, me, capability, rec, 409, f"sign-up {fill + 1} is refused: the {one} is full")
    p.step(me, "GET", f"/api/{capability}/records/${{{rec}.id}}", expect=200,
           checks=[{"path": "taken", "op": "eq", "value": fill}, {"path": "places_left", "op": "eq", "value": 0},
                   {"path": "signed_up", "op": "false"}], note="the refused sign-up was not stored")
    p.step(manager, "DELETE", f"/api/{capability}/sign-ups/${{first.sign_up.id}}", expect=200,
           note="a place is freed")
    _sign_up(p, me, capability, rec, 201, "the freed place can be taken")


REALISES = {"enrolment": _realises_enrolment}
DERIVE = {"enrolment": _derive_enrolment}
COMPILE = {"enrolment.sign_up_once": _sign_up_once, "enrolment.not_others": _not_others,
           "enrolment.capacity": _capacity}
