"""Capability `workflow`: Named states and transitions, each allowed to named roles; every transition recorded with who and when; illegal transitions 409."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "workflow"


class Transition(SpecModel):
    name: Name
    from_states: list[Name] = Field(min_length=1)
    to: Name
    roles: list[Name] = Field(min_length=1, description="roles allowed to make this transition")
    mover_link: list[Name] = Field(default_factory=list, description=(
        "reference fields leading from the record to one person record (e.g. [\"trainee_id\", \"supervisor_id\"]): "
        "a user of these roles may make the transition only when that person's email field is their sign-in email "
        "(\"only a trainee's own supervisor signs off their hours\"); others get 403 not_yours. The owner, when "
        "listed in roles, is not bound (leave the owner out when the words say 'only'). Empty: any user of the roles"))


class Params(CapabilityBase):
    kind: Literal["workflow"] = "workflow"
    entity: Name
    state_field: Name = Field(description="enum field on `entity` holding the state")
    states: list[Name] = Field(min_length=2)
    initial: Name
    transitions: list[Transition] = Field(min_length=1)
    editable_states: list[Name] | None = Field(
        default=None, description="states in which a record's fields may still be edited; in every other state they "
        "are frozen (409). Default: only the initial state")


PACKAGES: list[str] = []


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (b.entity_problem(spec, cap.entity, "entity"),
                     b.field_problem(spec, cap.entity, cap.state_field, "state_field", ("enum",))) if m]
    ent = spec.entity(cap.entity)
    sf = ent.field(cap.state_field) if ent else None
    if ent is not None and sf is not None and _first_plain_field(ent) == sf.name:
        p.append(f"{cap.entity}.{cap.state_field} is the entity's first field; put the record's title (a text field) "
                 f"first, the state after it")
    twins = [c.id for c in spec.capabilities if c.kind == "workflow" and c.id != cap.id
             and c.entity == cap.entity and c.state_field == cap.state_field]
    if twins:
        p.append(f"{cap.entity}.{cap.state_field} is already driven by workflow {twins[0]!r}; merge the two "
                 f"workflows or give this one its own state field")
    states = set(cap.states)
    if len(states) != len(cap.states):
        p.append(f"states {cap.states} list a state twice")
    if sf is not None and sf.type == "enum":
        extra = [s for s in cap.states if s not in sf.values]
        if extra:
            p.append(f"states {extra} are not values of the enum {cap.entity}.{cap.state_field} ({sf.values}); "
                     f"add them to the field's values or drop them from states")
        if sf.values and sf.values[0] != cap.initial:
            p.append(f"the initial state {cap.initial!r} must be the first value of {cap.entity}.{cap.state_field} "
                     f"(values {sf.values}); list it first")
        if sf.default is not None and sf.default != cap.initial:
            p.append(f"{cap.entity}.{cap.state_field} has default {sf.default!r} but the workflow starts in "
                     f"{cap.initial!r}; set the field's default to {cap.initial!r}")
    if cap.initial not in states:
        p.append(f"initial state {cap.initial!r} is not one of the states {cap.states}")
    odd = [s for s in (cap.editable_states or []) if s not in states]
    if odd:
        p.append(f"editable_states {odd} are not among the states {cap.states}; list only states of the workflow")
    names = [t.name for t in cap.transitions]
    for n in sorted({n for n in names if names.count(n) > 1}):
        p.append(f"transition name {n!r} is used twice; each transition needs its own name")
    for t in cap.transitions:
        for s in [*t.from_states, t.to]:
            if s not in states:
                p.append(f"transition {t.name!r} names state {s!r}, which is not one of the states {cap.states}")
        if t.to in t.from_states:
            p.append(f"transition {t.name!r} goes from {t.to!r} to itself; drop {t.to!r} from its from_states")
        p += [m for m in (b.role_problem(spec, r, f"transition {t.name!r} role") for r in t.roles) if m]
        if t.mover_link and ent is not None:
            p += _link_problems(spec, cap, t)
    reached, todo = {cap.initial}, [cap.initial]
    while todo:
        s = todo.pop()
        for t in cap.transitions:
            if s in t.from_states and t.to not in reached:
                reached.add(t.to)
                todo.append(t.to)
    unreachable = [s for s in cap.states if s not in reached]
    if cap.initial in states and unreachable:
        p.append(f"states {unreachable} cannot be reached from {cap.initial!r}; add transitions into them or drop "
                 f"them")
    if cap.initial in states and not any(cap.initial in t.from_states for t in cap.transitions):
        p.append(f"no transition leaves the initial state {cap.initial!r}; add one whose from_states include it")
    return p


def link_hops(spec, entity: str, link: list[str]) -> list[tuple[str, str]] | None:
    """[(reference field, the entity it points at)] along `link` from `entity`, or None when a hop is no reference."""
    hops, here = [], spec.entity(entity)
    for name in link:
        f = here.field(name) if here is not None else None
        if f is None or f.type != "reference" or not f.ref or spec.entity(f.ref) is None:
            return None
        hops.append((name, f.ref))
        here = spec.entity(f.ref)
    return hops


def link_person(spec, cap: Params, t: Transition) -> tuple[list[tuple[str, str]], str, str] | None:
    """(hops, the person entity, its sign-in email field) of a transition's mover_link, or None."""
    from ..appspec.model import person_email_field

    hops = link_hops(spec, cap.entity, t.mover_link) if t.mover_link else None
    if not hops:
        return None
    person = spec.entity(hops[-1][1])
    email = person_email_field(person)
    return (hops, person.name, email) if email else None


