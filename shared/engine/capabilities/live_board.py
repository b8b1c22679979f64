"""Capability `live_board`: Server-sent events push changes of the entities to open pages, no polling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import duplicates, entity_problems, full_readers, own_readers, readers, readers_any, writers

KIND = "live_board"
PACKAGES: list[str] = []


class Params(CapabilityBase):
    kind: Literal["live_board"] = "live_board"
    entities: list[Name] = Field(min_length=1)


def check(cap: Params, spec) -> list[str]:
    p = duplicates(cap.entities, "entity")
    for e in cap.entities:
        p += entity_problems(spec, e)
    if not p and not readers_any(spec, cap.entities):
        p.append(f"no role may read any of {cap.entities}, so nobody could watch the board; add them to a role's "
                 f"read list")
    if not p and not any(writers(spec, e) for e in cap.entities):
        p.append(f"no role may write any of {cap.entities}, so the board would never change; add one to a role's "
                 f"write list")
    return p


def routes(cap: Params, spec) -> list[Route]:
    roles = readers_any(spec, cap.entities)
    return [
        Route(method="GET", path=f"/api/{cap.id}/stream",
              summary="server-sent events (text/event-stream) of creates, updates and deletes; Last-Event-ID "
                      "resumes; once=1 and timeout=<s> bound the stream", roles=roles),
        Route(method="GET", path=f"/api/{cap.id}/recent", summary="the latest rows the board starts from",
              roles=roles),
        Route(method="GET", path=f"/{cap.id}/", summary="live board page (EventSource, no polling)", roles=roles),
        Route(method="GET", path=f"/{cap.id}/board.js", summary="the board page's script", roles=roles),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ents = [spec.entity(e) for e in cap.entities]
    main = next(e for e in ents if writers(spec, e.name))
    ws = writers(spec, main.name)
    other = next((e for e in ents if e.name != main.name and writers(spec, e.name)), None)
    # a role that reads the main entity but not the other one: it must not see the other's events
    partial = None
    if other is not None:
        partial = next((r for r in full_readers(spec, main.name) if r not in readers(spec, other.name)), None)
    t = {"main": main, "writer": "owner" if "owner" in ws else ws[0], "other": other, "partial": partial,
         "own_reader": next(iter(own_readers(spec, main.name)), None),
         "outsider": next((r.name for r in spec.roles if r.name not in readers_any(spec, cap.entities)), None)}
    ctx = {"ents": ents, "t": t, "display": {e.name: e.display_field for e in ents},
           "labels": {e.name: e.label_plural for e in ents}}
    d = "capabilities/live_board"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/board.html": tpl.render(f"{d}/board.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/board.js": tpl.render(f"{d}/board.js.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }


def probe_path(route: Route, path: str, marker: str) -> str:
    """The exploit gate's `leak` attack GETs every route: the stream it reads for half a second, not forever."""
    return path + "?timeout=0.5" if path.endswith("/stream") else path


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): one user holds the most
    streams one person may (2) and asks for a third (429), so one account cannot take every stream."""
    from ..exploits import attack

    roles = readers_any(spec, cap.entities)
    role = next((r for r in roles if r != "owner"), "owner")
    p = attack(spec, f"live_board_stream_hog:{cap.id}", "One user cannot hold more than 2 of the live board's "
                                                        "streams open at once (the rest are for everyone else).")
    hog = p.actor(role, "hog") if role != "owner" else "owner"
    for n in (1, 2):
        p.step(hog, "GET", f"/api/{cap.id}/stream?timeout=60", note=f"open stream {n} and keep it open")
        p.scenario["steps"][-1]["hold_open"] = True
    p.step(hog, "GET", f"/api/{cap.id}/stream?timeout=60", expect=429, note="open a third stream while both are open")
    p.scenario["steps"][-1]["hold_open"] = True
    return [p.scenario]
