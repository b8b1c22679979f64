"""Capability `selection`: Among sibling records sharing a parent, choosing one declines the others in one transaction; a second choice, or a late sibling, is refused."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "selection"


class Params(CapabilityBase):
    kind: Literal["selection"] = "selection"
    entity: Name = Field(description="the records one is chosen among (quotes, applicants, proposals)")
    parent_field: Name = Field(description="reference field on `entity`: rows with the same parent are siblings")
    state_field: Name = Field(description="enum field on `entity` holding the state")
    open_values: list[Name] = Field(min_length=1, description="states a row can still be chosen in; a new row "
                                    "starts in the first")
    chosen_value: Name = Field(description="the state of the chosen row, e.g. accepted")
    declined_value: Name = Field(description="the state the open siblings take when one is chosen, e.g. declined")
    roles: list[Name] = Field(default_factory=list, description="roles that may choose; empty = the roles that may "
                              "write the parent (and read `entity`), plus the owner")
    notify: bool = Field(default=True, description="tell each declined row's creator (an entry in the outbox)")


PACKAGES: list[str] = []


def parent_entity(cap: Params, spec) -> str | None:
    """The entity `parent_field` references, or None when it does not resolve to a reference."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.parent_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def choosers(cap: Params, spec) -> list[str]:
    """Roles (spec order) that may choose: `roles`, or the owner and the roles that may write the parent and read
    the rows chosen among."""
    from . import _bind as b

    if cap.roles:
        return list(cap.roles)
    parent = parent_entity(cap, spec)
    readers = set(b.readers(spec, cap.entity))
    writers = set(b.writers(spec, parent)) if parent else set()
    return [r.name for r in spec.roles if r.name == "owner" or (r.name in writers and r.name in readers)]


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    room = b.sibling_room(spec, cap.entity, cap.parent_field)
    if room is not None and room < 3:
        return [f"a limit lets one parent hold only {room} {cap.entity} rows; choosing one of them and declining the "
                f"others needs room for at least three"]
    p = [m for m in (b.entity_problem(spec, cap.entity, "entity"),
                     b.field_problem(spec, cap.entity, cap.parent_field, "parent_field", ("reference",)),
                     b.field_problem(spec, cap.entity, cap.state_field, "state_field", ("enum",)),
                     b.no_writer_problem(spec, cap.entity, "entity"),
                     *(b.role_problem(spec, r, "role") for r in cap.roles)) if m]
    ent = spec.entity(cap.entity)
    if ent is None:
        return p
    pf, sf = ent.field(cap.parent_field), ent.field(cap.state_field)
    parent = parent_entity(cap, spec)
    if parent == cap.entity:
        p.append(f"{cap.entity}.{cap.parent_field} references {cap.entity} itself; siblings share a parent of "
                 f"another entity (the job the quotes are for)")
    if pf is not None and pf.type == "reference" and not pf.required:
        p.append(f"{cap.entity}.{cap.parent_field} must be required: a {cap.entity} without a {pf.ref} has no "
                 f"siblings to decline; set required to true")
    if sf is not None and sf.type == "enum":
        named = [*cap.open_values, cap.chosen_value, cap.declined_value]
        extra = list(dict.fromkeys(v for v in named if v not in sf.values))
        if extra:
            p.append(f"values {extra} are not values of the enum {cap.entity}.{cap.state_field} ({sf.values}); add "
                     f"them to the field's values or choose among them")
        if sf.default is not None and sf.default not in cap.open_values:
            p.append(f"{cap.entity}.{cap.state_field} has default {sf.default!r}, which is not an open value "
                     f"{cap.open_values}; a new {cap.entity} starts as {cap.open_values[0]!r}: set that default")
        if ent.display_field == sf.name:
            p.append(f"{cap.entity}.{cap.state_field} is the entity's display field; show a text field (the "
                     f"{cap.entity}'s title) instead")
    if len(set(cap.open_values)) != len(cap.open_values):
        p.append(f"open_values {cap.open_values} list a value twice")
    if cap.chosen_value == cap.declined_value:
        p.append(f"chosen_value and declined_value are both {cap.chosen_value!r}; a chosen row and its declined "
                 f"siblings need different states")
    for name, value in (("chosen_value", cap.chosen_value), ("declined_value", cap.declined_value)):
        if value in cap.open_values:
            p.append(f"{name} {value!r} is also an open value; drop it from open_values {cap.open_values}")
    twins = [c.id for c in spec.capabilities if c.id != cap.id and c.kind in ("selection", "workflow")
             and getattr(c, "entity", None) == cap.entity and getattr(c, "state_field", None) == cap.state_field]
    if twins:
        p.append(f"{cap.entity}.{cap.state_field} is already driven by capability {twins[0]!r}; give this one its "
                 f"own state field or merge them")
    for r in spec.roles:
        if r.name in choosers(cap, spec) and r.scope == "own" and parent and parent not in r.write:
            p.append(f"role {r.name!r} has scope 'own', so it may choose only among the {ent.plural} of a "
                     f"{parent} it created, but it may not create a {parent}; give it write access to {parent!r} "
                     f"or scope 'all'")
    if parent and not choosers(cap, spec):
        p.append(f"no role may choose a {cap.entity}: set roles")
    return p


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """The state field is the selection's: a new row always starts in the first open value (compiler hook)."""
    return {(cap.entity, cap.state_field): cap.open_values[0]}


