"""Reading feature sentences: clauses, tagged words and noun phrases (no model, no domain lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .. import catalogues
from ..textutil import STOPWORDS, normalise
from . import lexicon as lx
from . import pos

_TOKEN = re.compile(r"[a-z][a-z0-9'+_-]*[a-z0-9]|[a-z]|\d+(?:[.,]\d+)?%?|[,;:.!?()/×]")
#: Words the idea screen ignores but that can name a record or an attribute here.
_CONTENT_STOPWORDS = frozenset({"website", "site", "web", "tool", "tools", "service", "software", "system",
                                "platform", "application", "solution"})
_DETERMINERS = STOPWORDS - lx.PREPOSITIONS - lx.CONJUNCTIONS - _CONTENT_STOPWORDS
_PARTICLES = frozenset({"up", "out", "in", "off", "back", "down", "ahead", "away", "over"})
_LY_NOUNS = frozenset({"family", "supply", "assembly", "reply", "ally", "rally", "jelly", "belly", "lily", "bully",
                       "holly", "italy", "july", "anomaly", "monopoly", "butterfly", "rely", "apply", "fly"})


def singular(word: str) -> str:
    """A noun's singular form (plural-only rules, so 'status' and 'glass' stay)."""
    w = word.strip("'.-+")
    if w in lx.IRREGULAR_SINGULAR:
        return lx.IRREGULAR_SINGULAR[w]
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith(("buses", "statuses", "campuses", "bonuses", "viruses", "censuses", "syllabuses")):
        return w[:-2]
    if len(w) <= 3 or w.endswith(("ss", "us", "is", "ics", "ous")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("zes") and not w.endswith(("zzes", "tzes")):
        return w[:-1]  # "prizes", "sizes", "glazes": the e is the word's own (but "quizzes", "waltzes")
    if w.endswith(("sses", "xes", "ches", "shes", "zes")):
        return w[:-2]
    if w.endswith("oes") and len(w) > 5:  # "potatoes", "heroes"; but "canoes", "horseshoes", "oboes" keep the e
        return w[:-1] if w.endswith(("canoes", "oboes", "shoes", "floes", "sloes", "throes")) and not w.endswith("volcanoes") else w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def plural(name: str) -> str:
    """The plural of a snake_case noun (its last word is pluralised)."""
    head = name.rsplit("_", 1)[-1]
    if head in lx.UNCOUNTABLE or name in lx.UNCOUNTABLE:
        return name + "_items" if not name.endswith("_items") else name
    for irregular, sing in lx.IRREGULAR_SINGULAR.items():
        if sing == head and irregular != head and "_" not in irregular:
            return name[: len(name) - len(head)] + irregular
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "ch", "sh", "z")):
        return name + "es"
    return name + "s"


#: Verbs of a record moving between states ("orders go from ordered to paid"): the word before them is their subject.
_MOVES = frozenset({"go", "goes", "went", "move", "moves", "moved", "pass", "passes", "progress", "progresses"})


def participle_of(word: str, verbs: frozenset[str]) -> bool:
    """Is `word` the past participle of one of `verbs` ("decided": decide, "logged": log, "done": do)?"""
    if not re.search(r"(?:ed|en|ne|de)$", word):
        return False
    bases = {verb_base(word), word[:-1], word[:-2], word[:-3], word[:-3] + "y", {"made": "make", "done": "do"}.get(word)}
    return bool(bases & verbs)


def verb_base(word: str) -> str | None:
    """The verb a word is a form of ('booking' -> 'book'), or None; a verb with a prefix is its own verb
    ('pre-order', 're-book', 'co-signs')."""
    pool = lx.VERBS | lx.AMBIGUOUS_VERBS | lx.STRICT_VERBS
    if word in pool:
        return word
    m = re.fullmatch(r"(pre|re|co|over|under|out|un)-([a-z]+)", word)
    if m:
        base = verb_base(m.group(2))
        return f"{m.group(1)}-{base}" if base else None
    if word in lx.IRREGULAR_VERBS:
        return lx.IRREGULAR_VERBS[word]
    cands = []
    for suf in ("ing", "ed", "es", "s"):
        if word.endswith(suf) and len(word) - len(suf) >= 2:
            base = word[: -len(suf)]
            cands += [base, base + "e"]
            if len(base) >= 3 and base[-1] == base[-2]:
                cands.append(base[:-1])
            if base.endswith("i"):
                cands.append(base[:-1] + "y")
    return next((c for c in cands if c in pool), None)


