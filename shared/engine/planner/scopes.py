"""Who sees which rows (issue 17): "owners see only their own pets", "mechanics see the repair tickets assigned to
them", "parents see every child's chores; children see only their own".

`read_scopes(d)` reads these English patterns from the key features and returns, per role, the entities it reads
only where a row is its own (`RoleSpec.read_own`); the children of a scoped record (rows with a required
reference to it) are scoped with it, so a pet owner cannot read another pet's visits. "Assigned to them" links the
record to the person it is assigned to: the person becomes a record with an email (the login it is matched on) and
the record gets a reference to it. The generated app decides "own" from those links (see `own_paths`).
"""

from __future__ import annotations

import re

from . import lexicon as lx
from .draft import Draft, DRole, clip, safe_name
from .text import singular

_SEE = r"(?:can |may |only )?(?:see|sees|view|views|read|reads|access|accesses|get|gets)"
#: "each practice sees only its own cases": a singular subject after each/every names one of a kind of user
_EACH = r"(?:(?P<each>each|every) )?"
_OWN = re.compile(rf"{_EACH}(?P<who>[a-z][a-z-]*) {_SEE} (?:only )?(?:their|his|her|its) own"
                  rf"(?: (?P<what>[a-z][a-z' -]*?))?(?:$|[;,.]| and | but )")
_ONLY_OWN = re.compile(rf"{_EACH}(?P<who>[a-z][a-z-]*) {_SEE} only (?:their|his|her|its) own"
                       rf"(?: (?P<what>[a-z][a-z' -]*?))?(?:$|[;,.]| and | but )")
#: "families see only the sitting history of their own household", "tenants see only the repairs for their own
#: flat": rows of what is named, or (when it names no record) every record that points at the person's own record
_OF_OWN = re.compile(rf"{_EACH}(?P<who>[a-z][a-z-]*) {_SEE} (?:only )?(?:the )?(?P<what>[a-z](?:(?! (?:and|or|but|"
                     rf"cannot|not|never|can't|may|must) )[a-z' -])*?) "
                     rf"(?:of|for|from|at|on) (?:their|his|her|its) own (?P<whose>[a-z][a-z' -]*?)"
                     rf"(?:$|[;,.]| and | but )")
#: "assigned to them", and the relative clause "the sampling points they are assigned to" (the person is assigned
#: to the record: the same link, read from the other side)
_ASSIGNED = re.compile(rf"{_EACH}(?P<who>[a-z][a-z-]*) {_SEE} (?:only )?(?:the |their |its )?(?P<what>[a-z][a-z -]*?) "
                       rf"(?:(?:that |which )?(?:are |is |were |was |have been |has been )?(?:assigned|allocated|given) "
                       rf"to (?:them|him|her|it)|(?:that |which )?(?:they|he|she|it) (?:are|is|were|was|have been|"
                       rf"has been) (?:assigned|allocated|given) to)\b")


def _entity(d: Draft, words: str | None, fallback: str | None) -> str | None:
    if not words:
        return fallback
    ws = [w for w in re.findall(r"[a-z]+", words.lower()) if w not in ("site's", "the")]
    ws = [singular(w.removesuffix("'s")) for w in ws]
    for n in (safe_name("_".join(ws[-2:])), safe_name(ws[-1]) if ws else ""):
        if n in d.entities:
            return n
    for name, e in d.entities.items():  # a record labelled in the founder's words ("Adverse event")
        if e.label and singular(e.label.lower().split()[-1]) == (ws[-1] if ws else ""):
            return name
    return fallback


def read_scopes(d: Draft) -> dict[int, tuple[str, list[str], str]]:
    """{feature index: (role, [entities read only where own], how)}; how is "created" or "assigned"."""
    out: dict[int, tuple[str, list[str], str]] = {}
    for i, text in enumerate(str(f) for f in d.idea.get("key_features") or []):
        low = " ".join(text.lower().split())
        last_what: str | None = None
        for clause in re.split(r";|\. ", low):
            m = _ASSIGNED.search(clause)
            how = "assigned"
            of_own = _OF_OWN.search(clause) if m is None else None
            if of_own is not None and _of_own(d, of_own, text, i, out):
                continue
            if m is None:
                m = _ONLY_OWN.search(clause) or _OWN.search(clause)
                how = "created"
            if m is None:
                seen = re.search(rf"(?P<who>[a-z][a-z-]*) {_SEE} (?:every|all|each)? ?(?:[a-z]+'s )?(?P<what>[a-z]+)",
                                 clause)
                if seen:
                    last_what = _entity(d, seen.group("what"), None)
                    _person_role(d, seen.group("who"), text, "oversight")
                continue
            who = safe_name(singular(m.group("who")))
            what = _entity(d, m.group("what"), last_what)
            if who == "owner" and what is not None:  # "owners see only their own pets": the pets' owners, people
                person = next((n for n in d.entities if n.endswith("_owner") and d.entities[n].people is not None
                               and any(f.type == "reference" and f.ref == n for f in d.entities[what].fields.values())),
                              None)
                if person is None:
                    continue
                who = person
                if who not in d.roles:
                    d.roles[who] = DRole(who, clip(text), "participant")
                if not any(f.type == "email" for f in d.entities[who].fields.values()):
                    d.add_field(who, "email", "email", text, origin="structure", required=True)
            if what is None or who in ("owner", "everyone", "user", "anyone") or d.entities[what].people and \
                    how == "created" and what == who:
                continue
            if who not in d.roles and not _person_role(d, m.group("who"), text, "participant",
                                                       single=bool(m.group("each"))):
                if not _account_record(d, who, what, text):
                    continue
            scoped = [what] + [n for n, e in d.entities.items()
                               if any(f.type == "reference" and f.ref == what and f.required for f in e.fields.values())]
            if how == "assigned":
                _link_person(d, what, who, text)
            elif who in d.entities and not d.entities[who].join and any(
                    f.type == "reference" and f.ref == who for n in scoped for f in d.entities[n].fields.values()) \
                    and not any(f.type == "email" for f in d.entities[who].fields.values()):
                # "parents see only their own child's diary entries" where entries point at a parent record: the
                # parent record carries the email its user signs in with, so the rows pointing at it are theirs
                d.add_field(who, "email", "email", text, origin="structure")
            out[i] = (who, list(dict.fromkeys(scoped)), how)
    return out


