"""Planner builders for the record and flow kinds: records, booking, workflow, ledger, custody, rotation and
payments (wired into `capmap.BUILDERS`)."""

from __future__ import annotations

import re

from . import lexicon as lx
from .b_common import (
    _CHECKOUT_NOUNS,
    DEnt0,
    FeatureCtx,
    NotFit,
    _days,
    _ensure,
    _field_named,
    _main,
    _people_entity,
    _src,
    label_of,
)
from .draft import DRole, clip, ident, interpret, is_event, safe_name
from .text import parse, plural, singular, state_sequences, verb_base

#: Nouns that name a booking itself (not what is booked), whatever the domain.
BOOKING_NOUNS = frozenset({"booking", "reservation", "appointment", "slot", "rental", "hire"})


def b_records(ctx: FeatureCtx) -> dict:
    listed = [safe_name(it.name) for it in ctx.interps if it.np and it.np.head is not None
              and it.np.head.tag == "container" and it.kind != "container" and safe_name(it.name) in ctx.draft.entities]
    ent = listed[0] if listed else _main(ctx)  # "Tenant directory with lease dates": the tenants
    d = ctx.draft
    named = [f.name for f in d.fields_of(ent) if f.source == _src(ctx) or
             (f.origin != "catalogue" and all(p in ctx.words for p in f.name.split("_")))]
    filters = [n for n in named if d.entities[ent].fields[n].type in ("enum", "reference", "boolean", "date")]
    out = {"entity": ent, "fields": named, "filters": filters}
    bounds = _money_range(ctx.low)
    if bounds and d.entities[ent].people:  # "members buy shares from £100 ...": the shares, each a member's
        m = re.match(r"\s*(?:each |every |the )?([a-z]+) ([a-z]+) (?:a |an |the |their |his |her |its )?([a-z]+)\b",
                     ctx.low)
        obj = safe_name(singular(m.group(3))) if m and safe_name(singular(m.group(1))) == ent else None
        if obj and obj not in d.entities and m.group(3) not in lx.NEVER_NOUNS and singular(m.group(3)) not in \
                lx.VAGUE_NOUNS and singular(m.group(3)) not in lx.ATTRIBUTE_TYPES \
                and not re.match(r"[£$€\d]", m.group(3)):
            d.add_entity(obj, ctx.text)
            d.add_ref(obj, ent, ctx.text)
        if obj in d.entities and not d.entities[obj].people:
            ent = obj
            out.update({"entity": ent, "fields": [], "filters": []})
    if bounds and not d.entities[ent].people:  # "shares from £100 up to a maximum of £20,000": the amount's range
        field = next((f for f in d.fields_of(ent, "money")), None)
        name = field.name if field is not None else "amount"
        if field is None:
            field = d.add_field(ent, name, "money", ctx.text, origin="capability", required=True)
        if field is not None and field.type == "money":
            field.min = bounds[0] if bounds[0] is not None else (field.min if field.min is not None else 0)
            field.max = bounds[1] if bounds[1] is not None else field.max
            out["bounds"] = {name: [field.min if bounds[0] is not None else None, bounds[1]]}
            out["fields"] = list(dict.fromkeys([*named, name]))
    return out


_MONEY = r"[£$€]\s?(\d[\d,]*(?:\.\d+)?)"


def _money_range(low: str) -> tuple[float | None, float | None] | None:
    """The range a feature states for a sum of money: "from £100 up to (a maximum of) £20,000", "between £5 and
    £500", "a (spending) cap / limit / maximum of £25", "at least / a minimum of £20"."""
    m = money_range_match(low)
    return (m[0], m[1]) if m else None


def money_range_match(low: str) -> tuple[float | None, float | None, int, int] | None:
    """(least, most, start, end of the words that state it) or None; see `_money_range`."""
    def num(s: str) -> float:
        return float(s.replace(",", ""))

    m = re.search(rf"\b(?:from|between)\s+{_MONEY}\s+(?:up\s+)?(?:to|and)\s+(?:a\s+)?(?:maximum\s+of\s+)?{_MONEY}", low)
    if m:
        return num(m.group(1)), num(m.group(2)), m.start(), m.end()
    m = re.search(rf"\b(?:(?:spending|price)\s+)?(?:cap|limit|maximum|max|ceiling)\s+of\s+{_MONEY}", low)
    if m:
        return None, num(m.group(1)), m.start(), m.end()
    m = re.search(rf"\b(?:at\s+least|a\s+minimum\s+of|minimum\s+of|no\s+less\s+than)\s+{_MONEY}", low)
    if m:
        return num(m.group(1)), None, m.start(), m.end()
    return None


