"""Capability `enrolment`: People sign themselves up for a record (a shift, a session, a trip, a course) — a sign-up joins their own person record to it, once; they cancel their own; a manager adds or removes anyone; a capacity refuses the sign-up past it.

Use `enrolment` when many people each take a place on a record that holds many people ("volunteers sign up for
shifts", "passengers book a seat on a trip", "students enrol in a course", "RSVP to an event"): the record is not
booked for a time window (that is `booking`), nor handed to one person (that is `assignment` or `custody`); the
seat, place or spot is a unit of its capacity, never a record of its own. A `limit` on the same sign-ups per record
enforces the capacity itself; the enrolment then reads that limit's number (decision 0046).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "enrolment"

#: a capacity above this is none a test can fill (the generated tests sign up that many people)
MAX_CAPACITY = 500


class Params(CapabilityBase):
    kind: Literal["enrolment"] = "enrolment"
    entity: Name = Field(description="the sign-ups: a join entity with a reference to the record and one to the "
                                     "person, linked once per pair, e.g. shift_volunteer")
    record_field: Name = Field(description="reference field on `entity` to the record signed up for, e.g. shift_id")
    person_field: Name = Field(description="reference field on `entity` to the person who signs up, e.g. "
                                           "volunteer_id")
    person_email_field: Name = Field(description="email field of the person entity: the signed-in user's own "
                                                 "person record is the one with their sign-in email, e.g. email")
    max: int | None = Field(default=None, ge=1, le=MAX_CAPACITY, description="the capacity, one number for every "
                            "record (\"no more than 12 passengers\"); or set max_field; neither = no capacity")
    max_field: Name | None = Field(default=None, description="integer field on the record holding its own "
                                   "capacity, e.g. seats, capacity, places (empty: no capacity)")
    member_roles: list[Name] = Field(default_factory=list, description="roles that sign themselves up; empty = "
                                     "every role that may read the record")
    manager_roles: list[Name] = Field(default_factory=list, description="roles that may sign anyone up and remove "
                                      "anyone's sign-up (the owner always may), e.g. ['coordinator']")


PACKAGES: list[str] = []


def record_entity(cap: Params, spec) -> str | None:
    ent = spec.entity(cap.entity)
    f = ent.field(cap.record_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def person_entity(cap: Params, spec) -> str | None:
    ent = spec.entity(cap.entity)
    f = ent.field(cap.person_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def members(cap: Params, spec) -> list[str]:
    """Roles (spec order) that sign themselves up."""
    from . import _bind as b

    rec = record_entity(cap, spec)
    return list(cap.member_roles) if cap.member_roles else (b.readers(spec, rec) if rec else [])


def managers(cap: Params, spec) -> list[str]:
    """Roles (spec order) that add or remove anyone's sign-up: the owner and `manager_roles`."""
    return [r.name for r in spec.roles if r.name == "owner" or r.name in cap.manager_roles]


def composing_limit(cap: Params, spec):
    """The `limit` capability that already holds the count of these sign-ups per record, or None. When there is
    one it enforces the capacity (its own hook, 409 limit_reached) and the enrolment only reads its number."""
    return next((c for c in spec.capabilities if c.kind == "limit" and c.entity == cap.entity
                 and getattr(c, "scope", "parent") == "parent" and c.parent_field == cap.record_field
                 and c.sum_field is None and c.period is None and c.where_field is None), None)


def capacity(cap: Params, spec) -> tuple[int | None, str | None, str | None]:
    """(max, max_field, enforced by): the capacity the sign-ups are held to and who holds it — "enrolment", the
    id of the composing limit, or None when there is no capacity."""
    lim = composing_limit(cap, spec)
    if lim is not None:
        return lim.max, lim.max_field, lim.id
    if cap.max is not None or cap.max_field:
        return cap.max, cap.max_field, "enrolment"
    return None, None, None


