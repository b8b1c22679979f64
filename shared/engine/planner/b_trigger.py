"""Planner builder for `trigger` ("when this happens, do that"), read from the feature's own words.

`b_trigger(ctx)` finds the watched record (the feature's record), the condition (a number crossing a threshold the
reading states — "heavier than 3500 kg", "severity 3 or more" — or an enum value the words name — "a failed
inspection", "when rent becomes overdue") and the one action the words ask for: block ("cannot be made
available"), notify ("emails the holder", "tells the managers"), create ("opens a repair ticket") or set ("marks
the crane out of service"). It raises `capmap.NotFit` with a sentence a founder can read when the words do not give
a condition, an action, or the record the action needs.
"""

from __future__ import annotations

import re

from . import lexicon as lx
from .draft import DRole, clip, safe_name
from .text import participle_of as _participle_of
from .text import singular

NUMBER_TYPES = ("integer", "decimal", "money")
#: comparative words -> the number field they compare ("heavier than 3500 kg": the weight)
COMPARATIVES = {"heavier": "weight", "lighter": "weight", "older": "age", "younger": "age", "longer": "length",
                "shorter": "length", "taller": "height", "hotter": "temperature", "colder": "temperature",
                "warmer": "temperature", "costlier": "cost", "dearer": "price", "cheaper": "price"}
_STOP = frozenset({"is", "are", "was", "has", "have", "its", "the", "when", "whenever", "if", "once", "goes", "gets",
                   "rises", "drops", "falls", "and", "with"})
_WHEN = r"(?:when|whenever|if|once|as soon as)"
_BLOCK = re.compile(r"\b(?:cannot|can ?not|can't|may not|must not|is not allowed to|never)\s+(?:be\s+)?"
                    r"(?:made|set|marked|moved|put|returned|go(?:es)?|become|turn(?:ed)?)?\s*(?:back\s+)?(?:to\s+|as\s+)?"
                    r"([a-z][a-z -]{2,30}?)(?=[.,;]|$| while| until| unless| when| if)")
_NOTIFY = re.compile(r"\b(?P<verb>notif(?:y|ies)|e-?mails?|texts?|sms(?:es)?|tells?|alerts?|warns?|messages?|"
                     r"escalates? to)\s+(?:the |their |its |every |all |each |a |an )?(?P<who>[a-z][a-z'-]*)"
                     r"(?: (?P<who2>[a-z][a-z'-]*))?")
#: verbs of a message by SMS ("text the customer"); every other verb of telling sends an email
_SMS = re.compile(r"^(?:texts?|sms(?:es)?)$")
_CREATE = re.compile(r"\b(?:creates?|opens?|raises?|generates?|files?|starts?)\s+(?:a |an )?(?:new )?"
                     r"([a-z][a-z-]*(?: [a-z][a-z-]*)?)")
_SET = re.compile(r"\b(?:sets?|marks?|flags?|puts?|moves?|takes?|turns?)\s+(?:(?:it|them|the|its|their)\s+)?"
                  r"(?:(?!to\b|as\b|into\b)([a-z]+)\s+)?(?:(?:to|as|into)\s+)?(out of service|[a-z][a-z -]{2,30}?)(?=[.,;]|$| when| if)")


def _snake(text: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))[:40]