def b_booking(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    booked: str | None = None
    resource: str | None = None
    for it in ctx.interps:
        if it.np and it.np.after_verb in ("book", "reserve", "schedule", "rent", "hire") and it.np.prep is None:
            if it.kind == "attr":  # "book rental dates": the modifier is the event
                ev = next((m.s for m in it.mods if m.tag == "noun"), None)
                if ev:
                    booked = safe_name(ev)
                    if booked not in d.entities:
                        d.add_entity(booked, ctx.text)
                continue
            booked = safe_name(it.name)
            mods = [safe_name(m.s) for m in it.mods if safe_name(m.s) in d.entities]
            if mods and is_event(booked, it.head):  # "kiln firings": the kiln; not "studio rooms" (rooms are booked)
                resource = mods[-1]
            break
    event = next((it for it in ctx.interps if it.np and it.np.prep == "for" and it.kind == "thing"
                  and it.np.after_verb in ("book", "reserve", "schedule", "rent", "hire")
                  and safe_name(it.name) != booked), None)
    if booked is not None and resource is None and event is not None and not d.entities.get(booked, DEnt0).people:
        if is_event(booked):  # "book lessons for a tutor": the lessons are booked, the tutor's time is the resource
            resource = safe_name(event.name)
            if resource not in d.entities:
                d.add_entity(resource, ctx.text)
        else:
            resource, booked = booked, safe_name(event.name)  # "book a kiln for a firing": the firing is booked
        if booked not in d.entities:
            d.add_entity(booked, ctx.text)
    if booked is None and d.planned.get("booking"):  # "daily schedule view": the booking planned already
        return dict(d.planned["booking"][0])
    if booked is None:
        booked = _main(ctx, prefer_things=True)
    if booked not in d.entities:
        d.add_entity(booked, ctx.text)
    # "firings", "bookings": a verb's -ing is an event; "mooring", "building", "clothing" are things
    event_like = is_event(booked) or (booked.endswith("ing") and verb_base(booked) is not None) or resource is not None
    if not event_like:
        resource = booked
        # "reserve a boat ... export reservations": the idea already names its bookings; else make the record
        named = next((e for e in ctx.mentioned + list(d.entities) if e in BOOKING_NOUNS and e != resource
                      and e in d.entities and not d.entities[e].people and not d.entities[e].join), None)
        booked = named or safe_name(f"{resource}_booking")
        if booked not in d.entities:
            d.add_entity(booked, ctx.text)
    if resource is None:
        bookers = {safe_name(p) for c in parse(ctx.text) for p in c.subject_people}
        refs = [r for r in d.refs(booked) if not d.entities[r].join]
        named = [m for m in ctx.mentioned if m != booked]
        others = [e.name for e in d.entities.values() if e.name != booked and not e.join
                  and booked not in d.refs(e.name)]
        ranked = ([r for r in refs if not d.entities[r].people] + [m for m in named if not d.entities[m].people]
                  + [r for r in refs if r not in bookers] + [m for m in named if m not in bookers]
                  + [o for o in others if not d.entities[o].people]
                  + [o for o in others if o not in bookers and o in d.roles])
        resource = ranked[0] if ranked else None
        if resource is None:  # "members book classes": the class itself is what is booked
            resource = booked
            booked = safe_name(f"{resource}_booking")
            d.add_entity(booked, ctx.text)
    if resource is None or resource == booked:
        raise NotFit("booking needs something to book (a room, a kiln, a person's time) and the idea does not "
                     "name one")
    back = d.entities[resource].fields.get(f"{booked}_id")
    if back is not None and back.type == "reference" and back.origin == "words" \
            and f"{resource}_id" not in d.entities[booked].fields:
        # "book a numbered peg for a day's fishing" read as the peg's link to a fishing: the fishing holds the peg
        del d.entities[resource].fields[f"{booked}_id"]
    if not d.add_ref(booked, resource, ctx.text, required=True) and f"{resource}_id" not in d.entities[booked].fields:
        raise NotFit(f"{label_of(resource)} already points at {label_of(booked)}, so it cannot also be booked by it")
    d.entities[booked].fields[f"{resource}_id"].required = True
    _fold_booking_nouns(d, booked)
    start = _ensure(ctx, booked, "start_at", "datetime", required=True)
    end = _ensure(ctx, booked, "end_at", "datetime", required=True)
    for name in (start, end):  # "book a kiln for a firing with start time": the founder's start is the booking's
        d.entities[booked].fields[name].required = True
    return {"entity": booked, "resource": resource, "resource_field": f"{resource}_id", "start_field": start,
            "end_field": end, **_booking_length(ctx.text)}


def _booking_length(text: str) -> dict:
    """The length a booking feature states for one booking: {"slot_minutes": 90} for "book 90-minute slots", "hour-long
    lessons", "book a court for 45 minutes", "a slot lasts 30 minutes"; {"max_minutes": 180} for "for up to 3 hours";
    {} when it states none (or one outside 5 minutes to a day)."""
    from .reading import duration_minutes, rules_of

    for rule in rules_of(text, "duration"):
        minutes, at_most = duration_minutes(rule)
        if minutes is not None and 5 <= minutes <= 1440:
            return {"max_minutes" if at_most else "slot_minutes": minutes}
    return {}


def _fold_booking_nouns(d, booked: str) -> None:
    """ "Members book a rink for a session ... export the month's bookings": "bookings" names the booked record
    (the sessions) whatever the idea calls it; a bare record named by a booking noun, with nothing of its own (no
    attribute in the founder's words, no link, no feature defining it), is that record, not a second one."""
    if booked in BOOKING_NOUNS:
        return
    defined = set(d.defined.values())
    for name in [n for n in d.entities if n in BOOKING_NOUNS and n != booked]:
        e = d.entities[name]
        if e.people or e.join or name in defined:
            continue
        same = set(d.refs(booked))
        if any(f.type != "reference" and f.origin == "words" for f in e.fields.values()) or any(
                f.type == "reference" and f.ref not in same for f in e.fields.values()):
            continue  # a record of its own: something it holds, or a link the booked record does not have
        for other in d.entities.values():  # "each catch is logged against a booking": against the booked record
            old = other.fields.get(f"{name}_id")
            if old is not None and old.type == "reference" and other.name != booked:
                del other.fields[f"{name}_id"]
                d.add_ref(other.name, booked, old.source, required=old.required)
        del d.entities[name]


def state_steps(text: str) -> list[list[str]]:
    """ "from received to in calibration to passed or failed to returned" -> [[received], [in_calibration], [passed,
    failed], [returned]]: the steps of a chain whose step offers a choice ("or"); [] for a plain chain (read by
    `_state_values`) or no chain."""
    m = re.search(r"\bfrom\s+([a-z][a-z \-/]*?)\s*(?:[.;,(]|$|\b(?:by|when|once|after|before|within|if|unless|"
                  r"until|and then|with)\b)", text.lower())
    if not m:
        return []
    parts = re.split(r"\s+(?:to|then|->|→)\s+", m.group(1).strip())
    steps = [[ident(a.strip())[:30] for a in re.split(r"\s*(?:\bor\b|/)\s*", p) if a.strip()] for p in parts]
    if len(steps) < 2 or not any(len(x) > 1 for x in steps) or any(not x for x in steps):
        return []
    flat = [v for x in steps for v in x]
    if len(flat) != len(set(flat)) or len(flat) > 8 or any(len(v.split("_")) > 3 or not v for v in flat):
        return []
    return steps


def _state_values(ctx: FeatureCtx) -> list[str]:
    """Named states in the feature or the description: "(draft, submitted, approved)", "from A to B"."""
    for text in (ctx.text, str(ctx.draft.idea.get("description") or "")):
        low = text.lower()
        m = re.search(r"\(([a-z][a-z \-]*(?:\s*(?:,|/|->|→|or|and)\s*[a-z][a-z \-]*){1,7})\)", low)
        if not m:
            m = re.search(r"(?:status|stage|state)s?\s*(?:is|are|:|of|as|from)\s*([a-z][a-z \-]*(?:\s*(?:,|/|->|→|"
                          r"or|and|to)\s*[a-z][a-z \-]*){1,7})", low)
        seq = state_sequences(text) if not m else []
        if seq:  # "go from A to B to C", "move through A, B and C", "A then B then C": the states in order
            vals = [v for v in dict.fromkeys(ident(s)[:30] for s in seq[0][2]) if v]
            if 2 <= len(vals) <= 8:
                return vals
        if not m:  # "from received to in progress to quality checked to sent": a state may be a few words
            more = r"(?: (?!(?:to|then|by|when|once|after|before|within|if|and|or)\b)[a-z][a-z\-]*){0,2}"
            m = re.search(rf"\bfrom\s+([a-z][a-z\-]*{more}(?:\s+to\s+[a-z][a-z\-]*{more}){{1,7}})", low)
        if m:
            parts = re.split(r"\s*(?:,|/|->|→|\bor\b|\band\b|\bto\b)\s*", m.group(1))
            vals = [ident(p.strip())[:30] for p in parts if p.strip() and len(p.split()) <= 3]
            vals = [v for v in dict.fromkeys(vals) if v and v not in ("the", "a", "an")]
            if 2 <= len(vals) <= 8:
                return vals
    return []


def _approvers(ctx: FeatureCtx, states: list[str] = ()) -> list[str]:
    """Who approves or moves the records: the people the sentence names who do not ask, else staff, else the owner.
    A person word inside a state's name ("from draft to client approved") names a state, not who moves it."""
    d = ctx.draft
    askers = {safe_name(p) for c in parse(ctx.text) for p in c.subject_people
              if set(c.verbs) & {"submit", "request", "create", "add", "upload", "book", "send", "apply", "post"}}
    in_states = {w for s in states for w in s.split("_")}
    named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles and safe_name(p) not in askers
             and safe_name(p) not in in_states and singular(p) not in in_states]
    staff = [r.name for r in d.roles.values() if r.kind == "staff"]
    return named or staff or ["owner"]


