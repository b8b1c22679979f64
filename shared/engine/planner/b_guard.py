"""Planner builder for `guard` ("X cannot <act> until <condition>"), read from the feature's own words.

A guard sentence names who or what is held back, the act refused, and the condition that lifts it:

* the act: "cannot be <participle>" (a wheel cannot be sold) refuses moving the record's status to that value;
  "cannot <verb> [a <noun>]" (a member cannot book a rink) refuses creating the record the verb makes — the
  record a booking of the feature makes, or the record the noun names — for the subject, which it points at;
* the condition: "who has not <participle> <noun phrase>" or "without <noun phrase>" before the act reads a
  yes/no field of the subject ("season subscription paid", "laser training"); "until every <noun> is
  <participle>" after it reads the items of the checklist kept per the subject when <noun> names them ("skills
  checklist per pupil", asked for before or after), else all the subject's <noun> records, each ticked by a yes/no
  field; "until it has
  <participle> for at least N days" reads a date of the record plus N days.

`b_guard(ctx)` raises `capmap.NotFit` with a sentence a founder can read when the words give no act or no
condition of these shapes.
"""

from __future__ import annotations

import re

from . import lexicon as lx
from .draft import CHECKLIST_NOUN, named_items, safe_name
from .text import singular, verb_base

_NEG = r"(?:cannot|can ?not|can't|may not|must not|is not allowed to|are not allowed to)"
#: "<subject> [who has not <part> <np> | without <np>] cannot <act> [until|unless <cond>]"
GUARD = re.compile(
    r"^\s*(?:an? |the |any |each |every )?(?P<subj>[a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    r"(?: (?:who|that|which) (?:has|have|hasn't|haven't) (?:not |yet )*(?P<part>[a-z]+ed|[a-z]+en|done|paid) "
    r"(?:(?:the|their|its|a|an|his|her) )?(?P<np>[a-z][a-z -]*?)| without (?:(?:a|an|the|any|their|its) )?"
    r"(?P<lack>[a-z][a-z -]*?)| whose (?P<whose>[a-z][a-z -]*?) (?:has|have|is|are) (?:already )?"
    r"(?:expired|lapsed|run out|out of date))?"
    rf" {_NEG} (?:(?P<passive>be (?:marked (?:as )?|set (?:to|as) |moved (?:to|into) |made )?[a-z]+)"
    r"|(?P<goes>(?:go|move|pass|proceed|progress) (?:on )?(?:to|into) [a-z]+)"
    r"|(?P<verb>[a-z]+)(?: (?:on|onto|in|into|for|to|at))?(?: (?:a|an|the|any|their|its) (?P<obj>[a-z][a-z -]*?))?)"
    r"(?: (?P<conj>until|unless|before|while) (?P<cond>[^.;]+?))?\s*[.;]?\s*$")
#: "until every skill is ticked", "until all its checks are done"
_EVERY = re.compile(r"^(?:every|each|all)(?: (?:of )?(?:its|their|the|his|her))? (?P<child>[a-z][a-z-]*) (?:is|are|has been|"
                    r"have been) (?P<part>[a-z]+(?:ed|en)|done)$")
#: "until it has matured for at least 90 days", "until 30 days after its start date"
_AGED = re.compile(r"^(?:it|they|the [a-z]+) (?:has|have) (?:been )?(?P<part>[a-z]+(?:ed|en))(?: for)? (?:at least |"
                   r"a minimum of )?(?P<n>\d+) (?P<unit>days?|weeks?)$")
#: the guard sentence as a cue: its words are what the guard does (capmap.CUES, reading's cue spans)
CUE = GUARD.pattern.removeprefix(r"^\s*")
#: "while the dog's vaccination has expired", "while its certificate is out of date": refused while an item of the
#: record (or of the record it belongs to) is past its date
_EXPIRED = re.compile(r"^(?:(?:the|its|their|his|her|a|an) )?(?:(?P<owner>[a-z][a-z-]*)(?:'s|s') )?"
                      r"(?P<child>[a-z][a-z-]*(?: [a-z][a-z-]*)?) "
                      r"(?:has|have|is|are) (?:already )?(?:expired|lapsed|run out|out of date)$")
_BOOK = re.compile(r"^(?:book|reserve|hire|rent)$")
#: "until their membership is approved", "unless its safety certificate has been signed": a yes/no of the subject
_STATE = re.compile(r"^(?:its|their|his|her) (?P<np>[a-z][a-z -]*?) (?:is|are|has been|have been|was|were) "
                    r"(?P<part>[a-z]+ed|[a-z]+en|done|paid)$")
#: "unless they've paid the £25 outing fee", "until they have been vetted": a yes/no of the subject
_DONE = re.compile(r"^(?:they|he|she|it)(?:'ve|'s| have| has) (?:already )?(?:been )?(?P<part>[a-z]+ed|[a-z]+en|done|"
                   r"paid)(?: (?P<np>.+))?$")
#: "until the club secretary approves the design proof": the proof is approved (the one who does it is a person)
_ACTIVE = re.compile(r"^(?:(?:the|an?|its|their|his|her) )?(?P<who>[a-z][a-z -]*?) (?P<verb>[a-z]+s)(?: off)? "
                     r"(?:the|its|their|his|her|a|an) (?P<np>[a-z][a-z -]*)$")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "a": 1, "an": 1}
