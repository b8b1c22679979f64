"""Rules a feature states, planned as capabilities (issue 17): a limit or a capacity becomes a `limit` capability.

`stated_limits(text)` reads the limit and capacity rules of a feature with the same English patterns as the
reading (`reading.RULE_PATTERNS`), so what is planned and what is certified come from one reading of the words.
`b_limit(ctx)` binds the first of them: the records counted (a noun of the rule, or the feature's record), the
record they are counted per (after "per", "each", "a"; or the feature's record), linked by a reference the planner
adds when the words relate them, and the number, or the parent's capacity field when the words say "capacity"
without a number; per user and record (`per_user`, decision 0074) when the person of the sentence is only a user
of the app ("a member can enter no more than 20 birds in any one race"). Counting per period of a sum ("20 hours a
month") is not bound yet: the feature stays partial and says so.
"""

from __future__ import annotations

import re

from ..appspec.model import RuleReading
from . import lexicon as lx
from .text import plural, singular

PERIODS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month", "monthly": "month",
           "year": "year", "yearly": "year", "annual": "year", "annually": "year"}
_TIME_WORDS = frozenset({"day", "week", "month", "year", "time", "night", "hour", "minute", "once"})


def stated_limits(text: str) -> list[RuleReading]:
    """The limit and capacity rules the feature states, in the order they appear."""
    from .reading import rules_of

    return [r for r in rules_of(text) if (r.category in ("limit", "capacity") and enforced_capacity(r, text)
                                          and r.unit != "scale")  # "rate each visit from 1 to 5": its own range
            or _time_sum(r, text)]


#: "at most 6 hours a week", "no more than 90 minutes per day": a time span capped over a period is a sum of time
SUM_OF_TIME = re.compile(r"\b(?:at most|no more than|not more than|up to|a maximum of|max(?:imum)?|never more than)\s+"
                         r"(?:\d[\d,.]*|[a-z]+)\s+(?:hours?|hrs?|minutes?|mins?)\s+(?:a|an|per|each|every|in a|in any "
                         r"one|in one)\s+(?:[a-z]+\s+)?(?:day|week|month|year)\b")


def _time_sum(rule: RuleReading, text: str) -> bool:
    """Is the rule a time span capped over a period ("each band books at most 6 hours a week"): a limit on the sum
    of the hours (or minutes) the records carry, not the length of one sitting or a window before a time?"""
    if rule.category != "time_window" or (rule.unit or "").rstrip("s") not in ("hour", "minute", "hr", "min"):
        return False
    m = SUM_OF_TIME.search(text.lower())
    return bool(m) and (rule.words or "").lower() in m.group(0)


#: the amounts a limit may sum, by the word that counts them: (the words a number field holding it is named by, the
#: field made when the words define it (None: never made), its type)
AMOUNTS = {
    "hour": (("hours", "hour", "duration"), "hours", "decimal"),
    "minute": (("minutes", "minute", "mins", "duration"), "minutes", "integer"),
    "word": (("word", "words", "wordcount"), "word_count", "integer"),
    "page": (("page", "pages"), "page_count", "integer"),
    "kg": (("weight", "kg", "kgs", "kilos", "kilograms", "mass"), "weight_kg", "decimal"),
    "tonne": (("weight", "tonnes", "tons", "tonnage", "mass"), "weight_tonnes", "decimal"),
    "litre": (("volume", "litres", "liters"), "litres", "decimal"),
    "km": (("distance", "km", "kilometres", "kilometers"), "distance_km", "decimal"),
    "mile": (("distance", "miles", "mileage"), "miles", "decimal"),
    "people": (("party", "group", "size", "guests", "people", "persons", "headcount", "passengers", "adults",
                "children", "places", "seats", "covers", "pax"), None, "integer"),
}
_AMOUNT_WORDS = {"hour": "hour", "hr": "hour", "minute": "minute", "min": "minute", "word": "word", "page": "page",
                 "kg": "kg", "kgs": "kg", "kilo": "kg", "kilogram": "kg", "kilogramme": "kg", "tonne": "tonne",
                 "ton": "tonne", "litre": "litre", "liter": "litre", "km": "km", "kilometre": "km", "kilometer": "km",
                 "mile": "mile", "person": "people", "people": "people", "persons": "people"}


_AMOUNT_LABEL = {"kg": "kilograms", "km": "kilometres", "people": "people"}


