"""Name resolution shared by the capability modules audit_log, search, checklist, attachments, public_page,
versioning and live_board: sentences a model (or a person) can act on, and the roles a route admits."""

from __future__ import annotations

from collections.abc import Iterable


def entity_problems(spec, name: str, what: str = "entity") -> list[str]:
    if spec.entity(name) is None:
        return [f"{what} {name!r} is not an entity of the spec; use one of {sorted(e.name for e in spec.entities)}"]
    return []


def field_problems(spec, entity: str, names: Iterable[str], types: tuple[str, ...], what: str) -> list[str]:
    """Each name must be a field of `entity` whose type is one of `types`."""
    ent = spec.entity(entity)
    if ent is None:
        return []
    out: list[str] = []
    for n in names:
        f = ent.field(n)
        if f is None:
            out.append(f"{what} {n!r} is not a field of {entity!r}; its fields are "
                       f"{sorted(x.name for x in ent.fields)}")
        elif f.type not in types:
            fitting = sorted(x.name for x in ent.fields if x.type in types)
            out.append(f"{what} {n!r} of {entity!r} has type {f.type!r} but must be one of {list(types)}"
                       + (f"; fitting fields: {fitting}" if fitting else f"; add a field of type {types[0]!r}"))
    return out


def duplicates(names: list[str], what: str) -> list[str]:
    return [f"{what} {n!r} is listed twice" for n in sorted({n for n in names if names.count(n) > 1})]


def readers(spec, entity: str) -> list[str]:
    """Roles that may read the entity (writing implies reading), in spec order."""
    return [r.name for r in spec.roles if entity in r.read or entity in r.write]


def full_readers(spec, entity: str) -> list[str]:
    """Readers of the entity that see every row of it (it is not in their read_own), in spec order."""
    return [r.name for r in spec.roles if (entity in r.read or entity in r.write) and entity not in r.read_own]


def own_readers(spec, entity: str) -> list[str]:
    """Roles that read the entity only where the row is their own (read_own), in spec order."""
    return [r.name for r in spec.roles if entity in r.read_own]


def writers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.write]


def readers_any(spec, entities: Iterable[str]) -> list[str]:
    ents = list(entities)
    return [r.name for r in spec.roles if any(e in r.read or e in r.write for e in ents)]


def no_reader_problem(spec, entity: str) -> list[str]:
    if spec.entity(entity) is not None and not readers(spec, entity):
        return [f"no role may read {entity!r}, so nobody could use this capability; add {entity!r} to a role's "
                f"read list"]
    return []