_N = r"(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
#: "unless two witnesses are recorded", "until at least 3 photos have been uploaded", "until it has two references"
_COUNT = re.compile(rf"^(?:at least |a minimum of )?{_N} (?P<child>[a-z][a-z-]*) (?:is|are|has been|have been|were|"
                    r"was) (?P<part>[a-z]+(?:ed|en))$|^(?:it|they|the [a-z]+) (?:has|have) (?:at least |a minimum of )?"
                    rf"{_N.replace('?P<n>', '?P<n2>')} (?P<child2>[a-z][a-z-]*)(?: [a-z]+(?:ed|en))?$")


_DETERMINERS = {"a", "an", "the", "each", "every", "its", "their", "his", "her", "one", "per", "our", "my", "your"}


def checklist_item_nouns(text: str) -> set[str]:
    """What a checklist's items are called in the words that ask for it (singular): the noun before the checklist
    word ("skills checklist" -> skill) or after it ("a checklist of skills"), the checklist word's own head (a
    checklist holds checks, a task list tasks), and "item", the checklist's own word for its entries."""
    low = " ".join(text.lower().split())
    m = re.search(rf"(?:(?<![a-z-])([a-z][a-z-]*) )?(?<![a-z])(?P<word>{CHECKLIST_NOUN})(?![a-z])"
                  r"(?: of (?:the |their |its )?([a-z][a-z-]*))?", low)
    if not m:
        return set()
    out = {"item"}
    head = re.match(r"(check|task|to-?do)", m.group("word"))
    if head:
        out.add(head.group(1))
    for w in (m.group(1), m.group(3)):
        if w and w not in _DETERMINERS:
            out.add(singular(w))
    return out


def _checklist_for(ctx, subj: str, child_word: str) -> tuple[str, bool] | None:
    """The id of the checklist kept per `subj` whose items the "every <child>" words name, planned by an earlier
    feature or asked for by a later one (the checklist capability's id is its kind and record), and whether those
    words name its items (every new record then starts with them unticked); None when no feature asks for one."""
    from .capmap import cap_id, kinds_for

    d = ctx.draft
    kind = singular(child_word)
    subj_words = set(subj.split("_"))
    planned = {c.get("entity") for c in d.planned.get("checklist", [])}
    for text in d.idea.get("key_features") or []:
        if text == ctx.text or "checklist" not in [k for k, _w in kinds_for(text)]:
            continue
        if kind not in checklist_item_nouns(text):
            continue
        words = {singular(w) for w in re.findall(r"[a-z][a-z-]*", text.lower())}
        if subj in planned or subj_words <= words:
            return cap_id("checklist", {"entity": subj}), bool(named_items(text))
    return None


def _snake(text: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))[:40]


def _entity(d, words: str | None) -> str | None:
    if not words:
        return None
    parts = [singular(w) for w in words.split()]
    for cand in ("_".join(parts), parts[-1]):
        name = safe_name(cand)
        if name in d.entities:
            return name
    return None


def _flag(ctx, ent: str, words: str) -> str:
    """The yes/no field of `ent` the words name ("season subscription paid"), added when the record lacks it."""
    from .capmap import NotFit

    name = _snake(words)
    have = next((f for f in ctx.draft.fields_of(ent, "boolean") if f.name == name or set(name.split("_")) <=
                 set(f.name.split("_"))), None)
    if have is not None:
        return have.name
    f = ctx.draft.add_field(ent, name, "boolean", ctx.text, origin="capability")
    if f is None or f.type != "boolean":
        raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a yes/no field {name.replace('_', ' ')}")
    return f.name


def _required_link(ctx, child: str, parent: str):
    """The required reference of `child` to `parent`, added when the words relate them and it is missing."""
    from .capmap import NotFit

    d = ctx.draft
    link = next((f for f in d.fields_of(child, "reference") if f.ref == parent), None)
    if link is None:
        if not d.add_ref(child, parent, ctx.text, required=True):
            raise NotFit(f"{child.replace('_', ' ')} cannot point at {parent.replace('_', ' ')}")
        link = next(f for f in d.fields_of(child, "reference") if f.ref == parent)
    link.required = True
    return link


