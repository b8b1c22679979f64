"""Planner builder for `enrolment`: "volunteers sign up for shifts", "passengers book a seat on a trip", "students
enrol in a course", "members RSVP to an event", "riders join a ride".

Reads, from the feature's words only: the record signed up for (the noun after the sign-up phrase's preposition,
or the object of "enrol"/"join"/"attend"), the people who sign up (the feature's people, kept as person records
with the email they sign in with), and a capacity when the words state one ("at most 12 per trip", "up to its
seats") or the record has a capacity field (seats, capacity, places, spaces, spots). A seat, place or spot is a unit
of the record's capacity, never a record of its own. The sign-ups are a join record per record and person
(`rules._sign_ups`); a link from the record to one person that the same words made ("volunteer_id" on the shift:
one volunteer per shift) is taken back. Staff roles manage the sign-ups.
"""

from __future__ import annotations

import re

from . import lexicon as lx
from .text import singular

#: a unit of a record's capacity: "book a seat on a trip" books a place on the trip, not a seat record
UNIT_WORDS = ("place", "places", "seat", "seats", "spot", "spots", "space", "spaces", "berth", "berths", "slot on",
              "ticket", "tickets")
_UNIT = r"(?:places?|seats?|spots?|spaces?|berths?|tickets?)"
_PREP = r"(?:for|in|on|onto|to|at|aboard|into)"
_DET = r"(?:(?:a|an|the|one|their|his|her|its|each|every|any|upcoming|next|at most|up to|no more than|\d+|two|three|"
_DET += r"four|five|six|seven|eight|nine|ten)\s+)*"
#: after the preposition, a screen or a list ("book berths on a calendar") is where, not what, people sign up for
_NOT_SCREEN = r"(?!\s+(?:(?:a|an|the|their|our|its|one)\s+)?(?:" + "|".join(sorted(lx.CONTAINERS)) + r")\b)"
#: the sign-up phrase, then the record's noun (group "rec")
SIGN_UP = re.compile(
    rf"\b(?:sign(?:s|ed|ing)?[- ]?up\s+{_PREP}|"
    rf"(?:book|reserve|take|claim|secure|get|grab|buy)(?:s|ed|ing)?\s+(?:a|an|one|their|\d+)?\s*{_UNIT}\s+{_PREP}"
    rf"{_NOT_SCREEN}|"
    rf"enrol(?:s|led|ling)?\s+(?:in|on|onto|for|into)?|enroll(?:s|ed|ing)?\s+(?:in|on|onto|for|into)?|"
    rf"register(?:s|ed|ing)?\s+(?:for|on|onto)|rsvps?(?:'d|ed)?\s+(?:to|for)|"
    rf"join(?:s|ed|ing)?(?=\s+(?:a|an|the|one|each|every|upcoming|next)\s)|volunteer(?:s|ed)?\s+for)\s+{_DET}"
    rf"(?P<rec>[a-z][a-z-]+)(?:\s+(?P<rec2>[a-z][a-z-]+))?")
#: words after the record's noun that end it ("a trip with ...", "a course in May")
_AFTER = frozenset("""with and or for in on at to of per by from each every a an the their its up no not which that who
when where while before after during until as is are be can may will must""".split())
#: a stated number that is no capacity of one record: per person ("each member may ...") or per period
NOT_CAPACITY = re.compile(r"\b(?:per|a|an|each|every|in a) (?:day|week|month|year)\b|\b(?:daily|weekly|monthly)\b|"
                          r"\b(?:each|every|any|a|one) [a-z-]+ (?:may|can|is allowed to)\b|\bat a time\b|\bat once\b")
#: "sign up for a dig day", "book an open night": the record is an event held on a date
EVENT_DAY = re.compile(rf"{SIGN_UP.pattern}\s+(?:day|night|evening|morning|afternoon)s?\b")
#: a number field of the record that holds its capacity
CAPACITY_FIELDS = ("capacity", "seats", "places", "spaces", "spots", "berths", "max_people", "max_participants")


def signs_up(text: str) -> bool:
    return SIGN_UP.search(text.lower()) is not None


def _record(ctx, person: str | None) -> str | None:
    from .draft import safe_name

    d = ctx.draft
    m = SIGN_UP.search(ctx.text.lower())
    if m is None:
        return None
    word, second = m.group("rec"), m.group("rec2")
    if second and second not in _AFTER and not second.isdigit():  # "a boat tour": the tour (or a boat_tour record)
        for cand in (safe_name(f"{singular(word)}_{singular(second)}"), safe_name(singular(second))):
            if cand in d.entities and cand != person and not d.entities[cand].people:
                return cand
    name = safe_name(singular(word))
    if word in UNIT_WORDS or name == person or name in d.roles and name not in d.entities:
        return None
    if name in d.entities:
        return name
    # the draft may keep the record under another name ("session" -> session_item): a mentioned record with it
    return next((e for e in ctx.mentioned if e.split("_")[0] == name and not d.entities[e].people), None) or (
        None if name in d.roles else _new_record(d, name, ctx.text))


