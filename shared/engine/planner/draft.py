"""The idea's data model, read from its own words: entities, typed fields, references and roles.

Every entity, field and role carries `source`, the idea's words it came from. A field comes from (a) the
idea's words, (b) the preset catalogue entry of a noun the idea names exactly, or (c) a capability that
needs it (its source is then the feature that asked for the capability). Nothing else is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import catalogues
from ..appspec.base import RESERVED_NAMES
from . import lexicon as lx
from .definitions import UNITS
from .text import Clause, NounPhrase, Word, parse, plural, singular, tokens, verb_base

#: verbs of voting: the record voted on is not the voter's own ("residents vote for proposals")
_VOTE_VERB = re.compile(r"(?:up-?|down-?)?vot(?:e|es|ed|ing)")

MAX_ENTITIES = 9
MAX_TOTAL_ENTITIES = 12
MAX_FIELDS = 24
#: Verbs whose direct object is a record the app keeps.
ENTITY_VERBS = frozenset("""
add archive assign book borrow buy check claim collect create donate draft edit export find import invite issue keep
lend list log manage offer order organise organize plan post publish purchase rate receive record register rent
reserve return review save schedule search sell send share sign store submit swap track trade upload view write
""".split())
#: Verbs whose direct object is an attribute when it is not a record: "track glaze", "record hours".
#: What an overseer does: they read (a judge who scores projects writes, so is not one).
READ_VERBS = frozenset({"review", "audit", "check", "view", "see", "read", "inspect", "monitor", "verify", "watch",
                        "export", "download", "compare", "find", "search", "browse", "print"})
ATTRIBUTE_VERBS = frozenset({"track", "record", "log", "note", "measure", "mark", "set", "capture", "keep", "store",
                             "save", "enter", "add"})


def ident(text: str, default: str = "item") -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not s or not s[0].isalpha():
        s = f"{default}_{s}".strip("_")
    return s[:40].rstrip("_") or default


def label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()[:80] or "Item"


def clip(text: str, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass
class DField:
    name: str
    type: str
    source: str
    origin: str = "words"  # words | catalogue | capability | structure
    required: bool = False
    values: list[str] = field(default_factory=list)
    ref: str | None = None
    min: float | None = None
    max: float | None = None
    default: object = None
    label: str | None = None  # a label in the founder's words ("Weight (kilograms)"); else from the name


@dataclass
class DEntity:
    name: str
    source: str
    people: bool = False
    weight: int = 0
    order: int = 0
    fields: dict[str, DField] = field(default_factory=dict)
    join: bool = False
    label: str | None = None  # the founder's words for it ("Adverse event"); else from the name


@dataclass
class DRole:
    name: str
    source: str
    kind: str  # staff | oversight | participant
    writes: list[str] = field(default_factory=list)


@dataclass
class Unit:
    """One piece of the idea's text: a key feature or a description sentence."""

    kind: str  # feature | description | title
    index: int
    text: str
    clauses: list[Clause]


@dataclass
class Interp:
    kind: str  # thing | people | attr | container
    name: str  # entity name (thing/people) or attribute name (attr)
    head: Word | None
    mods: list[Word]
    attr_type: str | None = None
    plural: bool = False
    np: NounPhrase | None = None
    gerund: str | None = None  # "chargeback tracking": the verb done to the record
    qualifier: bool = False  # what qualifies a behaviour noun ("safety" in "safety checklist")


class Draft:
    def __init__(self, idea: dict):
        self.idea = idea
        self.entities: dict[str, DEntity] = {}
        self.roles: dict[str, DRole] = {}
        self.m2m: list[tuple[str, str, str, str]] = []  # (a, b, join, source)
        self.planned: dict[str, list[dict]] = {}  # kind -> parameters planned so far (capmap)
        self.fallback: str | None = None  # the entity made up when the idea names none
        self.defined: dict[int, str] = {}  # key feature index -> the record it defines (definitions.py)
        self.scopes: dict[int, tuple[str, list[str], str]] = {}  # feature -> (role, read-own entities, how)
        self.units: list[Unit] = []
        feats = [str(f) for f in idea.get("key_features") or []]
        for i, f in enumerate(feats):
            self.units.append(Unit("feature", i, f, parse(f)))
        desc = str(idea.get("description") or "")
        for i, sent in enumerate(s for s in re.split(r"(?<=[.!?])\s+", desc) if s.strip()):
            self.units.append(Unit("description", i, sent, parse(sent)))
        self.all_text = " . ".join([str(idea.get("title") or ""), desc, " . ".join(feats),
                                    str(idea.get("target_audience") or "")])
        self.words = set(tokens(self.all_text)) | {singular(t) for t in tokens(self.all_text)}
        self._order = 0

    # -- building blocks

    def entity(self, name: str) -> DEntity | None:
        return self.entities.get(name)

    def add_entity(self, name: str, source: str, people: bool = False, join: bool = False) -> DEntity:
        raw, name = name, safe_name(name)
        e = self.entities.get(name)
        if e is None:
            if len(self.entities) >= MAX_TOTAL_ENTITIES:
                raise ValueError(f"the app already has {MAX_TOTAL_ENTITIES} entities, the most a spec may have")
            self._order += 1
            e = DEntity(name, clip(source), people=people, order=self._order, join=join)
            said = ident(raw, "item")[:36]
            if name != said and not join:  # "session" is a reserved name, kept as session_item: still "Session"
                e.label = label(said)
            self.entities[name] = e
        return e

    def add_field(self, ent: str, name: str, ftype: str, source: str, origin: str = "words", **kw) -> DField | None:
        e = self.entities.get(ent)
        if e is None:
            return None
        name = safe_field(name, ent)
        if not name:
            return None
        if ftype == "reference":
            name = f"{kw['ref']}_id"
        if name in e.fields:
            f = e.fields[name]
            if kw.get("values") and f.type == "enum" and f.values in list(lx.ENUM_DEFAULTS.values()):
                f.values = [v for v in dict.fromkeys(kw["values"]) if v]
            return f
        if ftype != "reference" and f"{name}_id" in e.fields:
            return e.fields[f"{name}_id"]
        if len(e.fields) >= MAX_FIELDS:
            return None
        if ftype == "enum":
            vals = [v for v in dict.fromkeys(kw.get("values") or []) if v]
            if len(vals) < 2:
                vals = lx.ENUM_DEFAULTS.get(name.rsplit("_", 1)[-1], lx.ENUM_DEFAULTS["status"])
            kw["values"] = vals
        f = DField(name, ftype, clip(source), origin, **kw)
        e.fields[name] = f
        return f

    def add_ref(self, ent: str, target: str, source: str, required: bool = False) -> bool:
        if ent == target or ent not in self.entities or target not in self.entities:
            return False
        if f"{ent}_id" in self.entities[target].fields:  # no cycles: the other side already points here
            return False
        return self.add_field(ent, f"{target}_id", "reference", source, ref=target, required=required) is not None

    def refs(self, ent: str) -> list[str]:
        e = self.entities.get(ent)
        return [f.ref for f in e.fields.values() if f.type == "reference"] if e else []

    def fields_of(self, ent: str, *types: str) -> list[DField]:
        e = self.entities.get(ent)
        return [f for f in e.fields.values() if not types or f.type in types] if e else []

    def has_word(self, *ws: str) -> bool:
        return any(w in self.words for w in ws)


