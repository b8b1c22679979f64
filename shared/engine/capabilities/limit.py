"""Capability `limit`: At most a number of records (or of a field's sum) per parent record (or per pair of records:
the parent and another record the rows point at, "each artist submits at most three proposals per season"; or per
parent and user who created them, "a member enters no more than 20 birds in any one race"), per user who created
them, or in the whole app; optionally per day, week, month or year and only for some statuses; a write
beyond it is refused with 409."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "limit"

#: field types a sum (`sum_field`) and a per-parent limit (`max_field`) may have
SUM_TYPES = ("integer", "decimal", "money")
MAX_TYPES = ("integer", "decimal")


class Params(CapabilityBase):
    kind: Literal["limit"] = "limit"
    entity: Name = Field(description="the records counted, e.g. loan")
    scope: Literal["parent", "user", "app"] = Field(default="parent", description="whose rows are counted together: "
                                                    "'parent' per record parent_field points at, 'user' per user "
                                                    "who created them, 'app' all of them")
    parent_field: Name | None = Field(default=None, description="scope 'parent' only: reference field on `entity`; "
                                                                "rows are counted per record it points at, e.g. "
                                                                "student_id")
    pair_field: Name | None = Field(default=None, description="scope 'parent' only: a second reference field on "
                                                              "`entity`; rows are counted per pair of the records "
                                                              "parent_field and it point at, e.g. artist_id with "
                                                              "parent_field season_id: at most 3 proposals per artist "
                                                              "and season; None = per parent alone")
    per_user: bool = Field(default=False, description="scope 'parent' only: rows are counted per parent and user who "
                                                       "created them (the rows of one user that point at one parent "
                                                       "count together), e.g. at most 20 birds per member and race "
                                                       "where members are users of the app with no record; False = "
                                                       "per parent (or pair) for all users together")
    max: int | None = Field(default=None, ge=0, le=100000, description="the limit, one number for every parent "
                                                                       "(or user, or the app); or set max_field")
    max_field: Name | None = Field(default=None, description="scope 'parent' only: integer/decimal field on the "
                                                             "parent entity holding each parent's own limit, e.g. "
                                                             "capacity")
    sum_field: Name | None = Field(default=None, description="number field on `entity` whose sum is limited, e.g. "
                                                             "hours; None = count the rows")
    period: Literal["day", "week", "month", "year"] | None = Field(default=None, description="count only rows in the same "
                                                           "calendar period (of date_field) as the new row")
    date_field: Name | None = Field(default=None, description="date/datetime field on `entity`; needed with period")
    where_field: Name | None = Field(default=None, description="enum field on `entity`: only rows with one of "
                                                               "where_values count, e.g. status")
    where_values: list[Name] = Field(default_factory=list, description="the values of where_field that count, "
                                                                       "e.g. ['active']")
    on_excess: Literal["refuse"] = Field(default="refuse", description="a write beyond the limit is refused (409)")


PACKAGES: list[str] = []


def parent_entity(cap: Params, spec) -> str | None:
    """The entity `parent_field` points at, or None when it does not resolve to a reference (or the limit is not
    per parent)."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.parent_field) if ent is not None and cap.scope == "parent" and cap.parent_field else None
    return f.ref if f is not None and f.type == "reference" else None