def _made_by(ctx, subj: str, verb: str, obj: str | None) -> tuple[str, str, dict]:
    """The record the refused verb makes for the subject: the booked record of a booking verb, else the record the
    noun names; it is linked to the subject (a required reference). A noun that names no record after a booking verb
    ("book a mock test") is one kind of the booked record: only that kind is held back."""
    from .capmap import NotFit

    d = ctx.draft
    made = None
    if _BOOK.match(verb_base(verb) or verb):
        booked = d.planned.get("booking", [])
        if not booked:  # "cannot book that machine" where nothing is booked yet: the machine is no booking
            raise NotFit("the idea books nothing yet, so there is no booking to refuse")
        res = _entity(d, obj)
        made = next((b["entity"] for b in booked if res and b.get("resource") == res), None) or next(
            (b["entity"] for b in booked), None)
    kind = None
    if made is not None and obj and _entity(d, obj) is None:  # "book a mock test": one kind of the booked record
        kind = _snake(obj)
    made = made or _entity(d, obj)
    if made is None or made == subj:
        raise NotFit("the words do not say which record the refused act makes")
    link = _required_link(ctx, made, subj)
    where: dict = {}
    if kind:
        f = next((x for x in d.fields_of(made, "enum") if kind in x.values), None) or d.add_field(
            made, "kind", "enum", ctx.text, origin="capability", values=[made.split("_")[-1], kind])
        if f is None or f.type != "enum":
            raise NotFit(f"the words refuse one kind of {made.replace('_', ' ')} ({obj}), and the record has no "
                         f"room for its kind")
        if kind not in f.values:
            f.values = [*f.values, kind]
        where = {"where_field": f.name, "where_values": [kind]}
    return made, link.name, where


def _expiry(ctx, out: dict, subj: str, m) -> None:
    """ "while the dog's vaccination has expired": none of the owner's items may be past their date; the owner is
    the subject or a record the subject points at (a required reference, added when the words relate them)."""
    from .capmap import NotFit

    d = ctx.draft
    owner = _entity(d, m.group("owner")) if m.group("owner") else subj
    child = _entity(d, m.group("child"))
    if owner is not None and (child is None or child == owner):  # "whose rod licence has expired": its own date
        _own_expiry(ctx, out, subj, owner, m.group("child"))
        return
    if owner is None or child is None:
        raise NotFit("the words do not name the record whose items expire")
    link = next((f for f in d.fields_of(child, "reference") if f.ref == owner), None)
    dates = d.fields_of(child, "date", "datetime")
    date = next((f.name for f in dates if re.search(r"expir|valid|until|due|renew|end", f.name)), None)
    if link is None and date is None or (link is None or date is None) and _own_date(d, owner, m.group("child")):
        # "a crane whose inspection has expired": its own next inspection date, not its inspection records
        _own_expiry(ctx, out, subj, owner, m.group("child"))
        return
    if link is None or date is None:
        raise NotFit(f"the {child.replace('_', ' ')} records have no link to a {owner.replace('_', ' ')} and an "
                     f"expiry date to check")
    link.required = True
    if owner != subj:
        if out["via_field"] is not None:
            raise NotFit("the words check the items of a record the act's record does not point at")
        via = _required_link(ctx, subj, owner)
        out["via_field"] = via.name
    out.update(test="none_expired", test_field=date, child_entity=child, child_link=link.name)


def _own_date(d, owner: str, words: str) -> str | None:
    """The owner's own date the words' head noun names, by which it runs out ("rod licence" -> rod_licence_expiry,
    "annual inspection" -> next_inspection_date), or None."""
    named = {singular(w) for w in _snake(_np_words(words)).split("_")[-1:] if w}  # its head noun
    return next((f.name for f in d.fields_of(owner, "date", "datetime") if named and named <= {
        singular(w) for w in f.name.split("_")} and re.search(r"expir|valid|until|renew|end|next|due", f.name)), None)


def _own_expiry(ctx, out: dict, subj: str, owner: str, words: str) -> None:
    """ "members whose rod licence has expired": the owner's own date the words name (rod_licence_expiry, added when
    missing) must be today or later; the owner is the subject or a record the subject points at."""
    from .capmap import NotFit

    d = ctx.draft
    name = _snake(_np_words(words))
    if not name:
        raise NotFit("the words do not say what has expired")
    date = _own_date(d, owner, words)
    if date is None:
        f = d.add_field(owner, f"{name}_expiry", "date", ctx.text, origin="capability")
        if f is None or f.type not in ("date", "datetime"):
            raise NotFit(f"the {owner.replace('_', ' ')} record has no room for the date its {words} expires")
        date = f.name
    _point_at(ctx, out, subj, owner)
    out.update(test="not_expired", test_field=date)


