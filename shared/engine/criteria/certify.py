"""Status that follows from the reading (issue 16), never from the binding alone.

`certify(spec)` returns the spec with every trace entry's `reading`, `criteria`, `built_as`, `not_built` and
`status` recomputed from the feature's words and the capabilities bound to it:

* `planned` only when every content word is read, the record the words name is the one a capability acts on,
  every stated rule is realised by a capability whose parameters carry the rule's own number and nouns
  (`kinds.REALISES`) and exercised by a criterion, and every capability has criteria (`kinds.DERIVE`);
* `partial` otherwise, with `not_built` saying what is missing in the founder's words;
* `not_covered` when no capability is bound (the planner's reason stands).

QA calls it again on the project's `app/spec.json` and then requires the criteria to pass before a feature is
`built`, so a spec cannot certify itself by its stored statuses.
"""

from __future__ import annotations

from ..appspec.model import Criterion, FeatureReading
from . import cid, entity_label, field_label, noun_matches
from .kinds import DERIVE, REALISES

_lbl = entity_label
_flabel = field_label

#: Params naming the record a capability acts on first (the one a feature's record noun must be).
PRIMARY = {
    "records": ("entity",), "booking": ("resource", "entity"), "workflow": ("entity",),
    "ledger": ("charge_entity", "participant_entity"), "reminders": ("entity",), "audit_log": ("entities",),
    "custody": ("item_entity",), "live_board": ("entities",), "search": ("entity",), "attachments": ("entity",),
    "public_page": ("entity",), "checklist": ("entity",), "versioning": ("entity",), "ratings": ("entity",),
    "leaderboard": ("awards",), "rotation": ("entity", "member_entity"), "payments": ("entity",),
    "export": ("entities", "pdf_entity"), "ai_summary": ("entity",), "matrix": ("row_entity", "column_entity",
                                                                                 "via_entity"),
    "follow": ("entity",), "trigger": ("entity",), "document": ("entity", "line_entity"),
}
_ENTITY_PARAMS = ("entity", "resource", "item_entity", "holder_entity", "charge_entity", "participant_entity",
                  "member_entity", "row_entity", "via_entity", "column_entity", "pdf_entity", "line_entity",
                  "child_entity")


def _scope_criteria(spec, caps, reading, index: int, criteria: list) -> list:
    """ "Members see only their own bookings" bound to a capability other than records (the booking): the read scope
    is the role's, on the entity the capability acts on, so the records' own-rows criterion proves it, tagged with
    the scope rule. Nothing when no scope rule is stated, or a records criterion already exercises it."""
    from .k_records import _derive_records

    rules = [i for i, r in enumerate(reading.rules) if r.category == "scope"]
    if not rules or any(set(rules) & set(c.rules) for c in criteria):
        return []
    out = []
    for cap in caps:
        ents = [e for e in primary(cap) if any(e in r.read_own for r in spec.roles)]
        for ent in ents[:1]:
            from ..capabilities.records import Params as Records

            probe = Records(id=f"records_{ent}"[:40], label=cap.label, entity=ent)
            for n, c in enumerate(x for x in _derive_records(probe, spec, reading, None)
                                  if x["template"] == "records.own_rows"):
                out.append(Criterion(id=cid(f"f{index}", cap.id, f"scope{n}"), text=c["text"][:300],
                                     template=c["template"], params=c["params"], rules=rules, capability=cap.id))
        if out:
            break
    return out


def primary(cap) -> list[str]:
    out: list[str] = []
    for p in PRIMARY.get(cap.kind, ("entity",)):
        v = getattr(cap, p, None)
        if p == "awards":
            out += [a.entity for a in v or [] if getattr(a, "entity", None)]
        elif isinstance(v, list):
            out += v
        elif v:
            out.append(v)
    action = getattr(cap, "action", None)  # a trigger that creates a record acts on it too
    if cap.kind == "trigger" and getattr(action, "type", None) == "create" and getattr(action, "entity", None):
        out.append(action.entity)
    return out


