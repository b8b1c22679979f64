"""Restatements found by what products do, and differentiators that are stated differences.

An idea restates a catalogue product when its own description and features cover enough of the product's
`core_features` (catalogue.json), matching by meaning: words are stemmed (`market.term`) and two words are
the same when they share a group of the synonym table (`data/synonyms.json`, why a table:
docs/decisions/0026-synonyms-table.md). A feature is covered when the idea has one of its words (features of
one or two words: all of them; longer features: two of them).

A restatement may still go when the idea states a difference of one of four kinds, each quoted from the
idea's own words:

* `audience`   — a group in the target audience (or after "built for", "only for"...) whose words are not
                 among the product's users, features or description ("Wheelchair users");
* `constraint` — a constraint or workflow the product lacks: a cue such as "offline", "SMS", "on-premise",
                 "approval", "audit log" whose words the product's own entry does not have;
* `price`      — a price point or business model other than the product's: "a flat $39 monthly fee instead
                 of a commission" against a product that takes a commission, "one-time $49" against a
                 subscription;
* `contrast`   — an explicit contrast with something the product has: "unlike text flashcards", "no lists",
                 "without ads", "instead of swiping", "only for nurses".

Words of the idea that the product's entry merely lacks are never a differentiator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from . import catalogues, market
from .textutil import STOPWORDS, tokens

# A restatement covers at least MIN_COVERED of the product's core features, and the share of the product's
# features it covers plus the share of its own content the product's entry explains reaches CLOSE (a short
# idea that is all product, or a long one that covers most of the product's features).
MIN_COVERED = 2
CLOSE = 1.0
# A product's entry lists its features most defining first: a short restatement names the product by its first
# DEFINING features and rarely lists the rest, so the share of features covered is the better of the share of
# all of them and the share of the first DEFINING (a long feature list is not a shield against a short idea).
DEFINING = 4
RANK_PENALTY = 0.02
# Close products of one category whose strengths (less the rank penalty) are within NEAR_TIE of the best are
# near-identical for this idea: the best-known of them (first in its category) is named.
NEAR_TIE = 0.06
# An idea whose words point at one product far more than at any other (its BM25 score at least DOMINANT times
# the next product's) describes that product: when the idea also covers its features (at least MIN_COVERED and
# DOMINANT_SHARE of them) it is close even if the idea says much the entry does not (a long pitch of an e-reader
# with highlights and a dictionary is still the e-reader).
DOMINANT = 1.5
DOMINANT_SHARE = 0.5
# Not close, but the product is a competitor: at least RELATED_COVERED of its features and RELATED_SHARE of them.
RELATED_COVERED = 3
RELATED_SHARE = 0.4
WORKFLOW_IDF = 4.0  # a stated feature is a workflow of its own when its words are this rare in the catalogue

# Broad populations and size, place or time qualifiers: an audience made only of these words names no
# group a product could fail to serve ("busy people", "small businesses in the city").
GENERIC_AUDIENCE = frozenset(market.term(w) for w in (
    "people", "person", "anyone", "anybody", "everyone", "everybody", "user", "users", "customer", "customers",
    "consumer", "consumers", "individual", "individuals", "adult", "adults", "teen", "teens", "teenager", "teenagers",
    "kid", "kids", "child", "children", "young", "old", "older", "family", "families", "friend", "friends",
    "household", "households", "public", "general", "busy", "small", "mid-size", "midsize", "medium", "large", "big",
    "local", "city", "cities", "town", "towns", "urban", "resident", "residents", "commuter", "commuters", "beginner",
    "beginners", "new", "first-time", "regular", "everyday", "modern", "group", "groups", "member", "members",
    "business", "businesses", "company", "companies", "organisation", "organisations", "organization",
    "organizations", "team", "teams", "enterprise", "enterprises", "professional", "professionals", "worldwide",
    "world", "global", "home", "online", "digital", "active", "casual", "serious", "avid", "modern", "like", "want",
    "wants", "need", "needs", "looking", "their", "other", "others", "both", "those", "size", "sized", "growing",
    "ambitious", "savvy", "tech-savvy", "non-technical", "independent", "self-employed", "sole", "one", "two",
    # how or where people work: a broad qualifier, not a group
    "remote", "hybrid", "distributed", "working", "full-time", "part-time", "office", "in-office", "on-the-go",
    # whose a thing is: "business owners" names no group beyond the business ("dog owners": the dog does)
    "owner", "owners",
))

# Words that say a constraint or a workflow (general vocabulary; matched on whole words, stemmed).
CONSTRAINT_CUES = (
    "offline", "no internet", "no signal", "no mobile signal", "no data", "without internet", "low bandwidth",
    "sms", "text message", "basic phone", "basic phones", "feature phone", "feature phones", "paper", "printed",
    "on-premise", "on-premises", "self-hosted", "air-gapped", "local-first", "on-device",
    "hipaa", "gdpr", "compliance", "compliant", "regulator", "regulators", "regulatory", "certification",
    "certified", "inspection", "inspections", "inspector", "audit", "audit log", "audit trail", "approval",
    "approved", "approve", "sign off", "sign-off", "verified", "verify", "verification", "licensed", "licensing",
    "accessible", "accessibility", "wheelchair", "screen reader", "sign language", "deaf", "blind", "low-vision",
    "multilingual", "bilingual", "interpreter", "in person", "on site", "on-site", "cash", "sealed", "consent",
    "anonymous", "encrypted", "end-to-end", "vetted", "background-checked", "background check",
    "cannot exceed", "limit", "limits", "cap", "capped", "quota", "allowance", "at most", "no more than",
)

# Business-model words by kind (the idea's words, and the product's pricing in words).
MODEL_WORDS = {
    "commission": ("commission", "commissions", "cut", "take rate", "percentage", "revenue share"),
    "subscription": ("subscription", "subscriptions", "monthly", "a month", "per month", "yearly", "a year",
                     "per year", "annual", "membership", "memberships"),
    "one-time": ("one-time", "one-off", "once", "lifetime", "licence", "license", "purchase"),
    "flat-fee": ("flat",),
    "free": ("free", "no fees", "no fee", "at cost", "at-cost"),
    "nonprofit": ("cooperative", "co-op", "owned", "nonprofit", "non-profit", "donation", "donations", "grant",
                  "grants", "charity"),
    "usage": ("pay as you go", "pay-as-you-go", "usage", "per response", "per use"),
}
PRICING_KINDS = {
    "free": {"free"}, "freemium": {"free", "subscription"}, "subscription": {"subscription"},
    "per-seat": {"subscription"}, "usage-based": {"usage"}, "commission": {"commission"},
    "transaction-fee": {"commission", "usage"}, "one-time": {"one-time"}, "open-source": {"free"},
    "ad-supported": {"free"},
}
# "with 1-20 rental units", "of 2-20 agents", "under 10 staff": a segment of the users by size
SEGMENT_SIZE = re.compile(r"\b(?:\d+\s?(?:-|to|\u2013)\s?\d[\d,]*|(?:under|up to|fewer than|less than|over|more than)"
                          r"\s\d[\d,]*|\d[\d,]*\+)\s+[a-z]+", re.I)
PRICE_POINT = re.compile(r"[$€£]\s?\d[\d,.]*|\b\d+(?:\.\d+)?\s?%")
PER_UNIT = re.compile(r"\bper\s+([a-z]+)", re.I)

AUDIENCE_CUES = re.compile(r"\b(?:only for|built for|designed for|made for|specifically for|tailored (?:to|for)|"
                           r"but for|just for|exclusively for)\s+([^.,;:!?()]+)", re.I)
CONTRAST = re.compile(r"\b(unlike|instead of|rather than|compared (?:to|with)|without|no|only for)\s+"
                      r"([^.,;:!?()]+)", re.I)
# A group ends where a clause about it begins ("Crafters who sell...", "Marketers collecting feedback")
RELATIVE = re.compile(r"who|that|which|whose|where|[a-z]{2,}ing", re.I)
SPLIT_GROUPS = re.compile(r"\band\b|\bor\b|\bplus\b|/|&", re.I)
# A group names people or organisations: its last word is one of these nouns or ends like a person noun.
ORG_NOUNS = frozenset(market.term(w) for w in (
    "people", "adults", "children", "kids", "families", "couples", "singles", "households", "friends", "landlords",
    "nurses", "chefs", "hosts", "guests", "athletes", "pupils", "staff", "crews", "clinics", "practices", "hospitals",
    "wards", "labs", "laboratories", "schools", "universities", "colleges", "restaurants", "cafes", "bakeries",
    "shops", "stores", "salons", "studios", "gyms", "agencies", "firms", "companies", "businesses", "charities",
    "nonprofits", "ngos", "churches", "councils", "societies", "associations", "clubs", "teams", "communities",
    "cooperatives", "co-ops", "breweries", "vineyards", "farms", "marinas", "yards", "offices", "departments",
    "courts", "homes", "groups", "organisations", "organizations", "startups", "retailers", "brands", "fans",
    "readers", "viewers", "audiences", "teens", "seniors", "veterans", "parents", "students", "patients",
))
PERSON_ENDINGS = ("er", "ers", "or", "ors", "ist", "ists", "ian", "ians", "ant", "ants", "ent", "ents", "ee", "ees",
                  "eer", "eers", "man", "men", "ess", "esses", "ary", "aries")


# ------------------------------------------------------------------ meaning


@cache
def _synonyms() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for i, group in enumerate(catalogues._json("synonyms.json")["groups"]):
        for w in group:
            groups.setdefault(market.term(w), set()).add(f"#{i}")
    return {t: frozenset(ks | {t}) for t, ks in groups.items()}


DERIVATIONAL = ("ations", "ation", "ions", "ion", "ments", "ment", "ers", "er", "ors", "or", "ness", "ity", "ive")


@cache
def root(t: str) -> str:
    """A derivational root, so that 'suggest'/'suggestion', 'check'/'checker', 'expire'/'expiry' and
    'write'/'writ(ing)' meet: the longest common suffix is cut (leaving at least 5 letters), then a final e or y
    (a final e of a four-letter word too, so that 'vote'/'vot(ed)' and 'code'/'cod(ing)' meet)."""
    prev = None
    while t != prev:
        prev = t
        for suffix in DERIVATIONAL:
            if t.endswith(suffix) and len(t) - len(suffix) >= 5:
                t = t[: -len(suffix)]
                break
        t = t[:-1] if (len(t) >= 5 and t[-1] in "ey") or (len(t) == 4 and t[-1] == "e") else t
    return t


@cache
def keys(t: str) -> frozenset[str]:
    """A stemmed term, its root and the synonym groups it belongs to: two terms mean the same when their
    keys meet."""
    return (_synonyms().get(t) or frozenset((t,))) | {"~" + root(t)}


def terms(text: str) -> list[tuple[str, str]]:
    """(term, surface word) for the content words of `text`."""
    return market.analyse(text)


def key_set(text: str) -> set[str]:
    out: set[str] = set()
    for t, _ in terms(text):
        out |= keys(t)
    return out


def _negated(text: str) -> set[str]:
    """Keys of words the text says are absent ("no inventory", "without ads", "commission-free")."""
    out: set[str] = set()
    low = text.lower()
    for m in re.finditer(r"\b(?:no|without|zero)\s+((?:[a-z-]+\s?){1,3})", low):
        for t, _ in terms(m.group(1))[:2]:
            out |= keys(t)
    for m in re.finditer(r"\b([a-z]+)-free\b", low):
        out |= keys(market.term(m.group(1)))
    return out


def model_kinds(text: str) -> set[str]:
    """Business-model kinds the words of `text` name (a '-free' word names the absence of its model)."""
    low = re.sub(r"\b[a-z]+-free\b", " ", text.lower())
    words = tokens(low)
    found = set()
    for kind, phrases in MODEL_WORDS.items():
        for p in phrases:
            ptoks = tokens(p)
            n = len(ptoks)
            if any(words[i : i + n] == ptoks for i in range(len(words) - n + 1)):
                found.add(kind)
    if PER_UNIT.search(low) and not {"subscription", "commission"} & found:
        unit = PER_UNIT.search(low).group(1)
        found.add("subscription" if unit in ("month", "year", "week", "seat", "user") else "usage")
    return found


# ------------------------------------------------------------------ products


@dataclass(frozen=True)
class Profile:
    name: str
    features: tuple[tuple[str, tuple[str, ...]], ...]  # (phrase, terms)
    keys: frozenset[str]        # everything the entry says (features, users, description, category)
    positive: frozenset[str]    # the same without what the entry says is absent
    users: frozenset[str]
    name_keys: frozenset[str]   # the product's and its category's names
    kinds: frozenset[str]       # business-model kinds


@cache
def profile(name: str) -> Profile:
    p = market.product(name)
    cat = next(c for c in catalogues.market_catalogue()["categories"] if c["id"] == p["category"])
    feats = tuple((f, tuple(dict.fromkeys(t for t, _ in terms(f)))) for f in p.get("core_features") or [])
    text = " . ".join([p["description"], *(p.get("core_features") or []), *(p.get("users") or []),
                       p.get("pricing_model") or "", cat["name"], " , ".join(cat.get("keywords") or [])])
    everything = key_set(text)
    negated = _negated(" . ".join([*(p.get("core_features") or []), p.get("pricing_model") or "",
                                   p["description"]]))
    # a model the product's own features name ("one-off support payments", "paid memberships") is one it uses
    kinds = (set(PRICING_KINDS.get(p["pricing"], set())) | model_kinds(p.get("pricing_model") or "")
             | (model_kinds(" . ".join(p.get("core_features") or [])) - {"free"}))
    names = key_set(" ".join([p["name"], *(p.get("aliases") or []), cat["name"]]))
    return Profile(name, tuple(f for f in feats if f[1]), frozenset(everything), frozenset(everything - negated),
                   frozenset(key_set(" . ".join(p.get("users") or []))), frozenset(names), frozenset(kinds))


@cache
def category_peers(name: str) -> tuple[str, ...]:
    """The other products of `name`'s category."""
    cat = market.product(name)["category"]
    return tuple(p["name"] for c in catalogues.market_catalogue()["categories"] if c["id"] == cat
                 for p in c["products"] if p["name"] != name)