def _point_at(ctx, out: dict, subj: str, tested: str) -> None:
    """The guarded record reads `tested`: itself, or through a required reference (added when missing)."""
    from .capmap import NotFit

    if tested == out["entity"]:
        return
    if out["via_field"] is not None:
        if ctx.draft.entities[out["entity"]].fields[out["via_field"]].ref == tested:
            return
        if tested != subj:  # a booking of the member reads the member's permit: the booking points at the permit
            out["via_field"] = _required_link(ctx, out["entity"], tested).name
            return
        raise NotFit("the words check a record the act's record does not point at")
    out["via_field"] = _required_link(ctx, out["entity"], tested).name


_AMOUNT = re.compile(r"^(?:[£$€]\s?\d[\d,.]*|\d[\d,.]*(?:p|gbp|usd|eur)?)$")


def _np_words(words: str) -> str:
    """The noun phrase's own words: no determiner, no amount ("the £25 outing fee" -> "outing fee")."""
    out = [w for w in words.split() if w not in _DETERMINERS and not _AMOUNT.match(w)]
    return " ".join(w for w in out if re.fullmatch(r"[a-z][a-z-]*", w))


def _participle(verb: str) -> str:
    """ "approves" -> "approved", "signs" -> "signed" (a regular verb's past participle)."""
    base = verb_base(verb)
    if not base or base == verb:  # "approves" -> "approve", "verifies" -> "verify", "watches" -> "watch"
        base = re.sub(r"ies$", "y", verb) if verb.endswith("ies") else re.sub(r"(?<=ch|sh|ss)es$|(?<=x)es$|s$", "", verb)
    forms = [k for k, v in lx.IRREGULAR_VERBS.items() if v == base and k != base and not k.endswith("s")]
    if forms:  # "pays" -> "paid", "sees" -> "seen"
        return next((f for f in forms if f.endswith("n")), forms[-1])
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    return base + ("d" if base.endswith("e") else "ed")


def _active_state(d, cond: str) -> tuple[str, str] | None:
    """ "the club secretary approves the design proof" -> ("design proof", "approved"): a person acts on a thing."""
    m = _ACTIVE.match(cond)
    if not m:
        return None
    who = safe_name(singular(m.group("who").split()[-1]))
    if who in _DETERMINERS or _entity(d, m.group("np")) and _entity(d, m.group("np")) == _entity(d, m.group("who")):
        return None  # someone acts on a thing (the harbour master, the club secretary): not the thing itself
    return m.group("np"), _participle(m.group("verb"))


def _in_state(ctx, out: dict, subj: str, np: str, part: str) -> bool:
    """ "until its cemetery permit is approved": the record the words name (the subject's permit) must be in that
    state: its workflow's state, or an enum field holding the value (a status added when the record has none).
    False when the words name no other record (the subject's own yes/no then)."""
    from .capmap import NotFit

    d = ctx.draft
    ent = _entity(d, _np_words(np))
    if ent is None or ent in (subj, out["entity"]):
        return False
    value = _snake(part)
    flow = next((w for w in d.planned.get("workflow", []) if w.get("entity") == ent), None)
    if flow is not None and value not in (flow.get("states") or []):
        raise NotFit(f"the {ent.replace('_', ' ')} moves through {flow.get('states')}; none is {part}")
    field = flow["state_field"] if flow is not None else next(
        (f.name for f in d.fields_of(ent, "enum") if value in f.values), None)
    if field is None:
        f = d.add_field(ent, "status", "enum", ctx.text, origin="capability", values=["pending", value])
        if f is None or f.type != "enum":
            raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a status")
        if value not in f.values:
            f.values = [*f.values, value]
        field = f.name
    if flow is not None and out["on"] == "create":
        raise NotFit(f"holding back a new {out['entity'].replace('_', ' ')} until its {ent.replace('_', ' ')} "
                     f"reaches a workflow state is not built yet; a move of its status can be held back")
    _point_at(ctx, out, subj, ent)
    out.update(test="in_state", test_field=field, test_values=[value])
    return True


def states_guard(text: str) -> bool:
    """Does the text state a guard in a shape `b_guard` reads: the act and a condition it can check?"""
    if states_cutoff(text):
        return True
    m = GUARD.match(" ".join(text.lower().replace("\u2019", "'").split()))
    if not m:
        return False
    cond = (m.group("cond") or "").strip()
    if m.group("whose"):
        return not cond
    if m.group("conj") == "while":
        return bool(_EXPIRED.match(cond))
    return bool(m.group("part") and m.group("np") or m.group("lack") or _EVERY.match(cond) or _AGED.match(cond)
                or _COUNT.match(cond) or _STATE.match(cond)
                or m.group("conj") in ("until", "unless") and bool(_DONE.match(cond) or _ACTIVE.match(cond)))


