"""Name-resolution helpers for capability `check`/`routes`/`render` (booking, workflow, ledger, reminders,
custody, rotation). Not a capability kind: `KINDS` does not list it.

Every message is a sentence naming the thing to fix and what would fit, so a planner model can repair it.
"""

from __future__ import annotations

DATE_TYPES = ("date", "datetime")
NUMBER_TYPES = ("integer", "decimal", "money")


def entity_problem(spec, name: str, what: str) -> str | None:
    """None when `name` is an entity of the spec, else the sentence saying so."""
    if spec.entity(name) is not None:
        return None
    return f"{what} {name!r} is not an entity of the spec; known entities: {sorted(e.name for e in spec.entities)}"


def field_problem(spec, entity: str, name: str | None, what: str, types: tuple[str, ...],
                  ref: str | None = None) -> str | None:
    """None when `entity.name` exists with one of `types` (and, for references, points at `ref`)."""
    ent = spec.entity(entity)
    if ent is None or name is None:
        return None
    f = ent.field(name)
    fitting = sorted(x.name for x in ent.fields if x.type in types and (ref is None or x.ref == ref))
    hint = f"; fitting fields of {entity}: {fitting}" if fitting else f"; add a {'/'.join(types)} field to {entity}"
    if f is None:
        return f"{what} {name!r} is not a field of {entity!r}{hint}"
    if f.type not in types:
        return f"{what} {entity}.{name} is a {f.type} field but must be {' or '.join(types)}{hint}"
    if ref is not None and f.ref != ref:
        return f"{what} {entity}.{name} references {f.ref!r} but must reference {ref!r}{hint}"
    return None


def role_problem(spec, name: str, what: str) -> str | None:
    if spec.role(name) is not None:
        return None
    return f"{what} {name!r} is not a role of the spec; known roles: {[r.name for r in spec.roles]}"


def readers(spec, entity: str) -> list[str]:
    """Roles (spec order) that may read `entity` (writing implies reading)."""
    return [r.name for r in spec.roles if entity in r.read or entity in r.write]


def own_readers(spec, entity: str) -> list[str]:
    """Roles (spec order) that read `entity` only where the row is their own (read_own)."""
    return [r.name for r in spec.roles if entity in r.read_own]


def writers(spec, entity: str) -> list[str]:
    """Roles (spec order) that may create/edit/delete `entity`."""
    return [r.name for r in spec.roles if entity in r.write]


def writer_role(spec, entity: str) -> str | None:
    """The role generated tests act as when they write `entity`: the owner when it may, else the first writer."""
    ws = writers(spec, entity)
    if not ws:
        return None
    return "owner" if "owner" in ws else ws[0]


def non_writer_role(spec, entity: str) -> str | None:
    """A role that may read but not write `entity` (for wrong-role abuse tests), else any non-writer role."""
    ws = set(writers(spec, entity))
    rs = readers(spec, entity)
    for r in spec.roles:
        if r.name in rs and r.name not in ws:
            return r.name
    for r in spec.roles:
        if r.name not in ws:
            return r.name
    return None


def no_writer_problem(spec, entity: str, what: str) -> str | None:
    if spec.entity(entity) is None or writers(spec, entity):
        return None
    return f"no role may write {what} {entity!r}; add it to some role's 'write' list (e.g. owner)"


def detail_path(spec, entity: str) -> str | None:
    """The spec's detail page path for `entity` with `{id}` where the record id goes, or None."""
    for pg in spec.pages:
        if pg.kind == "detail" and pg.entity == entity and "<" in pg.path:
            head, rest = pg.path.split("<", 1)
            tail = rest.split(">", 1)[1] if ">" in rest else ""
            return head + "{id}" + tail
    return None


def non_reader_role(spec, entity: str) -> str | None:
    """A role that may not read `entity` (for wrong-role abuse tests), or None when every role may."""
    rs = set(readers(spec, entity))
    return next((r.name for r in spec.roles if r.name not in rs), None)


def free_text_display(ent) -> str | None:
    """The entity's display field when tests may put any short text in it (not an enum, email, url...)."""
    f = ent.field(ent.display_field)
    if f is None or f.type not in ("text", "long_text") or (f.max is not None and f.max < 24):
        return None
    return f.name


def sibling_room(spec, entity: str, parent_field: str) -> int | None:
    """How many rows of `entity` one parent may hold under the spec's `limit` capabilities on the same link (a
    constant count, whatever the period or status), or None when nothing limits them: tests of other capabilities
    that make many siblings stay inside it."""
    room = [c.max for c in spec.capabilities if c.kind == "limit" and c.entity == entity
            and c.parent_field == parent_field and c.max is not None and c.sum_field is None]
    return min(room) if room else None