def amount_of(rule: RuleReading) -> str | None:
    """The amount a rule's number counts when it is one records carry, not a count of records: "6 hours" -> hour,
    "20,000 words" -> word, "900 kg" -> kg, "12 passengers" / "6 people" -> people (people are summed only when the
    records that give them a place carry a number of them); None for "3 loans"."""
    said = re.findall(r"[a-z0-9][a-z0-9,.]*", (rule.words or "").lower())
    from .reading import NUMBER_WORDS

    at = next((k for k, w in enumerate(said) if re.fullmatch(r"\d[\d,.]*", w) or w in NUMBER_WORDS), None)
    word = said[at + 1] if at is not None and at + 1 < len(said) else (rule.unit or "")
    if word in _AMOUNT_WORDS or singular(word) in _AMOUNT_WORDS:
        return _AMOUNT_WORDS.get(word) or _AMOUNT_WORDS[singular(word)]
    return "people" if singular(word) in lx.PEOPLE else None


def amount_field(fields, key: str) -> str | None:
    """The number field (name, type) among `fields` that holds the amount `key` ("party_size" for people, "hours"
    for hours), or None."""
    stems = AMOUNTS[key][0]
    for f in fields:
        if f.type in ("integer", "decimal") and not (key == "people" and f.type != "integer") and (
                set(f.name.split("_")) & set(stems) or key == "people" and f.name.startswith("number_of")):
            return f.name
    return None


def enforced_capacity(rule: RuleReading, text: str) -> bool:
    """A capacity with no number is a rule only when the words say something fills it ("up to their capacity",
    "respects table capacity"); "class schedule with capacity" keeps a number, it states no rule."""
    if re.match(r"(?:no|not|never) more\b", (rule.words or "").lower()):
        return True  # "no more pupils than its seat count": the words cap it
    return rule.category != "capacity" or bool(rule.number) or bool(re.search(
        r"\b(up to|within|respect\w*|over|past|beyond|exceed\w*|under|below|fill\w*|full|to|than)\s+"
        r"(?:the |their |its |each |a )?(?:[a-z]+ )?capacit", text.lower()))


def _noun(word: str) -> str:
    from .draft import safe_name

    return safe_name(singular(word.lower()))


def _num_words(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,}"


#: the parameters that say which rows a limit counts together; two limits alike in all of them but the number
#: contradict each other (the looser can never be filled)
_SAME_COUNT = ("entity", "scope", "parent_field", "pair_field", "per_user", "sum_field", "period", "where_field")


def b_limit(ctx) -> dict:
    from .capmap import NotFit, label_of

    out = _b_limit(ctx)
    for other in ctx.draft.planned.get("limit", []):
        if all(other.get(k) == out.get(k) for k in _SAME_COUNT) and (
                other.get("max"), other.get("max_field")) != (out.get("max"), out.get("max_field")):
            per = f" per {label_of(out['parent_field'].removesuffix('_id'))}" if out.get("parent_field") else ""
            if out.get("pair_field"):
                per = f" per {label_of(out['pair_field'].removesuffix('_id'))} and{per.removeprefix(' per')}"
            if out.get("per_user"):
                per = f" per user and{per.removeprefix(' per')}"
            was = other.get("max") if other.get("max") is not None else f"its {other.get('max_field')}"
            raise NotFit(f"another feature already limits the {label_of(out['entity'])} records{per} to {was}; a "
                         f"second number for the same count would contradict it")
    return out


def _pair_head(text: str, rule_words: str, parent: str | None, counted: str | None, d, feature: str) -> str | None:
    """ "Each kayak has only one paddler per trip": the noun after "each"/"every" before the rule, when it is neither
    the rows counted nor the record they are counted per: the count is per pair (kayak and trip), not per trip.
    Unless the record counted per belongs to it ("each chimney gets one certificate per sweep", a sweep of one
    chimney, as another feature links them): then per sweep is per pair already."""
    head = text[: text.find(rule_words)] if rule_words in text else ""
    m = re.search(r"\b(?:each|every)\s+([a-z][a-z'-]*)\b", head)
    if not m or parent is None:
        return None
    word = _noun(m.group(1))
    if word in (parent, counted) or singular(m.group(1)) in _TIME_WORDS or m.group(1) in PERIODS \
            or m.group(1) in lx.ADJECTIVES or m.group(1) in lx.VAGUE_NOUNS:
        return None
    from .draft import clip

    link = d.entities[parent].fields.get(f"{word}_id") if parent in d.entities else None
    if link is not None and link.type == "reference" and link.source != clip(feature):
        return None
    return word