def _link_problems(spec, cap: Params, t: Transition) -> list[str]:
    from ..appspec.model import person_email_field

    hops = link_hops(spec, cap.entity, t.mover_link)
    if hops is None:
        return [f"transition {t.name!r}: mover_link {t.mover_link} is not a path of reference fields from "
                f"{cap.entity}; name each hop's reference field, the record's own first"]
    person = spec.entity(hops[-1][1])
    out = []
    if person_email_field(person) is None:
        out.append(f"transition {t.name!r}: mover_link ends at {person.name}, which has no email field to match the "
                   f"signed-in user's email; add one (type email) to {person.name}")
    if len({e for _f, e in hops}) != len(hops) or cap.entity in {e for _f, e in hops}:
        out.append(f"transition {t.name!r}: mover_link {t.mover_link} goes round in a circle; end it at the person")
    if not [r for r in t.roles if r != "owner"]:
        out.append(f"transition {t.name!r}: mover_link binds the roles other than the owner, and it names none; add "
                   f"the role of the linked person")
    return out


def managed_fields(cap: Params, spec) -> dict[tuple[str, str], object]:
    """The state field is the workflow's: a new record always starts in the initial state (compiler hook)."""
    return {(cap.entity, cap.state_field): cap.initial}


def _first_plain_field(ent):
    """The first non-reference field: the generated CRUD tests edit it, so a managed field may not be first."""
    return next((f.name for f in ent.fields if f.type != "reference"), None)


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r = b.readers(spec, cap.entity)
    a = f"/api/{cap.id}"
    out = [Route(method="GET", path=f"{a}/transitions", summary="the states and transitions, with who may make each",
                 roles=r),
           Route(method="GET", path=f"{a}/records/<int:record_id>",
                 summary="a record's state and the transitions open to the caller", roles=r),
           Route(method="GET", path=f"{a}/records/<int:record_id>/history",
                 summary="every transition of a record: who, when, from, to", roles=r)]
    for t in cap.transitions:
        own = f"; only the {t.mover_link[-1].removesuffix('_id').replace('_', ' ')} linked to the record (403 " \
              f"not_yours)" if t.mover_link else ""
        out.append(Route(method="POST", path=f"{a}/records/<int:record_id>/{t.name}",
                         summary=f"{t.name}: {'/'.join(t.from_states)} -> {t.to} (409 from any other state{own})",
                         roles=list(t.roles)))
    out.append(Route(method="GET", path=f"/{cap.id}/", summary="board: records by state with their transitions",
                     roles=r))
    movers = sorted({x for t in cap.transitions for x in t.roles}, key=[ro.name for ro in spec.roles].index)
    out.append(Route(method="POST", path=f"/{cap.id}/records/<int:record_id>/<transition>",
                     summary="make a transition from the board (form, CSRF)", roles=movers))
    return out


