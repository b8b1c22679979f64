"""Capability `vote`: One up- or down-vote per user per record and a list ranked by net score (ties: the earliest record first); a vote can be changed or withdrawn, optionally only while the record is open, within a number of votes per user, not on one's own records and not on a record one belongs to.

Use `vote` when people back or oppose records to rank them (feature requests, ideas, proposals, songs): each vote
is +1 or -1, the ranking is by the sum, and "each member has 3 votes" is a budget across all records. Use
`ratings` when people grade a record's quality on a 1..N star scale and the ranking is by the average (with
reviews): a rating says how good, a vote says whether to pick it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "vote"

#: a budget of votes above this is no budget (and its generated tests create that many records)
MAX_BUDGET = 50


class Params(CapabilityBase):
    kind: Literal["vote"] = "vote"
    entity: Name = Field(description="the records voted on, e.g. feature_request, idea, proposal, song")
    allow_down: bool = Field(default=True, description="true: a vote is +1 or -1 (up/down); false: up-votes only")
    status_field: Name | None = Field(default=None, description="enum field on `entity` that closes voting, e.g. "
                                      "status; None = voting never closes")
    closed_values: list[Name] = Field(default_factory=list, description="values of status_field in which a record "
                                      "takes no new, changed or withdrawn votes, e.g. ['done', 'declined']")
    max_votes_per_user: int | None = Field(default=None, ge=1, le=MAX_BUDGET, description="how many votes one user "
                                           "may have on open records at once, across all records (\"each member "
                                           "has 3 votes\"); None = one per record, no budget")
    voter_roles: list[Name] = Field(default_factory=list, description="roles that may vote; empty = every role that "
                                    "may read `entity` (the owner included)")
    allow_self_votes: bool = Field(default=True, description="false: nobody may vote on a record they created")
    member_entity: Name | None = Field(default=None, description="the voters' person records (with the email they "
                                       "sign in with), e.g. attendee; set with member_field")
    member_field: Name | None = Field(default=None, description="reference on member_entity to `entity`: nobody "
                                      "votes on the record their own person record points at (\"cannot vote for "
                                      "their own team\"), e.g. team_id; None = no such rule")


PACKAGES: list[str] = []


def voters(cap: Params, spec) -> list[str]:
    """Roles (spec order) that may vote: `voter_roles`, or every role that may read the entity."""
    from . import _bind as b

    return list(cap.voter_roles) if cap.voter_roles else b.readers(spec, cap.entity)


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p = [m for m in (b.entity_problem(spec, cap.entity, "voted entity"),
                     b.field_problem(spec, cap.entity, cap.status_field, "status_field", ("enum",)),
                     *(b.role_problem(spec, r, "voter role") for r in cap.voter_roles)) if m]
    ent = spec.entity(cap.entity)
    if ent is None:
        return p
    sf = ent.field(cap.status_field) if cap.status_field else None
    if cap.status_field and not cap.closed_values:
        p.append(f"status_field {cap.status_field!r} needs closed_values: the values in which voting on a "
                 f"{cap.entity} is closed, e.g. ['done']")
    if cap.closed_values and not cap.status_field:
        p.append(f"closed_values need status_field: the enum field of {cap.entity} they are values of")
    if sf is not None and sf.type == "enum":
        unknown = [v for v in cap.closed_values if v not in sf.values]
        if unknown:
            p.append(f"closed_values {unknown} are not values of {cap.entity}.{sf.name}; its values: {sf.values}")
        elif cap.closed_values and set(sf.values) <= set(cap.closed_values):
            p.append(f"every value of {cap.entity}.{sf.name} is closed, so no {cap.entity} could take a vote; leave "
                     f"at least one open value out of closed_values")
        if sf.default is not None and sf.default in cap.closed_values:
            p.append(f"{cap.entity}.{sf.name} has default {sf.default!r}, a closed value, so a new {cap.entity} "
                     f"would take no votes; give it an open default")
    readers = set(b.readers(spec, cap.entity))
    for r in cap.voter_roles:
        if spec.role(r) is not None and r not in readers:
            p.append(f"voter role {r!r} may not read {cap.entity!r}, so it could not see what it votes on; add "
                     f"{cap.entity!r} to its read list or drop it from voter_roles")
    if len(set(cap.voter_roles)) != len(cap.voter_roles):
        p.append(f"voter_roles {cap.voter_roles} list a role twice")
    if not voters(cap, spec):
        p.append(f"no role may vote on {cap.entity!r}: set voter_roles, or let a role read {cap.entity!r}")
    if not b.writers(spec, cap.entity):
        p.append(f"no role may create {cap.entity!r}, so there would be nothing to vote on; add it to a role's "
                 f"write list")
    if not cap.allow_self_votes and voters(cap, spec) == ["owner"] and b.writers(spec, cap.entity) == ["owner"]:
        p.append(f"only the owner creates and votes on {cap.entity!r} and self-votes are off, so nobody could vote; "
                 f"let another role vote or create records, or allow self-votes")
    if bool(cap.member_entity) != bool(cap.member_field):
        p.append("member_entity and member_field go together: the voters' person records and their reference to "
                 f"the {cap.entity} they belong to")
    elif cap.member_entity:
        from ..appspec.model import person_email_field

        person = spec.entity(cap.member_entity)
        mf = person.field(cap.member_field) if person is not None else None
        if person is None:
            p.append(f"member_entity {cap.member_entity!r} is not an entity")
        elif person_email_field(person) is None:
            p.append(f"member_entity {cap.member_entity!r} has no email field, so no voter could be matched to their "
                     f"{person.label.lower()} record; add an email field")
        elif mf is None or mf.type != "reference" or mf.ref != cap.entity:
            p.append(f"member_field {cap.member_field!r} is not a reference from {cap.member_entity!r} to "
                     f"{cap.entity!r}; references there: "
                     f"{[f.name for f in person.fields if f.type == 'reference' and f.ref == cap.entity]}")
    twins = [c.id for c in spec.capabilities if c.id != cap.id and c.kind == "vote" and c.entity == cap.entity]
    if twins:
        p.append(f"{cap.entity!r} already has votes from capability {twins[0]!r}; keep one vote capability per "
                 f"entity")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b

    r, v, a = b.readers(spec, cap.entity), voters(cap, spec), f"/api/{cap.id}"
    one = "+1" if not cap.allow_down else "+1 or -1"
    return [
        Route(method="GET", path=f"{a}/ranking", summary="records ranked by net score (ties: earliest first), with "
              "up, down, my vote and my votes left (page=, per_page=)", roles=r),
        Route(method="GET", path=f"{a}/records/<int:record_id>", summary="one record's score, up and down counts "
              "and my vote", roles=r),
        Route(method="PUT", path=f"{a}/records/<int:record_id>/vote", summary=f"vote {one} (JSON value); a second "
              "vote by the same user replaces the first", roles=v),
        Route(method="POST", path=f"{a}/records/<int:record_id>/vote", summary=f"vote {one}, as PUT", roles=v),
        Route(method="DELETE", path=f"{a}/records/<int:record_id>/vote", summary="withdraw my vote", roles=v),
        Route(method="GET", path=f"/{cap.id}/", summary="page: the ranked list with my vote and vote buttons",
              roles=r),
        Route(method="POST", path=f"/{cap.id}/records/<int:record_id>", summary="vote form (value 1, -1 or 0 to "
              "withdraw; CSRF)", roles=v),
    ]


def describe_rule(cap: Params, spec) -> str:
    """The rules in the spec's nouns, lower case: "one vote up or down per user per idea; at most 3 votes per user
    on open ideas; no votes on ideas with status done"."""
    ent = spec.entity(cap.entity)
    one, many = (ent.label.lower(), ent.label_plural.lower()) if ent else (cap.entity, cap.entity + "s")
    parts = [f"one {'vote up or down' if cap.allow_down else 'up-vote'} per user per {one}"]
    if cap.max_votes_per_user is not None:
        where = f" on open {many}" if cap.status_field else ""
        parts.append(f"at most {cap.max_votes_per_user} vote{'s' if cap.max_votes_per_user != 1 else ''} per "
                     f"user{where}")
    if cap.status_field:
        sf = ent.field(cap.status_field) if ent else None
        label = (sf.label if sf else cap.status_field).lower()
        parts.append(f"no votes on {many} with {label} {' or '.join(v.replace('_', ' ') for v in cap.closed_values)}")
    if not cap.allow_self_votes:
        parts.append(f"nobody votes on their own {many}")
    if cap.member_field:
        person = spec.entity(cap.member_entity)
        parts.append(f"nobody votes on the {one} their {(person.label if person else cap.member_entity).lower()} "
                     f"record belongs to")
    return "; ".join(parts)