def _b_limit(ctx) -> dict:
    from .capmap import NotFit, _ensure, _main, label_of

    d = ctx.draft
    rules = stated_limits(ctx.text)
    if not rules:
        raise NotFit("the feature states no number or capacity to hold")
    rule = rules[0]
    low = rule.words.lower()
    text = ctx.text.lower()
    period = _period(text)
    unit = rule.unit if rule.unit not in ("percent",) else None
    if unit and PERIODS.get(singular(unit)) == period and rule.number is not None:
        unit = None  # "one firing per day": the day is the period, not a sum of days
    head = text[: text.find(low)] if low in text else ""
    if re.search(r"\b(?:minimum|min|at least|no less than|not less than|no fewer than)\s+(?:of\s+)?$", head):
        raise NotFit(f"{rule.words} is a minimum, not a limit")  # "with a minimum of 5 kg per order"
    amount = amount_of(rule) if rule.number is not None else None
    if amount not in ("hour", "minute") and (unit or re.search(r"\b(hours?|minutes?|nights?)\b", low) or (
            re.search(r"\bdays?\b", low) and not period)):
        raise NotFit("a limit on a sum of days or nights is not bound yet; only of hours or minutes the records carry")
    per = re.search(r"\b(?:per|each|every|a|an)\s+([a-z][a-z'-]*)\s*$", low)
    parent = _noun(per.group(1)) if per and per.group(1) not in _TIME_WORDS and per.group(1) not in PERIODS \
        else None
    trailing = _trailing_parent(text, low) if parent is None else None  # "... 20 birds in any one race"
    parent = parent or trailing or _stated_parent(text, low, d)
    nouns = [_noun(n) for n in rule.nouns if n not in lx.ADJECTIVES and singular(n) not in _TIME_WORDS
             and n not in lx.NEVER_NOUNS
             and n not in lx.VAGUE_NOUNS and singular(n) not in lx.VAGUE_NOUNS]  # "20 pounds": a unit, no record
    counted = next((n for n in nouns if n != parent and n in d.entities), None) or next(
        (n for n in nouns if n != parent), None)
    if not enforced_capacity(rule, ctx.text):
        raise NotFit("the capacity is kept as a number; the words do not say what fills it")
    pair = _pair_head(text, low, parent if per or trailing else None, counted, d, ctx.text)
    user = pair if pair is not None else _stated_person(text, low, d) if trailing or per else None
    per_user = user is not None and parent is not None and user != parent and rule.number is not None and \
        parent not in d.roles and _only_a_user(d, user, counted, ctx.text)
    if per_user:  # "each member enters at most 20 birds per race": the rows each user creates, per race
        pair = None
    if pair is not None and parent in d.roles and parent not in d.entities:
        raise NotFit(f"{rule.words} counts per {label_of(pair)} and {label_of(parent)} (a user of the app) "
                     f"together; a limit per user and record is not bound yet")
    main = _main(ctx, prefer_things=True)
    if parent is None and rule.category == "capacity" and not rule.number:
        # "cars are loaded onto sailings up to their capacity": the cars, per sailing
        m = re.search(r"\b(?:onto|into|to|in|on|at|for|aboard)\s+(?:the |their |a |an |each |every )?([a-z][a-z'-]+)",
                      ctx.text.lower()[: max(0, ctx.text.lower().find(low))])
        if m and m.group(1) not in _TIME_WORDS:
            parent = _noun(m.group(1))
            counted = counted or (main if main != parent else None)
    person = _stated_person(text, low, d) if parent is None or (parent in d.roles and parent not in d.entities) \
        else None
    if person is not None and rule.number is not None and counted not in (None, person):
        return _scoped_limit(ctx, rule, counted, period, "user")  # "each member may make at most 3 bookings"
    if parent is None and counted is not None and rule.number is not None and period and re.match(
            r"\s*(?:no more than|not more than|at most|up to|a maximum of|max(?:imum)?)\b", text) and text.strip(
            ).startswith(low.strip()):
        # "no more than 6 loads go out on a delivery day": the rows counted open the sentence, per no record
        return _scoped_limit(ctx, rule, counted, period, "app")
    if parent is None:
        parent = main if main != counted else None
    if parent is None and counted is not None and rule.number is not None and (period or _names_the_business(
            text, low, d)):
        return _scoped_limit(ctx, rule, counted, period, "app")  # "the daycare takes no more than 15 dogs per day"
    if counted is None and rule.category == "capacity":  # "tables up to their capacity": the other record named
        counted = next((m for m in ctx.mentioned if m != parent), None)
    summed = amount is not None and amount != "people" and parent is not None and parent != counted
    if summed and parent not in d.entities:
        raise NotFit(f"{_num_words(rule.number)} {_AMOUNT_LABEL.get(amount, plural(amount))} is an amount records "
                     f"carry: the words do not say which records of a {label_of(parent)} carry it")
    if summed:  # "each copy-editor takes no more than 20,000 words a week": the words of a copy-editor's edits
        counted, sum_field = _amount_rows(ctx, parent, amount, counted, rule)
    if counted is None or parent is None or counted == parent:
        raise NotFit("the words do not say which records are counted per which record")
    if parent not in d.entities:
        if parent in d.roles and parent not in d.entities:
            raise NotFit(f"a limit per {label_of(parent)} (a user of the app) is not bound yet")
        d.add_entity(parent, ctx.text)
        d.add_field(parent, "name", "text", ctx.text, origin="structure", required=True)
    from .draft import clip

    fresh = counted not in d.entities or d.entities[counted].source == clip(ctx.text)  # named by this rule only
    if not summed and fresh and rule.number is not None and rule.number > 100 and counted not in lx.PEOPLE:
        # "no more than 5,000 widgets a day": a quantity the records carry, not 5,000 records; summed only when the
        # unit says what it is (words, hours, kg...)
        raise NotFit(f"{_num_words(rule.number)} {plural(counted).replace('_', ' ')} is an amount records carry, not "
                     f"a count of records; the words do not say which number field of a record holds it")
    said = counted
    holders = _people_holders(d, parent, counted) if not summed and fresh and amount == "people" else []
    sized = amount_field(d.entities[holders[0]].fields.values(), "people") if len(holders) == 1 else None
    if sized and not period and not any(f.type in ("date", "datetime") for f in d.entities[parent].fields.values()
                                        ) and any(f.type in ("date", "datetime")
                                                  for f in d.entities[holders[0]].fields.values()):
        # "each pitch holds no more than 6 people": the stays of a pitch come and go; the sum over all of them would
        # fill the pitch for good, and the people on it at one time are not summed yet
        raise NotFit(f"the {label_of(holders[0])}s of a {label_of(parent)} come and go over time: "
                     f"{_num_words(rule.number)} people at a time is not the sum of the {sized.replace('_', ' ')} of "
                     f"all its {label_of(holders[0])}s, and a sum at one time is not bound yet")
    if sized:  # "each trip holds at most 12 passengers" when each booking has a group size: the sum of group sizes
        counted, sum_field, summed = holders[0], sized, True
        _bound_amount(d, counted, sum_field, rule)
        _drop_said(d, said, counted, ctx.text)
    if not summed and fresh and singular(counted) in ("person", "people", "persons", "user", "visitor_item"):
        # "each field slot takes no more than 40 people": the people are whoever books or signs up for it, not a
        # "person" record of their own; count the records that hold a place on it when the idea keeps them
        holders = _people_holders(d, parent, counted)
        if len(holders) != 1:
            raise NotFit(f"{_num_words(rule.number) if rule.number is not None else 'a number of'} people per "
                         f"{label_of(parent)}: the words do not name the records that give a person a place on it (a "
                         f"booking, a sign-up), so there is nothing to count")
        counted = holders[0]
    if counted not in d.entities:
        d.add_entity(counted, ctx.text, people=counted in lx.PEOPLE)
        d.add_field(counted, "name", "text", ctx.text, origin="structure", required=True)
    if f"{parent}_id" not in d.entities[counted].fields and not summed and (
            (d.entities[counted].people and _signs_up(d)) or f"{counted}_id" in d.entities[parent].fields):
        # "each shift needs at most 5 volunteers": a volunteer signs up for many shifts, so the sign-ups (one row
        # per shift and volunteer) are what is counted per shift
        counted = _sign_ups(d, parent, counted, ctx.text)
    if f"{parent}_id" not in d.entities[counted].fields and not d.add_ref(counted, parent, ctx.text, required=True):
        raise NotFit(f"{label_of(counted)} cannot point at {label_of(parent)}")
    field = f"{parent}_id"
    if field not in d.entities[counted].fields or d.entities[counted].fields[field].type != "reference":
        raise NotFit(f"{label_of(counted)} has no link to {label_of(parent)}")
    d.entities[counted].fields[field].required = True
    out: dict = {"entity": counted, "parent_field": field, "max": None, "max_field": None}
    if summed:
        out["sum_field"] = sum_field
    if per_user:
        out["per_user"] = True
        _drop_the_users_record(d, user, ctx.text)
    if pair is not None:  # "each artist submits at most three proposals per season": per artist and season
        out["pair_field"] = _pair_ref(d, counted, pair, ctx.text)
    if rule.number is not None and float(rule.number).is_integer() and 0 <= rule.number <= 100000:
        out["max"] = int(rule.number)
    elif rule.category == "capacity":
        named = _named_number_field(d, parent, text)
        out["max_field"] = named or _ensure(ctx, parent, "capacity", "integer", min=0)
    else:
        raise NotFit("the stated limit is not a whole number of records")
    if period:
        booked = next((b for b in d.planned.get("booking", []) if b.get("entity") == counted), None)
        if booked and booked.get("start_field") in d.entities[counted].fields:  # a booked firing's day is its start
            out.update(period=period, date_field=booked["start_field"])
            return out
        out.update(period=period, date_field=_period_date(ctx, counted, text))
    return out


