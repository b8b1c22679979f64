"""Criteria for `limit`: a parent takes rows up to its limit, one more is refused with 409, another parent still
takes rows (and, as bound, a row that does not count or falls in the next period is still accepted). A limit per
user and parent: one user fills theirs in one parent, the next is refused, the same user still adds a row in
another parent and another user one in the same parent. A limit per user: one user fills theirs, the next is refused, another user still creates rows. A limit for the whole app: two
users fill it together, the next is refused for either of them.

A stated rule is realised only when the capability carries the rule's own number (or, for "up to its capacity",
the parent's own limit field), counts what the rule counts (rows, or the sum of the field its unit names), per the
period it names and only the statuses it names, and the rule names no record but the counted one and its parent
(per user or for the whole app: no record but the counted one, and for the whole app no people it is per).
"""

from __future__ import annotations

import re

from ..capabilities._booking_slots import SampleSlots
from ..planner.reading import NUMBER_WORDS
from ..planner.text import singular
from . import ScenarioError, a, entity_label, field_label, noun_matches, rule_number
from ._flow_helpers import _maker

#: words that make a threshold (or a time span with a sum) an upper limit: "no more than", "at most"
_CAP_WORDS = re.compile(r"\b(at most|no more than|not more than|up to|maximum|max|a limit of|limit(ed)? (of|to)|"
                        r"cap(ped)? at|never more than)\b")
#: content words just before a number that make it an upper limit ("at most 20 hours": "most")
_CAP_BEFORE = {"most", "max", "maximum", "limit", "limited", "capped"}
_CAPACITY_WORDS = re.compile(r"\b(capacity|capacities|seats?|places?|spots?|spaces?|berths?|beds?|room|size|full)\b")
_PERIODS = {"day": "day", "days": "day", "daily": "day", "night": "day", "nights": "day", "nightly": "day",
            "week": "week", "weeks": "week", "weekly": "week", "month": "month", "months": "month",
            "monthly": "month", "year": "year", "years": "year", "yearly": "year", "annual": "year",
            "annually": "year", "term": "term", "semester": "term", "season": "season"}
#: adjectives that restrict which rows count ("3 active loans"); the capability must count only those
_STATUS_WORDS = {"active", "open", "current", "pending", "outstanding", "ongoing", "unpaid", "unreturned",
                 "unresolved", "upcoming", "confirmed", "approved", "overdue", "live", "unfinished", "booked"}
#: words for any person using the app, beside roles and the lexicon's people nouns
_USER_WORDS = {"user", "person", "people", "everyone", "everybody", "anyone", "account", "individual"}
MAX_ROWS = 500  # a scenario creates the rows one by one: a limit above this is not filled


def _parent(cap, spec) -> str | None:
    from ..capabilities.limit import parent_entity

    return parent_entity(cap, spec)


def _pair(cap, spec) -> str | None:
    """The entity of a limit per pair of records (the record beside the parent), or None."""
    from ..capabilities.limit import pair_entity

    return pair_entity(cap, spec) if getattr(cap, "pair_field", None) else None


def _window(rule, reading) -> tuple[list[tuple[str, str]], list[str]]:
    """((word, maps_to) of the rule's words and of the feature's words just around them, the two content words just
    before them): "at most 20 hours a month" reads as a rule "20 hours" between "most" and "a month"."""
    own = [(w, "") for w in re.findall(r"[a-z0-9]+", (rule.words or "").lower())]
    if reading is None or rule not in reading.rules:
        return own, []
    tag = f"rule:{reading.rules.index(rule)}"
    at = [k for k, u in enumerate(reading.words) if u.maps_to == tag]
    if not at:
        return own, []
    before = [u for u in reading.words[max(0, at[0] - 2):at[0]] if not u.maps_to.startswith("rule:")]
    after = [u for u in reading.words[at[-1] + 1:at[-1] + 4] if not u.maps_to.startswith("rule:")]
    return own + [(u.word.lower(), u.maps_to) for u in (*before, *after)], [u.word.lower() for u in before]


