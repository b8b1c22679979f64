"""Criteria for ratings and leaderboard.

Each scenario drives the capability's own routes (see its `module.py.j2`) with the app's clock fixed at `NOW`,
and asserts both the behaviour and the refusal the behaviour implies (a rating out of range is refused, a second
rating of one record by one person is refused, points past the daily cap are not counted, ...).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from . import NOW, ScenarioError, days_from_now, noun_matches
from ._notify_helpers import (
    _TIME_UNITS,
    _a,
    _about_other,
    _clipped,
    _elabel,
    _has,
    _person,
    _readers,
    _rules,
    _snake,
    _who,
    _writer_role,
    _writers,
)

# ---------------------------------------------------------------------------------------------------- ratings

_RATE_WORDS = r"rat(?:e|es|ed|ing|ings)|reviews?|reviewed|votes?|voted|scores?|scored|stars?|grades?|graded"
_ONCE = r"once|one|only one|single|at most one|twice|again"
_SCALE_WORDS = r"out of|stars?|scale|points?|\d+\s*(?:-|to)\s*\d+"


_PEOPLE = ("user", "person", "people", "account", "customer", "member", "guest", "visitor", "client", "rater",
           "reviewer", "voter")


def _per_target(words: str) -> str | None:
    """The noun after "per"/"each"/"every" ("once per course" -> "course"), or None."""
    m = re.search(r"\b(?:per|each|every)\s+([a-z]+)", words.lower())
    return m.group(1) if m else None


def _names_entity(spec, noun: str, entity: str) -> bool:
    ent = spec.entity(entity)
    return noun_matches(noun, entity) or (ent is not None and noun_matches(noun, _snake(ent.label)))


def _realises_ratings(cap, spec, rule, reading) -> bool:
    words = rule.words
    if _about_other(spec, rule, {cap.entity}) or _has(words, _TIME_UNITS) or _has(rule.unit or "", _TIME_UNITS):
        return False
    said = " ".join([words] + [w.word for w in (reading.words if reading is not None else [])])
    rating = _has(said, _RATE_WORDS)
    if rule.category in ("uniqueness", "limit") and rule.number in (None, 1) and _has(words, _ONCE):
        if rule.category == "limit" and not _has(words, r"per|each|every|once"):
            return False
        target = _per_target(words)
        if target is not None:  # one per rated record, or one per person (per user and record, as built)
            return rating and (_names_entity(spec, target, cap.entity) or any(
                noun_matches(target, w) for w in _PEOPLE) or any(
                noun_matches(target, r.name) or noun_matches(target, _snake(r.label)) for r in spec.roles))
        return rating and all(_names_entity(spec, n, cap.entity) or _has(n, _RATE_WORDS) for n in rule.nouns)
    if rule.category == "limit" and rule.number is not None and float(rule.number) == cap.scale:
        if rule.unit == "scale":  # "from 1 to 10" after a rating verb: the scale itself
            return True
        return _has(f"{words} {rule.unit or ''}", _SCALE_WORDS) and not _has(words, r"per|each|every|once")
    return False


def _derive_ratings(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None:
        return []
    label = _elabel(spec, cap.entity)
    n = cap.scale
    params = {"cap_id": cap.id, "entity": cap.entity, "scale": n}
    from ..capabilities import _bind as b
    from ..capabilities.ratings import pick_rater, raters, self_field

    rater = pick_rater(raters(cap, spec), set(b.own_readers(spec, cap.entity)))
    who = spec.role(rater).label.lower() if spec.role(rater) else "user"
    mine = (f"; {_a(who)} sees and rates only their own {_elabel(spec, cap.entity, True)} (another's is not found)"
            if cap.entity in spec.role(rater).read_own else "")
    self_ = (f"; nobody may rate the {label} that is themselves (its {self_field(spec, cap.entity).label.lower()} "
             f"is their login email)" if self_field(spec, cap.entity) is not None else "")
    out = [{"text": f"{_a(who).capitalize()} may rate {_a(label)} from 1 to {n}, one they created too: {n} is "
                    f"accepted, {n + 1} and 0 are refused, rating the same {label} again replaces the first rating, "
                    f"and the average shows every rater once{mine}{self_}.",
            "template": "ratings.rate", "params": params, "rules": []}]
    if cap.criteria:
        names = " and ".join(", ".join(cap.criteria).rsplit(", ", 1))
        out.append({"text": f"A rater scores {_a(label)} for {names}, each from 1 to {n}: each criterion shows its "
                            f"own average over the raters, a score of {n + 1} for one is refused (422), a role that "
                            f"may not rate is refused (403), and rating again keeps one score per criterion per "
                            f"rater.", "template": "ratings.criteria",
                    "params": {**params, "criteria": list(cap.criteria)}, "rules": []})
    if cap.opens_field:
        f = spec.entity(cap.entity).field(cap.opens_field)
        when = (f"its {f.label.lower()} is {' or '.join(v.replace('_', ' ') for v in cap.opens_values)}"
                if f is not None and f.type == "enum" else f"its {(f.label if f else cap.opens_field).lower()} "
                                                           f"has passed")
        said = f" ('{cap.opens_words}')" if cap.opens_words else ""
        out.append({"text": f"{_a(label).capitalize()} can be rated only once {when}{said}: before that a rating "
                            f"is refused (409) and nothing is stored; after it, the rating is accepted.",
                    "template": "ratings.opens", "params": params, "rules": []})
    for i, rule in _rules("ratings", cap, spec, reading):
        if rule.category == "limit" and rule.number is not None and float(rule.number) == n:
            out.append({"text": f"{_a(label).capitalize()} can be rated {n} out of {n} ('{rule.words}'), and a "
                                f"rating of {n + 1} is refused.", "template": "ratings.scale", "params": params,
                        "rules": [i]})
        else:
            out.append({"text": f"A user who rates the same {label} twice still counts once in its average "
                                f"('{rule.words}').", "template": "ratings.once", "params": params, "rules": [i]})
    return out


def _rater_roles(p, cap_id: str) -> list[str]:
    """The roles whose ratings count (never the sign-up role unless the spec lists it)."""
    from ..capabilities.ratings import raters

    cap = next((c for c in p.spec.capabilities if c.id == cap_id and c.kind == "ratings"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no ratings capability {cap_id!r}")
    return raters(cap, p.spec)


def _cap(p, cap_id: str):
    cap = next((c for c in p.spec.capabilities if c.id == cap_id and c.kind == "ratings"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no ratings capability {cap_id!r}")
    return cap


def _body(p, cap_id: str, stars: int) -> dict:
    """The JSON body that gives `stars` (to every criterion, when the rating scores criteria)."""
    from ..capabilities.ratings import stars_body

    return stars_body(_cap(p, cap_id), stars)


def _rater(p, cap_id: str) -> str:
    """A new user of the rater role the generated tests use too (one reading every row when there is one)."""
    from ..capabilities import _bind as b
    from ..capabilities.ratings import pick_rater

    cap = _cap(p, cap_id)
    return _person(p, [pick_rater(_rater_roles(p, cap_id), set(b.own_readers(p.spec, cap.entity)))])


def _visible_row(p, entity: str, who: str, overrides: dict, note: str) -> tuple[str, str]:
    """A record `who` can see, and who made it: when `who`'s role reads only its own rows, its own (made by it,
    or assigned to it through the person record carrying its sign-in email); else one a writer made."""
    from .k_records import _own_link

    if not p.reads_own(who, entity):
        author = p.writer(entity)
        return p.make(entity, author, overrides=overrides, note=note), author
    link = _own_link(p.spec, entity, p.scenario["actors"][who])
    if link is None:
        if entity not in p.spec.role(p.scenario["actors"][who]).write:
            raise ScenarioError(f"{who} reads only its own {entity} rows and can neither make one nor be linked to one")
        return p.make(entity, who, overrides=overrides, note=note + ", their own"), who
    field, person, email = link
    pv = p.make(person, None, overrides={email: f"${{actor.{who}.email}}"},
                note=f"the {person.replace('_', ' ')} record of the rater")
    return p.make(entity, None, overrides={**overrides, field: f"${{{pv}.id}}"}, note=note + ", theirs"), "owner"


def _rated(p, cap_id: str, entity: str, raters: int, opened: bool = True) -> tuple[str, list[str], str]:
    """A record to rate (open to rating unless `opened` is False), who made it (returned last), and up to
    `raters` new users whose ratings count and who can see it: one only, when the rater role reads only its own
    rows (the record is that rater's own)."""
    from ..capabilities.ratings import open_overrides

    ent = p.entity(entity)
    cap = _cap(p, cap_id)
    first = _rater(p, cap_id)
    row, author = _visible_row(p, entity, first, open_overrides(cap, p.spec) if opened else _closed(cap, p.spec),
                               f"{_a(ent.label.lower())} to rate" + ("" if opened else ", not yet open to rating"))
    if p.reads_own(first, entity):
        return row, [first], author
    return row, [first] + [_rater(p, cap_id) for _ in range(raters - 1)], author


def _closed(cap, spec) -> dict:
    """Field values that leave a new record closed to rating: its date a month ahead, a state that does not open
    it."""
    from ..capabilities.ratings import ent_field

    f = ent_field(spec.entity(cap.entity), cap.opens_field)
    if f is None:
        return {}
    if f.type == "enum":
        shut = next((v for v in f.values if v not in cap.opens_values), None)
        if shut is None:
            raise ScenarioError(f"every state of {f.name} opens rating, so no record is closed to it")
        return {f.name: shut}
    return {f.name: days_from_now(30, f.type)}


def _ratings_rate(p, cap_id: str, entity: str, scale: int) -> None:
    """Rate at the top of the scale, refuse out of range, replace a second rating, average two users; the one
    who made a record may rate it, nobody rates the record that is themselves, and a rater reading only its own
    rows rates only those."""
    from ..capabilities.ratings import open_overrides, self_field

    ent = p.entity(entity)
    row, raters, author = _rated(p, cap_id, entity, 2)
    alice = raters[0]
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    may_rate = _rater_roles(p, cap_id)
    other = next((r for r in _readers(p.spec, entity) if r not in may_rate), None)
    if other is not None:
        who = p.actor(other)
        hidden = p.reads_own(who, entity)  # it reads only its own rows: another's is as missing as a deleted one
        p.step(who, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=404 if hidden else 403,
               note=f"{_a(other)} (a role whose ratings do not count) may not rate"
                    + (" a record it may not even see" if hidden else ""))
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale + 1), expect=422, note=f"rate {scale + 1}: refused")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, 0), expect=422, note="rate 0: refused")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201, note=f"rate {scale}",
           checks=[{"path": "summary.average", "op": "eq", "value": scale},
                   {"path": "summary.count", "op": "eq", "value": 1}])
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, 1), expect=200, note="rate the same record again",
           checks=[{"path": "summary.count", "op": "eq", "value": 1},
                   {"path": "summary.average", "op": "eq", "value": 1}])
    count, total = 1, 1
    if len(raters) > 1:
        p.step(raters[1], "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201,
               note=f"another user rates {scale}")
        count, total = count + 1, total + scale
    else:  # the rater reads only its own rows: another of its role does not see this one
        p.step(_rater(p, cap_id), "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=404,
               note="another rater of the same role may not rate a record that is not theirs")
    if author != alice and p.scenario["actors"].get(author) in may_rate and not p.reads_own(author, entity):
        p.step(author, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201,
               note="whoever made the record may rate it too")
        count, total = count + 1, total + scale
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="the average",
           checks=[{"path": "count", "op": "eq", "value": count},
                   {"path": "average", "op": "eq", "value": round(total / count, 2)},
                   {"path": "mine.stars", "op": "eq", "value": 1}])
    me = self_field(p.spec, entity)
    if me is not None:  # the record that is the rater: rating it is rating oneself
        cap = _cap(p, cap_id)
        own = p.make(entity, None, overrides={**open_overrides(cap, p.spec), me.name: f"${{actor.{alice}.email}}"},
                     note=f"the {ent.label.lower()} record that is the rater")
        p.step(alice, "PUT", f"/api/{cap_id}/{ent.plural}/${{{own}.id}}/rating", json=_body(p, cap_id, scale),
               expect=403, note="nobody rates themselves",
               checks=[{"path": "error.code", "op": "eq", "value": "self_rating"}])