def _threshold(ctx, ent: str) -> dict | None:
    """{"field", "op", "number"} from a threshold rule the reading states, or None."""
    from .capmap import NotFit
    from .reading import rules_of

    rules = rules_of(ctx.text)
    rule = next((r for r in rules if r.category == "threshold" and r.number is not None), None)
    low = ctx.low
    comparative = re.search(rf"\b({'|'.join(COMPARATIVES)}|more|less|higher|lower|greater|bigger|smaller) than "
                            r"(\d+(?:\.\d+)?)", low)
    if comparative and (rule is None or rule.number != float(comparative.group(2))):
        word, number = COMPARATIVES.get(comparative.group(1), ""), float(comparative.group(2))
        op = "lt" if comparative.group(1) in ("lighter", "younger", "shorter", "colder", "cheaper", "less", "lower",
                                               "smaller") else "gt"
    elif rule is None:
        m = re.search(r"\b([a-z]+) (?:of )?(\d+(?:\.\d+)?) ?([a-z]+|°c|°f|%)? or (more|higher|above|over|less|lower|"
                      r"below|under)\b", low)
        if not m:
            return None
        word, number, side = m.group(1), float(m.group(2)), m.group(4)
        op = "gte" if side in ("more", "higher", "above", "over") else "lte"
        if m.group(3) and (word in _STOP or word in ("at", "of", "by", "with", "to", "from")):
            # "a vehicle is logged at 40 mph or more": the quantity its unit measures (speed in mph)
            word = _UNIT_QUANTITY.get(m.group(3), word)
            unit_said = m.group(3)
            if word in _UNIT_QUANTITY.values():
                have = [f.name for f in ctx.draft.fields_of(ent, *NUMBER_TYPES) if word in f.name.split("_")]
                if not have:
                    f = ctx.draft.add_field(ent, word, "decimal", ctx.text, origin="capability", min=0)
                    if f is not None and f.label is None:
                        f.label = f"{word.capitalize()} in {unit_said}"[:80]
    else:
        words = rule.words.lower()
        number = float(rule.number)
        down = re.search(r"\b(below|under|less|fewer|lower|lighter|drops?|falls?|younger|shorter|cheaper)\b", words)
        op = ("lte" if "at most" in low or re.search(r"\bor (?:less|lower|below|under)\b", words) else "lt") if down \
            else ("gte" if re.search(r"at least|reach|hits?|\bor (?:more|higher|above|over)\b", words) else "gt")
        if re.search(r"\bor (?:less|lower|below|under)\b", words):
            op = "lte"
        before = re.findall(r"[a-z]+", low[: low.find(words)])[-3:]
        content = [w for w in before if w not in _STOP and len(w) > 2]
        if len(content) > 1 and singular(content[0]) in ent.split("_"):
            content = content[1:]  # "when an incident has severity 3 or more": the incident's severity
        word = next((COMPARATIVES[w] for w in before if w in COMPARATIVES), None) or (
            "_".join(content[-2:]) if content else None) or rule.unit or ""  # "the wind speed goes above": wind_speed
    unit = (rule.unit or "").lower() if rule is not None else ""
    fields = ctx.draft.fields_of(ent, *NUMBER_TYPES)
    quantity = _UNIT_QUANTITY.get(unit)
    vague = all(p.endswith("ed") or p in ent.split("_") or p in _STOP for p in (word or "").split("_") if p)
    if quantity and vague and not any(quantity in f.name.split("_") or unit in f.name.split("_") or unit in re.findall(
            r"[a-z0-9]+", (f.label or "").lower()) for f in fields) and not any(
            w in f.name.split("_") for f in fields for w in (word or "").split("_") if len(w) > 2):
        f = ctx.draft.add_field(ent, quantity, "decimal", ctx.text, origin="capability", min=0)
        if f is not None and f.label is None:  # "logged at 40 mph or more": the vehicle's speed, in mph
            f.label = f"{quantity.capitalize()} in {unit}"[:80]
        fields = ctx.draft.fields_of(ent, *NUMBER_TYPES)
        word = quantity
    by_unit = [f.name for f in fields if unit.isalpha() and (unit in f.name.split("_") or unit in re.findall(
        r"[a-z0-9]+", (f.label or "").lower()))]
    if len(by_unit) == 1 and not any(singular(w) in by_unit[0].split("_") for w in (word or "").split("_") if w):
        word = by_unit[0]  # "any lamb born under 2.5 kg": the lamb's number kept in kg (its birth weight)
    if word and set(word.split("_")) <= set(ent.split("_")) and len(fields) == 1:
        word = fields[0].name  # "when a hive check is above 38": the record's one number, not a field named for it
    named = next((f.name for f in fields if word and (singular(word) in f.name.split("_") or word in f.name)), None)
    named = named or next((f.name for f in fields if any(p in ctx.words for p in f.name.split("_") if len(p) > 2)),
                          None)
    if named is None:
        base = COMPARATIVES.get(word) or (word if word and word.replace("_", "").isalpha() and len(word) > 2 and
                                          word not in ("than", "the", "more", "less") else None)
        if base is None:
            raise NotFit("the words state a number but not which number of the record is compared")
        f = ctx.draft.add_field(ent, base, "decimal", ctx.text, origin="capability", min=0)
        if f is not None and rule is not None and rule.unit and f.label is None:  # "Wind speed in knots"
            f.label = f"{base.replace('_', ' ').capitalize()} in {rule.unit}"[:80]
        if f is None or f.type not in NUMBER_TYPES:
            raise NotFit(f"the {ent.replace('_', ' ')} record's {base} is not a number, so it cannot be over or under "
                         f"a threshold")
        named = f.name
    f = ctx.draft.entities[ent].fields.get(named)
    unit = (rule.unit or "") if rule is not None else ""
    if f is not None and unit.isalpha() and unit not in f.name.split("_") and \
            (f.label is None or f.label.lower() == named.replace("_", " ")) and \
            f.origin == "words" and unit not in ("day", "days", "hour", "hours", "minute", "minutes"):
        f.label = f"{named.replace('_', ' ').capitalize()} in {unit}"[:80]  # "above 0.25 ppm": the reading in ppm
    return {"field": named, "op": op, "number": number}