def _people_holders(d, parent: str, counted: str) -> list[str]:
    """The records that give a person a place on `parent` (its bookings, stays, sign-ups): they point at it and are
    named as events or places."""
    return [e.name for e in d.entities.values() if e.name != counted and not e.people and
            any(f.type == "reference" and f.ref == parent for f in e.fields.values()) and
            (e.name.split("_")[-1] in lx.EVENT_NOUNS or e.name.split("_")[-1] in ("booking", "place", "ticket",
                                                                                   "seat", "signup", "entry"))]


def _amount_rows(ctx, parent: str, amount: str, said: str | None, rule) -> tuple[str, str]:
    """(the records of `parent` that carry the amount, its number field) for "each band books at most 6 hours a
    week", "each copy-editor takes no more than 20,000 words a week": the one kind of record pointing at the parent
    that has a field named for the amount (hours, word_count), else the only kind of record pointing at it, given
    that field when the words define it. A booked time (start to end) is no field of hours: not summed yet."""
    from .capmap import NotFit, _ensure, label_of

    d = ctx.draft
    what = f"{_num_words(rule.number)} {_AMOUNT_LABEL.get(amount, plural(amount))}"
    children = [e for e in d.entities.values() if e.name not in (parent, said) and not e.people and any(
        f.type == "reference" and f.ref == parent for f in e.fields.values())]
    carrying = [(e.name, n) for e in children if (n := amount_field(e.fields.values(), amount))]
    if len(carrying) > 1:
        raise NotFit(f"{what} per {label_of(parent)}: more than one record of a {label_of(parent)} carries "
                     f"{_AMOUNT_LABEL.get(amount, plural(amount))} ({', '.join(label_of(c) for c, _n in carrying)}); the words do not say which")
    if carrying:
        counted, field = carrying[0]
    else:
        made = AMOUNTS[amount][1]
        if len(children) != 1 or made is None:
            raise NotFit(f"{what} per {label_of(parent)} is an amount records carry: the words do not say which "
                         f"records of a {label_of(parent)} carry the {_AMOUNT_LABEL.get(amount, plural(amount))}")
        counted = children[0].name
        timed = [f for f in children[0].fields.values() if f.type in ("date", "datetime")]
        if amount in ("hour", "minute") and (len(timed) > 1 or any(counted in (b.get("entity"), b.get("resource"))
                                                                  for b in d.planned.get("booking", []))):
            raise NotFit(f"{what} per {label_of(parent)}: the {label_of(counted)}s' time runs from a start to an "
                         f"end; a limit on the sum of booked time is not bound yet")
        field = _ensure(ctx, counted, made, AMOUNTS[amount][2], min=0)
        d.entities[counted].fields[field].required = True
    _bound_amount(d, counted, field, rule)
    _drop_said(d, said, counted, ctx.text)
    return counted, field


