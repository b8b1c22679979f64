"""Planner builder for the `vote` capability: "members vote ideas up or down", "each member has 3 votes to pick
songs", "residents rank proposals by votes; nobody votes on their own".

Reads, from the feature's words only: the records voted on (the verb's object, never a people record), whether
down-votes count ("up or down", "down-vote", "against"), a budget of votes per person ("each member has 3 votes",
"every guest gets one people's choice vote", "a single vote", "one vote per member", "up to 3 votes each",
"5 votes in total"; "one vote per idea" and "one vote each" are the one vote per record every vote keeps, not a
budget), whether voting closes ("voting closes when ...", "until it is done": an enum status field and its closed
values), whether people may vote on their own records ("not on their own"): a record they belong to (their own
team: the voter's person record points at it, `member_field`) or one they created (their own idea), and who votes
(the roles the feature names).
"""

from __future__ import annotations

import re

#: values of a status field that end voting on a record
CLOSED_WORDS = ("closed", "done", "completed", "complete", "shipped", "declined", "rejected", "archived",
                "adopted", "selected", "finished", "resolved", "cancelled", "canceled", "merged", "won", "lost")
#: nouns for the votes themselves (kept by the capability, never the records voted on)
VOTE_NOUNS = frozenset({"vote", "votes", "upvote", "downvote", "ballot", "poll", "voter", "voting"})
_DOWN = r"down-?vot\w*|downvot\w*|thumbs down|up or down|up and down|up/down|up- or down-?\w*|for or against|against"
_NUMS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "a single": 1, "single": 1, "only one": 1, "just one": 1}
_N = r"(\d+|a single|single|one|two|three|four|five|six|seven|eight|nine|ten)"
#: up to two modifiers between the number and "vote" ("one people's choice vote", "three golden votes"): words that
#: are not function words, numbers or the words of a rule
_ADJ = r"(?:(?!(?:and|or|but|per|each|every|for|to|of|on|in|at|with|by|from|a|an|the|their|its|his|her|votes?|up)\b)" \
       r"[a-z][a-z'-]*\s+){0,2}"
_VOTE = rf"{_ADJ}(?:up-?)?votes?\b"
#: (pattern, whether "one" counts here): a number of votes a person has, across all records
_BUDGET = (
    (rf"(?:each|every|per|all)\s+\w+(?:\s+\w+)?\s+(?:has|have|gets?|get|receives?|is given|are given|may cast|"
     rf"can cast|casts?)\s+(?:up to\s+|at most\s+|only\s+|just\s+)?{_N}\s+{_VOTE}", True),
    (rf"(?:at most|up to|no more than|maximum of|max|only|just)\s+{_N}\s+{_VOTE}", True),
    (rf"\ba single\s+{_VOTE}", True),
    (rf"{_N}\s+{_VOTE}\s+(?:each|per \w+|in total|overall|in all|across)", False),
)
#: what may follow a vote of one and keep it a budget: "per member", "per person" (not "per idea": one per record)
_PER_AFTER = r"\s*(?:,\s*)?(?:per|for each|on each|for every|on every|each)\s+([a-z][a-z'-]*)"
_CLOSING = r"(?:voting|votes?|polls?)\s+(?:clos\w*|ends?|stops?|freez\w*|lock\w*)|clos\w+ (?:to|for) vot\w*|" \
           r"until (?:it|the \w+|an? \w+) (?:is|are|gets?) \w+|no (?:more )?votes? (?:on|for|once|after|when)"
_NO_SELF = r"(?:not|no|never|cannot|can't|can ?not|may not|must not|nobody|no one|without)\b[^.;]{0,40}\b(?:their|" \
           r"his|her|your|my)\s+own|self[- ]?vot\w*"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMS[word]


def _person_word(ctx, word: str) -> bool:
    from . import lexicon as lx
    from .text import singular

    w = singular(word.removesuffix("'s"))
    return w in lx.PEOPLE or word in lx.GENERIC_PEOPLE or w in ("head", "voter", "household") or w in ctx.draft.roles \
        or bool(ctx.draft.entities.get(w) and ctx.draft.entities[w].people)