def check(cap: Params, spec) -> list[str]:
    from ..compiler import link_pairs
    from . import _bind as b

    rec, person = record_entity(cap, spec), person_entity(cap, spec)
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "sign-up entity"),
        b.field_problem(spec, cap.entity, cap.record_field, "record_field", ("reference",)),
        b.field_problem(spec, cap.entity, cap.person_field, "person_field", ("reference",)),
        b.field_problem(spec, person, cap.person_email_field, "person_email_field", ("email",)) if person else None,
        b.field_problem(spec, rec, cap.max_field, "max_field", ("integer",)) if rec and cap.max_field else None,
        *(b.role_problem(spec, r, "member role") for r in cap.member_roles),
        *(b.role_problem(spec, r, "manager role") for r in cap.manager_roles),
    ) if m]
    ent = spec.entity(cap.entity)
    if ent is None or rec is None or person is None:
        return p
    if rec == person:
        p.append(f"record_field and person_field both reference {rec!r}; a sign-up joins a person to another record")
    if cap.record_field == cap.person_field:
        p.append("record_field and person_field are the same field")
    pairs = link_pairs(spec).get(cap.entity, [])
    if not any(set(pair) == {cap.record_field, cap.person_field} for pair in pairs):
        p.append(f"{cap.entity} is not the join (`through`) of a many_to_many relation between {rec!r} and "
                 f"{person!r}, so nothing would link each person to a {rec} only once; add that relation")
    if cap.max is not None and cap.max_field:
        p.append("set at most one of max (one number for every record) and max_field (each record's own capacity)")
    lim = composing_limit(cap, spec)
    if lim is not None and (cap.max is not None or cap.max_field):
        p.append(f"limit {lim.id!r} already holds the count of {cap.entity} per {rec}; drop max/max_field here, the "
                 f"enrolment reads the limit's number")
    mf = spec.entity(rec).field(cap.max_field) if cap.max_field and spec.entity(rec) else None
    if mf is not None and mf.type == "integer" and mf.min is not None and mf.min < 0:
        p.append(f"max_field {rec}.{mf.name} may be negative (min {mf.min:g}); set its min to 0 or more")
    if not members(cap, spec):
        p.append(f"no role may sign up for a {rec}: let a role read {rec!r}, or set member_roles")
    readers = set(b.readers(spec, rec))
    for r in cap.member_roles:
        if spec.role(r) is not None and r not in readers:
            p.append(f"member role {r!r} may not read {rec!r}, so it could not see what it signs up for")
    direct = [r for r in b.writers(spec, cap.entity) if r not in managers(cap, spec)]
    if direct:
        p.append(f"role {direct[0]!r} may write {cap.entity!r} through the generic API but is no manager; leave "
                 f"{cap.entity!r} out of its write list (members sign up through this capability's routes, as "
                 f"themselves) or list it in manager_roles")
    if not b.writers(spec, rec):
        p.append(f"no role may create {rec!r}, so there would be nothing to sign up for")
    twins = [c.id for c in spec.capabilities if c.id != cap.id and c.kind == "enrolment" and c.entity == cap.entity]
    if twins:
        p.append(f"{cap.entity!r} already has sign-ups from capability {twins[0]!r}; keep one per join")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b

    rec = record_entity(cap, spec) or cap.entity
    r, m, a = b.readers(spec, rec), sorted(set(members(cap, spec)) | set(managers(cap, spec)),
                                          key=[x.name for x in spec.roles].index), f"/api/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/records", summary="records with places taken, capacity, places left and "
              "whether I am signed up (page=, per_page=)", roles=r),
        Route(method="GET", path=f"{a}/records/<int:record_id>", summary="one record's places and, to roles that "
              "may see the sign-ups, who signed up", roles=r),
        Route(method="POST", path=f"{a}/records/<int:record_id>/sign-up", summary="sign me up (a manager: JSON "
              "person_id signs that person up); 409 when already signed up or full", roles=m),
        Route(method="DELETE", path=f"{a}/records/<int:record_id>/sign-up", summary="cancel my sign-up", roles=m),
        Route(method="DELETE", path=f"{a}/sign-ups/<int:sign_up_id>", summary="remove a sign-up: my own, or anyone's "
              "for a manager", roles=m),
        Route(method="GET", path=f"{a}/mine", summary="my sign-ups", roles=m),
        Route(method="GET", path=f"/{cap.id}/", summary="page: records with places left, sign-up and cancel "
              "buttons, and my sign-ups", roles=r),
        Route(method="POST", path=f"/{cap.id}/records/<int:record_id>", summary="sign-up form (action sign_up or "
              "cancel; CSRF)", roles=m),
    ]


