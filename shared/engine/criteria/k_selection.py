"""Criteria for `selection`: choosing one row among its siblings declines the others, and nothing undoes it.

The scenario drives the capability's own routes (see `capabilities/selection/module.py.j2`): a parent with three
rows and another parent with one; someone who may not choose is refused (403), so is a visitor who is not signed
in (401); the chooser picks one (200) and the open siblings become declined while the other parent's row stays
open; a second choice for the same parent, a new row for it and a plain edit of a declined row's state are
refused (409). With `notify`, the creators of the declined rows (and only they) get an outbox message.
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, noun_matches, rule_number

# the words of an exclusivity rule about choosing one and declining the rest (not "exclusive use" of a resource)
_DECLINES = re.compile(r"declin\w*|reject\w*|clos\w*|cancel\w*|withdr[ae]w\w*|\bothers?\b|\brest\b|\bremaining\b|"
                       r"\bonly one\b")
#: the chosen state -> the verb that chooses (base form)
_VERBS = {"accepted": "accept", "approved": "approve", "confirmed": "confirm", "selected": "select",
          "chosen": "choose", "picked": "pick", "awarded": "award", "booked": "book", "hired": "hire",
          "offered": "offer", "assigned": "assign", "won": "win", "granted": "grant", "shortlisted": "shortlist"}


# ---------------------------------------------------------------------------------------------------- helpers


def _snake(label: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


def _parent(spec, entity: str, parent_field: str) -> str | None:
    ent = spec.entity(entity)
    f = ent.field(parent_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def _names_entity(spec, noun: str) -> set[str]:
    """The entities a founder's noun names (by name, label or plural label)."""
    return {e.name for e in spec.entities
            if any(noun_matches(noun, x) for x in (e.name, _snake(e.label), _snake(e.label_plural)))}


def _rlabel(spec, role: str) -> str:
    r = spec.role(role)
    return (r.label if r else role.replace("_", " ")).lower()


def _who(spec, role: str) -> str:
    return "the owner" if role == "owner" else a(_rlabel(spec, role))


def _words(value: str) -> str:
    return value.replace("_", " ")


def _verb(chosen: str) -> tuple[str, str]:
    """("accepts", "accepting") for the chosen state "accepted"; a generic verb for a state it does not know."""
    base = _VERBS.get(chosen)
    if base is None:
        return f"marks {_words(chosen)}", f"marking {_words(chosen)}"
    third = base + ("es" if base.endswith(("s", "sh", "ch")) else "s")
    gerund = (base[:-1] if base.endswith("e") and not base.endswith("ee") else base) + "ing"
    return third, gerund


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _chooser_role(cap, spec) -> str:
    """The role the scenarios choose as: a role other than the owner when one may."""
    from ..capabilities.selection import choosers

    movers = choosers(cap, spec)
    if not movers:
        raise ScenarioError(f"no role may choose a {cap.entity}")
    return next((r for r in movers if r != "owner"), movers[0])


def _outsider(spec, cap) -> str | None:
    """A role that may not choose (one that reads the rows first), or None when every role may."""
    from ..capabilities.selection import choosers

    movers = choosers(cap, spec)
    readers = [r.name for r in spec.roles if cap.entity in r.read or cap.entity in r.write]
    others = [r.name for r in spec.roles if r.name not in movers and r.name != "owner"]
    return next((r for r in others if r in readers), None) or next(iter(others), None)


def _realised(cap, spec, reading) -> list[int]:
    if reading is None:
        return []
    return [i for i, r in enumerate(reading.rules) if _realises_selection(cap, spec, r, reading)]


# ---------------------------------------------------------------------------------------------------- realises


def _realises_selection(cap, spec, rule, reading) -> bool:
    """An exclusivity rule that says the others are declined (or only one is chosen), with no number but one,
    whose nouns name no entity but the rows chosen among and their parent ("declines the other quotes" for quotes
    of a job; not "declines the other bookings" when bookings are not the capability's rows)."""
    if rule.category != "exclusivity":
        return False
    n = rule_number(rule)
    if n is not None and n != 1:
        return False
    if not _DECLINES.search(rule.words.lower()):
        return False
    own = {cap.entity, _parent(spec, cap.entity, cap.parent_field)} - {None}
    for noun in rule.nouns:
        named = _names_entity(spec, noun)
        if named and not named & own:
            return False
    return True


# ---------------------------------------------------------------------------------------------------- derive


def _params(cap) -> dict:
    return {"capability": cap.id, "entity": cap.entity, "parent_field": cap.parent_field,
            "state_field": cap.state_field, "open_value": cap.open_values[0], "chosen_value": cap.chosen_value,
            "declined_value": cap.declined_value}


