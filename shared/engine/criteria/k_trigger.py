"""Criteria for `trigger`: a record that starts to meet the condition fires the action once, and saving it again
does not fire it twice; the firing is listed, and the action can be seen (the created record, the field set, the
refused change of the parent, the message in the outbox). A time trigger ("unclaimed after 30 days") is held to
its days: the scheduled run does nothing a day before they have passed, acts once a day after, and a second run
does nothing more.

A stated rule is realised only when the capability carries the rule's own number and nouns: a threshold ("heavier
than 3500 kg") by a condition on a number field with that very number, in the direction the words say; an
escalation or a recipient ("escalates to the manager") by a notify to that role or person, or a record created of
that noun; a block ("cannot be made available") by a block whose refused value the words name; a time window
("after 30 days", "within 14 days", "waited more than 5 days") by a time trigger waiting that many days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, NamedTuple

from . import NOW, ScenarioError, a, entity_label, iso, noun_matches, rule_number

_DOWN = re.compile(r"\b(below|under|less|fewer|lower|drops?|falls?|runs? (low|out)|running (low|out)|at most)\b")
_UP = re.compile(r"\b(above|over|more|greater|heavier|higher|exceed\w*|at least|reach\w*|hits?|or more)\b")
#: words of a window ahead of a date ("3 days before the deadline"), which a wait after one does not realise
_AHEAD = re.compile(r"\b(before|ahead|in advance|beforehand|early|earlier|prior|until|till|left)\b")


def _rule_days(rule) -> float | None:
    """The rule's span in whole days ("30 days", "2 weeks", "a fortnight"), None when it is not one."""
    n, unit = rule_number(rule), (rule.unit or "").strip().lower()
    words = (rule.words or "").lower()
    if not unit:
        unit = next((u for u in ("days", "weeks", "fortnights") if re.search(rf"\b{u[:-1]}s?\b", words)), "")
    if n is None:
        return 14.0 if re.search(r"\bfortnight\b", words) else None
    per = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}.get(unit)
    return None if per is None else n * per


def _waits(cap, rule) -> bool:
    """Does this time trigger wait exactly the rule's days, after (not before) its date?"""
    from ..capabilities.trigger import time_condition

    c = time_condition(cap)
    days = _rule_days(rule)
    return (c is not None and c.number is not None and days is not None and float(c.number) == days
            and not _AHEAD.search((rule.words or "").lower()))


def _names(spec, noun: str) -> set[str]:
    """Entities a founder's noun names (by name or label)."""
    snake = "_".join(re.findall(r"[a-z0-9]+", noun.lower()))
    return {e.name for e in spec.entities if noun_matches(snake, e.name)
            or noun_matches(snake, "_".join(re.findall(r"[a-z0-9]+", e.label.lower())))}


def _own(cap, spec) -> set[str]:
    from ..capabilities.trigger import acted_on, ref_target

    out = {cap.entity, acted_on(cap, spec)}
    join = cap.action.join_entity if cap.action.type == "notify" else None
    if join:  # a fan-out works with the records linking to the watched one
        out.add(join)
    if cap.action.via_field:
        out.add(ref_target(spec, join or cap.entity, cap.action.via_field))
    return out - {None}


def _nouns_fit(cap, spec, rule) -> bool:
    """Every noun of the rule that names an entity names one the trigger works with."""
    own = _own(cap, spec)
    role = cap.action.role if cap.action.type == "notify" else None  # "email the coordinator": the role told
    return all(not _names(spec, n) or _names(spec, n) & own or (role and noun_matches(n, role)) for n in rule.nouns)


def _told(cap, spec, noun: str) -> bool:
    """Does the noun name who the trigger tells (its role, the record holding the email, or the email field) or
    the record it creates?"""
    act = cap.action
    if act.type == "notify":
        if act.role and noun_matches(noun, act.role):
            return True
        holder = act.via_field and act.via_field.removesuffix("_id")
        field = act.address_field
        return bool(field and (noun_matches(noun, field) or holder and noun_matches(noun, holder)
                               or _names(spec, noun) & _own(cap, spec) - {cap.entity}))
    return act.type == "create" and act.entity in _names(spec, noun)