def open_value(cap: Params, spec) -> str | None:
    """The status a test record is created with so it takes votes: the value the app fixes for new rows (a
    workflow's initial state), else the field's default when open, else its first open value."""
    if not cap.status_field:
        return None
    from ..compiler import managed_samples

    fixed = managed_samples(spec).get((cap.entity, cap.status_field))
    if fixed is not None:
        return fixed
    f = spec.entity(cap.entity).field(cap.status_field)
    if f.default is not None and f.default not in cap.closed_values:
        return f.default
    return next(v for v in f.values if v not in cap.closed_values)


def roles_for_tests(cap: Params, spec) -> dict:
    """The roles the generated tests (and criteria) act as: `maker` creates the records (not a voter when self-votes
    are off and another writer exists), `voter` votes (a role other than the owner when one may, so each login is
    a new voter), `outsider` reads but may not vote, `stranger` may not read, `self_voter` may create and vote."""
    from . import _bind as b

    v, w, r = voters(cap, spec), b.writers(spec, cap.entity), b.readers(spec, cap.entity)
    voter = next((x for x in v if x != "owner"), v[0] if v else "owner")
    maker = "owner" if "owner" in w else (w[0] if w else "owner")
    if not cap.allow_self_votes and maker == voter == "owner":
        maker = next((x for x in w if x != "owner"), maker)
    return {"voter": voter, "maker": maker,
            "outsider": next((x for x in r if x not in v and x != "owner"), None) or next(
                (x for x in r if x not in v), None),
            "stranger": b.non_reader_role(spec, cap.entity),
            "self_voter": next((x for x in v if x in w), None)}


def member_of(cap: Params, spec) -> dict | None:
    """The membership the votes are refused on: the person entity, its email field, its reference to the voted
    entity, its label, and a role that writes person records (the owner when it may); None without a rule."""
    from ..appspec.model import person_email_field
    from . import _bind as b

    person = spec.entity(cap.member_entity) if cap.member_entity else None
    if person is None or not cap.member_field:
        return None
    w = b.writers(spec, person.name)
    return {"entity": person.name, "plural": person.plural, "email": person_email_field(person),
            "field": cap.member_field, "label": person.label,
            "maker": "owner" if "owner" in w or not w else w[0]}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    sf = ent.field(cap.status_field) if cap.status_field else None
    ctx = {"ent": ent, "status": sf, "voters": voters(cap, spec), "rule_text": describe_rule(cap, spec),
           "open_value": open_value(cap, spec), "detail": b.detail_path(spec, cap.entity),
           "display": b.free_text_display(ent), "member": member_of(cap, spec), **roles_for_tests(cap, spec)}
    d = "capabilities/vote/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
