"""Capability `trigger`: When a record is created or changed so that a condition on its values starts to hold (a status reaches a value, a number crosses a threshold), the app does one action in the same transaction: create a record, set a field, block a change of its parent, or put a message in the outbox; each firing is recorded once per crossing. A time trigger (on="time", with an older_than_days condition: "unclaimed after 30 days") is checked by a scheduled run instead, and acts once per record and episode."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel
from ._trigger_values import describe_condition, describe_rule, hit_again, hit_and_miss, other_value, sample_hit_miss  # noqa: F401

KIND = "trigger"

NUMBER_TYPES = ("integer", "decimal", "money")
#: field types a condition can test, by operator
TIME_TYPES = ("date", "datetime")
OPS_TYPES = {"in": ("enum",), "not_in": ("enum",), "gt": NUMBER_TYPES, "gte": NUMBER_TYPES, "lt": NUMBER_TYPES,
             "lte": NUMBER_TYPES, "is_true": ("boolean",), "is_false": ("boolean",), "older_than_days": TIME_TYPES}
#: conditions on time passing: a scheduled run checks them (on="time"), no write makes them start to hold
TIME_OPS = ("older_than_days",)
#: the built-in field a time condition may test besides the entity's date/datetime fields: when a record was added
CREATED_AT = "created_at"
MAX_DAYS = 3650
#: the setting holding the bearer token Cloud Scheduler sends to a time trigger's run-due
TOKEN_SETTING = "TRIGGERS_TOKEN"
SCHEDULE = "0 * * * *"  # hourly: a rule stated in whole days acts within the hour the days have passed
#: field types a fixed value (create `values`, set `value`) may be given for
FIXED_TYPES = ("text", "long_text", "enum", "integer", "decimal", "money", "boolean", "email", "phone", "url")
TEXTUAL = ("text", "long_text", "email", "phone", "url")
Value = Union[bool, int, float, str]  # noqa: UP007


class Condition(SpecModel):
    field: Name = Field(description="field of the watched entity whose new value is tested, e.g. status, weight; "
                                     "older_than_days: a date/datetime field, or created_at (when it was added)")
    op: Literal["in", "not_in", "gt", "gte", "lt", "lte", "is_true", "is_false", "older_than_days"] = Field(
        description="in/not_in: an enum field is (not) one of `values`; gt/gte/lt/lte: a number field is above, at "
                    "least, below, at most `number`; is_true/is_false: a boolean field; older_than_days: more than "
                    "`number` whole days have passed since the date field (needs on='time')")
    values: list[Name] = Field(default_factory=list, description="in/not_in: the enum values, e.g. ['failed']")
    number: float | None = Field(default=None, description="gt/gte/lt/lte: the threshold, e.g. 3500; "
                                                           "older_than_days: the days, a whole number from 1, e.g. 30")


class CreateAction(SpecModel):
    type: Literal["create"] = "create"
    entity: Name = Field(description="the entity a record is created of, e.g. repair_ticket")
    link_field: Name = Field(description="reference field of the created record pointing back at the watched record "
                                         "(or, with via_field, at the record via_field points at), e.g. van_id")
    via_field: Name | None = Field(default=None, description="required reference field of the watched record: link "
                                   "the new record to what it points at (the defect's van) instead of the record")
    values: dict[Name, Value] = Field(default_factory=dict, description="fixed values of the new record's fields, "
                                      "e.g. {'status': 'open'}")
    copy_fields: dict[Name, Name] = Field(default_factory=dict, description="new record's field -> watched record's "
                                          "field whose value it takes, e.g. {'title': 'summary'}")


class SetAction(SpecModel):
    type: Literal["set"] = "set"
    via_field: Name | None = Field(default=None, description="None: set the field on the watched record itself; else "
                                   "a reference field of it: set the field on the record it points at (the crane)")
    field: Name = Field(description="the field set, e.g. status")
    value: Value = Field(description="the value it is set to, e.g. 'out_of_service'")


class BlockAction(SpecModel):
    type: Literal["block"] = "block"
    via_field: Name = Field(description="required reference field of the watched record: its parent, e.g. van_id")
    field: Name = Field(description="enum field of the parent whose change is refused, e.g. status")
    values: list[Name] = Field(min_length=1, description="values the parent may not take while a matching record "
                               "exists, e.g. ['available']")


class NotifyAction(SpecModel):
    type: Literal["notify"] = "notify"
    channel: Literal["email", "sms"] = Field(default="email", description="how the message goes: email (to an "
                                             "email field, or a role's users' login emails) or sms (to a phone "
                                             "field, or a role's users' own phone numbers)")
    join_entity: Name | None = Field(default=None, description="a fan-out: the records that link TO the watched one "
                                     "(the bookings of a trip); each one's person is told, once per address")
    join_field: Name | None = Field(default=None, description="with join_entity: its reference field pointing at "
                                    "the watched record, e.g. trip_id")
    via_field: Name | None = Field(default=None, description="None: the address field is the watched record's (or "
                                   "the join record's); else a reference field of it (of the join record with "
                                   "join_entity): the address field is the referenced record's (the passenger)")
    then_field: Name | None = Field(default=None, description="with via_field (not join_entity): a reference field "
                                    "of the record via_field points at; the address field is the record it points "
                                    "at in turn (the accident's child's parent), and only that person is told")
    email_field: Name | None = Field(default=None, description="channel email: the email field holding the address")
    phone_field: Name | None = Field(default=None, description="channel sms: the phone field holding the number")
    role: Name | None = Field(default=None, description="or: every user of this role is told (by email: their "
                              "login; by sms: the phone they gave; one without a phone is skipped, and the firing "
                              "says so)")
    message: str | None = Field(default=None, max_length=300, description="the message; None = a sentence naming "
                                "the record and the condition")

    @property
    def address_field(self) -> str | None:
        """The field holding the address the channel sends to (None when a role is told)."""
        return self.phone_field if self.channel == "sms" else self.email_field


Action = Annotated[Union[CreateAction, SetAction, BlockAction, NotifyAction], Field(discriminator="type")]  # noqa: UP007


class Params(CapabilityBase):
    kind: Literal["trigger"] = "trigger"
    entity: Name = Field(description="the watched records, e.g. defect, load, plot")
    on: Literal["create", "change", "create_or_change", "time"] = Field(
        default="create_or_change", description="fire when a record is created with the condition holding, when a "
                                                "change makes it hold, or both; time: a scheduled run (POST "
                                                "/api/<id>/run-due) acts on the records meeting the condition then "
                                                "(needs an older_than_days condition)")
    conditions: list[Condition] = Field(default_factory=list, max_length=4, description="all must hold on the new "
                                        "values; empty = every new record (with on='create')")
    action: Action = Field(description="the one thing done, with `type` create, set, block or notify (not block "
                                        "with on='time')")


PACKAGES: list[str] = []


def ref_target(spec, entity: str, field: str | None) -> str | None:
    """The entity a reference field of `entity` points at (None when it is not a reference)."""
    ent = spec.entity(entity)
    f = ent.field(field) if ent is not None and field else None
    return f.ref if f is not None and f.type == "reference" else None


def flow_of(cap: Params, spec):
    """The workflow whose state field a condition of this trigger tests (it moves the state only through its
    transitions), or None. A time trigger's run reads the stored state, so it follows no workflow."""
    if cap.on == "time":
        return None
    tested = {c.field for c in cap.conditions}
    return next((c for c in spec.capabilities if c.kind == "workflow" and getattr(c, "entity", None) == cap.entity
                 and c.state_field in tested), None)