def _realises_trigger(cap, spec, rule, reading) -> bool:
    n = rule_number(rule)
    if not _nouns_fit(cap, spec, rule):
        return False
    if rule.category == "time_window" or rule.category == "threshold" and _rule_days(rule) is not None:
        return cap.on == "time" and _waits(cap, rule)  # "more than 5 days": a span of time, not a field's number
    if rule.category == "threshold":
        words = (rule.words or "").lower()
        want = ("lt", "lte") if _DOWN.search(words) else ("gt", "gte") if _UP.search(words) else None
        ent = spec.entity(cap.entity)
        for c in cap.conditions:
            if c.number is None or n is None or float(c.number) != n or (want and c.op not in want):
                continue
            unit = (rule.unit or "").lower()
            f = ent.field(c.field)
            label = "_".join(re.findall(r"[a-z0-9]+", f.label.lower()))  # "Birth weight (kg)": birth_weight_kg
            if unit and not (noun_matches(unit, c.field) or noun_matches(unit, label)):
                continue
            named = [x for x in rule.nouns if x and (not unit or not noun_matches(x, unit))]  # "knots": the unit
            if not named or any(noun_matches(x, c.field) or _names(spec, x) & _own(cap, spec) for x in named):
                return True
        return False
    if rule.category in ("escalation", "recipient"):
        if n is not None and not any(c.number is not None and float(c.number) == n for c in cap.conditions):
            return False
        return bool(rule.nouns) and any(_told(cap, spec, x) for x in rule.nouns if x)
    if rule.category == "channel":  # "email the practice", "text the customer": the message goes that way
        from .k_notify import _channel_of

        return cap.action.type == "notify" and _channel_of(rule) == cap.action.channel
    if rule.category == "block":
        if cap.action.type != "block":
            return False
        words = " ".join(re.findall(r"[a-z0-9]+", (rule.words or "").lower()))
        return any(f" {v.replace('_', ' ')} " in f" {words} " for v in cap.action.values)
    return False