def _named_entities(spec, rule, window) -> set[str]:
    """Entities the rule's nouns and the words around it name: as the reading maps them (a field's word names its
    entity, a reference field's word its target), or by name for the words it leaves unmapped or maps to a role."""
    out: set[str] = set()
    for _word, maps_to in window:
        kind, _, target = maps_to.partition(":")
        if kind == "entity" and spec.entity(target) is not None:
            out.add(target)
        elif kind == "field":
            ent_name, _, field_name = target.partition(".")
            ent = spec.entity(ent_name)
            f = ent.field(field_name) if ent is not None else None
            if f is not None:
                out.add(f.ref if f.type == "reference" else ent_name)
    nouns = list(rule.nouns) + [w for w, m in window if m in ("", "unread") or m.startswith("role:")]
    said = re.findall(r"[a-z0-9]+", (rule.words or "").lower())
    fields = {f.name for e in spec.entities for f in e.fields if f.type != "reference"}
    compound = {singular(a) for a, b in zip(said, said[1:], strict=False)
                if f"{singular(a)}_{singular(b)}" in fields or f"{a}_{b}" in fields}  # "deck capacity": a field
    for noun in nouns:
        if singular(noun) in compound:
            continue
        exact = {e.name for e in spec.entities if singular(noun) in (e.name, singular(e.label.lower()))}
        # "horses": the horse, not horse_owner; "sessions": the record labelled Session (kept as session_item)
        out |= exact or {e.name for e in spec.entities if noun_matches(noun, e.name)}
    return out


def _per_person(spec, rule, window, *things: str, unit: str | None = None) -> bool:
    """Does the rule name people (a role) that are not the counted record or its parent? "at most 2 classes per
    member" with `member` a role of app users is a limit per user, which a limit per record does not enforce. The
    people a sum counts ("at most 12 passengers" summing group sizes: `unit`) are no person it is per."""
    words = [w for w in list(rule.nouns) + [w for w, m in window if not m or m.startswith("role:")]
             if not unit or singular(w) != singular(unit)]
    return any(noun_matches(w, r.name) and not any(noun_matches(w, t) for t in things)
               for w in words for r in spec.roles)


def _periods(window, records: tuple[str, ...] = ()) -> set[str]:
    """The periods the rule's words name; "a dig day" read as the dig's date field names a record, no period, and
    so does a word naming one of `records` (the records counted per: "per season" with seasons kept as records)."""
    return {_PERIODS[w] for w, m in window if w in _PERIODS and not (m or "").startswith("field:")
            and not any(noun_matches(w, r) for r in records)}


def _statuses(cap, spec, window) -> tuple[set[str], bool]:
    """(status words the rule uses, whether each is one of the values that count)."""
    ent = spec.entity(cap.entity)
    values = {v for f in (ent.fields if ent else []) if f.type == "enum" for v in f.values}
    said = {w for w, _m in window if w in _STATUS_WORDS or w in values}
    return said, all(any(noun_matches(w, v) for v in cap.where_values) for w in said)


def _is_upper_limit(rule, before: list[str]) -> bool:
    """Does the rule cap something? A limit or capacity says so; a threshold or time span only with "at most"."""
    if rule.category in ("limit", "capacity"):
        return True
    if rule.category not in ("threshold", "time_window"):
        return False
    words = (rule.words or "").lower()
    said = [*before, *re.findall(r"[a-z]+", words)[:1]]  # "no" before a rule read as "more than 20 hours"
    no_more = any(w == "more" and k and said[k - 1] in ("no", "not", "never") for k, w in enumerate(said))
    return bool(_CAP_WORDS.search(words)) or no_more or any(w in _CAP_BEFORE for w in before)


def _counts_what_it_says(cap, spec, rule, window) -> bool:
    """Rows for a count (no unit, or the counted record as unit, and no amount the rows carry: "12 passengers" is
    not 12 bookings when each booking has a group size); the field its unit names for a sum ("6 hours" the hours,
    "12 passengers" the group size, "20,000 words" the word count)."""
    from ..planner.rules import amount_field, amount_of

    unit = (rule.unit or "").strip().lower()
    ent = spec.entity(cap.entity)
    amount = amount_of(rule)
    if cap.sum_field is None:
        if amount is not None and ent is not None and amount_field(ent.fields, amount):
            return False  # the words state an amount the rows carry: counting the rows does not hold it
        return rule.category != "time_window" and (not unit or noun_matches(unit, cap.entity))
    if amount is not None and ent is not None and amount_field([f for f in ent.fields if f.name == cap.sum_field],
                                                               amount):
        return True
    words = [unit, *rule.nouns] if unit else list(rule.nouns)
    label = field_label(spec, cap.entity, cap.sum_field)
    return any(noun_matches(w, cap.sum_field) or noun_matches(w, label.replace(" ", "_")) for w in words if w)


def _counted_noun(rule) -> str | None:
    """The word just after the rule's number: what it counts ("no more than 15 dogs a day": "dogs")."""
    said = re.findall(r"[a-z0-9]+", (rule.words or "").lower())
    at = next((k for k, w in enumerate(said) if re.fullmatch(r"\d+", w) or w in NUMBER_WORDS), None)
    return said[at + 1] if at is not None and at + 1 < len(said) else None


def _names_people(spec, rule, window) -> bool:
    """Does the rule (or a word just around it) name people: a role, or a word for a person ("each member", "a
    user")?"""
    from ..planner import lexicon

    words = [*rule.nouns, *(w for w, _m in window)]
    return any(singular(w) in lexicon.PEOPLE or singular(w) in _USER_WORDS or spec.role(singular(w)) is not None
               for w in words)


def _names_only_the_counted(cap, spec, rule, window, reading) -> bool:
    """A limit per user or for the whole app: the rule names no record but the counted one (or, for rows that
    each hold one record, "15 dogs a day" counting attendances, that record as the thing counted); a limit per
    user needs the people it is per ("each member ... at most 2 sessions"), and one for the whole app names none
    (a rule that does is per person)."""
    named = _named_entities(spec, rule, window)
    ent = spec.entity(cap.entity)
    noun = _counted_noun(rule)
    held = {f.ref for f in ent.fields if f.type == "reference" and f.required} if ent else set()
    named -= {e for e in held if noun and noun_matches(noun, e)}  # attendances counted as the dogs they hold
    if named - {cap.entity}:
        return False
    if _names_people(spec, rule, window) != (cap.scope == "user"):
        return False
    return bool(named) or bool(noun and any(noun_matches(noun, e) for e in {cap.entity, *held})) or (
        reading is not None and reading.record == cap.entity)


def _realises_limit(cap, spec, rule, reading) -> bool:
    """A limit/capacity rule (or a threshold or, for a sum, a time span read with "at most") whose number is
    `max` — or, with `max_field`, a capacity rule without a number naming the parent or its capacity — that
    counts what the capability counts, per the same period, only the statuses it counts, and names no record
    but the counted one and its parent (per user or for the whole app: no record but the counted one)."""
    scope = getattr(cap, "scope", "parent")
    parent = _parent(cap, spec)
    window, before = _window(rule, reading)
    if (scope == "parent" and parent is None) or not _is_upper_limit(rule, before):
        return False
    n = rule_number(rule)
    text = " ".join(w for w, _m in window)
    if cap.max_field is not None:
        if n is not None or rule.category not in ("capacity", "limit"):
            return False
        if not (_CAPACITY_WORDS.search(text) or any(noun_matches(w, cap.max_field) for w, _m in window)):
            return False
    elif n is None or n != cap.max:
        return False
    if not _counts_what_it_says(cap, spec, rule, window):
        return False
    per = tuple(e for e in (parent, _pair(cap, spec)) if e)
    if _periods(window, per) != ({cap.period} if cap.period else set()):
        return False
    said, counted = _statuses(cap, spec, window)
    if not counted or (cap.where_field and not said):
        return False
    if scope != "parent":
        return _names_only_the_counted(cap, spec, rule, window, reading)
    named = _named_entities(spec, rule, window)
    ent = spec.entity(cap.entity)
    pair = _pair(cap, spec)
    if getattr(cap, "pair_field", None) and pair is None:
        return False
    held = {f.ref for f in ent.fields if f.type == "reference" and f.required and f.ref not in (parent, pair)
            } if ent else set()
    if len(held) == 1 and cap.entity in (f"{parent}_{next(iter(held))}", f"{next(iter(held))}_{parent}"):
        named -= held  # sign-ups (shift_volunteer) counted per shift: "5 volunteers" names the people signed up
    # a limit per pair ("each artist ... at most 3 proposals per season") counts per the record beside the parent
    # too; any other record the words name is one the limit does not count per
    things = {cap.entity, parent} | ({pair} if pair else set())
    if named - things:
        return False
    from ..planner.rules import amount_of

    unit = _counted_noun(rule) if cap.sum_field and amount_of(rule) == "people" else None
    if not getattr(cap, "per_user", False) and _per_person(spec, rule, window, *things, unit=unit):
        return False  # per person ("each member ... per race") is per user and record, which per_user counts
    return bool(named) or (reading is not None and reading.record in (cap.entity, parent))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