def b_guard(ctx) -> dict:
    from .capmap import NotFit

    d = ctx.draft
    if states_cutoff(ctx.low):  # "entries close 24 hours before a race's liberation time"
        return b_cutoff(ctx)
    m = GUARD.match(ctx.low.strip().replace("\u2019", "'"))
    if not m:
        raise NotFit("the words do not say what is refused and until when (X cannot ... until/without ...)")
    subj = _entity(d, m.group("subj"))
    person = safe_name(singular(m.group("subj").split()[-1]))
    if subj is None and not (m.group("passive") or m.group("goes")) and not _entity(d, m.group("obj")) and not (
            _BOOK.match(verb_base(m.group("verb")) or m.group("verb")) and d.planned.get("booking")):
        raise NotFit("the words do not say which record the refused act makes")  # before keeping the person
    if subj is None and (person in lx.PEOPLE or person in d.roles) and not m.group("passive"):
        # "a singer who has not paid ... cannot book": the person is kept as a record, holding the state
        d.add_entity(person, ctx.text, people=True)
        d.add_field(person, "name", "text", ctx.text, origin="structure", required=True)
        subj = person if person in d.entities else None
    if subj is None:
        raise NotFit("the words do not name the record that is held back")
    out: dict = {"entity": subj, "on": "create", "via_field": None}
    if m.group("passive") or m.group("goes"):
        value = _snake((m.group("passive") or m.group("goes")).split()[-1])
        # "cannot go to print": the state of the record's status that the word names ("printed")
        named = next((f for f in d.fields_of(subj, "enum") if value in f.values), None) or next(
            (f for f in d.fields_of(subj, "enum") if any(v.startswith(value) for v in f.values)), None)
        if named is not None:
            value = value if value in named.values else next(v for v in named.values if v.startswith(value))
        f = named or d.add_field(subj, "status", "enum", ctx.text, origin="capability", values=["open", value])
        if f is None or f.type != "enum":
            raise NotFit(f"the {subj.replace('_', ' ')} record has no room for a status")
        if value not in f.values:
            f.values = [*f.values, value]
        out.update(on="transition", field=f.name, values=[value])
    else:
        made, via, where = _made_by(ctx, subj, m.group("verb"), m.group("obj"))
        out.update(entity=made, via_field=via, **where)
    cond = (m.group("cond") or "").strip()
    expired = _EXPIRED.match(cond) if m.group("conj") == "while" else None
    if m.group("conj") == "while" and not expired:
        raise NotFit("the words refuse the act while something holds that the app cannot check yet")
    state = _STATE.match(cond) if m.group("conj") in ("until", "unless") else None
    active = _active_state(d, cond) if m.group("conj") in ("until", "unless") and not state else None
    done = _DONE.match(cond) if m.group("conj") in ("until", "unless") and not (_AGED.match(cond) or _COUNT.match(
        cond)) else None  # "until it has matured for 90 days" counts days, "until it has two references" records
    if m.group("whose"):  # "members whose rod licence has expired cannot book"
        if cond:
            raise NotFit("the words give two conditions; the app checks one")
        _expiry(ctx, out, subj, _EXPIRED.match(f"{m.group('whose')} has expired"))
    elif expired:
        _expiry(ctx, out, subj, expired)
    elif (state or active) and _in_state(ctx, out, subj, *((state.group("np"), state.group("part")) if state
                                                            else active)):
        pass  # "until its cemetery permit is approved": the permit's state
    elif active:  # "until the secretary approves the design": a yes/no of the subject, set by staff
        out.update(test="is_true", test_field=_flag(ctx, subj, f"{_np_words(active[0])} {active[1]}"))
    elif done:  # "unless they've paid the £25 outing fee": a yes/no of the subject, the amount is the fee's
        words = _np_words(done.group("np") or "")
        out.update(test="is_true", test_field=_flag(ctx, subj, f"{words} {done.group('part')}".strip()))
        amount = next((w for w in (done.group("np") or "").split() if _AMOUNT.match(w) and not w.isdigit()), None)
        f = d.entities[subj].fields.get(out["test_field"])
        if amount and f is not None and f.label is None:  # the amount is the fee's: staff see it as they tick it
            f.label = f"{(words or 'fee').capitalize()} {done.group('part')} ({amount})"
    elif m.group("part") and m.group("np"):  # "who has not paid the season subscription"
        out.update(test="is_true", test_field=_flag(ctx, subj, f"{m.group('np')} {m.group('part')}"))
    elif m.group("lack"):  # "without laser training"
        out.update(test="is_true", test_field=_flag(ctx, subj, m.group("lack")))
    elif (state := _STATE.match(cond)) and m.group("conj") in ("until", "unless"):
        # "a member cannot book a court until their membership is approved": a yes/no of the subject
        out.update(test="is_true", test_field=_flag(ctx, subj, f"{state.group('np')} {state.group('part')}"))
    elif (every := _EVERY.match(cond)) and (ck := _checklist_for(ctx, subj, every.group("child"))):
        # "until every skill is ticked" with a skills checklist per pupil: the checklist's own items
        if out["via_field"] is None and out["on"] == "create":
            raise NotFit("a checklist condition needs the record it belongs to")
        if out["on"] == "create" and not out.get("where_field") and ck[1]:
            raise NotFit(f"holding back every {out['entity'].replace('_', ' ')} until a new "
                         f"{subj.replace('_', ' ')}'s named checklist items are ticked is not built yet; only one "
                         f"kind of {out['entity'].replace('_', ' ')} can be held back by a checklist that names "
                         f"its items")
        out.update(test="checklist_done", checklist=ck[0])
    elif (every := _EVERY.match(cond)):
        child = _entity(d, every.group("child"))
        if child is None:
            raise NotFit(f"the {every.group('child')} the words list are not records of the idea")
        link = next((f for f in d.fields_of(child, "reference") if f.ref == subj), None)
        if link is None:
            raise NotFit(f"the {child.replace('_', ' ')} records do not belong to a {subj.replace('_', ' ')}")
        link.required = True
        out.update(test="all_checked", test_field=_flag(ctx, child, every.group("part")), child_entity=child,
                   child_link=link.name)
        if out["via_field"] is None:
            raise NotFit("a checklist condition needs the record it belongs to")
    elif (counted := _COUNT.match(cond)):
        n = counted.group("n") or counted.group("n2") or ""
        n = int(n) if n.isdigit() else _NUMBER_WORDS.get(n, 0)
        if out["on"] != "transition":
            raise NotFit("holding back a new record until it has a number of others is not built yet; a move to a "
                         "status can be held back")
        if not 1 <= n <= 1000:
            raise NotFit("the number stated is outside 1 to 1000")
        word = counted.group("child") or counted.group("child2")
        child = _entity(d, word)
        if child is None:
            child = safe_name(singular(word))
            d.add_entity(child, ctx.text, people=singular(word) in lx.PEOPLE)
            d.add_field(child, "name", "text", ctx.text, origin="structure", required=True)
        if child == subj:
            raise NotFit("the words count the record itself")
        link = _required_link(ctx, child, subj)
        out.update(test="count_at_least", count=n, child_entity=child, child_link=link.name)
    elif (aged := _AGED.match(cond)):
        n = int(aged.group("n")) * (7 if aged.group("unit").startswith("week") else 1)
        if not 1 <= n <= 3650:
            raise NotFit("the days stated are outside 1 to 3650")
        dates = d.fields_of(subj, "date", "datetime")
        date = next((f.name for f in dates if re.search(r"made|make|start|born|brew|bottl|cast|laid|plant|sown|"
                                                        r"date$", f.name)), None) or (dates[0].name if dates else None)
        if date is None:
            f = d.add_field(subj, f"{_snake(aged.group('part'))}_from", "date", ctx.text, origin="capability")
            date = f.name if f is not None else None
        if date is None:
            raise NotFit(f"the {subj.replace('_', ' ')} record has no date to count the days from")
        if out["via_field"] is not None:
            raise NotFit("the days are counted on the record itself, not on the one it points at")
        out.update(test="days_since", test_field=date, days=n)
    else:
        raise NotFit("the words do not say the condition in a form the app can check (a yes/no field of the "
                     "record, every item of its checklist ticked, or days passed since its date)")
    return out