def _enum_condition(ctx, ent: str) -> dict | None:
    """{"field", "op": "in", "values"} for an enum value the words name ("a failed inspection", "becomes overdue")."""
    low = ctx.low
    for f in ctx.draft.fields_of(ent, "enum"):
        said = [v for v in f.values if re.search(rf"\b{re.escape(v.replace('_', ' '))}\b", low)]
        if said and len(said) < len(f.values):
            return {"field": f.name, "op": "in", "values": said[:1]}
    m = re.search(rf"\b{_WHEN}\b[^.,;]*?\b(?:is|are|has been|have been|was|were)\s+([a-z]+ed)\b", low)
    flow = _flow_of(ctx, ent)
    if m and flow is not None and _participle_of(m.group(1), lx.ENDING_VERBS):
        # "once their piece is settled" of a record a workflow moves: its end, not a yes/no of the same word
        made = ctx.draft.entities[ent].fields.get(m.group(1))
        if made is not None and made.type == "boolean" and made.source == clip(ctx.text) and made.origin == "words":
            del ctx.draft.entities[ent].fields[m.group(1)]
        return _flow_condition(ctx, ent, flow, m.group(1))
    flag = m and next((f.name for f in ctx.draft.fields_of(ent, "boolean") if f.name in (m.group(1),
                                                                                       f"is_{m.group(1)}")), None)
    if flag:  # "when a trip is cancelled" and the trip has a yes/no "cancelled": it turning true
        return {"field": flag, "op": "is_true"}
    m = re.search(rf"\b{_WHEN}\b[^.,;]*?\b(?:(?:is|are|has been|have been) marked|is set|has been|have been|is|are|becomes?|reach(?:es)?|turns?|goes|gets?)\s+"
                  r"(?:as\s+|to\s+)?([a-z][a-z-]+)\b(?:\s+(severity|priority|level|type|category|grade|class|result|"
                  r"status|state|stage))?(?P<to>\s+to\s+[a-z]+(?=\s*(?:[.,;]|$)))?", low)
    if not m or m.group(1) in ("a", "an", "the", "more", "less", "over", "above", "below", "under", "than",
                               *COMPARATIVES):
        return None
    marked = re.search(r"\b(?:marked|set)\s*$", m.group(0)[: m.start(1) - m.start(0)])
    if not marked and not m.group(2) and _participle_of(m.group(1), lx.MAKING_VERBS) and (
            flow is None or m.group(1) not in flow["states"]):
        return {"on": "create"}  # "as soon as a report is written": the record being added
    if flow is not None and not m.group("to"):
        return _flow_condition(ctx, ent, flow, m.group(1))
    value = _snake(m.group(1) + (m.group("to") or ""))  # "ready to collect": the state is the whole phrase
    f = _enum_keeping(ctx, ent, m.group(2) or "status", ["none", value] if m.group(2) else ["open", value])
    if f is None or f.type != "enum":
        return None
    if value not in f.values:
        f.values = [*f.values, value]
    return {"field": f.name, "op": "in", "values": [value]}


def _flow_of(ctx, ent: str) -> dict | None:
    """The workflow planned on the record (its state field, states and transitions), or None."""
    return next((w for w in getattr(ctx.draft, "planned", {}).get("workflow", []) if w.get("entity") == ent
                 and w.get("state_field") in ctx.draft.entities[ent].fields), None)


def _final_states(flow: dict) -> list[str]:
    """The states no transition leaves (the last state when every state has a way out)."""
    leaving = {s for t in flow.get("transitions", []) for s in t.get("from_states", [])}
    return [s for s in flow["states"] if s not in leaving] or flow["states"][-1:]


def _flow_condition(ctx, ent: str, flow: dict, word: str) -> dict:
    """A condition on a record whose workflow moves its state: the state the participle names, or, for a word of
    coming to an end ("when their result is decided", "once it is finished"), the workflow's final states. Never a
    second status beside the workflow's: another participle is not a state it reaches."""
    from .capmap import NotFit

    value = _snake(word)
    if value in flow["states"]:
        return {"field": flow["state_field"], "op": "in", "values": [value]}
    if _participle_of(word, lx.ENDING_VERBS):
        return {"field": flow["state_field"], "op": "in", "values": _final_states(flow)}
    raise NotFit(f"the {ent.replace('_', ' ')}'s {flow['state_field'].replace('_', ' ')} moves through its workflow ("
                 f"{', '.join(v.replace('_', ' ') for v in flow['states'])}), which has no {word} state")


def _enum_keeping(ctx, ent: str, name: str, values: list[str]):
    """The record's enum field `name`, added with `values` when it has none; an existing one keeps its values (a
    workflow another feature planned moves through them) and gains the new ones after them."""
    from .capmap import NotFit

    have = ctx.draft.entities[ent].fields.get(name)
    flow = next((w for w in getattr(ctx.draft, "planned", {}).get("workflow", [])
                 if w.get("entity") == ent and w.get("state_field") == name), None)
    if flow is not None and have is not None and set(values) - set(have.values) - {"open", "none", "active"}:
        new = [v.replace("_", " ") for v in values if v not in have.values and v not in ("open", "none", "active")]
        raise NotFit(f"the {ent.replace('_', ' ')}'s {name} moves through its workflow ("
                     f"{', '.join(v.replace('_', ' ') for v in have.values)}), which has no {' or '.join(new)} state")
    if have is not None and have.type == "enum":
        have.values = [*have.values, *[v for v in values if v not in have.values and v not in ("open", "none", "active")]]
        return have
    return ctx.draft.add_field(ent, name, "enum", ctx.text, origin="capability", values=values)


def _parent_field(ctx, ent: str) -> str | None:
    refs = [f for f in ctx.draft.fields_of(ent, "reference") if f.ref in ctx.mentioned and f.ref != ent]
    refs = refs or ctx.draft.fields_of(ent, "reference")
    return refs[0].name if refs else None


