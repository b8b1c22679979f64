"""Capability `versioning`: Revisions with author, a diff between revisions, and restore."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import entity_problems, field_problems, no_reader_problem, readers, writers

KIND = "versioning"
PACKAGES: list[str] = []


class Params(CapabilityBase):
    kind: Literal["versioning"] = "versioning"
    entity: Name
    field: Name = Field(description="the long_text field that is versioned")


def check(cap: Params, spec) -> list[str]:
    p = entity_problems(spec, cap.entity)
    p += field_problems(spec, cap.entity, [cap.field], ("long_text", "text"), "versioned field")
    p += no_reader_problem(spec, cap.entity)
    ent = spec.entity(cap.entity)
    f = ent.field(cap.field) if ent is not None else None
    if f is not None and f.max is not None and f.max < 200:
        p.append(f"versioned field {cap.entity}.{cap.field} allows only {int(f.max)} characters; a versioned "
                 f"document needs room: raise its max to at least 200 or drop it")
    if not p and not writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so there would be no revisions; add it to a role's write list")
    return p


def routes(cap: Params, spec) -> list[Route]:
    r, w = readers(spec, cap.entity), writers(spec, cap.entity)
    a, pg = f"/api/{cap.id}/<int:record_id>", f"/{cap.id}/<int:record_id>"
    return [
        Route(method="GET", path=f"{a}/revisions", summary=f"revisions of a {cap.entity}'s {cap.field}, newest first",
              roles=r),
        Route(method="GET", path=f"{a}/revisions/<int:number>", summary="one revision with its text and author",
              roles=r),
        Route(method="GET", path=f"{a}/diff", summary="unified diff between two revisions (from, to)", roles=r),
        Route(method="POST", path=f"{a}/revisions/<int:number>/restore",
              summary="restore a revision (creates a new revision)", roles=w),
        Route(method="GET", path=pg, summary="revision history page with diff", roles=r),
        Route(method="POST", path=f"{pg}/restore", summary="restore form", roles=w),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    ws = writers(spec, ent.name)
    other = next((f for f in ent.fields if f.name != cap.field and f.type in ("text", "long_text")
                  and not f.unique), None)
    t = {"writer": "owner" if "owner" in ws else ws[0],
         "reader": next((x for x in readers(spec, ent.name) if x not in ws), None),
         "own": next((x.name for x in spec.roles if x.name in ws and x.scope == "own" and x.name != "owner"), None),
         "other": other,
         # a reader that does not manage users: sees other authors by display name only
         "member": next((x.name for x in spec.roles if x.name in readers(spec, ent.name) and not x.manage_users),
                        None)}
    ctx = {"ent": ent, "t": t}
    d = "capabilities/versioning"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(f"{d}/record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }
