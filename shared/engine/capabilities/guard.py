"""Capability `guard`: An action on a record (creating it, or moving its status to a value) is refused with 409 and a sentence naming the rule until a condition holds on the record or on the record it points at: a yes/no field is true (a member's subscription is paid), a date plus a number of days has passed (a wheel made 90 days ago), every item of a linked checklist is ticked (a pupil's skills: records of their own, or the items of the record's checklist capability), or a cut-off before a time has not passed yet (entries close 24 hours before a race's liberation time). The check and the write happen in one transaction."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "guard"

TESTS = ("is_true", "days_since", "all_checked", "none_expired", "checklist_done", "count_at_least", "before_cutoff",
         "in_state", "not_expired")
#: tests that read the tested record's items (child_entity, linked by child_link)
CHILD_TESTS = ("all_checked", "none_expired", "count_at_least")
MAX_COUNT = 1000
MAX_DAYS = 3650
MAX_HOURS = 24 * 366  #: a cut-off up to a year before its time


class Params(CapabilityBase):
    kind: Literal["guard"] = "guard"
    entity: Name = Field(description="the records whose action is guarded, e.g. booking, wheel")
    on: Literal["create", "transition"] = Field(default="create", description="create: a new record is refused; "
                                                "transition: a change of `field` to one of `values` is refused")
    field: Name | None = Field(default=None, description="transition: the enum field whose change is refused, e.g. "
                                                         "status")
    values: list[Name] = Field(default_factory=list, description="transition: the values refused while the "
                               "condition fails, e.g. ['sold']")
    where_field: Name | None = Field(default=None, description="an enum field of `entity`: the guard holds back only "
                                     "records of the kinds in `where_values` (a mock test among lessons); None: all")
    where_values: list[Name] = Field(default_factory=list, description="the kinds held back, e.g. ['mock_test']")
    via_field: Name | None = Field(default=None, description="None: the condition is on the record itself; else a "
                                   "required reference field of it: the condition is on the record it points at "
                                   "(the member of a booking)")
    test: Literal["is_true", "days_since", "all_checked", "none_expired", "checklist_done",
                  "count_at_least", "before_cutoff", "in_state", "not_expired"] = Field(description=(
        "is_true: `test_field`, a boolean field of the tested record, is true; days_since: at least `days` whole "
        "days have passed since `test_field`, a date/datetime field of the tested record; all_checked: no `child_entity` "
        "record of the tested record (linked by `child_link`) has `test_field`, a boolean field of the child, "
        "false; none_expired: no such record has `test_field`, a date/datetime field of the child, in the past (a "
        "dog's vaccinations); checklist_done: no item of the tested record's checklist (the `checklist` "
        "capability) is unticked (a pupil's skills checklist); count_at_least: the tested record has at least "
        "`count` `child_entity` records (linked by `child_link`): two witnesses recorded for a will; before_cutoff: "
        "now is no later than `test_field`, a date/datetime field of the tested record (a date means the start of "
        "that day), minus `hours`: entries close 24 hours before a race's liberation time; a record with no time "
        "set is not held back; in_state: "
        "`test_field`, an enum field of the tested record (a workflow's state field when one moves it), is one of "
        "`test_values`: a cemetery permit approved; not_expired: `test_field`, a date/datetime field of the tested "
        "record, is today or later: a member's rod licence expiry"))
    test_field: Name | None = Field(default=None, description="the field tested, e.g. subscription_paid, make_date, "
                                    "ticked; None for checklist_done (the checklist's own tick)")
    checklist: Name | None = Field(default=None, description="checklist_done: the id of the checklist capability "
                                   "on the tested record whose items must all be ticked, e.g. checklist_pupil")
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS, description="days_since: the days, e.g. 90")
    count: int | None = Field(default=None, ge=1, le=MAX_COUNT, description="count_at_least: how many, e.g. 2")
    hours: int | None = Field(default=None, ge=1, le=MAX_HOURS, description="before_cutoff: how long before the "
                              "time the act closes, in hours (days times 24), e.g. 24")
    child_entity: Name | None = Field(default=None, description="all_checked: the checklist items, e.g. skill")
    child_link: Name | None = Field(default=None, description="all_checked: the items' reference to the tested "
                                    "record, e.g. pupil_id")
    test_values: list[Name] = Field(default_factory=list, description="in_state: the values of `test_field` that "
                                    "meet the condition, e.g. ['approved']")


PACKAGES: list[str] = []


def tested(cap: Params, spec) -> str | None:
    """The entity the condition reads: the record itself, or the one via_field points at."""
    if cap.via_field is None:
        return cap.entity
    ent = spec.entity(cap.entity)
    f = ent.field(cap.via_field) if ent is not None else None
    return f.ref if f is not None and f.type == "reference" else None


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p = [m for m in (b.entity_problem(spec, cap.entity, "entity"), b.no_writer_problem(spec, cap.entity, "entity"))
         if m]
    ent = spec.entity(cap.entity)
    if ent is None:
        return p
    if cap.on == "transition":
        m = b.field_problem(spec, cap.entity, cap.field or "", "field", ("enum",)) if cap.field else \
            "transition needs field: the enum field whose change is refused, e.g. status"
        if m:
            p.append(m)
        else:
            f = ent.field(cap.field)
            unknown = [v for v in cap.values if v not in f.values]
            if not cap.values:
                p.append(f"transition needs values: the values of {cap.entity}.{cap.field} refused, from {f.values}")
            elif unknown:
                p.append(f"values {unknown} are not values of {cap.entity}.{cap.field}; its values: {f.values}")
            elif not set(f.values) - set(cap.values):
                p.append(f"every value of {cap.entity}.{cap.field} is refused; leave at least one allowed")
    elif cap.field or cap.values:
        p.append("on 'create' takes no field or values (they are for on 'transition')")
    if cap.where_field:
        m = b.field_problem(spec, cap.entity, cap.where_field, "where_field", ("enum",))
        if m:
            p.append(m)
        else:
            f = ent.field(cap.where_field)
            if not cap.where_values or set(cap.where_values) - set(f.values):
                p.append(f"where_values must be values of {cap.entity}.{cap.where_field}: {f.values}")
            elif not set(f.values) - set(cap.where_values):
                p.append(f"where_values hold back every kind of {cap.entity}; drop where_field instead")
            if cap.where_field == cap.field:
                p.append("where_field and field must differ")
    elif cap.where_values:
        p.append("where_values go with where_field")
    if cap.via_field:
        m = b.field_problem(spec, cap.entity, cap.via_field, "via_field", ("reference",))
        if m:
            return p + [m]
        if not ent.field(cap.via_field).required:
            p.append(f"via_field {cap.entity}.{cap.via_field} must be required: the condition reads the record it "
                     f"points at; set required to true")
    target = tested(cap, spec)
    if cap.test == "checklist_done":
        if cap.child_entity or cap.child_link or cap.test_field:
            p.append("checklist_done takes no child_entity, child_link or test_field: it reads the checklist's items")
        ck = spec.capability(cap.checklist) if cap.checklist else None
        if ck is None or ck.kind != "checklist":
            p.append(f"checklist_done needs checklist: the id of a checklist capability on the {target}; "
                     f"{cap.checklist!r} is none")
        elif ck.entity != target:
            p.append(f"checklist {cap.checklist!r} is kept per {ck.entity}, but the condition reads the {target}")
    elif cap.checklist:
        p.append(f"{cap.test} takes no checklist (it is for checklist_done)")
    if cap.test == "checklist_done":
        pass
    elif cap.test == "count_at_least":
        if cap.test_field is not None:
            p.append("count_at_least takes no test_field: it counts the child_entity records")
        if not cap.child_entity or not cap.child_link:
            return p + [f"count_at_least needs child_entity and child_link: the records counted and their reference "
                        f"to the {target}"]
        p += [m for m in (
            b.entity_problem(spec, cap.child_entity, "child_entity"),
            b.field_problem(spec, cap.child_entity, cap.child_link, "child_link", ("reference",), ref=target)
            if spec.entity(cap.child_entity) else None) if m]
    elif cap.test_field is None:
        p.append(f"{cap.test} needs test_field: the field it reads")
    elif cap.test in CHILD_TESTS:
        if not cap.child_entity or not cap.child_link:
            return p + ["all_checked needs child_entity and child_link: the checklist items and their reference to "
                        f"the {target}"]
        p += [m for m in (
            b.entity_problem(spec, cap.child_entity, "child_entity"),
            b.field_problem(spec, cap.child_entity, cap.child_link, "child_link", ("reference",), ref=target)
            if spec.entity(cap.child_entity) else None,
            b.field_problem(spec, cap.child_entity, cap.test_field, "test_field",
                            ("boolean",) if cap.test == "all_checked" else ("date", "datetime"))
            if spec.entity(cap.child_entity) else None) if m]
    else:
        if cap.child_entity or cap.child_link:
            p.append(f"{cap.test} takes no child_entity or child_link (they are for all_checked)")
        types = ("boolean",) if cap.test == "is_true" else ("enum",) if cap.test == "in_state" else ("date", "datetime")
        m = b.field_problem(spec, target, cap.test_field, "test_field", types)
        if m:
            p.append(m)
        elif cap.test == "in_state":
            p += _state_problems(cap, spec, target)
    if cap.test != "in_state" and cap.test_values:
        p.append("test_values go with in_state only: the values of test_field that meet the condition")
    if (cap.test == "days_since") != (cap.days is not None):
        p.append("days goes with days_since only: how many whole days must pass since test_field, e.g. 90")
    if (cap.test == "before_cutoff") != (cap.hours is not None):
        p.append("hours goes with before_cutoff only: how many hours before test_field the act closes, e.g. 24")
    if (cap.test == "count_at_least") != (cap.count is not None):
        p.append("count goes with count_at_least only: how many records the tested record must have, e.g. 2")
    return p


def tested_flow(cap: Params, spec):
    """in_state: the workflow that moves the tested record's `test_field` (its state), or None (staff set it)."""
    target = tested(cap, spec)
    if cap.test != "in_state" or target is None:
        return None
    return next((c for c in spec.capabilities if c.kind == "workflow" and c.entity == target
                 and c.state_field == cap.test_field), None)


