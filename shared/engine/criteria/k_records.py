"""Criteria for `records`: a record kept with the attributes the feature names, and read back with them."""

from __future__ import annotations

from . import a

REALISES: dict = {"records": lambda cap, spec, rule, reading: False}  # a list of records enforces no rule


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
    return [{"text": text, "template": "records.round_trip", "params": {"entity": cap.entity, "fields": named},
             "rules": []}]


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


DERIVE = {"records": _derive_records}
COMPILE = {"records.round_trip": _round_trip}
