"""Criteria for reminders and follow (ratings and leaderboard: `k_scores`; attachments, checklist and
versioning: `k_attached`).

Each scenario drives the capability's own routes (see its `module.py.j2`) with the app's clock fixed at `NOW`,
and asserts both the behaviour and the refusal the behaviour implies (a record that does not match gets no
reminder, a follower is told of a change and a stranger is not, ...).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from . import NOW, ScenarioError, iso, noun_matches
from ._notify_helpers import (
    _ABOVE,
    _AFTER,
    _BELOW,
    _TIME_UNITS,
    _a,
    _about_other,
    _clipped,
    _elabel,
    _flabel,
    _has,
    _int,
    _person,
    _readers,
    _rlabel,
    _rules,
    _snake,
    _writers,
)

# ---------------------------------------------------------------------------------------------------- reminders


def _days_of(rule) -> int | None:
    """The rule's window in whole days ("2 days", "1 week"), or None."""
    n = rule.number
    if n is None:  # "a week before", "the day before": one unit, in the words
        m = re.search(r"\b(day|week|fortnight)\b", rule.words.lower())
        if m is None or re.search(r"\d|\b(?:days|weeks|fortnights|every|each|per)\b", rule.words.lower()):
            return None
        return {"day": 1, "week": 7, "fortnight": 14}[m.group(1)]
    unit = (rule.unit or "").lower().strip()
    if not unit:
        unit = "weeks" if _has(rule.words, r"weeks?") else "days" if _has(rule.words, r"days?") else ""
    if unit in ("day", "days", "d"):
        return _int(n)
    if unit in ("week", "weeks", "w"):
        return _int(n * 7)
    return None


def _channel_of(rule) -> str | None:
    text = f"{rule.words} {rule.unit or ''}"
    sms = _has(text, r"sms|texts?|texted|texting|text message")
    mail = _has(text, r"e-?mails?|e-?mailed|mail")
    if sms == mail:
        return None
    return "sms" if sms else "email"


#: What anyone holding a checked-out thing is called, whatever the spec names its holders.
_HOLDER_WORDS = ("holder", "borrower")


def _holder_names(cap, spec) -> list[str]:
    """The names of the holder a reminder about a custody capability's check-outs goes to: the holder entity (its
    name, label and plural, and the address field), or, when holders are users, the roles that check out to
    themselves; and the words for anyone holding something."""
    from ..capabilities.custody import checkout_roles
    from ..capabilities.reminders import custody_of, holder_address, holder_entity

    c = custody_of(cap, spec)
    if c is None:
        return []
    ent = holder_entity(cap, spec)
    if ent is not None:
        field = holder_address(cap, spec)
        names = [ent.name, _snake(ent.label), _snake(ent.label_plural)]
        names += [field, _snake(_flabel(spec, ent.name, field))] if field else []
    else:
        movers = [r for r in checkout_roles(c, spec) if r != "owner"]
        names = [*movers, *(_snake(_rlabel(spec, r)) for r in movers), "user"]
    return [*names, *_HOLDER_WORDS]


def _recipient_names(cap, spec) -> list[str]:
    """The names of the person a reminder goes to (snake_case), none for the creator default. A field of the record
    goes by its name and label ("client_email"); a path by the role its last link gives the person ("pet_owner_id":
    pet owner), the entity it reaches (translator) and the address field, never by the records on the way; a
    reminder about check-outs by the holder (`_holder_names`)."""
    from ..capabilities.reminders import hops

    if getattr(cap, "custody", None):
        return _holder_names(cap, spec)
    if not cap.recipient_field:
        return []
    *links, last = cap.recipient_field.split(".")
    if not links:
        return [last, _snake(_flabel(spec, cap.entity, last))]
    path = hops(cap, spec)
    if not path:
        return []
    holder = cap.entity if len(path) == 1 else path[-2][1]
    link, target = path[-1]
    ent = spec.entity(target)
    return [link.removesuffix("_id"), _snake(_flabel(spec, holder, link)), target, _snake(ent.label),
            _snake(ent.label_plural), last, _snake(_flabel(spec, target, last))]


def _recipient_to(cap, spec) -> str:
    """Who a reminder goes to, for sentences: "its carer email", "the translator's email", "the person who added
    it"."""
    from ..capabilities.reminders import recipient_words

    words = recipient_words(cap, spec)
    if words is None:
        return "the person who added it"
    return f"the {words}" if cap.custody or "." in cap.recipient_field else f"its {words}"