#: Verbs whose subject gives a rating on a scale ("graders score each wheel out of 10").
RATE_VERBS = {"rate", "score", "grade"}

#: A checklist named as a noun ("skills checklist", "punch list", "to-do list").
CHECKLIST_NOUN = r"check ?-?lists?|punch ?-?lists?|to-?do lists?|task lists?"


def named_items(text: str) -> list[str]:
    """The items a feature lists for its checklist, in the founder's words: after a colon ("skills checklist per
    pupil: roundabouts, parallel parking, emergency stop") or a "with" ("checklist per van with tyres, lights and
    brakes"); two or more short entries, else none (a sentence after a colon is no list of items)."""
    m = re.search(rf"(?<![a-z])(?:{CHECKLIST_NOUN})(?![a-z])[^:]*:\s*(.+)$", text, re.I) or re.search(
        rf"(?<![a-z])(?:{CHECKLIST_NOUN})(?![a-z])[^:]*?\bwith\s+(.+)$", text, re.I)
    if not m:
        return []
    parts = [re.sub(r"^(?:a|an|the)\s+", "", p.strip(), flags=re.I)
             for p in re.split(r"\s*[,;]\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", m.group(1).strip().rstrip(".!"))]
    parts = [p for p in parts if p]
    if len(parts) < 2 or any(len(p.split()) > 6 or len(p) > 200 for p in parts):
        return []
    return list(dict.fromkeys(p[0].upper() + p[1:] for p in parts))


def safe_name(name: str) -> str:
    name = ident(name, "item")
    if name in RESERVED_NAMES or plural(name) in RESERVED_NAMES:
        name = f"{name}_item" if name != "class" else "class_listing"
    return name[:36]


def safe_field(name: str, ent: str) -> str:
    name = ident(name, "field")
    if name in ("id", "created_at", "updated_at", "owner_id"):
        return ""
    if name in RESERVED_NAMES:
        name = f"{ent}_{name}"[:40] if len(ent) + len(name) < 40 else f"{name}_value"
    return name[:40]


def type_for(name_words: list[str], default: str = "text") -> str:
    ws = set(name_words) | {w + "s" for w in name_words}
    last = name_words[-1] if name_words else ""
    if last in lx.ATTRIBUTE_TYPES:
        t = lx.ATTRIBUTE_TYPES[last]
        if t == "datetime" and ws & {"date"}:
            return "date"
        if t == "integer" and "number" == last and len(name_words) > 1 and name_words[-2] in ("phone",):
            return "phone"
        if last == "number" and len(name_words) > 1 and name_words[-2] not in ("of",):
            return "text"  # "licence number", "order number": an identifier, not a count
        return t
    for t, cues in lx.TYPE_CUES:
        if ws & cues:
            return t
    return default


# ------------------------------------------------------------------ reading noun phrases


#: Calendar units that name an attribute after what they date ("sowing month"), with its type; an enum's values
#: are CALENDAR_VALUES'.
CALENDAR_ATTRS = {"year": "integer", "month": "enum", "week": "integer", "day": "enum"}
CALENDAR_VALUES = {
    "month": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}


