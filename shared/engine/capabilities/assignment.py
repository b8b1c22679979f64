"""Capability `assignment`: A person is assigned to a record for a time window; overlapping assignments of one person (beyond how many they may hold at once) are refused with 409; each person sees their own assignments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "assignment"

UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


class Params(CapabilityBase):
    kind: Literal["assignment"] = "assignment"
    entity: Name = Field(description="the records people are assigned to, holding the person and the time window, "
                                     "e.g. work_order, tour, visit")
    person_field: Name = Field(description="field on `entity` naming who is assigned: a reference to an entity of "
                                           "people (e.g. technician_id), or an email field holding the person's "
                                           "sign-in email (e.g. guide_email)")
    login_field: Name | None = Field(default=None, description="with a reference person_field: the email field of "
                                                               "the people entity that is each person's sign-in "
                                                               "email (links a person to a login), e.g. email")
    start_field: Name = Field(description="date or datetime field on `entity`: when the assignment starts")
    end_field: Name | None = Field(default=None, description="field on `entity` of the same type as start_field: "
                                                             "when it ends (a date end is the last day, inclusive); "
                                                             "or set duration_field; neither with a date start = "
                                                             "that one whole day")
    duration_field: Name | None = Field(default=None, description="integer/decimal field on `entity`: how long it "
                                                                  "lasts, in duration_unit; needs a max")
    duration_unit: Literal["minutes", "hours", "days"] = Field(default="hours", description="unit of duration_field; "
                                                               "with a date start_field only days")
    max_concurrent: int = Field(default=1, ge=1, le=50, description="how many assignments one person may hold at "
                                                                    "the same time (1 = no overlap at all)")
    roles: list[Name] = Field(default_factory=list, description="roles that may assign (create or change "
                              "assignments), e.g. dispatcher; empty = the roles that may write `entity`")


PACKAGES: list[str] = []


def person_entity(cap: Params, spec) -> str | None:
    """The people entity a reference person_field points at (None for an email person_field)."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.person_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def assigners(cap: Params, spec) -> list[str]:
    """Roles (spec order) that may assign: `roles` plus the owner, or every role that may write `entity`."""
    from . import _bind as b

    if cap.roles:
        return [r.name for r in spec.roles if r.name in cap.roles or r.name == "owner" and cap.entity in r.write]
    return b.writers(spec, cap.entity)