def _told_record(cap, spec) -> str | None:
    """The record a trigger's message goes to ("text the customer when their piece is ready": the job's customer)."""
    from ..capabilities.trigger import acted_on

    action = getattr(cap, "action", None)
    if cap.kind != "trigger" or getattr(action, "type", None) != "notify" or not action.via_field:
        return None
    return acted_on(cap, spec)  # through the join record of a fan-out, or two links away ("their boat's skipper")


def touched(cap, spec=None) -> list[str]:
    """Entities a capability is bound to (and, given the spec, the records they reference)."""
    out: list[str] = []
    for p in _ENTITY_PARAMS:
        v = getattr(cap, p, None)
        if isinstance(v, str):
            out.append(v)
    for p in ("entities",):
        out += list(getattr(cap, p, None) or [])
    out += [a.entity for a in getattr(cap, "awards", None) or [] if getattr(a, "entity", None)]
    action = getattr(cap, "action", None)  # a trigger acts on the record it creates too
    if getattr(action, "type", None) == "create" and getattr(action, "entity", None):
        out.append(action.entity)
    out = list(dict.fromkeys(out))
    if spec is not None and cap.kind == "reminders" and getattr(cap, "custody", None):  # sent to the holder
        held = spec.capability(cap.custody)
        if held is not None and getattr(held, "holder_entity", None) and held.holder_entity not in out:
            out.append(held.holder_entity)
    if spec is not None:
        for n in list(out):
            ent = spec.entity(n)
            for f in ent.fields if ent else []:
                if f.type == "reference" and f.ref not in out:
                    out.append(f.ref)
    return out




