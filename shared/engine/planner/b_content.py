"""Planner builders for the kinds that show, keep or derive content: search, attachments, public page, checklist,
versioning, ratings, leaderboard, export, AI summary and matrix (wired into `capmap.BUILDERS`)."""

from __future__ import annotations

import re

from .b_common import (
    NUMBER_WORDS,
    FeatureCtx,
    NotFit,
    _ensure,
    _field_named,
    _main,
    _src,
    with_digits,
)
from .draft import Draft, clip, ident, named_items, safe_name


def b_search(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx, prefer_things=False)
    textual = [f.name for f in d.fields_of(ent, "text", "long_text")]
    named = [n for n in textual if d.entities[ent].fields[n].source == _src(ctx)
             or all(p in ctx.words for p in n.split("_"))]
    fields = named or textual
    if not fields:
        fields = [_ensure(ctx, ent, "name", "text")]
    return {"entity": ent, "fields": fields}


def b_attachments(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    owner = next((e for e in ctx.mentioned if any(f.type == "file" and f.source == _src(ctx)
                                                  for f in d.fields_of(e))), None)
    ent = owner or _main(ctx)
    types = []
    if ctx.has(r"photos?|images?|pictures?|scans?|snap\w*"):
        types += ["image/png", "image/jpeg", "image/webp"]
    if ctx.has(r"pdfs?|documents?|scans?|files?|contracts?|receipts?|reports?"):
        types += ["application/pdf"]
    out = {"entity": ent}
    if types:
        out["allowed_types"] = list(dict.fromkeys(types))
    return out


def b_public_page(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    e = d.entities[ent]
    shown = [f.name for f in e.fields.values() if f.type not in ("reference", "file", "email", "phone")][:6]
    if not any(n in e.fields for n in ("name", "title")):  # the display field titles each public entry
        shown = [_ensure(ctx, ent, "name", "text"), *shown][:6]
    published = next((f.name for f in d.fields_of(ent, "boolean") if f.name in ("published", "public", "visible",
                                                                             "available", "active")), None)
    if published is None and ctx.has(r"publish\w*|public|visible"):
        published = _ensure(ctx, ent, "published", "boolean", default=False)
    return {"entity": ent, "fields": shown, "published_field": published, "qr": True}


def b_checklist(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    # "checklist per pupil", "each ringing session has a checklist": the record each checklist belongs to
    grouped = [safe_name(it.name) for it in ctx.interps if it.np and (it.np.prep == "per" or it.np.each)
               and safe_name(it.name) in d.entities and not d.entities[safe_name(it.name)].join]
    return {"entity": grouped[0] if grouped else _main(ctx), "items": named_items(ctx.text)}


def b_versioning(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    fld = _field_named(ctx, ent, ("long_text",)) or next((f.name for f in d.fields_of(ent, "long_text")), None)
    fld = fld or _ensure(ctx, ent, "body", "long_text")
    return {"entity": ent, "field": fld}


#: the verbs that rate a record, in their base form ("rate", "scores" -> score)
_RATE_VERB = r"rate|score|grade|mark|review|judge|assess|evaluate|vote|star"


def b_ratings(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb
               and safe_name(it.name) in d.entities]
    # "clients see their own sites and rate each visit": the object of the rating verb, before any other verb's
    rated = [o for o, it in zip(objects, [it for it in ctx.interps if it.np and it.np.prep is None
                                          and it.np.after_verb and safe_name(it.name) in d.entities], strict=True)
             if re.fullmatch(_RATE_VERB, it.np.after_verb)]
    objects = rated + [o for o in objects if o not in rated]
    ent = objects[0] if objects else _main(ctx, prefer_things=False)  # "singers rate each piece": the piece
    low = with_digits(re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b",
                             lambda m: str(NUMBER_WORDS[m.group(1)]), ctx.low))
    m = re.search(r"(\d+)[- ]stars?|out of (\d+)|(?:from )?[01] to (\d+)|\b[01][-–](\d+)\b|(\d+)[- ]point scale", low)
    scale = float(next(g for g in m.groups() if g)) if m else None
    if scale is None and ctx.has(r"up-?vot\w*|down-?vot\w*|vot(e|es|ed|ing)|thumbs up"):
        scale = 2  # a vote is a two-point rating: against or for
    # "graders score each wheel", "students rate the course": the role named as the subject is who rates
    # ("the host scores each act": one named with "the" is who rates too)
    raters = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb is None
              and (it.plural or it.np.det == "the") and safe_name(it.name) in d.roles and safe_name(it.name) != ent]
    out = {"entity": ent, "scale": int(scale) if scale and 2 <= scale <= 10 else 5,
           "with_review": ctx.has(r"reviews?|comments?|feedback"), "raters": raters[:1]}
    criteria = rating_criteria(ctx, ent)
    if criteria:
        out["criteria"] = criteria
    out.update(rating_opens(ctx, ent))
    return out


#: "score each wheel for texture and flavour", "rate dishes on taste, value and presentation": what is scored is
#: the list of nouns after "for"/"on" (never a record, a person, a number or "a scale")
_CRITERIA = re.compile(r"\b(?:for|on)\s+(?:(?:its|their|the)\s+)?([a-z][a-z-]*(?:\s*,\s*[a-z][a-z-]*)*"
                       r"(?:\s*,?\s*(?:and|&)\s+[a-z][a-z-]*)?)")


def rating_criteria(ctx: FeatureCtx, ent: str) -> list[str]:
    """The criteria a rating's words score each record on, in order, or [] for one overall score."""
    from ..textutil import STOPWORDS
    from . import lexicon as lx
    from .text import singular

    d = ctx.draft
    for m in _CRITERIA.finditer(ctx.low):
        items = [w.strip() for w in re.split(r"\s*,\s*|\s+(?:and|&)\s+", m.group(1)) if w.strip()]
        bad = [w for w in items if w in STOPWORDS or w in NUMBER_WORDS or singular(w) in lx.PEOPLE
               or safe_name(singular(w)) in d.entities or safe_name(singular(w)) in d.roles
               or w in ("scale", "each", "every", "all", "them", "it", "stars", "points")]
        if items and not bad:
            return [safe_name(w) for w in dict.fromkeys(items)][:8]
    return []


#: "when it comes back", "once they are returned", "after it is delivered": an event in the record's life
_EVENT = re.compile(r"\b(?:when|once|after|as soon as)\s+(?:it|they|the\s+[a-z]+|each\s+[a-z]+)\s+"
                    r"(?:(has been|have been|is|are|has|have|gets|get)\s+)?([a-z]+)(?:\s+(back|in|out|up|over|off|"
                    r"down|home))?\b")
#: "afterwards", "after it ends", "once the course is over": the record's own date has passed
_AFTER = re.compile(r"\b(?:afterwards?|after\s+(?:it|they|the\s+[a-z]+)\s+(?:ends?|finish(?:es)?|(?:is|are|has|have)"
                    r"\s+(?:over|ended|finished|run|taken place|happened))|(?:once|when)\s+(?:it|they|the\s+[a-z]+)\s+"
                    r"(?:is|are)\s+over|after\s+(?:the|each|every)\s+([a-z]+))\b")


def _base(word: str) -> str:
    """The verb a form after a subject is ("comes" -> come, "returned" -> return), known to the lexicon or not."""
    from . import lexicon as lx
    from .text import verb_base

    if word in lx.IRREGULAR_VERBS:
        return lx.IRREGULAR_VERBS[word]
    if len(word) <= 3:
        return word
    known = verb_base(word)
    if known:
        return known
    if re.search(r"(ss|sh|ch|x|z)es$", word):
        return word[:-2]
    if word.endswith("ied"):
        return word[:-3] + "y"
    if word.endswith("ed"):
        stem = word[:-2]
        return stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsfz" else stem
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _past(base: str) -> str:
    """The past form of a verb, for naming the date of an event ("come" -> came, "return" -> returned)."""
    from . import lexicon as lx

    odd = next((f for f, b in lx.IRREGULAR_VERBS.items() if b == base and f != base and not f.endswith(("s", "ing"))),
               None)
    if odd:
        return odd
    if base.endswith("e"):
        return base + "d"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    return base + "ed"


def rating_opens(ctx: FeatureCtx, ent: str) -> dict:
    """When the words open a record to rating: {opens_field, opens_values, opens_words}, or {} for any time.

    "afterwards", "after the course": once the record's own date has passed (its end, else its date, else a new
    `date`). "when it comes back", "once it is delivered": once the event has happened, which the record keeps as a
    state its enum field names ("returned", "back") or as the date of the event (an existing date field named by the
    verb, else a new one named after it: came_back_on, delivered_on)."""
    from .text import singular

    d = ctx.draft
    m = _AFTER.search(ctx.low)
    if m and (m.group(1) is None or safe_name(singular(m.group(1))) == ent):
        dates = [f.name for f in d.fields_of(ent, "date", "datetime")]
        end = next((n for n in dates if re.search(r"(^|_)(end|ends|ended|finish|finishes|until|to)(_|$)", n)), None)
        usual = next((n for n in dates if n in ("date", "day", "start_at", "starts_at", "start", "start_date",
                                               "starts_on", "held_on")), None)
        field = end or usual or (dates[0] if dates else _ensure(ctx, ent, "date", "date"))
        return {"opens_field": field, "opens_words": ctx.text[m.start() - 1:m.end() - 1].strip()[:120]}
    m = _EVENT.search(ctx.low)
    if not m:
        return {}
    aux, verb, particle = m.group(1), m.group(2), m.group(3)
    # the word is a verb: a participle after "is"/"has" ("is collected", "has shipped"), else a verb's own form
    # ("comes back", "returns", "arrived"); "once it is ready" names a state no date keeps
    from . import lexicon as lx
    from .text import verb_base

    participle = verb.endswith(("ed", "en")) or verb in lx.IRREGULAR_VERBS
    if not (participle if aux else participle or verb.endswith("s") or verb_base(verb)):
        return {}
    base = _base(verb)
    if base in ("be", "have", "rate", "score", "grade", "review"):
        return {}
    words = ctx.text[m.start() - 1:m.end() - 1].strip()[:120]
    past = verb if participle and verb.endswith("ed") else _past(base)
    for f in d.fields_of(ent, "enum"):
        hit = next((v for v in f.values if v in (past, particle, f"{past}_{particle}")
                    or _base(v.split("_")[0]) == base), None)
        if hit:
            return {"opens_field": f.name, "opens_values": [hit], "opens_words": words}
    named = next((f.name for f in d.fields_of(ent, "date", "datetime")
                  if any(_base(p) == base for p in f.name.split("_") if p not in ("on", "at", "date"))), None)
    field = named or _ensure(ctx, ent, "_".join(x for x in (past, particle, "on") if x), "date")
    return {"opens_field": field, "opens_words": words}


def b_leaderboard(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ents = [m for m in ctx.mentioned if not d.entities[m].people and not d.entities[m].join] or [_main(ctx)]
    pts = ctx.number(r"(\d+)\s*points?")
    period = "month" if ctx.has(r"month\w*") else "all" if ctx.has(r"all[- ]time|overall|season") else "week"
    return {"awards": [{"entity": e, "points": int(pts) if pts and 1 <= pts <= 1000 else 10} for e in ents[:3]],
            "period": period}


#: "the month's bookings", "this week's orders", "a monthly statement", "per quarter": the calendar period a list
#: holds (a noun of time possessive or after a determiner, or an adverb of frequency)
EXPORT_PERIOD = re.compile(
    r"\b(?:(day|week|month|quarter|year)['’]s|(daily|weekly|monthly|quarterly|yearly|annual)|"
    r"(?:this|each|every|per|one|a|the|last|current|previous|chosen|any)\s+(day|week|month|quarter|year))\b")
_PERIOD_OF = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter", "yearly": "year",
              "annual": "year"}


def export_period(low: str) -> str | None:
    """The calendar period an export's words name ("export the year's catches" -> year), or None."""
    m = EXPORT_PERIOD.search(low)
    if not m:
        return None
    return m.group(1) or _PERIOD_OF.get(m.group(2) or "") or m.group(3)


def _date_field(ctx: FeatureCtx, ent: str) -> str:
    """The date that places a row of `ent` in a period: a booking's start, a date field the words name ("delivery"
    -> delivery_date), the first date named like one (date, start...), the first date field, or a new `date`."""
    d = ctx.draft
    booked = next((b for b in d.planned.get("booking", []) if b.get("entity") == ent), None)
    if booked and booked.get("start_field") in d.entities[ent].fields:
        return booked["start_field"]
    dates = [f.name for f in d.fields_of(ent, "date", "datetime")]
    named = next((n for n in dates if any(p in ctx.words for p in n.split("_") if p not in ("at", "on", "date"))),
                 None)
    usual = next((n for n in dates if n in ("date", "start_at", "start", "start_date", "day")), None)
    return named or usual or (dates[0] if dates else _ensure(ctx, ent, "date", "date"))


def b_export(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    # "export the month's bookings": the bookings are the rows the booking behaviour keeps, when it books another
    booked = [b["entity"] for b in d.planned.get("booking", []) if b.get("entity") in d.entities]
    named = booked[:1] if ctx.has(r"bookings?|reservations?") else []
    ents = (named if not ctx.explicit else []) or [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    ents = list(dict.fromkeys(booked[0] if e in ("booking", "reservation") and booked and e not in booked else e
                              for e in ents))
    pdf = ents[0] if ctx.has(r"pdfs?|reports?|print\w*|summary|summaries|certificates?|invoices?") else None
    from .rules import stated_limits

    # "prints no more than 500 copies a month": a period inside a stated limit is the limit's, not a list's
    period = export_period(ctx.low) if not stated_limits(ctx.text) else None
    if period is None:
        return {"entities": ents, "pdf_entity": pdf}
    # the first list named is the one of the period (given a date when it has none); others only when dated
    dated = [e for i, e in enumerate(ents) if i == 0 or d.fields_of(e, "date", "datetime")]
    return {"entities": ents, "pdf_entity": pdf, "period": period,
            "date_fields": {e: _date_field(ctx, e) for e in dated}}


def b_ai_summary(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    src = _field_named(ctx, ent, ("long_text",)) or next((f.name for f in d.fields_of(ent, "long_text")), None)
    src = src or next((f.name for f in d.fields_of(ent, "text")), None) or _ensure(ctx, ent, "content", "long_text")
    classify = ctx.has(r"classif\w*|categori[sz]\w*|triage|labels?|tag\w*|predict\w*|detect\w*|risk|urgency|"
                       r"sentiment|priorit\w*|flag\w*")
    labels: list[str] = []
    named = re.search(r"\b(?:into|as)\s+([a-z][a-z -]*(?:\s*(?:,|\bor\b|\band\b)\s*[a-z][a-z -]*){1,7})", ctx.low)
    if classify and named:  # "classify papers into methods, results or review": those labels
        parts = [ident(p.strip())[:30] for p in re.split(r"\s*(?:,|\bor\b|\band\b)\s*", named.group(1)) if p.strip()]
        labels = [p for p in dict.fromkeys(parts) if p and len(p.split("_")) <= 2]
        labels = labels if len(labels) >= 2 else []
    if classify and not labels:
        enum = next((f for f in d.fields_of(ent, "enum") if any(p in ctx.words for p in f.name.split("_"))), None)
        labels = list(enum.values) if enum else (["low", "medium", "high"] if ctx.has(r"risk|urgency|priorit\w*")
                                                 else ["positive", "neutral", "negative"] if ctx.has(r"sentiment")
                                                 else ["relevant", "not_relevant"])
    return {"entity": ent, "source_field": src, "mode": "classification" if classify else "summary",
            "labels": labels}


def _join(d: Draft, a: str, b: str, source: str) -> str:
    for x, y, j, _s in d.m2m:
        if {x, y} == {a, b}:
            return j  # already linked ("dishes made from ingredients")
    name = safe_name(f"{a}_{b}")[:36]
    j = d.add_entity(name, source, join=True)
    d.add_field(name, f"{a}_id", "reference", source, origin="structure", ref=a, required=True)
    d.add_field(name, f"{b}_id", "reference", source, origin="structure", ref=b, required=True)
    d.add_field(name, "note", "text", source, origin="structure")
    if (a, b) not in [(x, y) for x, y, _j, _s in d.m2m]:
        d.m2m.append((a, b, j.name, clip(source)))
    return j.name


def b_matrix(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    column = row = via = None
    for it in ctx.interps:
        head = it.np.head if it.np else None
        if head is not None and head.tag == "container" and head.s in ("matrix", "grid", "chart", "table") and it.mods:
            column = safe_name(it.name if it.kind != "container" else it.mods[-1].s)
        elif it.np and (it.np.prep in ("per", "for", "of", "by") or it.np.each) and row is None:
            row = safe_name(it.name)
        elif it.np and it.np.prep in ("from", "via", "through", "using") and via is None:
            via = safe_name(it.name)
    if d.planned.get("matrix") and not (row and column):  # "export the matrix": the one planned already
        return dict(d.planned["matrix"][0])
    cands = [m for m in ctx.mentioned if m not in (column, row, via) and not d.entities[m].join]
    for slot in ("column", "row", "via"):
        if locals()[slot] is None and cands:
            val = cands.pop(0)
            if slot == "column":
                column = val
            elif slot == "row":
                row = val
            else:
                via = val
    if via is None:  # "allergen matrix per dish": what links them is an entity the dish references or owns
        links = [e for e in d.entities if e not in (row, column) and not d.entities[e].join and row and
                 (row in d.refs(e) or e in d.refs(row))]
        via = links[0] if links else None
    if None in (row, via, column) or len({row, via, column}) < 3:
        raise NotFit("a derived matrix needs three linked records (e.g. dishes, ingredients, allergens) and the "
                     "feature does not name all three")
    for n in (row, via, column):
        if n not in d.entities:
            d.add_entity(n, ctx.text)
            d.add_field(n, "name", "text", ctx.text, origin="structure", required=True)
    for a, b in ((row, via), (via, column), (column, row), (via, row), (column, via), (row, column)):
        f = d.entities[a].fields.get(f"{b}_id")
        if f is not None and f.origin == "words":  # linked through the join entities instead
            del d.entities[a].fields[f"{b}_id"]
    _join(d, row, via, ctx.text)
    _join(d, via, column, ctx.text)
    return {"row_entity": row, "via_entity": via, "column_entity": column}