@dataclass
class Word:
    w: str
    tag: str  # noun people container adj verb prep conj stop num punct
    base: str = ""  # singular noun / verb base

    @property
    def s(self) -> str:
        return self.base or self.w


@dataclass
class NounPhrase:
    words: list[Word]
    prep: str | None  # the preposition before it ("per", "with"), None for a subject/object
    after_verb: str | None  # the clause's verb before it, None when it comes before any verb
    group: int  # noun phrases joined by and/or share a group
    alternatives: bool = False  # joined by "or"
    each: bool = False  # preceded by each/every
    det: str | None = None  # the determiner right before it ("a", "the", "their"), None when there is none
    holds: bool = False  # a list of what it has follows it ("varieties with name, crop and sowing month")

    @property
    def content(self) -> list[Word]:
        return [w for w in self.words if w.tag in ("noun", "people", "container")]

    @property
    def head(self) -> Word | None:
        c = self.content
        return c[-1] if c else None

    @property
    def text(self) -> str:
        return " ".join(w.w for w in self.words)


@dataclass
class Clause:
    text: str
    words: list[Word]
    verbs: list[str] = field(default_factory=list)
    nps: list[NounPhrase] = field(default_factory=list)
    subject_people: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _compounds() -> dict[tuple[str, ...], str]:
    """Multi-word nouns of the catalogue ('purchase order'), read as one word."""
    out: dict[tuple[str, ...], str] = {}
    for key, spec in catalogues.entity_lexicon().items():
        for form in [key.replace("_", " "), spec["plural"].replace("_", " "), *spec.get("aliases", [])]:
            parts = tuple(form.split())
            if len(parts) > 1:
                out[parts] = "_".join(parts)
    return out


#: Phrases that name one behaviour or artefact, read as one token so no part of them becomes a record:
#: "double booking" is an overlap (not a `double`), a "QR code" is a picture of a link (not a field).
_PHRASES = (
    (re.compile(r"\b(?:double|over|overlapping|conflicting|clashing)[- ]?(?:book(?:ing|ings|ed|s)?|reservations?)\b"),
     "double-booking"),
    (re.compile(r"\b(?:qr|bar)[- ]?codes?\b"), "qr-code"),
    (re.compile(r"\b(?:share|shareable|sharing|public|magic|invite|invitation|qr)[- ]links?\b"), "share-link"),
    (re.compile(r"\bchains? of custody\b"), "chain-of-custody"),
    # "a range of nights", "a couple of hours", "a handful of tools": an amount of the noun that follows, not a
    # record of its own ("the range holds 12 archers" keeps its range)
    (re.compile(r"\ba (?:range|couple|handful|variety|bunch|series|selection) of\b"), "some"),
)


def tokens(text: str) -> list[str]:
    low = normalise(text).replace("e-mail", "email").replace("real time", "real-time")
    for pat, repl in _PHRASES:
        low = pat.sub(repl, low)
    raw = _TOKEN.findall(low)
    comp = _compounds()
    out: list[str] = []
    i = 0
    while i < len(raw):
        for n in (3, 2):
            if tuple(raw[i:i + n]) in comp:
                out.append(comp[tuple(raw[i:i + n])])
                i += n
                break
        else:
            out.append(raw[i])
            i += 1
    return out


#: Words that start a verb's object: after "creates", "takes", "holds" they make it a verb, not a noun.
#: words that open a rule right after a verb: "each research group books at most 10 hours", "holds up to 6"
_RULE_AFTER_VERB = frozenset({"at", "up", "not", "never"})
_VERB_OBJECT_STARTS = frozenset({"a", "an", "the", "only", "no", "its", "their", "his", "her", "every",
                                 "each", "all", "any", "more", "fewer", "one", "two", "three", "four", "five", "six",
                                 "seven", "eight", "nine", "ten", "twelve", "twenty"})