def pair_entity(cap: Params, spec) -> str | None:
    """The entity `pair_field` points at (a limit per pair of records), or None."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.pair_field) if ent is not None and cap.scope == "parent" and cap.pair_field else None
    return f.ref if f is not None and f.type == "reference" else None


def _num(x: float | None) -> str:
    return "none" if x is None else f"{x:g}"


def _sum_problems(cap: Params, spec, parent: str | None) -> list[str]:
    """A sum must be of amounts that cannot give room back (min 0) and a single row must fit the limit."""
    ent = spec.entity(cap.entity)
    f = ent.field(cap.sum_field) if ent is not None and cap.sum_field else None
    if f is None or f.type not in SUM_TYPES:
        return []
    p = []
    where = f"sum_field {cap.entity}.{f.name}"
    if f.min is not None and f.min < 0:
        p.append(f"{where} may be negative (min {_num(f.min)}); set its min to 0 or more, or a negative amount "
                 f"would give room back")
    if f.max is not None and f.max <= 0:
        p.append(f"{where} has max {_num(f.max)}; an amount must be able to be above 0")
    if cap.max is not None and (f.max is None or f.max > cap.max):
        p.append(f"{where} has max {_num(f.max)}; give it a max of at most {cap.max} (the limit), so that one "
                 f"{cap.entity} alone fits")
    mf = spec.entity(parent).field(cap.max_field) if parent and cap.max_field and spec.entity(parent) else None
    if cap.max is None and mf is not None and mf.type in MAX_TYPES and (f.max is None or mf.min is None
                                                                          or f.max > mf.min):
        p.append(f"{where} has max {_num(f.max)} but {parent}.{mf.name} may be as low as {_num(mf.min)}; give "
                 f"{f.name} a max no larger than {mf.name}'s min, so that one {cap.entity} fits any {parent}")
    return p


_SCOPE_WORDS = {"user": "per user who creates them", "app": "together for the whole app"}


def _scope_problems(cap: Params, spec) -> list[str]:
    """What does not fit the scope: a parent limit needs parent_field; a user or app limit has no parent, so no
    parent_field and no max_field (one number, max)."""
    if cap.scope == "parent":
        if cap.parent_field:
            return []
        ent = spec.entity(cap.entity)
        refs = sorted(f.name for f in ent.fields if f.type == "reference") if ent is not None else []
        return [f"scope 'parent' needs parent_field: the reference field of {cap.entity} whose record the rows are "
                f"counted per{f' (one of {refs})' if refs else ''}; or use scope 'user' (counted per user who "
                f"creates them) or 'app' (counted all together)"]
    p = []
    counted = _SCOPE_WORDS[cap.scope]
    if cap.parent_field:
        p.append(f"scope {cap.scope!r} counts {cap.entity} rows {counted}, not per {cap.parent_field}; drop "
                 f"parent_field, or use scope 'parent' to count per record it points at")
    if cap.pair_field:
        p.append(f"pair_field counts rows per pair of records, and scope {cap.scope!r} has no parent record; drop "
                 f"pair_field, or use scope 'parent' with parent_field")
    if cap.per_user:
        p.append(f"per_user counts rows per parent record and user, and scope {cap.scope!r} has no parent record; "
                 f"drop per_user (scope 'user' counts per user alone), or use scope 'parent' with parent_field")
    if cap.max_field:
        p.append(f"max_field is a field of a parent record, and scope {cap.scope!r} has none; drop max_field and "
                 f"set max, one number {'for every user' if cap.scope == 'user' else 'for the whole app'}")
    elif cap.max is None:
        who = "each user may have" if cap.scope == "user" else "the app may hold in all"
        p.append(f"scope {cap.scope!r} needs max: the number of {cap.entity} rows {who}, e.g. 5")
    return p


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    parent = parent_entity(cap, spec)
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "limited entity"),
        b.field_problem(spec, cap.entity, cap.parent_field if cap.scope == "parent" else None, "parent_field",
                        ("reference",)),
        b.field_problem(spec, cap.entity, cap.pair_field if cap.scope == "parent" else None, "pair_field",
                        ("reference",)),
        b.field_problem(spec, parent, cap.max_field, "max_field", MAX_TYPES) if parent else None,
        b.field_problem(spec, cap.entity, cap.sum_field, "sum_field", SUM_TYPES),
        b.field_problem(spec, cap.entity, cap.date_field, "date_field", b.DATE_TYPES),
        b.field_problem(spec, cap.entity, cap.where_field, "where_field", ("enum",)),
        b.no_writer_problem(spec, cap.entity, "limited entity"),
    ) if m]
    p += _scope_problems(cap, spec)
    if cap.scope == "parent" and (cap.max is None) == (cap.max_field is None):
        p.append(f"set exactly one of max (one number for every {parent or 'parent'}, e.g. 3) and max_field (a "
                 f"number field of {parent or 'the parent entity'} holding each one's own limit, e.g. capacity)")
    if cap.scope == "parent" and cap.pair_field and cap.pair_field == cap.parent_field:
        p.append(f"pair_field {cap.pair_field!r} is parent_field itself; a pair needs another reference field of "
                 f"{cap.entity} (or drop pair_field to count per {parent or 'parent'} alone)")
    if cap.scope == "parent" and cap.per_user and cap.pair_field:
        p.append(f"per_user counts per {parent or 'parent'} and the user who created the rows, pair_field per "
                 f"{parent or 'parent'} and another record; set one of them")
    if cap.max == 0:
        p.append("max 0 would refuse every counted row; use at least 1")
    if parent and cap.max_field and spec.entity(parent) is not None:
        mf = spec.entity(parent).field(cap.max_field)
        if mf is not None and mf.type in MAX_TYPES:
            if mf.min is not None and mf.min < 0:
                p.append(f"max_field {parent}.{mf.name} may be negative (min {_num(mf.min)}); set its min to 0 or more")
            if not cap.sum_field and mf.max is not None and mf.max < 1:
                p.append(f"max_field {parent}.{mf.name} is at most {_num(mf.max)}, so no {parent} could hold one "
                         f"{cap.entity}; allow at least 1")
    if cap.period and not cap.date_field:
        p.append(f"period {cap.period!r} needs date_field: the date or datetime field of {cap.entity} that places a "
                 f"row in its {cap.period}")
    if cap.date_field and not cap.period:
        p.append("date_field is used only with period (day, week, month or year); set period or drop date_field")
    ent = spec.entity(cap.entity)
    wf = ent.field(cap.where_field) if ent is not None and cap.where_field else None
    if cap.where_field and not cap.where_values:
        p.append(f"where_field {cap.where_field!r} needs where_values: the values that count, e.g. ['active']")
    if cap.where_values and not cap.where_field:
        p.append("where_values need where_field: the enum field of the counted records they are values of")
    if wf is not None and wf.type == "enum":
        unknown = [v for v in cap.where_values if v not in wf.values]
        if unknown:
            p.append(f"where_values {unknown} are not values of {cap.entity}.{wf.name}; its values: {wf.values}")
    p += _sum_problems(cap, spec, parent)
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r = b.readers(spec, cap.entity)
    if cap.scope == "parent" and cap.per_user:
        usage, page = ("how much of its limit the signed-in user uses in one parent (parent_id=, on=YYYY-MM-DD for a "
                       "period): limit, used, remaining, period",
                       "page: each parent with the signed-in user's use of the limit")
    elif cap.scope == "parent" and cap.pair_field:
        usage, page = ("how much of its limit one pair of records uses (parent_id=, pair_id=, on=YYYY-MM-DD for a "
                       "period): limit, used, remaining, period", "page: each pair of records with its use of the limit")
    else:
        usage, page = {
            "parent": ("how much of its limit one parent uses (parent_id=, on=YYYY-MM-DD for a period): limit, used, "
                       "remaining, period", "page: each parent with its use of the limit"),
            "user": ("how much of the limit the signed-in user uses (on=YYYY-MM-DD for a period): limit, used, "
                     "remaining, period", "page: the signed-in user's use of the limit"),
            "app": ("how much of the limit the whole app uses (on=YYYY-MM-DD for a period): limit, used, remaining, "
                    "period", "page: the app's use of the limit"),
        }[cap.scope]
    return [
        Route(method="GET", path=f"/api/{cap.id}/usage", summary=usage, roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary=page, roles=r),
    ]


def _paired(cap: Params, spec) -> bool:
    """Are the counted rows unique per (parent, other record)? Sign-ups (shift_volunteer) are: each row of a test
    then links a new other record."""
    from ..compiler import link_pairs

    pairs = link_pairs(spec).get(cap.entity, [])
    if cap.scope != "parent":  # rows of one user (or of the app) share every link: each needs new other records
        return bool(pairs)
    return any(cap.parent_field in pair for pair in pairs)


def fresh_fields(cap: Params, spec) -> list[str]:
    """The reference fields of the counted rows that each row of a test links to a new record: all of them for
    sign-ups (`_paired`), else the parent fields of the entity's other per-parent limits, so that filling this
    limit never fills another one first ("at most 2 shows per presenter" and "one show per slot": the tests of the
    presenter's limit give each show its own slot)."""
    ent = spec.entity(cap.entity)
    refs = [f.name for f in ent.fields if f.type == "reference" and f.name not in (cap.parent_field, cap.pair_field)
            ] if ent else []  # the pair's other record stays one record: the rows of a test share the pair
    if _paired(cap, spec):
        return refs
    others = {name for c in spec.capabilities if c.kind == "limit" and c.id != cap.id and c.entity == cap.entity
              and c.scope == "parent" for name in (c.parent_field, c.pair_field) if name}
    return [f for f in refs if f in others]


def describe_rule(cap: Params, spec) -> str:
    """The rule in the spec's nouns, lower case: "at most 3 loans with status active per student", "each user may
    have at most 5 listings", "at most 15 attendances per day in all"."""
    ent, parent = spec.entity(cap.entity), spec.entity(parent_entity(cap, spec) or "")
    p_label = parent.label.lower() if parent else (cap.parent_field or "").removesuffix("_id").replace("_", " ")
    rows = ent.label_plural.lower() if ent else cap.entity.replace("_", " ")
    sf = ent.field(cap.sum_field) if ent is not None and cap.sum_field else None
    what = f"{(sf.label if sf else cap.sum_field or '').lower()} of {rows}" if cap.sum_field else rows
    if cap.where_field:
        wf = ent.field(cap.where_field) if ent is not None else None
        what += (f" with {(wf.label if wf else cap.where_field).lower()} "
                 f"{' or '.join(v.replace('_', ' ') for v in cap.where_values)}")
    per = f" per {cap.period}" if cap.period else ""
    if cap.scope == "user":
        return f"each user may have at most {cap.max} {what}{per}"
    if cap.scope == "app":
        return f"at most {cap.max} {what}{per} in all"
    pair = spec.entity(pair_entity(cap, spec) or "")
    if cap.per_user:  # "at most 20 birds per user and race"
        p_label = f"user and {p_label}"
    if cap.pair_field:  # "at most 3 proposals per artist and season"
        a_label = pair.label.lower() if pair else cap.pair_field.removesuffix("_id").replace("_", " ")
        p_label = f"{a_label} and {p_label}"
    if cap.max is not None:
        text = f"at most {cap.max} {what} per {p_label}"
    else:
        mf = parent.field(cap.max_field) if parent is not None and cap.max_field else None
        its = f"the {parent.label.lower() if parent else 'parent'}'s" if cap.pair_field or cap.per_user else "its"
        text = f"{what} per {p_label} up to {its} {(mf.label if mf else cap.max_field or '').lower()}"
    return text + per


def field_extras(cap: Params, spec) -> dict[tuple[str, str], dict]:
    """A summed field's `sample_small` (read by tests/sampling.py): the small amount the app's other tests give a
    row, so that the rows they make of one parent (three bookings of one trip) stay within its sum."""
    ent = spec.entity(cap.entity)
    sf = ent.field(cap.sum_field) if ent is not None and cap.sum_field else None
    if sf is None or sf.type not in SUM_TYPES:
        return {}
    small = _pick(sf, [sf.min if sf.min and sf.min > 0 else None, 1, 0.5, 0.25, 0.01])
    return {(cap.entity, sf.name): {"sample_small": _plain(small)}} if small is not None else {}


# ---------------------------------------------------------------------------------------------- test values

def _fits(field, value: float, positive: bool = True) -> bool:
    """Is `value` one the field accepts (bounds, whole number for integers, cents for money), and above 0?"""
    if value < 0 or positive and value == 0:
        return False
    if (field.min is not None and value < field.min) or (field.max is not None and value > field.max):
        return False
    if field.type == "integer":
        return float(value).is_integer()
    return round(value, 2) == value


def _pick(field, candidates) -> float | None:
    return next((float(v) for v in candidates if v is not None and _fits(field, float(v))), None)


def _plain(x: float | None):
    return None if x is None else int(x) if float(x).is_integer() else x


def sample_numbers(cap: Params, spec) -> dict:
    """Values the generated tests and criteria use: `step` (one row's amount: 1, or a valid `sum_field` value),
    `limit` (the limit they fill: `max`, or the parent's `cap_value` of max_field), `fits` (how many rows of `step`
    fit) and `used` (their use); with max_field a `lower_value` below a full parent's use and a `higher_value` above
    the limit (None when the field allows none); with sum_field `over`, an amount bigger than the room left for
    the last row (or None)."""
    ent, parent = spec.entity(cap.entity), spec.entity(parent_entity(cap, spec) or "")
    sf = ent.field(cap.sum_field) if cap.sum_field else None
    mf = parent.field(cap.max_field) if parent is not None and cap.max_field else None
    step = 1.0
    if cap.max is not None:
        limit = float(cap.max)
        if sf is not None:
            step = _pick(sf, [limit / k for k in (4, 3, 5, 6, 8, 10, 2, 1)] + [sf.max, sf.min]) or limit
    else:
        if sf is not None:
            step = _pick(sf, [sf.min, 1, 2, 0.5, sf.max]) or 1.0
        limit = _pick(mf, [step * k for k in (3, 4, 5, 2, 6, 8, 10, 1)]
                      + [mf.min, mf.max, math.ceil(mf.min or 0), math.floor(mf.max or 0)]) or 3 * step
    fits = math.floor(limit / step + 1e-9)
    used = fits * step
    lower = higher = over = None
    if mf is not None:
        lower = next((float(v) for v in [step * (fits - 1), limit - 1, mf.min, 0]
                      if v is not None and v < used and _fits(mf, float(v), positive=False)), None)
        higher = _pick(mf, [v for v in (limit + step, limit + 2 * step, limit * 2, mf.max)
                            if v is not None and v >= limit + step])
    if sf is not None:
        room = limit - (fits - 1) * step
        over = next((float(v) for v in [sf.max, room + step, math.floor(room) + 1]
                     if v is not None and v > room + 1e-9 and _fits(sf, float(v))), None)
    return {"step": _plain(step), "limit": _plain(limit), "fits": fits, "used": _plain(round(used, 6)),
            "cap_value": _plain(limit) if mf is not None else None, "lower_value": _plain(lower),
            "higher_value": _plain(higher), "over": _plain(over)}


#: dates the tests use: a row's date, one in the same period, one in the next and one in the previous period
_DATES = {
    "day": ("2030-01-10", "2030-01-10", "2030-01-11", "2030-01-09"),
    "week": ("2030-01-10", "2030-01-13", "2030-01-14", "2030-01-06"),  # 2030-01-07 is a Monday
    "month": ("2030-01-10", "2030-01-31", "2030-02-01", "2029-12-31"),
    "year": ("2030-01-10", "2030-12-31", "2031-01-01", "2029-12-31"),
}
_TIMES = {"day": ("09:00", "23:30", "00:00", "23:59"), "week": ("09:00", "23:59", "00:00", "23:59"),
          "month": ("09:00", "23:00", "00:00", "23:59"), "year": ("09:00", "23:00", "00:00", "23:59")}


def sample_dates(cap: Params, spec) -> dict | None:
    """{"at", "same", "next", "before"}: JSON values of date_field for the generated tests, or None without period."""
    if not cap.period or not cap.date_field:
        return None
    f = spec.entity(cap.entity).field(cap.date_field)
    days, times = _DATES[cap.period], _TIMES[cap.period]
    if f.type == "date":
        values = days
    else:
        values = tuple(f"{d}T{t}:00Z" for d, t in zip(days, times, strict=True))
    return dict(zip(("at", "same", "next", "before"), values, strict=True))


def other_value(cap: Params, spec) -> str | None:
    """A value of where_field that does not count (None when every value counts or there is no where_field)."""
    if not cap.where_field:
        return None
    f = spec.entity(cap.entity).field(cap.where_field)
    return next((v for v in f.values if v not in cap.where_values), None)


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    ent = spec.entity(cap.entity)
    parent = spec.entity(parent_entity(cap, spec) or "")  # None: the limit is per user or for the whole app
    outsider = next((r for r in b.readers(spec, cap.entity) if r not in b.writers(spec, cap.entity)), None)
    pair = spec.entity(pair_entity(cap, spec) or "")  # None: counted per parent alone
    ctx = {
        "ent": ent, "parent": parent, "detail": b.detail_path(spec, parent.name) if parent else None,
        "pair": pair, "per_user": cap.scope == "parent" and cap.per_user, "pair_detail": b.detail_path(spec, pair.name) if pair else None,
        "writer": b.writer_role(spec, cap.entity),
        "parent_writer": (b.writer_role(spec, parent.name) if parent else None) or "owner",
        "outsider": outsider, "stranger": b.non_reader_role(spec, cap.entity),
        "display": b.free_text_display(parent) if parent else None, "rule_text": describe_rule(cap, spec),
        "sum": ent.field(cap.sum_field) if cap.sum_field else None,
        "date": ent.field(cap.date_field) if cap.date_field else None,
        "where": ent.field(cap.where_field) if cap.where_field else None,
        "max_f": parent.field(cap.max_field) if parent and cap.max_field else None,
        "nums": sample_numbers(cap, spec), "dates": sample_dates(cap, spec), "other_value": other_value(cap, spec),
        "other_refs": [[f.name, f.ref] for f in ent.fields if f.type == "reference" and f.name != cap.parent_field],
        "paired": _paired(cap, spec), "fresh": fresh_fields(cap, spec),
        "booking_end": next((c.end_field for c in spec.capabilities if c.kind == "booking" and c.entity == cap.entity
                             and c.start_field == cap.date_field), None),
        "booking_minutes": next((c.slot_minutes or min(15, c.max_minutes or 15) for c in spec.capabilities
                                 if c.kind == "booking" and c.entity == cap.entity), 15),
    }
    d = "capabilities/limit/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + ("test.py.j2" if cap.scope == "parent" else "test_scoped.py.j2"),
                                                  **ctx),
    }