@cache
def prominence(name: str) -> int:
    """The product's place in its category: the catalogue lists each category's best-known products first."""
    cat = market.product(name)["category"]
    names = [p["name"] for c in catalogues.market_catalogue()["categories"] if c["id"] == cat for p in c["products"]]
    return names.index(name)


# ------------------------------------------------------------------ coverage


@dataclass
class Coverage:
    product: str
    covered: list[str]          # the product's core features the idea covers
    total: int
    words: list[str]            # the idea's words that covered them
    explained: float            # idf-weighted share of the idea's core terms found in the product's entry
    defining: int = 0           # how many of the product's first DEFINING features the idea covers
    dominant: bool = False      # the idea's words point at this product far more than at any other (DOMINANT)

    @property
    def share(self) -> float:
        if not self.total:
            return 0.0
        return max(len(self.covered) / self.total, self.defining / min(self.total, DEFINING))

    @property
    def close(self) -> bool:
        if len(self.covered) < MIN_COVERED:
            return False
        return self.share + self.explained >= CLOSE or (self.dominant and self.share >= DOMINANT_SHARE)

    @property
    def related(self) -> bool:
        return self.close or (len(self.covered) >= RELATED_COVERED and self.share >= RELATED_SHARE)

    @property
    def strength(self) -> float:
        """Which of several close products the idea restates: the one whose entry explains most of the idea
        (a short feature list is easy to cover, so the share of features counts for little)."""
        return round(self.explained + 0.1 * self.share, 4)