def interpret(np: NounPhrase) -> Interp | None:
    content = np.content
    if any(w.w in lx.BEHAVIOUR_NOUNS or w.s in lx.BEHAVIOUR_NOUNS for w in content):
        # "overdue alerts", "reviews and ratings": a behaviour's cue, not data; what qualifies it may be
        # ("freezer temperature alerts" -> the freezer temperature)
        cut = next(i for i, w in enumerate(np.words) if w.w in lx.BEHAVIOUR_NOUNS or w.s in lx.BEHAVIOUR_NOUNS)
        if cut == 0:
            return None
        np = NounPhrase(np.words[:cut], np.prep, np.after_verb, np.group, np.alternatives, np.each, np.det)
        content = np.content
        qualifier = True
    else:
        qualifier = False
    if not content or content[-1].w in lx.PAYMENT_METHODS or content[-1].w in lx.NEVER_NOUNS:
        return None
    rates = [w for w in np.words if w.tag == "adj" and w.w in lx.RATE_ADJECTIVES]
    # a phrase attribute ("contact details", "due date")
    ws = [w for w in np.words if w.tag in ("noun", "people", "container", "adj")]
    if len(ws) >= 2 and ws[-1].tag != "adj":
        key = (ws[-2].w, ws[-1].w)
        if key in lx.ATTRIBUTE_PHRASES and lx.ATTRIBUTE_PHRASES[key][0]:
            name, t = lx.ATTRIBUTE_PHRASES[key]
            return Interp("attr", name, ws[-1], [w for w in ws[:-2] if w.tag != "adj"], t, np=np)
    head = content[-1]
    mods = content[:-1]
    gerund = None
    if head.w.endswith("ing") and verb_base(head.w) and mods:  # "chargeback tracking", "interview scheduling"
        gerund = verb_base(head.w)
        head, mods = mods[-1], mods[:-1]
    while head.tag == "container" and mods:  # "member directory", "map page of fridges": the record named
        head, mods = mods[-1], mods[:-1]
    if head.tag == "container" and not (
            not mods and head.s not in lx.UI_NOUNS and head.w not in lx.UI_NOUNS and head.s not in ("app", "record")
            and ((np.prep is None and np.after_verb and head.w != head.s) or np.each or np.prep == "per")):
        return Interp("container", head.s, head, [], np=np)
    # "with name, crop and sowing month", "queen year": a time unit after what it dates, in a list of what a record
    # has, is an attribute (which month, which year), not a unit to drop
    if np.prep in ("with", "including") and head.s in CALENDAR_ATTRS and mods and mods[-1].tag == "noun" \
            and mods[-1].s not in lx.VAGUE_NOUNS:
        return Interp("attr", f"{mods[-1].s}_{head.s}", head, mods[:-1], CALENDAR_ATTRS[head.s], np=np)
    # "check out tools", "who holds each tool": a container word handled or counted as a thing is the record
    if head.s in lx.VAGUE_NOUNS or head.w in lx.VAGUE_NOUNS:
        if not mods:
            return None
        head, mods = mods[-1], mods[:-1]
        if head.tag == "container":
            return None
    is_plural = head.w != head.s and head.w not in lx.UNCOUNTABLE
    # "varieties with name, crop and sowing month": a word that is often an attribute names a record when it
    # is counted (plural) and a list of what it has follows it
    holds_list = np.holds and is_plural and np.prep is None and not mods
    if (head.s in lx.ATTRIBUTE_TYPES or head.w in lx.ATTRIBUTE_TYPES) and not holds_list:
        last = head.w if head.w in lx.ATTRIBUTE_TYPES and head.w.endswith(("hours", "notes")) else head.s
        mods = [m for m in mods if m.w not in lx.PAYMENT_METHODS]
        parts = ([w.w for w in rates] + [m.s for m in mods])[-1:] + [last]
        return Interp("attr", "_".join(parts), head, mods, type_for([*parts[:-1], head.s]), is_plural, np=np)
    if head.tag == "people":
        return Interp("people", head.s, head, mods, plural=is_plural, np=np, qualifier=qualifier)
    name = head.s
    if head.s in lx.GENERIC_HEADS and mods and mods[-1].tag == "noun" and mods[-1].s not in lx.VAGUE_NOUNS:
        name = f"{mods[-1].s}_{head.s}"  # "grant application", "walk report"
    return Interp("thing", name, head, mods, plural=is_plural, np=np, gerund=gerund, qualifier=qualifier)


def _catalogue() -> dict:
    return catalogues.entity_lexicon()


def catalogue_entry(name: str) -> dict | None:
    return _catalogue().get(name)


# ------------------------------------------------------------------ the pass over the idea