def _ratings_scale(p, cap_id: str, entity: str, scale: int) -> None:
    """The top of the stated scale is accepted and one above it refused."""
    ent = p.entity(entity)
    row, (alice,), _author = _rated(p, cap_id, entity, 1)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale + 1), expect=422, note=f"rate {scale + 1}: refused")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201, note=f"rate {scale}",
           checks=[{"path": "rating.stars", "op": "eq", "value": scale}])
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="the rating stands",
           checks=[{"path": "count", "op": "eq", "value": 1}, {"path": "average", "op": "eq", "value": scale}])


def _ratings_once(p, cap_id: str, entity: str, scale: int) -> None:
    """The same user rating twice counts once."""
    ent = p.entity(entity)
    row, (alice,), _author = _rated(p, cap_id, entity, 1)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201, note="rate once")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=[200, 409], note="rate again")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, 1), expect=[200, 409], note="and again")
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="counted once",
           checks=[{"path": "count", "op": "eq", "value": 1}, {"path": "items", "op": "len", "value": 1}])


def _wrong_role(p, cap_id: str, entity: str, url: str, scale: int) -> None:
    """A role that reads the records but may not rate them is refused (403); or, when every reader rates, a role
    that may not read them."""
    may_rate = _rater_roles(p, cap_id)
    other = next((r for r in _readers(p.spec, entity) if r not in may_rate), None)
    if other is not None and not p.reads_own(p.actor(other), entity):
        p.step(p.actor(other), "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=403,
               note=f"{_a(other)} (a role whose ratings do not count) may not rate")
        return
    outsider = next((r.name for r in p.spec.roles if r.name not in _readers(p.spec, entity)), None)
    if outsider is not None:
        p.step(p.actor(outsider), "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=403,
               note=f"{_a(outsider)} (a role that may not read the records) may not rate")