def _derive_trigger(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.trigger import acted_on, describe_rule

    if spec.entity(cap.entity) is None:
        return []
    ent = entity_label(spec, cap.entity)
    rule = describe_rule(cap, spec)
    text = (f"{rule[:1].upper()}{rule[1:]}; it happens once: saving {a(ent)} that already met the condition again "
            f"does nothing more, and the firing is listed.")
    realised = [i for i, r in enumerate(reading.rules if reading is not None else [])
                if _realises_trigger(cap, spec, r, reading)]
    template = "trigger.fires_once"
    if cap.on == "time":
        from ..capabilities.trigger import time_condition

        c = time_condition(cap)
        one = c is not None and c.number == 1
        days = f"{c.number:g} day{'' if one else 's'}" if c is not None and c.number is not None else "days"
        text = (f"{rule[:1].upper()}{rule[1:]}; a day before the {days} {'has' if one else 'have'} passed the run "
                f"does nothing, a day after it acts once, running again does nothing more, and the firing is listed.")
        template = "trigger.acts_after_days"
    elif cap.action.type == "notify" and cap.action.join_entity:
        person = entity_label(spec, acted_on(cap, spec), plural=True).lower()
        text = (f"{rule[:1].upper()}{rule[1:]}: each of the {person} linked to it is told once, by "
                f"{'text' if cap.action.channel == 'sms' else 'email'}, and nobody linked only to another "
                f"{ent.lower()} is; nothing goes while it does not meet the condition.")
        template = "trigger.fans_out"
    return [{"text": text if len(text) <= 300 else text[:297] + "...", "template": template,
             "params": {"capability": cap.id}, "rules": realised}]


class _Setup(NamedTuple):
    act: Any
    ent: Any
    label: str
    hit: dict
    miss: dict | None
    who: str
    parent: str | None
    fixed: dict


def _cap(p, capability: str):
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "trigger"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no trigger capability {capability!r}")
    return cap


def _parent(p, cap, who: str = "owner") -> str | None:
    """The record the watched one points at through the action's via_field (made first, with a start value the
    action changes or the block allows), or None."""
    from ..capabilities.trigger import other_value, ref_target

    act = cap.action
    if not act.via_field:
        return None
    via = ref_target(p.spec, cap.entity, act.via_field)
    if act.type == "notify" and act.then_field:
        return _two_step(p, cap, via, who)
    start = {}
    if act.type == "set":
        start = {act.field: other_value(p.entity(via).field(act.field), act.value)}
    elif act.type == "block":
        start = {act.field: next(v for v in p.entity(via).field(act.field).values if v not in act.values)}
    maker = who if p.makes_own(who, via) else "owner"  # a customer's job points at the customer's own record
    return p.make(via, maker, start, note=f"{a(p.entity(via).label.lower())} it belongs to")


def _two_step(p, cap, via: str, who: str) -> str:
    """A notify reaching its person in two steps (the accident's child's parent): two people of the told kind,
    each with their own address, and a record of the middle kind pointing at the first; the watched record will
    point at that one. Remembers (the first, the second) for the outbox checks; returns the middle record."""
    from ..capabilities.trigger import acted_on

    act = cap.action
    person = p.entity(acted_on(cap, p.spec))
    addrs = (PHONES[2], PHONES[3]) if act.channel == "sms" else ("told@example.com", "not.told@example.com")
    told = p.make(person.name, "owner", {act.address_field: addrs[0]},
                  note=f"{a(person.label.lower())} with an address: the one to be told")
    other = p.make(person.name, "owner", {act.address_field: addrs[1]},
                   note=f"another {person.label.lower()}, who is not to be told")
    mid = p.entity(via)
    p.make(via, "owner", {act.then_field: f"${{{other}.id}}"}, note=f"{a(mid.label.lower())} of the other one")
    maker = who if p.makes_own(who, via) else "owner"
    var = p.make(via, maker, {act.then_field: f"${{{told}.id}}"},
                 note=f"{a(mid.label.lower())} whose {person.label.lower()} is the one to be told")
    p._two_step = (told, addrs[0], addrs[1])
    return var


def _seen(p, cap, row: str, parent: str | None) -> None:
    """Steps that see the action done once for the watched record `row`: the created record, the field set, the
    refused change of the parent, the message in the outbox."""
    from ..capabilities.trigger import ref_target

    act, ent, capability = cap.action, p.entity(cap.entity), cap.id
    if act.type == "create":
        link = f"${{{parent}.id}}" if parent else f"${{{row}.id}}"
        made = p.entity(act.entity)
        p.step("owner", "GET", f"/api/{made.plural}?{act.link_field}={link}", expect=200,
               checks=[{"path": "total", "op": "eq", "value": 1}], note=f"one {made.label.lower()} was created")
    elif act.type == "set":
        path = f"/api/{ent.plural}/${{{row}.id}}" if parent is None else \
            f"/api/{p.entity(ref_target(p.spec, cap.entity, act.via_field)).plural}/${{{parent}.id}}"
        p.step("owner", "GET", path, expect=200, checks=[{"path": act.field, "op": "eq", "value": act.value}],
               note=f"its {act.field.replace('_', ' ')} is {str(act.value).replace('_', ' ')}")
    elif act.type == "block":
        via = p.entity(ref_target(p.spec, cap.entity, act.via_field))
        p.step("owner", "PATCH", f"/api/{via.plural}/${{{parent}.id}}", json={act.field: act.values[0]}, expect=409,
               checks=[{"path": "error.code", "op": "eq", "value": "blocked"}],
               note=f"the {via.label.lower()} cannot become {act.values[0].replace('_', ' ')}")
    else:
        p.step("owner", "GET", f"/api/{capability}/outbox?source_id=${{{row}.id}}", expect=200,
               checks=_message_checks(p, cap, row, parent),
               note=f"the {'text' if act.channel == 'sms' else 'email'} to "
                    f"{'every ' + act.role.replace('_', ' ') if act.role else 'its address'} is in the outbox, once")


def _message_checks(p, cap, row: str, parent: str | None) -> list[dict]:
    """The outbox about one record holds exactly one message per person told, by the action's channel, to the
    address the words name: the record's own (or its parent's) address field, or the role's users' logins (for a
    text: the one phone a user of the role gave; the one who gave none and the other role's user are not told)."""
    act = cap.action
    told = getattr(p, "_told_phone", None)
    if act.role and act.channel == "sms" and told:
        phone, other = told
        return [{"path": "items", "op": "len", "value": 1},
                {"path": "items.0.channel", "op": "eq", "value": "sms"},
                {"path": "items.0.address", "op": "eq", "value": phone},
                {"path": "items", "op": "none", "key": "address", "value": other}]
    mailed = getattr(p, "_told_email", None)
    if act.role and act.channel == "email" and mailed:  # each user of the role once, at their login; nobody else
        told, other = mailed
        users = sum(1 for r in p.scenario["actors"].values() if r == act.role)
        checks = [{"path": "items", "op": "len", "value": users},
                  {"path": "items.0.channel", "op": "eq", "value": "email"},
                  {"path": "items", "op": "any", "key": "address", "value": f"${{actor.{told}.email}}"}]
        if other:
            checks.append({"path": "items", "op": "none", "key": "address", "value": f"${{actor.{other}.email}}"})
        return checks
    two = getattr(p, "_two_step", None)
    if act.address_field and act.then_field and two:  # the record's own person, reached in two steps; nobody else
        _told, mine, other = two
        return [{"path": "items", "op": "len", "value": 1},
                {"path": "items.0.channel", "op": "eq", "value": act.channel},
                {"path": "items.0.address", "op": "eq", "value": mine},
                {"path": "items", "op": "none", "key": "address", "value": other}]
    if act.address_field:
        return [{"path": "items", "op": "len", "value": 1},
                {"path": "items.0.channel", "op": "eq", "value": act.channel},
                {"path": "items.0.address", "op": "eq", "value": f"${{{parent or row}.{act.address_field}}}"}]
    return [{"path": "items", "op": "len_ge", "value": 1},
            {"path": "items.0.channel", "op": "eq", "value": act.channel},
            {"path": "items", "op": "none", "key": "user_id", "value": None}]


def _none_yet(p, cap, row: str) -> None:
    """While the record misses the condition, the outbox holds no message about it."""
    if cap.action.type == "notify":
        p.step("owner", "GET", f"/api/{cap.id}/outbox?source_id=${{{row}.id}}", expect=200,
               checks=[{"path": "items", "op": "len", "value": 0}], note="no message while it does not meet it")


def _trigger_setup(p, cap, hit_sets_field: bool = False) -> _Setup:
    """What both trigger scenarios start from: the watched record's sample values, the role that writes it, someone
    a notify tells (made an actor), the parent its action goes through (made first) and the values every row
    carries: the parent, and — for a `set` on the record itself — a start value the action changes (left to the
    sample values when `hit_sets_field` and the hit values set that field)."""
    from ..capabilities.trigger import hit_and_miss, other_value

    act, ent = cap.action, p.entity(cap.entity)
    hit, miss = hit_and_miss(cap, p.spec)
    told_role = act.role if act.type == "notify" and act.role and act.role != "owner" else None
    who = p.writer(cap.entity, exclude=(told_role,)) if told_role and any(
        cap.entity in r.write for r in p.spec.roles if r.name != told_role) else p.writer(cap.entity)
    if act.type == "notify" and act.role and act.channel == "sms":
        _role_phones(p, cap, who)
    elif act.type == "notify" and act.role and act.role != "owner":
        told = p.actor(act.role, f"{act.role}_told")  # someone to tell, and a user of another role who is not told
        other = who if p.scenario["actors"].get(who) != act.role else next(
            (p.actor(r.name, f"{r.name}_not_told") for r in p.spec.roles if r.name not in (act.role, "owner")), None)
        p._told_email = (told, other)
    parent = _parent(p, cap, who)
    fixed: dict = {act.via_field: f"${{{parent}.id}}"} if parent else {}
    if act.type == "set" and act.via_field is None and not (hit_sets_field and act.field in hit):
        fixed[act.field] = other_value(ent.field(act.field), act.value)
    return _Setup(act, ent, ent.label.lower(), hit, miss, who, parent, fixed)


def _flow_moves(p, cap, wf, row: str, start: str, goal: str, who: str) -> tuple[str, Any]:
    """Steps moving the record `row` from state `start` to `goal` by the workflow's transitions, each POSTed as a
    role allowed to make it (`who`, the writer, when it may); before the last, nothing is in the outbox yet. The
    last transition's (actor, transition)."""
    from ..capabilities.trigger import flow_mover, flow_path

    path = flow_path(wf, start, goal)
    if path is None:
        raise ScenarioError(f"no transitions of workflow {wf.id!r} lead from {start!r} to {goal!r}")
    if start == wf.initial:
        p.ready(cap.entity, row)
    role = p.scenario["actors"].get(who, "owner")
    last = (who, None)
    for i, t in enumerate(path):
        mover = who if role in t.roles else p.actor(flow_mover(p.spec, t, role))
        p.step(mover, "POST", f"/api/{wf.id}/records/${{{row}.id}}/{t.name}", json={}, expect=200,
               checks=[{"path": f"record.{wf.state_field}", "op": "eq", "value": t.to}],
               note=f"{t.name.replace('_', ' ')}: the {entity_label(p.spec, cap.entity).lower()} is now "
                    f"{t.to.replace('_', ' ')}")
        if i < len(path) - 1:
            _none_yet(p, cap, row)
        last = (mover, t)
    return last


def _fires_once_by_flow(p, cap, wf) -> None:
    """A trigger on a workflow's state: the record is added in the initial state and moved by transitions; each
    move short of the condition does nothing, the one into it fires once, and making it again is refused (409)
    and fires nothing more."""
    from ..capabilities.trigger import flow_values

    act, ent, label, _hit, _miss, who, parent, fixed = _trigger_setup(p, cap)
    hit, _miss, _again = flow_values(cap, p.spec, wf)
    state = wf.state_field
    others = {k: v for k, v in hit.items() if k != state}
    row = p.make(cap.entity, who, {**fixed, **others}, note=f"{a(label)}, {wf.initial.replace('_', ' ')}")
    if hit[state] != wf.initial:
        _none_yet(p, cap, row)
    mover, last = _flow_moves(p, cap, wf, row, wf.initial, hit[state], who)
    firings = f"/api/{cap.id}/firings?source_id=${{{row}.id}}"
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1}],
           note="it fired once")
    if last is not None:
        p.step(mover, "POST", f"/api/{wf.id}/records/${{{row}.id}}/{last.name}", json={}, expect=409,
               note=f"{last.name.replace('_', ' ')} again is refused")
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1},
                                                        {"path": "items.0.action", "op": "eq", "value": act.type}],
           note="it did not fire a second time")
    _seen(p, cap, row, parent)