def _address(ctx, ent: str, kind: str) -> str | None:
    """The record's field of `kind` (email or phone) the message goes to, added when the record has none."""
    have = next((x.name for x in ctx.draft.fields_of(ent, kind)), None)
    if have:
        return have
    f = ctx.draft.add_field(ent, kind, kind, ctx.text, origin="capability")
    return f.name if f is not None and f.type == kind else None


def _join_to(ctx, ent: str, names: list[str]) -> tuple[str, str, str | None] | None:
    """A fan-out through a join: the record (other than the watched one) that links TO the watched record and to
    the person the words name ("bookings link a passenger to a trip": the booking, its trip_id, its passenger_id),
    or that is itself the person named. None when no record links both."""
    d = ctx.draft
    for join in d.entities:
        if join == ent:
            continue
        back = next((f.name for f in d.fields_of(join, "reference") if f.ref == ent), None)
        if back is None:
            continue
        if join in names:  # "text the volunteers when a shift is cancelled": each volunteer signed to the shift
            return join, back, None
        via = next((f.name for f in d.fields_of(join, "reference") if f.name != back and f.ref != ent and
                    (f.ref in names or any(n in f.name.removesuffix("_id").split("_") for n in names))), None)
        if via:
            return join, back, via
    return None


#: words that head a person's title without being a person word alone ("the site lead", "the team lead")
_TITLE_HEADS = frozenset({"lead", "head"})


def _staff_title(ctx, first: str, second: str | None) -> str | None:
    """"the head brewer", "the duty manager", "the site lead": a person's title of two words (a modifier, then a
    word for a person) names one person of the business, not a record the app keeps: a staff role of that name.
    One word is a title only when it is a staff word of the lexicon ("the librarian"). None otherwise."""
    from . import lexicon as lx
    from .text import parse

    if second:
        head = singular(second)
        d = ctx.draft
        words = {w.w: w.tag for c in parse(f"the {first} {second}") for w in c.words}
        person = head in lx.PEOPLE or head in lx.STAFF_PEOPLE or head in _TITLE_HEADS or (
            head in d.entities and d.entities[head].people) or (
            head not in d.entities and re.search(r"(?:[^aeiou]er|or|ist|ian|man|woman|person)$", head))
        # "the pub manager" is the pub's own (a record the app keeps); "the first driver" is one of many
        if not person or words.get(first) != "noun" or first in lx.PEOPLE or safe_name(first) in d.entities or \
                re.match(r"(?:first|second|third|next|last|previous|[a-z]+th)$", first):
            return None
        return safe_name(f"{first}_{head}")
    word = singular(first)  # a staff word the idea keeps no record of ("the librarian" of a lending record's holder)
    return safe_name(word) if word in lx.STAFF_PEOPLE and safe_name(word) not in ctx.draft.entities else None


def _drop_person_record(ctx, names: list[str]) -> None:
    """The person record the draft read from this sentence alone ("the head brewer" -> a brewer list) goes when
    the person is a role: nothing links to it and no capability acts on it."""
    from .draft import _drop_entity, clip

    d = ctx.draft
    for n in names:
        e = d.entities.get(n)
        if e is None or not e.people or e.source != clip(ctx.text) or any(
                f.type == "reference" and f.ref == n for x in d.entities.values() for f in x.fields.values()) or any(
                n in (p.get("entity"), p.get("member_entity"), p.get("holder_entity"))
                for ps in d.planned.values() for p in ps):
            continue
        _drop_entity(d, n)
        if n in ctx.mentioned:
            ctx.mentioned.remove(n)


def _planned(ctx, cap: dict) -> dict:
    """The trigger as planned: a person record the words made for someone now told as a role is dropped."""
    _drop_person_record(ctx, cap["action"].pop("_drop", []))
    return cap


#: "for their child", "about its boat": after a preposition, the record a possessive names, whose person is told
_THEIR = re.compile(r"\b(?:for|about|of|on|to|with|at|from|by)\s+(?:their|its|his|her)\s+(?:own\s+)?([a-z]+)\b(?!'s)")


def _through(ctx, ent: str, names: list[str], first: str, kind: str) -> tuple[str, str, str] | None:
    """"Text the parent when an accident report is written for their child": the person told is the one the
    record a possessive names ("their child") points at. The watched record links to that record and that record
    to the person (the records and links added where the draft has none); (the watched record's link, the named
    record's link, the address field). None when no possessive after a preposition names a record other than the
    watched one and the person, or the words tell the watched record's own person."""
    from .reading import FUNCTION_WORDS

    d = ctx.draft
    if first in ("them", "it") or ent in names:
        return None
    for m in _THEIR.finditer(ctx.low):
        word = m.group(1)
        mid = safe_name(singular(word))
        if word in FUNCTION_WORDS or len(word) < 3 or mid in (ent, *names) or any(
                f.type != "reference" and mid in (f.name, f.name.removesuffix("_id")) for f in d.fields_of(ent)):
            continue  # "for their result": a value of the record, not a record of its own
        # the person: the record of that word the named record points at already ("their dog": its dog owner),
        # else the record of that word, else a new one
        person = next((f.ref for f in d.fields_of(mid, "reference") for n in names
                       if f.ref == n or f.ref.endswith(f"_{n}")), None) or next(
            (n for n in names if n in d.entities), None) or names[-1]
        if person in (ent, mid):
            return None
        for e, people in ((mid, singular(word) in lx.PEOPLE), (person, True)):
            if e not in d.entities:
                d.add_entity(e, ctx.text, people=people)
                d.add_field(e, "name", "text", ctx.text, origin="structure", required=True)
        via = next((f.name for f in d.fields_of(ent, "reference") if f.ref == mid), None)
        if via is None and d.add_ref(ent, mid, ctx.text, required=True):
            via = f"{mid}_id"
        then = next((f.name for f in d.fields_of(mid, "reference") if f.ref == person), None)
        if then is None and d.add_ref(mid, person, ctx.text, required=True):
            then = f"{person}_id"
        address = _address(ctx, person, kind)
        return (via, then, address) if via and then and address else None
    return None