#: the scenario template of each scope
TEMPLATES = {"parent": "limit.fill_to_the_limit", "user": "limit.fill_per_user", "app": "limit.fill_in_all"}


def _params(cap, spec) -> dict:
    from ..capabilities.limit import other_value, sample_dates, sample_numbers

    nums = sample_numbers(cap, spec)
    prm = {"capability": cap.id, "entity": cap.entity, "sum_field": cap.sum_field,
           "date_field": cap.date_field, "period": cap.period, "where_field": cap.where_field,
           "counted": cap.where_values[0] if cap.where_values else None, "not_counted": other_value(cap, spec),
           "dates": sample_dates(cap, spec), "limit": nums["limit"], "step": nums["step"], "fits": nums["fits"],
           "used": nums["used"]}
    if getattr(cap, "scope", "parent") == "parent":
        prm.update(parent=_parent(cap, spec), parent_field=cap.parent_field, max_field=cap.max_field)
        if getattr(cap, "pair_field", None):
            prm.update(pair=_pair(cap, spec), pair_field=cap.pair_field)
        if getattr(cap, "per_user", False):
            prm["per_user"] = True
    return prm


def _sentence(spec, prm: dict, scope: str = "parent") -> str:
    """The base criterion in the spec's nouns: "When a table already has 8 guests, adding a 9th is refused;
    another table still takes guests." (per user: "When a user already has 2 sessions in one week, ...; another
    user still takes sessions"; for the app: "When 15 attendances in one day are stored in all, by any users,
    ...")."""
    ent, rows = entity_label(spec, prm["entity"]), entity_label(spec, prm["entity"], plural=True)
    par = entity_label(spec, prm["parent"]) if scope == "parent" else "user"
    which = ""
    if prm["where_field"]:
        which = f" with {field_label(spec, prm['entity'], prm['where_field'])} {prm['counted'].replace('_', ' ')}"
    when = f" in one {prm['period']}" if prm["period"] else ""
    has = f"{a(par)} with a {field_label(spec, prm['parent'], prm['max_field'])} of {_num(prm['limit'])}" \
        if prm.get("max_field") else a(par)
    if prm["sum_field"]:
        amount = field_label(spec, prm["entity"], prm["sum_field"])
        held = f"{_num(prm['used'])} {amount} of {rows}{which}{when}"
        more = f"a further {ent} of {_num(prm['step'])} {amount} is refused"
    else:
        held = f"{_num(prm['fits'])} {rows if prm['fits'] != 1 else ent}{which}{when}"
        more = f"adding a {_ordinal(prm['fits'] + 1)} is refused"
    extra = []
    if prm["not_counted"]:
        extra.append(f"one with {field_label(spec, prm['entity'], prm['where_field'])} "
                     f"{prm['not_counted'].replace('_', ' ')} is still accepted")
    if prm["period"]:
        extra.append(f"one in the next {prm['period']} is still accepted")
    if scope == "app":
        return f"When {held} are stored in all, by any users, {more} for everyone; " + "; ".join(
            extra or ["the refused one is not stored"]) + "."
    if prm.get("per_user"):  # "When a user already has 20 birds in one race, ...; the same user ... another race"
        extra += [f"the same user still adds {rows} in another {par}", f"another user still adds {rows} in the "
                  f"same {par}"]
        return f"When a user already has {held} in one {par}, {more}; " + "; ".join(extra) + "."
    if prm.get("pair"):  # "When a season already has 3 proposals of one artist, ...; another artist still ..."
        other = entity_label(spec, prm["pair"])
        extra += [f"another {other} still takes {rows} in the same {par}", f"another {par} still takes {rows} of "
                  f"the same {other}"]
        return f"When {has} already has {held} of one {other}, {more}; " + "; ".join(extra) + "."
    extra.append(f"another {par} still takes {rows}")
    return f"When {has} already has {held}, {more}; " + "; ".join(extra) + "."