def _derive_selection(cap, spec, reading, feature) -> list[dict]:
    parent = _parent(spec, cap.entity, cap.parent_field)
    if spec.entity(cap.entity) is None or parent is None:
        return []
    ent, ents, par = entity_label(spec, cap.entity), entity_label(spec, cap.entity, True), entity_label(spec, parent)
    try:
        who = _who(spec, _chooser_role(cap, spec))
    except ScenarioError:  # compiling the criterion reports it
        who = "someone"
    does, doing = _verb(cap.chosen_value)
    outsider = _outsider(spec, cap)
    refused = f"; {a(_rlabel(spec, outsider))} may not choose" if outsider else ""
    out = [{"text": _fit(f"When {a(par)} has three {ents} and {who} {does} one, the other two become "
                         f"{_words(cap.declined_value)}; {doing} another {ent} for that {par} is refused, and so is a "
                         f"new {ent} for it{refused}; {a(ent)} of another {par} stays {_words(cap.open_values[0])}."),
            "template": "selection.choose_one", "params": _params(cap), "rules": _realised(cap, spec, reading)}]
    if cap.notify:
        out.append({"text": _fit(f"When {who} {does} one of three {ents} for {a(par)}, the people who added the "
                                 f"other two are told theirs was {_words(cap.declined_value)}; the one "
                                 f"{_words(cap.chosen_value)} gets no such message."),
                    "template": "selection.declined_told", "params": _params(cap), "rules": []})
    return out


# ---------------------------------------------------------------------------------------------------- compile


def _setup(p, capability: str, entity: str, parent_field: str, rows: int):
    """The capability, the chooser actor, who adds parents, a parent with `rows` rows (each added by a new user
    who may add them). Returns (cap, chooser, parent maker, parent var, [(row var, creator actor)])."""
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "selection"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no selection capability {capability!r}")
    parent = _parent(p.spec, entity, parent_field)
    if parent is None:
        raise ScenarioError(f"{entity}.{parent_field} is not a reference")
    role = _chooser_role(cap, p.spec)
    chooser = p.actor(role)
    parent_writers = [r.name for r in p.spec.roles if parent in r.write]
    if role in parent_writers:
        maker = chooser  # a role with scope "own" chooses only among the rows of a parent it created
    elif p.spec.role(role).scope == "own":
        raise ScenarioError(f"the role {role!r} chooses only for its own {parent} records but may not add one")
    elif "owner" in parent_writers:
        maker = "owner"
    else:
        maker = p.writer(parent)
    pl = p.entity(parent).label.lower()
    pid = p.make(parent, maker, note=f"{a(pl)} to choose for")
    label = p.entity(entity).label.lower()
    made = []
    for i in range(rows):
        creator = p.writer(entity)
        var = p.make(entity, creator, {parent_field: f"${{{pid}.id}}"}, note=f"{label} {i + 1} for the {pl}")
        made.append((var, creator))
    return cap, chooser, maker, pid, made


def _viewer(p, entity: str, parent: str) -> str:
    """Someone who may read both the rows and their parents: the owner when it may."""
    both = [r.name for r in p.spec.roles
            if (entity in r.read or entity in r.write) and (parent in r.read or parent in r.write)]
    if not both:
        raise ScenarioError(f"no role may read both {entity!r} and {parent!r}")
    return "owner" if "owner" in both else p.actor(both[0])