def build(idea: dict) -> Draft:
    d = Draft(idea)
    feature_units = [u for u in d.units if u.kind == "feature"]
    desc_units = [u for u in d.units if u.kind == "description"]
    score: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    people_seen: dict[str, str] = {}
    people_entity: set[str] = set()
    people_subject: set[str] = set()
    people_grouping: set[str] = set()
    people_verbs: dict[str, set[str]] = {}
    people_in_features: set[str] = set()
    audience = {singular(t) for t in tokens(str(idea.get("target_audience") or ""))}
    people_record: set[str] = set()
    people_preps: dict[str, set[str | None]] = {}
    modifiers: dict[str, str] = {}
    evidence: dict[str, str] = {}
    pos = 0

    def bump(name: str, n: int, source: str):
        nonlocal pos
        pos += 1
        score[name] = score.get(name, 0) + n
        first_seen.setdefault(name, pos)
        evidence.setdefault(name, source)

    for unit in feature_units + desc_units:
        feature = unit.kind == "feature"
        items = " | ".join(named_items(unit.text)).lower() if feature else ""
        for clause in unit.clauses:
            people_subject.update(clause.subject_people)
            for p in clause.subject_people:
                people_verbs.setdefault(p, set()).update(clause.verbs)
            if feature:
                people_in_features.update(w.s for w in clause.words if w.tag == "people")
            for np in clause.nps:
                for w in np.words:
                    if w.tag == "people":
                        people_seen.setdefault(w.s, unit.text)
                        if feature:
                            people_preps.setdefault(w.s, set()).add(np.prep)
                        if np.prep == "per" or np.each:
                            people_grouping.add(w.s)
                it = interpret(np)
                if it is None or it.kind == "container":
                    continue
                if items and re.search(rf"(?<![a-z]){re.escape(np.text.lower())}(?![a-z])", items):
                    continue  # "checklist: nets checked, rings counted": the checklist's items, not records
                if it.kind == "thing" and not it.mods and it.head.s in PLACE_UNITS and np.prep is None and \
                        np.after_verb in TAKE_VERBS and any(o.prep in PLACE_PREPS and o.head is not None and o.head.w not in
                                                            lx.CONTAINERS for o in clause.nps
                                                            if clause.nps.index(o) > clause.nps.index(np)):
                    continue  # "book a seat on a trip": a place on the trip (its capacity), never a seat record
                if it.kind == "thing" and not it.mods and (it.head.w in UNITS or it.head.s in UNITS):
                    continue  # "in degrees", "in kilograms": the unit of an attribute, never a record
                if np.prep == "into" and set(clause.verbs) & {"classify", "categorise", "categorize", "sort",
                                                               "tag", "label", "group", "split"}:
                    continue  # "classify papers into methods or reviews": labels, not records
                topic = feature and not clause.verbs and np is clause.nps[0]  # "Patients with notes"
                if it.kind == "people":
                    container = np.head is not None and np.head.tag == "container"
                    if it.qualifier and not (np.prep == "per" or np.each):
                        continue  # "with manager approval": who approves, not a record
                    if container or topic or np.prep == "per" or np.each or (np.prep is None and np.after_verb) or (
                            np.prep in ("to", "with", "among", "between") and np.after_verb is not None):
                        people_entity.add(it.name)
                        if feature and (container or topic or (np.prep is None and np.after_verb)):
                            people_record.add(it.name)
                        bump(it.name, 3 if feature else 1, unit.text)
                    continue
                if it.kind == "attr":
                    for m in it.mods:  # "volunteer hours": the modifier owns the attribute
                        if m.tag == "people":
                            people_entity.add(m.s)
                            bump(m.s, 1, unit.text)
                        elif m.tag == "noun" and m.s not in lx.VAGUE_NOUNS and m.s not in lx.ATTRIBUTE_TYPES:
                            modifiers.setdefault(m.s, unit.text)  # "freezer temperature": a record elsewhere?
                    continue
                if it.kind == "thing" and not it.mods and it.head.w in lx.GENERIC_PEOPLE and not topic:
                    continue  # "people book a place": whoever uses the app, not a record of its own
                strong = 0
                container = np.head is not None and np.head.tag == "container"
                if container:
                    strong += 3
                if np.prep == "per" or np.each:
                    strong += 3
                if it.plural and np.prep not in ("by",):
                    strong += 2
                if np.prep is None and np.after_verb in ENTITY_VERBS and (
                        it.plural or np.after_verb not in ATTRIBUTE_VERBS):
                    strong += 2
                if it.gerund or topic:
                    strong += 2
                if catalogue_entry(it.name) is not None:
                    strong += 1
                booked = np.after_verb in ("book", "reserve", "schedule", "rent", "hire")
                if booked:
                    strong += 2
                if it.qualifier and not (np.prep == "per" or np.each):
                    strong = 0  # "safety checklist", "dish ratings": a record only if named as one elsewhere
                if not feature:
                    strong = 1 if it.plural and strong < 4 else strong - 1
                counted = np.each or np.prep == "per" or np.det in ("a", "an", "one", "this", "that", "another")
                if it.head.w.endswith("ing") and not it.plural and not counted and not (
                        container and np.head.s in ("rota", "rotation", "roster", "schedule")):
                    strong = 0  # "training", "cleaning": an activity; "each firing", "a booking": a record
                if strong >= 1:
                    bump(it.name, strong, unit.text)
                for m in it.mods:  # "kiln firings": the booked thing's modifier is what is booked
                    if m.tag == "noun" and m.s not in lx.VAGUE_NOUNS and m.s not in lx.ATTRIBUTE_TYPES:
                        modifiers.setdefault(m.s, unit.text)  # an -ing modifier counts only as a record elsewhere
                        if booked and feature and not m.w.endswith("ing") and is_event(it.name, it.head):
                            bump(m.s, 3, unit.text)
    # modifiers that are records elsewhere are records here too; a booked thing's modifier is its resource
    for m, src in modifiers.items():  # a modifier that is a record elsewhere ("three kilns") is one here too
        if score.get(m, 0) >= 1 and m not in lx.ATTRIBUTE_TYPES:
            bump(m, 2, src)
    names = {n for n, s in score.items() if s >= 2}
    ranked = sorted(names, key=lambda n: (-min(score[n], 9) - (3 if n in people_entity else 0) * 0, first_seen[n]))
    ranked = sorted(ranked, key=lambda n: first_seen[n])
    feature_names = set()
    for unit in feature_units:
        for clause in unit.clauses:
            for np in clause.nps:
                it = interpret(np)
                if it and it.name in names:
                    feature_names.add(it.name)
                if it and it.kind == "attr":  # "freezer temperature alerts": the freezer
                    feature_names.update(m.s for m in it.mods if m.s in names and m.s in modifiers)
                if it and it.kind == "thing" and np.after_verb in BOOK_VERBS and np.prep is None:
                    # "book kiln firings": the booked thing's modifier is the resource, a record of the feature
                    feature_names.update(m.s for m in it.mods if m.s in names)
    keep = [n for n in ranked if n in feature_names][:MAX_ENTITIES]
    for n in ranked:
        if len(keep) >= MAX_ENTITIES:
            break
        if n not in keep and score[n] >= 6:
            keep.append(n)
    for n in keep:
        d.add_entity(n, evidence[n], people=n in people_entity)
    # roles: people who act in the idea, or who run/oversee it
    for p, src in people_seen.items():
        if p in ("user", "person", "people", "everyone", "anyone", "customer") and p not in people_subject:
            continue
        if p == "owner":
            continue  # the app's owner role
        if p not in people_in_features and p not in people_subject:
            continue  # the founder's customer (the owner), or a person the description only mentions
        if (p not in people_subject and p not in audience and p not in people_grouping
                and p not in lx.STAFF_PEOPLE | lx.OVERSIGHT_PEOPLE
                and people_preps.get(p) and people_preps[p] <= {"with", "including", "from", "of", "by"}):
            continue  # "each order with its supplier": a record the app keeps, not someone who signs in
        if p in lx.OVERSIGHT_PEOPLE and people_verbs.get(p, set()) <= READ_VERBS:
            kind = "oversight"
        elif p in lx.STAFF_PEOPLE:
            kind = "staff"
        elif p in people_subject or p in people_grouping or p not in people_record:
            kind = "participant"
        else:
            continue  # a person the app keeps records about (a client list), not a user of it
        d.roles[safe_name(p)] = DRole(safe_name(p), clip(src), kind)
    for unit in feature_units:  # "graders score each wheel", "pubs score each cask": whoever rates signs in to rate
        for clause in unit.clauses:
            who = clause.nps[0] if clause.nps else None
            it = interpret(who) if who is not None else None
            if (set(clause.verbs) & RATE_VERBS and it is not None and it.kind == "thing" and it.plural
                    and not it.mods and who.prep is None and who.after_verb is None
                    and safe_name(it.name) not in d.roles):
                d.roles[safe_name(it.name)] = DRole(safe_name(it.name), clip(unit.text), "participant")
    _attach(d, feature_units + desc_units)
    _many_to_many(d, feature_units)
    for e in d.entities.values():  # "cone_temperature" read once whole and once split: keep the split
        for name in [n for n in e.fields if "_" in n]:
            parts = name.split("_")
            if len(parts) == 2 and all(p in e.fields for p in parts) and e.fields[name].type != "reference":
                del e.fields[name]
    _apply_definitions(d)
    _possessive_attributes(d)
    _fold_bare_heads(d)
    _compound_labels(d)
    _catalogue_fields(d)
    return d