def _window_problems(cap: Params, spec) -> list[str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    start = ent.field(cap.start_field)
    p = [m for m in (b.field_problem(spec, cap.entity, cap.start_field, "start_field", b.DATE_TYPES),
                     b.field_problem(spec, cap.entity, cap.end_field, "end_field",
                                     (start.type,) if start is not None and start.type in b.DATE_TYPES
                                     else b.DATE_TYPES),
                     b.field_problem(spec, cap.entity, cap.duration_field, "duration_field",
                                     ("integer", "decimal"))) if m]
    if cap.end_field and cap.duration_field:
        p.append("set end_field or duration_field, not both: the window ends at one or lasts the other")
    if cap.end_field and cap.end_field == cap.start_field:
        p.append(f"start_field and end_field are both {cap.start_field!r}; a window needs two fields")
    if start is None or start.type not in b.DATE_TYPES:
        return p
    if start.type == "datetime" and not cap.end_field and not cap.duration_field:
        p.append(f"{cap.entity}.{cap.start_field} is a datetime, so the window needs its end: set end_field (a "
                 f"datetime field) or duration_field (a number field of {cap.duration_unit})")
    if start.type == "date" and cap.duration_field and cap.duration_unit != "days":
        p.append(f"{cap.entity}.{cap.start_field} is a date, so duration_unit must be 'days' (a date has no hours)")
    dur = ent.field(cap.duration_field) if cap.duration_field else None
    if dur is not None and dur.type in ("integer", "decimal"):
        if dur.max is None:
            p.append(f"duration_field {cap.entity}.{dur.name} needs a max (the longest assignment, e.g. 12 "
                     f"{cap.duration_unit}) so overlaps can be found")
        if dur.min is None or dur.min <= 0:
            p.append(f"duration_field {cap.entity}.{dur.name} needs a min above 0; an assignment lasts some time")
    for name in (cap.start_field, cap.end_field, cap.duration_field):
        f = ent.field(name) if name else None
        if f is not None and f.unique:
            p.append(f"{cap.entity}.{name} is unique; two people could never share a time, drop unique")
    if cap.end_field and ent.field(cap.end_field) is not None:
        names = [x.name for x in ent.fields]
        if names.index(cap.start_field) > names.index(cap.end_field):
            p.append(f"list start_field {cap.start_field!r} before end_field {cap.end_field!r} in {cap.entity}'s "
                     f"fields (sample windows take their times in field order)")
    return p


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p = [m for m in (b.entity_problem(spec, cap.entity, "assigned entity"),
                     b.field_problem(spec, cap.entity, cap.person_field, "person_field", ("reference", "email")),
                     b.no_writer_problem(spec, cap.entity, "assigned entity"),
                     *(b.role_problem(spec, r, "assigning role") for r in cap.roles)) if m]
    ent = spec.entity(cap.entity)
    if ent is None:
        return p
    p += _window_problems(cap, spec)
    pf = ent.field(cap.person_field)
    people = person_entity(cap, spec)
    if pf is not None and pf.type == "email" and cap.login_field:
        p.append(f"{cap.entity}.{cap.person_field} is already the person's sign-in email; drop login_field")
    if people is not None:
        if people == cap.entity:
            p.append(f"{cap.entity}.{cap.person_field} references {cap.entity} itself; the people assigned are "
                     f"another entity")
        elif not cap.login_field:
            emails = [f.name for f in spec.entity(people).fields if f.type == "email"] if spec.entity(people) else []
            p.append(f"set login_field: the email field of {people} that is each person's sign-in email, so a "
                     f"person sees their own assignments" + (f"; fitting: {emails}" if emails
                                                             else f"; add an email field to {people}"))
        else:
            msg = b.field_problem(spec, people, cap.login_field, "login_field", ("email",))
            if msg:
                p.append(msg)
    writers = b.writers(spec, cap.entity)
    for r in cap.roles:
        if spec.role(r) is not None and r not in writers:
            p.append(f"assigning role {r!r} may not write {cap.entity!r}; add {cap.entity!r} to its write list")
    if cap.roles:
        extra = [w for w in writers if w not in cap.roles and w != "owner"]
        if extra:
            p.append(f"roles {extra} may write {cap.entity!r} (so its forms let them set {cap.person_field} and the "
                     f"times) but are not assigning roles; add them to roles, or keep the assignment in its own "
                     f"entity that only the assigning roles write")
    twins = [c.id for c in spec.capabilities if c.kind == "assignment" and c.id != cap.id
             and c.entity == cap.entity and c.person_field == cap.person_field]
    if twins:
        p.append(f"{cap.entity}.{cap.person_field} is already guarded by assignment {twins[0]!r}; keep one")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b

    everyone = [r.name for r in spec.roles]
    return [
        Route(method="GET", path=f"/api/{cap.id}/mine", summary="the signed-in person's assignments: upcoming "
              "(earliest first) and past (latest first)", roles=everyone),
        Route(method="GET", path=f"/api/{cap.id}/availability", summary="is a person free from start to end? "
              "(person=, start=, end=, exclude=); lists the clashing assignments", roles=b.readers(spec, cap.entity)),
        Route(method="GET", path=f"/{cap.id}/", summary="page: my assignments", roles=everyone),
    ]


def describe_rule(cap: Params, spec) -> str:
    """The rule in the spec's nouns: "a technician holds at most 1 work order at a time"."""
    ent = spec.entity(cap.entity)
    people = spec.entity(person_entity(cap, spec) or "")
    who = people.label.lower() if people else cap.person_field.removesuffix("_email").replace("_", " ")
    what = (ent.label if cap.max_concurrent == 1 else ent.label_plural).lower()
    return f"one {who} holds at most {cap.max_concurrent} {what} at a time"


# ---------------------------------------------------------------------------------------------- test values

#: the clock of the generated tests and criteria (their NOW), and the day of the first upcoming window
NOW = datetime(2030, 1, 10, 12, 0)
DAY = datetime(2030, 1, 15, 9, 0)


def _span(cap: Params, spec) -> tuple[str, timedelta, float | None]:
    """(start type, the tests' window length, the duration value giving it or None)."""
    ent = spec.entity(cap.entity)
    kind = ent.field(cap.start_field).type
    if cap.duration_field:
        f = ent.field(cap.duration_field)
        unit = UNITS[cap.duration_unit]
        want = {"minutes": 90, "hours": 2, "days": 2}[cap.duration_unit]
        lo, hi = f.min or 1, f.max if f.max is not None else want
        value = min(max(want, lo), hi)
        value = int(value) if f.type == "integer" or float(value).is_integer() else value
        if f.type == "integer" and value < lo:
            value += 1
        return kind, timedelta(seconds=value * unit), value
    if kind == "date":
        return kind, timedelta(days=2 if cap.end_field else 1), None
    return kind, timedelta(hours=2), None


def _fields(cap: Params, kind: str, start: datetime, length: timedelta, dur) -> dict:
    if kind == "date":
        out = {cap.start_field: start.date().isoformat()}
        if cap.end_field:
            out[cap.end_field] = (start + length - timedelta(days=1)).date().isoformat()
    else:
        out = {cap.start_field: start.isoformat() + "Z"}
        if cap.end_field:
            out[cap.end_field] = (start + length).isoformat() + "Z"
    if cap.duration_field:
        out[cap.duration_field] = dur
    return out


def sample_windows(cap: Params, spec) -> dict:
    """JSON field values for the tests: `first` (upcoming), `overlap` (starts inside it), `touch` (starts when it
    ends), `later` (a week on), `past` (before NOW), `bad` (ends before it starts; None when a duration's min
    already refuses it), and `stack`: max_concurrent + 1 windows that all share the first window's middle."""
    kind, length, dur = _span(cap, spec)
    step = (timedelta(days=1) if length > timedelta(days=1) else timedelta(0)) if kind == "date" else length / 2
    if kind == "datetime" and cap.duration_field:
        step = timedelta(seconds=max(60, (length.total_seconds() // 2) // 60 * 60))
    first = DAY.replace(hour=0) if kind == "date" else DAY
    out = {"first": _fields(cap, kind, first, length, dur),
           "overlap": _fields(cap, kind, first + step, length, dur),
           "touch": _fields(cap, kind, first + length, length, dur),
           "later": _fields(cap, kind, first + timedelta(days=7), length, dur),
           "past": _fields(cap, kind, first - timedelta(days=10), length, dur)}
    if cap.end_field:
        bad = _fields(cap, kind, first, length, dur)
        bad[cap.end_field], bad[cap.start_field] = bad[cap.start_field], bad[cap.end_field]
        if kind == "date":
            bad[cap.end_field] = (first - timedelta(days=1)).date().isoformat()
        out["bad"] = bad
    else:
        out["bad"] = None
    out["stack"] = [_fields(cap, kind, first, length, dur) for _ in range(cap.max_concurrent + 1)]
    out["middle"] = (first + length / 2).isoformat() + "Z" if kind == "datetime" else first.date().isoformat()
    out["first_start"] = first.isoformat() + "Z"
    out["first_end"] = (first + length).isoformat() + "Z"
    return out


def probe_path(route, path: str, marker: str) -> str:
    """The exploit gate's `leak` attack asks the availability of the first person (the attacked row's, made first)
    over a century, so every clash, the other user's row among them, is in the answer."""
    return f"{path}?person=1&start=2000-01-01&end=2100-01-01" if path.endswith("/availability") else path


def test_assigner(cap: Params, spec) -> str:
    """The role the generated tests assign as: one that sees every person and every record (a role reading only its
    own rows sees only its own person record, so it can assign no one else), preferring a role other than the
    owner; the owner when every other assigner is so scoped."""
    movers = assigners(cap, spec)
    seen = {cap.entity, person_entity(cap, spec) or cap.entity}
    open_ = [r for r in movers if not (spec.role(r) is not None and seen & set(spec.role(r).read_own))]
    return next((r for r in open_ if r != "owner"), "owner" if "owner" in movers else
                (open_ or movers or ["owner"])[0])


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    people = spec.entity(person_entity(cap, spec) or "")
    movers = assigners(cap, spec)
    readers = b.readers(spec, cap.entity)
    ctx = {
        "ent": ent, "people": people, "person": ent.field(cap.person_field),
        "start": ent.field(cap.start_field), "end": ent.field(cap.end_field) if cap.end_field else None,
        "duration": ent.field(cap.duration_field) if cap.duration_field else None,
        "assigner": test_assigner(cap, spec),
        "people_writer": (b.writer_role(spec, people.name) or "owner") if people else None,
        # a role that reads the records but may not assign, one that may not read them, and one for the assignee
        "outsider": next((r for r in readers if r not in movers), None),
        "stranger": b.non_reader_role(spec, cap.entity),
        "assignee": next((r.name for r in spec.roles if r.name not in movers), None)
        or next((r.name for r in spec.roles if r.name != "owner"), "owner"),
        "display": b.free_text_display(ent), "detail": b.detail_path(spec, cap.entity),
        "rule_text": describe_rule(cap, spec), "readers": readers, "windows": sample_windows(cap, spec), "unit_seconds":
        UNITS[cap.duration_unit], "assigners": movers,
        "other_refs": [[f.name, f.ref] for f in ent.fields if f.type == "reference" and f.name != cap.person_field],
    }
    d = "capabilities/assignment/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
