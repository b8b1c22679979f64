"""Planner builder for the `vote` capability: "members vote ideas up or down", "each member has 3 votes to pick
songs", "residents rank proposals by votes; nobody votes on their own".

Reads, from the feature's words only: the records voted on (the verb's object, never a people record), whether
down-votes count ("up or down", "down-vote", "against"), a budget of votes per person ("each member has 3 votes",
"5 votes in total"; "one vote per person" is the one vote per record every vote keeps, not a budget), whether
voting closes ("voting closes when ...", "until it is done": an enum status field and its closed values), whether
people may vote on their own records ("not on their own"), and who votes (the roles the feature names).
"""

from __future__ import annotations

import re

#: values of a status field that end voting on a record
CLOSED_WORDS = ("closed", "done", "completed", "complete", "shipped", "declined", "rejected", "archived",
                "adopted", "selected", "finished", "resolved", "cancelled", "canceled", "merged", "won", "lost")
#: nouns for the votes themselves (kept by the capability, never the records voted on)
VOTE_NOUNS = frozenset({"vote", "votes", "upvote", "downvote", "ballot", "poll", "voter", "voting"})
_DOWN = r"down-?vot\w*|downvot\w*|thumbs down|up or down|up and down|up/down|up- or down-?\w*|for or against|against"
_BUDGET = (r"(?:each|every|per)\s+\w+(?:\s+\w+)?\s+(?:has|have|gets?|get|may cast|can cast|casts?)\s+(?:up to\s+|at most\s+)?"
           r"(\d+)\s+(?:up-?)?votes?",
           r"(?:at most|up to|no more than|maximum of|max|only|just)\s+(\d+)\s+(?:up-?)?votes?",
           r"(\d+)\s+(?:up-?)?votes?\s+(?:each|per (?:person|user|member|voter|head|\w+)|in total|overall|in all|"
           r"across)")
_CLOSING = r"(?:voting|votes?|polls?)\s+(?:clos\w*|ends?|stops?|freez\w*|lock\w*)|clos\w+ (?:to|for) vot\w*|" \
           r"until (?:it|the \w+|an? \w+) (?:is|are|gets?) \w+|no (?:more )?votes? (?:on|for|once|after|when)"
_NO_SELF = r"(?:not|no|never|cannot|can't|can ?not|may not|must not|nobody|no one|without)\b[^.;]{0,40}\b(?:their|" \
           r"his|her|your|my)\s+own|self[- ]?vot\w*"


def _budget(low: str) -> int | None:
    for pat in _BUDGET:
        m = re.search(pat, low)
        if m:
            n = int(m.group(1))
            return n if 2 <= n <= 50 else None  # "one vote per person": one per record, kept anyway
    return None


def _closing(ctx, ent: str) -> tuple[str | None, list[str]]:
    """(status field, closed values) when the words say voting closes; a status field is added when none fits."""
    from .capmap import NotFit, label_of

    d = ctx.draft
    if not ctx.has(_CLOSING):
        return None, []
    named = [w for w in CLOSED_WORDS if ctx.has(w)]
    for f in d.entities[ent].fields.values():
        if f.type == "enum" and f.name.split("_")[-1] in ("status", "state", "stage"):
            closed = [v for v in f.values if v in (named or CLOSED_WORDS)]
            if closed and len(closed) < len(f.values):
                return f.name, closed
            for v in named or ["closed"]:
                if v not in f.values:
                    f.values.append(v)
            if f.default in (named or ["closed"]):
                f.default = None
            return f.name, list(named or ["closed"])
    closed = named or ["closed"]
    f = d.add_field(ent, "status", "enum", ctx.text, origin="capability", values=["open", *closed], default="open")
    if f is None or f.type != "enum":
        raise NotFit(f"the {label_of(ent)} record has no room for the status that closes voting")
    return f.name, [v for v in closed if v in f.values]


def b_vote(ctx) -> dict:
    """The vote capability's parameters for one feature, or NotFit with the reason a founder can read."""
    from .capmap import NotFit, _main, with_digits
    from .draft import safe_name

    d = ctx.draft
    def fits(name: str) -> bool:  # a record people vote on: not a person, a link, or the votes themselves
        e = d.entities.get(name)
        return e is not None and not e.people and not e.join and name not in VOTE_NOUNS

    objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb]
    main = _main(ctx, prefer_things=True) if d.entities else ""
    ent = next((n for n in [*objects, *ctx.mentioned, main] if fits(n)), main)
    if not fits(ent):
        raise NotFit("the words do not name the records people vote on (ideas, requests, proposals, songs)")
    if not ctx.has(r"(up-?|down-?)?vot(e|es|ed|ing|ers?)|upvot\w*|downvot\w*"):
        raise NotFit("the feature does not ask for votes")
    low = with_digits(ctx.low)
    status_field, closed = _closing(ctx, ent)
    voters = [p for p in ctx.people if p in d.roles]
    return {"entity": ent, "allow_down": ctx.has(_DOWN), "status_field": status_field, "closed_values": closed,
            "max_votes_per_user": _budget(low), "voter_roles": list(dict.fromkeys(voters)),
            "allow_self_votes": not re.search(_NO_SELF, low)}