#: "a race's liberation time", "each lamb's birth weight", "the order's delivery date": a record's typed attribute
_POSSESSIVE = re.compile(r"(?<![a-z])(?P<owner>[a-z]+)(?:'s|s')\s+(?P<words>[a-z]+(?:\s+[a-z]+){0,2})")
#: "each medicine has a withdrawal period in days": the same, said with "has"
_HAS = re.compile(r"(?<![a-z])(?:each|every)\s+(?P<owner>[a-z]+)\s+(?:has|carries|keeps|gets)\s+(?:a|an)\s+"
                  r"(?P<words>[a-z]+(?:\s+[a-z]+){0,4})")


def _possessive_attributes(d: Draft) -> None:
    """A record's attribute the features name with a possessive ("entries close 24 hours before a race's liberation
    time", "flag a lamb whose ... each lamb's birth weight") is kept on that record, typed by its head: a rule that
    reads it needs it there, and a record with only a title cannot hold it. Only attributes whose head word has a
    type (a time, a date, a weight, a fee, a name) are taken: "its owner's club account" names no attribute."""
    from . import definitions

    for text in [str(t) for t in d.idea.get("key_features") or []]:
        low = " ".join(text.lower().replace("\u2019", "'").split())
        for m in [*_POSSESSIVE.finditer(low), *_HAS.finditer(low)]:
            owner = singular(m.group("owner"))
            e = d.entities.get(owner)
            if e is None or e.people or e.join:
                continue
            words, unit = [], []
            said = m.group("words").split()
            for k, w in enumerate(said):  # the noun phrase: up to a function word or a verb ("in days": its unit)
                if w in ("in", "as") and k + 1 < len(said) and said[k + 1] in UNITS and words:
                    unit = [w, said[k + 1]]
                    break
                if w in lx.NEVER_NOUNS or w in lx.CONJUNCTIONS or w in lx.VERBS or w in ("own", "is", "are", "was"):
                    break
                words.append(w)
            while words and words[-1] not in lx.ATTRIBUTE_TYPES and not unit:
                words.pop()  # "a race's liberation time closes": the phrase ends at its typed head
            if not words or singular(words[0]) in d.entities or any(w in lx.PEOPLE for w in words):
                continue  # "a trainee's supervisor", "the ewe's lambs": a link or a record, not an attribute
            a = definitions._attr(" ".join(words + unit), owner, set(d.entities))
            if a is None or a.ref or a.type in ("file", "long_text") or (a.type == "text" and unit):
                continue
            if any(f.name == a.name or f.name.endswith(f"_{a.name}") for f in e.fields.values()):
                continue
            f = d.add_field(owner, a.name, a.type, text, values=a.values)
            if f is not None and f.origin == "words" and f.label is None:
                f.label = a.label


def _compound_labels(d: Draft) -> None:
    """ "the laser cutter", "the meeting rooms": a record the features always name with the same noun before its
    own is labelled by both ("Laser cutter"), so its label is the founder's words, not a shorter noun."""
    seen: dict[str, set[str]] = {}
    for text in d.idea.get("key_features") or []:
        for clause in parse(str(text)):
            for np in clause.nps:
                head = np.head
                if head is None or head.s not in d.entities:
                    continue
                mods = np.content[:-1]
                seen.setdefault(head.s, set()).add(mods[-1].s if mods and mods[-1].tag == "noun" else "")
    for name, mods in seen.items():
        e = d.entities[name]
        if e.people or e.join or e.label is not None or len(mods) != 1:
            continue
        mod = next(iter(mods))
        if len(mod) < 3 or not mod.isalpha() or mod in d.entities or mod in d.roles or mod in lx.ATTRIBUTE_TYPES or mod in lx.VAGUE_NOUNS \
                or mod in lx.UI_NOUNS:
            continue
        e.label = label(f"{mod}_{name}")


def _fold_bare_heads(d: Draft) -> None:
    """ "Exam entries per pupil with grade ..." defines exam_entry; "Entries cannot be made after ..." then names
    the same record by its head noun: a bare `entry` with no attribute of its own folds into the one defined record
    whose name ends in it (what pointed at it points at that record)."""
    defined = set(d.defined.values())
    for name in list(d.entities):
        e = d.entities.get(name)
        if e is None or name in defined or e.people or e.join:
            continue
        comps = [n for n in defined if n.endswith(f"_{name}") and n in d.entities]
        if len(comps) != 1 or any(f.origin == "words" and f.type != "reference" for f in e.fields.values()):
            continue
        for other in list(d.entities.values()):
            old = other.fields.get(f"{name}_id")
            if old is not None and old.type == "reference" and other.name != comps[0]:
                d.add_ref(other.name, comps[0], old.source, required=old.required)
        _drop_entity(d, name)