def _derive_limit(cap, spec, reading, feature) -> list[dict]:
    scope = getattr(cap, "scope", "parent")
    if spec.entity(cap.entity) is None or (_parent(cap, spec) is None if scope == "parent" else cap.max is None):
        return []
    prm = _params(cap, spec)
    base = _sentence(spec, prm, scope)
    template = TEMPLATES[scope]
    out = [{"text": _fit(base), "template": template, "params": prm, "rules": []}]
    for i, rule in enumerate(reading.rules if reading is not None else []):
        if _realises_limit(cap, spec, rule, reading):
            out.append({"text": _fit(f"\"{rule.words}\": {base[0].lower()}{base[1:]}"),
                        "template": template, "params": prm, "rules": [i]})
    return out


def _fit(text: str) -> str:
    """A criterion's sentence within the 300 characters a `Criterion` allows."""
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _checked_rows(p, entity: str, fits: int, period: str | None, dates: dict | None):
    """(the entity, its label): refuses a limit a scenario cannot fill, or a period without the rows' dates."""
    ent = p.entity(entity)
    if fits > MAX_ROWS:
        raise ScenarioError(f"the limit takes {fits} {ent.label_plural.lower()}; a scenario fills at most {MAX_ROWS}")
    if period and not dates:
        raise ScenarioError(f"a limit per {period} needs the dates of its rows")
    return ent, ent.label.lower()


def _rows(p, entity: str, step, sum_field, date_field, where_field, counted, dates, parent_field: str | None = None,
          pair_field: str | None = None):
    """row(actor, expect, note, of=None, over=None, mate=None): creates one counted row of `entity` as `actor` (a
    scenario step) — of the parent saved as `of` when the limit is per parent, and of the record saved as `mate`
    (in `pair_field`) when it is per pair — with `over` set over the counted values."""
    slot = SampleSlots(p.spec, entity).limit_row_slot(date_field)

    def row(actor: str, expect: int, note: str, of: str | None = None, over: dict | None = None,
            mate: str | None = None) -> str:
        body = {parent_field: f"${{{of}.id}}"} if parent_field else {}
        if pair_field and mate:
            body[pair_field] = f"${{{mate}.id}}"
        if sum_field:
            body[sum_field] = step
        if date_field:
            body[date_field] = dates["at"]
        if where_field:
            body[where_field] = counted
        body.update(over or {})
        return p.make(entity, actor, slot(body), expect=expect, note=note)

    return row


def _refused(p, limit, used) -> None:
    """The last step (one more row) is refused because the limit is reached, naming the limit and its use."""
    p.scenario["steps"][-1]["checks"] = [{"path": "error.code", "op": "eq", "value": "limit_reached"},
                                         {"path": "error.details.limit", "op": "eq", "value": limit},
                                         {"path": "error.details.used", "op": "eq", "value": used}]