def _bound_amount(d, counted: str, field: str, rule) -> None:
    """A summed amount is never negative, and one record alone fits the limit."""
    f = d.entities[counted].fields[field]
    if f.min is None or f.min < 0:
        f.min = 0
    if f.max is None or f.max > rule.number:
        f.max = float(rule.number)


def _drop_said(d, said: str | None, counted: str, source: str) -> None:
    """The record the rule's unit made ("words", "passengers") when this sentence alone named it and nothing else
    points at it: the amount is a field of the counted records, not records of its own."""
    from .draft import _drop_entity, clip

    e = d.entities.get(said or "")
    if e is None or said == counted or e.source != clip(source) or said in d.defined.values():
        return
    if any(f.source != clip(source) and f.origin not in ("catalogue", "structure") for f in e.fields.values()):
        return
    if any(f.type == "reference" and f.ref == said and f.source != clip(source) for n, x in d.entities.items()
           if n != said for f in x.fields.values()):
        return
    _drop_entity(d, said)


def _pair_ref(d, counted: str, pair: str, source: str) -> str:
    """The required reference of the counted rows to the record a limit per pair counts them per beside their
    parent (made, with the record, when missing)."""
    from .capmap import NotFit, label_of

    if pair == counted:
        raise NotFit(f"the words count {label_of(counted)} records per {label_of(pair)} records")
    if pair not in d.entities:
        d.add_entity(pair, source, people=pair in lx.PEOPLE)
        d.add_field(pair, "name", "text", source, origin="structure", required=True)
    from .draft import clip

    field = f"{pair}_id"
    back = d.entities[pair].fields.get(f"{counted}_id")
    if back is not None and back.type == "reference" and back.source == clip(source) and field not in \
            d.entities[counted].fields:
        # "each maker gets at most one pitch per fair" read as a maker's link to one pitch: the pitch holds its
        # maker instead (many pitches per maker, one per fair)
        del d.entities[pair].fields[f"{counted}_id"]
    if field not in d.entities[counted].fields and not d.add_ref(counted, pair, source, required=True):
        raise NotFit(f"{label_of(counted)} cannot point at {label_of(pair)}")
    ref = d.entities[counted].fields.get(field)
    if ref is None or ref.type != "reference":
        raise NotFit(f"{label_of(counted)} has no link to {label_of(pair)}")
    ref.required = True
    return field