def _budget(ctx, low: str) -> int | None:
    """The votes one person may have across all records: "each member has 3 votes", "every guest gets one people's
    choice vote", "a single vote", "one vote per member"; None for one vote per record ("one vote per idea",
    "one vote each": the one vote per record and person every vote keeps)."""
    for pat, one_counts in _BUDGET:
        for m in re.finditer(pat, low):
            n = 1 if m.lastindex is None else _number(m.group(1))
            if n == 1:
                per = re.match(_PER_AFTER, low[m.end():]) or re.search(r"(?:per|each)\s+([a-z][a-z'-]*)$", m.group(0))
                if per and not _person_word(ctx, per.group(1)):
                    continue  # "one vote per resolution": one per record
                if not one_counts and m.group(0).endswith("each"):
                    continue  # "one vote each": one per record and person
            if 1 <= n <= 50:
                return n
    return None


def _member_field(ctx, ent: str, voters: list[str]) -> tuple[str, str] | None:
    """(person entity, its reference to `ent`) when "their own <ent>" is a record the voter belongs to: the voter's
    person record points at it (an attendee's team), or `ent` is a group of people (a team, a house, a band), whose
    member record is then given that reference (and the email its user signs in with)."""
    from . import lexicon as lx
    from .draft import DRole, clip
    from .text import singular

    d = ctx.draft
    own = re.search(r"\b(?:their|his|her|your|my)\s+own\s+([a-z][a-z'-]*)", ctx.low)
    if own and safe_ref(singular(own.group(1))) not in (ent, *ent.split("_")[-1:]):
        return None  # "their own idea" when ideas are not what is voted on
    people = [p for p in voters if p in d.entities and p != ent and not d.entities[p].join]

    def ref_of(person: str) -> str | None:
        return next((f.name for f in d.entities[person].fields.values() if f.type == "reference" and f.ref == ent),
                    None)

    person = next((p for p in people if ref_of(p)), None)
    group = singular(ent.split("_")[-1]) in lx.GROUP_NOUNS
    if person is None and not group:
        return None  # a record the voter made: self-votes are off instead
    if person is None:
        who = next((v for v in voters if v in d.roles and v != ent), None)
        if who is None:
            return None
        if who not in d.entities:
            try:
                d.add_entity(who, clip(ctx.text), people=True)
            except ValueError:
                return None
            d.add_field(who, "name", "text", ctx.text, origin="structure", required=True)
        person = who
        if not d.add_ref(person, ent, ctx.text):
            return None
    if not any(f.type == "email" for f in d.entities[person].fields.values()):
        d.add_field(person, "email", "email", ctx.text, origin="structure")
    if person not in d.roles:
        d.roles[person] = DRole(person, clip(ctx.text), "participant")
    field = ref_of(person)
    return (person, field) if field else None


def safe_ref(word: str) -> str:
    from .draft import safe_name

    return safe_name(word)


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
    # "pupils vote for houses", "vote on proposals": the records a vote verb takes with for/on
    objects += [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep in ("for", "on")
                and re.fullmatch(r"(up-?|down-?)?vot(e|es|ed|ing)", it.np.after_verb or "")]
    main = _main(ctx, prefer_things=True) if d.entities else ""
    ent = next((n for n in [*objects, *ctx.mentioned, main] if fits(n)), main)
    if not fits(ent):
        raise NotFit("the words do not name the records people vote on (ideas, requests, proposals, songs)")
    if not ctx.has(r"(up-?|down-?)?vot(e|es|ed|ing|ers?)|upvot\w*|downvot\w*"):
        raise NotFit("the feature does not ask for votes")
    low = with_digits(ctx.low)
    status_field, closed = _closing(ctx, ent)
    voters = list(dict.fromkeys(p for p in ctx.people if p in d.roles))
    no_own = bool(re.search(_NO_SELF, low))
    member = _member_field(ctx, ent, voters) if no_own else None
    return {"entity": ent, "allow_down": ctx.has(_DOWN), "status_field": status_field, "closed_values": closed,
            "max_votes_per_user": _budget(ctx, low), "voter_roles": voters,
            "allow_self_votes": not no_own or member is not None,
            "member_entity": member[0] if member else None, "member_field": member[1] if member else None}