def _uncounted_and_next(p, row, entity: str, label: str, where_field, not_counted, period, date_field, dates,
                        actor: str, next_actor: str, of: str | None = None, mate: str | None = None) -> int:
    """A row with a value that does not count (as `actor`) and one in the next period (as `next_actor`) are still
    accepted, when the limit has them; how many rows that stored."""
    extra = 0
    if where_field and not_counted:
        row(actor, 201, f"{a(label)} with {field_label(p.spec, entity, where_field)} {not_counted} does not count: "
                        f"accepted", of, {where_field: not_counted}, mate=mate)
        extra += 1
    if period:
        row(next_actor, 201, f"{a(label)} in the next {period} is accepted", of, {date_field: dates["next"]},
            mate=mate)
        extra += 1
    return extra


def _usage_full(p, actor: str, path: str, limit, used, note: str) -> None:
    p.step(actor, "GET", path, expect=200,
           checks=[{"path": "used", "op": "eq", "value": used}, {"path": "limit", "op": "eq", "value": limit},
                   {"path": "remaining", "op": "eq", "value": 0}], note=note)


def _stored(p, actor: str, path: str, total: int, label: str) -> None:
    p.step(actor, "GET", path, expect=200, checks=[{"path": "total", "op": "eq", "value": total}],
           note=f"the refused {label} was not stored")


def _fill_to_the_limit(p, capability: str, entity: str, parent: str, parent_field: str, limit, step, fits: int,
                       used, max_field: str | None = None, sum_field: str | None = None,
                       date_field: str | None = None, period: str | None = None, where_field: str | None = None,
                       counted: str | None = None, not_counted: str | None = None, dates: dict | None = None,
                       pair: str | None = None, pair_field: str | None = None, per_user: bool = False) -> None:
    ref = p.entity(entity).field(parent_field)
    if ref is None or ref.ref != parent:
        raise ScenarioError(f"{entity}.{parent_field} does not reference {parent}")
    if per_user:
        return _fill_per_user_and_parent(
            p, capability, entity, parent, parent_field, limit, fits, used, max_field,
            _rows(p, entity, step, sum_field, date_field, where_field, counted, dates, parent_field),
            lambda row, who, of: _uncounted_and_next(p, row, entity, p.entity(entity).label.lower(), where_field,
                                                     not_counted, period, date_field, dates, who, who, of),
            period, dates, step)
    if pair_field:
        other = p.entity(entity).field(pair_field)
        if other is None or other.ref != pair or not pair:
            raise ScenarioError(f"{entity}.{pair_field} does not reference {pair}")
        return _fill_a_pair(p, capability, entity, parent, parent_field, pair, pair_field, limit, fits, used,
                            max_field, _rows(p, entity, step, sum_field, date_field, where_field, counted, dates,
                                             parent_field, pair_field),
                            lambda row, who, of, mate: _uncounted_and_next(
                                p, row, entity, p.entity(entity).label.lower(), where_field, not_counted, period,
                                date_field, dates, who, who, of, mate), period, dates)
    ent, label = _checked_rows(p, entity, fits, period, dates)
    plabel = p.entity(parent).label.lower()
    who = p.writer(entity)
    # the parents are the owner's, unless the writer reads only its own parents (a row the owner made would be
    # missing to it): then the writer makes them
    maker = _maker(p, parent, who)
    fixed = {max_field: limit} if max_field else {}
    with_cap = f" with {field_label(p.spec, parent, max_field)} {_num(limit)}" if max_field else ""
    first = p.make(parent, maker, fixed, note=f"a first {plabel}{with_cap}")
    second = p.make(parent, maker, fixed, note=f"a second {plabel}{with_cap}")
    row = _rows(p, entity, step, sum_field, date_field, where_field, counted, dates, parent_field)
    for i in range(fits):
        row(who, 201, f"the {_ordinal(i + 1)} {label} of the first {plabel} is accepted", first)
    row(who, 409, f"one more {label} of the first {plabel} is refused: its limit is reached", first)
    _refused(p, limit, used)
    extra = _uncounted_and_next(p, row, entity, label, where_field, not_counted, period, date_field, dates,
                                who, who, first)
    row(who, 201, f"another {plabel} still takes {a(label)}", second)
    _usage_full(p, who, f"/api/{capability}/usage?parent_id=${{{first}.id}}", limit, used,
                f"the first {plabel} has used all of its limit")
    _stored(p, who, f"/api/{ent.plural}?{parent_field}=${{{first}.id}}&per_page=1", fits + extra, label)