def state_moves(cap: Params, spec) -> list[list[str]]:
    """in_state on a workflow's state: the moves [transition, role] from its initial state to the first value met."""
    from .trigger import flow_mover, flow_path

    wf = tested_flow(cap, spec)
    path = flow_path(wf, wf.initial, cap.test_values[0]) if wf is not None and cap.test_values else None
    return [[t.name, flow_mover(spec, t, "owner")] for t in path or []]


def _state_problems(cap: Params, spec, target: str) -> list[str]:
    from .trigger import flow_path

    f = spec.entity(target).field(cap.test_field)
    p = []
    if not cap.test_values:
        return [f"in_state needs test_values: the values of {target}.{cap.test_field} that meet the condition, "
                f"from {f.values}"]
    unknown = [v for v in cap.test_values if v not in f.values]
    if unknown:
        return [f"test_values {unknown} are not values of {target}.{cap.test_field}; its values: {f.values}"]
    if not set(f.values) - set(cap.test_values):
        p.append(f"every value of {target}.{cap.test_field} meets the condition, so it never holds anything back; "
                 f"name only the values that do")
    if cap.via_field is None and cap.on == "transition" and cap.test_field == cap.field:
        p.append(f"the condition reads {cap.field}, the field whose change it refuses; test another field")
    wf = tested_flow(cap, spec)
    if wf is not None:
        if wf.initial in cap.test_values:
            p.append(f"a new {target} starts {wf.initial!r}, which already meets the condition; drop it from "
                     f"test_values")
        elif flow_path(wf, wf.initial, cap.test_values[0]) is None:
            p.append(f"no transition of workflow {wf.id!r} reaches {cap.test_values[0]!r} from {wf.initial!r}")
        if cap.via_field is None:
            p.append("in_state on a workflow's state needs via_field: the record the workflow moves is another one")
        if cap.on == "create":
            p.append(f"holding back a new {cap.entity} until a {target} reaches a state of workflow {wf.id!r} is not "
                     f"built yet (a new {target} starts {wf.initial!r}, so every other test's new {cap.entity} would "
                     f"be refused); guard a move of the {cap.entity}'s status instead (on: transition)")
    return p


