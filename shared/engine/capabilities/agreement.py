"""Capability `agreement`: A change one person asks for (a new holder, a status) takes effect only when the person the record or the request names agrees; a direct write of the guarded fields is refused with 409."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "agreement"

#: field types a request may change: a reference (who holds it) or an enum (its status)
GUARDED_TYPES = ("reference", "enum")


class Params(CapabilityBase):
    kind: Literal["agreement"] = "agreement"
    entity: Name = Field(description="the records a change is asked for, e.g. shift, plot, bundle, booking")
    fields: list[Name] = Field(min_length=1, max_length=4, description=(
        "reference or enum fields of `entity` that change only when the other person agrees, e.g. ['volunteer_id'] "
        "or ['status']; party_field is always guarded too"))
    party_field: Name = Field(description=(
        "reference field on `entity` to the person entity whose row names the person who must agree, e.g. "
        "volunteer_id, holder_id"))
    party: Literal["new", "current"] = Field(default="new", description=(
        "new: the person the request puts in party_field must agree (a swap, a hand-over, a transfer; asked by the "
        "one who holds it now); current: the person party_field names now must agree (a booking made on their "
        "behalf, a trade asked of the holder; a change of party_field may only name the one who asks)"))
    person_email_field: Name = Field(description=(
        "email field of the person entity (the one party_field references): a person agrees by signing in "
        "with that email, e.g. email"))
    requester_roles: list[Name] = Field(default_factory=list, description=(
        "roles that may ask for a change; empty = every role that may read `entity`"))
    exempt_roles: list[Name] = Field(default_factory=list, description=(
        "roles that may still write the guarded fields directly, e.g. ['coordinator']; empty = nobody, every change "
        "goes through a request"))
    expires_days: int | None = Field(default=14, ge=1, le=365, description=(
        "a pending request expires after this many days unanswered; None = never"))
    notify: bool = Field(default=True, description=(
        "tell the other person (an entry in the outbox) when a request is made, answered or withdrawn"))


PACKAGES: list[str] = []


def person_entity(cap: Params, spec) -> str | None:
    """The entity `party_field` references, or None when it does not resolve to a reference."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.party_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def guarded(cap: Params) -> list[str]:
    """The fields that change only by agreement: `fields`, and party_field (the person who must agree)."""
    return list(dict.fromkeys([*cap.fields, cap.party_field]))


def agreed_only(spec, entity: str, field: str, role: str = "owner") -> bool:
    """Does `field` of `entity` change only by agreement for `role` (a direct write refused with 409)? Other
    capabilities' tests leave such a field as it was made, or make a new record instead of setting it."""
    return any(c.kind == KIND and c.entity == entity and field in guarded(c) and role not in c.exempt_roles
               for c in spec.capabilities)


def requesters(cap: Params, spec) -> list[str]:
    from . import _bind as b

    return list(cap.requester_roles) if cap.requester_roles else b.readers(spec, cap.entity)


def asker_role(cap: Params, spec) -> str | None:
    """The role tests and criteria ask (and are asked) as: a requester that is neither exempt nor the owner, one that
    may not write the records first (the people who hold them, rather than those who manage them)."""
    from . import _bind as b

    ask = [r for r in requesters(cap, spec) if r not in cap.exempt_roles and r != "owner"]
    writers = b.writers(spec, cap.entity)
    return next((r for r in ask if r not in writers), None) or next(iter(ask), None)