def _fill_a_pair(p, capability: str, entity: str, parent: str, parent_field: str, pair: str, pair_field: str, limit,
                 fits: int, used, max_field: str | None, row, uncounted, period: str | None, dates: dict | None) -> None:
    """A limit per pair of records: the rows of one parent and one record of the pair fill it and one more is
    refused; the same parent still takes a row of another record of the pair, and another parent one of the same
    record; the pair's usage is full and nothing refused was stored."""
    ent, label = _checked_rows(p, entity, fits, period, dates)
    plabel, alabel = p.entity(parent).label.lower(), p.entity(pair).label.lower()
    who = p.writer(entity)
    maker, mate_maker = _maker(p, parent, who), _maker(p, pair, who)
    fixed = {max_field: limit} if max_field else {}
    with_cap = f" with {field_label(p.spec, parent, max_field)} {_num(limit)}" if max_field else ""
    first = p.make(parent, maker, fixed, note=f"a first {plabel}{with_cap}")
    second = p.make(parent, maker, fixed, note=f"a second {plabel}{with_cap}")
    mate = p.make(pair, mate_maker, note=f"a first {alabel}")
    other = p.make(pair, mate_maker, note=f"a second {alabel}")
    for i in range(fits):
        row(who, 201, f"the {_ordinal(i + 1)} {label} of the first {plabel} and the first {alabel} is accepted",
            first, mate=mate)
    row(who, 409, f"one more {label} of the first {plabel} and the first {alabel} is refused: their limit is "
                  f"reached", first, mate=mate)
    _refused(p, limit, used)
    extra = uncounted(row, who, first, mate)
    row(who, 201, f"the first {plabel} still takes {a(label)} of another {alabel}", first, mate=other)
    row(who, 201, f"another {plabel} still takes {a(label)} of the first {alabel}", second, mate=mate)
    _usage_full(p, who, f"/api/{capability}/usage?parent_id=${{{first}.id}}&pair_id=${{{mate}.id}}", limit, used,
                f"the first {plabel} and the first {alabel} have used all of their limit")
    _stored(p, who, f"/api/{ent.plural}?{parent_field}=${{{first}.id}}&{pair_field}=${{{mate}.id}}&per_page=1",
            fits + extra, label)


def _fill_per_user_and_parent(p, capability: str, entity: str, parent: str, parent_field: str, limit, fits: int,
                              used, max_field: str | None, row, uncounted, period: str | None, dates: dict | None,
                              step) -> None:
    """A limit per user and parent: the first user's rows of the first parent fill it and one more is refused; the
    same user still adds one in the second parent, and a second user one in the first parent; the first user's
    usage of the first parent is full, the second user's holds one row, and nothing refused was stored."""
    ent, label = _checked_rows(p, entity, fits, period, dates)
    plabel = p.entity(parent).label.lower()
    first, second = _two_writers(p, entity)
    maker = _maker(p, parent, first)
    fixed = {max_field: limit} if max_field else {}
    with_cap = f" with {field_label(p.spec, parent, max_field)} {_num(limit)}" if max_field else ""
    one = p.make(parent, maker, fixed, note=f"a first {plabel}{with_cap}")
    two = p.make(parent, maker, fixed, note=f"a second {plabel}{with_cap}")
    made = [row(first, 201, f"the {_ordinal(i + 1)} {label} of the first user in the first {plabel} is accepted",
                one) for i in range(fits)]
    row(first, 409, f"one more {label} of the first user in the first {plabel} is refused: their limit there is "
                    f"reached", one)
    _refused(p, limit, used)
    extra = uncounted(row, first, one)
    row(first, 201, f"the first user still adds {a(label)} in the second {plabel}", two)
    row(second, 201, f"a second user still adds {a(label)} in the first {plabel}: the first user's limit is not "
                     f"theirs", one)
    _usage_full(p, first, f"/api/{capability}/usage?parent_id=${{{one}.id}}", limit, used,
                f"the first user has used all of their limit in the first {plabel}")
    p.step(second, "GET", f"/api/{capability}/usage?parent_id=${{{one}.id}}", expect=200,
           checks=[{"path": "used", "op": "eq", "value": step}],
           note=f"the second user has used one row's worth of theirs in the first {plabel}")
    _stored(p, first, f"/api/{ent.plural}?{parent_field}=${{{one}.id}}&owner_id=${{{made[0]}.owner_id}}&per_page=1",
            fits + extra, label)