def _notify_action(ctx, ent: str, told) -> dict:
    """"email the practice", "text the customer", "tell the head brewer": the channel the verb names (a text is an
    SMS; every other telling an email), and who: a record the watched one links to (its address field), the
    people records linking to it name ("text the passengers when a trip is cancelled": each booking's passenger),
    a role of the app's users (one or two words; a text goes to the phone each gave), or the watched record's own
    address."""
    from .capmap import NotFit

    d = ctx.draft
    channel = "sms" if _SMS.match(told.group("verb")) else "email"
    kind, key = ("phone", "phone_field") if channel == "sms" else ("email", "email_field")
    from .reading import FUNCTION_WORDS

    first, second = told.group("who"), told.group("who2")
    second = None if second in FUNCTION_WORDS or second in _STOP else second  # "text the customer when ..."
    names = ([safe_name(f"{first}_{singular(second)}")] if second else []) + [safe_name(singular(first))]
    if second:
        names.append(safe_name(singular(second)))  # "the head brewer": the brewer role
    who = names[0]
    # the record the watched one links to comes first: "email the member when their firing is marked cooled" tells
    # the firing's member, not every member
    for f in d.fields_of(ent, "reference"):
        if f.ref in names or any(n in f.name.removesuffix("_id").split("_") for n in names):
            address = _address(ctx, f.ref, kind)
            if address is None:
                raise NotFit(f"the {f.ref.replace('_', ' ')} record has no room for a {kind} field")
            return {"type": "notify", "channel": channel, "via_field": f.name, key: address}
    through = _through(ctx, ent, names, first, kind)
    if through:  # "text the parent when an accident is written for their child": the accident's child's parent
        via, then, address = through
        return {"type": "notify", "channel": channel, "via_field": via, "then_field": then, key: address}
    joined = _join_to(ctx, ent, names)
    if joined:  # "text the passengers when a trip is cancelled": each booking's passenger
        join, join_field, via = joined
        person = d.entities[join].fields[via].ref if via else join
        address = _address(ctx, person, kind)
        if address is None:
            raise NotFit(f"the {person.replace('_', ' ')} record has no room for a {kind} field")
        return {"type": "notify", "channel": channel, "join_entity": join, "join_field": join_field,
                "via_field": via, key: address}
    role = next((n for n in names if n in d.roles), None)
    if role:  # a text goes to the phone each user of the role gives on their profile
        return {"type": "notify", "channel": channel, "role": role}
    if any(n == ent for n in names) or first in ("them", "it"):  # "email the member when their firing ..."
        address = _address(ctx, ent, kind)
        if address:
            return {"type": "notify", "channel": channel, key: address}
    title = _staff_title(ctx, first, second)
    if title:  # "email the head brewer": one person of the business, told as a user of a staff role
        if title not in d.roles:
            d.roles[title] = DRole(title, ctx.text, "staff")
        # the person record read from these words goes once the trigger is planned (`_planned`)
        return {"type": "notify", "channel": channel, "role": title, "_drop": [title, title.split("_")[-1]]}
    own = next((x.name for x in d.fields_of(ent, kind)), None)
    if own:
        return {"type": "notify", "channel": channel, key: own}
    if who in d.entities:
        raise NotFit(f"the {ent.replace('_', ' ')} record has no link to its {who.replace('_', ' ')}, so the "
                     f"message has no address")
    raise NotFit(f"the words do not say whose address the {who.replace('_', ' ')} message goes to")


def _action(ctx, ent: str) -> dict:
    from .capmap import NotFit

    d, low = ctx.draft, ctx.low
    block = _BLOCK.search(low)
    if block:
        via = _parent_field(ctx, ent)
        if via is None:
            raise NotFit("a block needs the record it holds back (the van of a defect), and the record has no link")
        parent = d.entities[ent].fields[via].ref
        value = _snake(block.group(1).strip())
        f = d.add_field(parent, "status", "enum", ctx.text, origin="capability", values=["open", value])
        if f is None or f.type != "enum":
            raise NotFit(f"the {parent.replace('_', ' ')} record has no room for a status")
        if value not in f.values:
            f.values = [*f.values, value]
        d.entities[ent].fields[via].required = True
        return {"type": "block", "via_field": via, "field": f.name, "values": [value]}
    told = _NOTIFY.search(low)
    if told:
        return _notify_action(ctx, ent, told)
    made = _CREATE.search(low)
    if made:
        target = _snake(singular(made.group(1).split()[-1]) if made.group(1).split()[0] in ("new",) else
                        " ".join(singular(w) for w in made.group(1).split()))
        via = _parent_field(ctx, ent)
        if target == ent:
            raise NotFit("a trigger creates a record of another kind than the one it watches")
        d.add_entity(target, ctx.text)
        d.add_field(target, "title", "text", ctx.text, origin="structure", required=True)
        link = d.entities[ent].fields[via].ref if via else ent
        if not d.add_ref(target, link, ctx.text, required=True) and f"{link}_id" not in d.entities[target].fields:
            raise NotFit(f"{target.replace('_', ' ')} cannot point at {link.replace('_', ' ')}")
        if via:
            d.entities[ent].fields[via].required = True
        title = next((f.name for f in d.fields_of(ent, "text")), None)
        return {"type": "create", "entity": target, "link_field": f"{link}_id", "via_field": via,
                "copy_fields": {"title": title} if title else {}, "values": {} if title else {"title": "New"}}
    put = _SET.search(low)
    if put:
        value = _snake(put.group(2))
        via = next((f.name for f in d.fields_of(ent, "reference") if put.group(1) and
                    singular(put.group(1)) in f.name.split("_")), None)
        where = d.entities[ent].fields[via].ref if via else ent
        f = d.add_field(where, "status", "enum", ctx.text, origin="capability", values=["active", value])
        if f is None or f.type != "enum":
            raise NotFit(f"the {where.replace('_', ' ')} record has no room for a status")
        if value not in f.values:
            f.values = [*f.values, value]
        return {"type": "set", "via_field": via, "field": f.name, "value": value}
    raise NotFit("the words do not say what happens (create a record, set a field, block a change or tell someone)")


#: "<records> are <participle> [to|for|as <what>] when ...": the action comes before the condition
_PASSIVE = re.compile(r"^(?:all |any |the |their |its )?(?P<subj>[a-z]+(?: [a-z]+)?) (?:are|is|get|gets) "
                      r"(?:automatically )?(?P<part>[a-z]+(?:ed|en))\b(?: (?:to|for|as|into) (?:the |a |an )?"
                      r"(?P<to>[a-z]+(?: [a-z]+)?))?(?= (?:when|whenever|if|once|as soon as)\b)")
_TOLD = frozenset({"escalated", "reported", "sent", "notified", "emailed", "forwarded", "referred"})


def _passive_action(ctx, ent: str, m) -> dict:
    from .capmap import NotFit

    d = ctx.draft
    part, to = m.group("part"), m.group("to")
    if part in _TOLD:
        who = safe_name(singular((to or "").split()[-1])) if to else ""
        if who in d.roles:
            return {"type": "notify", "role": who}
        raise NotFit(f"the words do not say who the {ent.replace('_', ' ')} is {part} to, as a user of the app")
    value = _snake(to) if part in ("marked", "flagged", "set", "moved", "put") and to else _snake(part)
    f = d.add_field(ent, "status", "enum", ctx.text, origin="capability", values=["active", value])
    if f is None or f.type != "enum":
        raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a status")
    if value not in f.values:
        f.values = [*f.values, value]
    return {"type": "set", "via_field": None, "field": f.name, "value": value}


#: "items unclaimed after 30 days are marked for donation", "quotes not accepted within 14 days expire": a rule the
#: passing of time sets off, checked by a scheduled run
TIME_RULE = re.compile(r"^(?:all |any |the |their )?(?P<subj>[a-z]+)(?: (?P<adj>un[a-z]+|not (?:yet )?[a-z]+ed|still "
                       r"[a-z]+))? (?:for )?(?:more than|over|after|older than|within|in) (?P<n>\d+|[a-z]+) "
                       r"(?P<unit>days?|weeks?|months?)(?: old)? (?:are |is |get |gets |become |becomes )?"
                       r"(?:automatically )?(?P<part>[a-z]+(?:ed|en)|expire|expires|lapse|lapses)\b(?: (?:to|for|as|into) "
                       r"(?:the |a |an )?(?P<to>[a-z]+(?: [a-z]+)?))?")
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
_DATE_HINTS = re.compile(r"found|received|created|submitted|sent|opened|issued|logged|added|date|on$|at$")


def _status_with(ctx, ent: str, wanted: list[str], first: tuple[str, ...] = ()):
    """The record's status enum with every `wanted` value: a new one holds `first` then `wanted`; an existing one
    has the wanted values it lacks appended in order. NotFit when the record has no room for a status."""
    from .capmap import NotFit

    f = ctx.draft.add_field(ent, "status", "enum", ctx.text, origin="capability", values=[*first, *wanted])
    if f is None or f.type != "enum":
        raise NotFit(f"the {ent.replace('_', ' ')} record has no room for a status")
    for v in wanted:
        if v not in f.values:
            f.values = [*f.values, v]
    return f