def describe(cap, spec) -> str:
    """What a capability does, in the spec's nouns."""
    k = cap.kind
    if k == "records":
        fields = [_flabel(spec, cap.entity, f) for f in cap.fields]
        return f"{_lbl(spec, cap.entity, True)} kept" + (f" with {', '.join(fields)}" if fields else "")
    if k == "booking":
        from ..capabilities._booking_slots import length_words
        length = (f"; every booking lasts exactly {length_words(cap.slot_minutes)}" if cap.slot_minutes else
                  f"; a booking lasts at most {length_words(cap.max_minutes)}" if cap.max_minutes else "")
        return (f"bookings of {_lbl(spec, cap.resource, True)} ({_lbl(spec, cap.entity, True)}); a second booking of "
                f"the same {_lbl(spec, cap.resource)} at an overlapping time is refused" + length)
    if k == "custody":
        held = (f"; one holder holds at most {cap.max_held} at a time" if cap.max_held else "")
        return (f"check-out and check-in of {_lbl(spec, cap.item_entity, True)}, due back after {cap.due_days} days; "
                f"a {_lbl(spec, cap.item_entity)} already out cannot be checked out again" + held)
    if k == "reminders" and cap.custody:  # "overdue check-outs of tools, 7 days after their due time, to ..."
        from ..capabilities.reminders import recipient_words

        n = f"{cap.days or 0} day{'' if cap.days == 1 else 's'}"
        what = (f"overdue check-outs of {_lbl(spec, cap.entity, True)}, "
                + (f"{n} after their due time" if cap.days else "once past their due time")
                if cap.rule == "overdue" else f"check-outs of {_lbl(spec, cap.entity, True)}, {n} before their due time")
        return f"{'SMS' if cap.channel == 'sms' else 'email'} reminders about {what}, to the {recipient_words(cap, spec)}"
    if k == "reminders":
        rule = {"due_in_days": f"{cap.days} days before its {_flabel(spec, cap.entity, cap.field)}",
                "overdue": f"when its {_flabel(spec, cap.entity, cap.field)} has passed",
                "below_threshold": f"when its {_flabel(spec, cap.entity, cap.field)} is below {cap.threshold:g}"
                if cap.threshold is not None else "below a threshold"}[cap.rule]
        from ..capabilities.reminders import recipient_words

        who = recipient_words(cap, spec)
        to = f"the {who}" if who else f"the user who created the {_lbl(spec, cap.entity)}"
        return f"{'SMS' if cap.channel == 'sms' else 'email'} reminders for a {_lbl(spec, cap.entity)} {rule}, to {to}"
    if k == "workflow":
        def by(t) -> str:
            if not t.mover_link:
                return ", ".join(t.roles) or "owner"
            person = t.mover_link[-1].removesuffix("_id").replace("_", " ")
            return f"the {_lbl(spec, cap.entity)}'s own {person}" + (" or the owner" if "owner" in t.roles else "")
        moves = "; ".join(f"{t.name.replace('_', ' ')} by {by(t)}" for t in cap.transitions[:4])
        return f"{_lbl(spec, cap.entity, True)} move through {', '.join(cap.states)} ({moves})"
    if k == "payments":
        fee = f", the platform keeps {cap.platform_fee_percent:g}%" if cap.platform_fee_percent else ""
        return f"card payments for {_lbl(spec, cap.entity, True)} of their {_flabel(spec, cap.entity, cap.amount_field)}{fee}"
    if k == "ratings":
        return f"ratings of {_lbl(spec, cap.entity, True)} from 1 to {cap.scale}, one per user"
    if k in ("limit", "selection"):
        ent = spec.entity(cap.entity)
        ref = ent.field(cap.parent_field) if ent and cap.parent_field else None
        parent = _lbl(spec, ref.ref) if ref is not None and ref.ref else (cap.parent_field or "").removesuffix("_id")
        if k == "selection":
            return (f"a {parent}'s {_lbl(spec, cap.entity, True)}: choosing one makes it {cap.chosen_value} and the "
                    f"others {cap.declined_value}; a second choice for the same {parent} is refused")
        amount = (f"{_flabel(spec, cap.entity, cap.sum_field).lower()} of its {_lbl(spec, cap.entity, True)}"
                  if cap.sum_field else _lbl(spec, cap.entity, True))
        most = (f"its {_flabel(spec, ref.ref if ref is not None and ref.ref else '', cap.max_field)}"
                if cap.max_field else f"{cap.max}")
        per = f" per {cap.period}" if cap.period else ""
        scope = getattr(cap, "scope", "parent")
        if scope == "user":
            return f"each user may have at most {most} {amount}{per}; one more is refused"
        if scope == "app":
            return f"at most {most} {amount}{per} in all; one more is refused"
        if getattr(cap, "per_user", False):
            return f"each user may have at most {most} {amount} per {parent}{per}; one more is refused"
        return f"a {parent} takes at most {most} {amount}{per}; one more is refused"
    from ..capabilities import module_for
    from ..planner.capmap import BEHAVIOUR

    said = getattr(module_for(k), "describe_rule", None)
    if said is not None:
        return said(cap, spec)
    names = ", ".join(_lbl(spec, n, True) for n in primary(cap)) or "the app's records"
    return f"{BEHAVIOUR.get(k, k)} on {names}"


def _quote(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in dict.fromkeys(words))