PHONES = ("+447700900101", "+447700900102", "+447700900103", "+447700900104")


def _role_phones(p, cap, who: str) -> None:
    """A text to a role: one user of the role gives a phone on their profile, another gives none (skipped), and a
    user of another role gives one too (not told); the one without may not read anyone's phone."""
    role = cap.action.role
    told = "owner" if role == "owner" else p.actor(role, f"{role}_with_phone")
    p.step(told, "PATCH", "/api/auth/me", json={"phone": "+44 7700 900101"}, expect=200,
           checks=[{"path": "user.phone", "op": "eq", "value": PHONES[0]}], note="they give their mobile number")
    other_role = next((r.name for r in p.spec.roles if r.name not in (role, "owner")), None)
    if other_role:
        other = p.actor(other_role, f"{other_role}_with_phone")
        p.step(other, "PATCH", "/api/auth/me", json={"phone": PHONES[1]}, expect=200,
               note=f"a {other_role.replace('_', ' ')} gives a number too (not of the role told)")
    if role != "owner":
        bare = p.actor(role, f"{role}_without_phone")
        if not p.spec.role(role).manage_users:
            p.step(bare, "GET", "/api/users", expect=403, note="a user may not list anyone's phone")
        p.step(bare, "GET", "/api/auth/me", expect=200, checks=[{"path": "user.phone", "op": "eq", "value": None}],
               note="their own profile shows only their own (empty) number")
    p._told_phone = (PHONES[0], PHONES[1])