def flow_path(wf, start: str, goal: str) -> list | None:
    """The shortest list of the workflow's transitions from state `start` to `goal` ([] when they are the same;
    None when no path leads there)."""
    seen, queue = {start: []}, [start]
    while queue:
        s = queue.pop(0)
        if s == goal:
            return seen[s]
        for t in wf.transitions:
            if s in t.from_states and t.to not in seen:
                seen[t.to] = [*seen[s], t]
                queue.append(t.to)
    return None


def flow_mover(spec, t, writer: str | None) -> str:
    """The role that makes transition `t` in the tests: the writer of the record when it may, else a role that
    may move records it did not create, else the first allowed role."""
    if writer in t.roles:
        return writer
    return next((r for r in t.roles if spec.role(r) is None or spec.role(r).scope != "own"), t.roles[0])


def flow_values(cap: Params, spec, wf) -> tuple[dict, dict | None, dict | None]:
    """(hit, miss, again) for a trigger on a workflow's state: miss and again differ from hit only in the state,
    so a record reaches each by transitions alone; miss is the initial state when it misses the condition (else
    the first state that misses it), again a state that still meets it and is reachable from hit (None: none)."""
    from ._trigger_values import hit_again

    hit, _miss = hit_and_miss(cap, spec)
    c = next(x for x in cap.conditions if x.field == wf.state_field)
    f = spec.entity(cap.entity).field(wf.state_field)

    def meets(v):
        return (v in c.values) == (c.op == "in")

    out = [v for v in [wf.initial, *f.values] if not meets(v)]
    miss = {**hit, wf.state_field: out[0]} if out else None
    again = hit_again(cap, spec)
    if again is not None and ({k for k in again if again[k] != hit[k]} != {wf.state_field}
                              or flow_path(wf, hit[wf.state_field], again[wf.state_field]) is None):
        again = None
    return hit, miss, again


