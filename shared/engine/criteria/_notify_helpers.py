"""Helpers of the notify, score and attached-record criteria (`k_notify`, `k_scores`, `k_attached`): the spec's
labels and roles, who may not write a record and how the app refuses them, the rules a capability realises, and
sentences cut to the length a `Criterion` holds."""

from __future__ import annotations

import re

from . import ScenarioError, entity_label, field_label, noun_matches
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
        # a role reading only its own rows does not see another's at all: 404, as the app answers for a missing one
        return p.actor(mine.name), 404 if entity in mine.read_own else 403
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
    from .kinds import REALISES

    return [(i, r) for i, r in enumerate(reading.rules) if REALISES[kind](cap, spec, r, reading)]


def _int(x: float | None) -> int | None:
    return int(x) if x is not None and float(x).is_integer() else None


_AFTER = r"after|overdue|late|past|since|passed|expired|ago"
_BELOW = r"below|under|less|fewer|lower|drops?|dropping|falls?|falling|low|runs? out|short"
_ABOVE = r"above|over|exceeds?|exceeding|more|greater|higher|rises?|tops?"
_TIME_UNITS = r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|daily|weekly|monthly|hourly"


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