def _trailing_parent(text: str, rule_words: str) -> str | None:
    """ "no more than 20 birds in any one race", "at most 2 entries in each heat": the record named just after the
    rule by "per", "in/for/at/on each, every, any (one), one, a single"; never a time word or a period."""
    at = text.find(rule_words)
    if at < 0:
        return None
    m = re.match(r"\s*(?:per|(?:in|for|at|on)\s+(?:each|every|any(?:\s+(?:one|single))?|one|a\s+single))\s+"
                 r"([a-z][a-z'-]*)\b", text[at + len(rule_words):])
    if not m or m.group(1) in PERIODS or singular(m.group(1)) in _TIME_WORDS or m.group(1) in lx.ADJECTIVES \
            or m.group(1) in lx.VAGUE_NOUNS or m.group(1) in _DETERMINERS:
        return None
    return _noun(m.group(1))


def _only_a_user(d, who: str, counted: str | None, source: str) -> bool:
    """Is `who` only a user of the app, no record the counted rows point at: a role with no record of its own, or
    one whose record this sentence alone made ("each member takes ..." read as a member record, with nothing of it
    from other words but the catalogue's name and email) and that no record but through this sentence points at? A
    limit per `who` and record then counts the rows each user creates."""
    from .draft import clip

    if who not in d.roles:
        return False
    e = d.entities.get(who)
    if e is None:
        return True
    here = clip(source)
    if not e.people or e.join or e.source != here or who in d.defined.values() or who == counted:
        return False
    if any(f.source != here and f.origin not in ("catalogue", "structure") for f in e.fields.values()):
        return False  # a person the idea keeps fields of elsewhere
    words = rf"\b(?:{re.escape(who.replace('_', ' '))}|{re.escape(plural(who).replace('_', ' '))})\b"
    if any(re.search(words, str(f).lower()) for f in d.idea.get("key_features") or [] if clip(str(f)) != here):
        return False  # another feature speaks of them ("rate the referee"): a record the idea keeps
    return not any(f.type == "reference" and f.ref == who and f.source != here for n, x in d.entities.items()
                   if n != who for f in x.fields.values())


def _drop_the_users_record(d, who: str, source: str) -> None:
    """The record of a user that this sentence alone made (see `_only_a_user`), and the links to it this sentence
    made: the user is the one who signs in."""
    if who not in d.entities or not _only_a_user(d, who, None, source):
        return
    for x in d.entities.values():
        for name in [n for n, f in x.fields.items() if f.type == "reference" and f.ref == who]:
            del x.fields[name]
    del d.entities[who]
    d.m2m = [m for m in d.m2m if who not in m[:3]]


def _stated_person(text: str, rule_words: str, d) -> str | None:
    """The people a limit is per when the words say it before the rule and they are users of the app, not records:
    "each member may make ...", "members can post ..."."""
    head = text[: max(0, text.find(rule_words))] if rule_words in text else text
    m = re.search(r"\b(?:each|every|any|one|a|an)\s+([a-z][a-z'-]*)\s+(?:may|can|is allowed to|gets?)\b|"
                  r"^\s*([a-z][a-z'-]*)\s+(?:may|can|are allowed to|get)\b", head)
    if not m:
        return None
    word = singular(m.group(1) or m.group(2))
    if word in d.entities or word not in d.roles:  # a person kept as a record is a parent like any other
        return None
    return word


def _names_the_business(text: str, rule_words: str, d) -> bool:
    """ "The daycare takes no more than 15 dogs", "we accept at most 40 orders": the words speak of the whole
    business (a noun that is no record of the idea, or "we"), not of a record."""
    head = text[: max(0, text.find(rule_words))] if rule_words in text else text
    m = re.match(r"\s*(?:the|our|we)\b\s*([a-z][a-z'-]*)?", head)
    if not m:
        return False
    word = singular(m.group(1) or "")
    return head.strip().startswith("we") or (bool(word) and word not in d.entities and word not in lx.PEOPLE
                                              and word not in d.roles)