def _ratings_criteria(p, cap_id: str, entity: str, scale: int, criteria: list[str]) -> None:
    """Each criterion scored by two raters has its own average; out of range is 422; one score per criterion per
    rater however often they rate."""
    ent = p.entity(entity)
    row, raters, _author = _rated(p, cap_id, entity, 2)
    alice, bob = raters[0], raters[-1]  # one rater only when it reads only its own rows: its second rating replaces
    n = len(raters)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    first, *rest = criteria
    mixed = {c: (1 if c == first else scale) for c in criteria}
    _wrong_role(p, cap_id, entity, url, scale)
    p.step(alice, "PUT", f"{url}/rating", json={"scores": {**mixed, first: scale + 1}}, expect=422,
           note=f"{first} scored {scale + 1}: refused")
    p.step(alice, "PUT", f"{url}/rating", json={"scores": mixed}, expect=201, note=f"{first} 1, the rest {scale}",
           checks=[{"path": f"rating.scores.{c}", "op": "eq", "value": v} for c, v in mixed.items()])
    if n > 1:
        p.step(bob, "PUT", f"{url}/rating", json={"scores": {c: scale for c in criteria}}, expect=201,
               note=f"another rater scores every criterion {scale}")
    p.step(alice, "PUT", f"{url}/rating", json={"scores": mixed}, expect=[200, 409],
           note="the first rater sends the same scores again")
    checks = [{"path": "count", "op": "eq", "value": n},
              {"path": f"criteria.{first}.average", "op": "eq", "value": round((1 + scale) / 2, 2) if n > 1 else 1},
              {"path": f"criteria.{first}.count", "op": "eq", "value": n}]
    checks += [{"path": f"criteria.{c}.average", "op": "eq", "value": scale} for c in rest]
    checks += [{"path": f"criteria.{c}.count", "op": "eq", "value": n} for c in rest]
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="an average per criterion, one score per rater each",
           checks=checks)