def editable(cap: Params) -> list[str]:
    """The states in which a record's fields may change (the initial state unless the params say otherwise)."""
    return list(cap.editable_states) if cap.editable_states is not None else [cap.initial]


def _to_frozen(cap: Params) -> list | None:
    """The shortest list of transitions from the initial state into a state whose fields are frozen, or None."""
    seen, queue = {cap.initial: []}, [cap.initial]
    while queue:
        s = queue.pop(0)
        if s not in editable(cap):
            return seen[s]
        for t in cap.transitions:
            if s in t.from_states and t.to not in seen:
                seen[t.to] = [*seen[s], t]
                queue.append(t.to)
    return None


def _plan(cap: Params):
    """Compile-time test plan: a path of transitions from the initial state, then one illegal transition."""
    by_state: dict[str, list] = {}
    seen, queue = {cap.initial: []}, [cap.initial]
    while queue:
        s = queue.pop(0)
        for t in cap.transitions:
            if s in t.from_states and t.to not in seen:
                seen[t.to] = [*seen[s], t]
                queue.append(t.to)
    for s in sorted(seen, key=lambda x: (len(seen[x]), cap.states.index(x))):
        by_state[s] = [t for t in cap.transitions if s not in t.from_states]
    longest = max(seen.values(), key=len)
    illegal = next(((seen[s], ts[0]) for s, ts in by_state.items() if ts), None)
    return longest, illegal


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    ent = spec.entity(cap.entity)
    # roles that move only their own records: own scope, or the entity read only where their own (read_own)
    own = {r.name for r in spec.roles if r.scope == "own" or cap.entity in r.read_own}
    writers = b.writers(spec, cap.entity)
    path, illegal = _plan(cap)
    to_frozen = _to_frozen(cap)
    first = path[0] if path else next(t for t in cap.transitions if cap.initial in t.from_states)
    # The record the tests move is created by a role that may move it: an own-scope role moves only its own.
    creator = next((r for t in path if all(x in own for x in t.roles) for r in t.roles if r in writers),
                   b.writer_role(spec, cap.entity) or "owner")

    def step(t):
        role = creator if creator in t.roles else next((r for r in t.roles if r not in own), t.roles[0])
        return {"name": t.name, "to": t.to, "role": role}

    outsider = next((r.name for r in spec.roles if r.name not in first.roles), None)
    links = {}
    for t in cap.transitions:
        found = link_person(spec, cap, t)
        if found is not None:
            hops, person, email = found
            links[t.name] = {"link": [list(h) for h in hops], "email": email,
                             "label": spec.entity(person).label, "person": person}
    ctx = {
        "ent": ent, "creator": creator, "display": b.free_text_display(ent),
        "own_roles": sorted(r.name for r in spec.roles if r.scope == "own"),
        "transitions": [t.model_dump() for t in cap.transitions], "detail": b.detail_path(spec, cap.entity),
        "links": links, "linked": _linked_case(spec, cap, links, own, creator, writers),
        "path": [step(t) for t in path] or [step(first)], "first": step(first), "outsider": outsider,
        "illegal": ({"prefix": [step(t) for t in illegal[0]], "name": illegal[1].name,
                     "role": step(illegal[1])["role"]} if illegal else None),
        "other_state": next(s for s in cap.states if s != cap.initial),
        "editable": editable(cap), "frozen_fields": [f.name for f in ent.fields if f.name != cap.state_field],
        "to_frozen": [step(t) for t in to_frozen] if to_frozen is not None else None,
        "edit_field": next((f.name for f in ent.fields if f.type not in ("reference", "file")
                            and f.name != cap.state_field), None),
        "fields": [f.name for f in ent.fields if f.type != "file"], "unique": [f.name for f in ent.fields if f.unique],
    }
    d = "capabilities/workflow/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/board.html": tpl.render(d + "board.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def _linked_case(spec, cap: Params, links: dict, own: set, creator: str, writers: list) -> dict | None:
    """The generated tests' linked transition: one with a mover_link reached from the initial state without another
    linked move, the role whose users it binds (one that moves records it did not create, when there is one), the
    moves before it and a role that may not make it."""
    seen, queue = {cap.initial: []}, [cap.initial]
    while queue:
        s = queue.pop(0)
        for t in cap.transitions:
            if s not in t.from_states:
                continue
            if t.name in links and not any(x.name in links for x in seen[s]):
                bound = [r for r in t.roles if r != "owner"]
                role = next((r for r in bound if r not in own), bound[0])

                def step(x):
                    r = creator if creator in x.roles else next((y for y in x.roles if y not in own), x.roles[0])
                    return {"name": x.name, "to": x.to, "role": r}
                return {"name": t.name, "to": t.to, "role": role, "owner": "owner" in t.roles,
                        "prefix": [step(x) for x in seen[s]], **links[t.name],
                        "outsider": next((r.name for r in spec.roles if r.name not in t.roles), None),
                        "nullable": not spec.entity(cap.entity).field(t.mover_link[0]).required,
                        "reads_own": cap.entity in spec.role(role).read_own}
            if t.to not in seen:
                seen[t.to] = [*seen[s], t]
                queue.append(t.to)
    return None


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): the state field cannot be set
    directly (on create it starts at the initial state; a change is 409), and once a transition takes a record out
    of its editable states, editing its fields is 409."""
    from ..criteria import a
    from ..exploits import attack

    ent = spec.entity(cap.entity)
    label = ent.label.lower()
    others = [s for s in cap.states if s != cap.initial]
    p = attack(spec, f"workflow_state:{cap.id}", f"Nobody can set {a(label)}'s {cap.state_field.replace('_', ' ')} "
                                                 "directly, skipping its transitions.")
    who = p.writer(cap.entity)
    made = p.var(cap.entity)
    p.step(who, "POST", f"/api/{ent.plural}", json={**p.body(cap.entity), cap.state_field: others[-1]},
           expect=[201, 400, 409], save=made, note=f"create {a(label)} already {others[-1]}",
           checks=[{"path": cap.state_field, "op": "eq", "value": cap.initial, "if_status": [201]}])
    row = p.make(cap.entity, who)
    one = f"/api/{ent.plural}/${{{row}.id}}"
    p.step(who, "PATCH", one, json={cap.state_field: others[-1]}, expect=[400, 403, 409],
           note=f"move {a(label)} to {others[-1]} by editing it")
    p.step(who, "GET", one, checks=[{"path": cap.state_field, "op": "eq", "value": cap.initial}],
           note=f"the {label} is still {cap.initial}")
    out = [p.scenario]

    keep = set(editable(cap))
    move = next((t for t in cap.transitions if cap.initial in t.from_states and t.to not in keep), None)
    text_field = next((f.name for f in ent.fields if f.type in ("text", "long_text") and f.name != cap.state_field),
                      None)
    if move is not None and text_field is not None:
        p = attack(spec, f"workflow_frozen:{cap.id}", f"A {label} that left its editable states "
                                                      f"({', '.join(sorted(keep))}) cannot be edited.")
        who = p.writer(cap.entity)
        writer_role = p.scenario["actors"][who]
        # the mover must see the record: a role reading the entity only where its own (read_own) moves its own
        full = [r for r in move.roles if spec.role(r) and cap.entity not in spec.role(r).read_own]
        if writer_role not in move.roles and not full:
            maker = next((r for r in move.roles if spec.role(r) and cap.entity in spec.role(r).write), None)
            if maker is not None:
                who, writer_role = p.actor(maker), maker
        mover = who if writer_role in move.roles else p.actor((full or move.roles)[0])
        from ..criteria.k_flow import _links_for

        # a move bound to the person linked to the record: the record links to the mover
        links = _links_for(p, cap, [(move, p.scenario["actors"].get(mover) or "owner")], lambda _r: mover, who)
        row = p.make(cap.entity, who, links)
        p.ready(cap.entity, row)  # rules that hold the move back (a guard's condition) hold for this record
        one = f"/api/{ent.plural}/${{{row}.id}}"
        p.step(mover, "POST", f"/api/{cap.id}/records/${{{row}.id}}/{move.name}", json={},
               note=f"{move.name}: the {label} becomes {move.to}")
        p.step(who, "PATCH", one, json={text_field: "edited after it was frozen"}, expect=409,
               note=f"edit the {move.to} {label}")
        p.step(who, "GET", one, checks=[{"path": text_field, "op": "ne", "value": "edited after it was frozen"}],
               note=f"the {label} is unchanged")
        out.append(p.scenario)
    return out