def _of_own(d: Draft, m: re.Match, text: str, i: int, out: dict) -> bool:
    """ "Families see only the sitting history of their own household": the rows named ("sitting history" names no
    record, so every record pointing at the person's own record) are read only where they point at the user's own
    person record (matched by its email, added when it has none). False when the words name no such rows."""
    who = safe_name(singular(m.group("who")))
    whose = _entity(d, m.group("whose"), None)
    person = whose if whose is not None and d.entities[whose].people is not None else who
    if person not in d.entities or d.entities[person].join:
        return False
    what = _entity(d, m.group("what"), None)
    pointing = [n for n, e in d.entities.items() if n != person and not e.people
                and any(f.type == "reference" and f.ref == person for f in e.fields.values())]
    scoped = [what] if what is not None and what != person else pointing
    if not scoped:
        return False
    if who not in d.roles and not _person_role(d, m.group("who"), text, "participant", single=bool(m.group("each"))):
        return False
    if person != who:
        return False  # "their own flat": a record of its own, not the person; left to the other patterns
    if not any(f.type == "email" for f in d.entities[person].fields.values()):
        d.add_field(person, "email", "email", text, origin="structure")
    for what in scoped:
        if not any(f.type == "reference" and f.ref == person for f in d.entities[what].fields.values()):
            d.add_ref(what, person, text)
    children = [n for n, e in d.entities.items() for w in scoped
                if any(f.type == "reference" and f.ref == w and f.required for f in e.fields.values())]
    out[i] = (who, list(dict.fromkeys(scoped + children)), "created")
    return True


def _person_role(d: Draft, word: str, source: str, kind: str, single: bool = False) -> bool:
    """ "Mechanics see ...": people who sign in to see rows are a role of the app (a plural noun, or a singular one
    after each/every; not a record the idea keeps, not the app's owner)."""
    who = safe_name(singular(word))
    if who in d.roles:
        return True
    if not (word.endswith("s") or single) or who in ("owner", "everyone", "user", "anyone", "staff") or (
            who in d.entities and not d.entities[who].people) or singular(word) in lx.VAGUE_NOUNS:
        return False
    d.roles[who] = DRole(who, clip(source), kind)
    return True


def _account_record(d: Draft, who: str, what: str, source: str) -> bool:
    """ "Each practice sees only its own cases": a record the idea keeps (a practice, a school, a shop) that sees
    rows is one that signs in. It becomes a role whose users are matched to the record by its email (added when it
    has none), and the rows it sees point at it (cases -> practice), so the lab's cases for a practice are that
    practice's own as well as the ones it adds itself."""
    if who not in d.entities or who == what or d.entities[who].join or who in ("owner", "user", "staff") or \
            who.split("_")[-1] in lx.VAGUE_NOUNS:
        return False
    if not any(f.type == "email" for f in d.entities[who].fields.values()):
        d.add_field(who, "email", "email", source, origin="structure")
    if not any(f.type == "reference" and f.ref == who for f in d.entities[what].fields.values()):
        d.add_ref(what, who, source)
    d.roles[who] = DRole(who, clip(source), "participant")
    return True


def _link_person(d: Draft, what: str, who: str, source: str) -> None:
    """ "Mechanics see the repair tickets assigned to them": a mechanic record with the email they sign in with,
    and the ticket's reference to it."""
    if who not in d.entities:
        try:
            d.add_entity(who, source, people=True)
        except ValueError:
            return
        d.add_field(who, "name", "text", source, origin="structure", required=True)
    if not any(f.type == "email" for f in d.entities[who].fields.values()):
        d.add_field(who, "email", "email", source, origin="structure", required=True)
    d.add_ref(what, who, source)


def is_scope_feature(text: str) -> bool:
    low = text.lower()
    return bool(_OWN.search(low) or _ASSIGNED.search(low) or _OF_OWN.search(low))


__all__ = ["read_scopes", "is_scope_feature", "lx"]