MAKING_VERBS = frozenset({"add", "log", "create", "record", "submit", "post", "book", "place", "order", "request",
                          "enter", "upload", "write", "make", "raise", "file", "list", "send", "track", "report"})


def _makers_of(d, ent: str) -> set[str]:
    """The people the idea says make records of `ent` ("members add tasks", "kids log chores")."""
    out: set[str] = set()
    for text in d.idea.get("key_features") or []:
        for c in parse(str(text)):
            if not c.subject_people or not {verb_base(v) or v for v in c.verbs} & MAKING_VERBS:
                continue
            if any(np.words and np.after_verb and safe_name(singular(np.words[-1].s)) == ent for np in c.nps):
                out |= {safe_name(p) for p in c.subject_people}
    return out


def _moving_subject(ctx: FeatureCtx) -> str | None:
    """ "Cases go from received to sent", "catches by trainees go from pending to approved": the record whose
    status moves is the sentence's subject (the noun phrase before any verb), when the idea keeps it."""
    if not re.search(r"\bfrom [a-z][a-z -]* to [a-z]", ctx.low):
        return None
    for c in parse(ctx.text):
        for np in c.nps:
            if np.prep is None and np.after_verb is None:
                name = safe_name(np.words[-1].s) if np.words else ""
                whole = safe_name("_".join(w.s for w in np.words))
                for n in (whole, name):
                    if n in ctx.draft.entities and not ctx.draft.entities[n].people:
                        return n
                return None
    return None