def _ratings_opens(p, cap_id: str, entity: str, scale: int) -> None:
    """A record not yet open to rating refuses a rating (409, nothing stored); once its date has passed or its
    state opens it, the rating is accepted."""
    from ..capabilities.ratings import open_overrides

    ent = p.entity(entity)
    row, (alice,), author = _rated(p, cap_id, entity, 1, opened=False)
    url = f"/api/{cap_id}/{ent.plural}/${{{row}.id}}"
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=409, note="rate before it opens",
           checks=[{"path": "error.code", "op": "eq", "value": "not_open"}])
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="nothing was stored",
           checks=[{"path": "count", "op": "eq", "value": 0}])
    p.step(author, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json=open_overrides(_cap(p, cap_id), p.spec),
           expect=200, note="the record reaches the point that opens rating")
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale + 1), expect=422,
           note=f"rate {scale + 1}: out of range")
    _wrong_role(p, cap_id, entity, url, scale)
    p.step(alice, "PUT", f"{url}/rating", json=_body(p, cap_id, scale), expect=201, note="rate once it is open")
    p.step(alice, "GET", f"{url}/ratings", expect=200, note="the rating stands",
           checks=[{"path": "count", "op": "eq", "value": 1}, {"path": "average", "op": "eq", "value": scale}])


