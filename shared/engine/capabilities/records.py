"""Capability `records`: Records of an entity with the fields a feature names: list (paging, sort, filter), detail, create, edit, delete."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "records"


class Params(CapabilityBase):
    kind: Literal["records"] = "records"
    entity: Name
    fields: list[Name] = Field(default_factory=list, description="the fields the feature names (must exist)")
    filters: list[Name] = Field(default_factory=list, description="fields offered as list filters")
    bounds: dict[Name, list[float | None]] = Field(default_factory=dict, description=(
        "the stated range of a number or money field, [least, most] (either may be null): 'shares from £100 up to "
        "£20,000', 'a spending cap of £25'; the field's own min and max hold it"))


PACKAGES: tuple[str, ...] = ()
UNFILTERABLE = ("long_text", "file")


def _fields(cap: Params, spec) -> list[str]:
    ent = spec.entity(cap.entity)
    return list(cap.fields) or ([f.name for f in ent.fields] if ent else [])


def check(cap: Params, spec) -> list[str]:
    ent = spec.entity(cap.entity)
    if ent is None:
        return [f"entity {cap.entity!r} does not exist; known entities: {sorted(e.name for e in spec.entities)}"]
    problems = []
    names = [f.name for f in ent.fields]
    for name in cap.fields:
        if name not in names:
            problems.append(f"field {name!r} is not a field of {cap.entity!r}; its fields: {names}")
    for name in cap.filters:
        f = ent.field(name)
        if f is None:
            problems.append(f"filter {name!r} is not a field of {cap.entity!r}; its fields: {names}")
        elif f.type in UNFILTERABLE:
            problems.append(f"filter {name!r} is a {f.type} field, which cannot be filtered on; choose a text, "
                            f"number, date, enum, boolean or reference field")
    for name, pair in cap.bounds.items():
        f = ent.field(name)
        if f is None or f.type not in ("integer", "decimal", "money"):
            problems.append(f"bounds name {name!r}, which is not a number or money field of {cap.entity!r}")
            continue
        if len(pair) != 2 or pair == [None, None] or (None not in pair and pair[0] > pair[1]):
            problems.append(f"bounds of {name!r} must be [least, most] with least <= most, got {pair}")
        elif (pair[0] is not None and f.min != pair[0]) or (pair[1] is not None and f.max != pair[1]):
            problems.append(f"field {name!r} of {cap.entity!r} must carry the stated range {pair} as its min and max")
    if len(set(cap.fields)) != len(cap.fields) or len(set(cap.filters)) != len(cap.filters):
        problems.append("fields and filters must not repeat a name")
    return problems


def _readers(cap: Params, spec) -> list[str]:
    return [r.name for r in spec.roles if cap.entity in r.read or cap.entity in r.write]


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route

    readers = _readers(cap, spec)
    label = spec.entity(cap.entity).label_plural if spec.entity(cap.entity) else cap.entity
    return [
        Route(method="GET", path=f"/api/{cap.id}/items",
              summary=f"{label} with {', '.join(_fields(cap, spec))}; paging, sort and filters "
                      f"{', '.join(cap.filters) or '(none)'}", roles=readers),
        Route(method="GET", path=f"/{cap.id}", summary=f"{cap.label}: the page listing them", roles=readers),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    ctx = {"ent": ent, "fields": _fields(cap, spec), "filters": list(cap.filters),
           "outsider": next((r.name for r in spec.roles if r.name not in _readers(cap, spec)), None)}
    return {
        f"app/capabilities/{cap.id}.py": tpl.render("capabilities/records/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/view.html": tpl.render("capabilities/records/view.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render("capabilities/records/test.py.j2", **ctx),
    }
