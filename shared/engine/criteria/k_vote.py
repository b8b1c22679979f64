"""Criteria for `vote`: one vote per person per record (a second replaces the first), the ranking by net score, and,
as bound, the budget of votes per person, the close of voting and the ban on voting for one's own records.

The scenarios drive the capability's own routes (see `capabilities/vote/module.py.j2`). A stated rule is realised
only when the capability carries the rule's own number and nouns: "each member has 3 votes" by a budget of 3 votes
per user (not 5, not "3 votes per song"), "one vote per person" by the one vote per user and record every vote
capability keeps, "nobody votes on their own proposal" by self-votes being off, "no votes on done requests" by
`done` being a closed value, "cannot vote for their own team" by the membership rule (`member_field`: the
voter's person record points at the team) when the team is a group the voter belongs to.
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, field_label, noun_matches, rule_number

_VOTE_WORDS = re.compile(r"\b(up-?|down-?)?vot(e|es|ed|ing|er|ers)\b")
#: "3 votes per song", "each song": the words after it name whom (or what) the number is per
_PER = re.compile(r"\b(?:per|each|every|a|an|for each)\s+([a-z][a-z-]*)")
_PERIOD_WORDS = re.compile(r"\b(day|days|daily|week|weeks|weekly|month|months|monthly|year|years|yearly|season|"
                           r"term|round)\b")
_OWN = re.compile(r"\b(own|themselves|himself|herself|self[- ]?votes?)\b")


def _cap(p, capability: str):
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "vote"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no vote capability {capability!r}")
    return cap


def _other_entities(spec, cap, rule) -> bool:
    """Does the rule name a record other than the one voted on?"""
    words = [w for w in list(rule.nouns) + re.findall(r"[a-z][a-z-]+", (rule.words or "").lower())
             if not _VOTE_WORDS.fullmatch(w.lower())]  # the votes themselves, even when a draft made them records
    return any(noun_matches(w, e.name) for w in words for e in spec.entities if e.name != cap.entity
               and not any(noun_matches(w, r.name) for r in spec.roles))


def _about_votes(rule) -> bool:
    return bool(_VOTE_WORDS.search((rule.words or "").lower())) or any(_VOTE_WORDS.search(n.lower())
                                                                       for n in rule.nouns)


def _per_record(cap, rule) -> bool:
    """"3 votes per song": the number is per voted record, not per voter."""
    return any(noun_matches(m.group(1), cap.entity) for m in _PER.finditer((rule.words or "").lower()))


def _realises_vote(cap, spec, rule, reading) -> bool:
    """limit: a budget of `max_votes_per_user` votes per person, with that number, in all (no period) and not per
    record, or "one vote per person" (one per record, with no budget above one); uniqueness: one vote per person (number 1 or none); block: self-votes off ("their own"), or a closed
    value named ("no votes on done requests"). Each about votes, naming no record but the one voted on."""
    if not _about_votes(rule) or _other_entities(spec, cap, rule):
        return False
    words = (rule.words or "").lower()
    n = rule_number(rule)
    if rule.category == "limit":
        if _PERIOD_WORDS.search(words):
            return False
        if n == 1 and re.match(r"(one|a single|1)\b", words) and cap.max_votes_per_user in (None, 1):
            return True  # "one vote per resident": the one vote per person and record every vote keeps
        return cap.max_votes_per_user is not None and n == cap.max_votes_per_user and not _per_record(cap, rule)
    if rule.category == "uniqueness":
        return n in (None, 1.0) and not _PERIOD_WORDS.search(words)
    if rule.category == "block":
        if _OWN.search(words):
            return not cap.allow_self_votes or bool(cap.member_field)
        return bool(cap.closed_values) and any(noun_matches(w, v) for v in cap.closed_values
                                               for w in re.findall(r"[a-z]+", words))
    return False


# ---------------------------------------------------------------------------------------------------- derive


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rlabel(spec, role: str | None) -> str:
    r = spec.role(role) if role else None
    return (r.label if r else (role or "person").replace("_", " ")).lower()


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _params(cap, spec) -> dict:
    from ..capabilities.vote import open_value

    return {"capability": cap.id, "entity": cap.entity, "status_field": cap.status_field,
            "open_value": open_value(cap, spec)}


def _derive_vote(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.vote import member_of, roles_for_tests
    from ..compiler import managed_samples

    if spec.entity(cap.entity) is None:
        return []
    rules = list(enumerate(reading.rules)) if reading is not None else []
    realised = {cat: [i for i, r in rules if r.category == cat and _realises_vote(cap, spec, r, reading)]
                for cat in ("limit", "uniqueness", "block")}
    who = roles_for_tests(cap, spec)
    ent, ents = entity_label(spec, cap.entity), entity_label(spec, cap.entity, True)
    voter = _rlabel(spec, who["voter"])
    by = "their up-votes minus their down-votes" if cap.allow_down else "their up-votes"
    refused = f"; {a(_rlabel(spec, who['outsider']))} may not vote" if who["outsider"] else ""
    prm = _params(cap, spec)
    out = [{"text": _fit(f"{ents[:1].upper()}{ents[1:]} are ranked by {by}, ties by the earliest; each {voter} has "
                         f"one vote per {ent}, and voting again replaces it{refused}."),
            "template": "vote.rank_by_votes", "params": prm,
            # without a budget, a realised limit is "one vote per idea": the one vote per person and record
            "rules": realised["uniqueness"] + ([] if cap.max_votes_per_user is not None else realised["limit"])}]
    if cap.max_votes_per_user is not None:
        n = cap.max_votes_per_user
        out.append({"text": _fit(f"Each {voter} has {n} vote{'s' if n != 1 else ''}: after voting for {n} "
                                 f"{ents if n != 1 else ent}, a {_ordinal(n + 1)} is refused until one is withdrawn."),
                    "template": "vote.budget", "params": dict(prm, budget=n), "rules": realised["limit"]})
    own = [i for i in realised["block"] if _OWN.search(reading.rules[i].words.lower())] if reading else []
    if cap.status_field and (cap.entity, cap.status_field) not in managed_samples(spec):
        closed = [i for i in realised["block"] if i not in own]
        status = field_label(spec, cap.entity, cap.status_field)
        out.append({"text": _fit(f"{a(ent)[:1].upper()}{a(ent)[1:]} whose {status} is "
                                 f"{cap.closed_values[0].replace('_', ' ')} takes no votes; one that is "
                                 f"{str(prm['open_value']).replace('_', ' ')} does."),
                    "template": "vote.closed", "params": dict(prm, closed_value=cap.closed_values[0]),
                    "rules": closed})
    if not cap.allow_self_votes and who["self_voter"]:
        out.append({"text": _fit(f"Nobody may vote on {a(ent)} they added; another {voter} may."),
                    "template": "vote.no_self_votes", "params": prm, "rules": [] if cap.member_field else own})
    member = member_of(cap, spec)
    if member is not None:
        out.append({"text": _fit(f"No {voter} may vote for the {ent} their {member['label'].lower()} record "
                                 f"belongs to; they may vote for another {ent}, and another {voter} may vote for "
                                 f"it."),
                    "template": "vote.own_group", "params": dict(prm, member_entity=member["entity"],
                                                                 member_field=member["field"]),
                    "rules": own})
    return out


# ---------------------------------------------------------------------------------------------------- compile


def _setup(p, capability: str, entity: str, status_field: str | None, open_value: str | None):
    from ..capabilities.vote import roles_for_tests

    cap = _cap(p, capability)
    if cap.entity != entity:
        raise ScenarioError(f"vote {capability!r} is on {cap.entity!r}, not {entity!r}")
    who = roles_for_tests(cap, p.spec)
    maker = "owner" if who["maker"] == "owner" else p.actor(who["maker"])
    opened = {status_field: open_value} if status_field else {}
    return cap, who, maker, opened


def _vote(p, actor: str, capability: str, var: str, value, expect, note: str, checks=None, method="PUT") -> None:
    p.step(actor, method, f"/api/{capability}/records/${{{var}.id}}/vote", json={"value": value}, expect=expect,
           checks=checks, note=note)


def _rank_by_votes(p, capability: str, entity: str, status_field: str | None = None,
                   open_value: str | None = None) -> None:
    cap, who, maker, opened = _setup(p, capability, entity, status_field, open_value)
    label = p.entity(entity).label.lower()
    first = p.make(entity, maker, opened, note=f"a first {label}")
    second = p.make(entity, maker, opened, note=f"a second {label}")
    voter = p.actor(who["voter"])
    _vote(p, voter, capability, second, 1, 201, f"a {who['voter']} votes for the second {label}",
          checks=[{"path": "tally.score", "op": "eq", "value": 1}])
    _vote(p, voter, capability, second, 1, 200, "the same vote again counts once", method="POST",
          checks=[{"path": "tally.score", "op": "eq", "value": 1}, {"path": "tally.up", "op": "eq", "value": 1}])
    if who["voter"] != "owner":
        _vote(p, p.actor(who["voter"]), capability, second, 1, 201, f"another {who['voter']} votes for it",
              checks=[{"path": "tally.score", "op": "eq", "value": 2}])
        third = p.actor(who["voter"])
        _vote(p, third, capability, first, 1, 201, f"a third {who['voter']} votes for the first {label}")
        if cap.allow_down:
            _vote(p, third, capability, first, -1, 200, "changing the vote to a down-vote replaces it",
                  checks=[{"path": "tally.score", "op": "eq", "value": -1},
                          {"path": "tally.down", "op": "eq", "value": 1}, {"path": "tally.up", "op": "eq", "value": 0}])
    top = 2 if who["voter"] != "owner" else 1
    p.step(voter, "GET", f"/api/{capability}/ranking", expect=200,
           checks=[{"path": "items.0.id", "op": "eq", "value": f"${{{second}.id}}"},
                   {"path": "items.0.score", "op": "eq", "value": top},
                   {"path": "items.0.my_vote", "op": "eq", "value": 1},
                   {"path": "items.1.id", "op": "eq", "value": f"${{{first}.id}}"}],
           note=f"the ranking puts the second {label} first, with my vote")
    _vote(p, voter, capability, first, 2, 400, "a vote of 2 is refused",
          checks=[{"path": "error.code", "op": "eq", "value": "invalid"}])
    if not cap.allow_down:
        _vote(p, voter, capability, first, -1, 400, "a down-vote is refused: up-votes only",
              checks=[{"path": "error.code", "op": "eq", "value": "invalid"}])
    p.step(voter, "PUT", f"/api/{capability}/records/999999/vote", json={"value": 1}, expect=404,
           note=f"a vote on a {label} that does not exist is refused")
    if who["outsider"]:
        _vote(p, p.actor(who["outsider"]), capability, first, 1, 403, f"a {who['outsider']} may not vote")
    p.step("anon", "PUT", f"/api/{capability}/records/${{{first}.id}}/vote", json={"value": 1}, expect=401,
           note="a visitor who is not signed in may not vote")


def _budget(p, capability: str, entity: str, budget: int, status_field: str | None = None,
            open_value: str | None = None) -> None:
    _cap_, who, maker, opened = _setup(p, capability, entity, status_field, open_value)
    label = p.entity(entity).label.lower()
    rows = [p.make(entity, maker, opened, note=f"{label} {i + 1}") for i in range(budget + 1)]
    voter = p.actor(who["voter"])
    for i, var in enumerate(rows[:budget]):
        _vote(p, voter, capability, var, 1, 201, f"vote {i + 1} of {budget}")
    _vote(p, voter, capability, rows[-1], 1, 409, f"a {_ordinal(budget + 1)} vote is refused",
          checks=[{"path": "error.code", "op": "eq", "value": "vote_limit_reached"},
                  {"path": "error.details.max", "op": "eq", "value": budget}])
    p.step(voter, "GET", f"/api/{capability}/records/${{{rows[-1]}.id}}", expect=200,
           checks=[{"path": "up", "op": "eq", "value": 0}, {"path": "me.remaining", "op": "eq", "value": 0}],
           note="the refused vote was not stored")
    p.step(voter, "DELETE", f"/api/{capability}/records/${{{rows[0]}.id}}/vote", expect=200,
           note="withdrawing a vote frees it")
    _vote(p, voter, capability, rows[-1], 1, 201, "the freed vote can be cast")
    if who["voter"] != "owner":
        _vote(p, p.actor(who["voter"]), capability, rows[1], 1, 201, f"another {who['voter']} has votes of their own")


def _closed(p, capability: str, entity: str, closed_value: str, status_field: str | None = None,
            open_value: str | None = None) -> None:
    _cap_, who, maker, opened = _setup(p, capability, entity, status_field, open_value)
    if not status_field:
        raise ScenarioError(f"vote {capability!r} never closes")
    ent = p.entity(entity)
    label = ent.label.lower()
    open_row = p.make(entity, maker, opened, note=f"an open {label}")
    closed_row = p.make(entity, maker, {status_field: closed_value}, note=f"a {label} that is {closed_value}")
    voter = p.actor(who["voter"])
    _vote(p, voter, capability, closed_row, 1, 409, f"a vote on the {closed_value} {label} is refused",
          checks=[{"path": "error.code", "op": "eq", "value": "voting_closed"}])
    _vote(p, voter, capability, open_row, 1, 201, f"a vote on the open {label} counts")
    p.step(maker, "PATCH", f"/api/{ent.plural}/${{{open_row}.id}}", json={status_field: closed_value}, expect=200,
           note=f"the {label} becomes {closed_value}")
    p.step(voter, "DELETE", f"/api/{capability}/records/${{{open_row}.id}}/vote", expect=409,
           checks=[{"path": "error.code", "op": "eq", "value": "voting_closed"}], note="its votes are final now")
    p.step(voter, "GET", f"/api/{capability}/records/${{{open_row}.id}}", expect=200,
           checks=[{"path": "score", "op": "eq", "value": 1}, {"path": "closed", "op": "true"}],
           note="the vote cast before the close still counts")


def _no_self_votes(p, capability: str, entity: str, status_field: str | None = None,
                   open_value: str | None = None) -> None:
    cap, who, _maker, opened = _setup(p, capability, entity, status_field, open_value)
    if cap.allow_self_votes or not who["self_voter"]:
        raise ScenarioError(f"vote {capability!r} allows votes on one's own records")
    label = p.entity(entity).label.lower()
    author = p.actor(who["self_voter"])
    row = p.make(entity, author, opened, note=f"a {who['self_voter']} adds a {label}")
    _vote(p, author, capability, row, 1, 403, f"they may not vote on their own {label}",
          checks=[{"path": "error.code", "op": "eq", "value": "own_record"}])
    other = p.actor(who["voter"])
    if other != author:
        _vote(p, other, capability, row, 1, 201, f"another {who['voter']} may vote on it")


def _own_group(p, capability: str, entity: str, member_entity: str, member_field: str,
               status_field: str | None = None, open_value: str | None = None) -> None:
    from ..capabilities.vote import member_of

    cap, who, maker, opened = _setup(p, capability, entity, status_field, open_value)
    member = member_of(cap, p.spec)
    if member is None or (member["entity"], member["field"]) != (member_entity, member_field):
        raise ScenarioError(f"vote {capability!r} refuses no vote on a {entity} the voter belongs to")
    label, person = p.entity(entity).label.lower(), p.entity(member_entity).label.lower()
    mine = p.make(entity, maker, opened, note=f"the {label} the voter belongs to")
    other = p.make(entity, maker, opened, note=f"another {label}")
    voter = p.actor(who["voter"])
    pm = "owner" if member["maker"] == "owner" else p.actor(member["maker"])
    p.make(member_entity, pm, {member_field: f"${{{mine}.id}}", member["email"]: f"${{actor.{voter}.email}}"},
           note=f"the voter's {person} record, in the first {label}")
    _vote(p, voter, capability, mine, 1, 403, f"a vote for their own {label} is refused",
          checks=[{"path": "error.code", "op": "eq", "value": "own_group"}])
    p.step(voter, "GET", f"/api/{capability}/records/${{{mine}.id}}", expect=200,
           checks=[{"path": "up", "op": "eq", "value": 0}, {"path": "member", "op": "true"}],
           note="the refused vote was not stored")
    _vote(p, voter, capability, other, 1, 201, f"a vote for another {label} counts")
    if who["voter"] != "owner":
        _vote(p, p.actor(who["voter"]), capability, mine, 1, 201,
              f"a {who['voter']} who does not belong to the first {label} may vote for it")


REALISES = {"vote": _realises_vote}
DERIVE = {"vote": _derive_vote}
COMPILE = {"vote.rank_by_votes": _rank_by_votes, "vote.budget": _budget, "vote.closed": _closed,
           "vote.no_self_votes": _no_self_votes, "vote.own_group": _own_group}