def _time_trigger(ctx, m) -> dict:
    """The scheduled rule of `TIME_RULE`: the record's age (a date the words or the record name, else when it was
    added) passing the days, and, where the words give one, its status; the action sets the status they name."""
    from .capmap import NotFit, _days_word

    d = ctx.draft
    ent = safe_name(singular(m.group("subj")))
    if ent not in d.entities:
        raise NotFit("the words do not name the record that is watched")
    n = int(m.group("n")) if m.group("n").isdigit() else _days_word(m.group("n"))
    if not n:
        raise NotFit("the words do not say after how many days")
    days = n * _UNIT_DAYS[singular(m.group("unit"))]
    if not 1 <= days <= 3650:
        raise NotFit("the days stated are outside 1 to 3650")
    part, to = m.group("part"), m.group("to")
    value = _snake(to) if to and part in ("marked", "flagged", "set", "moved", "put") else _snake(
        "expired" if part.startswith("expire") else "lapsed" if part.startswith("lapse") else part)
    dates = [f for f in d.fields_of(ent, "date", "datetime")]
    date = next((f.name for f in dates if _DATE_HINTS.search(f.name)), None) or "created_at"
    conditions = []
    adj = m.group("adj")
    state = None
    if adj:
        state = _snake(adj.removeprefix("still ").replace("not yet ", "not "))
        negated = state.startswith("not_")
        word = state.removeprefix("not_")
        counterpart = word[2:] if word.startswith("un") and len(word) > 5 and not negated else None
        # "unclaimed": a record may also be claimed (and then is left alone); the action's value comes last
        f = _status_with(ctx, ent, [word] + ([counterpart] if counterpart else []) + [value])
        if negated and f.values[0] == word:  # "not accepted": a new record starts as something else
            f.values = ["open", *f.values] if "open" not in f.values else f.values
        conditions.append({"field": f.name, "op": "not_in" if negated else "in", "values": [word]})
    else:
        f = _status_with(ctx, ent, [value], first=("active",))
        conditions.append({"field": f.name, "op": "not_in", "values": [value]})
    conditions.append({"field": date, "op": "older_than_days", "number": days})
    return {"entity": ent, "on": "time", "conditions": conditions,
            "action": {"type": "set", "via_field": None, "field": "status", "value": value}}


#: "when a cask has been out for more than 30 days": a record in a state (out, checked out, away) for a span of time
_SPAN = re.compile(rf"\b{_WHEN}\s+(?:a |an |the |its |their |each |any )?(?P<subj>[a-z]+(?: [a-z]+)?) (?:has|have) "
                   r"been (?P<state>[a-z]+(?: [a-z]+)?) for (?:more than |over |longer than |at least )?"
                   r"(?P<n>\d+|[a-z]+) (?P<unit>days?|weeks?|months?)\b")


def _span_trigger(ctx, m) -> dict:
    """"Email the head brewer when a cask has been out for more than 30 days": a scheduled rule on the date the
    record entered the state (a date field of the record naming the state, else one added: "out since", set when
    it goes out and cleared when it comes back), passing the days; the action is the one the words ask for."""
    from .capmap import NotFit, _days_word

    d = ctx.draft
    words = m.group("subj").split()
    ent = next((n for n in (safe_name("_".join(singular(w) for w in words)), safe_name(singular(words[-1])))
                if n in d.entities), None)
    if ent is None:
        raise NotFit("the words do not name the record that is watched")
    n = int(m.group("n")) if m.group("n").isdigit() else _days_word(m.group("n"))
    if not n:
        raise NotFit("the words do not say after how many days")
    days = n * _UNIT_DAYS[singular(m.group("unit"))]
    if not 1 <= days <= 3650:
        raise NotFit("the days stated are outside 1 to 3650")
    state = _snake(m.group("state"))
    date = next((f.name for f in d.fields_of(ent, "date", "datetime") if f.name.startswith(f"{state}_")), None)
    if date is None:
        f = d.add_field(ent, f"{state}_since", "date", ctx.text, origin="capability")
        if f is None or f.type != "date":
            raise NotFit(f"the {ent.replace('_', ' ')} record has no room for the date it went {state.replace('_', ' ')}")
        date = f.name
    action = _action(ctx, ent)
    if action["type"] == "block":
        raise NotFit("a block refuses a change when it is written; time passing writes nothing")
    return {"entity": ent, "on": "time", "conditions": [{"field": date, "op": "older_than_days", "number": days}],
            "action": action}


def _holder_of(ctx, named: list[str]) -> str | None:
    """"when their piece is ready": the one record a field of that name belongs to (the job's furniture piece)."""
    if not named:
        return None
    word = named[0]
    holders = [e for e, ent in ctx.draft.entities.items() for f in ent.fields.values()
               if f.type != "reference" and word in f.name.split("_")]
    return holders[0] if len(set(holders)) == 1 else None


#: what a unit measures: "logged at 40 mph or more" is a speed
_UNIT_QUANTITY = {"mph": "speed", "kph": "speed", "kmh": "speed", "knots": "speed", "kg": "weight", "kilos": "weight",
                  "grams": "weight", "g": "weight", "tonnes": "weight", "lbs": "weight", "°c": "temperature",
                  "°f": "temperature", "degrees": "temperature", "cm": "length", "mm": "length", "metres": "length",
                  "meters": "length", "miles": "distance", "km": "distance", "litres": "volume", "liters": "volume",
                  "ppm": "level", "db": "noise", "decibels": "noise", "%": "percentage", "percent": "percentage"}