def assess(spec, entry, index: int, reading: FeatureReading | None = None) -> dict:
    """Status, reading, criteria and sentences for one trace entry (see the module docstring)."""
    from ..planner.reading import read_feature

    caps = [c for c in spec.capabilities if c.id in entry.capabilities]
    reading = reading or entry.reading or read_feature(entry.feature, spec, [c.id for c in caps])
    out: dict = {"reading": reading, "criteria": [], "not_built": [], "built_as": None}
    custom = [cid for cid in entry.capabilities if spec.capability(cid) is None]
    if custom and not caps:  # a custom operation the LLM engine wrote (and tested) for this feature
        out.update(status="partial", built_as=f"Built as: a custom operation ({', '.join(custom)}) written for this "
                   f"feature, with tests written alongside it",
                   not_built=["no acceptance criterion checks a custom operation yet; only its own tests ran"])
        return out
    if not caps:
        out["status"] = "not_covered"
        return out
    not_built: list[str] = []
    unread = [u.word for u in reading.words if u.maps_to == "unread"]
    # the record the words name must be the one a capability acts on
    prim = {p for c in caps for p in primary(c)}
    for c in caps:  # a limit or a selection acts on its rows per parent: "each table seats up to 8 guests"
        pf = getattr(c, "parent_field", None) or getattr(c, "party_field", None) or getattr(c, "person_field", None)
        ent = spec.entity(getattr(c, "entity", "") or "")
        ref = ent.field(pf) if ent is not None and pf else None
        if ref is not None and ref.ref:
            prim.add(ref.ref)
        pair = ent.field(c.pair_field) if c.kind == "limit" and ent is not None and getattr(c, "pair_field", None) \
            else None  # a limit per pair acts on both records of the pair: "each locomotive ... per session"
        if pair is not None and pair.ref:
            prim.add(pair.ref)
        rf = getattr(c, "record_field", None)  # an enrolment acts on the record signed up for and its people
        held = ent.field(rf) if ent is not None and rf else None
        if held is not None and held.ref:
            prim.add(held.ref)
        if c.kind == "guard" and ent is not None:  # a guard acts on the record made for someone, and on what it is of
            prim.update(f.ref for f in ent.fields if f.type == "reference" and f.required and f.ref)
            if getattr(c, "test", None) == "count_at_least" and c.child_entity:  # and on the records it counts
                prim.add(c.child_entity)
        if c.kind == "limit" and getattr(c, "scope", "parent") != "parent" and c.period and ent is not None:
            # "15 dogs per day" counted as the day's attendances: each names one dog
            prim.update(f.ref for f in ent.fields if f.type == "reference" and f.required and f.ref)
    near = {t for c in caps for t in touched(c, spec)}
    if reading.record and reading.record not in prim and not any(
            reading.record in touched(c, spec) and c.kind in ("records", "reminders", "workflow")
            or reading.record == _told_record(c, spec) for c in caps):
        kinds = ", ".join(sorted({c.kind for c in caps}))
        not_built.append(f"{_lbl(spec, reading.record, True)}: the {kinds} capability acts on "
                         f"{', '.join(_lbl(spec, p, True) for p in sorted(prim)) or 'other records'} instead")
    for cap in caps:  # "search tutors by subject and hourly price": each named attribute is one the capability uses
        listed = getattr(cap, "fields", None)
        ent = getattr(cap, "entity", None)
        if isinstance(listed, list) and ent and cap.kind in ("search", "public_page"):
            used = set(listed) | set(getattr(cap, "filters", None) or [])
            for attr in reading.attributes:
                e, _, f = attr.partition(".")
                if e == ent and f not in used:
                    not_built.append(f"{cap.kind.replace('_', ' ')} by {_flabel(spec, e, f)}")
    # the record a behaviour acts on must be one the words name: "Overdue reminders by email" names none
    if not reading.record and not reading.attributes and any(c.kind not in ("records", "export", "search",
                                                                              "live_board", "audit_log") for c in caps):
        acting = [c for c in caps if c.kind not in ("records", "export", "search", "live_board", "audit_log")]
        not_built.append(f"which records: the feature names none, and the {acting[0].kind.replace('_', ' ')} "
                         f"capability acts on {', '.join(_lbl(spec, p, True) for p in primary(acting[0]))}")
    # the object of a behaviour is a record, not a field: "Lend scores to singers" with `score` a singer's field
    words = reading.words
    for i, u in enumerate(words[:-1]):
        nxt = words[i + 1]
        if u.maps_to.startswith("capability:") and nxt.maps_to.startswith("field:") and nxt.word.endswith("s") \
                and not nxt.word.endswith("ss"):
            cap_kind = next((c.kind for c in caps if c.id == u.maps_to.split(":", 1)[1].split(".")[0]), "")
            if cap_kind in ("custody", "booking", "ratings", "workflow", "reminders", "rotation", "payments",
                            "attachments", "checklist", "versioning", "follow"):
                e, _, f = nxt.maps_to[6:].partition(".")
                not_built.append(f"{nxt.word}: kept only as the {_flabel(spec, e, f)} of {_lbl(spec, e, True)}, not "
                                 f"as records the {cap_kind.replace('_', ' ')} capability acts on")
    # a field the words name must belong to a record the feature's capabilities act on
    for u in words:
        if u.maps_to.startswith("field:"):
            e, _, f = u.maps_to[6:].partition(".")
            if e not in near and e != reading.record:
                not_built.append(f"{u.word}: a field of {_lbl(spec, e, True)}, which this feature's capabilities do "
                                 f"not act on")
    # "vaccination history" is the list of vaccinations over time; an audit trail records edits to rows
    said = {u.word for u in words}
    if any(c.kind == "audit_log" for c in caps) and said & {"history", "histories"} and not said & {
            "audit", "audited", "auditing", "tamper", "tamper-evident", "tamper-proof", "trail", "changes", "changed",
            "edits", "edited", "who", "append-only", "immutable", "log", "changelog"}:
        not_built.append("the history as a list over time: the app keeps an audit trail of edits to the records, "
                         "not a list of them per record they belong to")
    # statuses the founder did not name are the planner's guess
    idea_text = " ".join([spec.purpose, *spec.features]).lower()
    for c in caps:
        if c.kind == "workflow":
            later = [st for st in c.states if st != c.initial]
            named = [st for st in later if st.replace("_", " ") in idea_text or st.replace("_", "-") in idea_text]
            if not named:
                not_built.append(f"which statuses: the idea names none, so the app uses "
                                 f"{', '.join(st.replace('_', ' ') for st in c.states)}")
    aside: list[str] = []
    for u in reading.words:
        if u.maps_to.startswith("entity:"):
            name = u.maps_to.split(":", 1)[1]
            if name not in near and name != reading.record and spec.entity(name) is not None and name not in aside:
                aside.append(name)
    if aside:
        kinds = ", ".join(sorted({c.kind for c in caps}))
        not_built.append(f"{', '.join(_lbl(spec, n, True) for n in aside)}: named, but the {kinds} capability acts on "
                         f"{', '.join(_lbl(spec, p, True) for p in sorted(prim)) or 'other records'}")
    # rules: realised by a bound capability's parameters, and exercised by a criterion
    criteria: list[Criterion] = []
    for cap in caps:
        derive = DERIVE.get(cap.kind)
        if derive is None:
            from ..planner.capmap import BEHAVIOUR

            not_built.append(f"no acceptance criterion can check {BEHAVIOUR.get(cap.kind, cap.kind)} yet")
            continue
        for n, c in enumerate(derive(cap, spec, reading, entry.feature)):
            rules = [i for i in c.get("rules", []) if 0 <= i < len(reading.rules)
                     and REALISES.get(cap.kind, lambda *a: False)(cap, spec, reading.rules[i], reading)]
            criteria.append(Criterion(id=cid(f"f{index}", cap.id, str(n)), text=c["text"][:300],
                                      template=c["template"], params=c.get("params") or {}, rules=rules,
                                      capability=cap.id))
    scoped = _scope_criteria(spec, caps, reading, index, criteria)
    criteria += scoped
    exercised = {i for c in criteria for i in c.rules}
    realised: list[str] = []
    for i, rule in enumerate(reading.rules):
        by = [c for c in caps if REALISES.get(c.kind, lambda *a: False)(c, spec, rule, reading)]
        if rule.category == "scope" and any(i in c.rules for c in scoped):
            by = [c for c in caps if c.id in {x.capability for x in scoped}]
        if by and i in exercised:
            realised.append({"recipient": f"to the {rule.words}", "channel": f"by {rule.words.lower()}"}.get(
                rule.category, rule.words))
        elif by:
            not_built.append(f"{rule.words} (no criterion exercises it)")
        else:
            not_built.append(rule.words)
    for eff in reading.effects:
        if eff.kind in ("create", "change") and not any(c.kind in ("workflow", "trigger") for c in caps):
            not_built.append(f"{eff.words} (nothing happens by itself when it should)")
    if unread:
        not_built.append(f"nothing in the app does {_quote(unread)}")
    built = "; ".join(describe(c, spec) for c in caps)
    if realised:
        built += "; enforced: " + "; ".join(f"'{w}'" for w in realised)  # the founder's words, quoted
    out.update(criteria=criteria, not_built=list(dict.fromkeys(not_built)), built_as=("Built as: " + built)[:400],
               status="partial" if not_built or not criteria else "planned")
    if out["status"] == "partial" and not out["not_built"]:
        out["not_built"] = ["no acceptance criterion could be derived for it"]
    return out