# ------------------------------------------------------------------ cut-offs before a time

_SPAN_N = r"(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten|a|an)"
_SPAN = rf"{_SPAN_N} (?P<unit>hours?|days?|weeks?)"
#: a noun phrase of up to four words after "before"/"of": "a race's liberation time", "the class starts",
#: "each thursday roast", "its delivery date", "delivery"
_WHEN = r"(?P<when>(?:(?:a|an|the|each|every|its|their) )?[a-z][a-z'’-]*(?: [a-z][a-z'’-]*){0,3})"
#: "Entries close 24 hours before a race's liberation time", "Bookings can be cancelled up to 4 hours before the
#: sitting", "Customers can cancel free of charge until 12 hours before the valet", "Requests must be made at least
#: 2 days before the lesson", "No cancellations of a booking within 24 hours of the class"
CUTOFF = re.compile(
    r"^\s*(?:(?:an?|the|any|each|every|all) )?(?P<subj>[a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    r"(?: (?P<close>close|closes|shut|shuts|end|ends|stop|stops)"
    r"| (?:can|may) (?:only )?(?P<be>be )?(?P<act>[a-z]+)(?: (?:free of charge|for free|without (?:a )?(?:charge|fee)|"
    r"at no (?:cost|charge)|online))? (?:until|up to|no later than|as late as)"
    r"| (?:must|has to|have to|need to|needs to) be (?P<made>[a-z]+) (?:at least|no later than|no less than|"
    r"a minimum of))"
    rf" {_SPAN} (?:before|ahead of|prior to) {_WHEN}(?: (?:for|with|and) [^.;]*)?\s*[.;]?\s*$"
    r"|^\s*no (?:new )?(?P<nouns>[a-z][a-z-]*)(?: (?:of|to|for) (?:(?:a|an|the|any) )?(?P<of>[a-z][a-z-]*))?"
    r"(?: (?:are|is) (?:allowed|accepted|taken))? (?:within|in the(?: last| final)?) "
    rf"{_SPAN.replace('?P<n>', '?P<n2>').replace('?P<unit>', '?P<unit2>')} (?:of|before) "
    rf"{_WHEN.replace('?P<when>', '?P<when2>')}"
    r"\s*[.;]?\s*$")
CUTOFF_CUE = "(?:" + CUTOFF.pattern.replace(r"^\s*", "").replace(r"\s*[.;]?\s*$", "") + ")"
#: the participle of a verb that makes the record ("made", "placed", "booked"): a create, not a move to a status
_MAKING = {"make", "made", "place", "submit", "add", "create", "book", "enter", "register", "request", "order", "lodge",
           "file", "reserve", "put", "take", "send", "post"}
_NOUN_ACTS = {"cancellation": "cancel", "withdrawal": "withdraw", "refund": "refund", "entry": "enter",
              "booking": "book", "order": "order", "request": "request", "change": "change", "amendment": "change",
              "edit": "change", "swap": "change", "transfer": "transfer"}
_CHANGING = {"change", "amend", "edit", "modify", "alter", "update", "move", "reschedule", "swap"}


def states_cutoff(text: str) -> bool:
    return bool(CUTOFF.match(" ".join(text.lower().split())))


def _move_participle(verb: str) -> str:
    """The state a move names: cancel -> cancelled, withdraw -> withdrawn, refund -> refunded."""
    from .lexicon import IRREGULAR_VERBS

    if verb.endswith(("ed", "en")) or verb in IRREGULAR_VERBS:
        return verb
    irregular = {v: k for k, v in IRREGULAR_VERBS.items() if k.endswith(("n", "d", "t"))}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou][aeiou]l$", verb):  # cancel -> cancelled (British)
        return verb + "led"
    return verb + "ed"