def core_text(idea: dict) -> str:
    """What the idea does: its description and features (the title is mostly a brand name)."""
    feats = idea.get("key_features") or []
    return " . ".join([str(idea.get("description") or ""), *(str(f) for f in feats if f)])


def _split_setup(idea: dict) -> tuple[list[str], list[str]]:
    """The description's sentences as (setup, product): the sentences before the one that introduces the
    product by its title set up the problem as it is today ("Typos make emails look careless."); without a
    title in the description, all of it is about the product."""
    desc = str(idea.get("description") or "")
    title = tokens(str(idea.get("title") or ""))
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", desc) if x.strip()]
    if not title:
        return [], sentences
    n = len(title)
    first = next((i for i, x in enumerate(sentences)
                  if any(tokens(x)[j : j + n] == title for j in range(len(tokens(x)) - n + 1))), 0)
    return sentences[:first], sentences[first:]


def does_text(idea: dict) -> str:
    """What the idea's product does: `core_text` without the sentences that set up the problem before the
    product is introduced by its title ("Typos make emails look careless. WriteRight checks grammar...")."""
    feats = idea.get("key_features") or []
    return " . ".join([*_split_setup(idea)[1], *(str(f) for f in feats if f)])


def coverage(idea_terms: list[tuple[str, str]], name: str, drop: set[str] = frozenset()) -> Coverage:
    prof = profile(name)
    idea_keys: dict[str, str] = {}
    for t, w in idea_terms:
        if t in drop:
            continue
        for k in keys(t):
            idea_keys.setdefault(k, w)
    covered, words, defining = [], [], 0
    for i, (phrase, fterms) in enumerate(prof.features):
        hits = [t for t in fterms if keys(t) & idea_keys.keys()]
        if len(hits) >= min(len(fterms), 2):
            covered.append(phrase)
            defining += i < DEFINING
            for t in hits:
                w = next(idea_keys[k] for k in keys(t) if k in idea_keys)
                if w not in words:
                    words.append(w)
    uniq = {t: w for t, w in idea_terms if t not in drop}
    total = sum(market.idf(t) for t in uniq) or 1.0
    explained = sum(market.idf(t) for t in uniq if keys(t) & prof.keys) / total
    return Coverage(name, covered, len(prof.features), words, round(explained, 3), defining)