_ATTRIBUTIVE_BEFORE = frozenset({"a", "an", "the", "each", "every", "their", "its", "his", "her", "our", "your",
                                  "any", "no", "this", "that", "these", "those", "all", "some"})
_SUBJECT_PRONOUNS = frozenset({"they", "we", "you", "he", "she", "i", "it", "who"})


_TIME_UNITS = ("minute", "min", "hour", "hr", "day")


def _length_adjective(w: str, prev, nxt: str) -> bool:
    """A time unit used as a compound adjective before a noun: "90-minute slots" (a number, then the unit in the
    singular), "two-hour", "half-day", "hour-long"."""
    if nxt == "" or not re.fullmatch(r"[a-z][a-z'-]*", nxt) or nxt in lx.PREPOSITIONS or nxt in lx.CONJUNCTIONS \
            or nxt in _DETERMINERS or nxt in pos.NUMBER_WORDS:
        return False
    if w in _TIME_UNITS:
        return prev is not None and prev.tag == "num"
    head, _sep, tail = w.partition("-")
    if tail.removesuffix("-long") in _TIME_UNITS:
        return head in pos.NUMBER_WORDS or head in ("half", "full", "whole", "all")
    return tail == "long" and head in _TIME_UNITS


def _tag(words: list[str]) -> list[Word]:
    out: list[Word] = []
    first_content = True
    for i, w in enumerate(words):
        prev = out[-1] if out else None
        if re.fullmatch(r"[,;:.!?()/×]", w):
            out.append(Word(w, "punct"))
            first_content = True if w in ";:.!?" else first_content
            continue
        if re.fullmatch(r"\d+(?:[.,]\d+)?%?", w):
            out.append(Word(w, "num"))
            continue
        if prev is not None and prev.tag == "verb" and w in _PARTICLES:
            out.append(Word(w, "stop"))
            continue
        if w in lx.CONJUNCTIONS:
            out.append(Word(w, "conj"))
            continue
        if w in lx.PREPOSITIONS:
            out.append(Word(w, "prep"))
            continue
        if (w in _DETERMINERS and w not in ("live", "list", "book")) or w == "both":  # "both clubs": a determiner
            out.append(Word(w, "stop"))
            continue
        vb = verb_base(w)
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if prev is not None and prev.w in _SUBJECT_PRONOUNS and (vb or "VERB" in pos.classes(w)):
            out.append(Word(w, "verb", vb or pos.verb_lemma(w) or w))  # "when they book": a verb after a subject
            first_content = False
            continue
        verb_s = w.endswith("s") and not w.endswith("ss") and (vb is not None and w != vb or "VERB" in pos.classes(w))
        # "scores each act from 1 to 10": after a verb's each/every, a word not in its -s form that ends its phrase
        # (a preposition, a comma or the end follows) is its object, a noun ("every sold lot" keeps "sold"; after a
        # preposition, "after each swap", the word is left as it was read)
        after_each = prev is not None and prev.w in ("each", "every") and not verb_s and len(out) >= 2 \
            and out[-2].tag == "verb" and (nxt in lx.PREPOSITIONS or nxt in lx.CONJUNCTIONS
                                           or nxt in ("", ",", ".", ";", ":"))
        if after_each:
            vb = None
        k = len(out) - 1  # "a padel club books its courts": the determiner before the subject's nouns
        while k >= 0 and out[k].tag in ("noun", "people", "adj"):
            k -= 1
        if verb_s and prev is not None and prev.tag in ("people", "noun") and prev.w == prev.s and len(out) >= 2 \
                and 0 <= k < len(out) - 1 and out[k].w in ("each", "every", "a", "an", "the", "one", "no", "any",
                                                           "their", "its", "his", "her", "our", "my", "your") \
                and (prev.tag == "people" or nxt in _VERB_OBJECT_STARTS or nxt in _RULE_AFTER_VERB
                     or (vb in _CHANGE_VERBS and out[k].w not in ("no",))):
            # "their field closes for the day": a verb of a change that takes no object
            # "each member books", "the quizmaster scores each round": a singular subject's verb (after a noun not
            # known to be a person, only when an object's determiner follows)
            out.append(Word(w, "verb", vb or pos.verb_lemma(w) or w))  # "each member books": a singular subject's verb
            first_content = False
            continue
        if first_content and verb_s and "NOUN" in pos.classes(w) and (nxt in lx.PREPOSITIONS or nxt in (",", "and", "")
                                                                      or nxt in _MOVES):  # "Orders go from A to B"
            vb = None  # "Picks with location": an imperative is never an -s form; a plural noun defines the record
        nouny = prev is not None and (prev.tag in ("noun", "adj", "num", "container")
                                      or prev.w in ("the", "their", "its", "our", "my", "your", "his", "her", "a",
                                                    "an", "each", "every", "all", "any", "some", "no"))
        if vb and (vb in lx.STRICT_VERBS or (w in lx.IRREGULAR_VERBS and w not in ("set", "read", "split", "left"))):
            out.append(Word(w, "verb", vb))
            first_content = False
            continue
        # "a defect creates a ticket", "each kiln takes only one": a verb before a determiner or a number
        clause_verb = w.endswith("s") and w != vb and (nxt in _VERB_OBJECT_STARTS or re.fullmatch(r"\d.*", nxt or ""))
        if vb and vb.rsplit("-", 1)[-1] in lx.VERBS and not (w.endswith("ing") and nxt and nxt not in _DETERMINERS and nouny) \
                and (clause_verb or not (w.endswith("s") and not w.endswith("ss") and w != vb and nouny)):
            out.append(Word(w, "verb", vb))
            first_content = False
            continue
        # "Holidaymakers book a narrowboat": a word that can be a verb, after the clause's first noun (plural) and
        # before a determiner, is the clause's verb
        after_next = words[i + 2] if i + 2 < len(words) else ""
        starts_object = nxt in _VERB_OBJECT_STARTS or (re.fullmatch(r"\d+", nxt) and after_next in _TIME_UNITS) or (
            nxt.partition("-")[0] in pos.NUMBER_WORDS and nxt.partition("-")[2] in _TIME_UNITS)  # "2-hour slots"
        if (vb or "VERB" in pos.classes(w)) and starts_object and prev is not None \
                and prev.tag in ("noun", "people") and prev.w != prev.s \
                and all(x.tag == "stop" for x in out[:-1]) and not any(x.tag == "verb" for x in out):
            # ("both clubs rate the referee": determiners before the noun change nothing)
            out.append(Word(w, "verb", vb or pos.verb_lemma(w) or w))
            first_content = False
            continue
        if vb and vb.rsplit("-", 1)[-1] in lx.AMBIGUOUS_VERBS and (
            first_content or (prev is not None and prev.w in (",", "and") and any(x.tag == "verb" for x in out))
            or (prev is not None and ((prev.tag == "people" and (prev.w != prev.s or (w.endswith("s") and w != vb)))
                                                     or prev.w in ("to", "can", "and")
                                                     and (len(out) < 2 or out[-2].tag in ("verb", "people"))))
            # "birdwatchers book a spot": a plural noun, then the word, then an article: a verb
            or (prev is not None and prev.tag == "noun" and len(out) == 1 and prev.w.endswith("s")
                and nxt in ("a", "an", "the", "their", "one", "up", "off", "out"))
        ) and nxt not in ("list", "lists", "calendar", "log", ",", "") and (nxt not in lx.PREPOSITIONS
                                                                            or nxt in ("off", "up", "out")) \
                and not w.endswith("ings"):
            out.append(Word(w, "verb", vb))
            first_content = False
            continue
        first_content = False
        if _length_adjective(w, prev, nxt):  # "90-minute slots", "hour-long lessons": how long, not a record
            out.append(Word(w, "adj"))
            continue
        if w in lx.ADJECTIVES or (w.endswith("ly") and len(w) > 4 and w not in _LY_NOUNS) or (
                len(w) > 5 and w.endswith(("ful", "ous", "less", "able", "ible"))
                and w not in ("table", "cable", "vegetable", "timetable", "turntable", "constable")):
            out.append(Word(w, "adj"))
            continue
        s = singular(w)
        if s in lx.PEOPLE or w in lx.PEOPLE:
            out.append(Word(w, "people", s if s in lx.PEOPLE else w))
        elif w in lx.CONTAINERS or s in lx.CONTAINERS:
            out.append(Word(w, "container", s))
        elif w in pos.NUMBER_WORDS:  # "four sessions": a count, not part of the record's name
            out.append(Word(w, "num"))
        elif pos.never_noun(w) and pos.never_noun(s) and not after_each:  # "withdraws", "cannot": never a record
            kinds = pos.classes(w) | pos.classes(s)
            attributive = prev is not None and prev.w in _ATTRIBUTIVE_BEFORE  # "a booked visit", "the signed form"
            if "ADJ" in kinds or (attributive and w.endswith(("ed", "en"))):
                out.append(Word(w, "adj"))
            elif "VERB" in kinds or w in pos.MODALS:
                out.append(Word(w, "verb", pos.verb_lemma(w) or w))
            else:
                out.append(Word(w, "stop"))
        else:
            out.append(Word(w, "noun", s))
    return out