def _time_field(ctx, ent: str, words: list[str], starts: bool) -> str:
    """The date/datetime field of `ent` the words name ("liberation time", "delivery date"), added when missing: a
    word ending in date or day makes a date, else a datetime; no words: its own start (an existing date/datetime
    field whose name says when it happens, else starts_at)."""
    from .capmap import NotFit

    d = ctx.draft
    dates = d.fields_of(ent, "date", "datetime")
    if words:
        name = _snake(" ".join(words))
        have = next((f for f in dates if f.name == name or set(name.split("_")) <= set(f.name.split("_"))), None) \
            or next((f for f in dates if f.name.startswith(name.split("_")[0] + "_")), None)
        if have is None and not name.endswith(("date", "day", "time", "at")):
            name = f"{name}_at"
        ftype = "date" if name.endswith(("date", "day")) else "datetime"
    else:
        have = next((f for f in dates if f.type == "datetime" and re.search(r"start|begin|depart|_at$|time", f.name)),
                    None) or next((f for f in dates if re.search(r"start|begin|depart|date|day|time", f.name)), None)
        name, ftype = "starts_at", "datetime"
    if have is not None:
        return have.name
    f = d.add_field(ent, name, ftype, ctx.text, origin="capability")
    if f is None or f.type not in ("date", "datetime"):
        raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a time {name.replace('_', ' ')}")
    return f.name


def _when_record(ctx, when: str, subj: str | None) -> tuple[str | None, list[str], bool]:
    """What "before <when>" names: (the record whose time it is, the words naming its time field, whether the words
    say it starts). "a race's liberation time": the race and "liberation time"; "the class starts": the class, its
    start; "its delivery date": the subject itself; "each roast": the roast; "delivery": the subject's own time."""
    d = ctx.draft
    words = when.split()
    det = words[0] if words[0] in ("a", "an", "the", "each", "every", "its", "their") else None
    if det:
        words = words[1:]
    starts = bool(words) and re.fullmatch(r"(?:start|begin|open|depart|leave|arrive)s?", words[-1]) is not None
    if starts:
        words = words[:-1]
    if det in ("its", "their"):
        return subj, words, starts
    if words and re.search(r"['’]s$|s['’]$", words[0]):  # "a race's liberation time": the race is a record
        owner = re.sub(r"['’]s?$", "", words[0])
        ent = _entity(d, owner)
        if ent is None:
            name = safe_name(singular(owner))
            try:
                d.add_entity(name, ctx.text, people=singular(owner) in lx.PEOPLE)
            except ValueError:
                return None, words[1:], starts
            d.add_field(name, "name", "text", ctx.text, origin="structure", required=True)
            ent = name if name in d.entities else None
        return ent, words[1:], starts
    for k in range(len(words), 0, -1):  # "each thursday roast": the record the longest tail names
        for i in range(0, len(words) - k + 1):
            ent = _entity(d, " ".join(words[i:i + k]))
            if ent is not None:
                return ent, words[i + k:], starts
    if det in (None,) or subj is not None:  # "before delivery", "before the deadline": the subject's own time
        return subj, words, starts
    return None, words, starts


