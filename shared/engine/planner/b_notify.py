"""Planner builders for the kinds that tell people or keep watch: reminders, audit log, live board and follow
(wired into `capmap.BUILDERS`)."""

from __future__ import annotations

import re

from .b_common import (
    _CHECKOUT_NOUNS,
    FeatureCtx,
    NotFit,
    _days,
    _days_word,
    _ensure,
    _field_named,
    _has,
    _main,
    _recipient_path,
)
from .draft import ident, is_event, safe_name
from .text import singular


def _dated_by_words(ctx: FeatureCtx) -> str | None:
    """The record whose date field the feature's words name ("expiry alerts" -> donation.expiry_date)."""
    d = ctx.draft
    for e in ctx.mentioned + [x for x in d.entities if x not in ctx.mentioned]:
        for f in d.fields_of(e, "date", "datetime"):
            if f.origin == "catalogue" and e not in ctx.mentioned:
                continue
            if any(p in ctx.words for p in f.name.split("_") if len(p) > 3 and p not in ("date", "time")):
                return e
    return None


def _custody_reminder(ctx: FeatureCtx) -> dict | None:
    """ "Email borrowers when a loan is 7 days overdue": with check-outs planned, the reminder watches their due
    time and goes to the holder (a holder record's address, or the holding user's login email)."""
    from .capmap import cap_id

    d = ctx.draft
    if not d.planned.get("custody") or not ctx.has(r"overdue|late|past due|unreturned|not (been )?returned"):
        return None
    items = [c["item_entity"] for c in d.planned["custody"]]
    if not (ctx.has(_CHECKOUT_NOUNS) or any(i in ctx.mentioned for i in items) or (
            not ctx.mentioned and len(items) == 1)):  # "overdue reminders by email" after "lend scores to singers"
        return None
    custody = next((c for c in d.planned["custody"] if c["item_entity"] in ctx.mentioned), d.planned["custody"][0])
    channel = "sms" if ctx.has(r"sms|texts?|text messages?|phone") else "email"
    holder = custody.get("holder_entity")
    want = "phone" if channel == "sms" else "email"
    recipient = None
    if holder:
        recipient = next((f.name for f in d.fields_of(holder, want)), None) or _ensure(ctx, holder, want, want)
    elif channel == "sms":
        return None  # a login has no phone number
    late = re.search(r"\b(?:more than |over |at least )?(\d+|[a-z]+) days? (?:overdue|late|past due)\b|\b(?:overdue|late) "
                     r"(?:by |for )(?:more than |over )?(\d+|[a-z]+) days?\b", ctx.low)
    # the words may name someone else ("email the librarian"): the reminder still goes to the holder, and the
    # certification says the named recipient is not the one told
    return {"custody": cap_id("custody", custody), "entity": custody["item_entity"], "field": "due_at",
            "rule": "overdue", "days": (_days_word(late.group(1) or late.group(2)) if late else None) or 0,
            "channel": channel, "recipient_field": recipient}


