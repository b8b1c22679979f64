"""Planner builder for the `assignment` kind: "dispatchers assign technicians to work orders", "no carer is
double-booked", "each guide sees their own tours".

`b_assignment(ctx)` binds the feature's words: the record people are assigned to (the thing the feature names),
the people assigned (a people noun of the feature, or the idea's people), linked to a login by an email field the
builder adds, and the time window (two datetime fields, start and end, kept when the record has them already). The
number of assignments a person may hold at once comes from a stated "at most N ... at a time"; otherwise 1.
"""

from __future__ import annotations

import re

from . import lexicon as lx

#: words saying that the rule is about time overlapping ("at most 2 visits at a time")
_AT_ONCE = re.compile(r"\b(at a time|at once|at the same time|simultaneous\w*|concurrent\w*|overlapping)\b")


def _max_at_once(text: str) -> int:
    """The number of a stated "N ... at a time" rule, or 1."""
    from .reading import rules_of

    rules = rules_of(text)
    for rule in rules:
        if rule.category == "limit" and rule.number and _AT_ONCE.search(rule.words.lower()) and \
                float(rule.number).is_integer() and 1 <= rule.number <= 50:
            return int(rule.number)
    return 1


def _window(ctx, record: str) -> tuple[str, str]:
    """(start, end) datetime fields of the record: the two it has, else new `starts_at` and `ends_at`."""
    from .capmap import _ensure

    have = ctx.draft.fields_of(record, "datetime")
    if len(have) >= 2:
        return have[0].name, have[1].name
    start = have[0].name if have else _ensure(ctx, record, "starts_at", "datetime", required=True)
    return start, _ensure(ctx, record, "ends_at", "datetime", required=True)


def b_assignment(ctx) -> dict:
    from .capmap import NotFit, _ensure, _main, _people_entity, label_of
    from .draft import clip, safe_name
    from .text import singular

    d = ctx.draft
    record = _main(ctx, prefer_things=True)
    named = re.search(r"\b(?:assign|allocate|dispatch)(?:s|ed|ing)? (?:a |an |the |each |every )?([a-z]+) to "
                      r"(?:a |an |the |each |every |their |its )?([a-z]+)", ctx.text.lower())
    if not named:  # "an invigilator can't be given two sittings that overlap": the person, then the records
        named = re.search(r"\b([a-z]+) (?:can't|cannot|can not|may not|must not|mustn't|should not|shouldn't|is never|"
                          r"are never) be (?:given|rostered on|rostered onto|rostered for|put on|scheduled on|"
                          r"scheduled for|booked on|booked for|assigned to|assigned|allocated) (?:two|2|overlapping) "
                          r"([a-z]+)", ctx.text.lower())
        who = safe_name(singular(named.group(1))) if named else ""
        named = named if who in d.entities and not d.entities[who].join else None  # whoever is rostered is a person
    person = None
    if named and safe_name(singular(named.group(2))) in d.entities:  # "assign a translator to a job": the job
        record = safe_name(singular(named.group(2)))
        who = safe_name(singular(named.group(1)))
        person = who if who in d.entities and who != record else None
    if record not in d.entities or (d.entities[record].people and person is None) or d.entities[record].join:
        raise NotFit("the words do not name the records people are assigned to (a job, a visit, a tour)")
    timed = d.fields_of(record, "date", "datetime") or record.split("_")[-1] in lx.EVENT_NOUNS or re.search(
        r"\b(shifts?|slots?|times?|hours?|days?|dates?|rounds?|visits?|tours?|double[- ]booked|overlap\w*|clash\w*|"
        r"at once|at a time|when|schedul\w*|rota)\b", d.all_text.lower())
    if not timed:  # "assign tickets to agents": who handles it, not a time window (a plain reference)
        raise NotFit("the words give no time for the assignment (a date, a shift, a start and end), so overlaps "
                     "cannot be checked")
    person = person or _people_entity(ctx, create=True, exclude=(record,))
    if person is None or person == record:
        raise NotFit("assigning needs the people who are assigned, and the idea names none")
    field = f"{person}_id"
    back = d.entities[person].fields.get(f"{record}_id")
    if back is not None and back.source == clip(ctx.text) and field not in d.entities[record].fields:
        # "assign technicians to work orders" read as a technician's link to a work order: the work order holds
        # the assigned technician instead (one person per record, many records per person)
        del d.entities[person].fields[f"{record}_id"]
    if field not in d.entities[record].fields and not d.add_ref(record, person, ctx.text):
        raise NotFit(f"{label_of(person)} already points at {label_of(record)}, so it cannot also be assigned to it")
    if d.entities[record].fields[field].type != "reference":
        raise NotFit(f"{label_of(record)}.{field} is not a link to {label_of(person)}")
    emails = d.fields_of(person, "email")
    login = emails[0].name if emails else _ensure(ctx, person, "email", "email")
    start, end = _window(ctx, record)
    return {"entity": record, "person_field": field, "login_field": login, "start_field": start,
            "end_field": end, "max_concurrent": _max_at_once(ctx.text), "roles": []}
