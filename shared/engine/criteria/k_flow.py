"""Criteria for the flow kinds: booking, custody, workflow and rotation (ledger and payments: `k_money`).

Each scenario drives the capability's own routes (see its `module.py.j2`) and asserts both the behaviour and
the refusal the behaviour implies: an overlapping booking 409, a second check-out of a held item 409, a
transition by a role not allowed 403 (and from a wrong state 409), a plain edit moving assigned work 409.
"""

from __future__ import annotations

import re
from datetime import timedelta

from . import NOW, ScenarioError, days_from_now, rule_number
from ._flow_helpers import (
    _a,
    _about,
    _cap,
    _context,
    _ent_label,
    _ent_plural,
    _fitted,
    _in_days,
    _maker,
    _names,
    _one_or_none,
    _people,
    _readers,
    _realised,
    _role_label,
    _word_stems,
    _words,
    _writers,
)

# ---------------------------------------------------------------------------------------------- booking

_OVERLAP = re.compile(r"double[- ]?book|overlap|same (time|slot|hour|period)|at once|one (\w+ )?at a time|clash|"
                      r"conflict|already (booked|reserved|taken)|twice")
_OVERLAP_STRICT = re.compile(r"double[- ]?book|overlap|already (booked|reserved|taken)|clash|"
                             r"(by|to|for) (only )?one \w+ (at a time|at once)")


def _realises_length(cap, rule) -> bool:
    """A duration rule stating the booking's exact length (`slot_minutes`: "90-minute slots", "for 45 minutes") or
    its longest (`max_minutes`: "for up to 3 hours"), to the minute."""
    from ..planner.reading import duration_minutes

    minutes, at_most = duration_minutes(rule)
    if minutes is None:
        return False
    return minutes == (cap.max_minutes if at_most else cap.slot_minutes)


def _realises_booking(cap, spec, rule, reading) -> bool:
    """An exclusivity/block rule about double booking one resource (its nouns name the resource or booking).
    When it also names people, it must name the resource and speak of double booking or overlap: "a member may
    not have two bookings at once" is a per-person limit, which booking does not enforce. A duration rule stating
    the booking's length (see `_realises_length`)."""
    if rule.category == "duration":
        return _realises_length(cap, rule)
    if rule.category not in ("exclusivity", "block") or not _one_or_none(rule):
        return False
    if re.search(r"double[- ]?book", _words(rule)):
        return True  # "without double bookings": the bookings of this feature, whatever they are called
    if _people(spec, rule, reading, cap.resource, cap.entity):
        return bool(_OVERLAP_STRICT.search(_words(rule))) and _about(spec, rule, reading, cap.resource)
    return bool(_OVERLAP.search(_words(rule))) and _about(spec, rule, reading, cap.resource, cap.entity)


