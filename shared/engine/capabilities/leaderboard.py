"""Capability `leaderboard`: Points awarded on events and a leaderboard per period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "leaderboard"


class Award(SpecModel):
    entity: Name = Field(description="creating a row of this entity earns points for its creator")
    points: int = Field(ge=1, le=1000)
    max_per_day: int = Field(default=10, ge=1, le=1000,
                             description="at most this many rows of `entity` earn points for one user per day "
                                         "(UTC); more rows still save, without points, so points cannot be farmed")


class Params(CapabilityBase):
    kind: Literal["leaderboard"] = "leaderboard"
    awards: list[Award] = Field(min_length=1)
    period: Literal["week", "month", "all"] = "week"


PACKAGES: list[str] = []


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p: list[str] = []
    names = [a.entity for a in cap.awards]
    for n in sorted({n for n in names if names.count(n) > 1}):
        p.append(f"awards list entity {n!r} twice; give each entity one award")
    for a in cap.awards:
        m = b.entity_problem(spec, a.entity, "award entity")
        if m:
            p.append(m)
        elif not b.writers(spec, a.entity):
            p.append(f"no role may create {a.entity!r}, so nobody could earn its points; add it to a role's "
                     f"write list")
    return p


def viewers(spec, cap: Params) -> list[str]:
    from . import _bind as b
    ents = {a.entity for a in cap.awards}
    return [r.name for r in spec.roles if r.name in {x for e in ents for x in b.readers(spec, e)}]


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    v = viewers(spec, cap)
    a = f"/api/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/leaderboard",
              summary=f"ranked points for period=week|month|all (default {cap.period})", roles=v),
        Route(method="GET", path=f"{a}/points", summary="my point awards, newest first", roles=v),
        Route(method="GET", path=f"/{cap.id}/", summary="leaderboard page", roles=v),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    awards = [{"entity": a.entity, "plural": spec.entity(a.entity).plural, "points": a.points,
               "max_per_day": a.max_per_day,
               "label": spec.entity(a.entity).label, "writer": b.writer_role(spec, a.entity)} for a in cap.awards]
    v = viewers(spec, cap)
    ctx = {"awards": awards, "viewers": v,
           "outsider": next((r.name for r in spec.roles if r.name not in v), None)}
    d = "capabilities/leaderboard/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