def _scoped_limit(ctx, rule, counted: str, period: str | None, scope: str) -> dict:
    """A limit per user of the app, or over the whole app: `counted` rows (or, for a period, the dated records of
    each `counted` row: "15 dogs per day" counts the dogs' attendances), at most the rule's number."""
    from .capmap import NotFit

    d = ctx.draft
    if not float(rule.number).is_integer() or not 1 <= rule.number <= 100000:
        raise NotFit("the stated limit is not a whole number of records")
    if counted not in d.entities:
        raise NotFit(f"the words do not say which records are counted {'per user' if scope == 'user' else 'in all'}")
    out: dict = {"entity": counted, "scope": scope, "parent_field": None, "max": int(rule.number), "max_field": None}
    if not period:
        return out

    def dates(e):
        return [f for f in d.entities[e].fields.values() if f.type in ("date", "datetime")]

    booked = next((b for b in d.planned.get("booking", []) if b.get("entity") == counted), None)
    if booked and booked.get("start_field") in d.entities[counted].fields:
        return {**out, "period": period, "date_field": booked["start_field"]}
    if not dates(counted):  # "15 dogs per day": the dated records each dog has (its attendances)
        child = next((e for e, ent in d.entities.items() if e != counted and dates(e) and any(
            f.type == "reference" and f.ref == counted and f.required for f in ent.fields.values())), None)
        if child is not None:
            counted = child
            out["entity"] = child
    return {**out, "period": period, "date_field": _period_date(ctx, counted, ctx.text.lower())}


def _signs_up(d) -> bool:
    """Do the idea's people sign up for records (so one person holds many, and a record many people)?"""
    return re.search(r"\b(sign(s|ed|ing)?[- ]?ups?|enrol\w*|register(s|ed)? for|join(s|ed)?|volunteer(s|ed)? for|"
                     r"book(s|ed)? (a |onto |on )?(place|spot|seat)s?)\b", d.all_text.lower()) is not None


def _sign_ups(d, parent: str, member: str, source: str) -> str:
    """The join record between a parent and the people (or records) it holds many of: shift_volunteer."""
    existing = next((j for a, b, j, _s in d.m2m if {a, b} == {parent, member}), None)
    if existing is not None:
        return existing
    join = d.add_entity(f"{parent}_{member}", source, join=True)
    d.add_field(join.name, f"{parent}_id", "reference", source, origin="structure", ref=parent, required=True)
    d.add_field(join.name, f"{member}_id", "reference", source, origin="structure", ref=member, required=True)
    d.add_field(join.name, "note", "text", source, origin="structure")
    d.m2m.append((parent, member, join.name, source[:300]))
    return join.name


def _period(text: str) -> str | None:
    """ "per day", "a week", "each month", "in a month", "daily", "on a delivery day": the calendar period the words
    count in."""
    m = re.search(r"\b(?:per|a|an|each|every|in a|in one|in any|one)\s+(day|week|month|year)\b|"
                  r"\b(daily|weekly|monthly|yearly|annual|annually)\b", text)
    if m:
        return PERIODS.get(m.group(1) or m.group(2))
    q = _qualified_period(text)
    return q[0] if q else None


_DETERMINERS = frozenset({"a", "an", "the", "each", "every", "any", "one", "that", "this", "same", "single"})


def _qualified_period(text: str) -> tuple[str, str] | None:
    """ "6 loads go out on a delivery day", "per match day", "in any booking week": (the period, the noun that says
    which date places a row in it: delivery -> the delivery date). A period after a preposition only: "a dig day
    takes 15 volunteers" names a record (a dated event), not a period."""
    for m in re.finditer(r"\b(?:on|per|in|during|for)\s+(?:(?:a|an|the|each|every|any|one|that|this|same|single)\s+)?"
                         r"([a-z][a-z-]+)\s+(day|week|month|year)s?\b", text):
        word = m.group(1)
        if word not in _DETERMINERS and word not in _TIME_WORDS and word not in PERIODS and word not in lx.ADJECTIVES:
            return PERIODS[m.group(2)], word
    return None


def _period_date(ctx, entity: str, text: str) -> str:
    """The date field of `entity` that places a row in its period: one named by the period's qualifier ("on a
    delivery day" -> delivery_date, made when missing), else a date named like one (date, start...), the first date
    field, or a new `date`."""
    from .capmap import _ensure

    d = ctx.draft
    dates = [f for f in d.entities[entity].fields.values() if f.type in ("date", "datetime")]
    q = _qualified_period(text)
    if q:
        word = _noun(q[1])
        named = next((f.name for f in dates if word in f.name.split("_")), None)
        return named or _ensure(ctx, entity, f"{word}_date", "date")
    return next((f.name for f in dates if f.name in ("date", "start_at", "start", "start_date")), None) or (
        dates[0].name if dates else _ensure(ctx, entity, "date", "date"))


