"""Helpers of the flow and money criteria (`k_flow`, `k_money`): the spec's labels and roles, the words of a rule
and whether they name a record or people, and sentences cut to the length a `Criterion` allows."""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, field_label, noun_matches, rule_number

_a = a
_ent_label = entity_label
_field_label = field_label


def _ent_plural(spec, name: str) -> str:
    return entity_label(spec, name, plural=True)

# ---------------------------------------------------------------------------------------------- helpers


def _role_label(spec, name: str) -> str:
    role = spec.role(name)
    return (role.label if role else name.replace("_", " ")).lower()


def _writers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.write]


def _readers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.read or entity in r.write]


def _maker(p, entity: str, for_actor: str | None = None) -> str:
    """The actor who sets up rows of `entity` the scenario needs (resources, members): the owner when it may;
    but `for_actor` itself when it reads only its own rows of `entity` (the owner's would be missing to it)."""
    if for_actor is not None and p.makes_own(for_actor, entity):
        return for_actor
    if "owner" in _writers(p.spec, entity):
        return "owner"
    return p.writer(entity)


def _cap(spec, cap_id: str, kind: str):
    cap = next((c for c in spec.capabilities if c.id == cap_id and c.kind == kind), None)
    if cap is None:
        raise ScenarioError(f"the spec has no {kind} capability {cap_id!r}")
    return cap


def _words(rule) -> str:
    return " ".join([rule.words or "", *rule.nouns]).lower()


def _one_or_none(rule) -> bool:
    """A rule with no number, or the number one ("one booking at a time")."""
    n = rule_number(rule)
    return n is None or n == 1


def _names(rule, *names: str | None) -> bool:
    """Does one of the rule's nouns name one of `names` (entity or role names)?"""
    return any(noun_matches(noun, name) for noun in rule.nouns for name in names if name)


def _about(spec, rule, reading, *names: str | None) -> bool:
    """Is the rule about one of `names`? Its nouns name one, or it names no record or role at all and the
    feature's record (the reading's) is one of them ("cannot be borrowed again" in a feature about tools)."""
    if _names(rule, *names):
        return True
    known = [e.name for e in spec.entities] + [r.name for r in spec.roles]
    return reading is not None and reading.record in [n for n in names if n] and not _names(rule, *known)


def _people(spec, rule, reading, *things: str | None) -> bool:
    """Does the rule (or the feature) name people besides `things`? Then "at once" or "again" may be a limit per
    person ("a member may not have two bookings at once"), which these capabilities do not enforce."""
    def person(noun: str) -> bool:
        return any(noun_matches(noun, r.name) for r in spec.roles)

    if any(person(n) and not any(noun_matches(n, t) for t in things if t) for n in rule.nouns):
        return True
    return reading is not None and (bool(reading.actors) or any(w.maps_to.startswith("role:") for w in reading.words))


def _context(rule, reading) -> str:
    """The rule's words and nouns with every word of its feature (the reader keeps a rule's words short)."""
    return " ".join([_words(rule), *(w.word.lower() for w in (reading.words if reading else []))])


def _fit(text: str) -> str:
    """A criterion's sentence within the 300 characters a `Criterion` allows."""
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _in_days(rule) -> float | None:
    """The rule's span in days ("3 days", "2 weeks"), None when its unit is not days or weeks."""
    n, unit = rule_number(rule), (rule.unit or "").strip().lower()
    if n is None:
        return None
    if unit in ("day", "days"):
        return n
    if unit in ("week", "weeks"):
        return n * 7
    if unit in ("hour", "hours"):
        return n / 24
    return None


def _realised(cap, spec, reading) -> list[int]:
    """Indices of the reading's rules this capability realises."""
    if reading is None:
        return []
    from .kinds import REALISES

    test = REALISES[cap.kind]
    return [i for i, r in enumerate(reading.rules) if test(cap, spec, r, reading)]


def _stem(word: str) -> str:
    w = re.sub(r"(ation|ion|ure|ing|al|ed|es|e|s)$", "", word.lower())
    return w[:4] if len(w) >= 3 else word.lower()


def _word_stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 3}


def _fitted(derive):
    """`derive` with every sentence cut to the length a `Criterion` allows."""
    def wrapper(cap, spec, reading, feature) -> list[dict]:
        return [{**c, "text": _fit(c["text"])} for c in derive(cap, spec, reading, feature)]

    wrapper.__doc__ = derive.__doc__
    return wrapper