def _fans_out(p, capability: str) -> None:
    """A message to the people linked through records that point at the watched one ("text the passengers when
    a trip is cancelled"): two people linked (one of them twice, where a pair may be linked twice) and one linked to
    another record; nothing while the record misses the condition, then one message each, by the channel, and none
    to the other."""
    from ..capabilities.trigger import join_max, links_once

    cap = _cap(p, capability)
    act, ent = cap.action, p.entity(cap.entity)
    hit, miss = _hit_miss(p, cap)
    if miss is None or cap.on == "create":
        raise ScenarioError(f"trigger {capability!r} fans out only when a change makes the condition hold")
    who = p.writer(cap.entity)
    label = ent.label.lower()
    row = p.make(cap.entity, who, miss, note=f"{a(label)} that does not meet the condition yet")
    other = p.make(cap.entity, who, miss, note=f"another {label}")
    join = p.entity(act.join_entity)
    person = p.entity(_person(p, cap))
    field = act.address_field
    addrs = [PHONES[i] if act.channel == "sms" else f"person{i + 1}@example.com" for i in range(3)]

    def link(i: int) -> dict:
        if act.via_field is None:
            return {field: addrs[i]}
        var = p.make(person.name, "owner", {field: addrs[i]}, note=f"{a(person.label.lower())} with an address")
        return {act.via_field: f"${{{var}.id}}"}

    links = [link(i) for i in range(3)]
    twice = [] if links_once(cap, p.spec) else [(row, links[0])]  # a pair linked once at most: nobody twice
    pairs = [(row, links[0]), (row, links[1]), (other, links[2]), *twice]
    one = (join_max(cap, p.spec) or 2) < 2  # "a visit can be claimed by only one sibling": one person linked
    if one:
        pairs = [(row, links[0]), (other, links[2])]
    for target, body in pairs:
        p.make(join.name, "owner", {act.join_field: f"${{{target}.id}}", **body},
               note=f"{a(join.label.lower())} linking them")
    told = 1 if one else 2
    _none_yet(p, cap, row)
    p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=hit, expect=200,
           note=f"the {label} now meets the condition")
    p.step("owner", "GET", f"/api/{capability}/outbox?source_id=${{{row}.id}}", expect=200,
           checks=[{"path": "items", "op": "len", "value": told},
                   {"path": "items", "op": "count", "key": "channel", "value": act.channel, "n": told},
                   {"path": "items", "op": "count", "key": "address", "value": addrs[0], "n": 1},
                   *([] if one else [{"path": "items", "op": "count", "key": "address", "value": addrs[1], "n": 1}]),
                   {"path": "items", "op": "none", "key": "address", "value": addrs[2]}],
           note="each linked person is told once, by the channel named; the other record's person is not")
    p.step("owner", "GET", f"/api/{capability}/outbox?source_id=${{{other}.id}}", expect=200,
           checks=[{"path": "items", "op": "len", "value": 0}], note=f"nothing about the other {label}")