# ---------------------------------------------------------------------------------------------------- leaderboard

_DAY = r"a day|per day|each day|every day|daily|day|days|today"


def _award_for(cap, spec, rule):
    """The award whose own numbers the rule states: (award, "points" | "max_per_day"), or None."""
    if rule.number is None:
        return None
    text = f"{rule.words} {rule.unit or ''}"
    for a in cap.awards:
        if _about_other(spec, rule, {a.entity}):
            continue
        n = float(rule.number)
        if n == a.points and _has(text, r"points?|pts") and not _has(text, _DAY):
            return a, "points"
        if n == a.max_per_day and rule.category in ("limit", "capacity") and _has(text, _DAY) and not _has(
                text, r"points?|pts"):
            return a, "max_per_day"
    return None


def _period_of(rule) -> str | None:
    text = f"{rule.words} {rule.unit or ''}"
    if rule.category != "time_window" or rule.number not in (None, 1):
        return None
    week, month = _has(text, r"weeks?|weekly"), _has(text, r"months?|monthly")
    return "week" if week and not month else "month" if month and not week else None


def _realises_leaderboard(cap, spec, rule, reading) -> bool:
    if _award_for(cap, spec, rule) is not None:
        return True
    return _period_of(rule) is not None and _period_of(rule) == cap.period


def _derive_leaderboard(cap, spec, reading, feature) -> list[dict]:
    awards = [a for a in cap.awards if spec.entity(a.entity) is not None and _writers(spec, a.entity)]
    if not awards:
        return []
    out: list[dict] = []
    for a in awards:
        who = _who(spec, _writer_role(spec, a.entity))
        label = _elabel(spec, a.entity)
        params = {"cap_id": cap.id, "entity": a.entity, "points": a.points, "max_per_day": a.max_per_day}
        out.append({"text": f"When {who} adds {_a(label)}, they earn {a.points} points and appear on the "
                            f"leaderboard with them.", "template": "leaderboard.points", "params": params,
                    "rules": []})
    a = awards[0]
    cap_params = {"cap_id": cap.id, "entity": a.entity, "points": a.points, "max_per_day": a.max_per_day}
    cap_text = (f"{_who(spec, _writer_role(spec, a.entity)).capitalize()} earns points for at most "
                f"{a.max_per_day} {_elabel(spec, a.entity, a.max_per_day != 1)} a day: the next one that day is "
                f"saved without points, and the next day earns points again.")
    out.append({"text": cap_text, "template": "leaderboard.daily_cap", "params": cap_params, "rules": []})
    for i, rule in _rules("leaderboard", cap, spec, reading):
        found = _award_for(cap, spec, rule)
        if found is None:
            label = _elabel(spec, a.entity)
            out.append({"text": f"Points for {_a(label)} count on this {cap.period}'s leaderboard and not on the "
                                f"next {cap.period}'s ('{rule.words}').", "template": "leaderboard.period",
                        "params": {**cap_params, "period": cap.period}, "rules": [i]})
            continue
        aw, what = found
        params = {"cap_id": cap.id, "entity": aw.entity, "points": aw.points, "max_per_day": aw.max_per_day}
        if what == "points":
            out.append({"text": f"Adding {_a(_elabel(spec, aw.entity))} earns exactly {aw.points} points "
                                f"('{rule.words}').", "template": "leaderboard.points", "params": params,
                        "rules": [i]})
        else:
            out.append({"text": f"At most {aw.max_per_day} {_elabel(spec, aw.entity, aw.max_per_day != 1)} a day "
                                f"earn points ('{rule.words}'); the next one that day earns none.",
                        "template": "leaderboard.daily_cap", "params": params, "rules": [i]})
    return out


