"""Capability `ratings`: One rating per user per record, averages, sorting by rating."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ratings"


class Params(CapabilityBase):
    kind: Literal["ratings"] = "ratings"
    entity: Name
    scale: int = Field(default=5, ge=2, le=10)
    with_review: bool = True


PACKAGES: list[str] = []

REVIEW_MAX = 2000


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    m = b.entity_problem(spec, cap.entity, "rated entity")
    if m:
        return [m]
    if not b.readers(spec, cap.entity):
        return [f"no role may read {cap.entity!r}, so nobody could rate it; add it to a role's read list"]
    return []


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    e = spec.entity(cap.entity)
    r = b.readers(spec, cap.entity)
    a = f"/api/{cap.id}/{e.plural}"
    return [
        Route(method="GET", path=a, summary=f"{e.label_plural} sorted by average rating (sort=-rating|rating)",
              roles=r),
        Route(method="GET", path=f"{a}/<int:record_id>/ratings", summary="a record's ratings, average and count",
              roles=r),
        Route(method="PUT", path=f"{a}/<int:record_id>/rating",
              summary=f"rate 1..{cap.scale} (a second rating by the same user replaces the first)", roles=r),
        Route(method="DELETE", path=f"{a}/<int:record_id>/rating", summary="withdraw my rating", roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="top-rated page", roles=r),
        Route(method="GET", path=f"/{cap.id}/<int:record_id>", summary="a record's ratings page with the form",
              roles=r),
        Route(method="POST", path=f"/{cap.id}/<int:record_id>", summary="rating form submit", roles=r),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    e = spec.entity(cap.entity)
    readers = b.readers(spec, cap.entity)
    ctx = {
        "ent": e, "readers": readers, "review_max": REVIEW_MAX,
        "rater": next((r for r in readers if r != "owner"), "owner"),
        "outsider": next((r.name for r in spec.roles if r.name not in readers), None),
    }
    d = "capabilities/ratings/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(d + "record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