def _choose_one(p, capability: str, entity: str, parent_field: str, state_field: str, open_value: str,
                chosen_value: str, declined_value: str) -> None:
    cap, chooser, maker, pid, made = _setup(p, capability, entity, parent_field, 3)
    ent = p.entity(entity)
    parent = _parent(p.spec, entity, parent_field)
    label, pl = ent.label.lower(), p.entity(parent).label.lower()
    (r1, c1), (r2, _c2), (r3, _c3) = made
    other_pid = p.make(parent, maker, note=f"another {pl}")
    other_row = p.make(entity, p.writer(entity), {parent_field: f"${{{other_pid}.id}}"},
                       note=f"{a(label)} for the other {pl}")

    def select(var: str) -> str:
        return f"/api/{capability}/records/${{{var}.id}}/select"

    outsider = _outsider(p.spec, cap)
    if outsider:
        p.step(p.actor(outsider), "POST", select(r1), json={}, expect=403,
               note=f"{a(_rlabel(p.spec, outsider))} may not choose")
    p.step("anon", "POST", select(r1), json={}, expect=401, note="a visitor who is not signed in may not choose")
    role = p.scenario["actors"][chooser]
    if role != "owner" and p.spec.role(role).scope == "own":
        p.step(p.actor(role), "POST", select(r1), json={}, expect=403,
               note=f"another {_rlabel(p.spec, role)} may not choose for a {pl} they did not add")
    p.step(chooser, "POST", select(r2), json={}, expect=200,
           checks=[{"path": f"record.{state_field}", "op": "eq", "value": chosen_value},
                   {"path": "declined", "op": "len", "value": 2},
                   {"path": "declined", "op": "contains", "value": f"${{{r1}.id}}"},
                   {"path": "declined", "op": "contains", "value": f"${{{r3}.id}}"}],
           note=f"choose {label} 2: it becomes {_words(chosen_value)}, the other two {_words(declined_value)}")
    viewer = _viewer(p, entity, parent)
    for var, state in ((r1, declined_value), (r2, chosen_value), (r3, declined_value), (other_row, open_value)):
        p.step(viewer, "GET", f"/api/{ent.plural}/${{{var}.id}}", expect=200,
               checks=[{"path": state_field, "op": "eq", "value": state}],
               note=f"the {label} is {_words(state)}" + (f" (another {pl})" if var == other_row else ""))
    p.step(viewer, "GET", f"/api/{capability}/parents/${{{pid}.id}}", expect=200,
           checks=[{"path": "chosen_id", "op": "eq", "value": f"${{{r2}.id}}"},
                   {"path": "items", "op": "count", "key": "state", "value": chosen_value, "n": 1},
                   {"path": "items", "op": "count", "key": "state", "value": declined_value, "n": 2}],
           note=f"the {pl} shows one {_words(chosen_value)} {label} and two {_words(declined_value)}")
    p.step(chooser, "POST", select(r3), json={}, expect=409,
           note=f"choosing another {label} for the same {pl} is refused")
    p.make(entity, p.writer(entity), {parent_field: f"${{{pid}.id}}"}, expect=409,
           note=f"a new {label} for the {pl} is refused once one is {_words(chosen_value)}")
    p.step(c1, "PATCH", f"/api/{ent.plural}/${{{r1}.id}}", json={state_field: open_value}, expect=409,
           note=f"a plain edit cannot make a {_words(declined_value)} {label} {_words(open_value)} again")
    p.step(viewer, "GET", f"/api/{capability}/parents/${{{pid}.id}}", expect=200,
           checks=[{"path": "items", "op": "len", "value": 3},
                   {"path": "items", "op": "count", "key": "state", "value": chosen_value, "n": 1}],
           note=f"still three {ent.label_plural.lower()}, one {_words(chosen_value)}")
    p.step(chooser, "POST", select(other_row), json={}, expect=200,
           checks=[{"path": f"record.{state_field}", "op": "eq", "value": chosen_value}],
           note=f"the other {pl} has its own choice")


def _declined_told(p, capability: str, entity: str, parent_field: str, state_field: str, open_value: str,
                   chosen_value: str, declined_value: str) -> None:
    cap, chooser, _maker, pid, made = _setup(p, capability, entity, parent_field, 3)
    if not cap.notify:
        raise ScenarioError(f"selection {capability!r} tells no one (notify is off)")
    label = p.entity(entity).label.lower()
    (r1, c1), (r2, _c2), (r3, c3) = made
    p.step(chooser, "POST", f"/api/{capability}/records/${{{r2}.id}}/select", json={}, expect=200,
           checks=[{"path": "declined", "op": "len", "value": 2}], note=f"choose {label} 2")
    p.step("owner", "GET", f"/api/{capability}/outbox", expect=200,
           checks=[{"path": "items", "op": "len", "value": 2},
                   {"path": "items", "op": "any", "key": "record_id", "value": f"${{{r1}.id}}"},
                   {"path": "items", "op": "any", "key": "record_id", "value": f"${{{r3}.id}}"},
                   {"path": "items", "op": "none", "key": "record_id", "value": f"${{{r2}.id}}"},
                   {"path": "items", "op": "any", "key": "email", "value": f"${{actor.{c1}.email}}"},
                   {"path": "items", "op": "any", "key": "email", "value": f"${{actor.{c3}.email}}"},
                   {"op": "text_contains", "value": _words(declined_value)}],
           note=f"the people who added {label} 1 and {label} 3 are told; nobody about {label} 2")
    if chooser != "owner":
        p.step(chooser, "GET", f"/api/{capability}/outbox", expect=403, note="the outbox is the owner's")


REALISES: dict = {"selection": _realises_selection}
DERIVE = {"selection": _derive_selection}
COMPILE = {"selection.choose_one": _choose_one, "selection.declined_told": _declined_told}