def _split_clauses(tagged: list[Word]) -> list[list[Word]]:
    """Clauses: split at ; : . ! ? always, and at a comma or 'and' when a verb starts what follows."""
    clauses: list[list[Word]] = [[]]
    for i, w in enumerate(tagged):
        nxt = next((x for x in tagged[i + 1:] if x.tag not in ("stop",)), None)
        if w.tag == "punct" and w.w in ";:.!?()":
            clauses.append([])
            continue
        if w.tag == "punct" and w.w == "," and nxt is not None and nxt.tag == "verb":
            clauses.append([])
            continue
        if (w.tag == "conj" and nxt is not None and nxt.tag == "verb" and any(x.tag == "verb" for x in clauses[-1])
                and any(x.tag in ("noun", "people", "container") for x in clauses[-1])):
            clauses.append([])
            continue
        clauses[-1].append(w)
    return [c for c in clauses if any(x.tag not in ("punct", "stop") for x in c)]


def parse(text: str) -> list[Clause]:
    tagged = _tag(tokens(text))
    out: list[Clause] = []
    for words in _split_clauses(tagged):
        clause = Clause(" ".join(w.w for w in words), words)
        current: list[Word] = []
        prep: str | None = None
        verb: str | None = None
        group = 0
        alt = False
        pending_conj = False
        each = False
        det: str | None = None

        def flush(clause=clause):
            nonlocal current, pending_conj, each, det
            if any(x.tag in ("noun", "people", "container") for x in current):
                clause.nps.append(NounPhrase(current, prep, verb, group, alt, each, det))  # noqa: B023 (same turn)
            current = []
            each = False
            det = None

        for w in words:
            if w.tag in ("noun", "people", "container", "adj", "num"):
                if pending_conj and not current:
                    pending_conj = False
                current.append(w)
            elif w.tag == "conj":
                flush()
                pending_conj = True
                if w.w == "or":
                    alt = True
                    if clause.nps and clause.nps[-1].group == group:
                        clause.nps[-1].alternatives = True
            elif w.tag == "punct" and w.w in ",/":
                flush()
                pending_conj = True
            elif w.tag == "prep":
                flush()
                prep = w.w
                group += 1
                alt = False
                pending_conj = False
            elif w.tag == "verb":
                flush()
                if verb is None:
                    clause.subject_people = [x.s for np in clause.nps for x in np.content if x.tag == "people"]
                verb = w.s
                clause.verbs.append(w.s)
                prep = None
                group += 1
                alt = False
                pending_conj = False
            else:  # stop words end a phrase only when they separate two nouns ("their dogs" keeps going)
                if current:
                    flush()
                if w.w in ("each", "every"):
                    each = True
                det = w.w
        flush()
        for a, b in zip(clause.nps, clause.nps[1:], strict=False):
            a.holds = b.prep == "with" and b.group == a.group + 1
        low = " ".join(x.w for x in clause.words)
        if clause.nps and clause.nps[0].prep is None and clause.nps[0].after_verb is None and clause.verbs and \
                clause.verbs[0] in _STATE_VERBS and re.search(r"\b(?:from|through)\b.*\bto\b", low):
            clause.nps[0].holds = True  # "commissions go from received to frozen to ...": a record with a life
        out.append(clause)
    return out