def describe_rule(cap: Params, spec) -> str:
    """The rules in the spec's nouns, lower case: "each volunteer signs up for a shift once, only as themselves;
    at most 12 per trip"."""
    rec, person = spec.entity(record_entity(cap, spec) or ""), spec.entity(person_entity(cap, spec) or "")
    one = rec.label.lower() if rec else cap.record_field
    who = person.label.lower() if person else cap.person_field
    many = person.label_plural.lower() if person else who + "s"
    parts = [f"each {who} signs up for a {one} once, only as themselves (managers may add anyone)"]
    n, field, _by = capacity(cap, spec)
    if n is not None:
        parts.append(f"at most {n} {many} per {one}")
    elif field:
        f = rec.field(field) if rec else None
        parts.append(f"no more {many} per {one} than its {(f.label if f else field).lower()}")
    return "; ".join(parts)


def roles_for_tests(cap: Params, spec) -> dict:
    """Roles the generated tests and criteria act as: `member` signs itself up (not a manager when another role
    may), `manager` adds anyone, `maker` creates the records and the people, `outsider` reads but may not sign up."""
    from . import _bind as b

    mem, man = members(cap, spec), managers(cap, spec)
    rec, person = record_entity(cap, spec), person_entity(cap, spec)
    member = next((x for x in mem if x not in man), None) or (mem[0] if mem else "owner")
    manager = next((x for x in man if x != "owner"), "owner")
    maker = b.writer_role(spec, rec) if rec else "owner"
    return {"member": member, "manager": manager, "maker": maker or "owner",
            "person_maker": (b.writer_role(spec, person) if person else None) or "owner",
            "outsider": next((x for x in b.readers(spec, rec or "") if x not in mem and x not in man), None)}


def sample_capacity(cap: Params, spec) -> int | None:
    """The capacity the tests fill: the number, or 2 in the record's capacity field."""
    n, field, _by = capacity(cap, spec)
    if n is not None:
        return n
    return 2 if field else None


def person_fill(cap: Params, spec) -> list[str] | None:
    """The person record's fields a first sign-up fills (text fields: the name part of the sign-in email), or None
    when it needs more than a name and the email (then a manager adds the person first)."""
    person = spec.entity(person_entity(cap, spec) or "")
    if person is None:
        return None
    need = [f for f in person.fields if f.required and f.name != cap.person_email_field and f.default is None]
    if any(f.type not in ("text", "long_text") or f.unique for f in need):
        return None
    names = [f.name for f in need]
    shown = person.field(person.display_field)
    if shown is not None and shown.type in ("text", "long_text") and not shown.unique and shown.name not in names \
            and shown.name != cap.person_email_field:
        names.append(shown.name)
    return names


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    rec, person = spec.entity(record_entity(cap, spec)), spec.entity(person_entity(cap, spec))
    n, field, by = capacity(cap, spec)
    ctx = {"ent": spec.entity(cap.entity), "rec": rec, "person": person, "members": members(cap, spec),
           "managers": managers(cap, spec), "rule_text": describe_rule(cap, spec), "cap_max": n, "cap_field": field,
           "enforced_by": by, "fill": sample_capacity(cap, spec), "detail": b.detail_path(spec, rec.name),
           "display": b.free_text_display(rec), "person_display": person.display_field,
           "person_fill": person_fill(cap, spec),
           "join_fill": [f.name for f in spec.entity(cap.entity).fields if f.required and f.default is None
                         and f.type in ("text", "long_text") and f.name not in (cap.record_field, cap.person_field)],
           "people_readers": [r.name for r in spec.roles if cap.entity in r.read + r.write
                              and cap.entity not in r.read_own and person.name in r.read + r.write],
           **roles_for_tests(cap, spec)}
    d = "capabilities/enrolment/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