def _page_readers(cap: Params, spec) -> list[str]:
    """Roles that may see the siblings and their parents (both entities readable)."""
    from . import _bind as b

    parent = set(b.readers(spec, parent_entity(cap, spec) or cap.entity))
    return [r for r in b.readers(spec, cap.entity) if r in parent]


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route

    r, c, a = _page_readers(cap, spec), choosers(cap, spec), f"/api/{cap.id}"
    return [
        Route(method="POST", path=f"{a}/records/<int:record_id>/select",
              summary=f"choose this row: it becomes {cap.chosen_value}, its open siblings {cap.declined_value} "
                      f"(409 when one is already chosen)", roles=c),
        Route(method="GET", path=f"{a}/parents/<int:parent_id>",
              summary="the siblings of one parent with their states, and which one is chosen", roles=r),
        Route(method="GET", path=f"{a}/outbox", summary="messages to the creators of declined rows", roles=["owner"]),
        Route(method="GET", path=f"/{cap.id}/", summary="parents and their siblings, with a Select button", roles=r),
        Route(method="POST", path=f"/{cap.id}/records/<int:record_id>/select", summary="choose a row (form, CSRF)",
              roles=c),
    ]


def _outsider(spec, entity: str, movers: list[str]) -> str | None:
    """A role that may not choose, for the wrong-role test: one that reads the rows and is not the owner first."""
    from . import _bind as b

    others = [r.name for r in spec.roles if r.name not in movers]
    readers = b.readers(spec, entity)
    return next((r for r in others if r in readers and r != "owner"), None) or next(
        (r for r in others if r != "owner"), None) or next(iter(others), None)


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    parent = spec.entity(parent_entity(cap, spec))
    movers = choosers(cap, spec)
    own = {r.name for r in spec.roles if r.scope == "own"}
    chooser = next((r for r in movers if r != "owner"), movers[0])
    writers = b.writers(spec, cap.entity)
    ctx = {
        "ent": ent, "parent": parent, "choosers": movers, "own_roles": sorted(own & set(movers)),
        "chooser": chooser, "chooser_is_own": chooser in own,
        # the chooser creates the parents when it may (a role with scope "own" chooses only among its own)
        "parent_maker": chooser if chooser in b.writers(spec, parent.name) else "owner",
        "maker": next((r for r in writers if r != "owner"), writers[0] if writers else "owner"),
        "outsider": _outsider(spec, cap.entity, movers),
        "display": b.free_text_display(ent), "detail": b.detail_path(spec, cap.entity),
        "parent_detail": b.detail_path(spec, parent.name), "readers": _page_readers(cap, spec),
        "racers": min(8, b.sibling_room(spec, cap.entity, cap.parent_field) or 8),
    }
    d = "capabilities/selection/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
