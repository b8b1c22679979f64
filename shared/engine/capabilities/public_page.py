"""Capability `public_page`: A read-only public page for a record or list (e.g. a menu) and a QR code for its URL."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import duplicates, entity_problems, field_problems, writers

KIND = "public_page"
SEGNO = "segno==1.6.6"
PACKAGES: list[str] = [SEGNO]
SHOWABLE = ("text", "long_text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum", "email",
            "phone", "url")


class Params(CapabilityBase):
    kind: Literal["public_page"] = "public_page"
    entity: Name
    fields: list[Name] = Field(min_length=1, description="fields shown publicly")
    published_field: Name | None = Field(default=None, description="boolean field; only rows with it true are public")
    qr: bool = True


def check(cap: Params, spec) -> list[str]:
    p = entity_problems(spec, cap.entity) + duplicates(cap.fields, "field")
    p += field_problems(spec, cap.entity, cap.fields, SHOWABLE, "public field")
    if cap.published_field is not None:
        p += field_problems(spec, cap.entity, [cap.published_field], ("boolean",), "published_field")
    ent = spec.entity(cap.entity)
    if ent is not None and not writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so nothing could be published; add it to a role's write list")
    if ent is not None and not p and ent.display_field not in cap.fields:
        p.append(f"the public fields must include {cap.entity!r}'s display field {ent.display_field!r}, which "
                 f"titles each public entry")
    return p


def routes(cap: Params, spec) -> list[Route]:
    a, pg = f"/api/{cap.id}", f"/{cap.id}"
    out = [
        Route(method="GET", path=f"{pg}/", summary=f"public page listing {cap.entity} (no sign-in)"),
        Route(method="GET", path=f"{pg}/<int:record_id>", summary=f"public page of one {cap.entity}"),
        Route(method="GET", path=a, summary="the public list as JSON (only the public fields)"),
        Route(method="GET", path=f"{a}/<int:record_id>", summary="one public record as JSON"),
    ]
    if cap.qr:
        out += [Route(method="GET", path=f"{pg}/qr.svg", summary="QR code (SVG) of the public page's URL"),
                Route(method="GET", path=f"{pg}/<int:record_id>/qr.svg", summary="QR code (SVG) of a record's page")]
    return out


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    shown = [ent.field(f) for f in cap.fields]
    hidden = next((f for f in ent.fields if f.name not in cap.fields and f.type in ("text", "long_text")
                   and f.name != cap.published_field), None)
    ws = writers(spec, ent.name)
    ctx = {"ent": ent, "shown": shown, "hidden": hidden, "labels": {f.name: f.label for f in shown},
           "writer": "owner" if "owner" in ws else ws[0],
           "display_is_text": ent.field(ent.display_field).type in ("text", "long_text")}
    d = "capabilities/public_page"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/list.html": tpl.render(f"{d}/list.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(f"{d}/record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): with no PUBLIC_BASE_URL
    configured, a QR code asked for with a forged Host header is refused (503), never one pointing at that host."""
    if not cap.qr:
        return []
    from ..exploits import attack

    p = attack(spec, f"public_qr_host:{cap.id}", "A QR code of the public page is never built on the request's "
                                                 "Host header (a forged Host cannot make it point elsewhere).")
    p.step(None, "GET", f"/{cap.id}/qr.svg", headers={"Host": "evil.example"}, expect=[404, 503],
           note="ask for the QR code with Host: evil.example while no PUBLIC_BASE_URL is set")
    return [p.scenario]