def _apply_definitions(d: Draft) -> None:
    """Records the features define whole ("Visits per pet with reason, weight in kilograms and treatment given")
    take their attributes and parent from the definition, and what the phrase pass scattered is taken back."""
    from . import definitions

    defs = definitions.read(d.idea, set(d.entities))
    keep: set[str] = set()
    for df in defs:
        df.record = safe_name(df.record)
        df.parent = safe_name(df.parent) if df.parent else None
        try:
            for name in (df.record, df.parent):
                if name and name not in d.entities:
                    d.add_entity(name, df.text, people=name in lx.PEOPLE)
        except ValueError:
            continue
        keep.update(x for x in (df.record, df.parent) if x)
        d.defined[df.feature] = df.record
        rec = d.entities[df.record]
        if df.label.lower() != df.record.replace("_", " ") and (rec.label is None or (
                rec.label.lower() == df.record.removesuffix("_item").replace("_", " ")
                and ident(df.label.lower()) not in d.entities)):
            rec.label = df.label  # "water tests" (a Test kept as test_item): labelled in the founder's words
        head = df.record.split("_")[-1]
        compound = next((n for n in d.entities if n.endswith(f"_{head}") and n != df.record
                         and d.entities[n].source == clip(df.text)), None)
        if compound is not None and compound not in keep:  # "garden jobs" read as garden_job and job: one record
            for e in list(d.entities.values()):  # what pointed at the garden job points at the job
                old = e.fields.get(f"{compound}_id")
                if old is not None and old.type == "reference" and e.name != df.record:
                    d.add_ref(e.name, df.record, old.source, required=old.required)
            _drop_entity(d, compound)
        src = clip(df.text)
        for e in d.entities.values():
            for n in [n for n, f in e.fields.items() if f.source == src and f.origin == "words" and not (
                    e.name == df.record and f.type == "reference" and df.by and f.ref == df.by)]:
                # "customers order a skip by ...": the skip keeps its customer
                del e.fields[n]
        if df.parent:
            back = d.entities[df.parent].fields.get(f"{df.record}_id")
            if back is not None and back.origin == "words":
                del d.entities[df.parent].fields[f"{df.record}_id"]
            d.add_ref(df.record, df.parent, df.text, required=True)
        for a in df.attrs:
            if a.ref == "owner" and "owner" in d.entities:  # "pet records with ... and owner": the pet's owner, a
                a.ref = _rename_entity(d, "owner", f"{df.record}_owner")  # person, not the app's owner role
            elif a.words == ["owner"] and not a.ref and len(d.entities) < MAX_TOTAL_ENTITIES:
                a.ref = d.add_entity(f"{df.record}_owner", df.text, people=True).name
                d.add_field(a.ref, "name", "text", df.text, origin="structure", required=True)
            if a.ref:
                if a.ref in d.entities:
                    keep.add(a.ref)
                    back = d.entities[a.ref].fields.get(f"{df.record}_id")
                    if back is not None and back.origin == "words" and a.ref not in {x.record for x in defs}:
                        # "casks with ... the pub it went to" names the link; one guessed the other way goes
                        del d.entities[a.ref].fields[f"{df.record}_id"]
                    d.add_ref(df.record, a.ref, df.text)
                continue
            f = d.add_field(df.record, a.name, a.type, df.text, values=a.values)
            if f is not None and f.origin == "words" and f.source == src:
                f.label = a.label
    if not defs:
        return
    # a record made up from an attribute's words only ("driver" from "driver name") is no record
    phrases = [" ".join(a.words) for df in defs for a in df.attrs if not a.ref]
    phrases += [df.tail for df in defs if df.tail]  # "max and min depth": "max" only inside the attributes
    phrases += [" ".join([*p.split()[:-1], singular(p.split()[-1])]) for p in phrases]
    texts = [u.text.lower() for u in d.units] + [str(d.idea.get("title") or "").lower()]
    for name in [n for n in d.entities if n not in keep]:
        forms = {name.replace("_", " "), plural(name).replace("_", " ")}
        inside = outside = 0
        for t in texts:
            for form in forms:
                for m in re.finditer(rf"(?<![a-z]){re.escape(form)}(?![a-z])", t):
                    if any(_covers(t, m.start(), m.end(), p) for p in phrases if form in p.split() or form in p):
                        inside += 1
                    else:
                        outside += 1
        if inside and not outside:
            _drop_entity(d, name)


def _covers(text: str, start: int, end: int, phrase: str) -> bool:
    for m in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text):
        if m.start() <= start and end <= m.end():
            return True
    return False


def _rename_entity(d: Draft, old: str, new: str) -> str:
    """`old` becomes `new` (fields, references to it and links kept); the new name."""
    new = safe_name(new)
    if new in d.entities or old not in d.entities:
        return new if new in d.entities else old
    e = d.entities.pop(old)
    e.name = new
    d.entities[new] = e
    for other in d.entities.values():
        for n, f in list(other.fields.items()):
            if f.type == "reference" and f.ref == old:
                del other.fields[n]
                f.ref, f.name = new, f"{new}_id"
                other.fields[f.name] = f
    for fld in list(e.fields.values()):  # "owner_phone" on the owner: its phone
        if fld.name.startswith(f"{old}_") and fld.name[len(old) + 1:] not in e.fields:
            del e.fields[fld.name]
            fld.name = fld.name[len(old) + 1:]
            e.fields[fld.name] = fld
    d.m2m = [(new if a == old else a, new if b == old else b, j, s) for a, b, j, s in d.m2m]
    return new


def _drop_entity(d: Draft, name: str) -> None:
    d.entities.pop(name, None)
    for e in d.entities.values():
        for n in [n for n, f in e.fields.items() if f.type == "reference" and f.ref == name]:
            del e.fields[n]
    d.m2m = [m for m in d.m2m if name not in m[:3]]


def _target_of(d: Draft, clause: Clause, interps: list[Interp | None], focus: str | None) -> str | None:
    objects = [it for it in interps if it and it.kind == "thing" and it.name in d.entities and it.np.prep is None
               and it.np.after_verb in ATTRIBUTE_VERBS | ENTITY_VERBS and not d.entities[it.name].people]
    if objects and not objects[0].np.each:  # "record vaccinations for each pet with ...": the vaccinations
        return objects[0].name
    for it in interps:
        if it and it.kind in ("thing", "people") and it.name in d.entities and (it.np.prep == "per" or it.np.each):
            return it.name
    for it in interps:  # the object of the clause's verb first ("teams submit projects with ...")
        if it and it.kind == "thing" and it.name in d.entities and it.np.prep is None and it.np.after_verb:
            return it.name
    for it in interps:
        if it and it.kind == "thing" and it.name in d.entities and it.np.prep in (None, "of", "for"):
            return it.name
    for it in interps:
        if it and it.kind in ("thing", "people") and it.name in d.entities and it.np.prep in (None, "of", "for") \
                and it.np.after_verb is not None:
            return it.name
    for it in interps:
        if it and it.kind in ("thing", "people") and it.name in d.entities:
            return it.name
    return focus


BOOK_VERBS = frozenset({"book", "reserve", "schedule", "rent", "hire"})
#: a unit of a record's capacity, taken on the record ("book a seat on a trip", "claim a spot in a class")
PLACE_UNITS = frozenset({"place", "seat", "spot", "space", "berth", "ticket"})
TAKE_VERBS = frozenset({"book", "reserve", "take", "claim", "secure", "get", "grab", "buy"})
PLACE_PREPS = frozenset({"on", "in", "for", "at", "aboard", "onto", "into"})
TIME_PREPS = frozenset({"before", "after", "during", "until", "since", "by"})


def is_event(name: str, head: Word | None = None) -> bool:
    """A noun naming something that happens in time ("firing", "rehearsal", "appointment"); "session_item" is the
    session (`safe_name` renames a reserved word)."""
    if name.endswith("_item") and safe_name(name[:-5]) == name:
        name = name[:-5]
    last = name.split("_")[-1]
    return last in lx.EVENT_NOUNS or (head is not None and head.w.endswith("ing") and last.endswith("ing"))


def booked_event(ents: list[tuple[int, Interp]]) -> Interp | None:
    """In "book a kiln for each firing", the firing: a non-person record after "for" in a booking clause whose
    verb's object is another record (the resource)."""
    obj = next((it for _i, it in ents if it.np.prep is None and it.np.after_verb in BOOK_VERBS
                and it.kind == "thing"), None)
    if obj is None:
        return None
    return next((it for _i, it in ents if it.np.prep == "for" and it.kind == "thing" and it.name != obj.name
                 and it.np.after_verb in BOOK_VERBS), None)


_TIME_UNITS = r"(?:minutes?|hours?|days?|nights?|weeks?|months?)"


def _span(clause, np) -> bool:
    """ "24 hours before a race's liberation time", "within 3 days of its delivery date": a number of time units
    before or after a time is a span of the rule, not an attribute of the record."""
    ws = [w for w in np.words if w.tag != "stop"]
    if len(ws) != 2 or ws[0].tag != "num" or not re.fullmatch(_TIME_UNITS, ws[1].w):
        return False
    n, unit = re.escape(ws[0].w), re.escape(ws[1].w)
    return re.search(rf"(?<![a-z0-9]){n} {unit} (?:before|ahead of|prior to)(?![a-z])|(?<![a-z])within {n} {unit} "
                     rf"(?:of|before)(?![a-z])", clause.text) is not None


def _attach(d: Draft, units: list[Unit]) -> None:
    primary = next(iter(d.entities), None)
    for unit in units:
        focus: str | None = None
        feature = unit.kind == "feature"
        for clause in unit.clauses:
            interps = [None if _span(clause, np) else interpret(np) for np in clause.nps]
            target = _target_of(d, clause, interps, focus)
            if target is None and feature:
                target = primary
            # references between records named in one clause
            ents = [(i, it) for i, it in enumerate(interps)
                    if it and it.kind in ("thing", "people") and it.name in d.entities]
            ents = [(i, it) for i, it in ents if not (it.qualifier and it.kind == "people")]
            for _i, it in ents:
                for m in it.mods:
                    if m.s in d.entities and m.s != it.name:
                        d.add_ref(it.name, m.s, unit.text)
            booked_for = booked_event(ents)
            for (_ia, a), (_ib, b) in zip(ents, ents[1:], strict=False):
                if a.name == b.name:
                    continue
                prep = b.np.prep
                if booked_for is not None and b is booked_for and a.np.after_verb in BOOK_VERBS:
                    d.add_ref(b.name, a.name, unit.text)  # "book a kiln for each firing": the firing holds the kiln
                elif booked_for is not None and a.kind == "people" and b.np.after_verb in BOOK_VERBS:
                    d.add_ref(booked_for.name, a.name, unit.text)  # "members book a kiln for ...": who booked it
                elif (b.np.prep == "per" or b.np.each) and b.np.prep not in TIME_PREPS and not (
                        a.kind == "people" and a.np.after_verb is None and b.np.prep is None):
                    # "notes per patient"; not "singers rate each piece" or "a reminder before each rehearsal"
                    d.add_ref(a.name, b.name, unit.text)
                elif prep == "with" and b.plural and a.name not in lx.EVENT_NOUNS and not b.np.head.tag == "people":
                    d.add_ref(b.name, a.name, unit.text)
                elif prep in ("to", "with", "for", "from", "at", "in", "on", "of") and feature and not (
                        a.kind == "people" and a.np.after_verb is None):
                    d.add_ref(a.name, b.name, unit.text)
                elif prep is None and a.np.after_verb is None and a.kind == "people" and b.np.after_verb and \
                        not _VOTE_VERB.fullmatch(b.np.after_verb):
                    d.add_ref(b.name, a.name, unit.text)  # "patients book appointments"
            for p in clause.subject_people if feature else []:
                if p in d.entities:
                    for _i, it in ents:  # not "students vote for houses": a vote is the voter's, the house is not
                        if it.name != p and it.np.after_verb is not None and not _VOTE_VERB.fullmatch(
                                it.np.after_verb):
                            d.add_ref(it.name, p, unit.text)
            if not feature and target is None:
                continue
            # attributes
            groups: dict[int, list[Interp]] = {}
            for it in interps:
                if it is None or it.kind == "container":
                    continue
                owner = target
                for m in it.mods:
                    if m.s in d.entities:
                        owner = m.s
                if it.np.prep not in (None, "with", "including", "of") and not (
                        it.np.prep == "by" and set(clause.verbs) & {"search", "filter", "sort", "find", "browse",
                                                                    "group", "rank", "list"}):
                    continue  # "from low stock", "by card": not an attribute of the record
                if not feature and it.np.prep not in ("with", "including") and it.np.after_verb not in ATTRIBUTE_VERBS:
                    continue
                if it.kind == "attr":
                    if owner is None:
                        continue
                    if it.name in d.entities and not it.mods and it.np.prep in ("of", "for", "with", "to") \
                            and owner != it.name:
                        d.add_ref(owner, it.name, unit.text)  # "packets of a variety" once varieties are records
                        continue
                    name = "_".join(w for w in it.name.split("_") if w not in d.entities or w == it.head.s)
                    named_owner = any(x.name == owner for _i, x in ents) or any(m.s == owner for m in it.mods)
                    if not named_owner and any(it.head.s in f.name.split("_") for e in d.entities.values()
                                               for f in e.fields.values() if f.origin == "words"):
                        continue  # "expiry alerts" with no record named: the expiry date some record has
                    if it.plural and it.head.s == "date" and (name == "date" or name.split("_")[0] in lx.EVENT_NOUNS):
                        d.add_field(owner, "start_date", "date", unit.text)
                        d.add_field(owner, "end_date", "date", unit.text)
                    elif it.attr_type == "enum" and it.head.s in CALENDAR_VALUES:
                        d.add_field(owner, name, "enum", unit.text, values=CALENDAR_VALUES[it.head.s])
                    else:
                        d.add_field(owner, name, it.attr_type or "text", unit.text)
                    groups.setdefault(it.np.group, []).append(it)
                elif it.kind == "thing" and it.name not in d.entities and owner is not None and (feature or (
                        it.np.prep is None and it.np.after_verb in ATTRIBUTE_VERBS and any(
                            o is not None and o.kind == "attr" and o.np.group == it.np.group for o in interps))):
                    # a description's list that mixes a known attribute with other nouns lists attributes
                    # ("record the glaze, cone and temperature of every firing")
                    attr_pos = it.np.prep in ("with", "including", "by") or (
                        it.np.prep is None and it.np.after_verb in ATTRIBUTE_VERBS and it.np.after_verb != "add")
                    if attr_pos and len(it.mods) <= 1:
                        groups.setdefault(it.np.group, []).append(it)
            for grp in groups.values():
                things = [g for g in grp if g.kind == "thing"]
                owner = target
                if owner is None:
                    continue
                alts = [g for g in things if g.np.alternatives and not g.mods]
                if len(alts) >= 2 and len(alts) == len(things):
                    vals = [ident(g.head.w) for g in alts]
                    fname = "result" if set(vals) & {"pass", "fail", "passed", "failed"} else "status"
                    d.add_field(owner, fname, "enum", unit.text, values=vals)
                    continue
                for g in things:
                    parts = [m.s for m in g.mods] + [g.head.s]
                    ftype = type_for(parts)
                    if g.head.s in lx.BOOLEAN_WORDS:
                        ftype = "boolean"
                    d.add_field(owner, "_".join(parts), ftype, unit.text)
                # "glaze and cone temperatures": a noun modifier inside a list of attributes is its own field
                if things and len(grp) >= 2:
                    for g in grp:
                        if g.kind == "attr" and g.mods and g.plural:
                            base = g.head.s
                            joined = "_".join([m.s for m in g.mods] + [base])
                            e = d.entities.get(owner)
                            if e and joined in e.fields:
                                f = e.fields.pop(joined)
                                for m in g.mods:
                                    if m.s not in d.entities:
                                        d.add_field(owner, m.s, type_for([m.s]), f.source)
                                d.add_field(owner, base, f.type, f.source)
            # "mark meals as cooked": a boolean state
            m = re.search(r"\b(?:as|are|is|were|was|been|get|gets)\s+(?:an?\s+|the\s+|not\s+)?([a-z]+)\b",
                          clause.text)
            if m and feature and target and m.group(1) in lx.BOOLEAN_WORDS | {w + "ed" for w in lx.BOOLEAN_WORDS} \
                    and m.group(1) not in ("overdue", "due", "late"):  # "when a consent is overdue": a reminder
                d.add_field(target, m.group(1), "boolean", unit.text)
            if target:
                focus = target


M2M_CUE = re.compile(r"\b(made (from|of|with)|contains?|containing|includes?|including|uses|tagged with|"
                     r"belongs? to (many|several)|with many|in many|many-to-many|shared by many|across many)\b")


def _many_to_many(d: Draft, units: list[Unit]) -> None:
    """"Dishes made from ingredients": each dish has many ingredients and each ingredient is in many dishes,
    so the two link through a join entity (dish_ingredient) instead of a reference."""
    for unit in units:
        for clause in unit.clauses:
            if not M2M_CUE.search(clause.text):
                continue
            names = []
            for np in clause.nps:
                it = interpret(np)
                if it and it.kind in ("thing", "people") and safe_name(it.name) in d.entities:
                    n = safe_name(it.name)
                    if n not in names and not d.entities[n].join:
                        names.append(n)
            if len(names) < 2 or len(d.entities) >= MAX_TOTAL_ENTITIES:
                continue
            a, b = names[0], names[1]
            if any({a, b} == {x, y} for x, y, _j, _s in d.m2m):
                continue
            for x, y in ((a, b), (b, a)):  # the reference read from the same words becomes the join
                f = d.entities[x].fields.get(f"{y}_id")
                if f is not None and f.origin == "words":
                    del d.entities[x].fields[f"{y}_id"]
            join = d.add_entity(f"{a}_{b}", unit.text, join=True)
            d.add_field(join.name, f"{a}_id", "reference", unit.text, origin="structure", ref=a, required=True)
            d.add_field(join.name, f"{b}_id", "reference", unit.text, origin="structure", ref=b, required=True)
            d.add_field(join.name, "note", "text", unit.text, origin="structure")
            d.m2m.append((a, b, join.name, clip(unit.text)))


def _catalogue_fields(d: Draft) -> None:
    """Suggestions of the preset catalogue, only for a noun the idea names exactly."""
    for e in list(d.entities.values()):
        entry = catalogue_entry(e.name)
        if entry is None:
            continue
        own = [f for f in e.fields.values() if f.type != "reference"]
        if len(own) >= 3:
            continue
        money_words = {w for w, t in lx.ATTRIBUTE_TYPES.items() if t == "money"} | {"pay", "paid", "sell", "buy",
                                                                                     "price", "$", "£", "€"}
        for name, ftype, required in entry["fields"]:
            if ftype == "reference":
                continue
            if ftype == "money" and not d.has_word(*money_words):
                continue  # an idea that never speaks of money ("food donations") gets no amount
            if len(e.fields) >= 3 + len(d.refs(e.name)) and not required:
                break
            d.add_field(e.name, name, ftype, f"catalogue entry for '{e.name}' ({e.source})"[:300],
                        origin="catalogue", required=bool(required))