def _flow_ctx(cap: Params, spec, hit: dict, miss: dict | None) -> dict:
    """For the templates: the workflow moving a tested state (None), its transitions with the role the tests make
    each as, the states a record may still be edited in, and `back`: the hit values with the nearest state out of
    the condition that transitions lead to from the hit state (None without one: a record crosses into the
    condition once and never leaves it)."""
    from . import workflow as w

    wf = flow_of(cap, spec)
    if wf is None:
        return {"flow": None}
    from . import _bind as b

    writer = b.writer_role(spec, cap.entity)
    field = wf.state_field
    c = next(x for x in cap.conditions if x.field == field)
    # the nearest state out of the condition a record that met it can be moved to (None: it never leaves)
    paths = [(len(p), s) for s in wf.states if (s in c.values) != (c.op == "in")
             and (p := flow_path(wf, hit[field], s)) is not None]
    back = {**hit, field: min(paths)[1]} if miss is not None and paths else None
    return {"flow": {"cap": wf.id, "field": field, "initial": wf.initial, "editable": w.editable(wf), "back": back,
                     "transitions": [[t.name, list(t.from_states), t.to, flow_mover(spec, t, writer), list(t.roles)]
                                     for t in wf.transitions]}}


def links_once(cap: Params, spec) -> bool:
    """A fan-out whose join records link each person to a watched record at most once (a many-to-many's link
    entity, or the sign-ups of an enrolment: a second link of the same pair is refused with 409), so the tests and
    criteria link nobody twice."""
    from ..compiler import link_pairs

    a = cap.action
    if a.type != "notify" or not a.join_entity or not a.join_field or not a.via_field:
        return False
    pair = {a.join_field, a.via_field}
    return any(set(p) == pair for p in link_pairs(spec).get(a.join_entity, [])) or any(
        c.kind == "enrolment" and c.entity == a.join_entity and {c.record_field, c.person_field} == pair
        for c in spec.capabilities)


def acted_on(cap: Params, spec) -> str | None:
    """The entity the action's fields belong to: the created one, the record set, the parent or the one told
    (through the join record of a fan-out)."""
    a = cap.action
    if a.type == "create":
        return a.entity
    base = a.join_entity if a.type == "notify" and a.join_entity else cap.entity
    target = ref_target(spec, base, a.via_field) if a.via_field else base
    if a.type == "notify" and a.then_field and target:
        return ref_target(spec, target, a.then_field)
    return target


def via_of(cap: Params, spec) -> str | None:
    """The entity the action's via_field points at (the child of a two-step notify; else the acted record)."""
    a = cap.action
    if not a.via_field:
        return None
    return ref_target(spec, a.join_entity if a.type == "notify" and a.join_entity else cap.entity, a.via_field)


def _value_problem(f, value, what: str) -> str | None:
    """None when `value` fits field `f` (its type, its enum values and its bounds)."""
    if f.type not in FIXED_TYPES:
        return f"{what} is a {f.type} field; give it no fixed value (copy it instead)"
    if f.type == "boolean":
        ok = isinstance(value, bool)
    elif f.type in NUMBER_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and (f.type != "integer"
                                                                                 or float(value).is_integer())
        if ok and ((f.min is not None and value < f.min) or (f.max is not None and value > f.max)):
            return f"{what} = {value!r} is outside its bounds ({f.min} to {f.max})"
    else:
        ok = isinstance(value, str)
    if not ok:
        return f"{what} is a {f.type} field but the value {value!r} is not one"
    if f.type == "enum" and value not in f.values:
        return f"{what} = {value!r} is not one of its values {f.values}"
    return None