# ------------------------------------------------------------------ differentiators


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<=[.!?;:])\s+|\s+[-\u2013\u2014]\s+|\n", text or "") if c.strip()]


def _short(s: str, words: int = 10) -> str:
    return " ".join(s.strip(" .,;:").split()[:words])


def _specific(text: str, prof: Profile, against: frozenset[str]) -> list[str]:
    """Words of `text` that name something particular (not a broad population) and the product lacks."""
    out = []
    for t, w in terms(text):
        if t in GENERIC_AUDIENCE or len(w) < 3 or not w.isalpha() and "-" not in w:
            continue
        if not keys(t) & against:
            out.append(w)
    return out


def _names_people(group: str) -> bool:
    """Whether the group's head noun (its last word, or the last before "with", "of", "at"...) is a person
    or organisation noun."""
    words = tokens(group)
    cut = next((i for i, w in enumerate(words) if i and w in ("with", "of", "at", "in", "from", "on")), len(words))
    return any(w and (market.term(w) in ORG_NOUNS or w.endswith(PERSON_ENDINGS))
               for w in {words[-1] if words else "", words[cut - 1] if words else ""})


def _head(phrase: str) -> str:
    """The phrase up to where a clause about it begins, without trailing little words."""
    words = phrase.split()
    for i, w in enumerate(words):
        if i and RELATIVE.fullmatch(w.strip(".,;:'\"").lower()):
            words = words[:i]
            break
    while words and words[-1].lower().strip(".,;:") in STOPWORDS:
        words.pop()
    return " ".join(words).strip(" .,;:-")