def b_reminders(ctx: FeatureCtx) -> dict:
    from .rules import stated_recipients

    d = ctx.draft
    held = _custody_reminder(ctx)
    if held is not None:
        return held
    ent = _main(ctx)
    told = [safe_name(n) for n in stated_recipients(ctx.text) if n not in ("me", "us", "everyone")]
    named = re.search(r"\b(?:e-?mail|text|sms|remind|notify|tell) (?:the|their|its|each) ([a-z]+)\b", ctx.low)
    if not told and named and safe_name(singular(named.group(1))) in d.roles:  # "email the translator": a role
        told = [safe_name(singular(named.group(1)))]
    rota = next((r for r in d.planned.get("rotation") or [] if told and r["member_entity"] == told[0]), None)
    if rota and not any(m not in (told[0], rota["entity"]) and d.fields_of(m, "date", "datetime")
                        for m in ctx.mentioned):
        # "text the member on duty the evening before", with a rota planned: the member's turn (the rota's work,
        # by its date) is what comes due, and the member it is assigned to is told
        ent = rota["entity"]
    elif told and ent == told[0]:  # "text the owner two days before a booked visit": the visit is reminded of
        ent = next((m for m in ctx.mentioned if m != ent and d.fields_of(m, "date", "datetime")), ent)
    before = re.search(r"\bbefore (?:a|an|each|every|the|their|its|his|her) (?:booked |next |scheduled |upcoming )?"
                       r"([a-z]+)", ctx.text.lower())
    if before and safe_name(singular(before.group(1))) in d.entities:  # "... before a booked visit": the visit
        ent = safe_name(singular(before.group(1)))
    # "a reminder 7 days after each inspection": a span after the date the record names (its own date)
    after = re.search(r"\b(\d+|[a-z]+) (days?|weeks?) after (?:a|an|each|every|the|their|its) ([a-z]+)", ctx.low)
    since = safe_name(singular(after.group(3))) if after else None
    if since in d.entities:
        ent = since
    elif not ctx.explicit or not _field_named(ctx, ent, ("date", "datetime", "integer", "decimal", "money")):
        ent = _dated_by_words(ctx) or ent
    channel = "sms" if ctx.has(r"sms|texts?|text messages?|phone") else "email"
    if ctx.has(r"above|exceeds?|over -?\d+|higher than|more than|rises?") and not ctx.has(
            r"\d+ days? (overdue|late)|(more than|over) \w+ days? (overdue|late)"):
        raise NotFit("the reminders capability alerts when a number falls below a threshold or a date comes "
                     "due, not when a number rises above a limit")
    if ctx.has(r"low[- ]stock|running low|runs? (out|low)|below|falls?(?![a-z]| due)|thresholds?|minimum|under \d+"):
        numeric = _field_named(ctx, ent, ("integer", "decimal", "money"))
        if numeric is None:
            for e in ctx.mentioned + list(d.entities):
                cand = next((f.name for f in d.fields_of(e, "integer", "decimal")
                             if re.search(r"stock|quantity|level|count|left|remaining|supply", f.name)), None)
                if cand:
                    ent, numeric = e, cand
                    break
        if numeric is None:
            numeric = _ensure(ctx, ent, "quantity", "integer", min=0)
        thr = ctx.number(r"(?:below|under|less than|fewer than|at)\s+(-?\d+(?:\.\d+)?)")
        rule, fld, days, threshold = "below_threshold", numeric, None, thr if thr is not None else 5.0
    else:
        dates = [f.name for f in d.fields_of(ent, "date", "datetime")]
        named = _field_named(ctx, ent, ("date", "datetime"))
        overdue = ctx.has(r"overdue|late|past due|unpaid|missed|expired")
        span = (_days_word(after.group(1)) or 0) * (7 if after.group(2).startswith("week") else 1) \
            if since in d.entities else 0
        if span and not overdue:  # the record's own date (not a due date), passed by the days the words give
            fld = named or next((n for n in dates if not re.search(r"due|end|until|deadline|expir", n)), None) \
                or _ensure(ctx, ent, "date", "date")
            rule, days, threshold = "overdue", span, None
        elif overdue:
            fld = named or next((n for n in dates if re.search(r"due|end|until|deadline|return|expir", n)), None)
            fld = fld or _ensure(ctx, ent, "due_date", "date")
            late = re.search(r"\b(?:more than |over |at least )?(\d+|[a-z]+) days? (?:overdue|late|past due|unpaid|"
                             r"unreturned)\b|\b(?:overdue|late|unpaid|unreturned) (?:by |for )(?:more than |over )?"
                             r"(\d+|[a-z]+) days?\b", ctx.low)
            grace = _days_word(late.group(1) or late.group(2)) if late else None
            rule, days, threshold = "overdue", grace, None
        else:
            fld = named or next((n for n in dates if re.search(r"start|due|date|at|on", n)), None)
            if not fld and not dates and is_event(ent) and ctx.has(r"before (a|an|each|every|the|their) \w+"):
                fld = _ensure(ctx, ent, "start_at", "datetime")  # "two hours before a walk": when it starts
            falls = re.search(r"(?:'s|\btheir|\bits|\bthe|\beach)\s+([a-z]+(?: [a-z]+)?)\s+(?:falls|is|comes|becomes|"
                              r"fall|are|come|become) due\b", ctx.low)
            if not fld and falls and falls.group(1).split()[-1] not in ("rent", "payment", "fee", "invoice", "bill"):
                fld = _ensure(ctx, ent, f"{ident(falls.group(1))}_due_date"[:40], "date")  # "its calibration falls due"
            fld = fld or (dates[0] if dates else None) or _ensure(ctx, ent, "due_date", "date")
            rule, days, threshold = "due_in_days", _days(ctx, 1), None
    want = "phone" if channel == "sms" else "email"
    named = told
    path = _recipient_path(ctx, ent, named[0], want) if named else None
    if path:  # "email the translator ...": the translator linked to the job, by their own address
        recipient = path
    elif named:  # "text the parents", "email reminders to owners": the person the words name, by their contact
        recipient = next((f.name for f in d.fields_of(ent, want) if named[0] in f.name.split("_")), None) or \
            _ensure(ctx, ent, f"{named[0]}_{want}", want)
    else:
        recipient = next((f.name for f in d.fields_of(ent, want)), None)
    if recipient is None and channel == "sms":  # a text message needs a number to go to
        recipient = _ensure(ctx, ent, "phone", "phone")
    return {"entity": ent, "field": fld, "rule": rule, "days": days, "threshold": threshold, "channel": channel,
            "recipient_field": recipient}


def b_audit_log(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    named = [m for m in ctx.mentioned if not d.entities[m].join]
    if ctx.has(r"everything|all records|whole app|every record") or (
            ctx.has(r"every change|all changes") and not ctx.explicit):
        ents = [e for e in d.entities if not d.entities[e].join]
    elif ctx.explicit and named:  # "every change to a firing": the firings
        ents = named
    else:
        ents = [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    return {"entities": ents}


def b_live_board(ctx: FeatureCtx) -> dict:
    from .capmap import CUES

    d = ctx.draft
    ents = [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    if not ctx.explicit and d.planned.get("rotation") and any(_has(ctx.low, p) for p in CUES["rotation"]):
        ents = [d.planned["rotation"][0]["entity"]]  # "live board of who is on call": the rota's work
    return {"entities": ents}


def b_follow(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    topic = None
    for f in d.fields_of(ent, "text", "enum", "reference"):
        parts = f.name.removesuffix("_id").split("_")
        if all(p in ctx.words for p in parts) and f.name != d.entities[ent].fields and f.type != "long_text":
            topic = f.name
            break
    if topic is None:
        for m in ctx.mentioned:
            if m != ent and f"{m}_id" in d.entities[ent].fields:
                topic = f"{m}_id"
                break
    if topic is None and ctx.has(r"tags?|topics?|categor(y|ies)"):
        word = "tag" if ctx.has(r"tags?") else "topic" if ctx.has(r"topics?") else "category"
        topic = _ensure(ctx, ent, word, "text")
    return {"entity": ent, "topic_field": topic}