def is_time(c: Condition) -> bool:
    """Is this a condition on time passing (checked by a scheduled run, not at a write)?"""
    return c.op in TIME_OPS


def time_condition(cap: Params) -> Condition | None:
    """The trigger's condition on time passing (None for a trigger fired by writes)."""
    return next((c for c in cap.conditions if is_time(c)), None)


def _time_field_problem(cap: Params, spec, c: Condition, what: str) -> str | None:
    from . import _bind as b

    if c.field == CREATED_AT:
        return None
    m = b.field_problem(spec, cap.entity, c.field, what + ": field", TIME_TYPES)
    return m and f"{m}; or {CREATED_AT}, when the {cap.entity} was added"


def _time_problems(cap: Params) -> list[str]:
    """A time condition needs on='time' and a whole number of days; on='time' needs one time condition."""
    p: list[str] = []
    timed = [(i, c) for i, c in enumerate(cap.conditions) if is_time(c)]
    for i, c in timed:
        what = f"condition {i + 1} ({c.field} {c.op})"
        if c.number is None:
            p.append(f"{what} needs number: how many whole days must pass since {cap.entity}.{c.field}, e.g. 30")
        elif not float(c.number).is_integer() or not 1 <= c.number <= MAX_DAYS:
            p.append(f"{what}: {c.number:g} is not a whole number of days from 1 to {MAX_DAYS}; give whole days, "
                     f"e.g. 30")
        if c.values:
            p.append(f"{what} takes no values (they are for in/not_in)")
        if cap.on != "time":
            p.append(f"{what} is about time passing, which no write makes happen; set on to 'time' so a scheduled "
                     f"run checks it")
    if len(timed) > 1:
        p.append(f"conditions {[i + 1 for i, _c in timed]} all test time passing; keep one older_than_days "
                 f"condition")
    if cap.on == "time" and not timed:
        p.append(f"on 'time' needs an older_than_days condition: a date field of {cap.entity} (or {CREATED_AT}) and "
                 f"how many days must pass, e.g. found_on older than 30 days; without one, use on 'create' or "
                 f"'change'")
    return p