def describe_rule(cap: Params, spec) -> str:
    """The rule in the spec's nouns: "a booking cannot be added until its member's season subscription paid is
    yes"."""
    ent = spec.entity(cap.entity)
    label = ent.label.lower() if ent else cap.entity.replace("_", " ")
    if cap.where_field:
        label = f"{label} of kind {' or '.join(v.replace('_', ' ') for v in cap.where_values)}"
    if cap.on == "create":
        act = f"a {label} cannot be added"
    else:
        act = f"a {label} cannot be made {' or '.join(v.replace('_', ' ') for v in cap.values)}"
    if cap.test == "before_cutoff":
        return f"{act} {condition_words(cap, spec)}"
    return f"{act} until {condition_words(cap, spec)}"


def span_words(hours: int) -> str:
    """ "24 hours", "3 days": the cut-off as a founder says it."""
    if hours % 24 == 0 and hours >= 72:
        return f"{hours // 24} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def condition_words(cap: Params, spec) -> str:
    target = tested(cap, spec)
    tent = spec.entity(target) if target else None
    whose = "its" if cap.via_field is None else f"its {tent.label.lower() if tent else target}'s"
    if cap.test == "checklist_done":
        return f"every item of {whose} checklist is ticked"
    if cap.test == "count_at_least":
        child = spec.entity(cap.child_entity)
        items = (child.label_plural if cap.count != 1 else child.label).lower() if child else cap.child_entity
        return f"{whose.replace('its', 'it', 1) if whose == 'its' else whose} has at least {cap.count} {items}" \
            if whose != "its" else f"it has at least {cap.count} {items}"
    if cap.test == "all_checked":
        child = spec.entity(cap.child_entity)
        cf = child.field(cap.test_field) if child else None
        items = child.label_plural.lower() if child else cap.child_entity
        return f"every one of {whose} {items} is {(cf.label if cf else cap.test_field).lower()}"
    if cap.test == "none_expired":
        child = spec.entity(cap.child_entity)
        cf = child.field(cap.test_field) if child else None
        items = child.label_plural.lower() if child else cap.child_entity
        return f"none of {whose} {items} is past its {(cf.label if cf else cap.test_field).lower()}"
    f = tent.field(cap.test_field) if tent else None
    name = (f.label if f else cap.test_field).lower()
    if cap.test == "before_cutoff":
        return f"later than {span_words(cap.hours or 0)} before {whose} {name}"
    if cap.test == "is_true":
        return f"{whose} {name} is yes"
    if cap.test == "in_state":
        return f"{whose} {name} is {' or '.join(v.replace('_', ' ') for v in cap.test_values)}"
    if cap.test == "not_expired":
        return f"{whose} {name} is today or later"
    return f"{cap.days} days have passed since {whose} {name}"


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """A new row of the generic tests (and of other capabilities' tests) meets the condition, so only this
    capability's own tests and criteria see the refusal: the yes/no field is yes, the date long past, an item
    ticked. A checklist's items are the checklist's own, not fields: a new row of a kind held back is made of a kind
    that is not (the guard's own tests and criteria make the held-back kind)."""
    if cap.test == "checklist_done":
        ent = spec.entity(cap.entity)
        f = ent.field(cap.where_field) if ent is not None and cap.where_field else None
        free = next((v for v in f.values if v not in cap.where_values), None) if f is not None else None
        return {(cap.entity, cap.where_field): free} if free else {}
    if cap.test == "all_checked":
        return {(cap.child_entity, cap.test_field): True} if cap.child_entity else {}
    if cap.test == "count_at_least":  # held back only on a move to a status, which no generic test makes
        return {}
    if cap.test == "none_expired":
        child = spec.entity(cap.child_entity) if cap.child_entity else None
        f = child.field(cap.test_field) if child else None
        return {(cap.child_entity, cap.test_field): "2099-01-01" if f is not None and f.type == "date"
                else "2099-01-01T09:00:00"} if f is not None else {}
    target = tested(cap, spec)
    if target is None:
        return {}
    if cap.test == "is_true":
        return {(target, cap.test_field): True}
    if cap.test == "in_state" and tested_flow(cap, spec) is not None:
        # the tested record starts in its workflow's initial state, which fails: a new row of the generic tests is
        # made in a status the guard lets through (the guard's own tests and criteria make the guarded move)
        ent = spec.entity(cap.entity)
        f = ent.field(cap.field) if ent is not None and cap.on == "transition" and cap.field else None
        free = next((v for v in f.values if v not in cap.values), None) if f is not None else None
        return {(cap.entity, cap.field): free} if free and flow_of(cap, spec) is None else {}
    if cap.test == "in_state":
        return {(target, cap.test_field): cap.test_values[0]} if cap.test_values else {}
    f = spec.entity(target).field(cap.test_field) if spec.entity(target) else None
    if cap.test == "before_cutoff":  # a time far ahead: the cut-off has not passed
        return {(target, cap.test_field): far_future(f)}
    if cap.test == "not_expired":
        return {(target, cap.test_field): far_future(f)}
    return {(target, cap.test_field): "2000-01-01" if f is not None and f.type == "date" else "2000-01-01T09:00:00"}