def _field_problems(cap: Params, spec, person: str | None) -> list[str]:
    ent = spec.entity(cap.entity)
    if ent is None:
        return []
    p = []
    for name in cap.fields:
        f = ent.field(name)
        if f is None:
            fitting = sorted(x.name for x in ent.fields if x.type in GUARDED_TYPES)
            p.append(f"fields: {name!r} is not a field of {cap.entity!r}; its reference and enum fields: {fitting}")
        elif f.type not in GUARDED_TYPES:
            p.append(f"fields: {cap.entity}.{name} is a {f.type} field; a request changes a reference (who holds "
                     f"it) or an enum (its status)")
        elif f.type == "enum" and f.default is None and f.required:
            p.append(f"fields: {cap.entity}.{name} is a required enum without a default; give it a default, the "
                     f"value a new {cap.entity} starts with before anyone agrees to change it")
        if f is not None and f.name == ent.display_field:
            p.append(f"fields: {cap.entity}.{name} is the display field; show a text field instead")
    if len(set(cap.fields)) != len(cap.fields):
        p.append(f"fields {cap.fields} list a field twice")
    pe = spec.entity(person) if person else None
    if pe is not None:
        if person == cap.entity:
            p.append(f"{cap.entity}.{cap.party_field} references {cap.entity} itself; it must name a person (a "
                     f"member, a volunteer)")
    return p


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    person = person_entity(cap, spec)
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "entity"),
        b.field_problem(spec, cap.entity, cap.party_field, "party_field", ("reference",)),
        b.field_problem(spec, person, cap.person_email_field, "person_email_field", ("email",)) if person else None,
        b.no_writer_problem(spec, cap.entity, "entity"),
        b.no_writer_problem(spec, person, "person entity") if person else None,
        *(b.role_problem(spec, r, "requester role") for r in cap.requester_roles),
        *(b.role_problem(spec, r, "exempt role") for r in cap.exempt_roles),
    ) if m]
    p += _field_problems(cap, spec, person)
    if cap.party == "new" and cap.party_field not in cap.fields:
        p.append(f"party 'new' means the person a request puts in {cap.party_field} must agree, so fields must "
                 f"include {cap.party_field!r}")
    twins = [c.id for c in spec.capabilities if c.id != cap.id and c.kind == "agreement" and c.entity == cap.entity
             and set(guarded(c)) & set(guarded(cap))]
    if twins:
        p.append(f"{cap.entity} fields {sorted(set(guarded(cap)))} are already guarded by agreement {twins[0]!r}; "
                 f"keep one agreement per field")
    drivers = [c.id for c in spec.capabilities if c.kind in ("workflow", "selection", "rotation")
               and getattr(c, "entity", None) == cap.entity
               and {getattr(c, "state_field", None), getattr(c, "assignee_field", None)} & set(guarded(cap))]
    if drivers:
        p.append(f"a guarded field of {cap.entity} is also set by capability {drivers[0]!r}; a field changes either "
                 f"by agreement or by that capability, not both")
    if spec.entity(cap.entity) is not None and asker_role(cap, spec) is None:
        p.append(f"no role but the owner (or an exempt role) may ask for a change of a {cap.entity}; let the people "
                 f"who hold them read {cap.entity!r}, or set requester_roles")
    if set(cap.exempt_roles) >= {r.name for r in spec.roles}:
        p.append("every role is exempt, so no change would ever need agreement; exempt fewer roles")
    return p


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """A new row's guarded enum fields start at their default (compiler hook): only an agreement changes them."""
    ent = spec.entity(cap.entity)
    out = {}
    for name in cap.fields:
        f = ent.field(name) if ent is not None else None
        if f is not None and f.type == "enum" and name != cap.party_field:
            out[(cap.entity, name)] = f.default
    return out


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route

    ask, everyone, a = requesters(cap, spec), [r.name for r in spec.roles], f"/api/{cap.id}"
    return [
        Route(method="POST", path=f"{a}/requests", summary=f"ask for a change of a {cap.entity} (record_id, changes); "
              "it waits for the other person's agreement", roles=ask),
        Route(method="GET", path=f"{a}/requests", summary="my requests: those waiting for my agreement (to_agree) "
              "and those I asked (asked)", roles=everyone),
        Route(method="GET", path=f"{a}/requests/<int:request_id>", summary="one request (its asker, the person "
              "who must agree, or a user manager)", roles=everyone),
        Route(method="POST", path=f"{a}/requests/<int:request_id>/accept", summary="agree: the change is applied "
              "if the record is unchanged since the request (409 stale otherwise)", roles=everyone),
        Route(method="POST", path=f"{a}/requests/<int:request_id>/decline", summary="refuse the change",
              roles=everyone),
        Route(method="POST", path=f"{a}/requests/<int:request_id>/withdraw", summary="the asker takes it back",
              roles=ask),
        Route(method="GET", path=f"{a}/outbox", summary="messages to the people asked and the askers",
              roles=[r.name for r in spec.roles if r.manage_users]),
        Route(method="GET", path=f"/{cap.id}/", summary="page: requests waiting for me and those I asked",
              roles=everyone),
        Route(method="POST", path=f"/{cap.id}/requests", summary="ask for a change (form, CSRF)", roles=ask),
        Route(method="POST", path=f"/{cap.id}/requests/<int:request_id>/<action>",
              summary="accept, decline or withdraw (form, CSRF)", roles=everyone),
    ]


def describe_rule(cap: Params, spec) -> str:
    """The rule in the spec's nouns: "a change of a shift's volunteer takes effect only when the new volunteer
    agrees"."""
    ent = spec.entity(cap.entity)
    label = ent.label.lower() if ent else cap.entity.replace("_", " ")
    names = []
    for name in cap.fields:
        f = ent.field(name) if ent else None
        names.append((f.label if f else name).lower().removesuffix(" id"))
    pf = ent.field(cap.party_field) if ent else None
    who = (pf.label if pf else cap.party_field).lower().removesuffix(" id")
    which = "new" if cap.party == "new" else "current"
    return f"a change of a {label}'s {' and '.join(names)} takes effect only when the {which} {who} agrees"


def _samples(cap: Params, spec) -> dict:
    """Values the generated tests put in a request: {field: value} for the guarded enum fields (a value other than
    the default), references are filled with people at test time."""
    ent = spec.entity(cap.entity)
    out = {}
    for name in cap.fields:
        f = ent.field(name)
        if f.type == "enum":
            out[name] = next(v for v in f.values if v != f.default)
    return out


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    person = spec.entity(person_entity(cap, spec))
    ask = requesters(cap, spec)
    exempt = set(cap.exempt_roles)
    writers = [r for r in b.writers(spec, cap.entity) if r not in exempt]
    asker = asker_role(cap, spec)
    ctx = {
        "ent": ent, "person": person, "guarded": guarded(cap), "samples": _samples(cap, spec),
        "rule_text": describe_rule(cap, spec), "requesters": ask, "asker": asker,
        # a writer that is not exempt (its direct writes are refused), and an exempt one (None: none)
        "direct_writer": writers[0] if writers else None,
        "exempt_writer": next((r for r in cap.exempt_roles if r in b.writers(spec, cap.entity)), None),
        "maker": b.writer_role(spec, cap.entity), "person_maker": b.writer_role(spec, person.name) or "owner",
        "outsider": next((r.name for r in spec.roles if r.name not in ask), None),
        "detail": b.detail_path(spec, ent.name), "display": b.free_text_display(ent),
        "starts": {f: v for (_e, f), v in managed_fields(cap, spec).items()},
        "field_labels": {f: ent.field(f).label for f in guarded(cap)},
        "enum_choices": {f: list(ent.field(f).values) for f in guarded(cap) if ent.field(f).type == "enum"},
    }
    d = "capabilities/agreement/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