def _by_people(ctx: FeatureCtx) -> tuple[list[str], list[str]]:
    """([who makes the records], [who approves]) from "catches by trainees ... approved by their trainer": people
    after "by" on the subject make the records; people after "by" on the approving verb approve them. Each becomes
    a role of the app (the approver staff, the maker a participant)."""
    d = ctx.draft
    makers, approvers = [], []
    for c in parse(ctx.text):
        for np in c.nps:
            if np.prep != "by" or not np.words:
                continue
            who = safe_name(np.words[-1].s)
            if who in d.entities and not d.entities[who].people or who in ("owner", "user", "everyone"):
                continue
            # a person word, or an agent noun ("trainee", "recorder", "assessor", "dentist")
            is_people = np.words[-1].tag == "people" or np.words[-1].s.endswith(("ee", "er", "or", "ist"))
            if not is_people and who not in d.roles:
                continue
            if np.after_verb is None:
                makers.append(who)
            elif np.after_verb in ("approve", "sign", "check", "verify", "confirm", "accept", "review", "reject"):
                approvers.append(who)
    for who in makers:
        d.roles.setdefault(who, DRole(who, clip(ctx.text), "participant"))
    for who in approvers:
        d.roles.setdefault(who, DRole(who, clip(ctx.text), "staff"))
    return makers, approvers


def b_workflow(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _moving_subject(ctx) or _main(ctx, prefer_things=True)
    if d.entities[ent].people and len(d.entities) > 1:
        others = [m for m in ctx.mentioned if not d.entities[m].people]
        ent = others[0] if others else ent
    _makers, by_approvers = _by_people(ctx)
    approval = ctx.has(r"approv\w*|sign(s|ed)?[- ]off|request\w*|reject\w*|submit\w*")
    existing = next((f for f in d.fields_of(ent, "enum") if f.name.split("_")[-1] in ("status", "stage", "state",
                                                                                    "phase", "result")), None)
    steps = state_steps(ctx.text)
    values = [v for step in steps for v in step] if steps else _state_values(ctx)
    if not values:
        if approval:
            values = ["submitted", "approved", "rejected"]
        elif existing is not None:
            values = list(existing.values)
        elif ctx.has(r"review queue|queue|flagged|triage"):
            values = ["pending", "reviewed", "dismissed"]
        else:
            values = list(lx.ENUM_DEFAULTS["status"])
    fname = existing.name if existing is not None else "status"
    f = d.add_field(ent, fname, "enum", ctx.text, origin="capability", values=values)
    if f is None or f.type != "enum":
        raise NotFit(f"the {label_of(ent)} record has no room for a status field")
    if set(values) - set(f.values):
        f.values = list(dict.fromkeys(values + [v for v in f.values if v not in values]))
    states = list(f.values)
    f.default = states[0]
    approvers = by_approvers or _approvers(ctx, states)
    for a in approvers:  # who approves (or, as staff, moves) records works on everyone's, not only their own
        if a in d.roles and d.roles[a].kind != "staff" and (approval or a in lx.STAFF_PEOPLE | lx.OVERSIGHT_PEOPLE):
            d.roles[a].kind = "staff"
    makers = _makers_of(d, ent)
    # unnamed movers: the owner and staff, and the people who make the records themselves ("members add tasks");
    # a customer the records are about (a will's client, a lease's tenant) does not move them through the process
    writers = ["owner"] + [r.name for r in d.roles.values() if r.kind == "staff" or (
        r.kind == "participant" and r.name in makers)]
    submitters = ["owner"] + [r.name for r in d.roles.values() if r.kind in ("staff", "participant")]
    movers = [a for a in approvers if a != "owner"]
    transitions = []
    if steps and {v for step in steps for v in step} <= set(states):
        # "from received to in calibration to passed or failed to returned": each state of a step moves to each of
        # the next step's, so passed and failed both lead to returned and neither to the other
        roles = approvers if approval or movers else list(dict.fromkeys(writers))
        for here, there in zip(steps, steps[1:], strict=False):
            for b in there:
                transitions.append({"name": ident(f"to_{b}")[:40], "from_states": list(here), "to": b,
                                    "roles": roles})
    elif approval and {"approved", "rejected"} <= set(states):
        first = states[0]
        transitions.append({"name": "approve", "from_states": [first], "to": "approved", "roles": approvers})
        transitions.append({"name": "reject", "from_states": [first], "to": "rejected", "roles": approvers})
        transitions.append({"name": "resubmit", "from_states": ["rejected"], "to": first,
                            "roles": list(dict.fromkeys(submitters))})  # whoever submits (their own, if scope own)
    else:
        # "coordinators move incidents from A to B": those named move them; otherwise whoever writes
        roles = approvers if approval or movers else list(dict.fromkeys(writers))
        for a, b in zip(states, states[1:], strict=False):
            transitions.append({"name": ident(f"to_{b}")[:40], "from_states": [a], "to": b, "roles": roles})
    own = _own_approver(ctx, ent)
    if own is not None:  # "only a trainee's own supervisor signs off": that one person, not every supervisor
        role, link, only = own
        for t in transitions:
            if t["name"] != "resubmit" and (role in t["roles"] or t["roles"] == approvers):
                t["roles"] = [role] + (["owner"] if not only else [])
                t["mover_link"] = link
    return {"entity": ent, "state_field": f.name, "states": states, "initial": states[0],
            "transitions": transitions}


#: Who approves as the one person linked to the record: "(only) a trainee's own supervisor", "their own mentor must
#: sign off", "only the tutor of the class", "approved by their own GP", "a parent approves their own child's trip"
#: (the approver: the sentence's subject; the child: the hop between). Groups: whose (the record or a record it
#: links to), who (the approver), mid (a person between the record and the approver).
_OWN_APPROVER = (
    r"(?:(?P<whose>[a-z]+)'s|their|his|her|its) own (?P<who>[a-z]+)\b(?!'s)",
    r"\bonly the (?P<who>[a-z]+) (?:of|for) (?:the |a |an |that |this |each |their |its )?(?P<whose>[a-z]+)",
    r"\b(?P<who>[a-z]+) (?:(?:must|has to|needs to|should|can|may|will) )?(?:sign|approv|accept|confirm)\w*(?: off)? "
    r"(?:their|his|her) own (?P<mid>[a-z]+)'s [a-z]+",
)
_APPROVING = r"\b(?:sign\w*[- ]off|sign(?:s|ed)? off|approv\w*|accept\w*|confirm\w*|ok'?d|check\w*|verif\w*)"


def _own_approver(ctx: FeatureCtx, ent: str) -> tuple[str, list[str], bool] | None:
    """(the approving role, the reference fields from `ent` to its person record, whether the words say "only")
    when the feature says one person linked to the record approves it. The person record gets an email field (the
    sign-in it is matched by) and the links are added when missing: the record to the person, or through the record
    the words name as its owner ("a trainee's own supervisor": the trainee's supervisor)."""
    d = ctx.draft
    if not re.search(_APPROVING, ctx.low):
        return None
    for pat in _OWN_APPROVER:
        for m in re.finditer(pat, ctx.low):
            g = m.groupdict()
            who = safe_name(singular(g["who"]))
            if who not in d.roles or who == "owner" or who == ent:
                continue
            mid = safe_name(singular(g.get("mid") or g.get("whose") or "")) or None
            if mid not in d.entities or mid in (ent, who):
                mid = None
            if who not in d.entities:
                d.add_entity(who, ctx.text, people=True)
                d.add_field(who, "name", "text", ctx.text, origin="structure", required=True)
            if not d.entities[who].people and who not in d.roles:
                continue
            if not d.fields_of(who, "email"):
                d.add_field(who, "email", "email", ctx.text, origin="capability")
            link = _link_to(d, ent, who, mid, ctx.text)
            if link:
                return who, link, bool(re.search(r"\bonly\b", ctx.low))
    return None


def _link_to(d, ent: str, person: str, mid: str | None, source: str) -> list[str] | None:
    """Reference fields from `ent` to `person`: direct when `ent` points at it (or no record sits between), else
    through `mid` (or a people record `ent` already points at), each missing link added (optional)."""
    def ref(a: str, b: str) -> str | None:
        f = next((x for x in d.fields_of(a, "reference") if x.ref == b), None)
        if f is not None:
            return f.name
        return f"{b}_id" if d.add_ref(a, b, source) else None
    direct = next((x.name for x in d.fields_of(ent, "reference") if x.ref == person), None)
    if direct and mid is None:
        return [direct]
    if mid is None:  # "a student's chapter approved by their own supervisor": through the student it belongs to
        mid = next((x.ref for x in d.fields_of(ent, "reference") if x.ref in d.entities and x.ref != person
                    and d.entities[x.ref].people and d.refs(x.ref).count(person) <= 1), None)
    if mid is not None:
        first, second = ref(ent, mid), ref(mid, person)
        if first and second:
            return [first, second]
    one = ref(ent, person)
    return [one] if one else None
def b_ledger(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    charge = None
    amount = None
    for ent in ctx.mentioned + [e for e in d.entities if e not in ctx.mentioned]:
        if d.entities[ent].people:
            continue
        name = _field_named(ctx, ent, ("money",))
        if name:
            charge, amount = ent, name
            break
    if charge is None and d.planned.get("ledger"):  # "settle up balances": the ledger planned already
        return dict(d.planned["ledger"][0])
    if charge is None:
        charge = _main(ctx)
        if d.entities[charge].people:
            charge = next((e for e in d.entities if not d.entities[e].people), charge)
        amount = _ensure(ctx, charge, "amount", "money", required=True)
    # "among the households who joined": whoever the costs are split among, person word or not
    among = next((safe_name(it.name) for it in ctx.interps if it.np and it.np.prep in ("among", "amongst", "between")
                  and it.kind in ("thing", "people") and safe_name(it.name) != charge), None)
    if among is not None and among not in d.entities:
        d.add_entity(among, ctx.text, people=True)
        d.add_field(among, "name", "text", ctx.text, origin="structure", required=True)
    participant = among or _people_entity(ctx, create=True)
    if participant is None:
        raise NotFit("splitting costs needs the people who share them, and the idea names none")
    split = "equal"
    weight = None
    if ctx.has(r"by (usage|use)|usage|how much each (uses|used)"):
        split = "usage"
    elif ctx.has(r"by (weight|share|shares|percentage|ratio)|weighted|proportional\w*"):
        split = "weight"
        weight = _ensure(ctx, participant, "share", "decimal", min=0)
    return {"charge_entity": charge, "amount_field": amount, "participant_entity": participant,
            "weight_field": weight, "default_split": split}


def b_custody(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    if d.planned.get("custody") and ctx.has(_CHECKOUT_NOUNS) and not any(
            c["item_entity"] in ctx.mentioned for c in d.planned["custody"]) and not ctx.has(
            r"check(ed|s|ing)?[- ]?out|lend|borrow"):  # "when a loan is overdue": the check-outs planned already
        return dict(d.planned["custody"][0])
    item = _main(ctx)
    holder = _people_entity(ctx, create=False, exclude=(item,))
    if holder is not None and holder not in ctx.mentioned and safe_name(holder) not in [safe_name(p)
                                                                                           for p in ctx.people]:
        holder = None
    if holder is None:  # "villagers borrow machines", villagers kept with an email: a record with an address is a person
        holder = next((m for m in ctx.mentioned if m != item and d.fields_of(m, "email", "phone")), None)
    return {"item_entity": item, "holder_entity": holder, "due_days": _days(ctx, 7), "max_held": _max_held(ctx.text)}


def _max_held(text: str) -> int | None:
    """The number of a stated "at most N ... at a time" (or "at once") rule: items one holder may hold together."""
    from .b_assignment import _AT_ONCE
    from .reading import rules_of

    return next((int(r.number) for r in rules_of(text, "limit") if r.number and float(r.number).is_integer()
                 and 1 <= r.number <= 1000 and _AT_ONCE.search((r.words or "").lower())), None)


def b_rotation(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    if d.planned.get("rotation") and not ctx.explicit:  # "live board of who is on call": the rota planned already
        return dict(d.planned["rotation"][0])
    work = next((m for m in ctx.mentioned if not d.entities[m].people), None) or _main(ctx)
    earlier = next((p for p in d.planned.get("rotation", []) if p["entity"] == work), None)
    if earlier is not None and ctx.has(r"swaps?|swapp\w+|trad(e|es|ed|ing)"):  # the rota's swaps, asked again
        out = dict(earlier)
        if ctx.has(r"approv\w*|sign(s|ed)?[- ]off|ok'?d"):
            named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles]
            staff = [r.name for r in d.roles.values() if r.kind == "staff"]
            out["swap_requires_role"] = (named or staff or ["owner"])[0]
        return out
    # who approves swaps ("approved by the chief") does not take turns
    approvers = tuple(safe_name(it.name) for it in ctx.interps if it.kind == "people" and it.np and it.np.prep == "by")
    among = [safe_name(it.name) for u in d.units for c in u.clauses for np in c.nps
             if np.prep in ("among", "amongst", "between") and (it := interpret(np)) is not None
             and it.kind == "people" and safe_name(it.name) not in approvers]
    named = [p for p in ctx.people if safe_name(p) not in approvers]
    member = None
    if not named and among:  # "builds the on-call rota among firefighters" (the description)
        member = among[0]
        if member not in d.entities:
            d.add_entity(member, ctx.text, people=True)
            d.add_field(member, "name", "text", ctx.text, origin="structure", required=True)
    member = member or _people_entity(ctx, create=True, exclude=(work, *approvers))
    if member is None:
        raise NotFit("a rota needs the people who take turns, and the idea names none")
    back = d.entities[member].fields.get(f"{work}_id")
    if back is not None and back.origin == "words" and back.source == _src(ctx):  # "assign drivers to routes"
        del d.entities[member].fields[f"{work}_id"]
    if not d.add_ref(work, member, ctx.text) and f"{member}_id" not in d.entities[work].fields:
        raise NotFit(f"{label_of(member)} already points at {label_of(work)}")
    swap_role = None
    if ctx.has(r"swaps?|swapp\w+|trade\w*") and ctx.has(r"approv\w*|sign(s|ed)?[- ]off|ok'?d"):
        named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles and safe_name(p) != member]
        staff = [r.name for r in d.roles.values() if r.kind == "staff"]
        swap_role = (named or staff or ["owner"])[0]
    return {"entity": work, "assignee_field": f"{member}_id", "member_entity": member,
            "strategy": "least_loaded" if ctx.has(r"fair\w*|even\w*|balanc\w*|least|equal\w*") else "round_robin",
            "swap_requires_role": swap_role}


def b_payments(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = None
    amount = None
    price = _stated_price(ctx.text)
    per = safe_name(price.unit) if price is not None and price.unit else None
    if per is not None and per in d.entities and not d.entities[per].people and per not in _PRICE_TIME_UNITS:
        ent = per  # "8 pounds per firing": the firing is paid for, at a fixed price each
        amount = _field_named(ctx, ent, ("money",)) or next(iter(f.name for f in d.fields_of(ent, "money")), None)
        amount = amount or _ensure(ctx, ent, "price", "money", min=0)
        per = None
    deposit = _stated_deposit(ctx.text)
    thing = _paid_thing(ctx, deposit is None) if ent is None and (price is not None or deposit is not None) else None
    if thing is not None:  # "customers pay a 50% deposit": the job is paid for, not the customer
        ent = thing
        amount = next((f.name for f in d.fields_of(ent, "money") if f.name.split("_")[-1] != "deposit"
                       or deposit is None), None) or _ensure(ctx, ent, "price", "money", min=0)
    for e in [] if ent is not None else ctx.mentioned + [x for x in d.entities if x not in ctx.mentioned]:
        name = _field_named(ctx, e, ("money",))
        if name:
            ent, amount = e, name
            break
    if ent is not None and thing is None and not ctx.explicit and d.entities[ent].fields[amount].source == _src(
            ctx) and (price is None or d.entities[ent].people):  # "visits cost $65 per hour": the visit's own price
        del d.entities[ent].fields[amount]  # put there only for want of a record: the payment is its own
        ent = amount = None
    if ent is None and not ctx.explicit:  # "rent payments by card": the payment is the record
        paid = next((it for it in ctx.interps if it.kind == "attr" and it.attr_type == "money"), None)
        if paid is not None and len(d.entities) < 12:
            ent = d.add_entity(ident(paid.name), ctx.text).name
            d.add_field(ent, "title", "text", ctx.text, origin="structure", required=True)
            amount = _ensure(ctx, ent, "amount", "money", required=True, min=0)
    if ent is None:
        ent = _main(ctx)
        amount = next((f.name for f in d.fields_of(ent, "money")
                       if re.search(r"price|fee|amount|cost|rent|total|fare|deposit", f.name)), None)
        amount = amount or _ensure(ctx, ent, "price", "money", min=0)
    fee = _stated_fee(ctx.text)
    sub = ctx.has(r"subscriptions?|subscribe\w*|membership fees?|monthly (plan|fee)|recurring")
    out = {"entity": ent, "amount_field": amount, "mode": "subscription" if sub else "one_time",
           "platform_fee_percent": fee if fee is not None and fee <= 50 and fee != deposit else None}
    if deposit is not None:
        out["deposit_percent"] = deposit
    if price is not None and price.number and 0 < price.number <= 1_000_000:
        out["unit_price"] = price.number
        d.entities[ent].fields[amount].required = False  # the app computes it
        booked = next((b for b in d.planned.get("booking", []) if b.get("entity") == ent
                       and {b.get("start_field"), b.get("end_field")} <= set(d.entities[ent].fields)), None)
        if per == "hour" and booked is not None:  # "£38 per hour" of a booked lesson: the hours it is booked for
            out.update(start_field=booked["start_field"], end_field=booked["end_field"])
        elif per is not None and not (sub and per in ("month", "year")) and per != ent:
            # "£38 per hour": the price times the record's hours; "£2 per bag": times its bags
            kind = "decimal" if per in _PRICE_TIME_UNITS else "integer"
            out["quantity_field"] = _ensure(ctx, ent, plural(per), kind, required=True, min=0)
    out.update(_paid_before(ctx, ent))
    return out


#: "before work starts", "before the job begins": a payment due before the record's work state (STARTS_STATE)
PAID_BEFORE_START = re.compile(r"\b(?:deposits?|paid|payments?) before (?:the |its |their |any )?\w+ (?:starts|begins|"
                               r"commences|gets under ?way)\b")
#: the state a record is in once its work has started, found by these words or added after the first state
_STARTED = re.compile(r"(^|_)(in_progress|started|underway|under_way|working|in_work|begun)$")


def _paid_before(ctx: FeatureCtx, ent: str) -> dict:
    """ "Customers pay a 50% deposit before work starts": the record's status cannot move to its started state
    until it is paid. The state is the record's own "in progress" (or started) value, else one added after its
    first; a record without a status gets one (the first value stays where a new record starts)."""
    if not PAID_BEFORE_START.search(ctx.low):
        return {}
    d = ctx.draft
    f = next((x for x in d.fields_of(ent, "enum") if x.name.split("_")[-1] in ("status", "stage", "state")), None)
    if f is None:
        f = d.add_field(ent, "status", "enum", ctx.text, origin="capability", values=["booked", "in_progress",
                                                                                       "done"])
        if f is None or f.type != "enum":
            return {}
    started = next((v for v in f.values[1:] if _STARTED.search(v)), None)
    if started is None:
        started = "in_progress"
        f.values = [f.values[0], started, *f.values[1:]]
    return {"state_field": f.name, "paid_before": [started]}


def _paid_thing(ctx: FeatureCtx, by_field: bool) -> str | None:
    """The record a stated price or deposit is paid for when the words name the payer ("clients pay a 25% deposit
    when they book"): the booked record, else a record (not a person) the feature names, else the idea's first
    record that is no person and no link table."""
    d = ctx.draft
    booked = [b["entity"] for b in d.planned.get("booking", []) if b.get("entity") in d.entities]
    share = r"(^|_)(deposit|down_payment|payment|instalment|installment)s?$"  # what is paid, not what it is for

    def fits(e: str) -> bool:
        x = d.entities[e]
        return not x.people and not x.join and e not in d.roles and (by_field or not re.search(share, e))
    things = [e for e in ctx.mentioned if e in d.entities and fits(e)]
    rest = [e for e in d.entities if fits(e)]
    named = [e for e in things + rest if by_field and _field_named(ctx, e, ("money",))]  # "a £20 deposit": hire
    return next(iter(booked + named + things + rest), None)


#: Units of time a price may be per ("£38 per hour", "$80 a night"): a number of them is kept on the record.
_PRICE_TIME_UNITS = frozenset({"minute", "hour", "day", "night", "week", "month", "year", "session"})


def _stated_price(text: str):
    """The first price the words state ("£38 per hour", "each load costs £90", "35 pounds per lesson"), or None."""
    from .reading import rules_of

    return next((r for r in rules_of(text, "price") if r.number), None)


def _stated_deposit(text: str) -> float | None:
    """The percentage of a deposit or an up-front part the words state ("a 50% deposit", "30% upfront")."""
    from .reading import rules_of

    low = text.lower()

    def said(words: str) -> str:  # the rule's words and the few after them ("30% upfront", "30% in advance")
        at = low.find(words.lower())
        return low[at: at + len(words) + 16] if at >= 0 else words.lower()
    return next((r.number for r in rules_of(text, "fee") if r.unit == "percent" and r.number is not None
                 and 0 < r.number < 100 and re.search(r"\b(deposits?|down ?payments?|up-?front|up front|in "
                                                      r"advance)\b", said(r.words))), None)


def _stated_fee(text: str) -> float | None:
    """The percentage a fee, commission or surcharge rule states ("a 10% fee", "a handling fee of two percent")."""
    from .reading import rules_of

    return next((r.number for r in rules_of(text, "fee") if r.unit == "percent" and r.number is not None),
                None)