def far_future(f) -> str:
    """A time no cut-off reaches (a date far ahead), as the field's type writes it."""
    return "2099-01-01" if f is not None and f.type == "date" else "2099-01-01T09:00:00"


def staff_fields(cap: Params, spec) -> list[tuple[str, str]]:
    """The yes/no or date field the condition reads on another record (the person or thing the guarded row points
    at) is set by staff: otherwise the person held back (a researcher on their own record) could tick their own
    induction."""
    target = tested(cap, spec)
    if not (target and cap.via_field and cap.test in ("is_true", "days_since", "not_expired", "in_state")
            and cap.test_field):
        # a condition on the record itself (its own bake date) is the record's own data; so is the time a cut-off
        # reads (a sitting's start): whoever may change that record reschedules it, and someone whose rows are their
        # own changes only their own
        return []
    if tested_flow(cap, spec) is not None:
        return []  # a workflow's state moves only through its transitions, each limited to its roles
    return [(target, cap.test_field)]


def routes(cap: Params, spec) -> list:
    return []


def _roles(cap: Params, spec) -> dict:
    from . import _bind as b

    writer = b.writer_role(spec, cap.entity)
    target = tested(cap, spec)
    return {"writer": writer, "stranger": next((r.name for r in spec.roles if cap.entity not in r.write
                                                and r.name != "owner"), None),
            # a role that changes only its own rows and writes the tested record: it may not meet the condition
            "self_setter": next((r.name for r in spec.roles if r.scope != "all" and target in r.write), None)
            if staff_fields(cap, spec) else None}