def _derive_booking(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities._booking_slots import SampleSlots, length_words

    ent, res = _ent_label(spec, cap.entity), _ent_label(spec, cap.resource)
    slots = SampleSlots(spec, cap.entity)
    rules = _realised(cap, spec, reading)
    lengths = [i for i in rules if reading.rules[i].category == "duration"]

    def hm(lengths_after: float) -> str:  # the times the steps book (moved under a daily limit per resource)
        return slots.overlap_clock(cap.resource_field, slots.after("10:00", _offset(slots.minutes, lengths_after)))

    text = (f"When {_a(res)} has {_a(ent)} from {hm(0)} to {hm(1)}, a second {ent} of the same {res} "
            f"from {hm(0.5)} to {hm(1.5)} is refused; one from {hm(1)} to {hm(2)}, or of another "
            f"{res} at {hm(0.5)}, is accepted; {_a(ent)} ending before it starts is refused.")
    params = {"entity": cap.entity, "resource": cap.resource, "resource_field": cap.resource_field,
              "start_field": cap.start_field, "end_field": cap.end_field}
    out = [{"text": text, "template": "booking.no_overlap", "params": params,
            "rules": [i for i in rules if i not in lengths]}]
    if cap.slot_minutes or cap.max_minutes:
        words = length_words(cap.slot_minutes or cap.max_minutes)
        if cap.slot_minutes:
            text = (f"{_a(ent).capitalize()} of {_a(res)} lasting exactly {words} is accepted; one "
                    f"{length_words(_shorter(cap.slot_minutes))} shorter or 30 minutes longer is refused, and so is "
                    f"moving its end to another length.")
        else:
            text = (f"{_a(ent).capitalize()} of {_a(res)} lasting {words} is accepted, and so is a shorter one; one 30 "
                    f"minutes longer is refused, and so is stretching a booking past {words}.")
        out.append({"text": text, "template": "booking.length",
                    "params": {**params, "slot_minutes": cap.slot_minutes, "max_minutes": cap.max_minutes},
                    "rules": lengths})
    return out


def _offset(minutes: int, lengths: float) -> int:
    """`lengths` booking lengths of `minutes` each, in whole minutes, a half always the same whole number (so a
    booking from half a length to one and a half lasts exactly one)."""
    whole = int(abs(lengths))
    out = whole * minutes + (minutes // 2 if abs(lengths) > whole else 0)
    return out if lengths >= 0 else -out


def _shorter(minutes: int) -> int:
    """How much shorter the refused booking is: 30 minutes, or half a booking under an hour."""
    return min(30, minutes // 2)


def _no_overlap(p, entity: str, resource: str, resource_field: str, start_field: str, end_field: str) -> None:
    ent = p.entity(entity)
    b, r = ent.label.lower(), p.entity(resource).label.lower()
    who = p.writer(entity)
    maker = _maker(p, resource, who)
    res_a = p.make(resource, maker, note=f"a first {r}")
    res_b = p.make(resource, maker, note=f"a second {r}")
    from ..capabilities._booking_slots import SampleSlots

    day = NOW + timedelta(days=4)
    # under a limit of one booking per resource a day ("one firing per kiln per day") the times move on: the first
    # booking ends at midnight, so the one starting when it ends falls on the next day
    slots = SampleSlots(p.spec, entity)
    fixed = bool(slots.booking is not None and slots.booking.slot_minutes)

    def at(lengths: float) -> str:  # `lengths` booking lengths after 10:00
        return slots.overlap_at(day, resource_field, slots.after("10:00", _offset(slots.minutes, lengths)))

    def book(res: str, start: float, end: float, expect: int, note: str) -> str:
        return p.make(entity, who, {resource_field: f"${{{res}.id}}", start_field: at(start), end_field: at(end)},
                      expect=expect, note=note)

    def hm(lengths: float) -> str:
        return at(lengths)[11:16]

    book(res_a, 0, 1, 201, f"book the first {r} from {hm(0)} to {hm(1)}")
    book(res_a, 0.5, 1.5, 409, f"a second {b} of the same {r} from {hm(0.5)} to {hm(1.5)} is refused")
    if fixed:  # every booking lasts the same: the very same times
        book(res_a, 0, 1, 409, f"{_a(b)} at the very same times is refused")
    else:
        book(res_a, -0.5, 1.5 if slots.minutes * 2 <= (slots.booking.max_minutes or 10**6) else 0.5, 409,
             f"{_a(b)} starting before the first and running into it is refused")
    book(res_a, 1, 2, 201, f"{_a(b)} of the same {r} from {hm(1)} (when the first ends) is accepted")
    book(res_b, 0.5, 1.5, 201, f"{_a(b)} of another {r} at the same time is accepted")
    book(res_b, 3, 2.5, 400, f"{_a(b)} ending before it starts is refused")
    p.step(who, "GET", f"/api/{ent.plural}?per_page=100", expect=200,
           checks=[{"path": "items", "op": "count", "key": resource_field, "value": f"${{{res_a}.id}}", "n": 2},
                   {"path": "items", "op": "count", "key": resource_field, "value": f"${{{res_b}.id}}", "n": 1}],
           note=f"only the accepted {ent.label_plural.lower()} were kept")


def _length(p, entity: str, resource: str, resource_field: str, start_field: str, end_field: str,
            slot_minutes: int | None = None, max_minutes: int | None = None) -> None:
    """A booking of the stated length (or as long as the longest) accepted; one shorter (30 minutes, or half of a
    short one) and one 30 minutes longer refused with a 400 naming the length; an edit to another length refused."""
    from ..capabilities._booking_slots import length_words

    ent = p.entity(entity)
    b, r = ent.label.lower(), p.entity(resource).label.lower()
    who = p.writer(entity)
    maker = _maker(p, resource, who)
    stated = slot_minutes or max_minutes
    if not stated:
        raise ScenarioError("booking.length needs slot_minutes or max_minutes")
    words = length_words(stated)
    res_a = p.make(resource, maker, note=f"a {r}")
    start = (NOW + timedelta(days=5)).replace(hour=0, minute=0, second=0)

    def iso(moment) -> str:
        return moment.isoformat() + "Z"

    def book(begin, minutes: int, expect: int, note: str) -> str:
        var = p.make(entity, who, {resource_field: f"${{{res_a}.id}}", start_field: iso(begin),
                                   end_field: iso(begin + timedelta(minutes=minutes))}, expect=expect, note=note)
        if expect == 400:  # the refusal names the length
            p.scenario["steps"][-1]["checks"] = [
                {"path": "error.details", "op": "contains", "value": end_field},
                {"path": "error.message", "op": "contains", "value": words}]
        return var

    later = start + timedelta(days=1)
    if slot_minutes:
        kept = book(start, slot_minutes, 201, f"book the {r} for exactly {words}")
        book(later, slot_minutes - _shorter(slot_minutes), 400,
             f"{_a(b)} {length_words(_shorter(slot_minutes))} shorter is refused, naming the length")
        book(later, slot_minutes + 30, 400, f"{_a(b)} 30 minutes longer is refused, naming the length")
        p.step(who, "PATCH", f"/api/{ent.plural}/${{{kept}.id}}",
               json={end_field: iso(start + timedelta(minutes=slot_minutes + 30))}, expect=400,
               note="moving its end to another length is refused")
        n = 1
    else:
        kept = book(start, max_minutes, 201, f"book the {r} for {words}, the longest allowed")
        book(later, max_minutes + 30, 400, f"{_a(b)} 30 minutes longer is refused, naming the length")
        book(later + timedelta(days=1), max(5, max_minutes // 2), 201, f"a shorter {b} is accepted")
        p.step(who, "PATCH", f"/api/{ent.plural}/${{{kept}.id}}",
               json={end_field: iso(start + timedelta(minutes=max_minutes + 30))}, expect=400,
               note=f"stretching a booking past {words} is refused")
        n = 2
    p.step(who, "GET", f"/api/{ent.plural}?per_page=100", expect=200,
           checks=[{"path": "items", "op": "count", "key": resource_field, "value": f"${{{res_a}.id}}", "n": n}],
           note=f"only the accepted {ent.label_plural.lower()} were kept")


# ---------------------------------------------------------------------------------------------- custody

# one holder per item: "one at a time" reads per item only when the rule names no people (see _ALREADY_OUT)
_BY_ONE = (r"(by|to|with) (only )?one \w+ (at a time|at once)|(to|by|from) another \w+|"
           r"more than one (person|member|user|holder|borrower)")
_HELD = re.compile(r"already|checked out|in use|twice|again|same time|one at a time|at once|double|someone else|"
                   + _BY_ONE)
_ALREADY_OUT = re.compile(r"already|someone else|while (it is |it's )?(out|held|checked out|borrowed|on loan|lent)|"
                          + _BY_ONE)
_DUE = re.compile(r"due|return|back|borrow|loan|lend|lent|keep|kept|check|hold|held|overdue|late")
_NOT_DUE = re.compile(r"remind|notif|alert|email|text message|sms|before")


_AT_ONCE = re.compile(r"\b(at a time|at once|at the same time)\b")


def _realises_custody(cap, spec, rule, reading) -> bool:
    """A time_window of exactly `due_days` days (or weeks) about returning items; a block/uniqueness rule
    about an item already out; a limit of exactly `max_held` items held at a time."""
    words = _words(rule)
    if rule.category == "limit":
        return bool(cap.max_held) and rule_number(rule) == cap.max_held and bool(_AT_ONCE.search(words))
    if rule.category == "time_window":
        days = _in_days(rule)
        return (days is not None and days == cap.due_days and bool(_DUE.search(_context(rule, reading)))
                and not _NOT_DUE.search(words))
    if rule.category in ("block", "uniqueness", "exclusivity"):
        if not (_one_or_none(rule) and _about(spec, rule, reading, cap.item_entity)):
            return False
        holders = cap.holder_entity and (_names(rule, cap.holder_entity) or any(
            w.maps_to == f"entity:{cap.holder_entity}" for w in (reading.words if reading else [])))
        if holders or _people(spec, rule, reading, cap.item_entity):
            return bool(_ALREADY_OUT.search(words))  # not "a member may hold one tool at a time"
        return bool(_HELD.search(_context(rule, reading)))
    return False


def _derive_custody(cap, spec, reading, feature) -> list[dict]:
    item = _ent_label(spec, cap.item_entity)
    holder = _ent_label(spec, cap.holder_entity) if cap.holder_entity else "user"
    rules = _realised(cap, spec, reading)
    due_rules = [i for i in rules if reading.rules[i].category == "time_window"]
    held_rules = [i for i in rules if reading.rules[i].category == "limit"]
    block_rules = [i for i in rules if i not in due_rules and i not in held_rules]
    params = {"item_entity": cap.item_entity, "holder_entity": cap.holder_entity, "due_days": cap.due_days,
              "capability": cap.id}
    days = f"{cap.due_days} day{'' if cap.due_days == 1 else 's'}"
    out = [{"text": f"{_a(item).capitalize()} checked out to {_a(holder)} is due back in {days}; checking it out "
                    f"again while it is held is refused; once checked in it can be checked out again.",
            "template": "custody.check_out_in", "params": params, "rules": block_rules + due_rules}]
    if due_rules:
        out.append({"text": f"{_a(item).capitalize()} checked out now is not overdue {days} minus an hour later, "
                            f"and is listed as overdue {days} and an hour later.",
                    "template": "custody.overdue", "params": params, "rules": due_rules})
    if cap.max_held:
        n = cap.max_held
        out.append({"text": f"{_a(holder).capitalize()} may hold {n} {_ent_label(spec, cap.item_entity, n != 1)} at "
                            f"a time: checking out one more to them is refused, another {holder} may still check it "
                            f"out, and once they check one in they may check out another.",
                    "template": "custody.max_held", "params": dict(params, max_held=n), "rules": held_rules})
    return out


def _movers(spec, cap) -> list[str]:
    from ..capabilities.custody import checkout_roles

    return checkout_roles(cap, spec)


def _custody_setup(p, capability: str, item_entity: str, holder_entity: str | None):
    cap = _cap(p.spec, capability, "custody")
    movers = _movers(p.spec, cap)
    if not movers:
        raise ScenarioError(f"no role may check out {item_entity!r}")
    role = next((r for r in movers if r != "owner"), movers[0])
    mover = p.actor(role)
    label = p.entity(item_entity).label.lower()
    item = p.make(item_entity, _maker(p, item_entity), note=f"add {_a(label)}")
    body: dict = {}
    holder = None
    if holder_entity:
        hl = p.entity(holder_entity).label.lower()
        holder = p.make(holder_entity, _maker(p, holder_entity), note=f"add {_a(hl)} to hold it")
        body = {"holder_id": f"${{{holder}.id}}"}
    return cap, movers, role, mover, item, label, body, holder


def _check_out_in(p, item_entity: str, holder_entity: str | None, due_days: int, capability: str) -> None:
    cap, movers, role, mover, item, label, body, holder = _custody_setup(p, capability, item_entity, holder_entity)
    base = f"/api/{capability}/items/${{{item}.id}}"
    outsider = next((r.name for r in p.spec.roles if r.name not in movers), None)
    if outsider:
        p.step(p.actor(outsider), "POST", f"{base}/checkout", json=dict(body), expect=403,
               note=f"{_a(outsider)} (not allowed to check out) is refused")
    who = {"path": "holder_id", "op": "eq", "value": f"${{{holder}.id}}"} if holder else \
        {"path": "holder", "op": "eq", "value": f"${{actor.{mover}.email}}"}
    p.step(mover, "POST", f"{base}/checkout", json=dict(body), expect=201, save=p.var("custody"),
           checks=[{"path": "item_id", "op": "eq", "value": f"${{{item}.id}}"}, who,
                   {"path": "due_at", "op": "eq", "value": days_from_now(due_days)},
                   {"path": "returned_at", "op": "eq", "value": None}],
           note=f"check the {label} out: due in {due_days} day{'' if due_days == 1 else 's'}")
    other = p.actor(next((r for r in movers if r != role), role))
    p.step(other, "POST", f"{base}/checkout", json=dict(body), expect=409,
           note=f"a second check-out of the held {label} is refused")
    p.step(mover, "GET", f"/api/{capability}/held", expect=200,
           checks=[{"path": "items", "op": "count", "key": "item_id", "value": f"${{{item}.id}}", "n": 1}],
           note=f"the {label} is listed as held once")
    p.step(mover, "POST", f"{base}/checkin", json={}, expect=200,
           checks=[{"path": "returned_at", "op": "true"}], note=f"check the {label} in")
    p.step(mover, "POST", f"{base}/checkin", json={}, expect=409, note=f"checking in a {label} not held is refused")
    p.step(other, "POST", f"{base}/checkout", json=dict(body), expect=201, note=f"the {label} can go out again")
    p.step(mover, "GET", f"{base}/history", expect=200, checks=[{"path": "items", "op": "len", "value": 2}],
           note="both check-outs are in its history")


def _max_held(p, item_entity: str, holder_entity: str | None, due_days: int, capability: str, max_held: int) -> None:
    cap, movers, role, mover, first, label, body, holder = _custody_setup(p, capability, item_entity, holder_entity)
    items = [first] + [p.make(item_entity, _maker(p, item_entity), note=f"add another {label}")
                       for _ in range(max_held)]
    out = [f"/api/{capability}/items/${{{i}.id}}" for i in items]
    for n, path in enumerate(out[:max_held], 1):
        p.step(mover, "POST", f"{path}/checkout", json=dict(body), expect=201,
               note=f"check out {label} {n} of {max_held} to the same holder")
    p.step(mover, "POST", f"{out[max_held]}/checkout", json=dict(body), expect=409,
           checks=[{"path": "error.code", "op": "eq", "value": "limit_reached"}],
           note=f"a check-out of one more {label} to them is refused")
    if holder_entity:
        other = p.make(holder_entity, _maker(p, holder_entity), note="add another holder")
        p.step(mover, "POST", f"{out[max_held]}/checkout", json={"holder_id": f"${{{other}.id}}"}, expect=201,
               note=f"another holder may check that {label} out")
        p.step(mover, "POST", f"{out[max_held]}/checkin", json={}, expect=200, note="it comes back")
    p.step(mover, "POST", f"{out[0]}/checkin", json={}, expect=200, note=f"the first holder checks one {label} in")
    p.step(mover, "POST", f"{out[max_held]}/checkout", json=dict(body), expect=201,
           note=f"now they may check out another {label}")


def _overdue(p, item_entity: str, holder_entity: str | None, due_days: int, capability: str) -> None:
    cap, movers, role, mover, item, label, body, holder = _custody_setup(p, capability, item_entity, holder_entity)
    base = f"/api/{capability}/items/${{{item}.id}}"
    p.step(mover, "POST", f"{base}/checkout", json=dict(body), expect=201,
           checks=[{"path": "due_at", "op": "eq", "value": days_from_now(due_days)}],
           note=f"check the {label} out now")
    key = {"path": "items", "key": "item_id", "value": f"${{{item}.id}}"}
    p.step(mover, "GET", f"/api/{capability}/overdue", expect=200, checks=[{**key, "op": "none"}],
           now=(NOW + timedelta(days=due_days, hours=-1)).isoformat(),
           note=f"an hour before {due_days} days have passed it is not overdue")
    p.step(mover, "GET", f"/api/{capability}/overdue", expect=200, checks=[{**key, "op": "any"}],
           now=(NOW + timedelta(days=due_days, hours=1)).isoformat(),
           note=f"an hour after {due_days} days it is overdue")


# ---------------------------------------------------------------------------------------------- workflow


def _wf_transitions_for(cap, text: str) -> list:
    """Transitions `text` names: a word shares a stem with the transition's name or the state it enters."""
    stems = _word_stems(text)
    return [t for t in cap.transitions
            if stems & (_word_stems(t.name.replace("_", " ")) | _word_stems(t.to.replace("_", " ")))]


def _wf_rule_target(cap, spec, rule, reading) -> tuple[list, str] | None:
    """(transitions, role) when the rule names one role, and that role alone may make every transition the
    rule's words name (or, when they name none, the one transition its feature's words name)."""
    if rule.category not in ("agreement", "block") or rule_number(rule) is not None:
        return None
    moves = _wf_transitions_for(cap, rule.words or "")
    if not moves and reading is not None:
        moves = _wf_transitions_for(cap, " ".join(w.word for w in reading.words))
        moves = moves if len(moves) == 1 else []
    roles = {r for t in moves for r in t.roles}
    if len(roles) != 1:
        return None
    role = roles.pop()
    named = {r.name for r in spec.roles if _names(rule, r.name)}
    return (moves, role) if named == {role} else None


def _realises_workflow(cap, spec, rule, reading) -> bool:
    """An agreement/block rule ("approved by a teacher") naming the one role allowed on the transition its
    words name; a sequence ("go from A to B to C") whose states the workflow's transitions take in that order, no
    state skipped. Escalation is not enforced."""
    if rule.category == "sequence":
        return _wf_seq(cap, spec, _stated_states(rule)) is not None
    if _own_rule(rule):  # "only a trainee's own supervisor": only a transition bound to that one person
        return _wf_own_target(cap, spec, rule) is not None
    return _wf_rule_target(cap, spec, rule, reading) is not None


def _own_rule(rule) -> bool:
    from ..planner.reading import OWN_APPROVER

    return rule.category == "agreement" and bool(OWN_APPROVER.search(rule.words or ""))


def _wf_own_target(cap, spec, rule) -> tuple[object, str] | None:
    """(the transition, the role it binds) for a rule naming the one person linked to the record ("a trainee's own
    supervisor"): a transition with a mover_link to a person record, open to the role the rule names, reached from
    the initial state without another linked move."""
    from ..capabilities.workflow import link_person

    for t in cap.transitions:
        if link_person(spec, cap, t) is None:
            continue
        role = next((r for r in t.roles if r != "owner" and _names(rule, r)), None)
        try:
            path = _wf_path(cap, t)
        except ScenarioError:
            continue
        if role is not None and not any(x.mover_link for x in path):
            return t, role
    return None


def _stated_states(rule) -> list[str]:
    """The states a sequence rule names, as the workflow's state names ("signed up" -> signed_up)."""
    from ..planner.draft import ident
    from ..planner.text import state_sequences

    found = state_sequences(rule.words or "")
    return [ident(s)[:30] for s in found[0][2]] if found else []


def _wf_mover(spec, cap, moves: list) -> str | None:
    """The role that makes every move of `moves` and writes the record (a creator of its own rows only when no
    other role, the owner last)."""
    if not moves:
        return None
    own = {r.name for r in spec.roles if r.scope == "own"}
    common = set.intersection(*(set(t.roles) for t in moves))
    writers = _writers(spec, cap.entity)
    return next((r for r in moves[0].roles if r in common and r in writers and r not in own and r != "owner"),
                None) or ("owner" if "owner" in common and "owner" in writers else None)


def _wf_seq(cap, spec, states: list[str]) -> tuple[list, list, str] | None:
    """(the moves from the initial state to the first stated state, the moves through the stated states, the
    role that makes them all) when the workflow's transitions take a record through `states` in that order and
    none leaves a stated state for one more than a step ahead (so a skip is refused); None otherwise."""
    if len(states) < 3 or len(set(states)) != len(states) or any(s not in cap.states for s in states):
        return None
    chain = []
    for a, b in zip(states, states[1:], strict=False):
        t = next((x for x in cap.transitions if a in x.from_states and x.to == b), None)
        if t is None:
            return None
        chain.append(t)
    if any(a in t.from_states and t.to in states[i + 2:] for i, a in enumerate(states) for t in cap.transitions):
        return None
    lead: list | None = []
    if states[0] != cap.initial:  # the shortest way to the first stated state
        seen, queue, lead = {cap.initial: []}, [cap.initial], None
        while queue:
            s = queue.pop(0)
            if s == states[0]:
                lead = seen[s]
                break
            for t in cap.transitions:
                if s in t.from_states and t.to not in seen:
                    seen[t.to] = [*seen[s], t]
                    queue.append(t.to)
        if lead is None:
            return None
    role = _wf_mover(spec, cap, lead + chain)
    return (lead, chain, role) if role else None


def _wf_first(cap, spec) -> tuple[object, str]:
    """The base criterion's transition (one leaving the initial state) and the role that makes it."""
    own = {r.name for r in spec.roles if r.scope == "own"}
    writers = _writers(spec, cap.entity)
    for t in cap.transitions:
        if cap.initial not in t.from_states:
            continue
        role = next((r for r in t.roles if r not in own and r != "owner"), None) or \
            next((r for r in t.roles if r not in own), None) or next((r for r in t.roles if r in writers), None)
        if role:
            return t, role
    # none leaves the initial state with a usable role (check() forbids it); compiling the criterion says why
    t = next((x for x in cap.transitions if cap.initial in x.from_states), cap.transitions[0])
    return t, t.roles[0]


def _wf_outsider(spec, entity: str, t) -> str | None:
    """A role that may not make transition `t`: one that reads the record (not the owner) when there is one."""
    readers = _readers(spec, entity)
    out = [r.name for r in spec.roles if r.name not in t.roles]
    return next((r for r in out if r in readers and r != "owner"), None) or \
        next((r for r in out if r in readers), None) or next(iter(out), None)


def _wf_params(cap, t, role: str) -> dict:
    return {"capability": cap.id, "entity": cap.entity, "state_field": cap.state_field, "transition": t.name,
            "role": role}


def _derive_workflow(cap, spec, reading, feature) -> list[dict]:
    ent = _ent_label(spec, cap.entity)
    t, role = _wf_first(cap, spec)
    other = _wf_outsider(spec, cap.entity, t)
    refused = f"{_a(_role_label(spec, other))} trying to {t.name.replace('_', ' ')} it is refused; " if other else ""
    out = [{"text": f"A new {ent} starts as {cap.initial.replace('_', ' ')}; {refused}{_a(_role_label(spec, role))} "
                    f"can {t.name.replace('_', ' ')} it, which makes it {t.to.replace('_', ' ')}, and doing it "
                    f"again from there is refused.",
            "template": "workflow.transition", "params": _wf_params(cap, t, role), "rules": []}]
    realised = _realised(cap, spec, reading)
    sequences = {i: _stated_states(reading.rules[i]) for i in realised if reading.rules[i].category == "sequence"}
    chain = _wf_chain(cap, spec)
    if chain is not None:  # "cases go from received to in progress to sent": in that order, no state skipped
        names = [s.replace("_", " ") for s in cap.states]
        out.append({"text": f"{_a(ent).capitalize()} goes from {' to '.join(names)} in that order: moving a new "
                            f"one straight to {names[2]} is refused, and {_a(_role_label(spec, chain[1]))} moves it "
                            f"through each state in turn.",
                    "template": "workflow.in_order",
                    "params": {"capability": cap.id, "entity": cap.entity, "state_field": cap.state_field,
                               "role": chain[1]}, "rules": [i for i, st in sequences.items() if st == cap.states]})
    for i, states in sequences.items():  # a stated sequence that is part of the workflow: its own in-order walk
        if chain is not None and states == cap.states:
            continue
        lead, _moves, srole = _wf_seq(cap, spec, states)
        names = [s.replace("_", " ") for s in states]
        start = f"once it is {names[0]}, " if lead else ""
        out.append({"text": f"{_a(ent).capitalize()} goes from {' to '.join(names)} in that order "
                            f"(\"{reading.rules[i].words}\"): {start}moving it straight to {names[2]} is refused, and "
                            f"{_a(_role_label(spec, srole))} moves it through each state in turn.",
                    "template": "workflow.in_order",
                    "params": {"capability": cap.id, "entity": cap.entity, "state_field": cap.state_field,
                               "role": srole, "states": states}, "rules": [i]})
    for i in realised:
        own = _wf_own_target(cap, spec, reading.rules[i]) if _own_rule(reading.rules[i]) else None
        if own is not None:
            rt, rrole = own
            person = spec.entity(rt.mover_link and _link_hops(spec, cap, rt)[-1][1])
            who = person.label.lower() if person is not None else _role_label(spec, rrole)
            out.append({"text": f"Only {_a(ent)}'s own {who} can {rt.name.replace('_', ' ')} it "
                                f"(\"{reading.rules[i].words}\"): of two {_role_label(spec, rrole)} users, each "
                                f"{rt.name.replace('_', ' ')}s the {ent} linked to them, and the other's is refused.",
                        "template": "workflow.linked", "params": _wf_params(cap, rt, rrole), "rules": [i]})
            continue
        target = _wf_rule_target(cap, spec, reading.rules[i], reading)
        if target is None:  # a sequence (above)
            continue
        moves, rrole = target
        for rt in moves:
            same = next((c for c in out if c["params"] == _wf_params(cap, rt, rrole)), None)
            if same is not None:
                same["rules"].append(i)
                continue
            other = _wf_outsider(spec, cap.entity, rt)
            refused = f"{_a(_role_label(spec, other))} is refused, " if other else ""
            out.append({"text": f"Only {_a(_role_label(spec, rrole))} can {rt.name.replace('_', ' ')} {_a(ent)} "
                                f"(\"{reading.rules[i].words}\"): {refused}{_a(_role_label(spec, rrole))} makes it "
                                f"{rt.to.replace('_', ' ')}.",
                        "template": "workflow.transition", "params": _wf_params(cap, rt, rrole), "rules": [i]})
    return out


def _wf_chain(cap, spec) -> tuple[list, str] | None:
    """(transitions in order, the role that makes them all) when the workflow is a chain of three or more named
    states, each transition leaving exactly the state before it ("from received to in progress to sent")."""
    if len(cap.states) < 3 or len(cap.transitions) != len(cap.states) - 1:
        return None
    for a, b, t in zip(cap.states, cap.states[1:], cap.transitions, strict=False):
        if t.from_states != [a] or t.to != b:
            return None
    role = _wf_mover(spec, cap, list(cap.transitions))
    return (list(cap.transitions), role) if role else None


def _in_order(p, capability: str, entity: str, state_field: str, role: str, states: list[str] | None = None) -> None:
    """A new row starts in the first state (or is moved to the first of the stated `states`); a move that skips a
    state is refused (409) and leaves it there; the moves in order take it through every state, each recorded."""
    cap = _cap(p.spec, capability, "workflow")
    if states:
        seq = _wf_seq(cap, p.spec, list(states))
        chain = (seq[1], seq[2]) if seq is not None else None
        lead = seq[0] if seq is not None else []
    else:
        chain, lead = _wf_chain(cap, p.spec), []
    if chain is None or role != chain[1]:
        raise ScenarioError(f"workflow {capability!r} is not a chain of states {role!r} moves through")
    ent = p.entity(entity)
    who = p.actor(role)
    links = _links_for(p, cap, [(t, role) for t in [*lead, *chain[0]]], lambda _r: who, who)
    row = p.make(entity, who, links, note=f"{_a(role)} adds {_a(ent.label.lower())}")
    p.scenario["steps"][-1]["checks"] = [{"path": state_field, "op": "eq", "value": cap.initial}]
    p.ready(entity, row)
    rec = f"/api/{capability}/records/${{{row}.id}}"
    for t in lead:  # to the first stated state
        p.step(who, "POST", f"{rec}/{t.name}", json={}, expect=200,
               checks=[{"path": f"record.{state_field}", "op": "eq", "value": t.to}],
               note=f"{t.name.replace('_', ' ')}: on to {t.to}")
    first = chain[0][0].from_states[0] if not states else states[0]
    skip = chain[0][1]
    p.step(who, "POST", f"{rec}/{skip.name}", json={}, expect=409,
           note=f"{skip.name.replace('_', ' ')} straight from {first} skips a state: refused")
    p.step(who, "GET", rec, expect=200, checks=[{"path": "state", "op": "eq", "value": first}],
           note="the refusal left the state as it was")
    for t in chain[0]:
        p.step(who, "POST", f"{rec}/{t.name}", json={}, expect=200,
               checks=[{"path": f"record.{state_field}", "op": "eq", "value": t.to}],
               note=f"{t.from_states[0]} -> {t.to}")
    p.step(who, "GET", f"{rec}/history", expect=200,
           checks=[{"path": "items", "op": "len", "value": len(lead) + len(chain[0])}],
           note="every move is recorded, the refused one is not")


def _wf_path(cap, target) -> list:
    """The shortest list of transitions from the initial state to a state `target` leaves."""
    seen, queue = {cap.initial: []}, [cap.initial]
    while queue:
        s = queue.pop(0)
        if s in target.from_states:
            return seen[s]
        for t in cap.transitions:
            if s in t.from_states and t.to not in seen:
                seen[t.to] = [*seen[s], t]
                queue.append(t.to)
    raise ScenarioError(f"transition {target.name!r} cannot be reached from {cap.initial!r}")


def _link_hops(spec, cap, t) -> list:
    from ..capabilities.workflow import link_hops

    return link_hops(spec, cap.entity, t.mover_link) or []


def _linked_to(p, cap, t, actor: str, email: str | None = None, maker: str | None = None) -> dict:
    """The record's overrides that link it, along transition `t`'s mover_link, to a new person record whose email
    is `actor`'s sign-in (or `email`): the person first, then each record between, made by the owner (by `maker`,
    the record's maker, where it reads those rows only when its own)."""
    def by(entity: str) -> str | None:
        return maker if maker and p.makes_own(maker, entity) else None

    from ..capabilities.workflow import link_person

    found = link_person(p.spec, cap, t)
    if found is None:
        raise ScenarioError(f"transition {t.name!r} has no mover_link to a person with an email")
    hops, person, email_field = found
    var = p.make(person, by(person), {email_field: email or f"${{actor.{actor}.email}}"},
                 note=f"the {p.entity(person).label.lower()} record of {actor if email is None else 'nobody'}, with "
                      f"their sign-in email")
    for (field, _e), (_f, between) in zip(reversed(hops[1:]), reversed(hops[:-1]), strict=True):
        var = p.make(between, by(between), {field: f"${{{var}.id}}"},
                     note=f"the {between.replace('_', ' ')} between")
    return {hops[0][0]: f"${{{var}.id}}"}


def _links_for(p, cap, moves: list, actor_of, maker: str | None = None) -> dict:
    """Overrides linking a new record (made by `maker`) to the user who makes each linked move of `moves`
    ([(transition, role)]), the owner not bound."""
    out: dict = {}
    for t, role in moves:
        if t.mover_link and role != "owner" and t.mover_link[0] not in out:
            out.update(_linked_to(p, cap, t, actor_of(role), maker=maker))
    return out


def _linked(p, capability: str, entity: str, state_field: str, transition: str, role: str) -> None:
    """Two users of `role`, two records each linked to one of them: each makes the transition on their own record,
    and on the other's is refused (403 not_yours), the record left as it was."""
    cap = _cap(p.spec, capability, "workflow")
    t = next((x for x in cap.transitions if x.name == transition), None)
    if t is None or role not in t.roles or not t.mover_link or role == "owner":
        raise ScenarioError(f"workflow {capability!r} has no linked transition {transition!r} for {role!r}")
    path = _wf_path(cap, t)
    if any(x.mover_link for x in path):
        raise ScenarioError(f"the way to {transition!r} passes another linked move")
    own = {r.name for r in p.spec.roles if r.scope == "own"}
    writers = _writers(p.spec, entity)
    maker = next((r for r in writers if r not in own and r != "owner"), None) or "owner"
    maker_actor = "owner" if maker == "owner" else p.actor(maker)
    label = p.entity(entity).label.lower()
    mine, theirs = p.actor(role), p.actor(role)
    rows = {}
    for who in (mine, theirs):
        row = p.make(entity, maker_actor, _linked_to(p, cap, t, who, maker=maker_actor),
                     note=f"{_a(label)} linked to {who}")
        p.ready(entity, row)
        for s in path:
            mover = "owner" if "owner" in s.roles else next((r for r in s.roles if r not in own), s.roles[0])
            p.step("owner" if mover == "owner" else p.actor(mover, f"{mover}_mover"), "POST",
                   f"/api/{capability}/records/${{{row}.id}}/{s.name}", json={}, expect=200,
                   note=f"{s.name.replace('_', ' ')}: on to {s.to}")
        rows[who] = row
    rec = f"/api/{capability}/records/${{{rows[theirs]}.id}}"
    reads_own = entity in p.spec.role(role).read_own
    p.step(mine, "POST", f"{rec}/{t.name}", json={}, expect=404 if reads_own else 403,
           checks=[] if reads_own else [{"path": "error.code", "op": "eq", "value": "not_yours"}],
           note=f"{mine} may not {t.name.replace('_', ' ')} the {label} of {theirs}")
    p.step("owner", "GET", rec, expect=200, checks=[{"path": "state", "op": "ne", "value": t.to}],
           note="the refusal left it as it was")
    for who in (mine, theirs):
        p.step(who, "POST", f"/api/{capability}/records/${{{rows[who]}.id}}/{t.name}", json={}, expect=200,
               checks=[{"path": f"record.{state_field}", "op": "eq", "value": t.to}],
               note=f"{who} makes {t.name.replace('_', ' ')} on their own {label}")


def _transition(p, capability: str, entity: str, state_field: str, transition: str, role: str) -> None:
    cap = _cap(p.spec, capability, "workflow")
    t = next((x for x in cap.transitions if x.name == transition), None)
    if t is None or role not in t.roles:
        raise ScenarioError(f"workflow {capability!r} has no transition {transition!r} open to {role!r}")
    ent = p.entity(entity)
    label = ent.label.lower()
    own = {r.name for r in p.spec.roles if r.scope == "own"}
    writers = _writers(p.spec, entity)
    path = _wf_path(cap, t)
    # A role with scope "own" moves only rows it created: such a role, when needed, is the creator.
    needs_own = {role} & own | {s.roles[0] for s in path if all(r in own for r in s.roles)}
    if len(needs_own) > 1:
        raise ScenarioError(f"transitions need different own-scope roles {sorted(needs_own)}")
    if needs_own:
        creator_role = next(iter(needs_own))
        if creator_role not in writers:
            raise ScenarioError(f"the own-scope role {creator_role!r} may not create {entity!r}")
    elif role in writers:
        creator_role = role
    else:
        creator_role = next((r for r in writers if r != "owner"), writers[0] if writers else None)
        if creator_role is None:
            raise ScenarioError(f"no role may write {entity!r}")
    actors: dict[str, str] = {}

    def actor(r: str) -> str:
        if r not in actors:
            actors[r] = p.actor(r)
        return actors[r]

    moves = [(s, creator_role if creator_role in s.roles else next((r for r in s.roles if r not in own), None))
             for s in path] + [(t, role)]
    links = _links_for(p, cap, [(s, r) for s, r in moves if r], actor, actor(creator_role))
    row = p.make(entity, actor(creator_role), links, note=f"{_a(creator_role)} adds {_a(label)}")
    p.scenario["steps"][-1]["checks"] = [{"path": state_field, "op": "eq", "value": cap.initial}]
    p.ready(entity, row)
    rec = f"/api/{capability}/records/${{{row}.id}}"
    state = cap.initial
    for s in path:
        mover = creator_role if creator_role in s.roles else next((r for r in s.roles if r not in own), None)
        if mover is None:
            raise ScenarioError(f"no role can {s.name!r} a row it did not create")
        p.step(actor(mover), "POST", f"{rec}/{s.name}", json={}, expect=200,
               checks=[{"path": f"record.{state_field}", "op": "eq", "value": s.to}],
               note=f"{s.name.replace('_', ' ')}: {state} -> {s.to}")
        state = s.to
    outsider = _wf_outsider(p.spec, entity, t)
    if outsider:
        p.step(actor(outsider), "POST", f"{rec}/{t.name}", json={}, expect=403,
               note=f"{_a(outsider)} may not {t.name.replace('_', ' ')}")
        p.step(actor(creator_role), "GET", rec, expect=200,
               checks=[{"path": "state", "op": "eq", "value": state}], note="the refusal left the state as it was")
    p.step(actor(role), "POST", f"{rec}/{t.name}", json={}, expect=200,
           checks=[{"path": f"record.{state_field}", "op": "eq", "value": t.to},
                   {"path": "transition.from", "op": "eq", "value": state},
                   {"path": "transition.user_role", "op": "eq", "value": role}],
           note=f"{_a(role)} makes {t.name.replace('_', ' ')}: {state} -> {t.to}")
    p.step(actor(role), "POST", f"{rec}/{t.name}", json={}, expect=409,
           note=f"{t.name.replace('_', ' ')} again from {t.to} is refused")
    p.step(actor(creator_role), "GET", f"/api/{ent.plural}/${{{row}.id}}", expect=200,
           checks=[{"path": state_field, "op": "eq", "value": t.to}], note=f"the {label} is now {t.to}")
    p.step(actor(creator_role), "GET", f"{rec}/history", expect=200,
           checks=[{"path": "items", "op": "count", "key": "transition", "value": t.name, "n": 1},
                   {"path": "items", "op": "len", "value": len(path) + 1}],
           note="every transition made is recorded, the refused ones are not")


# ---------------------------------------------------------------------------------------------- rotation

_SWAP = re.compile(r"swap|exchang|trade|switch|hand(ed|ing)? over|handover|cover")


def _realises_rotation(cap, spec, rule, reading) -> bool:
    """An agreement rule about swaps naming the role that approves them (`swap_requires_role`)."""
    return (rule.category == "agreement" and cap.swap_requires_role is not None and rule_number(rule) is None
            and bool(_SWAP.search(_context(rule, reading))) and _names(rule, cap.swap_requires_role))


def _derive_rotation(cap, spec, reading, feature) -> list[dict]:
    work, member = _ent_label(spec, cap.entity), _ent_label(spec, cap.member_entity)
    works = _ent_plural(spec, cap.entity)
    params = {"capability": cap.id, "entity": cap.entity, "assignee_field": cap.assignee_field,
              "member_entity": cap.member_entity, "strategy": cap.strategy, "date_field": cap.date_field}
    if cap.strategy == "round_robin":
        how = (f"Three unassigned {works} are shared among two {member}s in turn (first, second, first), the next "
               f"one goes to the second")
    else:
        how = (f"When one {member} already has {_a(work)}, three unassigned {works} go to whoever has the fewest "
               f"(the other, then the first, then the other)")
    out = [{"text": f"{how}; moving {_a('assigned ' + work)} to someone else by a plain edit is refused.",
            "template": "rotation.assign", "params": params, "rules": []}]
    approver = cap.swap_requires_role
    if approver:
        text = (f"A swap of {_a(work)} to another {member}, asked for by the {member} who holds it, waits for "
                f"{_a(_role_label(spec, approver))}'s approval: until then the {work} stays put; someone else may "
                f"not approve it; once approved it moves.")
    else:
        text = (f"A swap of {_a(work)} to another {member}, asked for by the {member} who holds it, applies at once "
                f"and is recorded; someone who does not hold it may not swap it.")
    out.append({"text": text, "template": "rotation.swap", "params": {**params, "approver": approver},
                "rules": _realised(cap, spec, reading)})
    return out


def _rota_setup(p, entity: str, assignee_field: str, member_entity: str, date_field: str | None, works: int,
                pre_assigned: bool = False, first: tuple[str, dict] | None = None):
    """Two members, `works` unassigned pieces of work; `first`: (actor, overrides) that make the first member
    (the user who will hold its duties)."""
    mlabel = p.entity(member_entity).label.lower()
    mm = _maker(p, member_entity)
    m1 = p.make(member_entity, first[0] if first else mm, first[1] if first else None,
                note=f"a first {mlabel}" + (", who signs in" if first else ""))
    m2 = p.make(member_entity, mm, note=f"a second {mlabel}")
    who = p.writer(entity)
    ent = p.entity(entity)
    dtype = ent.field(date_field).type if date_field and ent.field(date_field) else None
    rows = []
    if pre_assigned:
        over = {assignee_field: f"${{{m1}.id}}"}
        if dtype:
            over[date_field] = days_from_now(1, dtype)
        p.make(entity, who, over, note=f"the first {mlabel} already has {_a(ent.label.lower())}")
    for i in range(works):
        over = {assignee_field: None}
        if dtype:
            over[date_field] = days_from_now(2 + i, dtype)
        rows.append(p.make(entity, who, over, note=f"unassigned {ent.label.lower()} {i + 1}"))
    return ent, who, m1, m2, rows


def _assign(p, capability: str, entity: str, assignee_field: str, member_entity: str, strategy: str,
            date_field: str | None) -> None:
    least = strategy != "round_robin"
    ent, who, m1, m2, rows = _rota_setup(p, entity, assignee_field, member_entity, date_field, 3, least)
    order = [m2, m1, m2] if least else [m1, m2, m1]
    checks = [{"path": "assigned", "op": "len", "value": 3}]
    for i, (row, m) in enumerate(zip(rows, order, strict=True)):
        checks += [{"path": f"assigned.{i}.work_id", "op": "eq", "value": f"${{{row}.id}}"},
                   {"path": f"assigned.{i}.member_id", "op": "eq", "value": f"${{{m}.id}}"}]
    outsider = next((r.name for r in p.spec.roles if r.name not in _writers(p.spec, entity)), None)
    if outsider:
        p.step(p.actor(outsider), "POST", f"/api/{capability}/assign", json={}, expect=403,
               note=f"{_a(outsider)} may not assign work")
    p.step(who, "POST", f"/api/{capability}/assign", json={}, expect=200, checks=checks,
           note=f"assign ({strategy.replace('_', ' ')})")
    p.step(who, "GET", f"/api/{ent.plural}/${{{rows[0]}.id}}", expect=200,
           checks=[{"path": assignee_field, "op": "eq", "value": f"${{{order[0]}.id}}"}],
           note="the assignment is stored on the work")
    if not least:
        over = {assignee_field: None}
        dtype = ent.field(date_field).type if date_field and ent.field(date_field) else None
        if dtype:
            over[date_field] = days_from_now(9, dtype)
        extra = p.make(entity, who, over, note="one more unassigned piece of work")
        p.step(who, "POST", f"/api/{capability}/assign", json={}, expect=200,
               checks=[{"path": "assigned", "op": "len", "value": 1},
                       {"path": "assigned.0.work_id", "op": "eq", "value": f"${{{extra}.id}}"},
                       {"path": "assigned.0.member_id", "op": "eq", "value": f"${{{m2}.id}}"}],
               note="the turn continues with the second member")
    p.step(who, "PATCH", f"/api/{ent.plural}/${{{rows[0]}.id}}",
           json={assignee_field: f"${{{order[1]}.id}}"}, expect=409,
           note="a plain edit may not move assigned work to someone else")


def _swap(p, capability: str, entity: str, assignee_field: str, member_entity: str, strategy: str,
          date_field: str | None, approver: str | None) -> None:
    from ..capabilities.rotation import deciders, holder_email, requesters

    cap = _cap(p.spec, capability, "rotation")
    asks = requesters(cap, p.spec)
    if not asks:
        raise ScenarioError("no role may ask for swaps")
    deciding = deciders(cap, p.spec)
    # only the holder of a duty asks to swap it: the member whose email is the user's, or (no email field) the
    # member record the user created; so the asker must be able to be one (a role that manages users may ask anyway)
    email = holder_email(cap, p.spec)
    able = asks if email else [r for r in asks if r in _writers(p.spec, member_entity)
                               or (p.spec.role(r) is not None and p.spec.role(r).manage_users)]
    if not able:
        raise ScenarioError("no role that may ask for swaps can hold a duty")
    req_role = next((r for r in able if r not in deciding), None) or next((r for r in able if r != "owner"), able[0])
    req = p.actor(req_role)
    if email:
        first = (_maker(p, member_entity), {email: f"${{actor.{req}.email}}"})
    else:
        first = (req if req_role in _writers(p.spec, member_entity) else _maker(p, member_entity), {})
    ent, who, m1, m2, rows = _rota_setup(p, entity, assignee_field, member_entity, date_field, 2, first=first)
    w1, w2 = rows
    p.step(who, "POST", f"/api/{capability}/assign", json={}, expect=200,
           checks=[{"path": "assigned.0.member_id", "op": "eq", "value": f"${{{m1}.id}}"},
                   {"path": "assigned.1.member_id", "op": "eq", "value": f"${{{m2}.id}}"}],
           note="one piece of work each")
    work = f"/api/{ent.plural}/${{{w1}.id}}"
    body = {"work_id": f"${{{w1}.id}}", "to_member_id": f"${{{m2}.id}}", "reason": "cannot make it"}
    swap = p.var("swap")
    thief_role = next((r for r in asks if not p.spec.role(r).manage_users), None)
    if thief_role is not None:
        p.step(p.actor(thief_role), "POST", f"/api/{capability}/swaps", json=body, expect=403,
               note=f"{_a(thief_role)} who does not hold the work may not ask to swap it")
    if approver is None:
        p.step(req, "POST", f"/api/{capability}/swaps", json=body, expect=201, save=swap,
               checks=[{"path": "status", "op": "eq", "value": "applied"}], note="ask for a swap: it applies at once")
        p.step(req, "GET", work, expect=200,
               checks=[{"path": assignee_field, "op": "eq", "value": f"${{{m2}.id}}"}], note="the work moved")
        p.step(req, "POST", f"/api/{capability}/swaps", json=body, expect=400,
               note="handing work to whoever already has it is refused")
    else:
        p.step(req, "POST", f"/api/{capability}/swaps", json=body, expect=201, save=swap,
               checks=[{"path": "status", "op": "eq", "value": "pending"}], note="ask for a swap: it waits")
        p.step(req, "GET", work, expect=200,
               checks=[{"path": assignee_field, "op": "eq", "value": f"${{{m1}.id}}"}],
               note="until approved the work stays put")
        stranger = req_role if req_role not in deciding else \
            next((r.name for r in p.spec.roles if r.name not in deciding), None)
        if stranger:
            p.step(req if stranger == req_role else p.actor(stranger), "POST",
                   f"/api/{capability}/swaps/${{{swap}.id}}/approve", expect=403,
                   note=f"{_a(stranger)} may not approve the swap")
        boss = p.actor(approver)
        p.step(boss, "POST", f"/api/{capability}/swaps/${{{swap}.id}}/approve", expect=200,
               checks=[{"path": "status", "op": "eq", "value": "applied"}], note=f"{_a(approver)} approves")
        p.step(req, "GET", work, expect=200,
               checks=[{"path": assignee_field, "op": "eq", "value": f"${{{m2}.id}}"}], note="now the work moved")
        p.step(boss, "POST", f"/api/{capability}/swaps/${{{swap}.id}}/approve", expect=409,
               note="a decided swap cannot be approved again")
    p.step(req, "GET", f"/api/{capability}/swaps", expect=200,
           checks=[{"path": "items", "op": "any", "key": "id", "value": f"${{{swap}.id}}"}],
           note="the swap is recorded")


# ---------------------------------------------------------------------------------------------- tables

REALISES: dict = {"booking": _realises_booking, "custody": _realises_custody, "workflow": _realises_workflow,
                  "rotation": _realises_rotation}
DERIVE = {kind: _fitted(fn) for kind, fn in (
    ("booking", _derive_booking), ("custody", _derive_custody), ("workflow", _derive_workflow),
    ("rotation", _derive_rotation))}
COMPILE = {"booking.no_overlap": _no_overlap, "booking.length": _length, "custody.check_out_in": _check_out_in, "custody.overdue": _overdue,
           "custody.max_held": _max_held,
           "workflow.transition": _transition, "workflow.in_order": _in_order, "workflow.linked": _linked, "rotation.assign": _assign, "rotation.swap": _swap}
