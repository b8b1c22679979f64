"""Test values and sentences for the `trigger` capability (not a capability kind: `KINDS` does not list it): values
of a watched record that meet or miss its condition, and the rule in the spec's nouns."""

from __future__ import annotations

import math

NUMBER_TYPES = ("integer", "decimal", "money")


def sample_hit_miss(f, c):
    """(a value of field `f` that meets condition `c`, one that does not), within the field's bounds; None when
    the field has no value on one side."""
    if c.op in ("is_true", "is_false"):
        return (c.op == "is_true", c.op != "is_true")
    if c.op in ("in", "not_in"):
        inside = [v for v in f.values if v in c.values]
        outside = [v for v in f.values if v not in c.values]
        hit, miss = (inside, outside) if c.op == "in" else (outside, inside)
        return (hit[0], miss[0]) if hit and miss else None
    if c.number is None:
        return None
    n, whole = c.number, f.type == "integer"
    up = math.floor(n) + 1 if whole else n + 0.5  # the first value above n
    down = math.ceil(n) - 1 if whole else n - 0.5  # the last value below n
    at_up = math.ceil(n) if whole else n  # the first value at or above n
    at_down = math.floor(n) if whole else n  # the last value at or below n
    hit, miss = {"gt": (up, at_down), "gte": (at_up, down), "lt": (down, at_up), "lte": (at_down, up)}[c.op]

    def fits(v):
        return (f.min is None or v >= f.min) and (f.max is None or v <= f.max)

    if not (fits(hit) and fits(miss)):
        return None
    return tuple(int(v) if float(v).is_integer() else v for v in (hit, miss))


def other_value(f, value):
    """A valid value of field `f` other than `value` (the tests start a record there), or None."""
    if f.type == "enum":
        return next((v for v in f.values if v != value), None)
    if f.type == "boolean":
        return not value
    if f.type in NUMBER_TYPES:
        for v in (f.min, f.max, 0, 1, 2):
            if v is not None and v != value and (f.min is None or v >= f.min) and (f.max is None or v <= f.max):
                return int(v) if float(v).is_integer() else v
        return None
    return f"not {value}"[: int(f.max)] if f.max else f"not {value}"


TIME_OPS = ("older_than_days",)


def value_conditions(cap) -> list:
    """The conditions on the record's values (a time condition is met by the clock, not by a value)."""
    return [c for c in cap.conditions if c.op not in TIME_OPS]


def hit_and_miss(cap, spec) -> tuple[dict, dict | None]:
    """Field values for tests: every condition on values met (`hit`), and the first one missed, the others met
    (`miss`, None without such conditions). A time condition is left to the clock."""
    ent = spec.entity(cap.entity)
    pairs = [(c.field, sample_hit_miss(ent.field(c.field), c)) for c in value_conditions(cap)]
    hit = {name: hm[0] for name, hm in pairs}
    miss = {**hit, pairs[0][0]: pairs[0][1][1]} if pairs else None
    return hit, miss


def hit_again(cap, spec) -> dict | None:
    """The `hit` values with the first condition's field at another value that still meets it (a change that must
    not fire again), or None when there is no such value."""
    hit, _miss = hit_and_miss(cap, spec)
    if not value_conditions(cap):
        return None
    c = value_conditions(cap)[0]
    f = spec.entity(cap.entity).field(c.field)
    now = hit[c.field]
    if c.op in ("in", "not_in"):
        other = next((v for v in f.values if v != now and (v in c.values) == (c.op == "in")), None)
    elif c.op in ("gt", "gte", "lt", "lte"):
        step = 1 if f.type == "integer" else 0.5
        other = now + step if c.op in ("gt", "gte") else now - step
        if (f.min is not None and other < f.min) or (f.max is not None and other > f.max):
            other = None
    else:
        other = None
    return None if other is None else {**hit, c.field: other}


_OPS = {"gt": "above", "gte": "at least", "lt": "below", "lte": "at most"}


def _parts(cap, spec) -> list[tuple[str, str]]:
    """Each condition in the spec's nouns, as (label, what is said of it): ("status", "is unclaimed"), ("found on",
    "is more than 30 days ago"); a time condition on created_at is ("", "was added more than 5 days ago")."""
    ent = spec.entity(cap.entity)
    out = []
    for c in cap.conditions:
        f = ent.field(c.field) if ent is not None else None
        label = (f.label if f else c.field.replace("_", " ")).lower()
        if c.op in TIME_OPS:
            days = "" if c.number is None else f"{c.number:g} day{'' if c.number == 1 else 's'}"
            out.append(("", f"was added more than {days} ago") if c.field == "created_at" and f is None
                       else (label, f"is more than {days} ago"))
        elif c.op in ("in", "not_in"):
            vals = " or ".join(v.replace("_", " ") for v in c.values)
            out.append((label, f"is {'not ' if c.op == 'not_in' else ''}{vals}"))
        elif c.op in _OPS:
            out.append((label, f"is {_OPS[c.op]} {c.number:g}" if c.number is not None else ""))
        else:
            out.append((label, f"is {'yes' if c.op == 'is_true' else 'no'}"))
    return out