def _realises_reminders(cap, spec, rule, reading) -> bool:
    from ..capabilities.reminders import holder_entity

    held_by = holder_entity(cap, spec) if cap.custody else None
    own = {cap.entity} | ({held_by.name} if held_by is not None else set())
    if rule.category == "time_window":
        if _about_other(spec, rule, own):
            return False
        if cap.rule == "due_in_days":
            days = _days_of(rule)
            return days is not None and days == cap.days and not _has(rule.words, _AFTER)
        if cap.rule == "overdue":  # "overdue", or "more than 21 days overdue" with days 21
            if (rule.number or 0) != (cap.days or 0):
                return False
            return _has(rule.words, r"overdue|late|past due|passed|expired|missed|\bafter\b") or bool(
                cap.days and reading is not None and any(
                    _has(u.word, r"overdue|late|unreturned|unpaid") for u in reading.words))
        return False
    if rule.category == "threshold" and cap.rule == "overdue":  # "more than 21 days overdue"
        return bool(cap.days) and rule.number is not None and float(rule.number) == float(cap.days) and bool(
            rule.unit and _has(rule.unit, r"days?")) and not _about_other(spec, rule, own)
    if rule.category == "threshold":
        if cap.rule != "below_threshold" or cap.threshold is None or rule.number is None:
            return False
        if _about_other(spec, rule, own) or (rule.unit and _has(rule.unit, _TIME_UNITS)):
            return False
        return (float(rule.number) == float(cap.threshold) and _has(rule.words, _BELOW)
                and not _has(rule.words, _ABOVE))
    if rule.category == "recipient":  # never the creator default: the words name someone
        names = _recipient_names(cap, spec)
        return any(noun_matches(n, x) for n in rule.nouns for x in names)
    if rule.category == "channel":
        return _channel_of(rule) == cap.channel
    return False


def _reminder_values(cap, spec) -> dict:
    """Hit and miss values in hours from NOW (date rules) or field values (threshold), base and tight."""
    ent = spec.entity(cap.entity)
    field = ent.field(cap.field)
    if cap.rule == "below_threshold":
        from ..capabilities.reminders import _values

        v = _values(cap, field)
        t = cap.threshold
        if field.type == "integer":  # whole numbers: the largest below the threshold, the smallest not below
            return {"hit": v["below"], "miss": v["above"], "tight_hit": v["below"], "tight_miss": math.ceil(t)}
        just_below = max(round(t - 0.01, 2), field.min if field.min is not None else t - 0.01)
        if field.type == "money":
            return {"hit": v["below"], "miss": v["above"], "tight_hit": f"{just_below:.2f}", "tight_miss": f"{t:.2f}"}
        return {"hit": v["below"], "miss": v["above"], "tight_hit": float(just_below), "tight_miss": float(t)}
    if cap.rule == "overdue":  # overdue by more than `days` days
        grace = (cap.days or 0) * 24
        return {"hit": -24 - grace, "miss": 24, "tight_hit": -24 - grace, "tight_miss": 24 - grace}
    hit = cap.days * 24 - (1 if field.type == "datetime" and cap.days > 0 else 0)
    return {"hit": hit, "miss": (cap.days + 30) * 24, "tight_hit": hit, "tight_miss": (cap.days + 1) * 24}


def _reminder_when(spec, cap, hours) -> str:
    field = _flabel(spec, cap.entity, cap.field)
    if cap.rule == "below_threshold":
        return f"{field} is {hours}"
    days = hours / 24
    if days < 0:
        ago = math.ceil(-days)
        return f"{field} was yesterday" if ago <= 1 else f"{field} was {ago} days ago"
    n = math.ceil(days) if days > 0 else 0
    if n == 0:
        return f"{field} is today"
    return f"{field} is {n} day{'s' if n != 1 else ''} away"


def _derive_reminders(cap, spec, reading, feature) -> list[dict]:
    if cap.custody:
        return _derive_custody_reminders(cap, spec, reading)
    if spec.entity(cap.entity) is None or spec.entity(cap.entity).field(cap.field) is None:
        return []
    ent = _elabel(spec, cap.entity)
    vals = _reminder_values(cap, spec)
    how = "text message" if cap.channel == "sms" else "email"
    to = _recipient_to(cap, spec)
    params = {"cap_id": cap.id, "entity": cap.entity, "field": cap.field, "rule": cap.rule, "channel": cap.channel,
              "recipient_field": cap.recipient_field, "hit": vals["hit"], "miss": vals["miss"]}

    def sentence(hit, miss, extra: str = "") -> str:
        return (f"When the reminders run, {_a(ent)} whose {_reminder_when(spec, cap, hit)} gets one {how} "
                f"reminder sent to {to}; {_a(ent)} whose {_reminder_when(spec, cap, miss)} gets none, and running "
                f"again sends nothing new{extra}.")

    out = [{"text": sentence(vals["hit"], vals["miss"]), "template": "reminders.due", "params": params,
            "rules": []}]
    for i, rule in _rules("reminders", cap, spec, reading):
        if rule.category in ("time_window", "threshold"):
            tight = {**params, "hit": vals["tight_hit"], "miss": vals["tight_miss"]}
            out.append({"text": sentence(vals["tight_hit"], vals["tight_miss"], f" ('{rule.words}')"),
                        "template": "reminders.due", "params": tight, "rules": [i]})
        elif rule.category == "recipient":
            other = ("the person who added it" if "." in (cap.recipient_field or "")
                     else f"another {ent}'s address")
            out.append({"text": f"A due {ent}'s reminder goes to {to} ('{rule.words}'), not to {other}.",
                        "template": "reminders.due", "params": params, "rules": [i]})
        elif rule.category == "channel":
            out.append({"text": f"A due {ent}'s reminder is sent by {how} ('{rule.words}').",
                        "template": "reminders.due", "params": params, "rules": [i]})
    return out


def _companions(p, entity: str, field: str) -> list[tuple[str, int]]:
    """Other fields of the rule field's type with their distance from it in a sample row (days or seconds), so a
    moved rule field keeps them in order (a booking's end stays after its start)."""
    from ..compiler.samples import sample_payload

    ent = p.entity(entity)
    ftype = ent.field(field).type
    if ftype not in ("date", "datetime"):
        return []
    row = sample_payload(p.meta[entity], 0)

    def parse(v: str) -> datetime:
        return datetime.fromisoformat(v.removesuffix("Z"))

    out = []
    for f in ent.fields:
        if f.name != field and f.type == ftype and f.name in row and field in row:
            delta = parse(row[f.name]) - parse(row[field])
            out.append((f.name, delta.days if ftype == "date" else int(delta.total_seconds())))
    return out


def _moved(p, entity: str, field: str, value, companions: list) -> dict:
    """The rule field set to `value`, and fields of the same type kept at their sample distance from it."""
    ftype = p.entity(entity).field(field).type
    out = {field: value}
    if ftype == "date":
        base = datetime.fromisoformat(value)
        for name, delta in companions:
            out[name] = iso(base + timedelta(days=delta), "date")
    elif ftype == "datetime":
        base = datetime.fromisoformat(value.removesuffix("Z"))
        for name, delta in companions:
            out[name] = iso(base + timedelta(seconds=delta))
    return out


def _path(p, entity: str, recipient_field: str) -> tuple[list[str], list[str], str]:
    """(reference fields, the entities they are read on and the one they reach, the address field) of a path."""
    *links, last = recipient_field.split(".")
    ents = [entity]
    for name in links:
        f = p.entity(ents[-1]).field(name)
        if f is None or f.type != "reference":
            raise ScenarioError(f"{ents[-1]}.{name} is not a reference field")
        ents.append(f.ref)
    return links, ents, last


def _optional_hop(p, entity: str, recipient_field: str | None) -> int | None:
    """The first hop of a recipient path that may be left empty, or None."""
    if not recipient_field or "." not in recipient_field:
        return None
    links, ents, _last = _path(p, entity, recipient_field)
    return next((i for i, name in enumerate(links) if not p.entity(ents[i]).field(name).required), None)


def _addressed(p, entity: str, recipient_field: str, address: str, cut: int | None = None,
               by: str | None = None) -> dict:
    """Fields that point a new `entity` row, made by actor `by`, at `address`: the address field itself, or a new
    chain of linked rows ending in it (made as the owner when the owner may, with the link of hop `cut` left
    empty). A linked row `by` reads only where its own (read_own) is made by `by`, so it is its own: a guest's
    stay points at the guest's own guest record, never at one it could not see."""
    links, ents, last = _path(p, entity, recipient_field)
    over: dict = {last: address}
    for i in reversed(range(len(links))):
        target = ents[i + 1]
        owner = p.spec.role("owner")
        if by is not None and p.makes_own(by, target):
            maker = by
        else:
            maker = None if owner is not None and target in owner.write else p.writer(target)
        label = p.entity(target).label.lower()
        var = p.make(target, maker, over, note=f"{_a(label)} the reminder goes to through {links[i]}"
                     if i == len(links) - 1 else f"{_a(label)} linked on the way")
        over = {links[i]: None if i == cut else f"${{{var}.id}}"}
    return over


def _reminders_due(p, cap_id: str, entity: str, field: str, rule: str, channel: str, recipient_field: str | None,
                   hit, miss) -> None:
    """A matching and a non-matching record; run-due twice; the outbox holds one message for the match."""
    ent = p.entity(entity)
    f = ent.field(field)
    if f is None:
        raise ScenarioError(f"{entity} has no field {field!r}")
    companions = _companions(p, entity, field)

    def value(x):
        if rule == "below_threshold":
            return x
        at = NOW + timedelta(hours=x)
        return iso(at, "date") if f.type == "date" else iso(at)

    writer = p.writer(entity)
    phone = channel == "sms"
    over_hit = _moved(p, entity, field, value(hit), companions)
    over_miss = _moved(p, entity, field, value(miss), companions)
    if recipient_field:
        address = "+1 555 0142" if phone else "reminded@example.com"
        over_hit.update(_addressed(p, entity, recipient_field, address, by=writer))
        over_miss.update(_addressed(p, entity, recipient_field, "+1 555 0143" if phone else "not-reminded@example.com",
                                    by=writer))
    else:
        address = f"${{actor.{writer}.email}}"
    label = ent.label.lower()
    hit_var = p.make(entity, writer, over_hit, note=f"{_a(label)} the reminder rule matches")
    miss_var = p.make(entity, writer, over_miss, note=f"{_a(label)} the reminder rule does not match")
    # a path with a link that may be empty: a matching record whose link is empty is reported, sent to nobody
    cut = _optional_hop(p, entity, recipient_field)
    unset_var = None
    if cut is not None:
        over = {**over_hit, **_addressed(p, entity, recipient_field, "+1 555 0144" if phone else "unset@example.com",
                                         cut=cut, by=writer)}
        unset_var = p.make(entity, writer, over, note=f"{_a(label)} the rule matches, whose "
                                                      f"{recipient_field.split('.')[cut]} is empty")
    api = f"/api/{cap_id}"
    ran = [{"path": "due", "op": "eq", "value": 1 if unset_var is None else 2},
           {"path": "delivered", "op": "eq", "value": 1}]
    if unset_var is not None:
        ran += [{"path": "no_recipient", "op": "len", "value": 1},
                {"path": "no_recipient.0.record_id", "op": "eq", "value": f"${{{unset_var}.id}}"}]
    p.step("owner", "POST", f"{api}/run-due", expect=200, note="run the due reminders", checks=ran)
    box = [{"path": "items", "op": "len", "value": 1},
           {"path": "items.0.record_id", "op": "eq", "value": f"${{{hit_var}.id}}"},
           {"path": "items", "op": "none", "key": "record_id", "value": f"${{{miss_var}.id}}"},
           {"path": "items.0.recipient", "op": "eq", "value": address},
           {"path": "items.0.channel", "op": "eq", "value": channel},
           {"path": "items.0.status", "op": "eq", "value": "outbox"}]
    p.step("owner", "GET", f"{api}/outbox", expect=200, checks=box, note="the outbox holds one reminder")
    p.step("owner", "POST", f"{api}/run-due", expect=200, note="run the due reminders again",
           checks=[{"path": "delivered", "op": "eq", "value": 0}])
    p.step("owner", "GET", f"{api}/outbox", expect=200, checks=[{"path": "items", "op": "len", "value": 1}],
           note="still one reminder")


def _custody_when(rule: str, days: int) -> str:
    """When a check-out is reminded, in words: "once it is 7 days past its due time", "1 day before its due time"."""
    n = f"{days} day{'' if days == 1 else 's'}"
    if rule == "overdue":
        return f"once it is {n} past its due time" if days else "once it is past its due time"
    return f"{n} before its due time"


def _derive_custody_reminders(cap, spec, reading) -> list[dict]:
    """A reminder about a custody capability's open check-outs, sent to the holder. One scenario holds the rule's
    days (an hour before: nothing; an hour after: one), the holder's address, the channel and the check-in, so one
    criterion exercises every rule the capability realises."""
    from ..capabilities.reminders import custody_of, holder_address, holder_entity

    c = custody_of(cap, spec)
    if c is None or spec.entity(cap.entity) is None or (cap.rule == "due_in_days" and not cap.days):
        return []
    held_by = holder_entity(cap, spec)
    address = holder_address(cap, spec)
    if c.holder_entity and address is None:
        return []
    item = _elabel(spec, cap.entity)
    who = _elabel(spec, held_by.name) if held_by is not None else "user"
    how = "text message" if cap.channel == "sms" else "email"
    params = {"cap_id": cap.id, "custody_id": c.id, "item_entity": cap.entity, "holder_entity": c.holder_entity,
              "rule": cap.rule, "days": cap.days or 0, "channel": cap.channel, "address_field": address}
    rules = _rules("reminders", cap, spec, reading)
    said = f" ({', '.join(repr(r.words) for _, r in rules)})" if rules else ""
    text = (f"{_a(item).capitalize()} checked out to {_a(who)} gets one {how} reminder "
            f"{_custody_when(cap.rule, cap.days or 0)}, sent to {_recipient_to(cap, spec)}, not to whoever added it; "
            f"none an hour earlier, none for another {who}'s {item} not yet due, none once it is checked in{said}.")
    return [{"text": text, "template": "reminders.custody_due", "params": params, "rules": [i for i, _ in rules]}]


def _reminders_custody_due(p, cap_id: str, custody_id: str, item_entity: str, holder_entity: str | None, rule: str,
                           days: int, channel: str, address_field: str | None) -> None:
    """Two check-outs to two holders, one due and one not; run-due an hour before the rule matches, an hour after,
    and again; the outbox holds one reminder, for the due check-out, to its holder's address; a check-in ends it."""
    from ..capabilities.custody import checkout_roles

    c = p.spec.capability(custody_id)
    if c is None or c.kind != "custody":
        raise ScenarioError(f"the spec has no custody capability {custody_id!r}")
    movers = checkout_roles(c, p.spec)
    if not movers:
        raise ScenarioError(f"no role may check out {item_entity!r}")
    label = p.entity(item_entity).label.lower()
    maker = "owner" if "owner" in _writers(p.spec, item_entity) else p.writer(item_entity)
    items = [p.make(item_entity, maker, note=f"{_a(label)} to lend"),
             p.make(item_entity, maker, note=f"another {label}")]
    phone = channel == "sms"
    if holder_entity:  # holder records whose address is nobody's login
        if address_field is None:
            raise ScenarioError(f"no address field of {holder_entity!r} to send to")
        hl = p.entity(holder_entity).label.lower()
        hmaker = "owner" if "owner" in _writers(p.spec, holder_entity) else p.writer(holder_entity)
        addresses = ["+1 555 0142", "+1 555 0143"] if phone else ["holder-reminded@example.com",
                                                                   "holder-not-due@example.com"]
        holders = [p.make(holder_entity, hmaker, {address_field: a}, note=f"{_a(hl)} whose {address_field} is {a}")
                   for a in addresses]
        mover = p.actor(next((r for r in movers if r != "owner"), movers[0]))
        movers_of = [mover, mover]
        bodies = [{"holder_id": f"${{{h}.id}}"} for h in holders]
    else:  # users hold what they check out to themselves; neither added the items
        movers_of = [_person(p, movers), _person(p, movers)]
        addresses = [f"${{actor.{m}.email}}" for m in movers_of]
        bodies = [{}, {}]

    def hit(due: datetime) -> datetime:
        """An hour after the rule starts matching a check-out due at `due`."""
        return due + timedelta(days=days if rule == "overdue" else -days, hours=1)

    due = NOW + timedelta(days=days + 2)
    later = hit(due) + timedelta(days=days + 30)
    loans = []
    for n, at in enumerate((due, later)):
        var = p.var("checkout")
        p.step(movers_of[n], "POST", f"/api/{custody_id}/items/${{{items[n]}.id}}/checkout",
               json={**bodies[n], "due_at": iso(at)}, expect=201, save=var,
               note=f"check {'the' if n == 0 else 'another'} {label} out, due {iso(at)}")
        loans.append(var)
    api = f"/api/{cap_id}"
    p.step("owner", "POST", f"{api}/run-due", expect=200, now=(hit(due) - timedelta(hours=2)).isoformat(),
           note="run the due reminders an hour before the rule matches: nothing",
           checks=[{"path": "due", "op": "eq", "value": 0}, {"path": "delivered", "op": "eq", "value": 0}])
    p.step("owner", "POST", f"{api}/run-due", expect=200, now=hit(due).isoformat(),
           note="run them an hour after: one reminder",
           checks=[{"path": "due", "op": "eq", "value": 1}, {"path": "delivered", "op": "eq", "value": 1}])
    p.step("owner", "GET", f"{api}/outbox", expect=200, note="the outbox holds one reminder, to the holder",
           checks=[{"path": "items", "op": "len", "value": 1},
                   {"path": "items.0.record_id", "op": "eq", "value": f"${{{loans[0]}.id}}"},
                   {"path": "items", "op": "none", "key": "record_id", "value": f"${{{loans[1]}.id}}"},
                   {"path": "items.0.recipient", "op": "eq", "value": addresses[0]},
                   {"path": "items.0.recipient", "op": "ne", "value": f"${{actor.{maker}.email}}"},
                   {"path": "items.0.channel", "op": "eq", "value": channel},
                   {"path": "items.0.status", "op": "eq", "value": "outbox"}])
    p.step("owner", "POST", f"{api}/run-due", expect=200, note="run them again: nothing new",
           checks=[{"path": "delivered", "op": "eq", "value": 0}])
    p.step(movers_of[0], "POST", f"/api/{custody_id}/items/${{{items[0]}.id}}/checkin", json={}, expect=200,
           note=f"check the {label} in")
    p.step("owner", "POST", f"{api}/run-due", expect=200, note="after the check-in: nothing more",
           checks=[{"path": "due", "op": "eq", "value": 0}, {"path": "resolved", "op": "eq", "value": 1},
                   {"path": "delivered", "op": "eq", "value": 0}])
    p.step(None, "POST", f"{api}/run-due", expect=401, note="running them without signing in is refused")
    p.step("owner", "GET", f"{api}/outbox", expect=200, checks=[{"path": "items", "op": "len", "value": 1}],
           note="still one reminder")


# ---------------------------------------------------------------------------------------------------- follow

_FOLLOWERS = ("follower", "subscriber", "watcher")


def _realises_follow(cap, spec, rule, reading) -> bool:
    if rule.category == "recipient":
        return any(noun_matches(n, w) for n in rule.nouns for w in _FOLLOWERS)
    if rule.category == "channel":  # notifications are in the app, never email or SMS
        return (_has(rule.words, r"in-app|in app|in the app|notifications?") and _channel_of(rule) is None
                and not _has(rule.words, r"sms|texts?|e-?mails?"))
    return False


def _patch_field(spec, entity: str, topic_field: str | None) -> str | None:
    """The field a record-follow scenario changes (as the generated tests choose it), or None."""
    e = spec.entity(entity)
    bound = {getattr(c, "state_field", None) for c in spec.capabilities if getattr(c, "entity", None) == e.name}
    free = [f for f in e.fields if f.name not in bound and f.name != topic_field
            and f.type not in ("reference", "file", "boolean", "datetime")]
    others = [f for f in free if f.name != e.display_field and not f.unique]
    f = (next((f for f in others if f.type in ("text", "long_text")), None)
         or next((f for f in others if f.type != "enum"), None)
         or next((f for f in free if f.name == e.display_field), None)
         or next(iter(others), None))
    return f.name if f else None


def _derive_follow(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None:
        return []
    label, plural = _elabel(spec, cap.entity), _elabel(spec, cap.entity, True)
    params = {"cap_id": cap.id, "entity": cap.entity, "topic_field": cap.topic_field}
    if cap.topic_field:
        topic = _flabel(spec, cap.entity, cap.topic_field)
        text = (f"Someone who follows {_a(topic)} is notified once when a new {label} of that {topic} is added, not "
                f"for {_a(label)} of another {topic}; someone who follows nothing gets no notification.")
    else:
        if _patch_field(spec, cap.entity, cap.topic_field) is None:
            return []
        text = (f"Someone who follows {_a(label)} is notified when it changes; someone who does not follow it gets "
                f"no notification.")
    what = (f"a new {label} of a followed {_flabel(spec, cap.entity, cap.topic_field)}" if cap.topic_field
            else f"a change to a followed {label}")
    out = [{"text": text, "template": "follow.notify", "params": params, "rules": []}]
    for i, rule in _rules("follow", cap, spec, reading):
        if rule.category == "channel":
            said = f"The notification about {what} is shown in the app ('{rule.words}'), unread until read."
        else:
            said = (f"Only the followers of {plural} hear about {what} ('{rule.words}'); someone who follows "
                    f"nothing gets no notification.")
        out.append({"text": said, "template": "follow.notify", "params": params, "rules": [i]})
    return out


def _follow_notify(p, cap_id: str, entity: str, topic_field: str | None) -> None:
    """Follow a topic (or a record); a matching new record (or a change) notifies the follower only."""
    from ..compiler.samples import sample_value

    ent = p.entity(entity)
    api = f"/api/{cap_id}"
    readers = _readers(p.spec, entity)
    writer = p.writer(entity)
    follower = _person(p, readers)
    bystander = _person(p, readers)
    label = ent.label.lower()
    if topic_field:
        f = ent.field(topic_field)
        if f is None:
            raise ScenarioError(f"{entity} has no field {topic_field!r}")
        if f.type == "reference":
            t1, t2 = (f"${{{p.make(f.ref, None)}.id}}" for _ in range(2))
        else:
            meta = next(m for m in p.meta[entity]["fields"] if m["name"] == topic_field)
            t1, t2 = sample_value(meta, 0), sample_value(meta, 1)
            if t1 == t2:
                raise ScenarioError(f"{entity}.{topic_field} has a single possible value")
        p.step(follower, "POST", f"{api}/follows", json={"topic": t1}, expect=201, save="follow",
               note=f"follow a {f.label.lower()}")
        p.step(follower, "POST", f"{api}/follows", json={"topic": t1}, expect=200, note="follow it again",
               checks=[{"path": "follow.id", "op": "eq", "value": "${follow.follow.id}"}])
        match = p.make(entity, writer, {topic_field: t1}, note=f"a new {label} of the followed {f.label.lower()}")
        p.make(entity, writer, {topic_field: t2}, note=f"a new {label} of another {f.label.lower()}")
        event = "created"
    else:
        name = _patch_field(p.spec, entity, None)
        if name is None:
            raise ScenarioError(f"{entity} has no field a change could be made to")
        match = p.make(entity, writer, note=f"{_a(label)}")
        sent = p.scenario["steps"][-1]["json"].get(name)
        meta = next(m for m in p.meta[entity]["fields"] if m["name"] == name)
        new = next((v for v in (sample_value(meta, k) for k in range(1, 6)) if v != sent), None)
        if new is None:
            raise ScenarioError(f"{entity}.{name} has a single possible value")
        p.step(follower, "POST", f"{api}/follows", json={"record_id": f"${{{match}.id}}"}, expect=201,
               save="follow", note=f"follow the {label}")
        p.step(follower, "GET", f"{api}/notifications", expect=200, note="nothing yet",
               checks=[{"path": "items", "op": "len", "value": 0}])
        p.step(writer, "PATCH", f"/api/{ent.plural}/${{{match}.id}}", json={name: new}, expect=200,
               note=f"change the {label}'s {ent.field(name).label.lower()}")
        event = "updated"
    p.step(follower, "GET", f"{api}/notifications", expect=200, note="the follower's notifications",
           checks=[{"path": "items", "op": "len", "value": 1},
                   {"path": "items.0.record_id", "op": "eq", "value": f"${{{match}.id}}"},
                   {"path": "items.0.event", "op": "eq", "value": event},
                   {"path": "unread", "op": "eq", "value": 1}])
    p.step(bystander, "GET", f"{api}/notifications", expect=200, note="someone who follows nothing",
           checks=[{"path": "items", "op": "len", "value": 0}])


# ---------------------------------------------------------------------------------------------------- tables


REALISES: dict = {
    "reminders": _realises_reminders,
    "follow": _realises_follow,
}

DERIVE = {kind: _clipped(fn) for kind, fn in {
    "reminders": _derive_reminders,
    "follow": _derive_follow,
}.items()}

COMPILE = {
    "reminders.due": _reminders_due,
    "reminders.custody_due": _reminders_custody_due,
    "follow.notify": _follow_notify,
}
