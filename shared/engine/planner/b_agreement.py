"""Planner builder for `agreement`: "a swap takes effect only when the other volunteer accepts".

`b_agreement(ctx)` binds the agreement rule a feature states (the reading's category "agreement") to the record the
feature acts on and the person who must agree: a people entity the rule or the feature names, linked from the
record by a reference (added when missing), with an email field so that a person is the user who signs in with it.
Words that hand a record over ("swap", "trade", "transfer", "give", "hand over", "pass on") ask the NEW person to
agree; words that act for someone ("on their behalf", "for another member", "confirm") ask the person the record
names NOW, and what changes is the record's status (added when missing: pending, then confirmed).
"""

from __future__ import annotations

import re

from ..appspec.model import RuleReading
from .text import singular

#: handing a record to someone else: the person who receives it agrees
HAND_OVER = re.compile(r"\b(swap\w*|trad(e|es|ed|ing)|transfer\w*|give\w*|gave|hand(s|ed|ing)? (it )?over|"
                       r"pass(es|ed|ing)? (it )?on|reassign\w*|exchang\w*)\b")
#: acting for someone: the person the record names confirms
ON_BEHALF = re.compile(r"\bon (their|someone'?s|somebody'?s|his|her|another'?s|another person'?s) behalf\b|"
                       r"\bbehalf\b|\bfor (someone|somebody|another \w+) else\b|\bconfirm\w*\b")


def stated_agreements(text: str) -> list[RuleReading]:
    """The agreement rules the feature states ("with both members' agreement", "the other volunteer accepts")."""
    from .reading import rules_of

    return rules_of(text, "agreement")


#: "the new plotholder agrees", "the other volunteer accepts", "that member confirms": the noun who agrees
WHO_AGREES = re.compile(r"\b(?:the|that|this|both|each|a|an)\s+(?:(?:other|new|receiving|named|current|second)\s+)?"
                        r"([a-z][a-z-]+?)(?:'s|s'|s)?\s+(?:agree|accept|confirm|consent)\w*")


def _person(ctx, rule: RuleReading) -> str | None:
    """The entity of the person who agrees: one the rule names, or the noun just before "agrees" (an entity, or
    a role kept as people records too); else the people the feature names."""
    from .capmap import _people_entity
    from .draft import safe_name

    d = ctx.draft
    said = WHO_AGREES.search(ctx.text.lower())
    for noun in [*rule.nouns, *([said.group(1)] if said else [])]:
        name = safe_name(singular(noun.lower()))
        if name in d.entities:
            return name
        if name in d.roles:
            e = d.add_entity(name, ctx.text, people=True)
            d.add_field(e.name, "name", "text", ctx.text, origin="structure", required=True)
            return e.name
    return _people_entity(ctx, create=True)


def b_agreement(ctx) -> dict:
    from .capmap import NotFit, _ensure, label_of

    d = ctx.draft
    rules = stated_agreements(ctx.text)
    if not rules:
        raise NotFit("the feature does not say whose agreement a change needs")
    low = ctx.text.lower()
    person = _person(ctx, rules[0])
    things = [m for m in ctx.mentioned if m != person and not d.entities[m].people and not d.entities[m].join
              and not re.fullmatch(r"(agree|accept|confirm|consent)\w*", m)]  # "agrees" misread as a noun
    record = things[0] if things else None
    if record is None or record not in d.entities or record == person or d.entities[record].people:
        raise NotFit("the words do not name the record whose change needs agreement (a shift, a plot, a booking)")
    if person is None:
        raise NotFit(f"the words do not say who must agree to a change of a {label_of(record)}")
    field = f"{person}_id"
    if field not in d.entities[record].fields and not d.add_ref(record, person, ctx.text):
        raise NotFit(f"a {label_of(record)} cannot point at the {label_of(person)} who must agree")
    if d.entities[record].fields[field].type != "reference":
        raise NotFit(f"{label_of(record)}.{field} is not a link to a {label_of(person)}")
    email = next((f.name for f in d.fields_of(person, "email")), None) or _ensure(ctx, person, "email", "email")
    if ON_BEHALF.search(low) and not HAND_OVER.search(low):
        state = next((f for f in d.fields_of(record, "enum") if f.name.split("_")[-1] in ("status", "state")), None)
        if state is None:
            state = d.add_field(record, "status", "enum", ctx.text, origin="capability", values=["pending", "confirmed"])
            if state is None:
                raise NotFit(f"the {label_of(record)} record has no room for a status field")
        if "confirmed" not in state.values:
            state.values.append("confirmed")
        if state.default is None:
            state.default = state.values[0]
        return {"entity": record, "fields": [state.name], "party_field": field, "party": "current",
                "person_email_field": email, "requester_roles": [], "exempt_roles": [], "notify": True}
    return {"entity": record, "fields": [field], "party_field": field, "party": "new", "person_email_field": email,
            "requester_roles": [], "exempt_roles": [], "notify": True}