def _two_writers(p, entity: str) -> tuple[str, str]:
    """Two different users of one role that may create `entity` (two owners when only the owner may)."""
    first = p.writer(entity)
    role = p.scenario["actors"].get(first, "owner")
    return first, p.actor(role, name=f"{role}_second" if role == "owner" else None)


def _fill_per_user(p, capability: str, entity: str, limit, step, fits: int, used, sum_field: str | None = None,
                   date_field: str | None = None, period: str | None = None, where_field: str | None = None,
                   counted: str | None = None, not_counted: str | None = None, dates: dict | None = None) -> None:
    """User A fills their limit and the next is refused; what does not count (another status, the next period) is
    still accepted from A; user B of the same role still creates one; A's usage is full and nothing refused was
    stored."""
    ent, label = _checked_rows(p, entity, fits, period, dates)
    first, second = _two_writers(p, entity)
    row = _rows(p, entity, step, sum_field, date_field, where_field, counted, dates)
    made = [row(first, 201, f"the {_ordinal(i + 1)} {label} of the first user is accepted") for i in range(fits)]
    row(first, 409, f"one more {label} of the first user is refused: their limit is reached")
    _refused(p, limit, used)
    extra = _uncounted_and_next(p, row, entity, label, where_field, not_counted, period, date_field, dates,
                                first, first)
    row(second, 201, f"another user still creates {a(label)}: the first user's limit is not theirs")
    _usage_full(p, first, f"/api/{capability}/usage", limit, used, "the first user has used all of their limit")
    p.step(second, "GET", f"/api/{capability}/usage", expect=200,
           checks=[{"path": "used", "op": "eq", "value": step}],
           note="the other user has used one row's worth of theirs")
    _stored(p, first, f"/api/{ent.plural}?owner_id=${{{made[0]}.owner_id}}&per_page=1", fits + extra, label)


def _fill_in_all(p, capability: str, entity: str, limit, step, fits: int, used, sum_field: str | None = None,
                 date_field: str | None = None, period: str | None = None, where_field: str | None = None,
                 counted: str | None = None, not_counted: str | None = None, dates: dict | None = None) -> None:
    """Two users together fill the app's limit, taking turns; the next is refused for either of them; what does
    not count (another status, the next period) is still accepted; the app's usage is full."""
    ent, label = _checked_rows(p, entity, fits, period, dates)
    first, second = _two_writers(p, entity)
    row = _rows(p, entity, step, sum_field, date_field, where_field, counted, dates)
    for i in range(fits):
        who, whose = (first, "first") if i % 2 == 0 else (second, "second")
        row(who, 201, f"the {_ordinal(i + 1)} {label} in all, by the {whose} user, is accepted")
    row(first, 409, f"one more {label} by the first user is refused: the app's limit is reached")
    _refused(p, limit, used)
    row(second, 409, f"one more {label} by the second user is refused too")
    _refused(p, limit, used)
    _uncounted_and_next(p, row, entity, label, where_field, not_counted, period, date_field, dates, first, second)
    for who in (first, second):
        _usage_full(p, who, f"/api/{capability}/usage", limit, used,
                    f"the app has used all of its limit: the refused {ent.label_plural.lower()} were not stored")


REALISES = {"limit": _realises_limit}
DERIVE = {"limit": _derive_limit}
COMPILE = {"limit.fill_to_the_limit": _fill_to_the_limit, "limit.fill_per_user": _fill_per_user,
           "limit.fill_in_all": _fill_in_all}
