"""Capability `booking`: A resource and a time range; overlapping bookings of one resource are refused with 409; week calendar; iCalendar export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "booking"


class Params(CapabilityBase):
    kind: Literal["booking"] = "booking"
    entity: Name = Field(description="the booking entity, e.g. firing")
    resource: Name = Field(description="the booked resource entity, e.g. kiln")
    resource_field: Name = Field(description="reference field on `entity` pointing at `resource`")
    start_field: Name = Field(description="datetime field on `entity`")
    end_field: Name = Field(description="datetime field on `entity`")
    max_days: int = Field(default=14, ge=1, le=366, description="the longest a booking may last, in days (longer: 400)")
    horizon_days: int = Field(default=730, ge=1, le=3660,
                              description="how far ahead a booking may start, in days from now (later: 400)")
    slot_minutes: int | None = Field(default=None, ge=5, le=1440, description=(
        "the exact length of every booking, in minutes, when the founder states one (\"book 90-minute slots\", "
        "\"hour-long lessons\", \"for 45 minutes\"); a booking whose end minus start differs: 400"))
    max_minutes: int | None = Field(default=None, ge=5, le=1440, description=(
        "the longest a booking may last, in minutes, when the founder states an upper bound (\"for up to 3 "
        "hours\"); longer: 400"))


PACKAGES: list[str] = []  # iCalendar text is written by hand (RFC 5545); no extra library


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "booking entity"),
        b.entity_problem(spec, cap.resource, "resource entity"),
        b.field_problem(spec, cap.entity, cap.resource_field, "resource_field", ("reference",), ref=cap.resource),
        b.field_problem(spec, cap.entity, cap.start_field, "start_field", ("datetime",)),
        b.field_problem(spec, cap.entity, cap.end_field, "end_field", ("datetime",)),
        b.no_writer_problem(spec, cap.entity, "booking entity"),
    ) if m]
    if cap.start_field == cap.end_field:
        p.append(f"start_field and end_field are both {cap.start_field!r}; a booking needs two datetime fields")
    ent = spec.entity(cap.entity)
    if ent is not None and ent.field(cap.start_field) and ent.field(cap.end_field):
        names = [x.name for x in ent.fields]
        if names.index(cap.start_field) > names.index(cap.end_field):
            p.append(f"list start_field {cap.start_field!r} before end_field {cap.end_field!r} in {cap.entity}'s "
                     f"fields (sample bookings take their times in field order)")
        first = next((x.name for x in ent.fields if x.type != "reference"), None)
        if first in (cap.start_field, cap.end_field):
            p.append(f"{cap.entity}.{first} is the entity's first field; put the booking's title (a text field) "
                     f"first, its times after it")
    if cap.slot_minutes is not None and cap.max_minutes is not None:
        p.append("give slot_minutes (every booking lasts exactly that long) or max_minutes (at most that long), "
                 "not both")
    if cap.entity == cap.resource:
        p.append(f"entity and resource are both {cap.entity!r}; the booking and the booked thing differ")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r = b.readers(spec, cap.entity)
    a = f"/api/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/week", summary="bookings of one week (start=YYYY-MM-DD, resource_id=)", roles=r),
        Route(method="GET", path=f"{a}/availability",
              summary="is a resource free from start to end? (resource_id=, start=, end=); lists conflicts", roles=r),
        Route(method="GET", path=f"{a}/calendar.ics", summary="iCalendar (RFC 5545) export (resource_id= optional)",
              roles=r),
        Route(method="GET", path=f"/{cap.id}/week", summary="week calendar page", roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="the week calendar page (this week)", roles=r),
    ]


def field_extras(cap: Params, spec) -> dict[tuple[str, str], dict]:
    """Field meta the generated app carries for a booking of a stated length: the end field's `hint` (shown under it
    on the form: "exactly 90 minutes after Start at") and its sample, one length after the start (`after`,
    `after_minutes`, read by tests/sampling.py), so every sample booking has a length the app accepts."""
    from ._booking_slots import length_words

    stated = cap.slot_minutes or cap.max_minutes
    ent = spec.entity(cap.entity)
    if not stated or ent is None or ent.field(cap.start_field) is None:
        return {}
    start = ent.field(cap.start_field).label
    hint = f"{'exactly' if cap.slot_minutes else 'at most'} {length_words(stated)} after {start}"
    extra = {"hint": hint, "after": cap.start_field, "after_minutes": min(stated, 120) if cap.max_minutes else stated}
    return {(cap.entity, cap.end_field): extra}


def _display_room(ent) -> int:
    """How many two-byte letters fit after a 15-character prefix in the title (at most 40)."""
    f = ent.field(ent.display_field)
    return max(0, min(40, int(f.max if f and f.max is not None else 200) - 15))


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    from ._booking_slots import SampleSlots, length_words
    ent, res = spec.entity(cap.entity), spec.entity(cap.resource)
    slots = SampleSlots(spec, cap.entity)
    stated = cap.slot_minutes or cap.max_minutes
    ctx = {
        "length": length_words(stated) if stated else None, "sample_minutes": slots.minutes,
        # a signed-in role that may not make bookings (None: every role may)
        "non_writer": next((r.name for r in spec.roles if cap.entity not in r.write), None),
        "ent": ent, "res": res, "detail": b.detail_path(spec, cap.entity),
        "writer": b.writer_role(spec, cap.entity), "res_writer": b.writer_role(spec, cap.resource) or "owner",
        "stranger": b.non_reader_role(spec, cap.entity), "display": b.free_text_display(ent),
        "display_room": _display_room(ent),
        "fields": [f.name for f in ent.fields if f.type != "file"],
        "unique": [f.name for f in ent.fields if f.unique], "res_unique": [f.name for f in res.fields if f.unique],
        # a limit on these bookings (per resource, per person, per day...): the tests book on days a period apart
        "limited": slots.limited, "limit_gap": slots.gap_days,
        "other_day": slots.later_day(1), "third_day": slots.later_day(2),
        # a role that books but reads only its own bookings: another's shows to it as a busy time, never whose
        "own_writer": next((r.name for r in spec.roles if cap.entity in r.read_own and cap.entity in r.write), None),
    }
    d = "capabilities/booking/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/week.html": tpl.render(d + "week.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def _visible_body(p, spec, entity: str, who: str) -> dict | None:
    """A valid booking body for `who` whose references are rows `who` can see: the owner's, or, for an entity the
    role sees only its own rows of, one `who` makes (None when the role cannot make it)."""
    role = spec.role(p.scenario["actors"][who])
    body = p.body(entity)
    for f in spec.entity(entity).fields:
        if f.type == "reference" and f.ref in role.read_own:
            if f.ref not in role.write:
                return None
            body[f.name] = f"${{{p.make(f.ref, who)}.id}}"
    return body


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): one writer tries to hold the
    resource for a year (past `max_days`), or from a day past the horizon, which must be a 400 naming the time
    and store nothing; a second writer books the resource over the first's booking, which must be a 409 (when
    both writers can see the same resource)."""
    from ..criteria import days_from_now
    from ..exploits import attack

    ent = spec.entity(cap.entity)
    res = spec.entity(cap.resource).label.lower()
    out = []
    p = attack(spec, f"booking_year_long:{cap.id}", f"Nobody can book a {res} for a year (a booking lasts at most "
                                                    f"{cap.max_days} days).")
    who = p.writer(cap.entity)
    body = _visible_body(p, spec, cap.entity, who)
    if body is not None:
        body.update({cap.start_field: days_from_now(1), cap.end_field: days_from_now(366)})
        p.step(who, "POST", f"/api/{ent.plural}", json=body, expect=400, note="book for a whole year",
               checks=[{"path": "error.details", "op": "contains", "value": cap.end_field}])
        p.step(who, "GET", f"/api/{ent.plural}", note="nothing was stored",
               checks=[{"path": "items", "op": "count", "key": cap.end_field, "value": days_from_now(366), "n": 0}])
        out.append(p.scenario)

    p = attack(spec, f"booking_beyond_horizon:{cap.id}", f"Nobody can book a {res} more than {cap.horizon_days} "
                                                         "days ahead.")
    who = p.writer(cap.entity)
    body = _visible_body(p, spec, cap.entity, who)
    if body is not None:
        late = cap.horizon_days + 2
        body.update({cap.start_field: days_from_now(late), cap.end_field: days_from_now(late + 0.5)})
        p.step(who, "POST", f"/api/{ent.plural}", json=body, expect=400, note=f"book {late} days ahead",
               checks=[{"path": "error.details", "op": "contains", "value": cap.start_field}])
        out.append(p.scenario)

    p = attack(spec, f"booking_overlap:{cap.id}", f"Nobody can book a {res} over another booking of it.")
    first, second = p.writer(cap.entity), p.writer(cap.entity)
    role = spec.role(p.scenario["actors"][first])
    if not any(f.type == "reference" and f.ref in role.read_own for f in ent.fields):
        from datetime import timedelta

        from ..criteria import NOW, iso
        from ._booking_slots import sample_minutes

        length = timedelta(minutes=sample_minutes(cap))  # a booking of a stated length lasts it, else two hours
        start = NOW.replace(hour=0, minute=0, second=0) + timedelta(days=3, hours=9)
        body = {**p.body(cap.entity), cap.start_field: iso(start), cap.end_field: iso(start + length)}
        p.step(first, "POST", f"/api/{ent.plural}", json=body, expect=201, note="the first writer books a slot")
        clash = {**p.body(cap.entity), cap.resource_field: body[cap.resource_field],
                 cap.start_field: iso(start + length / 2), cap.end_field: iso(start + length * 1.5)}
        p.step(second, "POST", f"/api/{ent.plural}", json=clash, expect=409,
               note="another writer books the same one from halfway through it")
        out.append(p.scenario)
    return out