def describe_condition(cap, spec) -> str:
    """The condition in the spec's nouns: "severity is safety and status is open", "weight above 3500", "found on
    is more than 30 days ago", "added more than 5 days ago"."""
    return " and ".join(f"{label} {said}".strip() if label else said.removeprefix("was ")
                        for label, said in _parts(cap, spec))


def _who(cap, spec) -> str:
    """The record a time trigger acts on, with its condition: "a found item whose status is unclaimed and whose
    found on is more than 30 days ago", "an application that was added more than 5 days ago"."""
    ent = spec.entity(cap.entity)
    name = (ent.label if ent else cap.entity).lower()
    art = "an" if name[:1] in "aeiou" else "a"
    said = [f"whose {label} {what}" if label else f"that {what}" for label, what in _parts(cap, spec)]
    return f"{art} {name} " + " and ".join(said)


def _time_rule(cap, spec) -> str:
    """A time trigger's rule: "a found item whose ... gets status for donation, checked by an hourly run"."""
    from .trigger import acted_on, ref_target

    a = cap.action
    who = _who(cap, spec)
    tent = spec.entity(acted_on(cap, spec) or "")
    tname = (tent.label if tent else acted_on(cap, spec) or "record").lower()
    if a.type == "set":
        f = tent.field(a.field) if tent else None
        what = f"{(f.label if f else a.field).lower()} {str(a.value).replace('_', ' ')}"
        do = f"{who} gets {what}" if a.via_field is None else f"the {tname} of {who} gets {what}"
    elif a.type == "create":
        via = spec.entity(ref_target(spec, cap.entity, a.via_field) or "") if a.via_field else None
        do = f"{who} gets {'an' if tname[:1] in 'aeiou' else 'a'} {tname}" + (
            f" for its {via.label.lower()}" if via is not None else "")
    elif a.type == "notify":
        if a.role:
            to = f"every {a.role.replace('_', ' ')}"
        else:
            email = tent.field(a.address_field) if tent and a.address_field else None
            elabel = (email.label if email else (a.address_field or "").replace("_", " ")).lower()
            to = f"its {tname}'s {elabel}" if a.via_field else f"its {elabel}"
        do = f"{who} is reported to {to}" + (" by SMS" if a.channel == "sms" else " by email")
    else:
        do = f"{who} blocks its {tname}"
    return f"{do}, checked by an hourly run"


def describe_rule(cap, spec) -> str:
    """The whole rule, lower case: "when a defect's severity is safety, create a repair ticket for its van"; a time
    trigger: "a found item whose status is unclaimed and whose found on is more than 30 days ago gets status for
    donation, checked by an hourly run"."""
    from .trigger import acted_on, ref_target

    if cap.on == "time":
        return _time_rule(cap, spec)
    ent = spec.entity(cap.entity)
    name = (ent.label if ent else cap.entity).lower()
    cond = describe_condition(cap, spec)
    art = "an" if name[:1] in "aeiou" else "a"
    when = f"when {art} {name}'s {cond}" if cond else f"when {art} {name} is added"
    a = cap.action
    tent = spec.entity(acted_on(cap, spec) or "")
    tname = (tent.label if tent else acted_on(cap, spec) or "record").lower()
    whose = f"its {tname}" if a.via_field else f"the {name}"
    if a.type == "notify" and a.then_field and a.via_field:  # "its child's parent": the person, in two steps
        mid = spec.entity(ref_target(spec, cap.entity, a.via_field) or "")
        whose = f"its {(mid.label if mid else a.via_field).lower()}'s {tname}"
    if a.type == "create":
        do = f"create {'an' if tname[:1] in 'aeiou' else 'a'} {tname}" + (f" for its {(spec.entity(ref_target(spec, cap.entity, a.via_field) or '') or tent).label.lower()}"
                                    if a.via_field else "")
    elif a.type == "set":
        f = tent.field(a.field) if tent else None
        do = f"set {whose}'s {(f.label if f else a.field).lower()} to {str(a.value).replace('_', ' ')}"
    elif a.type == "block":
        f = tent.field(a.field) if tent else None
        do = f"{whose} cannot become {' or '.join(v.replace('_', ' ') for v in a.values)}"
        do = do if f is None else do.replace("become", f"have {f.label.lower()}")
    else:
        who = f"every {a.role.replace('_', ' ')}" if a.role else f"{whose}'s {(a.address_field or '').replace('_', ' ')}"
        do = f"{'text' if a.channel == 'sms' else 'email'} {who}"
    return f"{when}, {do}"