def _award_rows(p, entity: str) -> tuple[str, dict]:
    """The writer, and overrides pointing every reference of `entity` at rows made once by the owner."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    if writer == "owner":  # a second owner-role user: the rows the owner makes first earn it nothing
        writer = p.actor("owner", "owner_b")
    over: dict = {}
    if p.meta[entity].get("unique_together"):  # a link row: each needs its own pair of rows
        return writer, over
    for f in ent.fields:
        if f.type == "reference" and f.ref != entity:
            over[f.name] = f"${{{p.make(f.ref, None, parents=(entity,))}.id}}"
    return writer, over


def _board_checks(p, cap_api: str, writer: str, entity: str, total: int, rows: int) -> None:
    """The writer's awards for `entity` number `rows`, and the all-time board shows them with `total` points."""
    p.step(writer, "GET", f"{cap_api}/points", expect=200, note="my points",
           checks=[{"path": "items", "op": "count", "key": "entity", "value": entity, "n": rows}])
    board = [{"path": "items", "op": "any", "key": "name", "value": writer},
             {"path": "me.points", "op": "eq", "value": total}]
    p.step(writer, "GET", f"{cap_api}/leaderboard?period=all", expect=200, checks=board, note="the leaderboard")


def _leaderboard_points(p, cap_id: str, entity: str, points: int, max_per_day: int) -> None:
    """One row earns its creator the award's points, shown on the leaderboard."""
    writer, over = _award_rows(p, entity)
    label = p.entity(entity).label.lower()
    p.step(writer, "GET", f"/api/{cap_id}/leaderboard?period=all", expect=200, note="no points yet",
           checks=[{"path": "items", "op": "none", "key": "name", "value": writer}])
    p.make(entity, writer, over, note=f"add {_a(label)}")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points, 1)


def _leaderboard_daily_cap(p, cap_id: str, entity: str, points: int, max_per_day: int) -> None:
    """max_per_day rows earn points, one more that day is saved without them, the next day earns again."""
    writer, over = _award_rows(p, entity)
    label = p.entity(entity).label.lower()
    for n in range(max_per_day):
        p.make(entity, writer, over, note=f"add {label} {n + 1} today")
    p.make(entity, writer, over, note=f"add one {label} more today")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points * max_per_day, max_per_day)
    tomorrow = (NOW + timedelta(days=1)).isoformat()
    p.step(writer, "GET", f"/api/{cap_id}/points", expect=200, now=tomorrow, note="the next day")
    p.make(entity, writer, over, note=f"add {_a(label)} the next day")
    _board_checks(p, f"/api/{cap_id}", writer, entity, points * (max_per_day + 1), max_per_day + 1)


def _leaderboard_period(p, cap_id: str, entity: str, points: int, max_per_day: int, period: str) -> None:
    """The leaderboard (its default period) counts points this week/month and not the next; all-time keeps them."""
    writer, over = _award_rows(p, entity)
    p.make(entity, writer, over, note=f"add {_a(p.entity(entity).label.lower())}")
    api = f"/api/{cap_id}/leaderboard"
    p.step(writer, "GET", api, expect=200, note=f"the leaderboard this {period}",
           checks=[{"path": "period", "op": "eq", "value": period},
                   {"path": "me.points", "op": "eq", "value": points}])
    nxt = datetime(2030, 1, 14, 8) if period == "week" else datetime(2030, 2, 1, 8)
    p.step(writer, "GET", api, expect=200, now=nxt.isoformat(), note=f"the leaderboard the next {period}",
           checks=[{"path": "period", "op": "eq", "value": period},
                   {"path": "me.points", "op": "eq", "value": 0}])
    p.step(writer, "GET", f"{api}?period=all", expect=200, note="all time",
           checks=[{"path": "me.points", "op": "eq", "value": points}])


# ---------------------------------------------------------------------------------------------------- tables


REALISES: dict = {
    "ratings": _realises_ratings,
    "leaderboard": _realises_leaderboard,
}

DERIVE = {kind: _clipped(fn) for kind, fn in {
    "ratings": _derive_ratings,
    "leaderboard": _derive_leaderboard,
}.items()}

COMPILE = {
    "ratings.rate": _ratings_rate,
    "ratings.scale": _ratings_scale,
    "ratings.once": _ratings_once,
    "ratings.criteria": _ratings_criteria,
    "ratings.opens": _ratings_opens,
    "leaderboard.points": _leaderboard_points,
    "leaderboard.daily_cap": _leaderboard_daily_cap,
    "leaderboard.period": _leaderboard_period,
}
