"""Criteria for `trigger`: a record that starts to meet the condition fires the action once, and saving it again
does not fire it twice; the firing is listed, and the action can be seen (the created record, the field set, the
refused change of the parent, the message in the outbox).

A stated rule is realised only when the capability carries the rule's own number and nouns: a threshold ("heavier
than 3500 kg") by a condition on a number field with that very number, in the direction the words say; an
escalation or a recipient ("escalates to the manager") by a notify to that role or person, or a record created of
that noun; a block ("cannot be made available") by a block whose refused value the words name.
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, noun_matches, rule_number

_DOWN = re.compile(r"\b(below|under|less|fewer|lower|drops?|falls?|runs? (low|out)|running (low|out)|at most)\b")
_UP = re.compile(r"\b(above|over|more|greater|heavier|higher|exceed\w*|at least|reach\w*|hits?|or more)\b")


def _names(spec, noun: str) -> set[str]:
    """Entities a founder's noun names (by name or label)."""
    snake = "_".join(re.findall(r"[a-z0-9]+", noun.lower()))
    return {e.name for e in spec.entities if noun_matches(snake, e.name)
            or noun_matches(snake, "_".join(re.findall(r"[a-z0-9]+", e.label.lower())))}


def _own(cap, spec) -> set[str]:
    from ..capabilities.trigger import acted_on, ref_target

    out = {cap.entity, acted_on(cap, spec)}
    if cap.action.via_field:
        out.add(ref_target(spec, cap.entity, cap.action.via_field))
    return out - {None}


def _nouns_fit(cap, spec, rule) -> bool:
    """Every noun of the rule that names an entity names one the trigger works with."""
    own = _own(cap, spec)
    return all(not _names(spec, n) or _names(spec, n) & own for n in rule.nouns)


def _told(cap, spec, noun: str) -> bool:
    """Does the noun name who the trigger tells (its role, the record holding the email, or the email field) or
    the record it creates?"""
    act = cap.action
    if act.type == "notify":
        if act.role and noun_matches(noun, act.role):
            return True
        holder = act.via_field and act.via_field.removesuffix("_id")
        return bool(act.email_field and (noun_matches(noun, act.email_field) or holder and noun_matches(noun, holder)
                                         or _names(spec, noun) & _own(cap, spec) - {cap.entity}))
    return act.type == "create" and act.entity in _names(spec, noun)


def _realises_trigger(cap, spec, rule, reading) -> bool:
    n = rule_number(rule)
    if not _nouns_fit(cap, spec, rule):
        return False
    if rule.category == "threshold":
        words = (rule.words or "").lower()
        want = ("lt", "lte") if _DOWN.search(words) else ("gt", "gte") if _UP.search(words) else None
        ent = spec.entity(cap.entity)
        for c in cap.conditions:
            if c.number is None or n is None or float(c.number) != n or (want and c.op not in want):
                continue
            unit = (rule.unit or "").lower()
            f = ent.field(c.field)
            if unit and not (noun_matches(unit, c.field) or noun_matches(unit, f.label.lower().replace(" ", "_"))):
                continue
            named = [x for x in rule.nouns if x and (not unit or not noun_matches(x, unit))]  # "knots": the unit
            if not named or any(noun_matches(x, c.field) or _names(spec, x) & _own(cap, spec) for x in named):
                return True
        return False
    if rule.category in ("escalation", "recipient"):
        if n is not None and not any(c.number is not None and float(c.number) == n for c in cap.conditions):
            return False
        return bool(rule.nouns) and any(_told(cap, spec, x) for x in rule.nouns if x)
    if rule.category == "block":
        if cap.action.type != "block":
            return False
        words = " ".join(re.findall(r"[a-z0-9]+", (rule.words or "").lower()))
        return any(f" {v.replace('_', ' ')} " in f" {words} " for v in cap.action.values)
    return False


def _derive_trigger(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.trigger import describe_rule

    if spec.entity(cap.entity) is None:
        return []
    ent = entity_label(spec, cap.entity)
    rule = describe_rule(cap, spec)
    text = (f"{rule[:1].upper()}{rule[1:]}; it happens once: saving {a(ent)} that already met the condition again "
            f"does nothing more, and the firing is listed.")
    realised = [i for i, r in enumerate(reading.rules if reading is not None else [])
                if _realises_trigger(cap, spec, r, reading)]
    return [{"text": text if len(text) <= 300 else text[:297] + "...", "template": "trigger.fires_once",
             "params": {"capability": cap.id}, "rules": realised}]


def _fires_once(p, capability: str) -> None:
    from ..capabilities.trigger import hit_and_miss, other_value, ref_target

    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "trigger"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no trigger capability {capability!r}")
    act, ent = cap.action, p.entity(cap.entity)
    hit, miss = hit_and_miss(cap, p.spec)
    who = p.writer(cap.entity)
    if act.type == "notify" and act.role and act.role != "owner":
        p.actor(act.role)  # someone to tell
    label = ent.label.lower()
    fixed: dict = {}
    parent = None
    if act.via_field:
        via = ref_target(p.spec, cap.entity, act.via_field)
        start = {}
        if act.type == "set":
            start = {act.field: other_value(p.entity(via).field(act.field), act.value)}
        elif act.type == "block":
            start = {act.field: next(v for v in p.entity(via).field(act.field).values if v not in act.values)}
        parent = p.make(via, "owner", start, note=f"{a(p.entity(via).label.lower())} it belongs to")
        fixed[act.via_field] = f"${{{parent}.id}}"
    if act.type == "set" and act.via_field is None:
        fixed[act.field] = other_value(ent.field(act.field), act.value)
    first = miss if miss is not None and cap.on != "create" else hit
    row = p.make(cap.entity, who, {**fixed, **first}, note=f"{a(label)}" + (" that does not meet the condition yet"
                                                                           if first is miss else " meeting it"))
    if first is miss:
        p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=hit, expect=200,
               note=f"the {label} now meets the condition")
    firings = f"/api/{capability}/firings?source_id=${{{row}.id}}"
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1}],
           note="it fired once")
    p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=hit, expect=200, note=f"the {label} is saved again")
    p.step("owner", "GET", firings, expect=200, checks=[{"path": "items", "op": "len", "value": 1},
                                                        {"path": "items.0.action", "op": "eq", "value": act.type}],
           note="it did not fire a second time")
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
        p.step("owner", "GET", f"/api/{capability}/outbox", expect=200,
               checks=[{"path": "items", "op": "any", "key": "source_id", "value": f"${{{row}.id}}"}],
               note="the message is in the outbox")


REALISES = {"trigger": _realises_trigger}
DERIVE = {"trigger": _derive_trigger}
COMPILE = {"trigger.fires_once": _fires_once}