#: verbs of a change of state that take no object ("their field closes for the day", "a licence expires")
_CHANGE_VERBS = frozenset({"close", "open", "expire", "lapse", "finish", "begin", "arrive", "depart", "fail",
                           "reopen", "overflow", "stall", "collapse", "shut"})

#: verbs whose subject passes through the states listed after them ("orders go from placed to packed to sent")
_STATE_VERBS = frozenset({"go", "move", "pass", "progress", "advance", "flow", "travel", "step"})


def words_of(text: str) -> set[str]:
    """Every token and its singular, for 'is this word in the idea' questions."""
    toks = [t for t in tokens(text) if re.fullmatch(r"[a-z][a-z0-9'+-]*", t)]
    out = set(toks) | {singular(t) for t in toks}
    for t in toks:
        vb = verb_base(t)
        if vb:
            out.add(vb)
        out.update(p for p in t.split("-") if p)
    return out


# ---------------------------------------------------------------------------------------------- state sequences

#: A state of a stated sequence: a word and up to two more that are no joining word ("in progress", "proof sent").
_STATE_WORD = r"[a-z][a-z\-]*"
_JOINING = r"(?:to|then|by|when|once|after|before|within|if|and|or)"
_STATE = rf"{_STATE_WORD}(?: (?!{_JOINING}\b){_STATE_WORD}){{0,2}}"
#: verbs of a record moving between states, and the nouns that name where it is
_SEQ_VERB = r"(?:go|goes|went|gone|going|move|moves|moved|moving|pass|passes|passed|passing|progress|progresses|" \
            r"progressed|flow|flows|advance|advances|advanced)"
_SEQ_HEAD = rf"(?:{_SEQ_VERB}|status(?:es)?|stages?|states?)"
#: "go from A to B to C", "status from A to B then C"
_SEQ_FROM = re.compile(rf"(?<![a-z]){_SEQ_HEAD}\s+from\s+(?P<chain>{_STATE}(?:\s+(?:to|then)\s+{_STATE}){{2,7}})"
                       rf"(?![a-z])")
#: "move through A, B and C", "pass through A, B, then C"
_SEQ_THROUGH = re.compile(rf"(?<![a-z]){_SEQ_VERB}\s+through\s+(?P<chain>{_STATE}(?:\s*,\s*{_STATE}){{1,6}},?\s+"
                          rf"(?:and then|and|then)\s+{_STATE})(?![a-z])")
#: "packed then shipped then invoiced": single words joined by "then"
_SEQ_THEN = re.compile(rf"(?<![a-z])(?P<chain>{_STATE_WORD}(?:,?\s+(?:and\s+)?then\s+{_STATE_WORD}){{2,6}})(?![a-z])")
_SEQ_SPLIT = re.compile(r"\s*,\s*(?:and then\s+|and\s+|then\s+)?|\s+(?:and then|to|then|and)\s+")


def state_sequences(text: str) -> list[tuple[int, int, list[str]]]:
    """Sequences of three or more states a sentence states in order: "go from A to B to C", "move through A, B and
    C", "A then B then C". Each as (start, end, [the states' words]) in the lower-cased text; the span starts at the
    verb (or status noun) that says the record moves. A state is a few words that are no joining word."""
    low = text.lower()
    out: list[tuple[int, int, list[str]]] = []
    for pat in (_SEQ_FROM, _SEQ_THROUGH, _SEQ_THEN):
        for m in pat.finditer(low):
            if any(m.start() < b and a < m.end() for a, b, _ in out):
                continue
            states = [s.strip() for s in _SEQ_SPLIT.split(m.group("chain")) if s.strip()]
            if pat is _SEQ_THEN and states[0] in ("is", "are", "was", "were", "be", "and", "or", "first"):
                continue
            if len(states) >= 3 and len(set(states)) == len(states):
                out.append((m.start(), m.end(), states))
    return sorted(out)