def _condition_problems(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p: list[str] = []
    ent = spec.entity(cap.entity)
    for i, c in enumerate(cap.conditions):
        what = f"condition {i + 1} ({c.field} {c.op})"
        if is_time(c):
            p += [m for m in (_time_field_problem(cap, spec, c, what),) if m]
            continue
        m = b.field_problem(spec, cap.entity, c.field, what + ": field", OPS_TYPES[c.op])
        if m:
            p.append(m)
            continue
        f = ent.field(c.field) if ent is not None else None
        if f is None:
            continue
        if c.op in ("in", "not_in"):
            if not c.values:
                p.append(f"{what} needs values: the values of {cap.entity}.{c.field} it tests, from {f.values}")
            unknown = [v for v in c.values if v not in f.values]
            if unknown:
                p.append(f"{what}: {unknown} are not values of {cap.entity}.{c.field}; its values: {f.values}")
            if c.op == "in" and set(c.values) >= set(f.values) or c.op == "not_in" and not set(f.values) - set(c.values):
                p.append(f"{what} holds for every value of {cap.entity}.{c.field}; name fewer values")
        elif c.op in ("gt", "gte", "lt", "lte"):
            if c.number is None:
                p.append(f"{what} needs number: the threshold {cap.entity}.{c.field} is compared with")
            elif sample_hit_miss(f, c) is None:
                p.append(f"{what}: {c.number:g} leaves no value of {cap.entity}.{c.field} (min {f.min}, max {f.max}) "
                         f"on one side of it; choose a threshold inside the field's bounds")
        if c.op not in ("in", "not_in") and c.values:
            p.append(f"{what} takes no values (they are for in/not_in)")
        if c.op not in ("gt", "gte", "lt", "lte") and c.number is not None:
            p.append(f"{what} takes no number (it is for gt/gte/lt/lte)")
    fields = [c.field for c in cap.conditions]
    if len(set(fields)) != len(fields):
        p.append(f"conditions test {sorted({x for x in fields if fields.count(x) > 1})} twice; one condition per field")
    p += _time_problems(cap)
    if not cap.conditions and cap.on not in ("create", "time"):
        p.append("without conditions every edit would fire; set on to 'create' or add a condition")
    return p


def _create_problems(cap: Params, spec) -> list[str]:
    from . import _bind as b

    a = cap.action
    p = [m for m in (b.entity_problem(spec, a.entity, "created entity"),) if m]
    target = spec.entity(a.entity)
    src = spec.entity(cap.entity)
    if target is None or src is None:
        return p
    linked = ref_target(spec, cap.entity, a.via_field) if a.via_field else cap.entity
    if a.via_field:
        m = b.field_problem(spec, cap.entity, a.via_field, "via_field", ("reference",))
        if m:
            return p + [m]
        if not src.field(a.via_field).required:
            p.append(f"via_field {cap.entity}.{a.via_field} must be required, or a {cap.entity} without one would "
                     f"create a {a.entity} linked to nothing; set required to true")
    m = b.field_problem(spec, a.entity, a.link_field, "link_field", ("reference",), ref=linked)
    if m:
        p.append(m)
    if a.entity == cap.entity:
        p.append(f"the created entity is the watched one ({cap.entity}); a trigger creates a record of another entity")
    for name, value in a.values.items():
        f = target.field(name)
        if f is None:
            p.append(f"values: {name!r} is not a field of {a.entity!r}; its fields: {[x.name for x in target.fields]}")
        elif name == a.link_field or f.type == "reference":
            p.append(f"values: {a.entity}.{name} is a reference; it is set by link_field or copy_fields")
        else:
            m = _value_problem(f, value, f"values: {a.entity}.{name}")
            if m:
                p.append(m)
    for name, source in a.copy_fields.items():
        f, sf = target.field(name), src.field(source)
        if f is None:
            p.append(f"copy_fields: {name!r} is not a field of {a.entity!r}")
        elif sf is None:
            p.append(f"copy_fields: {source!r} is not a field of {cap.entity!r}; its fields: "
                     f"{[x.name for x in src.fields]}")
        elif not (f.type == sf.type and f.ref == sf.ref or f.type in ("text", "long_text") and sf.type in
                  (*TEXTUAL, "enum")):
            p.append(f"copy_fields: {a.entity}.{name} is a {f.type} field and cannot take {cap.entity}.{source} "
                     f"({sf.type})")
        elif f.type == "enum" and set(sf.values) - set(f.values):
            p.append(f"copy_fields: {cap.entity}.{source} may be {sorted(set(sf.values) - set(f.values))}, which "
                     f"{a.entity}.{name} does not allow")
        elif f.type == "text" and f.max and (sf.max is None or sf.max > f.max) and sf.type != "enum":
            p.append(f"copy_fields: {cap.entity}.{source} may be longer than {a.entity}.{name} allows ({f.max:g})")
        if name in a.values or name == a.link_field:
            p.append(f"{a.entity}.{name} is given twice (in values, copy_fields or link_field)")
    given = {a.link_field, *a.values, *a.copy_fields}
    missing = [f.name for f in target.fields if f.required and f.default is None and f.type != "boolean"
               and f.name not in given]
    if missing:
        p.append(f"the created {a.entity} needs its required fields {missing}; give them in values or copy_fields")
    unique = [f.name for f in target.fields if f.unique and f.name in given and f.name not in a.copy_fields]
    if unique:
        p.append(f"{a.entity}.{unique[0]} is unique, so a fixed value would clash on the second firing; copy it")
    if not cap.conditions and not a.via_field:
        p.append(f"without conditions every new {cap.entity} creates a {a.entity} linked to it, so no {cap.entity} "
                 f"could be deleted; add a condition or link through via_field")
    return p


def _notify_problems(cap: Params, spec, target: str) -> list[str]:
    """A notify names one way to reach someone: an address field of the channel's type (on the watched record,
    the one via_field points at, or, in a fan-out, on each join record or the record it points at), or a role
    whose users are told (by email: their login; by sms: the optional phone each gave)."""
    from . import _bind as b

    a = cap.action
    p: list[str] = []
    kind, want = ("phone", "phone_field") if a.channel == "sms" else ("email", "email_field")
    other = "email_field" if a.channel == "sms" else "phone_field"
    if getattr(a, other):
        p.append(f"notify: {other} is for channel {'email' if a.channel == 'sms' else 'sms'}; with channel "
                 f"{a.channel} give {want}")
    if a.join_field and not a.join_entity:
        p.append("notify: join_field is used only with join_entity (the records linking to the watched one)")
    if (a.address_field is None) == (a.role is None):
        p.append(f"notify: set exactly one of {want} (a {kind} field of {target}) and role (every user of a role is "
                 f"told by email)")
    if a.address_field:
        p += [m for m in (b.field_problem(spec, target, a.address_field, f"notify: {want}", (kind,)),) if m]
    if a.role:
        p += [m for m in (b.role_problem(spec, a.role, "notify: role"),) if m]
        if a.via_field or a.join_entity:
            p.append(f"notify: via_field and join_entity are used only with {want}")
    return p


def _join_problems(cap: Params, spec) -> list[str]:
    """A fan-out names an entity other than the watched one, and its required reference to the watched one."""
    from . import _bind as b

    a = cap.action
    m = b.entity_problem(spec, a.join_entity, "notify: join_entity")
    if m:
        return [m]
    if a.join_entity == cap.entity:
        return [f"notify: join_entity is the watched entity ({cap.entity}); name the records that link to it"]
    if not a.join_field:
        return [f"notify: join_entity {a.join_entity} needs join_field, its reference field to {cap.entity}"]
    return [m for m in (b.field_problem(spec, a.join_entity, a.join_field, "notify: join_field", ("reference",),
                                        ref=cap.entity),) if m]


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p = [m for m in (b.entity_problem(spec, cap.entity, "watched entity"),
                     b.no_writer_problem(spec, cap.entity, "watched entity")) if m]
    if spec.entity(cap.entity) is None:
        return p
    p += _condition_problems(cap, spec)
    a = cap.action
    wf = flow_of(cap, spec)
    if wf is not None and a.type in ("set", "block"):
        # a set or block acts inside the write that crosses; a transition moves the state by its own statement,
        # and its tests would have to edit a record the workflow may have frozen: only notify and create follow it
        p.append(f"a condition tests {cap.entity}.{wf.state_field}, which workflow {wf.id!r} moves only through "
                 f"its transitions; a {a.type} action is not run on a transition: notify or create instead, or "
                 f"test another field")
    if a.type == "create":
        return p + _create_problems(cap, spec)
    joined = a.type == "notify" and a.join_entity
    if joined and (problems := _join_problems(cap, spec)):
        return p + problems
    if a.via_field:
        m = b.field_problem(spec, a.join_entity if joined else cap.entity, a.via_field, "via_field", ("reference",))
        if m:
            return p + [m]
    if a.type == "notify" and a.then_field:
        if not a.via_field or joined:
            return p + ["notify: then_field is used only with via_field and without join_entity (the record "
                        "via_field points at links on to the person told)"]
        m = b.field_problem(spec, via_of(cap, spec), a.then_field, "notify: then_field", ("reference",))
        if m:
            return p + [m]
    target = acted_on(cap, spec)
    tent = spec.entity(target)
    if a.type == "set":
        f = tent.field(a.field)
        if f is None:
            p.append(f"set: {a.field!r} is not a field of {target!r}; its fields: {[x.name for x in tent.fields]}")
        else:
            p += [m for m in (_value_problem(f, a.value, f"set: {target}.{a.field}"),) if m]
        if a.via_field is None and a.field in {c.field for c in cap.conditions} and cap.on != "time":
            # a time trigger may move the field it tests ("unclaimed after 30 days -> for donation"): the run acts
            # once per episode, and a record that stops matching opens a new one only when it matches again
            p.append(f"set: {cap.entity}.{a.field} is tested by a condition; set another field")
        if a.via_field is None and any(getattr(c, "entity", None) == cap.entity and c.kind == "workflow"
                                       and c.state_field == a.field for c in spec.capabilities):
            p.append(f"set: {cap.entity}.{a.field} is a workflow's state; let the workflow move it")
    elif a.type == "block":
        if cap.on == "time":
            p.append("block cannot wait for time to pass: it refuses a change of the parent at the moment it is "
                     "written, while a time trigger acts in a scheduled run; use set (e.g. set the parent's status), "
                     "create or notify, or drop the older_than_days condition and set on to 'create_or_change'")
        m = b.field_problem(spec, target, a.field, "block: field", ("enum",))
        if m:
            p.append(m)
        elif unknown := [v for v in a.values if v not in tent.field(a.field).values]:
            p.append(f"block: {unknown} are not values of {target}.{a.field}; its values: {tent.field(a.field).values}")
        elif not set(tent.field(a.field).values) - set(a.values):
            p.append(f"block: every value of {target}.{a.field} is blocked; leave at least one allowed")
        if not spec.entity(cap.entity).field(a.via_field).required:
            p.append(f"via_field {cap.entity}.{a.via_field} must be required: a {cap.entity} blocks the {target} it "
                     f"belongs to; set required to true")
        if not cap.conditions:
            p.append(f"block needs a condition: which {cap.entity} records block (e.g. status in ['open'])")
    elif a.type == "notify":
        p += _notify_problems(cap, spec, target)
    return p


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """A new row of the generic tests (and of other capabilities' tests) does not fire: the first condition's field
    takes a value that misses it. Without conditions, a field set on the record itself takes the set value. A time
    trigger fires only in its scheduled run, so it manages no field."""
    if cap.on == "time" or flow_of(cap, spec) is not None:  # nothing fires at a write / the workflow's state
        return {}
    if cap.conditions:
        c = cap.conditions[0]
        f = spec.entity(cap.entity).field(c.field)
        hm = sample_hit_miss(f, c) if f is not None else None
        return {(cap.entity, c.field): hm[1]} if hm else {}
    a = cap.action
    return {(cap.entity, a.field): a.value} if a.type == "set" and a.via_field is None else {}


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b

    r = b.readers(spec, cap.entity)
    out = [Route(method="GET", path=f"/api/{cap.id}/firings", summary="what the trigger did, newest first "
                 "(source_id= for one record): source, crossing, action, summary, time", roles=r),
           Route(method="GET", path=f"/{cap.id}/", summary="page: what the trigger did", roles=r)]
    if cap.action.type == "notify":
        out.append(Route(method="GET", path=f"/api/{cap.id}/outbox", summary="the messages the trigger put in the "
                         "outbox", roles=["owner"]))
    if cap.on == "time":
        managers = [x.name for x in spec.roles if x.manage_users]
        out += [Route(method="POST", path=f"/api/{cap.id}/run-due", roles=managers,
                      summary=f"act once on every record meeting the condition now (Cloud Scheduler: Authorization: "
                              f"Bearer {TOKEN_SETTING})"),
                Route(method="GET", path=f"/api/{cap.id}/due", roles=r,
                      summary="the records the next run would act on")]
    return out


def scheduled_jobs(cap: Params, spec) -> list[dict]:
    """What the deployment schedules (Cloud Scheduler) for a time trigger: its run-due, every hour."""
    if cap.on != "time":
        return []
    return [{"name": f"{spec.slug}-{cap.id}-run-due".replace("_", "-")[:60], "schedule": SCHEDULE,
             "method": "POST", "path": f"/api/{cap.id}/run-due", "auth_header": "Authorization: Bearer",
             "token_setting": TOKEN_SETTING}]


def settings(cap: Params, spec) -> list[tuple[str, str]]:
    """The settings a time trigger reads (the generated README lists them); a trigger fired by writes reads none."""
    if cap.on != "time":
        return []
    return [(TOKEN_SETTING, "trigger (time): bearer token Cloud Scheduler sends to `POST /api/<capability>/run-due` "
                            "(`Authorization: Bearer …`, at least 16 characters; keep it in Secret Manager)")]


def _roles(cap: Params, spec) -> dict:
    """The roles the generated tests act as."""
    from . import _bind as b

    writers = b.writers(spec, cap.entity)
    acted = acted_on(cap, spec)
    # a role that writes the watched records but not what the action touches: the trigger acts for it anyway
    proxy = next((w for w in writers if w != "owner" and acted not in spec.role(w).write), None)
    return {"writer": b.writer_role(spec, cap.entity), "proxy": proxy,
            "outsider": next((r for r in b.readers(spec, cap.entity) if r not in writers), None),
            "stranger": b.non_reader_role(spec, cap.entity),
            "acted_writer": b.writer_role(spec, acted) or "owner"}


def _time_ctx(cap: Params, spec) -> dict:
    """A time trigger's field (an entity's date/datetime field or created_at), its type and days, for the
    templates (None for a trigger fired by writes)."""
    from . import _bind as b

    c = time_condition(cap)
    if c is None:
        return {"time_field": None, "time_type": None, "days": None, "token_setting": TOKEN_SETTING,
                "staff": None}
    f = spec.entity(cap.entity).field(c.field)
    # a role that writes the watched records but does not manage users: it may not run the due work
    staff = next((w for w in b.writers(spec, cap.entity) if not spec.role(w).manage_users), None)
    return {"time_field": c.field, "time_type": f.type if f is not None else "datetime", "days": int(c.number),
            "token_setting": TOKEN_SETTING, "staff": staff}


def join_max(cap: Params, spec) -> int | None:
    """How many join rows one record may have, when a limit caps them ("a visit can be claimed by only one
    sibling"): the fan-out's own test then links no more than that many people to the record."""
    a = cap.action
    if a.type != "notify" or not a.join_entity:
        return None
    caps = [c.max for c in spec.capabilities if c.kind == "limit" and c.entity == a.join_entity
            and getattr(c, "scope", None) == "parent" and c.parent_field == a.join_field and c.max is not None
            and not getattr(c, "pair_field", None) and not getattr(c, "per_user", False)
            and not getattr(c, "sum_field", None)]
    return min(caps) if caps else None


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    acted = spec.entity(acted_on(cap, spec))
    hit, miss = hit_and_miss(cap, spec)
    again = hit_again(cap, spec)
    wf = flow_of(cap, spec)
    if wf is not None:
        hit, miss, again = flow_values(cap, spec, wf)
    a = cap.action
    types = {}
    if a.type == "create":
        types = {f.name: f.type for f in acted.fields if f.name in a.values or f.name in a.copy_fields}
    rule = describe_rule(cap, spec)
    joined = a.join_entity if a.type == "notify" else None
    other = [[f.name, f.ref] for f in ent.fields if f.type == "reference" and (joined or f.name != a.via_field)]
    via = ref_target(spec, joined or cap.entity, a.via_field) if a.via_field else None
    fixed_json, start = {}, None
    if a.type == "create":
        fixed_json = {k: f"{float(v):.2f}" if types[k] == "money" else float(v) if types[k] == "decimal" else v
                      for k, v in a.values.items()}
    elif a.type == "set":
        # the value the record starts with; a time trigger that moves a field it tests starts it meeting the test
        start = hit[a.field] if a.via_field is None and a.field in hit else other_value(acted.field(a.field), a.value)
    elif a.type == "block":
        start = next(v for v in acted.field(a.field).values if v not in a.values)
    then = a.type == "notify" and a.then_field or None
    ctx = {"ent": ent, "acted": acted, "via_ent": spec.entity(via) if via else None, "then": then, "hit": hit, "miss": miss,
           "again": again, **_flow_ctx(cap, spec, hit, miss),
           "rule_text": rule[:1].upper() + rule[1:], "cond_text": describe_condition(cap, spec), "types": types,
           "fixed_json": fixed_json, "start": start, "display": b.free_text_display(ent),
           "detail": b.detail_path(spec, cap.entity), "other_refs": other, "join_ent": spec.entity(joined)
           if joined else None, "links_once": links_once(cap, spec), "join_max": join_max(cap, spec),
           "conditions": [[c.field, c.op, list(c.values), int(c.number) if is_time(c) else c.number]
                          for c in cap.conditions],
           "condition_types": {c.field: ent.field(c.field).type for c in cap.conditions if not is_time(c)},
           **_time_ctx(cap, spec), **_roles(cap, spec)}
    d = "capabilities/trigger/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
