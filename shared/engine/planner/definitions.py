"""Record definitions: a key feature that says what a record holds ("Inspections per hive with queen seen, brood
pattern, temperament and varroa count") defines that record, its parent and its attributes, whole.

The noun-phrase pass in `draft.py` reads every phrase on its own, so an attribute list used to scatter: "varroa
count" landed on the hive, "driver name" made a driver record, "weight in kilograms" lost its unit. A definition
is read as one sentence of English:

    <record>[ records | list | register | ...] [(per | of | for | against | on | in | at) [a | an | each | the]
    <parent>] with <attribute>, <attribute> and <attribute>

* the record is the head phrase (a container word such as "records" or "register" names no record of its own);
* the parent, after "per", "of each", "against an"..., becomes a required reference ("expenses against an envelope");
* each attribute phrase becomes ONE field named by all of its words ("brood pattern" -> brood_pattern), typed by
  English: a unit ("weight in kilograms") makes a decimal labelled with its unit, "number of seats" an integer,
  a date word a date, a time word a datetime, a past participle ("queen seen") a yes/no, a record the idea
  keeps a reference to it;
* fields the phrase pass had put elsewhere from the same feature are taken back, and a record made up from an
  attribute's words only ("driver" from "driver name") is dropped.

Nothing here knows a domain: only English function words, container words, units and participles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import lexicon as lx
from .text import parse, singular, verb_base

#: Measurement units an attribute can be given in: "weight in kilograms", "length (m)".
UNITS = frozenset("""
kilograms kilogram kg kgs grams gram g tonnes tonne tons ton pounds lbs lb ounces oz metres metre meters meter m
kilometres kilometre km kms miles mile centimetres centimetre cm millimetres millimetre mm feet foot ft inches inch
litres litre liters liter l millilitres ml gallons gallon celsius fahrenheit degrees degree knots knot mph kph
minutes minute mins hours hour hrs days day seconds second percent watts watt kw kwh volts volt
""".split())
#: Past participles that make a yes/no attribute: "queen seen", "vaccinated", "deposit paid".
PARTICIPLES = frozenset("""
seen checked done completed paid signed cleaned passed confirmed approved vaccinated neutered spayed insured verified
returned treated inspected tested serviced found present attended needed required booked
""".split())
#: Verbs whose object a feature defines with "with ...": "gardeners place bids on a job with price".
#: Records that are measurements: what they are "of" is a number ("water tests of pH, ammonia and nitrate")
MEASURED = frozenset({"test", "reading", "measurement", "sample", "check", "count", "level", "survey", "test_item"})
DEFINING_VERBS = frozenset({"send", "place", "post", "submit", "log", "record", "add", "file", "raise", "enter",
                            "make", "write", "upload", "list", "offer", "book", "reserve", "hire", "rent",
                            "schedule"})
BOOK_VERBS = frozenset({"book", "reserve", "hire", "rent", "schedule"})
#: Words that state a rule, never part of a record's name: "members trade bundles only with ...".
RULE_HEADS = frozenset({"only", "never", "not", "no", "just", "always", "most", "least", "each", "every"})
#: Vague nouns that never name a record, even in the plural ("details", "updates"); "works", "items", "parts" may.
ABSTRACT = frozenset({"data", "info", "information", "detail", "thing", "stuff", "way", "option", "setting", "feature",
                      "process", "flow", "management", "tracking", "use", "access", "system", "platform", "version",
                      "support", "service", "experience", "insight", "analytics", "statistics", "stat", "update",
                      "change", "progress", "overview", "quality", "performance", "other", "rest", "kind", "type",
                      "sort", "one", "time", "hour", "day", "week", "month", "year", "minute", "night"})
#: Words for a schedule of records: "class timetable" is the classes.
SCHEDULES = frozenset({"timetable", "timetables", "schedule", "schedules", "programme", "programmes", "agenda",
                       "agendas", "diary"})
DETERMINERS = frozenset({"a", "an", "the", "each", "every", "its", "their", "his", "her", "our", "my", "any"})
PREPS = ("per", "of", "for", "against", "on", "in", "at", "under", "from", "to")
DATE_WORDS = frozenset({"date", "birthday", "deadline", "dob", "expiry", "anniversary"})
TIME_WORDS = frozenset({"time", "timestamp", "datetime"})
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass
class Attr:
    words: list[str]  # the phrase's words, as written (lower case)
    name: str  # the field name
    type: str
    label: str
    unit: str | None = None
    ref: str | None = None  # a record the idea keeps
    values: list[str] = field(default_factory=list)


@dataclass
class Definition:
    feature: int
    text: str
    record: str  # entity name
    record_words: list[str]
    label: str  # the record's label in the founder's words ("Adverse event")
    parent: str | None
    attrs: list[Attr]
    spans: list[str]  # the attribute phrases, as written
    tail: str = ""  # the words after the record, as written ("with ...", "records ...", "by ...")
    by: str | None = None  # the people whose sentence it is ("customers order a skip by ..."): the customers


_HEAD = re.compile(r"^(?P<head>[a-z][a-z' -]*?)\s+with\s+(?P<attrs>.+)$")


def _clean(words: list[str]) -> list[str]:
    while words and words[0] in DETERMINERS:
        words = words[1:]
    return words


def _np_name(words: list[str], text: str = "", known: frozenset | set = frozenset(),
             attribute_words: bool = False) -> tuple[str, bool, str] | None:
    """The record a head phrase names, and whether it is a person; None when it names none (a behaviour, an
    attribute, a page alone). `attribute_words`: a word that is usually an attribute ("attendance") names a record
    here, because the phrase gives it a parent and attributes of its own."""
    words = _clean(words)
    if not words or len(words) > 4 or any(w in DETERMINERS or w in lx.CONJUNCTIONS or w in RULE_HEADS for w in words):
        return None  # "members book a desk", "check out and check in tools": a clause, not a noun phrase
    if any(w in lx.VERBS and w not in lx.CONTAINERS and singular(w) not in lx.PEOPLE and w not in lx.EVENT_NOUNS
           and not _nounish(w) for w in words):
        return None
    content = list(words)
    while len(content) > 1 and (content[-1] in lx.CONTAINERS or content[-1] in lx.UI_NOUNS or content[-1] in SCHEDULES):
        content = content[:-1]  # "tool register", "standby list": the record before the container word
    if any(w in lx.BEHAVIOUR_NOUNS or singular(w) in lx.BEHAVIOUR_NOUNS for w in content):
        return None
    if all(w in lx.CONTAINERS or w in lx.UI_NOUNS or w in lx.ADJECTIVES for w in content) and not (
            len(content) == 1 and content[0] not in lx.UI_NOUNS):  # "Tables with ...": tables are the record
        return None  # "public catalogue page": a page, no record
    head = singular(content[-1])
    plural_head = content[-1] != head and content[-1] == content[-1].rstrip("'")
    if (head in lx.ATTRIBUTE_TYPES and not attribute_words) or (head in lx.VAGUE_NOUNS and not (plural_head and head not in ABSTRACT)
                                      and head not in known and head not in ("item", "lot", "case", "part")) or \
            head in ("app", "user", "everyone"):
        return None
    mods = [singular(w) for w in content[:-1]]
    if head in lx.GENERIC_HEADS and mods and not known_alone(head, text):
        head = f"{mods[-1]}_{head}"  # "repair ticket"; but "garden jobs ... bids on a job": the job
    return head, head in lx.PEOPLE, " ".join([*content[:-1], singular(content[-1])])


def known_alone(head: str, text: str) -> bool:
    """Whether the idea uses `head` on its own somewhere (after an article), not only after its modifier."""
    return re.search(rf"\b(?:a|an|the|each|every|per|its|their)\s+{re.escape(head)}s?\b", text) is not None


def _nounish(w: str) -> bool:
    """A word the verb list holds that is a noun as often ("list", "log", "record", "book", "copy", "bid")."""
    return singular(w) != w or w in lx.CONTAINERS or w in ("copy", "bid", "booking", "visit", "hire", "loan",
                                                          "trade", "swap", "offer", "order")


def _split(attrs: str) -> list[str]:
    attrs = re.sub(r"[.;:]+$", "", attrs.strip())
    attrs = re.split(r"\s*(?:,|;|\(|\))\s*|\s+(?:and|or|plus|&)\s+", attrs)
    return [a.strip() for a in attrs if a and a.strip()]


#: Words that end an attribute's head and start what it is of or when: "weight on arrival", "date of birth".
HEAD_ENDS = frozenset({"on", "at", "of", "after", "before", "upon", "from", "per"})


def _yes_no(attrs: str) -> tuple[str, set[str]]:
    """"paid or unpaid", "signed or not": one yes/no attribute named by the positive word, not a choice between
    values ("pass or fail" still is)."""
    found: set[str] = set()

    def one(m: re.Match) -> str:
        found.add(m.group(1))
        return m.group(1)

    attrs = re.sub(r"\b([a-z]+) or (?:(?:un|non-?|in)\1|not(?: \1)?)\b", one, attrs)
    return attrs, found


def _attr(phrase: str, record: str, known: set[str], yes_no: frozenset | set = frozenset()) -> Attr | None:
    words = _clean(re.findall(r"[a-z0-9][a-z0-9'-]*", phrase.lower()))
    if len(words) == 1 and (words[0] in yes_no or words[0] in PARTICIPLES - {"needed", "required"}):
        return Attr(words, words[0], "boolean", _label(words))  # "paid or unpaid", "vaccinated": yes or no
    if len(words) == 1 and words[0] in UNITS and len(words[0]) > 2:
        return Attr(words, words[0], "decimal", _label(words), words[0])  # "date and grams": a weight in grams
    m = re.fullmatch(r"(?P<what>.+?) (?:on|for|of|per|in) (?:a |an |each |every |the |its )?(?P<rec>[a-z]+)",
                     " ".join(words))
    if m and singular(m.group("rec")) == record:
        words = m.group("what").split()  # "a QR code on each tool" on tools: the QR code
    m = re.fullmatch(r"([a-z]+) (?:it|they|he|she|we|you|i) [a-z' ]+", " ".join(words))
    if m and singular(m.group(1)) in known and singular(m.group(1)) != record:
        one = singular(m.group(1))  # "the pub it went to": a contact clause naming a record is a link to it
        return Attr(words, f"{one}_id", "reference", _label([one]), ref=one)
    if len(words) >= 2 and words[0] == "yes-no":  # "a yes/no DBS check", "a yes-or-no deposit": yes or no
        rest = words[1:]
        return Attr(rest, _ident(rest), "boolean", _label(rest))
    if len(words) >= 2 and words[-1] == "yes-no":  # "a heated yes/no": yes or no
        rest = words[:-1]
        return Attr(rest, _ident(rest), "boolean", _label(rest))
    m = re.fullmatch(r"whether (?:they|he|she|it|the [a-z]+) (?P<verb>[a-z]+ed) (?:a |an |the |their |its )?"
                     r"(?P<what>[a-z ]+)", " ".join(words))
    if m and len(m.group("what").split()) <= 4:  # "whether they signed a Gift Aid declaration": yes or no
        return Attr(words, _ident(m.group("what").split() + [m.group("verb")]), "boolean",
                    _label([m.group("verb"), *m.group("what").split()]))
    m = re.fullmatch(r"whether (?:(?:they|he|she|it|we|you|i)|(?:the|a|an|its|their) (?P<subj>[a-z]+)|"
                     r"(?P<noun>[a-z]+)(?= (?:is|was|are|were|has|had) )) "
                     r"(?:(?:is|was|are|were|has been|had been|have been|will be|gets|got) )?(?P<rest>[a-z' -]+)",
                     " ".join(words))
    if m and not (set(m.group("rest").split()) & {"or", "whether", "and"}):
        rest = [w for w in m.group("rest").split() if w not in DETERMINERS]
        name = [x for x in (m.group("subj"), m.group("noun")) if x] + rest  # "whether salt is included"
        if 1 <= len(name) <= 5:  # "whether the tank was filled", "whether it sits on the road": yes or no
            return Attr(words, _ident(name), "boolean", _label(name))
    if not words or len(words) > 5 or words[0] in ("who", "what", "when", "where", "which", "how", "whether"):
        return None  # "who holds each tool": a clause, not an attribute
    if any(w in lx.UI_NOUNS or w in ("qr", "pdf", "csv", "pdfs") or "%" in w or w.isdigit() for w in words):
        return None  # "a QR code", "a map": what a page shows, not data the record holds
    unit = None
    m = re.fullmatch(r"(?P<what>[a-z0-9' -]+?) (?:in|as) (?P<unit>(?:square|sq|cubic|cu) [a-z]+|[a-z]+)",
                     " ".join(words))
    if m and m.group("unit").split()[-1] in UNITS:  # "weight in kilograms", "a size in square feet"
        unit, words = m.group("unit"), m.group("what").split()
    if len(words) >= 3 and words[-2] == "of" and singular(words[-1]) == record:
        words = words[:-2]  # "style of ascent" on ascents: the style
    if len(words) >= 3 and words[0] == "number" and words[1] == "of":
        name_words = words[2:]
        return Attr(words, _ident(name_words), "integer", _label(words), unit)
    if len(words) == 2 and words[0] in COUNT_ADJECTIVES and singular(words[1]) != words[1] and \
            singular(words[1]) not in lx.PEOPLE and words[1] not in lx.ATTRIBUTE_TYPES:
        return Attr(words, _ident(words), "integer", _label(words))  # "spare rooms": how many
    name_words = [w for w in words if w not in ("the", "a", "an")]
    if not name_words[-1].endswith(("hours", "notes")):
        name_words[-1] = singular(name_words[-1])  # "expiry dates": an expiry date per record
    if len(words) >= 2 and tuple(words[-2:]) in lx.ATTRIBUTE_PHRASES and lx.ATTRIBUTE_PHRASES[tuple(words[-2:])][0]:
        pname, ptype = lx.ATTRIBUTE_PHRASES[tuple(words[-2:])]  # "phone numbers", "contact details"
        return Attr(words, pname, ptype, _label(words))
    name = _ident(name_words)
    if not name:
        return None
    lab = _label(words) + (f" ({unit})" if unit else "")
    one = singular(words[-1]) if len(words) == 1 else None
    if one and one in known and one != record:
        return Attr(words, f"{one}_id", "reference", _label(words), ref=one)
    if unit:
        return Attr(words, name, "decimal", lab, unit)
    ws = set(words)
    cut = next((j for j, w in enumerate(words) if w in HEAD_ENDS and j > 0), None)
    if cut is not None and cut < len(words) - 1 and words[-1] != "week":
        ws = set(words[:cut])  # "weight on arrival": typed by its head, the weight, not by "on" or "arrival"
        if not ws & (DATE_WORDS | TIME_WORDS):
            typed = _attr(" ".join(words[:cut]), record, set(), yes_no)
            if typed is not None and typed.type not in ("text", "reference"):
                return Attr(words, name, typed.type, lab, typed.unit, values=typed.values)
    if words[:3] == ["day", "of", "week"] or words == ["day", "of", "the", "week"] or words == ["weekday"]:
        return Attr(words, "day_of_week", "enum", "Day of the week", values=WEEKDAYS)
    if ws & DATE_WORDS or words[-1] in ("installed", "born", "joined", "started", "opened", "enrolled"):
        return Attr(words, name, "date", lab)
    if ws & TIME_WORDS:
        return Attr(words, name, "datetime", lab)
    if len(words) >= 2 and words[-1] in PARTICIPLES and words[-1] not in ("needed", "required"):
        return Attr(words, name, "boolean", lab)
    last = words[-1]
    t = lx.ATTRIBUTE_TYPES.get(last) or lx.ATTRIBUTE_TYPES.get(singular(last))
    if t is None:
        for cue_type, cues in lx.TYPE_CUES:
            if ws & cues:
                t = cue_type
                break
    if t is None:
        t = "text"
    if last in ("number", "no", "id", "ref", "reference", "code", "registration", "plate"):
        t = "text"  # "running number", "vehicle registration": an identifier
    if name in ("notes", "description") or last in ("notes", "description", "comments", "instructions"):
        t = "long_text"
    return Attr(words, name, t, lab)


def _ident(words: list[str]) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", "_".join(words)).strip("_")
    if s and not s[0].isalpha():
        s = f"field_{s}"
    return s[:40].rstrip("_")


def _label(words: list[str]) -> str:
    return " ".join(words).capitalize()[:80]


#: Verbs a record is the subject of when it says what it holds: "each trip records start and end mileage".
HOLDING_VERBS = frozenset({"record", "records", "log", "logs", "has", "have", "hold", "holds", "store", "stores",
                           "track", "tracks", "keep", "keeps", "capture", "captures", "note", "notes"})
#: Verbs that find or arrange records "by" something: "members sort jobs by date" defines nothing.
SEARCH_VERBS = frozenset({"filter", "sort", "search", "browse", "find", "group", "rank", "view", "see", "show",
                          "organise", "organize", "categorise", "categorize", "compare", "match", "list", "pay",
                          "split", "count", "total", "sum", "export", "print", "email", "text", "notify", "remind",
                          "get", "earn", "charge", "bill", "price", "rate", "score", "grade"})
#: Past participles that say how a record is kept: "scaffolds recorded per site with ...".
KEPT_PARTICIPLES = frozenset({"kept", "held", "written", "made", "sent", "taken", "given", "set", "found", "bought",
                              "done", "put", "run"})
#: Words of a pair that share one head noun: "start and end mileage" is a start mileage and an end mileage.
PAIR_WORDS = frozenset("""
start end opening closing open close min max minimum maximum first last arrival departure pickup pick-up drop-off
dropoff collection delivery in out check-in check-out before after morning evening high low upper lower front back
rear home away outbound return entry exit starting finishing finish begin
""".split())
#: Adjectives that make a plural noun a count: "spare rooms" is how many rooms are spare.
COUNT_ADJECTIVES = frozenset({"spare", "free", "vacant", "empty", "available", "remaining", "unused"})
#: A limit or a rule, not attributes: "each room has at most 3 meetings".
_RULE_WORDS = re.compile(r"\b(at most|at least|no more|more than|fewer|less than|up to|only|never|must|cannot|"
                         r"can't|per (?:day|week|month|year)|[0-9]+)\b")


def _past_participle(w: str) -> bool:
    return w in KEPT_PARTICIPLES or (w.endswith("ed") and verb_base(w) is not None)


def _reshape(low: str) -> tuple[str, str]:
    """Definitions written in other shapes, as "<record> with <attributes>" (or unchanged):
    "each trip records a, b and c" and "customers order a skip by a, b and c"."""
    m = re.fullmatch(r"(?:each|every|a|an|the)\s+(?P<parent>[a-z]+(?: [a-z]+)?)\s+(?:lists|has|holds|keeps|tracks|"
                     r"records|logs)\s+(?:its|their|the)\s+(?P<rec>[a-z][a-z' -]*?)\s+with\s+(?P<attrs>.+)", low)
    if m and singular(m.group("parent").split()[-1]) not in lx.PEOPLE:
        # "each tank lists its fish with species, count and date added": the fish, one tank's each
        return f"{m.group('rec')} per {m.group('parent')} with {m.group('attrs')}", ""
    m = re.fullmatch(r"(?:log|logs|record|records|track|tracks|keep|keeps|take|takes|note|notes)\s+(?:each\s+|every\s+)?"
                     r"(?P<rec>[a-z][a-z' -]*?)\s+of\s+(?P<attrs>[^;]+?)(?:\s+(?P<prep>against|for|per|on)\s+"
                     r"(?P<parent>(?:a|an|the|each|every|its|their)\s+[a-z][a-z' -]*))?", low)
    if m and len(_split(m.group("attrs"))) >= 2 and not _RULE_WORDS.search(m.group("attrs")) and \
            singular(m.group("rec").split()[-1]) not in lx.PEOPLE and \
            not re.match(r"(?:each|every|a|an|the|their|its|his|her|our)\b|.*\bwith\b", m.group("attrs")):
        # ("log inspections of each hive with date and notes": the hive is the parent, read by "<record> with")
        # "log water tests of pH, ammonia, nitrite and nitrate against a tank": tests, each of one tank
        where = f" {m.group('prep')} {m.group('parent')}" if m.group("parent") else ""
        return f"{m.group('rec')}{where} with {m.group('attrs')}", ""
    if _HEAD.match(low):
        return low, ""
    m = re.fullmatch(r"(?:(?:each|every|a|an|the)\s+)?(?P<rec>[a-z][a-z' -]*?)\s+(?P<verb>"
                     + "|".join(sorted(HOLDING_VERBS, key=len, reverse=True)) + r")\s+(?P<attrs>.+)", low)
    if m and re.search(r"\bcheck ?lists?\b|^(?:an?|the)\s+[a-z]+\s*:", m.group("attrs")):
        m = None  # "each ringing session has a checklist: nets checked, ...": the checklist's items, not attributes
    if m and m.group("verb") in HOLDING_VERBS and 1 <= len(m.group("rec").split()) <= 3 and \
            singular(m.group("rec").split()[-1]) not in lx.PEOPLE and not _RULE_WORDS.search(m.group("attrs")) and \
            len(_split(m.group("attrs"))) >= 2:
        return f"{m.group('rec')} with {m.group('attrs')}", f"{m.group('verb')} {m.group('attrs')}"
        # "each trip records start and end mileage and ..."
    m = re.fullmatch(r"(?P<who>[a-z]+) (?P<verb>[a-z-]+) (?P<obj>(?P<art>an? |the )?[a-z][a-z' -]*?) by (?P<attrs>.+)",
                     low)
    if m:
        verb = verb_base(m.group("verb")) or m.group("verb")
        who = m.group("who")
        if (singular(who) in lx.PEOPLE or (singular(who) != who and who not in lx.CONTAINERS)) and \
                verb not in SEARCH_VERBS and (m.group("art") or "").strip() in ("a", "an") and \
                len(_split(m.group("attrs"))) >= 2 and not _RULE_WORDS.search(m.group("attrs")):
            return f"{who} {m.group('verb')} {m.group('obj')} with {m.group('attrs')}", f"by {m.group('attrs')}"
            # "customers order a skip by size, ..."
    return low, ""


def _pairs(spans: list[str]) -> list[str]:
    """ "start", "end mileage" -> "start mileage", "end mileage": two words of a pair share the next one's head."""
    out = list(spans)
    for i in range(len(out) - 1):
        one, nxt = out[i].split(), out[i + 1].split()
        if len(one) == 1 and one[0] in PAIR_WORDS and len(nxt) >= 2 and nxt[0] in PAIR_WORDS and nxt[0] != one[0]:
            out[i] = " ".join([one[0], *nxt[1:]])
    return out