def certify(spec):
    """The spec with every trace entry assessed from its reading (a new AppSpec; the input is not changed)."""
    trace = []
    for i, t in enumerate(spec.trace):
        a = assess(spec, t, i)
        if t.status == "not_covered" and t.capabilities and t.reason:  # the planner built only part of it
            a["status"] = "partial"
            a["not_built"] = [t.reason.removeprefix("Only part of it is planned: ")] + [
                x for x in a["not_built"] if x != t.reason]
        data = t.model_dump()
        data.update(reading=a["reading"].model_dump(), criteria=[c.model_dump() for c in a["criteria"]],
                    built_as=a["built_as"], not_built=a["not_built"], status=a["status"])
        if a["status"] == "partial":
            data["reason"] = ("Not built: " + "; ".join(a["not_built"]))[:400]
        elif a["status"] == "planned":
            data["reason"] = None
        trace.append(data)
    return spec.model_copy(update={"trace": [type(spec.trace[0]).model_validate(d) for d in trace]} if trace else {})


def rule_nouns_match(rule, *names: str | None) -> bool:
    """True when the rule names no noun, or one of its nouns names one of `names`."""
    if not rule.nouns:
        return True
    return any(noun_matches(n, name) for n in rule.nouns for name in names if name)


def reading_problems(spec) -> list[str]:
    """The accounting check (both planners; the LLM's repair check): every trace entry has a reading whose words
    are exactly the feature's content words, each mapped to something the spec has or marked `unread`, and whose
    rules quote the feature's own words. A reading that drops a word silently is refused."""
    from collections import Counter

    from ..planner.reading import content_words

    p: list[str] = []
    caps = {c.id: c for c in spec.capabilities}
    for t in spec.trace:
        r = t.reading
        if r is None:
            p.append(f"trace of {t.feature!r} has no reading: account for every content word of the feature")
            continue
        want = Counter(content_words(t.feature))
        have = Counter(u.word.lower() for u in r.words)
        lost = sorted((want - have).elements())
        extra = sorted((have - want).elements())
        if lost:
            p.append(f"the reading of {t.feature!r} drops the words {lost}: map each to what realises it, or mark it "
                     f"'unread'")
        if extra:
            p.append(f"the reading of {t.feature!r} lists words the feature does not have: {extra}")
        for u in r.words:
            kind, _, target = u.maps_to.partition(":")
            ok = True
            if kind == "entity":
                ok = spec.entity(target) is not None
            elif kind == "field":
                e, _, f = target.partition(".")
                ok = spec.entity(e) is not None and spec.entity(e).field(f) is not None
            elif kind == "role":
                ok = spec.role(target) is not None
            elif kind == "capability":
                ok = target.split(".")[0] in caps and target.split(".")[0] in t.capabilities
            elif kind == "rule":
                ok = target.isdigit() and int(target) < len(r.rules)
            elif kind == "effect":
                ok = target.isdigit() and int(target) < len(r.effects)
            elif kind == "action":
                ok = bool(target)
            else:
                ok = u.maps_to in ("page", "app", "unread")
            if not ok:
                p.append(f"the reading of {t.feature!r} maps {u.word!r} to {u.maps_to!r}, which the spec does not have "
                         f"(use entity:, field:, role:, capability:<id of this feature>, rule:<n>, effect:<n>, "
                         f"action:<verb>, page, app or unread)")
        low = " ".join(t.feature.lower().split())
        for rule in r.rules:
            if " ".join(rule.words.lower().split()) not in low:
                p.append(f"rule {rule.words!r} of {t.feature!r} is not the feature's own words; quote them verbatim")
    return p
