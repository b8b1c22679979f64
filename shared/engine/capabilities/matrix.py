"""Capability `matrix`: Many-to-many derived view, e.g. dishes x allergens computed from ingredients."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "matrix"


class Params(CapabilityBase):
    kind: Literal["matrix"] = "matrix"
    row_entity: Name = Field(description="e.g. dish")
    via_entity: Name = Field(description="e.g. ingredient; rows link to it many-to-many")
    column_entity: Name = Field(description="e.g. allergen; via links to it many-to-many")


PACKAGES: list[str] = []


def link(spec, a: str, b: str):
    """(join entity, field referencing a, field referencing b) of the spec's many_to_many relation a<->b."""
    for r in spec.relations:
        if r.kind != "many_to_many" or {r.entity, r.target} != {a, b} or not r.through:
            continue
        j = spec.entity(r.through)
        if j is None:
            continue
        fa = next((f for f in j.fields if f.type == "reference" and f.ref == a), None)
        fb = next((f for f in j.fields if f.type == "reference" and f.ref == b), None)
        if fa is not None and fb is not None:
            return j, fa, fb
    return None


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    names = {"row_entity": cap.row_entity, "via_entity": cap.via_entity, "column_entity": cap.column_entity}
    p = [m for m in (b.entity_problem(spec, n, k) for k, n in names.items()) if m]
    if p:
        return p
    if len(set(names.values())) != 3:
        return [f"row_entity, via_entity and column_entity must be three different entities (got {names})"]
    for a, z in ((cap.row_entity, cap.via_entity), (cap.via_entity, cap.column_entity)):
        if link(spec, a, z) is None:
            p.append(f"no many_to_many relation links {a!r} and {z!r}; add a join entity with reference fields to "
                     f"both and a relation {{kind: many_to_many, entity: {a}, target: {z}, through: <join>}}")
    if not p and not readers(spec, cap):
        p.append(f"no role may read all of {sorted(names.values())} and their join entities; add them to a "
                 f"role's read list")
    return p


def entities(spec, cap: Params) -> list[str]:
    j1 = link(spec, cap.row_entity, cap.via_entity)[0].name
    j2 = link(spec, cap.via_entity, cap.column_entity)[0].name
    return [cap.row_entity, cap.via_entity, cap.column_entity, j1, j2]


def readers(spec, cap: Params) -> list[str]:
    from . import _bind as b
    need = entities(spec, cap)
    return [r.name for r in spec.roles if all(r.name in b.readers(spec, e) for e in need)]


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    r = readers(spec, cap)
    a = f"/api/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/matrix",
              summary=f"{cap.row_entity} x {cap.column_entity} through {cap.via_entity} (without=<column id>)",
              roles=r),
        Route(method="GET", path=f"{a}/rows/<int:row_id>",
              summary=f"the {cap.column_entity} values of one {cap.row_entity}, with the {cap.via_entity} behind each",
              roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="matrix page", roles=r),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    j1, r_fk, v_fk1 = link(spec, cap.row_entity, cap.via_entity)
    j2, v_fk2, c_fk = link(spec, cap.via_entity, cap.column_entity)
    r = readers(spec, cap)
    ctx = {
        "row": spec.entity(cap.row_entity), "via": spec.entity(cap.via_entity), "col": spec.entity(cap.column_entity),
        "j1": j1, "r_fk": r_fk.name, "v_fk1": v_fk1.name, "j2": j2, "v_fk2": v_fk2.name, "c_fk": c_fk.name,
        "readers": r, "outsider": next((x.name for x in spec.roles if x.name not in r), None),
    }
    d = "capabilities/matrix/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
