"""Criteria for `records`: a record kept with the attributes the feature names, and read back with them."""

from __future__ import annotations

import re

from . import a


def _realises(cap, spec, rule, reading) -> bool:
    """A list of records enforces no rule, but a stated range of a field does ("shares from £100 up to £20,000"),
    and so does a read scope ("customers see only their own jobs": a role reads only its own rows of them)."""
    if rule.category == "scope":
        return any(cap.entity in r.read_own for r in spec.roles)
    return rule.number is not None and any(rule.number in [v for v in pair if v is not None]
                                           for pair in (getattr(cap, "bounds", None) or {}).values())


REALISES: dict = {"records": _realises}


def _label(spec, entity: str, field: str) -> str:
    ent = spec.entity(entity)
    f = ent.field(field) if ent else None
    return (f.label if f else field.replace("_", " ")).lower()


def _derive_records(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None:
        return []
    named = [f for f in cap.fields if ent.field(f) is not None]
    if reading is not None:
        named += [a.split(".", 1)[1] for a in reading.attributes
                  if a.startswith(f"{cap.entity}.") and a.split(".", 1)[1] not in named
                  and ent.field(a.split(".", 1)[1]) is not None]
    named = [f for f in named if ent.field(f).type != "file"]
    if named:
        attrs = [_label(spec, cap.entity, f) for f in named]
        listed = ", ".join(attrs[:-1]) + (" and " if len(attrs) > 1 else "") + attrs[-1]
        text = f"{a(ent.label.lower()).capitalize()} can be saved with its {listed}, and reading it back shows them."
    else:
        text = f"{a(ent.label.lower()).capitalize()} can be added, and it then appears in the list of {ent.label_plural.lower()}."
    out = [{"text": text, "template": "records.round_trip", "params": {"entity": cap.entity, "fields": named},
            "rules": []}]
    typed = {f: k for f in named if (k := _expected_kind(spec, cap.entity, f, feature or ""))}
    if typed:  # "a size in square feet ... a heated yes/no": a value of the wrong kind is refused, field by field
        said = [f"its {_label(spec, cap.entity, f)} is not {_KIND_WORDS[k]}" for f, k in typed.items()]
        said = ", ".join(said[:-1]) + (", or " if len(said) > 1 else "") + said[-1]
        out.append({"text": f"Saving {a(ent.label.lower())} is refused with 400 naming the field when {said}.",
                    "template": "records.typed", "params": {"entity": cap.entity, "kinds": typed}, "rules": []})
    for name, (least, most) in (getattr(cap, "bounds", None) or {}).items():  # the stated range, both edges
        said = [i for i, r in enumerate(reading.rules) if r.number is not None and r.number in (least, most)] \
            if reading is not None else []
        edges = " or ".join(x for x in (f"less than {least:g}" if least is not None else "",
                                         f"more than {most:g}" if most is not None else "") if x)
        out.append({"text": f"{a(ent.label.lower()).capitalize()} whose {_label(spec, cap.entity, name)} is {edges} "
                            f"is refused with 400 naming the field; one at the edge is saved.",
                    "template": "records.bounds", "params": {"entity": cap.entity, "field": name, "least": least,
                                                             "most": most}, "rules": said})
    for r in spec.roles:  # "keepers see only their own hives": two keepers, each sees only their own
        if cap.entity in r.read_own:
            how = _own_link(spec, cap.entity, r.name)
            by = f", through the {how[2]} it is assigned to" if how else ""
            out.append({"text": f"A {r.label.lower()} sees only their own {ent.label_plural.lower()}{by}: another "
                                f"{r.label.lower()}'s {ent.label.lower()} is neither listed nor readable.",
                        "template": "records.own_rows",
                        "params": {"entity": cap.entity, "role": r.name, "link": how},
                        "rules": [i for i, x in enumerate(reading.rules if reading is not None else [])
                                  if x.category == "scope"]})
    return out


_KIND_WORDS = {"number": "a number", "count": "a number of at least 0", "money": "an amount", "boolean": "yes or no",
               "date": "a date", "enum": "one of its choices", "email": "an email address"}
#: a value of the wrong kind for each expected kind, and why it is wrong
_WRONG = {"number": ("lots", "not a number"), "count": ("lots", "not a number"), "money": ("lots", "not an amount"),
          "boolean": ("maybe", "neither yes nor no"), "date": ("someday", "not a date"),
          "enum": ("not_one_of_them", "not one of its choices"), "email": ("nobody", "not an email address")}


def _expected_kind(spec, entity: str, field: str, feature: str) -> str | None:
    """The kind of value the founder's words give a field, read from the words, not from the field's type: "a
    heated yes/no" is yes or no, "a size in square feet" and "weight" are numbers (a measure or a count is never
    negative), "deadline" a date, a listed grade one of its choices. A field whose words name no kind is None, so
    free text is not tested; a field typed as text that the words make a number fails this criterion."""
    from ..planner import lexicon as lx
    from ..planner.definitions import UNITS

    ent = spec.entity(entity)
    f = ent.field(field) if ent else None
    if f is None or f.type in ("reference", "file"):
        return None
    if f.type == "enum":
        return "enum"
    if field.split("_")[-1] in ("number", "no", "id", "ref", "reference", "code", "registration", "plate") and \
            f.type in ("text", "long_text"):
        return None  # "ring number", "shirt number": an identifier, kept as written ("GB26N12345")
    label = (f.label or field.replace("_", " ")).lower()
    low = feature.lower()
    words = [w for w in re.findall(r"[a-z]+", label) if w not in ("of", "the", "a", "an", "in", "on")]
    at = re.search(r"\b" + r"\W+(?:[a-z]+\W+){0,2}".join(map(re.escape, words[-2:] or words)) + r"\b", low) \
        if words else None
    after = low[at.end():at.end() + 30] if at else ""
    if re.match(r"\W*(?:\(?\s*)?yes\s*(?:/|or|-)\s*no\b", after) or f.type == "boolean":
        return "boolean"
    if re.match(r"\s+(?:in|as)\s+(?:(?:square|sq|cubic|cu)\s+)?([a-z]+)", after) and \
            re.match(r"\s+(?:in|as)\s+(?:(?:square|sq|cubic|cu)\s+)?([a-z]+)", after).group(1) in UNITS:
        kind = "number"
    else:
        parts = set(field.split("_"))
        cue = next((k for k, ws in lx.TYPE_CUES if parts & ws), None)
        kind = {"integer": "number", "decimal": "number", "money": "money", "date": "date", "datetime": "date",
                "email": "email"}.get(cue or "", None)
        if kind is None and f.type in ("integer", "decimal", "money", "date", "datetime", "email"):
            kind = {"integer": "number", "decimal": "number", "datetime": "date"}.get(f.type, f.type)
    if kind == "number" and not set(field.split("_")) & lx.SIGNED_NUMBERS:
        return "count"
    return kind


def _typed(p, entity: str, kinds: dict) -> None:
    actor = p.writer(entity)
    for field, kind in kinds.items():
        bad, why = _WRONG[kind]
        tries = [(bad, why)] + ([(-5, "below zero")] if kind == "count" else [])
        for value, what in tries:
            p.make(entity, actor, overrides={field: value}, expect=400,
                   note=f"{field.replace('_', ' ')} {value!r}: {what}, refused")
            p.scenario["steps"][-1]["checks"] = [{"path": f"error.details.{field}", "op": "true"}]


def _own_link(spec, entity: str, role: str) -> list | None:
    """[reference field, person entity, its email field] when rows are the role's own through the person record they
    point at: always when that person record is the role's own ("parents see only their own child's diary
    entries": staff write the entries, each parent sees those pointing at them), else when the role cannot create
    the rows itself; None when the role's own rows are the ones it creates."""
    from ..appspec.model import own_paths

    people = own_paths(spec, entity)["people"]
    if people and spec.entity(people[0][1]) is not None and people[0][1] == role:
        return people[0]  # rows point at the role's own person record ("their own child's diary entries")
    r = spec.role(role)
    if r is not None and entity in r.write:
        return None
    return people[0] if people else None


def _round_trip(p, entity: str, fields: list[str]) -> None:
    ent = p.entity(entity)
    actor = p.writer(entity)
    var = p.make(entity, actor, note=f"a {p.scenario['actors'][actor]} saves a {ent.label.lower()}")
    step = p.scenario["steps"][-1]
    sent = step["json"]
    checks = [{"path": f, "op": "eq", "value": sent[f]} for f in fields if f in sent]
    missing = [f for f in fields if f not in sent]
    if missing:
        from . import ScenarioError
        raise ScenarioError(f"{entity} has no writable {', '.join(missing)}")
    p.step(actor, "GET", f"/api/{ent.plural}/${{{var}.id}}", expect=200, checks=checks,
           note=f"read the {ent.label.lower()} back")
    p.step(actor, "GET", f"/api/{ent.plural}?per_page=100", expect=200,
           checks=[{"path": "items", "op": "any", "key": "id", "value": f"${{{var}.id}}"}],
           note=f"list {ent.label_plural.lower()}")


def _own_rows(p, entity: str, role: str, link: list | None) -> None:
    ent = p.entity(entity)
    me, other = p.actor(role), p.actor(role)
    if link is None:  # each creates one
        mine = p.make(entity, me, note=f"a {role} saves a {ent.label.lower()}")
        theirs = p.make(entity, other, note=f"another {role} saves one")
    else:  # the owner assigns one to each, through the person records that carry their sign-in emails
        field, person, email = link
        rows = []
        for who in (me, other):
            pv = p.make(person, None, overrides={email: f"${{actor.{who}.email}}"},
                        note=f"the {person.replace('_', ' ')} record of {who}")
            rows.append(p.make(entity, None, overrides={field: f"${{{pv}.id}}"},
                               note=f"a {ent.label.lower()} assigned to {who}"))
        mine, theirs = rows
    p.step(me, "GET", f"/api/{ent.plural}?per_page=100", expect=200,
           checks=[{"path": "items", "op": "any", "key": "id", "value": f"${{{mine}.id}}"},
                   {"path": "items", "op": "none", "key": "id", "value": f"${{{theirs}.id}}"}],
           note="the list holds their own and not the other's")
    p.step(me, "GET", f"/api/{ent.plural}/${{{theirs}.id}}", expect=404, note="the other's cannot be read")


def _bounds(p, entity: str, field: str, least: float | None, most: float | None) -> None:
    ent = p.entity(entity)
    actor = p.writer(entity)

    def value(x: float) -> str | float:
        return f"{x:.2f}" if ent.field(field).type == "money" else x

    for bad, why in ((least - 1 if least is not None else None, f"below the least, {least}"),
                     (most + 1 if most is not None else None, f"above the most, {most}")):
        if bad is None:
            continue
        p.make(entity, actor, overrides={field: value(bad)}, expect=400, note=f"a {field} {why}: refused")
        p.scenario["steps"][-1]["checks"] = [{"path": f"error.details.{field}", "op": "true"}]
    edge = most if most is not None else least
    var = p.make(entity, actor, overrides={field: value(edge)}, note=f"a {field} of exactly {edge:g}: saved")
    p.step(actor, "GET", f"/api/{ent.plural}/${{{var}.id}}", expect=200,
           checks=[{"path": field, "op": "eq", "value": value(edge)}], note="read back")


DERIVE = {"records": _derive_records}
COMPILE = {"records.round_trip": _round_trip, "records.own_rows": _own_rows, "records.bounds": _bounds,
           "records.typed": _typed}
