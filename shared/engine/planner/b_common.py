"""What every capability builder reads (see `capmap`): the feature's context (`FeatureCtx`, `feature_ctx`),
`NotFit` with a sentence for the founder, the record a feature is about (`_main`), the people and fields it names
(`_people_entity`, `_field_named`, `_ensure`), numbers and days in words, and the path to a person to tell."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import lexicon as lx
from .draft import DEntity, Draft, Interp, clip, interpret, safe_name
from .text import parse, words_of

DEnt0 = DEntity("", "")  # stands in for a record the draft does not have


class NotFit(Exception):
    """The feature asks for a kind but the idea lacks what it needs; the message is for the founder."""


def _has(text: str, pattern: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])", text) is not None


@dataclass
class FeatureCtx:
    draft: Draft
    text: str
    index: int
    words: set[str]
    interps: list[Interp]
    mentioned: list[str] = field(default_factory=list)  # entities named in the feature, in order
    people: list[str] = field(default_factory=list)  # people nouns named in the feature
    explicit: bool = False  # the feature names a record itself (not only through the previous feature)

    @property
    def low(self) -> str:
        return " " + re.sub(r"\s+", " ", self.text.lower()) + " "

    def has(self, pattern: str) -> bool:
        return _has(self.low, pattern)

    def number(self, pattern: str) -> float | None:
        m = re.search(pattern, self.low)
        return float(m.group(1)) if m else None


def feature_ctx(d: Draft, index: int, text: str, focus: str | None) -> FeatureCtx:
    interps = [it for c in parse(text) for np in c.nps if (it := interpret(np)) is not None]
    ctx = FeatureCtx(d, text, index, words_of(text), interps)
    for it in interps:
        names = [it.name] + [m.s for m in it.mods]
        for n in names:
            n = safe_name(n)
            if n in d.entities and n not in ctx.mentioned:
                ctx.mentioned.append(n)
        for w in [it.head, *it.mods]:
            if w is not None and w.tag == "people" and w.s not in ctx.people:
                ctx.people.append(w.s)
    ctx.explicit = any(m != d.fallback for m in ctx.mentioned)
    for e in d.entities:  # an owner of a field this feature added counts as named by it
        if e not in ctx.mentioned and any(f.source == clip(text) and f.type != "reference"
                                          for f in d.entities[e].fields.values()):
            ctx.mentioned.append(e)
    if not ctx.mentioned and focus:
        ctx.mentioned.append(focus)
    return ctx


def _main(ctx: FeatureCtx, prefer_things: bool = True) -> str:
    d = ctx.draft
    if d.defined.get(ctx.index) in d.entities:  # "Participants with study code, site and enrolment date"
        return d.defined[ctx.index]
    things = [m for m in ctx.mentioned if not d.entities[m].people and not d.entities[m].join]
    if prefer_things and things:
        # the record the feature acts on (its verb's object), not the grouping ("per team") it names
        objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb
                   and safe_name(it.name) in things]
        if objects:
            return objects[0]
        grouped = {safe_name(it.name) for it in ctx.interps if it.np and (it.np.prep == "per" or it.np.each)}
        first = [t for t in things if t not in grouped]
        return (first or things)[0]
    if ctx.mentioned:
        return ctx.mentioned[0]
    primary = next((e.name for e in d.entities.values() if not e.join and not e.people), None)
    if primary is None:
        primary = next(iter(d.entities))
    return primary


def _src(ctx: FeatureCtx) -> str:
    return clip(ctx.text)


def _people_entity(ctx: FeatureCtx, create: bool = True, exclude: tuple[str, ...] = ()) -> str | None:
    d = ctx.draft
    for m in ctx.mentioned:
        if d.entities[m].people and m not in exclude:
            return m
    for p in ctx.people:
        n = safe_name(p)
        if n in exclude or p == "owner":
            continue
        if n in d.entities:
            return n
        if create:
            e = d.add_entity(n, ctx.text, people=True)
            d.add_field(e.name, "name", "text", ctx.text, origin="structure", required=True)
            return e.name
    for e in d.entities.values():
        if e.people and e.name not in exclude:
            return e.name
    if create:  # the idea's people are users only ("members book machines"): keep them as records too
        role = next((r for r in d.roles.values() if r.kind == "participant" and r.name not in exclude), None)
        if role is not None:
            e = d.add_entity(role.name, role.source, people=True)
            d.add_field(e.name, "name", "text", role.source, origin="structure", required=True)
            return e.name
    return None


def _field_named(ctx: FeatureCtx, ent: str, types: tuple[str, ...]) -> str | None:
    """A field of `ent` of one of `types` that the feature's words name (or that this feature added)."""
    fields = ctx.draft.fields_of(ent, *types)
    for f in fields:
        if f.source == _src(ctx) or all(p in ctx.words for p in f.name.split("_")):
            return f.name
    for f in fields:
        if any(p in ctx.words for p in f.name.split("_") if len(p) > 2):
            return f.name
    return None