def _status(ctx, ent: str, value: str) -> tuple[str, str]:
    """The enum field of `ent` holding the state `value` ("cancelled"), added with it when missing."""
    from .capmap import NotFit

    d = ctx.draft
    named = next((f for f in d.fields_of(ent, "enum") if value in f.values), None) or next(
        (f for f in d.fields_of(ent, "enum") if any(v.startswith(value[:5]) for v in f.values)), None)
    if named is not None and value not in named.values:
        value = next(v for v in named.values if v.startswith(value[:5]))
    f = named or next((x for x in d.fields_of(ent, "enum") if x.name == "status"), None) or d.add_field(
        ent, "status", "enum", ctx.text, origin="capability", values=["open", value])
    if f is None or f.type != "enum":
        raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a status")
    if value not in f.values:
        f.values = [*f.values, value]
    return f.name, value


def b_cutoff(ctx) -> dict:
    """ "Entries close 24 hours before a race's liberation time": the act (adding an entry, moving a booking to
    cancelled) is refused once now is later than the time less the span."""
    from .capmap import NotFit

    d = ctx.draft
    m = CUTOFF.match(ctx.low.strip())
    if not m:
        raise NotFit("the words do not say what closes and how long before which time")
    n = m.group("n") or m.group("n2")
    n = int(n) if n.isdigit() else _NUMBER_WORDS.get(n, 0)
    hours = n * {"h": 1, "d": 24, "w": 168}[(m.group("unit") or m.group("unit2"))[0]]
    when = m.group("when") or m.group("when2")
    if not 1 <= hours <= 24 * 366:
        raise NotFit("the cut-off stated is outside an hour to a year")
    if m.group("nouns"):  # "no cancellations of a booking within 24 hours of the class"
        noun = singular(m.group("nouns"))
        verb = _NOUN_ACTS.get(noun)
        subj = _entity(d, m.group("of")) if m.group("of") else None
        if verb is None and m.group("of") is None:  # "no bookings within 2 days of the class": new ones
            subj, verb = _entity(d, m.group("nouns")), "make"
        if verb is None or subj is None:
            raise NotFit("the words do not say which record the cut-off holds back")
        passive, person = True, False
    else:
        subj_words = m.group("subj")
        subj = _entity(d, subj_words)
        person = safe_name(singular(subj_words.split()[-1]))
        person = subj is None and (person in lx.PEOPLE or person in d.roles) or (
            subj is not None and d.entities[subj].people)
        verb = "make" if m.group("close") or m.group("made") else m.group("act")
        passive = bool(m.group("close") or m.group("made") or m.group("be"))
        if m.group("made"):
            verb = m.group("made")
    from .lexicon import IRREGULAR_VERBS

    base = IRREGULAR_VERBS.get(verb) or verb_base(verb) or verb
    if base in _CHANGING:
        raise NotFit("refusing every change of a record near its time is not built yet; adding it or moving its "
                     "status can be refused")
    # the subject's own time ("before its delivery date") only when the subject is what is held back; an actor
    # ("groups can cancel ... before the start") needs a record named
    when_ent, field_words, starts = _when_record(ctx, when, subj if passive and not person else None)
    if passive and not person:
        guarded = subj
    else:  # "customers can cancel up to 12 hours before the valet": the valet is what they cancel
        if base in _MAKING:
            raise NotFit("the words say who makes the record but not which record it is")
        guarded = when_ent
    if guarded is None or when_ent is None:
        raise NotFit("the words do not name the record held back and the record whose time closes it")
    out: dict = {"entity": guarded, "on": "create", "via_field": None, "test": "before_cutoff", "hours": hours}
    if base not in _MAKING and not m.group("close"):
        field, value = _status(ctx, guarded, _move_participle(base))
        out.update(on="transition", field=field, values=[value])
    if when_ent != guarded:
        out["via_field"] = _required_link(ctx, guarded, when_ent).name
    out["test_field"] = _time_field(ctx, when_ent, field_words, starts)
    return out