def _hit_miss(p, cap):
    from ..capabilities.trigger import hit_and_miss

    return hit_and_miss(cap, p.spec)


def _person(p, cap) -> str:
    from ..capabilities.trigger import acted_on

    return acted_on(cap, p.spec)


def _fires_once(p, capability: str) -> None:
    from ..capabilities.trigger import flow_of

    cap = _cap(p, capability)
    wf = flow_of(cap, p.spec)
    if wf is not None:  # the state moves only by the workflow's transitions, never by PATCH
        return _fires_once_by_flow(p, cap, wf)
    act, ent, label, hit, miss, who, parent, fixed = _trigger_setup(p, cap)
    first = miss if miss is not None and cap.on != "create" else hit
    row = p.make(cap.entity, who, {**fixed, **first}, note=f"{a(label)}" + (" that does not meet the condition yet"
                                                                           if first is miss else " meeting it"))
    if first is miss:
        _none_yet(p, cap, row)
        p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=hit, expect=200,
               note=f"the {label} now meets the condition")
    firings = f"/api/{capability}/firings?source_id=${{{row}.id}}"
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1}],
           note="it fired once")
    p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=hit, expect=200, note=f"the {label} is saved again")
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1},
                                                        {"path": "items.0.action", "op": "eq", "value": act.type}],
           note="it did not fire a second time")
    _seen(p, cap, row, parent)