#: "An ammonia reading above 0.25 ppm marks the tank unsafe", "any lamb born under 2.5 kg flags it": the condition
#: said as what the subject is, and the act as its verb; read as "when a reading is above 0.25 ppm, mark ..."
_MODIFIED = re.compile(r"(?:a|an|any|each|every)\s+(?P<subj>[a-z][a-z' ]*?)\s+(?P<cmp>above|over|below|under|"
                       r"more than|less than|greater than|higher than|lower than|of at least|of more than|"
                       r"of less than)\s+(?P<num>[£$€]?\d+(?:\.\d+)?\s*(?:°c|°f|%|[a-z]+)?)\s+(?P<verb>[a-z]+)\s+"
                       r"(?P<rest>.+)")


#: "Flag any lamb born under 2.5 kg for extra feeding": the imperative, the records it applies to, the condition
IMPERATIVE = re.compile(r"(?P<verb>flag|mark|highlight)\s+(?:any|every|each|all)\s+(?P<subj>[a-z][a-z']*(?: [a-z][a-z']*)?)"
                        r"\s+(?:(?:born|weighing|weighed|measured|recorded|logged|that is|that are|which is|which are|"
                        r"with a [a-z]+ of|with an? [a-z]+)\s+)?(?P<cmp>above|over|below|under|more than|less than)\s+"
                        r"(?P<num>[£$€]?\d+(?:\.\d+)?\s*(?:°c|°f|%|[a-z]+)?)\s+(?P<rest>(?:as|for|with)\s+.+)")


def _as_when(ctx):
    """The feature said with "when" (a new context), or None when it is not of that shape."""
    from dataclasses import replace

    from .text import verb_base

    if re.search(rf"\b{_WHEN}\b", ctx.low):
        return None
    m = IMPERATIVE.fullmatch(ctx.low.strip().rstrip("."))
    if m is not None:  # "flag any lamb born under 2.5 kg for extra feeding"
        subj = m.group("subj")
        return replace(ctx, text=f"When {'an' if subj[0] in 'aeiou' else 'a'} {subj} is {m.group('cmp')} "
                                 f"{m.group('num')}, {m.group('verb')} it {m.group('rest')}")
    m = _MODIFIED.fullmatch(ctx.low.strip().rstrip("."))
    if m is None:
        return None
    verb = m.group("verb")
    base = verb_base(verb) if verb.endswith("s") else None
    if not base or base == verb:
        return None  # "a reading above 8 sends ...": a verb of the subject, in the present
    subj = m.group("subj")
    return replace(ctx, text=f"When {'an' if subj[0] in 'aeiou' else 'a'} {subj} is {m.group('cmp')} "
                             f"{m.group('num')}, {base} {m.group('rest')}")


def b_trigger(ctx) -> dict:
    """"When a defect is marked safety, open a repair ticket for its van": the watched record, its condition and
    the one action."""
    from .capmap import NotFit, _main

    said = _as_when(ctx)
    if said is not None:
        return b_trigger(said)

    timed = TIME_RULE.match(ctx.low.strip())
    if timed:
        return _time_trigger(ctx, timed)
    span = _SPAN.search(ctx.low)
    if span:
        return _planned(ctx, _span_trigger(ctx, span))
    if not re.search(rf"\b{_WHEN}\b|\bwhile\b|\bas soon as\b", ctx.low):
        raise NotFit("the feature does not say when something should happen by itself (when, whenever, if, once)")
    subject = re.search(rf"\b{_WHEN}\s+(?:a |an |the |its |their |each |any )?([a-z]+)(?:'s)?(?: ([a-z]+))?", ctx.low)
    named = [safe_name(singular(w)) for w in (subject.groups() if subject else ()) if w]
    ent = next((n for n in ([safe_name("_".join(named))] if len(named) > 1 else []) + named
                if n in ctx.draft.entities), None) or _holder_of(ctx, named[:1]) or _main(ctx, prefer_things=True)
    passive = _PASSIVE.match(ctx.low.strip())
    action = None
    if passive and safe_name(singular(passive.group("subj").split()[-1])) in ctx.draft.entities:
        # "sessions are cancelled when the wind speed goes above 20 knots": the session is set to cancelled
        ent = safe_name(singular(passive.group("subj").split()[-1]))
        action = _passive_action(ctx, ent, passive)
    if ent not in ctx.draft.entities:
        raise NotFit("the words do not name the record that is watched")
    action = action or _action(ctx, ent)
    cond = _threshold(ctx, ent) or _enum_condition(ctx, ent)
    if cond is None:
        raise NotFit("the words do not say which value of the record sets it off (a status, or a number over a "
                     "threshold)")
    if cond.get("on") == "create":  # "as soon as an accident report is written": each new record
        if action["type"] == "block":
            raise NotFit("a block needs a condition the record may stop meeting, not its being added")
        return _planned(ctx, {"entity": ent, "on": "create", "conditions": [], "action": action})
    if action["type"] == "set" and action.get("via_field") is None and action["field"] == cond["field"]:
        raise NotFit("the record's own status would both set it off and be set by it")
    return _planned(ctx, {"entity": ent, "on": "create_or_change", "conditions": [cond], "action": action})