def ready_actions(cap: Params, spec) -> list[dict]:
    """How a test makes a record of `cap.entity` free to move through its workflow past this guard (the workflow's
    own tests, criteria and attacks move records freely; this guard's own tests prove the refusal): the actions, as
    data the generated tests/readiness.py holds and the criteria turn into steps. Empty unless a workflow moves the
    guarded status."""
    if flow_of(cap, spec) is None:
        return []
    target = tested(cap, spec)
    tent = spec.entity(target) if target else None
    base = {"of": cap.id, "entity": cap.entity, "via": cap.via_field, "target": target}
    if cap.test == "count_at_least":
        return [{**base, "do": "children", "child": cap.child_entity, "link": cap.child_link, "count": cap.count}]
    if cap.test == "is_true":
        return [{**base, "do": "set", "field": cap.test_field, "value": True}]
    if cap.test == "before_cutoff" and tent is not None:
        return [{**base, "do": "set", "field": cap.test_field, "value": far_future(tent.field(cap.test_field))}]
    if cap.test == "days_since" and tent is not None:
        f = tent.field(cap.test_field)
        return [{**base, "do": "set", "field": cap.test_field,
                 "value": "2000-01-01" if f is not None and f.type == "date" else "2000-01-01T09:00:00"}]
    if cap.test == "checklist_done":
        return [{**base, "do": "tick", "checklist": cap.checklist}]
    if cap.test == "not_expired" and tent is not None:
        f = tent.field(cap.test_field)
        return [{**base, "do": "set", "field": cap.test_field,
                 "value": "2099-01-01" if f is not None and f.type == "date" else "2099-01-01T09:00:00"}]
    if cap.test == "in_state" and cap.test_values:
        wf = tested_flow(cap, spec)
        if wf is None:
            return [{**base, "do": "set", "field": cap.test_field, "value": cap.test_values[0]}]
        return [{**base, "do": "move", "flow": wf.id, "moves": state_moves(cap, spec)}]
    return []  # all_checked / none_expired: a new record has no items, so nothing holds it back


