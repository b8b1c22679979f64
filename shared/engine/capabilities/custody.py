"""Capability `custody`: Check-in / check-out / assignment: who holds what, since and until when; overdue list; history per item; optionally at most N items per holder at a time."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "custody"


class Params(CapabilityBase):
    kind: Literal["custody"] = "custody"
    item_entity: Name
    holder_entity: Name | None = Field(default=None, description="entity of holders; None = app users")
    due_days: int = Field(default=7, ge=0, le=365)
    checkout_roles: list[Name] = Field(default_factory=list, description="roles that may check items out and in; "
                                       "empty = the roles that may write `item_entity`")
    max_held: int | None = Field(default=None, ge=1, le=1000, description="at most this many items held by one "
                                 "holder at a time (\"borrow at most three copies at a time\"); None = no limit")


PACKAGES: list[str] = []


def checkout_roles(cap: Params, spec) -> list[str]:
    from . import _bind as b
    return list(cap.checkout_roles) or b.writers(spec, cap.item_entity)


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (b.entity_problem(spec, cap.item_entity, "item_entity"),
                     b.entity_problem(spec, cap.holder_entity, "holder_entity") if cap.holder_entity else None,
                     *(b.role_problem(spec, r, "checkout role") for r in cap.checkout_roles)) if m]
    if cap.holder_entity == cap.item_entity:
        p.append(f"holder_entity and item_entity are both {cap.item_entity!r}; the held thing and its holder differ")
    if spec.entity(cap.item_entity) is not None and not checkout_roles(cap, spec):
        p.append(f"no role may check out {cap.item_entity!r}: set checkout_roles or give a role write access to it")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r, w = b.readers(spec, cap.item_entity), checkout_roles(cap, spec)
    a, i = f"/api/{cap.id}", f"/api/{cap.id}/items/<int:item_id>"
    return [
        Route(method="POST", path=f"{i}/checkout", summary="check an item out to a holder until a due time (409 if held"
              + (f", or if the holder already holds {cap.max_held})" if cap.max_held else ")"), roles=w),
        Route(method="POST", path=f"{i}/checkin", summary="check a held item back in (409 if not held)", roles=w),
        Route(method="GET", path=f"{i}/history", summary="every check-out of an item: who, since, until, returned",
              roles=r),
        Route(method="GET", path=f"{a}/held", summary="items held now, with holder and due time", roles=r),
        Route(method="GET", path=f"{a}/overdue", summary="held items past their due time", roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="who holds what: page with check-out/in forms", roles=r),
        Route(method="POST", path=f"/{cap.id}/items/<int:item_id>/checkout", summary="check out (form, CSRF)", roles=w),
        Route(method="POST", path=f"/{cap.id}/items/<int:item_id>/checkin", summary="check in (form, CSRF)", roles=w),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    item = spec.entity(cap.item_entity)
    holder = spec.entity(cap.holder_entity) if cap.holder_entity else None
    movers = checkout_roles(cap, spec)
    reads_own = {r.name for r in spec.roles if cap.item_entity in r.read_own}
    # the second mover: one that sees every item if there is one; one that sees only its own makes the items
    second = next((r for r in movers if r != "owner" and r not in reads_own),
                  next((r for r in movers if r != "owner"), movers[0]))
    ctx = {
        "item": item, "holder": holder, "movers": movers, "readers": b.readers(spec, cap.item_entity),
        "mover": "owner" if "owner" in movers else movers[0],
        "second_mover": second,
        "second_makes_items": second in reads_own and cap.item_entity in spec.role(second).write,
        "outsider": next((r.name for r in spec.roles if r.name not in movers), None),
        "holder_writer": b.writer_role(spec, cap.holder_entity) if holder else None,
        "display": b.free_text_display(item), "detail": b.detail_path(spec, cap.item_entity),
    }
    d = "capabilities/custody/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