def _acts_after_days(p, capability: str) -> None:
    """A record meeting the condition, its date today (or added today), and one that misses the condition: the
    run a day before the days have passed does nothing; a day after, it acts on the first only, once."""
    from ..capabilities.trigger import CREATED_AT, time_condition

    cap = _cap(p, capability)
    c = time_condition(cap)
    if cap.on != "time" or c is None or c.number is None:
        raise ScenarioError(f"trigger {capability!r} has no time condition")
    days = int(c.number)
    act, ent, label, hit, miss, who, parent, fixed = _trigger_setup(p, cap, hit_sets_field=True)
    when = "added today"
    if c.field != CREATED_AT:
        f = ent.field(c.field)
        fixed[c.field] = iso(NOW, f.type)
        when = f"its {f.label.lower()} today"
    row = p.make(cap.entity, who, {**fixed, **hit}, note=f"{a(label)} meeting the condition, {when}")
    other = p.make(cap.entity, who, {**fixed, **miss}, note=f"{a(label)} that does not meet it, {when}") \
        if miss is not None else None
    run, mine = f"/api/{capability}/run-due", f"${{{row}.id}}"
    firings = f"/api/{capability}/firings?source_id={mine}"
    p.step("owner", "POST", run, expect=200, now=(NOW + timedelta(days=days - 1)).isoformat(),
           checks=[{"path": "fired", "op": "len", "value": 0}],
           note=f"{days - 1} day{'' if days == 2 else 's'} later the scheduled run does nothing")
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 0}],
           note="nothing fired yet")
    checks = [{"path": "fired", "op": "contains", "value": mine}]
    if other:
        checks.append({"path": "fired", "op": "not_contains", "value": f"${{{other}.id}}"})
    p.step("owner", "POST", run, expect=200, now=(NOW + timedelta(days=days + 1)).isoformat(), checks=checks,
           note=f"{days + 1} days later the run acts on the {label} meeting the condition"
                + (" only" if other else ""))
    p.step("owner", "POST", run, expect=200, checks=[{"path": "fired", "op": "len", "value": 0}],
           note="running again does nothing more")
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1},
                                                        {"path": "items.0.action", "op": "eq", "value": act.type}],
           note="it fired once")
    _seen(p, cap, row, parent)
    if other:
        p.step("owner", "GET", f"/api/{capability}/firings?source_id=${{{other}.id}}", expect=200,
               checks=[{"path": "items", "op": "len", "value": 0}], note=f"the other {label} was left alone")
        _none_yet(p, cap, other)


REALISES = {"trigger": _realises_trigger}
DERIVE = {"trigger": _derive_trigger}
COMPILE = {"trigger.fires_once": _fires_once, "trigger.acts_after_days": _acts_after_days,
           "trigger.fans_out": _fans_out}