def audience_groups(idea: dict) -> list[str]:
    """The groups the idea says it serves, as written: the audience field cut where a clause about it begins
    ("Busy people who need help" -> "Busy people"), whole and split into groups ("Remote and hybrid teams"),
    and the phrases after "built for", "only for"; a group must name people or organisations."""
    audience = str(idea.get("target_audience") or "")
    heads = [_head(audience)] + [_head(part) for part in re.split(r"[,;]", audience)]
    for m in AUDIENCE_CUES.finditer(" . ".join([str(idea.get("description") or ""),
                                                *(str(f) for f in idea.get("key_features") or [])])):
        heads.append(_short(_head(m.group(1)), 6))
    groups: list[str] = []
    for head in heads:
        for g in [head, *SPLIT_GROUPS.split(head)]:
            g = g.strip(" .,;:-")
            if g and _names_people(g) and g not in groups:
                groups.append(g)
    return groups


def differentiators(idea: dict, name: str, peers: list[str] = ()) -> list[dict]:
    """The stated differences between the idea and product `name`, each {kind, quote, why, alone}; `peers` are
    the other products the idea is close to (a workflow one of them has sets the idea apart from none). A
    difference with `alone` False sets the idea apart only beside one that is not (`sets_apart`)."""
    prof = profile(name)
    out: list[dict] = []

    def add(kind: str, quote: str, why: str, alone: bool = True) -> None:
        if quote and all(d["quote"].lower() != quote.lower() for d in out):
            out.append({"kind": kind, "quote": quote, "why": why, "alone": alone})

    # an audience sets the idea apart when its particular words (not the product's) also shape what the idea
    # does: they recur in the description or features ("Dialysis clinics" ... "Dialysis clinics schedule")
    body = {t for t, _ in terms(core_text(idea))}
    for group in audience_groups(idea):
        own = [w for w in _specific(group, prof, prof.keys) if market.term(w) in body]
        if own:
            add("audience", group, f"{name}'s users and features do not include {', '.join(own[:3])}")
        elif SEGMENT_SIZE.search(group):
            add("audience", group, f"a segment by size ({SEGMENT_SIZE.search(group).group(0)}) within {name}'s users")

    # a stated feature in specialised words (mean idf >= WORKFLOW_IDF), none of which the product's entry
    # has, nor mostly a close peer's, is a workflow the product lacks; but an entry lists a product's defining
    # features, not all of them, so such a feature sets the idea apart only beside a difference of another
    # sort (`alone` False): "highlights and a dictionary" do not make an e-reader store another product
    # a workflow another product of the same category has is the category's, not a difference from it
    # ("an avatar that levels up" against a habit game when another habit app has an avatar)
    peer_keys = [profile(p).keys for p in dict.fromkeys([*peers, *category_peers(name)])]
    peer_positive = [profile(p).positive for p in dict.fromkeys([*peers, *category_peers(name)])]
    for feature in idea.get("key_features") or []:
        fterms = [t for t, _ in terms(str(feature)) if t not in GENERIC_AUDIENCE]
        if len(fterms) < 2 or sum(market.idf(t) for t in fterms) / len(fterms) < WORKFLOW_IDF:
            continue
        if any(keys(t) & prof.keys for t in fterms):
            continue
        if any(2 * sum(bool(keys(t) & pk) for t in fterms) >= len(fterms) for pk in peer_keys):
            continue
        add("constraint", _short(str(feature), 14), f"a workflow {name}'s entry has none of the words of",
            alone=False)

    setup, product_sentences = _split_setup(idea)
    texts = [" ".join(product_sentences), *(str(f) for f in idea.get("key_features") or [])]
    constraints = {k: v for k, v in (idea.get("constraints") or {}).items()
                   if k not in ("budget", "preferred_stack", "approval_gates") and isinstance(v, str)}
    texts += list(constraints.values())
    clauses = [c for t in texts for c in _clauses(t)]
    # the problem as it is today ("people forget without reviewing it") states no difference from a product,
    # except an explicit comparison ("unlike ...") or a price point, which are judged with the rest
    clauses += [c for c in _clauses(" ".join(setup)) if re.search(r"\b(unlike|compared (?:to|with))\b", c, re.I)
                or PRICE_POINT.search(c)]

    for clause in clauses:
        low = clause.lower()
        ctoks = tokens(low)
        for cue in CONSTRAINT_CUES:
            ct = tokens(cue)
            n = len(ct)
            if not any(ctoks[i : i + n] == ct for i in range(len(ctoks) - n + 1)):
                continue
            cue_keys: set[str] = set()
            for t, _ in terms(cue):
                cue_keys |= keys(t)
            # a constraint another product of the category has is the category's, not a difference from it
            if cue_keys and not cue_keys & prof.positive and not any(cue_keys & pk for pk in peer_positive):
                add("constraint", _short(clause, 14), f"{name}'s entry has no {cue}")
                break

        # price: a stated model the product does not use, or the absence of one it does
        for m in CONTRAST.finditer(clause):
            cue, obj = m.group(1).lower(), m.group(2)
            if cue in ("instead of", "rather than", "without", "no", "never"):
                kinds = model_kinds(_short(obj, 4))
                if kinds & prof.kinds and "free" not in kinds:
                    add("price", _short(m.group(0), 8), f"{name} charges by {', '.join(sorted(kinds & prof.kinds))}")
        if PRICE_POINT.search(clause) or re.search(r"\b(one-time|one-off|lifetime|flat|at cost|co-?op|cooperative|"
                                                   r"[a-z]+-owned)\b", low):
            stated = model_kinds(re.sub(CONTRAST, " ", clause)) - {"free"}
            if re.search(r"\b[a-z]+-owned\b", low):
                stated.add("nonprofit")
            new = stated - prof.kinds
            if new:
                add("price", _short(clause, 14), f"{name} charges by {', '.join(sorted(prof.kinds)) or 'another model'}")

        # explicit contrast with something the product has
        for m in CONTRAST.finditer(clause):
            cue, obj = m.group(1).lower(), _short(m.group(2), 6)
            okeys = key_set(obj)
            if not okeys:
                continue
            if cue in ("unlike", "compared to", "compared with"):
                valid = bool(okeys & (prof.keys | prof.name_keys))
            elif cue == "only for":
                valid = bool(_specific(obj, prof, prof.keys))
            else:
                if model_kinds(obj):
                    continue  # a business model: judged as price above
                # "no lists", "without ads", "instead of swiping": what is dropped is one of the product's
                # own features (all its words in one feature), not something the product also lacks
                oterms = [t for t, _ in terms(obj) if t not in GENERIC_AUDIENCE][:3]
                valid = bool(oterms) and any(
                    all(any(keys(t) & keys(ft) for ft in fterms) for t in oterms)
                    and not any(keys(t) & (prof.keys - prof.positive) for t in oterms)
                    for _, fterms in prof.features)
            if valid:
                add("contrast", _short(m.group(0), 8), f"contrasts with what {name} does")
    return out



def dominant_product(hits: list[dict]) -> str | None:
    """The product the idea's words point at far more than at any other: the best BM25 hit scores at least
    DOMINANT times the next (None when no product stands out, or no hits)."""
    if not hits:
        return None
    if len(hits) == 1 or hits[0]["score"] >= DOMINANT * hits[1]["score"]:
        return hits[0]["name"]
    return None


def sets_apart(diffs: list[dict]) -> bool:
    """Whether the differences found set the idea apart: at least one that counts alone."""
    return any(d.get("alone", True) for d in diffs)
