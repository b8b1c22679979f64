"""Capability `search`: Full-text search with ranking over text fields (SQLite FTS5 locally, Postgres full text in production)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import (
    duplicates,
    entity_problems,
    field_problems,
    full_readers,
    no_reader_problem,
    own_readers,
    readers,
    writers,
)

KIND = "search"
PACKAGES: list[str] = []
SEARCHABLE = ("text", "long_text")


class Params(CapabilityBase):
    kind: Literal["search"] = "search"
    entity: Name
    fields: list[Name] = Field(min_length=1, description="text/long_text fields searched")


def check(cap: Params, spec) -> list[str]:
    p = entity_problems(spec, cap.entity) + duplicates(cap.fields, "field")
    p += field_problems(spec, cap.entity, cap.fields, SEARCHABLE, "searched field")
    p += no_reader_problem(spec, cap.entity)
    if not p and not writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so there would be nothing to search; add it to a role's "
                 f"write list")
    return p


def routes(cap: Params, spec) -> list[Route]:
    roles = readers(spec, cap.entity)
    return [
        Route(method="GET", path=f"/api/{cap.id}", summary=f"ranked full-text search of {cap.entity} (q, limit)",
              roles=roles),
        Route(method="GET", path=f"/{cap.id}/", summary=f"search page for {cap.entity}", roles=roles),
    ]


def probe_path(route: Route, path: str, marker: str) -> str:
    """The exploit gate's `leak` attack searches for the text only another user's row holds."""
    return f"{path}?q={marker}"


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    ws = writers(spec, ent.name)
    writer = "owner" if "owner" in ws else ws[0]
    outsider = next((r.name for r in spec.roles if r.name not in readers(spec, ent.name)), None)
    reader = next((r for r in full_readers(spec, ent.name) if r not in ws), writer)
    ctx = {"ent": ent, "fields": [ent.field(f) for f in cap.fields], "roles": readers(spec, ent.name),
           "t": {"writer": writer, "reader": reader, "outsider": outsider,
                 "own_reader": next(iter(own_readers(spec, ent.name)), None),
                 "field": max(cap.fields, key=lambda n: ent.field(n).max or 1e9)}}  # the roomiest field
    d = "capabilities/search"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(f"{d}/index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }
