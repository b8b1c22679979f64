"""Capability `checklist`: Checklist items per record, completion percentage, filter on incomplete records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import entity_problems, no_reader_problem, readers, writers

KIND = "checklist"
PACKAGES: list[str] = []


class Params(CapabilityBase):
    kind: Literal["checklist"] = "checklist"
    entity: Name
    items: list[str] = Field(default_factory=list, max_length=30, description=(
        "the items every new record's checklist starts with, unticked, in this order (the founder's words: "
        "'checklist per pupil: roundabouts, parallel parking, emergency stop'); empty: items are added by hand"))


def check(cap: Params, spec) -> list[str]:
    p = entity_problems(spec, cap.entity) + no_reader_problem(spec, cap.entity)
    p += [f"checklist item {i!r} must be 1 to 200 characters" for i in cap.items if not 0 < len(i.strip()) <= 200]
    if len({i.strip().lower() for i in cap.items}) < len(cap.items):
        p.append("the checklist names an item twice; name each item once")
    if not p and not writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so nobody could tick a checklist item; add it to a role's "
                 f"write list")
    return p


def routes(cap: Params, spec) -> list[Route]:
    r, w = readers(spec, cap.entity), writers(spec, cap.entity)
    a, pg = f"/api/{cap.id}", f"/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/<int:record_id>", summary="a record's checklist and completion percentage",
              roles=r),
        Route(method="POST", path=f"{a}/<int:record_id>/items", summary="add a checklist item to a record", roles=w),
        Route(method="PATCH", path=f"{a}/items/<int:item_id>", summary="tick, untick or rename an item", roles=w),
        Route(method="DELETE", path=f"{a}/items/<int:item_id>", summary="remove an item", roles=w),
        Route(method="GET", path=f"{a}/incomplete",
              summary=f"{cap.entity} records whose checklist is not complete, with their percentage", roles=r),
        Route(method="GET", path=f"{pg}/", summary="records with incomplete checklists", roles=r),
        Route(method="GET", path=f"{pg}/<int:record_id>", summary="a record's checklist page", roles=r),
        Route(method="POST", path=f"{pg}/<int:record_id>", summary="checklist form: add or tick items", roles=w),
    ]


def _test_plan(cap: Params, spec) -> dict:
    ent = spec.entity(cap.entity)
    ws = writers(spec, ent.name)
    writer = "owner" if "owner" in ws else ws[0]
    reader = next((r for r in readers(spec, ent.name) if r not in ws), None)
    own = next((r.name for r in spec.roles if r.name in ws and r.scope == "own" and r.name != "owner"), None)
    outsider = next((r.name for r in spec.roles if r.name not in readers(spec, ent.name)), None)
    return {"writer": writer, "reader": reader, "own": own, "outsider": outsider}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    ctx = {"ent": ent, "t": _test_plan(cap, spec)}
    d = "capabilities/checklist"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(f"{d}/index.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(f"{d}/record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }
