"""Criteria for reminders, follow, ratings, leaderboard, attachments, checklist and versioning.

Each scenario drives the capability's own routes (see its `module.py.j2`) with the app's clock fixed at `NOW`,
and asserts both the behaviour and the refusal the behaviour implies (a record that does not match gets no
reminder, a rating out of range is refused, a file too big is refused, ...).
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timedelta

from . import NOW, ScenarioError, entity_label, field_label, iso, noun_matches
from . import a as _with_article

_a = _with_article
_elabel = entity_label
_flabel = field_label


# ---------------------------------------------------------------------------------------------------- helpers


def _rlabel(spec, role: str) -> str:
    r = spec.role(role)
    return (r.label if r else role.replace("_", " ")).lower()


def _snake(label: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


def _has(text: str, pattern: str) -> bool:
    """Does `text` (any case) contain `pattern` as a whole-word regular expression?"""
    return re.search(rf"\b(?:{pattern})\b", text.lower()) is not None


def _about_other(spec, rule, own: set[str]) -> bool:
    """True when the rule's nouns name an entity of the spec other than `own` and none of `own`."""
    def names(e) -> list[str]:
        return [e.name, _snake(e.label), _snake(e.label_plural)]

    def hits(e) -> bool:
        return any(noun_matches(n, x) for n in rule.nouns for x in names(e))

    mine = any(hits(e) for e in spec.entities if e.name in own)
    return not mine and any(hits(e) for e in spec.entities if e.name not in own)


def _readers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.read or entity in r.write]


def _writers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.write]


def _writer_role(spec, entity: str) -> str:
    """The role `Plan.writer` acts as: the first non-owner writer, else the owner."""
    ws = _writers(spec, entity)
    if not ws:
        raise ScenarioError(f"no role may write {entity!r}")
    return next((r for r in ws if r != "owner"), ws[0])


def _person(p, roles: list[str]) -> str:
    """A new user of the first non-owner role in `roles` (another owner-role user when only the owner fits)."""
    role = next((r for r in roles if r != "owner"), None)
    if role is not None:
        return p.actor(role)
    if "owner" in roles:
        return p.actor("owner", f"owner_{len(p.scenario['actors']) + 1}")
    raise ScenarioError("no role fits")


def _non_writer(spec, entity: str) -> str | None:
    """A role that may not write the entity: one that may read it first."""
    ws, rs = set(_writers(spec, entity)), _readers(spec, entity)
    return (next((r.name for r in spec.roles if r.name in rs and r.name not in ws), None)
            or next((r.name for r in spec.roles if r.name not in ws), None))


def _refused(p, entity: str, creator: str) -> tuple[str | None, int]:
    """Someone who may not change `creator`'s record of `entity` (None: not signed in), and the status they get:
    a role that may not write it, else another user of the creator's scope-"own" role, else an anonymous client."""
    role = _non_writer(p.spec, entity)
    if role is not None:
        return p.actor(role), 403
    mine = p.spec.role(p.scenario["actors"].get(creator, ""))
    if mine is not None and mine.scope == "own" and mine.name != "owner":
        return p.actor(mine.name), 403
    return None, 401


def _refused_who(spec, entity: str) -> str:
    """Who `_refused` sends, in words."""
    role = _non_writer(spec, entity)
    if role is not None:
        return _a(_rlabel(spec, role))
    creator = spec.role(_writer_role(spec, entity))
    if creator.scope == "own" and creator.name != "owner":
        return f"another {_rlabel(spec, creator.name)}"
    return "someone who is not signed in"


def _who(spec, actor_role: str) -> str:
    return "the owner" if actor_role == "owner" else _a(_rlabel(spec, actor_role))


def _rules(kind: str, cap, spec, reading) -> list[tuple[int, object]]:
    """(index, rule) of the reading's rules this capability realises."""
    if reading is None:
        return []
    return [(i, r) for i, r in enumerate(reading.rules) if REALISES[kind](cap, spec, r, reading)]


def _int(x: float | None) -> int | None:
    return int(x) if x is not None and float(x).is_integer() else None


_AFTER = r"after|overdue|late|past|since|passed|expired|ago"
_BELOW = r"below|under|less|fewer|lower|drops?|dropping|falls?|falling|low|runs? out|short"
_ABOVE = r"above|over|exceeds?|exceeding|more|greater|higher|rises?|tops?"
_TIME_UNITS = r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|daily|weekly|monthly|hourly"

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
            return _has(rule.words, r"overdue|late|past due|passed|expired|missed") or bool(
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


def _addressed(p, entity: str, recipient_field: str, address: str, cut: int | None = None) -> dict:
    """Fields that point a new `entity` row at `address`: the address field itself, or a new chain of linked rows
    ending in it (made as the owner when the owner may, with the link of hop `cut` left empty)."""
    links, ents, last = _path(p, entity, recipient_field)
    over: dict = {last: address}
    for i in reversed(range(len(links))):
        target = ents[i + 1]
        owner = p.spec.role("owner")
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
        over_hit.update(_addressed(p, entity, recipient_field, address))
        over_miss.update(_addressed(p, entity, recipient_field, "+1 555 0143" if phone else "not-reminded@example.com"))
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
                                         cut=cut)}
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


# ---------------------------------------------------------------------------------------------------- ratings

_RATE_WORDS = r"rat(?:e|es|ed|ing|ings)|reviews?|reviewed|votes?|voted|scores?|scored|stars?|grades?|graded"
_ONCE = r"once|one|only one|single|at most one|twice|again"
_SCALE_WORDS = r"out of|stars?|scale|points?|\d+\s*(?:-|to)\s*\d+"


_PEOPLE = ("user", "person", "people", "account", "customer", "member", "guest", "visitor", "client", "rater",
           "reviewer", "voter")


def _per_target(words: str) -> str | None:
    """The noun after "per"/"each"/"every" ("once per course" -> "course"), or None."""
    m = re.search(r"\b(?:per|each|every)\s+([a-z]+)", words.lower())
    return m.group(1) if m else None


def _names_entity(spec, noun: str, entity: str) -> bool:
    ent = spec.entity(entity)
    return noun_matches(noun, entity) or (ent is not None and noun_matches(noun, _snake(ent.label)))


def _realises_ratings(cap, spec, rule, reading) -> bool:
    words = rule.words
    if _about_other(spec, rule, {cap.entity}) or _has(words, _TIME_UNITS) or _has(rule.unit or "", _TIME_UNITS):
        return False
    said = " ".join([words] + [w.word for w in (reading.words if reading is not None else [])])
    rating = _has(said, _RATE_WORDS)
    if rule.category in ("uniqueness", "limit") and rule.number in (None, 1) and _has(words, _ONCE):
        if rule.category == "limit" and not _has(words, r"per|each|every|once"):
            return False
        target = _per_target(words)
        if target is not None:  # one per rated record, or one per person (per user and record, as built)
            return rating and (_names_entity(spec, target, cap.entity) or any(
                noun_matches(target, w) for w in _PEOPLE) or any(
                noun_matches(target, r.name) or noun_matches(target, _snake(r.label)) for r in spec.roles))
        return rating and all(_names_entity(spec, n, cap.entity) or _has(n, _RATE_WORDS) for n in rule.nouns)
    if rule.category == "limit" and rule.number is not None and float(rule.number) == cap.scale:
        return _has(f"{words} {rule.unit or ''}", _SCALE_WORDS) and not _has(words, r"per|each|every|once")
    return False


def _derive_ratings(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None:
        return []
    label = _elabel(spec, cap.entity)
    n = cap.scale
    params = {"cap_id": cap.id, "entity": cap.entity, "scale": n}
    out = [{"text": f"A user may rate {_a(label)} from 1 to {n}: {n} is accepted, {n + 1} and 0 are refused, rating "
                    f"the same {label} again replaces the first rating, and the average shows every user once; "
                    f"whoever created the {label} may not rate it.",
            "template": "ratings.rate", "params": params, "rules": []}]
    for i, rule in _rules("ratings", cap, spec, reading):
        if rule.category == "limit" and rule.number is not None and float(rule.number) == n:
            out.append({"text": f"{_a(label).capitalize()} can be rated {n} out of {n} ('{rule.words}'), and a "
                                f"rating of {n + 1} is refused.", "template": "ratings.scale", "params": params,
                        "rules": [i]})
        else:
            out.append({"text": f"A user who rates the same {label} twice still counts once in its average "
                                f"('{rule.words}').", "template": "ratings.once", "params": params, "rules": [i]})
    return out


def _rater_roles(p, cap_id: str) -> list[str]:
    """The roles whose ratings count (never the sign-up role unless the spec lists it)."""
    from ..capabilities.ratings import raters

    cap = next((c for c in p.spec.capabilities if c.id == cap_id and c.kind == "ratings"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no ratings capability {cap_id!r}")
    return raters(cap, p.spec)


def _rated(p, cap_id: str, entity: str, raters: int) -> tuple[str, list[str], str]:
    """A record to rate, made by a writer (returned last), and `raters` new users whose ratings count."""
    ent = p.entity(entity)
    author = p.writer(entity)
    row = p.make(entity, author, note=f"{_a(ent.label.lower())} to rate")
    return row, [_person(p, _rater_roles(p, cap_id)) for _ in range(raters)], author


def _ratings_rate(p, cap_id: str, entity: str, scale: int) -> None:
    """Rate at the top of the scale, refuse out of range, replace a second rating, average two users."""
    ent = p.entity(entity)
    row, (alice, bob), author = _rated(p, cap_id, entity, 2)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(author, "PUT", f"{url}/rating", json={"stars": scale}, expect=403,
           note="whoever created the record may not rate it")
    may_rate = _rater_roles(p, cap_id)
    other = next((r for r in _readers(p.spec, entity) if r not in may_rate), None)
    if other is not None:
        p.step(p.actor(other), "PUT", f"{url}/rating", json={"stars": scale}, expect=403,
               note=f"{_a(other)} (a role whose ratings do not count) may not rate")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale + 1}, expect=400, note=f"rate {scale + 1}: refused")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": 0}, expect=400, note="rate 0: refused")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale}, expect=201, note=f"rate {scale}",
           checks=[{"path": "summary.average", "op": "eq", "value": scale},
                   {"path": "summary.count", "op": "eq", "value": 1}])
    p.step(alice, "PUT", f"{url}/rating", json={"stars": 1}, expect=200, note="rate the same record again",
           checks=[{"path": "summary.count", "op": "eq", "value": 1},
                   {"path": "summary.average", "op": "eq", "value": 1}])
    p.step(bob, "PUT", f"{url}/rating", json={"stars": scale}, expect=201, note=f"another user rates {scale}")
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="the average",
           checks=[{"path": "count", "op": "eq", "value": 2},
                   {"path": "average", "op": "eq", "value": round((1 + scale) / 2, 2)},
                   {"path": "mine.stars", "op": "eq", "value": 1}])


def _ratings_scale(p, cap_id: str, entity: str, scale: int) -> None:
    """The top of the stated scale is accepted and one above it refused."""
    ent = p.entity(entity)
    row, (alice,), _author = _rated(p, cap_id, entity, 1)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale + 1}, expect=400, note=f"rate {scale + 1}: refused")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale}, expect=201, note=f"rate {scale}",
           checks=[{"path": "rating.stars", "op": "eq", "value": scale}])
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="the rating stands",
           checks=[{"path": "count", "op": "eq", "value": 1}, {"path": "average", "op": "eq", "value": scale}])


def _ratings_once(p, cap_id: str, entity: str, scale: int) -> None:
    """The same user rating twice counts once."""
    ent = p.entity(entity)
    row, (alice,), _author = _rated(p, cap_id, entity, 1)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale}, expect=201, note="rate once")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": scale}, expect=[200, 409], note="rate again")
    p.step(alice, "PUT", f"{url}/rating", json={"stars": 1}, expect=[200, 409], note="and again")
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="counted once",
           checks=[{"path": "count", "op": "eq", "value": 1}, {"path": "items", "op": "len", "value": 1}])


# ---------------------------------------------------------------------------------------------------- leaderboard

_DAY = r"a day|per day|each day|every day|daily|day|days|today"


def _award_for(cap, spec, rule):
    """The award whose own numbers the rule states: (award, "points" | "max_per_day"), or None."""
    if rule.number is None:
        return None
    text = f"{rule.words} {rule.unit or ''}"
    for a in cap.awards:
        if _about_other(spec, rule, {a.entity}):
            continue
        n = float(rule.number)
        if n == a.points and _has(text, r"points?|pts") and not _has(text, _DAY):
            return a, "points"
        if n == a.max_per_day and rule.category in ("limit", "capacity") and _has(text, _DAY) and not _has(
                text, r"points?|pts"):
            return a, "max_per_day"
    return None


def _period_of(rule) -> str | None:
    text = f"{rule.words} {rule.unit or ''}"
    if rule.category != "time_window" or rule.number not in (None, 1):
        return None
    week, month = _has(text, r"weeks?|weekly"), _has(text, r"months?|monthly")
    return "week" if week and not month else "month" if month and not week else None


def _realises_leaderboard(cap, spec, rule, reading) -> bool:
    if _award_for(cap, spec, rule) is not None:
        return True
    return _period_of(rule) is not None and _period_of(rule) == cap.period


def _derive_leaderboard(cap, spec, reading, feature) -> list[dict]:
    awards = [a for a in cap.awards if spec.entity(a.entity) is not None and _writers(spec, a.entity)]
    if not awards:
        return []
    out: list[dict] = []
    for a in awards:
        who = _who(spec, _writer_role(spec, a.entity))
        label = _elabel(spec, a.entity)
        params = {"cap_id": cap.id, "entity": a.entity, "points": a.points, "max_per_day": a.max_per_day}
        out.append({"text": f"When {who} adds {_a(label)}, they earn {a.points} points and appear on the "
                            f"leaderboard with them.", "template": "leaderboard.points", "params": params,
                    "rules": []})
    a = awards[0]
    cap_params = {"cap_id": cap.id, "entity": a.entity, "points": a.points, "max_per_day": a.max_per_day}
    cap_text = (f"{_who(spec, _writer_role(spec, a.entity)).capitalize()} earns points for at most "
                f"{a.max_per_day} {_elabel(spec, a.entity, a.max_per_day != 1)} a day: the next one that day is "
                f"saved without points, and the next day earns points again.")
    out.append({"text": cap_text, "template": "leaderboard.daily_cap", "params": cap_params, "rules": []})
    for i, rule in _rules("leaderboard", cap, spec, reading):
        found = _award_for(cap, spec, rule)
        if found is None:
            label = _elabel(spec, a.entity)
            out.append({"text": f"Points for {_a(label)} count on this {cap.period}'s leaderboard and not on the "
                                f"next {cap.period}'s ('{rule.words}').", "template": "leaderboard.period",
                        "params": {**cap_params, "period": cap.period}, "rules": [i]})
            continue
        aw, what = found
        params = {"cap_id": cap.id, "entity": aw.entity, "points": aw.points, "max_per_day": aw.max_per_day}
        if what == "points":
            out.append({"text": f"Adding {_a(_elabel(spec, aw.entity))} earns exactly {aw.points} points "
                                f"('{rule.words}').", "template": "leaderboard.points", "params": params,
                        "rules": [i]})
        else:
            out.append({"text": f"At most {aw.max_per_day} {_elabel(spec, aw.entity, aw.max_per_day != 1)} a day "
                                f"earn points ('{rule.words}'); the next one that day earns none.",
                        "template": "leaderboard.daily_cap", "params": params, "rules": [i]})
    return out


def _award_rows(p, entity: str) -> tuple[str, dict]:
    """The writer, and overrides pointing every reference of `entity` at rows made once by the owner."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    if writer == "owner":  # a second owner-role user: the rows the owner makes first earn it nothing
        writer = p.actor("owner", "owner_b")
    over: dict = {}
    if p.meta[entity].get("unique_together"):  # a link row: each needs its own pair of rows
        return writer, over
    for f in ent.fields:
        if f.type == "reference" and f.ref != entity:
            over[f.name] = f"${{{p.make(f.ref, None, parents=(entity,))}.id}}"
    return writer, over


def _board_checks(p, cap_api: str, writer: str, entity: str, total: int, rows: int) -> None:
    """The writer's awards for `entity` number `rows`, and the all-time board shows them with `total` points."""
    p.step(writer, "GET", f"{cap_api}/points", expect=200, note="my points",
           checks=[{"path": "items", "op": "count", "key": "entity", "value": entity, "n": rows}])
    board = [{"path": "items", "op": "any", "key": "name", "value": writer},
             {"path": "me.points", "op": "eq", "value": total}]
    p.step(writer, "GET", f"{cap_api}/leaderboard?period=all", expect=200, checks=board, note="the leaderboard")


def _leaderboard_points(p, cap_id: str, entity: str, points: int, max_per_day: int) -> None:
    """One row earns its creator the award's points, shown on the leaderboard."""
    writer, over = _award_rows(p, entity)
    label = p.entity(entity).label.lower()
    p.step(writer, "GET", f"/api/{cap_id}/leaderboard?period=all", expect=200, note="no points yet",
           checks=[{"path": "items", "op": "none", "key": "name", "value": writer}])
    p.make(entity, writer, over, note=f"add {_a(label)}")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points, 1)


def _leaderboard_daily_cap(p, cap_id: str, entity: str, points: int, max_per_day: int) -> None:
    """max_per_day rows earn points, one more that day is saved without them, the next day earns again."""
    writer, over = _award_rows(p, entity)
    label = p.entity(entity).label.lower()
    for n in range(max_per_day):
        p.make(entity, writer, over, note=f"add {label} {n + 1} today")
    p.make(entity, writer, over, note=f"add one {label} more today")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points * max_per_day, max_per_day)
    tomorrow = (NOW + timedelta(days=1)).isoformat()
    p.step(writer, "GET", f"/api/{cap_id}/points", expect=200, now=tomorrow, note="the next day")
    p.make(entity, writer, over, note=f"add {_a(label)} the next day")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points * (max_per_day + 1), max_per_day + 1)


def _leaderboard_period(p, cap_id: str, entity: str, points: int, max_per_day: int, period: str) -> None:
    """The leaderboard (its default period) counts points this week/month and not the next; all-time keeps them."""
    writer, over = _award_rows(p, entity)
    p.make(entity, writer, over, note=f"add {_a(p.entity(entity).label.lower())}")
    api = f"/api/{cap_id}/leaderboard"
    p.step(writer, "GET", api, expect=200, note=f"the leaderboard this {period}",
           checks=[{"path": "period", "op": "eq", "value": period},
                   {"path": "me.points", "op": "eq", "value": points}])
    nxt = datetime(2030, 1, 14, 8) if period == "week" else datetime(2030, 2, 1, 8)
    p.step(writer, "GET", api, expect=200, now=nxt.isoformat(), note=f"the leaderboard the next {period}",
           checks=[{"path": "period", "op": "eq", "value": period},
                   {"path": "me.points", "op": "eq", "value": 0}])
    p.step(writer, "GET", f"{api}?period=all", expect=200, note="all time",
           checks=[{"path": "me.points", "op": "eq", "value": points}])


# ---------------------------------------------------------------------------------------------------- attachments

_SIZE_UNITS = {"b": (1,), "byte": (1,), "bytes": (1,), "kb": (1000, 1024), "kib": (1024,), "kilobyte": (1000, 1024),
               "kilobytes": (1000, 1024), "k": (1000, 1024), "mb": (1_000_000, 1_048_576), "mib": (1_048_576,),
               "meg": (1_000_000, 1_048_576), "megs": (1_000_000, 1_048_576), "megabyte": (1_000_000, 1_048_576),
               "megabytes": (1_000_000, 1_048_576), "gb": (10 ** 9, 2 ** 30), "gigabyte": (10 ** 9, 2 ** 30),
               "gigabytes": (10 ** 9, 2 ** 30)}
#: Content for an allowed type, in preference order: types whose bytes the runner can read back as text first.
_CONTENT = {"text/plain": "Criteria check file.\n", "text/csv": "name,check\ncriteria,1\n",
            "application/pdf": "%PDF-1.4\n% criteria check file\n%%EOF\n", "image/gif": "GIF89a criteria check file",
            "application/zip": "PK\x03\x04 criteria check file",
            "image/webp": "RIFF\x00\x00\x00\x00WEBP criteria check file",
            "image/png": "\x89PNG\r\n\x1a\n criteria check file", "image/jpeg": "\xff\xd8\xff criteria check file"}
_BINARY = ("image/png", "image/jpeg")
_EXT = {"text/plain": "txt", "text/csv": "csv", "application/pdf": "pdf", "image/gif": "gif", "application/zip": "zip",
        "image/webp": "webp", "image/png": "png", "image/jpeg": "jpg"}


def _size_unit(rule) -> tuple[int, ...]:
    unit = (rule.unit or "").lower().strip().rstrip(".")
    if unit in _SIZE_UNITS:
        return _SIZE_UNITS[unit]
    m = re.search(r"\d\s*(kib|mib|kb|mb|gb|kilobytes?|megabytes?|gigabytes?|megs?|bytes?)\b", rule.words.lower())
    return _SIZE_UNITS.get(m.group(1), ()) if m else ()


def _realises_attachments(cap, spec, rule, reading) -> bool:
    if rule.number is None or rule.category not in ("limit", "capacity", "threshold", "time_window"):
        return False
    if _about_other(spec, rule, {cap.entity}):
        return False
    return any(round(float(rule.number) * m) == cap.max_bytes for m in _size_unit(rule))


def _good_type(allowed: list[str]) -> str:
    known = [t for t in _CONTENT if t in allowed and t not in _BINARY]
    other = [t for t in allowed if t not in _CONTENT]
    return (known or other or [t for t in _BINARY if t in allowed] or allowed)[0]


def _file(ctype: str, size: int | None = None) -> dict:
    body = _CONTENT.get(ctype, "criteria check file\n")
    out = {"name": f"criteria.{_EXT.get(ctype, 'bin')}", "content": body, "type": ctype}
    if size is not None:  # the runner pads the file to `size` bytes (the scenario stays small)
        if size < len(body):
            out["content"] = "a" * size
        else:
            out["pad_to"] = size
    return out


def _bytes_text(n: int) -> str:
    for unit, size in (("MB", 1_000_000), ("MiB", 1_048_576), ("KB", 1000), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _derive_attachments(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label = _elabel(spec, cap.entity)
    good = _good_type(cap.allowed_types)
    refused = next(t for t in ("text/html", "application/x-msdownload", "application/octet-stream")
                   if t not in cap.allowed_types)
    params = {"cap_id": cap.id, "entity": cap.entity, "max_bytes": cap.max_bytes, "good": good, "refused": refused}
    back = ("downloading it returns the same bytes" if good not in _BINARY
            else "the file list shows it with the same size and checksum")
    out = [{"text": f"{_a(good).capitalize()} file attached to {_a(label)} is listed and {back}; {_a(refused)} file "
                    f"is refused, and so is a file over {_bytes_text(cap.max_bytes)}.",
            "template": "attachments.upload", "params": params, "rules": []}]
    for i, rule in _rules("attachments", cap, spec, reading):
        out.append({"text": f"A file of exactly {_bytes_text(cap.max_bytes)} can be attached to {_a(label)}, and one "
                            f"byte more is refused ('{rule.words}').", "template": "attachments.size_limit",
                    "params": params, "rules": [i]})
    return out


def _attach_record(p, entity: str) -> tuple[str, str]:
    ent = p.entity(entity)
    writer = p.writer(entity)
    return writer, p.make(entity, writer, note=f"a {ent.label.lower()}")


def _attachments_upload(p, cap_id: str, entity: str, max_bytes: int, good: str, refused: str) -> None:
    """Upload, list and download a file; a refused type gets 415, a file over the limit 413."""
    writer, row = _attach_record(p, entity)
    api = f"/api/{cap_id}"
    f = _file(good)
    data = f["content"].encode("latin-1")
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": f}, expect=201, save="upload",
           note=f"attach {_a(good)} file",
           checks=[{"path": "size", "op": "eq", "value": len(data)},
                   {"path": "sha256", "op": "eq", "value": hashlib.sha256(data).hexdigest()},
                   {"path": "content_type", "op": "eq", "value": good}])
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="the record's files",
           checks=[{"path": "items", "op": "len", "value": 1},
                   {"path": "items.0.id", "op": "eq", "value": "${upload.id}"},
                   {"path": "items.0.sha256", "op": "eq", "value": hashlib.sha256(data).hexdigest()}])
    if good not in _BINARY:  # the runner reads every response as UTF-8 text
        p.step(writer, "GET", f"{api}/files/${{upload.id}}", expect=200, note="download it",
               checks=[{"op": "text_contains", "value": f["content"]}])
    bad = {"name": "criteria.bin", "content": "<p>criteria check file</p>", "type": refused}
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": bad}, expect=415,
           note=f"attach {_a(refused)} file: refused")
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes + 1)}, expect=413,
           note=f"attach a file of {max_bytes + 1} bytes: refused")
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="still one file",
           checks=[{"path": "items", "op": "len", "value": 1}])


def _attachments_size_limit(p, cap_id: str, entity: str, max_bytes: int, good: str, refused: str) -> None:
    """A file of exactly the limit is accepted, one byte more is refused."""
    writer, row = _attach_record(p, entity)
    api = f"/api/{cap_id}"
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes)}, expect=201,
           note=f"attach a file of exactly {max_bytes} bytes",
           checks=[{"path": "size", "op": "eq", "value": max_bytes}])
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes + 1)}, expect=413,
           note=f"attach a file of {max_bytes + 1} bytes: refused")
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="only the first file",
           checks=[{"path": "items", "op": "len", "value": 1}])


# ---------------------------------------------------------------------------------------------------- checklist


def _derive_checklist(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label = _elabel(spec, cap.entity)
    who = _refused_who(spec, cap.entity)
    return [{"text": f"Three checklist items added to {_a(label)} show 0% done; ticking one shows 33%, ticking all "
                     f"shows 100% and complete; {who} may not add or tick items.",
             "template": "checklist.progress", "params": {"cap_id": cap.id, "entity": cap.entity}, "rules": []}]


def _checklist_progress(p, cap_id: str, entity: str) -> None:
    """Add three items, tick them off and watch the progress; someone without write access is refused."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    row = p.make(entity, writer, note=f"a {ent.label.lower()}")
    api = f"/api/{cap_id}"
    items = []
    for n in range(3):
        var = f"item_{n + 1}"
        p.step(writer, "POST", f"{api}/${{{row}.id}}/items", json={"label": f"Step {n + 1}"}, expect=201,
               save=var, note=f"add checklist item {n + 1}", checks=[{"path": "done", "op": "false"}])
        items.append(var)

    def progress(done: int, percent: int, complete: bool, note: str, who: str = writer) -> None:
        p.step(who, "GET", f"{api}/${{{row}.id}}", expect=200, note=note,
               checks=[{"path": "total", "op": "eq", "value": 3}, {"path": "done", "op": "eq", "value": done},
                       {"path": "percent", "op": "eq", "value": percent},
                       {"path": "complete", "op": "true" if complete else "false"}])

    progress(0, 0, False, "nothing done yet")
    p.step(writer, "PATCH", f"{api}/items/${{{items[0]}.id}}", json={"done": True}, expect=200, note="tick one",
           checks=[{"path": "done", "op": "true"}])
    progress(1, 33, False, "one of three done")
    p.step(writer, "GET", f"{api}/incomplete?per_page=100", expect=200, note="incomplete checklists",
           checks=[{"path": "items", "op": "any", "key": "percent", "value": 33}])
    stranger, status = _refused(p, entity, writer)
    p.step(stranger, "POST", f"{api}/${{{row}.id}}/items", json={"label": "Sneaky"}, expect=status,
           note="add an item without write access: refused")
    p.step(stranger, "PATCH", f"{api}/items/${{{items[1]}.id}}", json={"done": True}, expect=status,
           note="tick an item without write access: refused")
    progress(1, 33, False, "unchanged")
    for var in items[1:]:
        p.step(writer, "PATCH", f"{api}/items/${{{var}.id}}", json={"done": True}, expect=200, note="tick another")
    progress(3, 100, True, "all done")


# ---------------------------------------------------------------------------------------------------- versioning

_V1 = "Mix the clay.\nWedge it well.\nLet it rest."
_V2 = "Mix the clay.\nWedge it twice.\nLet it rest."


def _derive_versioning(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label, field = _elabel(spec, cap.entity), _flabel(spec, cap.entity, cap.field)
    who = _refused_who(spec, cap.entity)
    return [{"text": f"Each change of {_a(label)}'s {field} adds a numbered revision; the diff between revisions 1 "
                     f"and 2 shows the changed line; restoring revision 1 brings its text back as revision 3; "
                     f"{who} may not restore.",
             "template": "versioning.revisions", "params": {"cap_id": cap.id, "entity": cap.entity,
                                                            "field": cap.field}, "rules": []}]


def _versioning_revisions(p, cap_id: str, entity: str, field: str) -> None:
    """Two versions make revisions 1 and 2, the diff shows the change, restore adds revision 3."""
    ent = p.entity(entity)
    f = ent.field(field)
    if f is None:
        raise ScenarioError(f"{entity} has no field {field!r}")
    pad = "" if f.min is None or f.min <= len(_V1) else "\n" + "x" * int(f.min - len(_V1))
    v1, v2 = _V1 + pad, _V2 + pad
    writer = p.writer(entity)
    row = p.make(entity, writer, {field: v1}, note=f"a {ent.label.lower()} with a first {f.label.lower()}")
    api = f"/api/{cap_id}/${{{row}.id}}"
    p.step(writer, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={field: v2}, expect=200,
           note=f"change the {f.label.lower()}")
    p.step(writer, "GET", f"{api}/revisions", expect=200, note="two revisions",
           checks=[{"path": "items", "op": "len", "value": 2}, {"path": "items.0.number", "op": "eq", "value": 2},
                   {"path": "items.1.number", "op": "eq", "value": 1}])
    p.step(writer, "GET", f"{api}/diff?from=1&to=2", expect=200, note="the diff",
           checks=[{"path": "diff", "op": "contains", "value": "-Wedge it well."},
                   {"path": "diff", "op": "contains", "value": "+Wedge it twice."}])
    stranger, status = _refused(p, entity, writer)
    p.step(stranger, "POST", f"{api}/revisions/1/restore", expect=status, note="restore without write access: refused")
    p.step(writer, "POST", f"{api}/revisions/99/restore", expect=404, note="restore a revision that does not exist")
    p.step(writer, "POST", f"{api}/revisions/1/restore", expect=201, note="restore revision 1",
           checks=[{"path": "changed", "op": "true"}, {"path": "revision.number", "op": "eq", "value": 3},
                   {"path": "revision.restored_from", "op": "eq", "value": 1},
                   {"path": f"record.{field}", "op": "eq", "value": v1}])
    p.step(writer, "GET", f"{api}/revisions/3", expect=200, note="revision 3 holds the first text",
           checks=[{"path": "body", "op": "eq", "value": v1}])
    p.step(writer, "GET", f"/api/{ent.plural}/${{{row}.id}}", expect=200, note="the record has it again",
           checks=[{"path": field, "op": "eq", "value": v1}])


# ---------------------------------------------------------------------------------------------------- tables


def _clipped(derive):
    """`derive` with every criterion's text within the 300 characters a Criterion holds."""
    def run(cap, spec, reading, feature) -> list[dict]:
        out = derive(cap, spec, reading, feature)
        for c in out:
            if len(c["text"]) > 300:
                c["text"] = c["text"][:299].rsplit(" ", 1)[0].rstrip(",;:") + "…"
        return out
    run.__doc__ = derive.__doc__
    return run


REALISES: dict = {
    "reminders": _realises_reminders,
    "follow": _realises_follow,
    "ratings": _realises_ratings,
    "leaderboard": _realises_leaderboard,
    "attachments": _realises_attachments,
    "checklist": lambda cap, spec, rule, reading: False,  # no parameter carries a rule
    "versioning": lambda cap, spec, rule, reading: False,  # no parameter carries a rule
}

DERIVE = {kind: _clipped(fn) for kind, fn in {
    "reminders": _derive_reminders,
    "follow": _derive_follow,
    "ratings": _derive_ratings,
    "leaderboard": _derive_leaderboard,
    "attachments": _derive_attachments,
    "checklist": _derive_checklist,
    "versioning": _derive_versioning,
}.items()}

COMPILE = {
    "reminders.due": _reminders_due,
    "reminders.custody_due": _reminders_custody_due,
    "follow.notify": _follow_notify,
    "ratings.rate": _ratings_rate,
    "ratings.scale": _ratings_scale,
    "ratings.once": _ratings_once,
    "leaderboard.points": _leaderboard_points,
    "leaderboard.daily_cap": _leaderboard_daily_cap,
    "leaderboard.period": _leaderboard_period,
    "attachments.upload": _attachments_upload,
    "attachments.size_limit": _attachments_size_limit,
    "checklist.progress": _checklist_progress,
    "versioning.revisions": _versioning_revisions,
}