def flow_of(cap: Params, spec):
    """The workflow that moves the guarded status (it changes the state only through its transitions), or None."""
    if cap.on != "transition":
        return None
    return next((c for c in spec.capabilities if c.kind == "workflow" and c.entity == cap.entity
                 and c.state_field == cap.field), None)


def _flow_ctx(cap: Params, spec) -> dict | None:
    """For the templates: the workflow's transitions table, and the moves (transition, the role the tests make it
    as) from the initial state to the first refused one, the last of which is the guarded move."""
    from .trigger import flow_path

    wf = flow_of(cap, spec)
    if wf is None:
        return None
    path = flow_path(wf, wf.initial, cap.values[0])
    if not path:
        return None
    moves, state = [], wf.initial
    for t in path:
        moves.append([t.name, "owner" if "owner" in t.roles else t.roles[0], state, t.to])
        state = t.to
    return {"cap": wf.id, "moves": moves}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    target = tested(cap, spec)
    ent, tent = spec.entity(cap.entity), spec.entity(target)
    f = None if cap.test == "checklist_done" else tent.field(cap.test_field) if cap.test not in CHILD_TESTS else \
        spec.entity(cap.child_entity).field(cap.test_field)
    rule = describe_rule(cap, spec)
    allowed = None
    if cap.on == "transition":
        allowed = next(v for v in ent.field(cap.field).values if v not in cap.values)
    free_kind = next((v for v in ent.field(cap.where_field).values if v not in cap.where_values), None) \
        if cap.where_field else None
    wf = tested_flow(cap, spec)
    failing = next((v for v in f.values if v not in cap.test_values), None) if cap.test == "in_state" else None
    ctx = {"flow": _flow_ctx(cap, spec), "state_flow": wf.id if wf is not None else None,
           "state_moves": state_moves(cap, spec), "failing_value": failing,
           "free_kind": free_kind, "ent": ent, "tent": tent, "rule_text": rule[:1].upper() + rule[1:],
           "cond_text": condition_words(cap, spec), "target": target,
           "span_text": span_words(cap.hours) if cap.hours else None,
           "field_label": f.label.lower() if f is not None and cap.test == "before_cutoff" else None,
           "test_type": f.type if f is not None else "boolean", "allowed": allowed,
           "child": spec.entity(cap.child_entity) if cap.child_entity else None,
           "tent_writer": b.writer_role(spec, target) or "owner", **_roles(cap, spec),
           # other required references of the guarded record, made fresh by the tests: [field, entity]
           "other_refs": [[f.name, f.ref] for f in ent.fields if f.type == "reference" and f.name != cap.via_field
                          and f.required]}
    d = "capabilities/guard/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
