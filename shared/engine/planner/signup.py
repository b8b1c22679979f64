"""Who may create an account (issue 18's signup policy): invite-only unless the idea has a public audience.

The audience is public when a role the idea names comes from the public (a customer, a patient, a guest:
`lexicon.PUBLIC_PEOPLE`), or when the words say anyone may sign up ("anyone can register", "self sign-up"), and
no words say the app is invite-only. Then anyone may sign up into that role, with least privilege: it reads in
full only what a public audience browses (the services, events or items offered: see `catalogue`), and every
private entity only where the row is its own (read_own). Everyone else is invited by the owner.
"""

from __future__ import annotations

import re

from ..appspec.model import EntitySpec, RoleSpec, SignupSpec
from . import lexicon as lx
from .draft import Draft, clip
from .text import plural, singular

_SELF_SIGNUP = re.compile(
    r"\b(?:anyone|anybody|everyone|the public|members of the public|visitors|strangers)\b[^.;]{0,40}?"
    r"\b(?:can |may |to )?(?:sign(?:s|ing)? up|register(?:s|ing)?|create (?:an |their own )?accounts?|join)\b"
    r"|\bself[- ](?:sign[- ]?ups?|registration|registers?|serve)\b"
    r"|\bopen (?:sign[- ]?ups?|registration)\b")
_INVITE_ONLY = re.compile(r"\binvit(?:e|ation)[- ]only\b|\bby invitation\b|\bprivate (?:club|group|app)\b"
                          r"|\bonly (?:invited|approved) (?:members|people|users)\b")


def signup_policy(d: Draft, roles: list[RoleSpec], entities: list[EntitySpec], caps: list[dict]) -> SignupSpec:
    """The spec's signup policy; under "public", narrows the sign-up role's reads to its own rows (in place).
    `caps`: the planned capabilities (a public page's records are public already)."""
    text = d.all_text.lower()
    if _INVITE_ONLY.search(text):
        return SignupSpec()
    named = [r for r in roles if not r.manage_users and r.name in d.roles and d.roles[r.name].kind == "participant"]
    role = next((r for r in named if singular(r.name) in lx.PUBLIC_PEOPLE), None)
    said = _SELF_SIGNUP.search(text)
    if role is not None:
        source = role.source or role.name
    elif said and (takers := named or [r for r in roles if not r.manage_users and r.scope == "own"]):
        role, source = takers[0], said.group(0)
    else:
        return SignupSpec()
    shown = {c.get("entity") for c in caps if c.get("kind") == "public_page"}
    public = catalogue(role, entities, shown)
    scoped = [n for n in dict.fromkeys(role.read + role.write) if n not in public]
    role.read_own = list(dict.fromkeys([*role.read_own, *scoped]))
    if scoped:
        role.description = clip(f"Signs up without an invitation. {role.description} Reads only its own "
                                f"{', '.join(plural(n).replace('_', ' ') for n in scoped)}.", 300)
    return SignupSpec(policy="public", role=role.name, public=public, source=clip(source, 300))


def catalogue(role: RoleSpec, entities: list[EntitySpec], shown: set) -> list[str]:
    """The entities `role` reads that a public audience may browse in full: the catalogue other records refer to
    (the events tickets are for, the treatments appointments book), unless private. A record is private when it
    is the sign-up role's own person record, holds contact details (an email or phone field), or refers to a
    private record (an appointment of a patient); a record nothing refers to (an order, a bid, a donation) is what
    someone did, read only as one's own. The records a public page shows (`shown`) are public unless private."""
    me = {role.name, singular(role.name)}
    private = {e.name for e in entities if e.name in me or any(f.type in ("email", "phone") for f in e.fields)}
    grew = True
    while grew:
        grew = False
        for e in entities:
            if e.name not in private and any(f.type == "reference" and f.ref in private for f in e.fields):
                private.add(e.name)
                grew = True
    referred = {f.ref for e in entities for f in e.fields if f.type == "reference" and f.ref != e.name}
    return [e.name for e in entities if e.name in role.read and (e.name in referred or e.name in shown) and e.name not in private]
