"""Criteria for `assignment`: a person holds no more assignments at one time than allowed (an overlapping one is
refused with 409, on create and on edit; back-to-back and other people are fine; a role that may not assign gets
403), and each signed-in person sees their own assignments, upcoming first.

A stated rule is realised only when it is about overlapping time ("at a time", "at once", "double-booked",
"overlapping", "clash") with the capability's own number (none, "one" or "a single" mean 1), names no record but the
assigned one and its people, and names at least one of them.
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, noun_matches, rule_number

_OVERLAP = re.compile(r"at a time|at once|(at )?the same time|overlap\w*|double[- ]?(book|assign|schedul)\w*|"
                      r"clash\w*|simultaneous\w*|concurrent\w*|two places|back[- ]to[- ]back|\bdouble\b")
#: words that make a number a cap ("at most 2 visits at a time")
_CAP = re.compile(r"\b(at most|up to|no more than|not more than|only|just|max(imum)?|never more than|limit\w*)\b")
_CATEGORIES = ("limit", "exclusivity", "uniqueness", "time_window", "block")


def _people(cap, spec) -> str | None:
    from ..capabilities.assignment import person_entity

    return person_entity(cap, spec)


def _own(cap, spec, noun: str) -> bool:
    """Does the noun name the assigned record or the people assigned (their entity or the person field)?"""
    names = [cap.entity, _people(cap, spec), cap.person_field.removesuffix("_id").removesuffix("_email")]
    ent = spec.entity(cap.entity)
    if ent is not None:
        names.append("_".join(re.findall(r"[a-z0-9]+", ent.label.lower())))
    return any(noun_matches(noun, n) for n in names if n)


def _realises_assignment(cap, spec, rule, reading) -> bool:
    if rule.category not in _CATEGORIES or rule.unit:
        return False
    words = (rule.words or "").lower()
    said = " ".join(w.word for w in reading.words) if reading is not None else ""
    if not _OVERLAP.search(words) and not (re.search(r"\b(two|2)\b", words) and _OVERLAP.search(said)):
        return False  # "can't be given two sittings" (that overlap): the overlap is said right after the rule
    n = rule_number(rule)
    if rule.category in ("block", "exclusivity") and re.search(r"\b(two|2)\b", words) and not _CAP.search(words):
        n = None  # "can't be given two sittings that overlap", "never two overlapping lifts": one at a time
    if n is None:
        n = 1.0  # "cannot be double-booked", "only one ... at a time"
    elif rule.category != "limit" and not _CAP.search(words):
        return False  # "never two overlapping tours": a number that is not a cap
    if n != cap.max_concurrent:
        return False
    nouns = [x for x in rule.nouns if x]
    if any(not _own(cap, spec, x) and any(noun_matches(x, e.name) for e in spec.entities) for x in nouns):
        return False
    if any(_own(cap, spec, x) for x in nouns):
        return True
    return reading is not None and reading.record in (cap.entity, _people(cap, spec))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _who(cap, spec) -> str:
    people = spec.entity(_people(cap, spec) or "")
    return people.label.lower() if people else cap.person_field.removesuffix("_email").replace("_", " ")


def _roles(cap, spec) -> tuple[str, str | None, str]:
    """(an assigning role, a role that reads the records but may not assign or None, the assignee's role)."""
    from ..capabilities import _bind as b
    from ..capabilities.assignment import assigners, test_assigner

    movers = assigners(cap, spec)
    if not movers:
        raise ScenarioError(f"no role may assign {cap.entity!r}")
    outsider = next((r for r in b.readers(spec, cap.entity) if r not in movers), None)
    assignee = next((r.name for r in spec.roles if r.name not in movers), None) or next(
        (r.name for r in spec.roles if r.name != "owner"), "owner")
    return test_assigner(cap, spec), outsider, assignee  # one that sees every person and record


def _params(cap, spec) -> dict:
    from ..capabilities.assignment import sample_windows

    return {"capability": cap.id, "entity": cap.entity, "person_field": cap.person_field,
            "login_field": cap.login_field, "max_concurrent": cap.max_concurrent,
            "windows": sample_windows(cap, spec)}


def _derive_assignment(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None:
        return []
    who, ent, ents = _who(cap, spec), entity_label(spec, cap.entity), entity_label(spec, cap.entity, True)
    try:
        _mover, outsider, _assignee = _roles(cap, spec)
    except ScenarioError:  # compiling the criterion reports it
        outsider = None
    held = f"{a(ent)}" if cap.max_concurrent == 1 else f"{cap.max_concurrent} {ents} at the same time"
    refused = f"; {a(outsider.replace('_', ' '))} may not assign" if outsider else ""
    realised = [i for i, r in enumerate(reading.rules if reading is not None else [])
                if _realises_assignment(cap, spec, r, reading)]
    return [
        {"text": _fit(f"When {a(who)} already holds {held}, a {_ordinal(cap.max_concurrent + 1)} {ent} overlapping "
                      f"it is refused, and so is moving another {ent} onto that time; {a(ent)} right after it, and "
                      f"another {who} at the same time, are accepted{refused}."),
         "template": "assignment.no_overlap", "params": _params(cap, spec), "rules": realised},
        {"text": _fit(f"{a(who).capitalize()} who signs in sees their own {ents}, upcoming ones first in time order "
                      f"and past ones apart, and not another {who}'s."),
         "template": "assignment.mine", "params": _params(cap, spec), "rules": []},
    ]


def _setup(p, capability: str, entity: str):
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "assignment"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no assignment capability {capability!r}")
    if cap.entity != entity:
        raise ScenarioError(f"assignment {capability!r} assigns {cap.entity!r}, not {entity!r}")
    mover, outsider, assignee = _roles(cap, p.spec)
    return cap, p.actor(mover) if mover != "owner" else "owner", outsider, assignee


def _person(p, cap, note: str, email: str | None = None) -> str:
    """A person to assign: a people record (its variable's id) or an email; `email` links it to a login."""
    people = _people(cap, p.spec)
    if people is None:
        return email or f"{p.var('crew').replace('_', '')}@criteria.example"
    maker = "owner" if any(r.name == "owner" and people in r.write for r in p.spec.roles) else p.writer(people)
    var = p.make(people, maker, {cap.login_field: email} if email else {}, note=note)
    return f"${{{var}.id}}"


def _no_overlap(p, capability: str, entity: str, person_field: str, login_field: str | None, max_concurrent: int,
                windows: dict) -> None:
    cap, mover, outsider, _assignee = _setup(p, capability, entity)
    ent = p.entity(entity)
    label, who = ent.label.lower(), _who(cap, p.spec)
    person = _person(p, cap, f"a {who}")
    other = _person(p, cap, f"another {who}")
    rows = [p.make(entity, mover, {person_field: person, **windows["stack"][i]},
                   note=f"the {who}'s {_ordinal(i + 1)} {label} at that time is accepted")
            for i in range(max_concurrent)]
    p.make(entity, mover, {person_field: person, **windows["overlap"]}, expect=409,
           note=f"one more {label} overlapping it is refused")
    p.scenario["steps"][-1]["checks"] = [{"path": "error.code", "op": "eq", "value": "overlap"},
                                         {"path": "error.details.conflicts", "op": "contains",
                                          "value": f"${{{rows[0]}.id}}"}]
    after = p.make(entity, mover, {person_field: person, **windows["touch"]},
                   note=f"{a(label)} starting as the first ends is accepted")
    p.make(entity, mover, {person_field: other, **windows["first"]},
           note=f"another {who} at the same time is accepted")
    p.step(mover, "PATCH", f"/api/{ent.plural}/${{{after}.id}}", json=windows["overlap"], expect=409,
           note=f"moving the later {label} onto the busy time is refused")
    if outsider:
        p.make(entity, p.actor(outsider), {person_field: other, **windows["later"]}, expect=403,
               note=f"{a(outsider.replace('_', ' '))} may not assign")
    p.make(entity, "anon", {person_field: other, **windows["later"]}, expect=401,
           note="a visitor who is not signed in may not assign")
    p.step(mover, "GET", f"/api/{ent.plural}?{person_field}={person}&per_page=1", expect=200,
           checks=[{"path": "total", "op": "eq", "value": max_concurrent + 1}],
           note=f"the refused {label} was not stored and the moved one did not move")


def _mine(p, capability: str, entity: str, person_field: str, login_field: str | None, max_concurrent: int,
          windows: dict) -> None:
    cap, mover, _outsider, assignee = _setup(p, capability, entity)
    ent = p.entity(entity)
    label, who = ent.label.lower(), _who(cap, p.spec)
    me = p.actor(assignee)
    person = _person(p, cap, f"the {who} who signs in", email=f"${{actor.{me}.email}}")
    other = _person(p, cap, f"another {who}")
    later = p.make(entity, mover, {person_field: person, **windows["later"]}, note=f"a later {label} of theirs")
    first = p.make(entity, mover, {person_field: person, **windows["first"]}, note=f"an earlier {label} of theirs")
    past = p.make(entity, mover, {person_field: person, **windows["past"]}, note=f"a past {label} of theirs")
    theirs = p.make(entity, mover, {person_field: other, **windows["first"]}, note=f"another {who}'s {label}")
    p.step(me, "GET", f"/api/{capability}/mine", expect=200,
           checks=[{"path": "upcoming", "op": "len", "value": 2},
                   {"path": "upcoming.0.id", "op": "eq", "value": f"${{{first}.id}}"},
                   {"path": "upcoming.1.id", "op": "eq", "value": f"${{{later}.id}}"},
                   {"path": "past.0.id", "op": "eq", "value": f"${{{past}.id}}"},
                   {"path": "upcoming", "op": "none", "key": "id", "value": f"${{{theirs}.id}}"}],
           note=f"the {who} sees their own {ent.label_plural.lower()}, upcoming first in time order")
    p.step(me, "GET", f"/{capability}/", expect=200, checks=[{"op": "text_contains", "value": "15 Jan 2030"}],
           note="the page shows the dates in a readable form")
    p.step("anon", "GET", f"/api/{capability}/mine", expect=401, note="a visitor who is not signed in sees none")


REALISES = {"assignment": _realises_assignment}
DERIVE = {"assignment": _derive_assignment}
COMPILE = {"assignment.no_overlap": _no_overlap, "assignment.mine": _mine}