def _ensure(ctx: FeatureCtx, ent: str, name: str, ftype: str, **kw) -> str:
    f = ctx.draft.add_field(ent, name, ftype, _src(ctx), origin="capability", **kw)
    if f is None:
        raise NotFit(f"the {label_of(ent)} record already has the most fields an entity may have")
    if f.type != ftype and not (ftype in ("integer", "decimal", "money") and f.type in ("integer", "decimal",
                                                                                        "money")):
        raise NotFit(f"{label_of(ent)}.{f.name} is a {f.type} field, not a {ftype} one")
    return f.name


def label_of(name: str) -> str:
    return name.replace("_", " ")


NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


NUMBER_WORDS.update({"thirty": 30, "a": 1, "an": 1, "a couple of": 2, "a few": 3, "several": 3})


_TENS = {"twenty": 20, "thirty": 30}


def with_digits(text: str) -> str:
    """Number words as digits: "two days" -> "2 days", "twenty-one days" -> "21 days"."""
    def compound(m: re.Match) -> str:
        return str(_TENS[m.group(1)] + NUMBER_WORDS[m.group(2)])

    text = re.sub(r"\ba fortnight\b|\bfortnight\b", "2 weeks", text)
    text = re.sub(r"\b(twenty|thirty)[- ](one|two|three|four|five|six|seven|eight|nine)\b", compound, text)
    words = sorted(NUMBER_WORDS, key=len, reverse=True)
    pat = r"\b(" + "|".join(re.escape(w) for w in words) + r")\s+(days?|weeks?|months?|hours?|fortnights?)\b"
    return re.sub(pat, lambda m: f"{NUMBER_WORDS[m.group(1)]} {m.group(2)}", text)


def _days(ctx: FeatureCtx, default: int) -> int:
    low = with_digits(ctx.low)
    for pat, factor in ((r"(\d+)\s*(?:days?|d)\b", 1.0), (r"(\d+)\s*weeks?\b", 7.0), (r"(\d+)\s*months?\b", 30.0),
                        (r"(\d+)\s*(?:hours?|hrs?|h)\b", 1 / 24)):
        m = re.search(pat, low)
        if m:
            return int(min(365, max(1 if factor < 1 else 0, -(-float(m.group(1)) * factor // 1))))
    if ctx.has(r"(the )?day before|tomorrow"):
        return 1
    if ctx.has(r"(a|the) week before|next week"):
        return 7
    return default


#: words that name a check-out itself, not a thing kept ("a loan is overdue", "late returns"): its names in the
#: lexicon ("loans", "check-outs") and what else speaks of one ("returns", "items lent")
_CHECKOUT_NOUNS = "|".join([*(n.replace(" ", "[- ]?") + "s?" for n in lx.CHECKOUT_NOUNS), r"returns?",
                            r"items? (borrowed|lent|checked out)"])


def _days_word(word: str | None) -> int | None:
    """ "21" or "seven" as a whole number of days (1..365), else None."""
    from .reading import NUMBER_WORDS

    if not word:
        return None
    n = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
    return int(n) if n is not None and 1 <= n <= 365 else None


def _recipient_path(ctx: FeatureCtx, ent: str, who: str, want: str) -> str | None:
    """ "translator_id.email", "pet_id.keeper_id.phone": the named person reached through the record's references
    (up to two), with the contact field the channel needs; a link the words imply is added when the person is a
    record of the idea and the reminded record has none."""
    d = ctx.draft

    def matches(f) -> bool:
        return f.type == "reference" and (f.ref == who or f.name.removesuffix("_id").split("_")[-1] == who)

    def contact(target: str) -> str | None:
        have = next((f.name for f in d.fields_of(target, want)), None)
        if have or not d.entities[target].people:
            return have
        return _ensure(ctx, target, want, want)

    hops: list[list[str]] = []
    for f in d.fields_of(ent, "reference"):
        if matches(f):
            hops.append([f.name, f.ref])
    for f in d.fields_of(ent, "reference"):
        for g in d.fields_of(f.ref, "reference") if f.ref != ent else []:
            if matches(g):
                hops.append([f.name, g.name, g.ref])
    if not hops and who in d.entities and d.entities[who].people and who != ent and d.add_ref(ent, who, ctx.text):
        hops.append([f"{who}_id", who])
    for hop in hops:
        target = hop[-1]
        field = contact(target)
        if field:
            return ".".join([*hop[:-1], field])
    return None