def _stated_parent(text: str, rule_words: str, d) -> str | None:
    """The record a limit is per when the words say it before the rule: "each kiln takes ...", "an envelope's
    expenses ..."; never a time word or a person who is only a user of the app."""
    head = text[: max(0, text.find(rule_words))] if rule_words in text else text
    for m in re.finditer(r"\b(?:each|every|any|one)\s+([a-z][a-z'-]*)|\b([a-z][a-z-]*)'s?\b(?=\s)", head):
        word = m.group(1) or m.group(2)
        if not word or word in _TIME_WORDS or word in PERIODS or singular(word) in _TIME_WORDS:
            continue
        if m.group(2) and not re.search(rf"\b{re.escape(word)}'", head):
            continue
        n = _noun(word)
        if n in d.entities:
            return n
    return None


def _named_number_field(d, parent: str, text: str) -> str | None:
    """ "no more than its deck capacity", "its number of seats": the parent's number field the words name."""
    ent = d.entities.get(parent)
    if ent is None:
        return None
    m = re.search(r"\b(?:its|their|the)\s+((?:[a-z]+\s+){0,3}?(?:capacity|allowance|limit|seats|places|beds|berths|"
                  r"spaces|budget|amount|count|number of [a-z]+))\b", text)
    if not m:
        return None
    words = [singular(w) for w in m.group(1).split() if w not in ("of", "number")]
    for f in ent.fields.values():
        if f.type in ("integer", "decimal") and set(words) <= {singular(p) for p in f.name.split("_")} | {"number"}:
            return f.name
    return None


#: The verb that chooses -> the chosen state's name ("accepting one quote" -> accepted).
CHOOSING = {"accept": "accepted", "approve": "approved", "confirm": "confirmed", "select": "selected",
            "choose": "chosen", "pick": "picked", "award": "awarded", "book": "booked", "hire": "hired",
            "offer": "offered", "assign": "assigned"}


def stated_exclusivity(text: str) -> list[RuleReading]:
    from .reading import rules_of

    return rules_of(text, "exclusivity")


def b_selection(ctx) -> dict:
    """"Accepting one quote declines the others": among a record's quotes, choosing one declines its siblings."""
    from .capmap import NotFit, _main, label_of
    from .text import verb_base

    d = ctx.draft
    if not stated_exclusivity(ctx.text):
        raise NotFit("the feature does not say that choosing one declines the others")
    low = ctx.text.lower()
    verbs = [verb_base(w) for w in re.findall(r"[a-z]+", low)]
    chooser = next((v for v in verbs if v in CHOOSING), None)
    if chooser is None:
        raise NotFit("the words do not say how one is chosen (accept, approve, confirm, select...)")
    entity = _main(ctx, prefer_things=True)
    if entity not in d.entities or d.entities[entity].people:
        raise NotFit("the words do not name the records one is chosen among")
    parents = [f for f in d.entities[entity].fields.values() if f.type == "reference"
               and not d.entities.get(f.ref, DEnt).people]
    named = [m for m in ctx.mentioned if m != entity and m in d.entities and not d.entities[m].people]
    parent = next((f.ref for f in parents if f.ref in named), None) or (parents[0].ref if parents else None)
    if parent is None and named:
        parent = named[0]
        d.add_ref(entity, parent, ctx.text, required=True)
    if parent is None or f"{parent}_id" not in d.entities[entity].fields:
        raise NotFit(f"the words do not say what the {label_of(entity)} records compete for (a job, a role, a wall)")
    chosen = CHOOSING[chooser]
    declined = "declined" if chosen != "declined" else "rejected"
    state = next((f for f in d.entities[entity].fields.values() if f.type == "enum"
                  and f.name.split("_")[-1] in ("status", "state", "stage")), None)
    if state is None:
        state = d.add_field(entity, "status", "enum", ctx.text, origin="capability",
                            values=["pending", chosen, declined])
        if state is None:
            raise NotFit(f"the {label_of(entity)} record has no room for a status field")
    for v in ("pending", chosen, declined):
        if v not in state.values:
            state.values.append(v)
    d.entities[entity].fields[f"{parent}_id"].required = True
    return {"entity": entity, "parent_field": f"{parent}_id", "state_field": state.name, "open_values": ["pending"],
            "chosen_value": chosen, "declined_value": declined, "roles": [], "notify": True}


class _DEnt:
    people = False


DEnt = _DEnt()


def stated_recipients(text: str) -> list[str]:
    """The people the feature says are told ("text the parents" -> ["parent"]), singular, in order."""
    from .reading import rules_of

    return [singular(r.nouns[0]) for r in rules_of(text, "recipient") if r.nouns]