def _new_record(d, name: str, source: str) -> str | None:
    from . import lexicon as lx

    if name in lx.VAGUE_NOUNS or name in lx.PEOPLE:
        return None
    e = d.add_entity(name, source)
    if e is None:
        return None
    d.add_field(e.name, "name", "text", source, origin="structure", required=True)
    return e.name


def _subject(ctx) -> str | None:
    """ "Apprentices enrol in a workshop": the plural noun that starts the feature, before the sign-up phrase, is
    the people who sign up (kept as person records) when the lexicon does not know them as people."""
    from . import lexicon as lx
    from .draft import safe_name

    d = ctx.draft
    m = SIGN_UP.search(ctx.text.lower())
    head = re.fullmatch(r"\s*(?:the |all |our |each |every )?([a-z][a-z-]+s)\s+(?:can |may |will |must )?",
                        ctx.text.lower()[: m.start()] if m else "")
    if head is None or head.group(1) in lx.VAGUE_NOUNS:
        return None
    name = safe_name(singular(head.group(1)))
    if name in d.entities:
        if any(f.type == "reference" and f.ref == name for e in d.entities.values() for f in e.fields.values()):
            return None  # a record others point at is no person who signs in
        d.entities[name].people = True
        return name
    e = d.add_entity(name, ctx.text, people=True)
    if e is None:
        return None
    d.add_field(e.name, "name", "text", ctx.text, origin="structure", required=True)
    return e.name


def b_enrolment(ctx) -> dict:
    """The enrolment capability's parameters for one feature, or NotFit with the reason a founder can read."""
    from .capmap import NotFit, _ensure, _people_entity, label_of
    from .draft import clip
    from .rules import _named_number_field, _sign_ups, stated_limits

    d = ctx.draft
    if not signs_up(ctx.text):
        raise NotFit("the feature does not say that people sign up for a record")
    person = _people_entity(ctx, create=True) or _subject(ctx)
    rec = _record(ctx, person)
    if rec is None or rec not in d.entities or d.entities[rec].people or d.entities[rec].join:
        raise NotFit("the words do not name the record people sign up for (a shift, a session, a trip, a course)")
    if EVENT_DAY.search(ctx.text.lower()) and not d.fields_of(rec, "date", "datetime"):
        _ensure(ctx, rec, "date", "date")  # "sign up for a dig day": the dig is an event on a date
    if person is None or person == rec:
        raise NotFit(f"the words do not say who signs up for a {label_of(rec)}")
    for holder, other in ((rec, person), (person, rec)):  # "volunteers sign up for shifts": many per shift and
        one = d.entities[holder].fields.get(f"{other}_id")  # many shifts per volunteer, so no single link
        if one is not None and one.type == "reference" and one.source == clip(ctx.text):
            del d.entities[holder].fields[f"{other}_id"]
    for name, f in list(d.entities[person].fields.items()):  # "book a place in a session with date and start
        if f.source == clip(ctx.text) and f.origin == "words" and f.type != "reference" and (  # time": the session's
                name not in d.entities[rec].fields):
            d.entities[rec].fields[name] = d.entities[person].fields.pop(name)
    join = _sign_ups(d, rec, person, ctx.text)
    email = next((f.name for f in d.fields_of(person, "email")), None) or _ensure(ctx, person, "email", "email")
    out = {"entity": join, "record_field": f"{rec}_id", "person_field": f"{person}_id", "person_email_field": email,
           "max": None, "max_field": None,
           "member_roles": [p for p in dict.fromkeys(ctx.people) if p in d.roles and d.roles[p].kind != "staff"],
           "manager_roles": [r.name for r in d.roles.values() if r.kind == "staff"]}
    rules = [] if NOT_CAPACITY.search(ctx.text.lower()) else stated_limits(ctx.text)
    if rules and rules[0].number is not None and float(rules[0].number).is_integer() and 1 <= rules[0].number <= 500:
        out["max"] = int(rules[0].number)
    elif rules:
        out["max_field"] = _named_number_field(d, rec, ctx.text.lower()) or _ensure(ctx, rec, "capacity", "integer",
                                                                                   min=0)
    else:
        out["max_field"] = next((f.name for f in d.entities[rec].fields.values() if f.type == "integer"
                                 and f.name in CAPACITY_FIELDS), None)
    return out