def read(idea: dict, known: set[str]) -> list[Definition]:
    """The record definitions among the idea's key features; `known` are the records the draft keeps."""
    out = []
    whole = " ".join(str(x) for x in [idea.get("title"), idea.get("description"), *(idea.get("key_features") or []),
                                       idea.get("target_audience")] if x).lower()
    for i, text in enumerate(str(f) for f in idea.get("key_features") or []):
        low = " ".join(text.lower().split()).rstrip(".")
        low = re.sub(r"\byes(?:\s*/\s*|-or-|\s+or\s+)no\b", "yes-no", low)  # "a yes/no DBS check": one yes/no
        logged = re.match(r"(?:log|logs|record|records|track|tracks|take|takes|note|notes)\s+\S+.*\bof\b", low)
        low, tail = _reshape(low)
        m = _HEAD.match(low)
        tail = tail or (f"with {m.group('attrs')}" if m else "")
        attrs_text, yes_no = _yes_no(m.group("attrs")) if m else ("", set())
        if not m or re.search(r"\bor\b", attrs_text):
            continue  # "with pass or fail": the values of one field, read by the phrase pass
        head = m.group("head").split()
        bare = _clean(head)
        if len(bare) >= 3 and bare[1] in ("is", "are", "gets", "get") and _past_participle(bare[2]) and (
                len(bare) == 3 or bare[3] in PREPS):
            head = [bare[0], *bare[3:]]  # "each catch is logged against a booking with ...": the catches, per booking
        if len(head) >= 2 and _past_participle(head[1]) and (len(head) == 2 or head[2] in PREPS):
            head = [head[0], *head[2:]]  # "scaffolds recorded per site with ...": the scaffolds, per site
        booked = False
        by = None
        verb = verb_base(head[1]) or head[1] if len(head) >= 3 else ""
        if len(head) >= 3 and (verb in DEFINING_VERBS or verb in lx.VERBS or verb in lx.AMBIGUOUS_VERBS) and (
                singular(head[0]) in lx.PEOPLE or singular(head[0]) != head[0]):  # "plumbers send ..."
            # "Plumbers send quotes on a job with price", "Members book a kiln for a firing with date"
            booked = (verb_base(head[1]) or head[1]) in BOOK_VERBS
            by = singular(head[0])
            head = head[2:]
        parent_words: list[str] = []
        for j, w in enumerate(head):
            if w in PREPS and j > 0:
                head, parent_words = head[:j], head[j + 1:]
                break
        rec = _np_name(head, whole) or (_np_name(head, whole, attribute_words=True) if parent_words and not booked
                                        else None)  # "attendance per dog with date": a record of its own
        if rec is None:
            continue
        record, _people, rec_label = rec
        parent = None
        if parent_words:
            p = _np_name(parent_words, whole, known | {d.record for d in out})
            if p is None:
                continue
            parent = p[0]
        if len(parse(m.group("head"))) > 1:
            continue
        if parent and parent_words and head and all(w in lx.CONTAINERS or w in lx.UI_NOUNS for w in head):
            record, parent = parent, None  # "list of tools with ...": the tools
        if booked:
            if not parent:
                continue  # "members book a desk with ...": the booking capability reads it
            if record not in lx.EVENT_NOUNS:  # "book appointments for a treatment with date": the appointments
                record, parent = parent, record  # "book a kiln for a firing with date": the firing holds the kiln
                rec_label = _np_name(parent_words, whole)[2]
        if re.search(r"\b(agreement|consent|approval|permission|sign[- ]off)\b", m.group("attrs")):
            continue  # "with both members' agreement": a rule, not attributes
        spans = _pairs(_split(attrs_text))
        attrs = []
        for span in spans:
            if span.strip() == "yes-no":  # "DBS check (yes/no)": the attribute before is a yes/no
                if attrs and attrs[-1].type == "text" and not attrs[-1].ref:
                    attrs[-1].type = "boolean"
                continue
            if booked and len(span.split()) == 2 and span.split()[0] in ("start", "end") and \
                    span.split()[1] in ("time", "times"):  # "book a kiln for a firing with start and end time":
                one = span.split()[0]  # the booking's own start and end
                attrs.append(Attr([one, "time"], f"{one}_at", "datetime", f"{one.capitalize()} time"))
                continue
            if span.strip() == "dates":  # "with route, dates and supervisor": when it starts and ends
                attrs += [Attr(["start", "date"], "start_date", "date", "Start date"),
                          Attr(["end", "date"], "end_date", "date", "End date")]
                continue
            a = _attr(span, record, known | {x for x in (parent,) if x}, yes_no)
            if a:
                attrs.append(a)
        if logged and record.split("_")[-1] in MEASURED:  # "log water tests of pH, ammonia and nitrate": readings
            for a in attrs:
                if a.type == "text" and not a.ref and not a.values:
                    a.type = "decimal"
        if len(attrs) < 1 or len(attrs) < len(spans) - 1:
            continue
        out.append(Definition(i, text, record, head, rec_label.capitalize(), parent, attrs, spans,
                              tail, by if by in lx.PEOPLE else None))
    return out
