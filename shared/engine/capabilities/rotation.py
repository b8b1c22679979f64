"""Capability `rotation`: Recurring work assigned round-robin or least-loaded among members; swaps recorded."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "rotation"


class Params(CapabilityBase):
    kind: Literal["rotation"] = "rotation"
    entity: Name = Field(description="the recurring work, e.g. shift or chore")
    assignee_field: Name = Field(description="reference field on `entity` to `member_entity`")
    member_entity: Name
    strategy: Literal["round_robin", "least_loaded"] = "round_robin"
    swap_requires_role: Name | None = Field(default=None, description=(
        "role that must approve a swap, e.g. coordinator; without one a swap the holder asks for applies at once"))
    date_field: Name | None = Field(default=None, description="date/datetime field on `entity`: assignment order "
                                    "(earliest first) and the date a repeat shifts, e.g. shift date")


PACKAGES: list[str] = []


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "entity"),
        b.entity_problem(spec, cap.member_entity, "member_entity"),
        b.field_problem(spec, cap.entity, cap.assignee_field, "assignee_field", ("reference",), ref=cap.member_entity),
        b.field_problem(spec, cap.entity, cap.date_field, "date_field", ("date", "datetime")),
        b.role_problem(spec, cap.swap_requires_role, "swap_requires_role") if cap.swap_requires_role else None,
        b.no_writer_problem(spec, cap.entity, "entity"),
    ) if m]
    twins = [c.id for c in spec.capabilities if c.kind == "rotation" and c.id != cap.id
             and c.entity == cap.entity and c.assignee_field == cap.assignee_field]
    if twins:
        p.append(f"{cap.entity}.{cap.assignee_field} is already assigned by rotation {twins[0]!r}; keep one rota "
                 f"per assignee field")
    ent = spec.entity(cap.entity)
    f = ent.field(cap.assignee_field) if ent else None
    if f is not None and f.required:
        p.append(f"{cap.entity}.{cap.assignee_field} is required, but work starts unassigned until the rotation "
                 f"assigns it; make the field optional")
    if cap.entity == cap.member_entity:
        p.append(f"entity and member_entity are both {cap.entity!r}; the work and the people doing it differ")
    return p


def requesters(cap: Params, spec) -> list[str]:
    """Roles that may ask for a swap: readers of the work when someone approves swaps, else only its writers. Within
    them only the current holder of the duty may ask (or a role that manages users): see `holder_email`."""
    from . import _bind as b
    return b.readers(spec, cap.entity) if cap.swap_requires_role else b.writers(spec, cap.entity)


def holder_email(cap: Params, spec) -> str | None:
    """How the app knows who holds a duty: the member record's email field (the holder signs in with it), or,
    when the member entity has none, None: the account that created the member record holds its duties."""
    from ..appspec.model import person_email_field
    member = spec.entity(cap.member_entity)
    return person_email_field(member) if member is not None else None


def deciders(cap: Params, spec) -> list[str]:
    """Who decides swaps: the approver role, and every role that manages users (the owner is the superuser)."""
    return [r.name for r in spec.roles if r.name == cap.swap_requires_role or r.manage_users]


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r, w = b.readers(spec, cap.entity), b.writers(spec, cap.entity)
    a = f"/api/{cap.id}"
    out = [
        Route(method="POST", path=f"{a}/assign", summary=f"assign unassigned work ({cap.strategy.replace('_', '-')})",
              roles=w),
        Route(method="GET", path=f"{a}/load", summary="how much work each member has", roles=r),
        Route(method="GET", path=f"{a}/swaps", summary="swap requests and their outcome", roles=r),
        Route(method="POST", path=f"{a}/swaps", summary="swap two assignments or hand one over"
              + (f" (needs {cap.swap_requires_role} approval)" if cap.swap_requires_role else ""),
              roles=requesters(cap, spec)),
    ]
    if cap.swap_requires_role:
        for verb in ("approve", "reject"):
            out.append(Route(method="POST", path=f"{a}/swaps/<int:swap_id>/{verb}", summary=f"{verb} a pending swap",
                             roles=deciders(cap, spec)))
    if cap.date_field:
        out.append(Route(method="POST", path=f"{a}/repeat/<int:row_id>",
                         summary="repeat a piece of work every N days and assign the copies", roles=w))
    out.append(Route(method="GET", path=f"/{cap.id}/", summary="rota page: assignments, load, swaps", roles=r))
    out.append(Route(method="POST", path=f"/{cap.id}/assign", summary="assign unassigned work (form, CSRF)", roles=w))
    out.append(Route(method="POST", path=f"/{cap.id}/swaps/<int:swap_id>/<decision>",
                     summary="approve or reject a swap (form, CSRF)",
                     roles=deciders(cap, spec) if cap.swap_requires_role else w))
    return out


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    ent, member = spec.entity(cap.entity), spec.entity(cap.member_entity)
    asks = requesters(cap, spec)
    ctx = {
        "ent": ent, "member": member, "writer": b.writer_role(spec, cap.entity),
        "member_writer": b.writer_role(spec, cap.member_entity) or "owner",
        "requester": next((x for x in asks if x != cap.swap_requires_role and x != "owner"), asks[0] if asks else None),
        "outsider": b.non_writer_role(spec, cap.entity),
        "non_approver": next((r.name for r in spec.roles if r.name not in deciders(cap, spec)), None),
        "date_type": ent.field(cap.date_field).type if cap.date_field else None,
        "display": b.free_text_display(ent), "detail": b.detail_path(spec, cap.entity),
        "unique": [f.name for f in ent.fields if f.unique], "requesters": asks,
        "copy_fields": [f.name for f in ent.fields if f.type != "file" and not f.unique
                        and f.name not in (cap.assignee_field, cap.date_field)],
        "unique_required": [f.name for f in ent.fields if f.unique and f.required],
        "holder_email": holder_email(cap, spec),
    }
    d = "capabilities/rotation/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): a user who may ask for swaps
    but does not hold a duty asks to move it to another member (403), and the duty stays where it was."""
    from ..criteria import a
    from ..exploits import attack

    role = next((r for r in requesters(cap, spec) if r != "owner" and not spec.role(r).manage_users), None)
    if role is None:
        return []
    ent, member = spec.entity(cap.entity), spec.entity(cap.member_entity)
    p = attack(spec, f"rotation_swap_by_non_holder:{cap.id}", f"Only the holder of {a(ent.label.lower())} (or the "
                                                              f"owner) can ask to swap it: nobody moves another's duty.")
    holder = p.make(cap.member_entity, None, note=f"the owner adds {a(member.label.lower())} who holds the duty")
    other = p.make(cap.member_entity, None, note=f"and another {member.label.lower()}")
    work = p.make(cap.entity, None, overrides={cap.assignee_field: f"${{{holder}.id}}"},
                  note=f"{a(ent.label.lower())} assigned to the first")
    stranger = p.actor(role, "stranger")
    p.step(stranger, "POST", f"/api/{cap.id}/swaps", json={"work_id": f"${{{work}.id}}",
                                                          "to_member_id": f"${{{other}.id}}"}, expect=403,
           note=f"a {role} who does not hold it asks to move it to the other {member.label.lower()}")
    p.step("owner", "GET", f"/api/{ent.plural}/${{{work}.id}}", note="it is still the first's",
           checks=[{"path": cap.assignee_field, "op": "eq", "value": f"${{{holder}.id}}"}])
    return [p.scenario]
