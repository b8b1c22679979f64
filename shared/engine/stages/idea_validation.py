"""Stage 1 — idea validation.

A deterministic screen runs first whatever the engine (empty, gibberish and abusive ideas are rejected
without spending a model call); then the generator writes a ValidationReport. Verdicts:

* `reject`     — outcome "reject": the pipeline stops with the reason (and the run's credit is refunded);
* `needs_work` — outcome "ok" with `needs_input: true`: the pipeline pauses in status `needs_input`
                 before any money is spent on building; the founder edits and resumes, continues anyway
                 or cancels (docs/stage-engine.md);
* `go`         — outcome "ok".

Similar products come from the sourced catalogue (`data/catalogue.json`) ranked by BM25 (`..market`);
each carries its score and the idea's words that matched. An idea that covers enough of ONE product's
core features (`..restatement`: matched by stems, roots and synonyms) is a restatement: without a stated
difference (audience, constraint or workflow, price or business model, explicit contrast; quoted from the
idea) it is `needs_work` naming the product and what matches; with one it may `go`, and the product is
named as its competitor. Every reason cites the words of the idea it rests on, or says plainly that
something is absent.
"""

from __future__ import annotations

import re
from functools import cache

from .. import catalogues, market
from .. import restatement as rs
from ..artifacts import json_bytes
from ..domain import full_text, idea_text
from ..generators import builtin_task
from ..schemas import CategoryMatch, Differentiator, Score, Scores, SimilarProduct, ValidationReport
from ..textutil import (
    content_words,
    is_gibberish,
    is_known_word,
    screen_abuse,
    shorten,
    stem,
    tokens,
)
from . import StageOutput

STAGE = "idea_validation"

# Phrases, matched on whole words (with light stemming), never on substrings of other words.
PROBLEM_CUES = ("struggle", "waste", "wasted", "hard", "difficult", "manual", "manually", "by hand", "on paper",
                "lose", "loses", "lost", "losing", "miss", "missed", "forget", "forgets", "confusing", "expensive",
                "slow", "tedious", "pain", "painful", "problem", "frustrating", "frustrated", "spreadsheet",
                "spreadsheets", "chaos", "messy", "error-prone", "juggle", "scattered", "no way", "can't", "cannot",
                "too long", "overdue", "unpaid", "no-shows", "no-show", "run out", "overbook", "give up",
                "chasing", "late", "fail", "fails", "wait", "waiting", "nobody", "never", "ignore", "cram",
                "under-bill", "takes hours", "hours", "sits unused", "unused", "too many", "worry", "risk",
                "stolen", "die", "overwater", "instead of", "still", "phone")
GENERIC_AUDIENCE = {"everyone", "anyone", "anybody", "everybody", "people", "users", "all", "consumers", "humans",
                    "the world", "the public", "general public", "customers", "businesses", "companies", "person",
                    "individuals", "world"}
VAGUE_WORDS = ("everything", "anything", "all-in-one", "revolutionary", "disrupt", "disruptive", "next big thing",
               "ultimate", "whatever", "the best", "super app", "everything app", "world-changing", "game-changing",
               "game changer", "uber for everything", "stuff", "things", "somehow", "some kind of", "something",
               "many useful", "more productive", "make life easier", "life easier", "better way")
B2B_WORDS = ("business", "businesses", "team", "teams", "company", "companies", "clinic", "clinics", "agency",
             "agencies", "freelancer", "freelancers", "shop", "shops", "restaurant", "restaurants", "studio",
             "studios", "landlord", "landlords", "contractor", "contractors", "firm", "firms", "practice", "b2b",
             "enterprise", "startup", "startups", "store", "stores", "owner", "owners", "manager", "managers",
             "school", "schools", "nonprofit", "nonprofits", "gym", "gyms", "salon", "salons", "merchant", "merchants",
             "charities", "charity", "organization", "organizations", "consultants", "teachers", "coordinators")
# How money flows: only words that mean money changing hands (not "plan", "budget" or "save", which are
# usually the topic: a meal plan, a budgeting app).
MONEY_WORDS = ("price", "prices", "pricing", "priced", "subscription", "subscriptions", "subscribe", "pay", "pays",
               "paid", "paying", "payment", "payments", "per month", "a month", "monthly fee", "fee", "fees",
               "commission", "revenue", "premium", "charge", "charges", "per seat", "freemium", "free trial",
               "paid plan", "tickets", "donations", "donation", "donors", "sell", "sells", "buy", "buys", "rent",
               "chargebacks", "invoice", "invoices", "billing", "billable", "reimbursement", "tip", "tips",
               "pay ahead", "deposit", "ransom")
MONEY_RE = re.compile(r"[$€£]\s?\d")
FREQUENCY_WORDS = ("daily", "weekly", "every day", "every week", "each week", "each month", "monthly", "recurring",
                   "routine", "regularly", "every month", "every shift", "each shift", "every minute", "every meeting",
                   "every evening", "lunchtime")
CLONE_MARKERS = ("clone", "copy", "replica", "knockoff", "knock-off", "alternative", "like", "same", "another",
                 "version", "rebuild", "recreate", "exactly", "basically")
AUDIENCE_NOUNS = ("owners", "landlords", "teachers", "parents", "students", "freelancers", "consultants", "clinics",
                  "restaurants", "managers", "coordinators", "agencies", "shops", "studios", "charities", "employees",
                  "photographers", "designers", "learners", "organisers", "organizers", "leads", "recruiters",
                  "volunteers", "companies", "businesses", "families", "gardeners", "runners", "nurses", "doctors",
                  "therapists", "tutors", "musicians", "writers", "developers", "drivers", "workers", "professionals",
                  "couples", "seniors", "retirees", "athletes", "coaches", "founders", "sellers", "buyers", "hosts",
                  "travellers", "travelers", "dentists", "salons", "gyms", "schools", "nonprofits", "merchants")

CANDIDATES = 8               # BM25 hits whose core features are checked for a restatement
MIN_CATEGORY_SCORE = 9.0     # BM25 score below which a category is not counted as a match
MIN_SIMILAR_SCORE = 7.0


# ------------------------------------------------------------------ screen


def screen(idea: dict) -> tuple[str | None, dict]:
    """Return (reject_reason or None, details). Runs before any generator."""
    text = full_text(idea)
    words = content_words(text)
    details: dict = {"content_words": len(words)}
    if len(words) < 3 or (not str(idea.get("description") or "").strip() and not (idea.get("key_features") or [])):
        return ("The idea is empty or too short to evaluate: describe the problem, who has it and what the product "
                "does (at least a sentence)."), details
    gib, stats = is_gibberish(text)
    details["gibberish"] = stats
    if gib:
        return (f"The idea does not read as language (only {int(stats['known_ratio'] * 100)}% dictionary words); "
                "please describe it in plain sentences."), details
    hits = screen_abuse(text)
    details["abuse"] = hits
    if hits:
        cats = sorted({h["category"] for h in hits})
        terms = sorted({h["term"] for h in hits})
        return (f"The idea describes prohibited use ({', '.join(cats)}: {', '.join(terms[:4])}); the SaaS Factory "
                "does not build it."), details
    return None, details


# ------------------------------------------------------------------ evidence helpers


class Text:
    """One field's words with their surface forms, for finding the phrases a reason cites."""

    def __init__(self, raw: str):
        self.raw = raw or ""
        self.words = tokens(self.raw)
        self.stems = [stem(w) for w in self.words]
        self.wordset = set(self.words) | set(self.stems)

    def find(self, phrases) -> list[str]:
        """The phrases present (as whole words), in the idea's own spelling."""
        out = []
        for phrase in phrases:
            hit = self._find(phrase)
            if hit and hit not in out:
                out.append(hit)
        return out

    def _find(self, phrase: str) -> str | None:
        ptoks = tokens(phrase)
        if not ptoks or (ptoks[0] not in self.wordset and stem(ptoks[0]) not in self.wordset):
            return None
        pst = [stem(p) for p in ptoks]
        n = len(ptoks)
        for i in range(len(self.words) - n + 1):
            if self.words[i : i + n] == ptoks or self.stems[i : i + n] == pst:
                return " ".join(self.words[i : i + n])
        return None


def quoted(words, limit: int = 4) -> str:
    return ", ".join(f'"{w}"' for w in list(words)[:limit])


def cite(text: str, limit: int) -> str:
    """The idea's own words in quotes, cut at a word boundary (the ellipsis outside the quotes)."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return f'"{text}"'
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return f'"{cut}"\u2026'


def _descriptive_text(idea: dict) -> str:
    """Title, description, audience and features — not constraints (a 'budget' constraint is not a topic)."""
    t = idea_text(idea)
    return " . ".join(t[k] for k in ("title", "description", "target_audience", "key_features") if t[k])


# ------------------------------------------------------------------ catalogue matching


@cache
def _aliases() -> tuple[tuple[tuple[str, ...], str, str, bool], ...]:
    """(alias tokens, alias, product name, needs capitals) for every product alias."""
    out = []
    for cat in catalogues.market_catalogue()["categories"]:
        for prod in cat["products"]:
            for alias in prod.get("aliases") or [prod["name"]]:
                atoks = tuple(tokens(alias))
                if not atoks:
                    continue
                # an alias that is an ordinary word ("Square", "Notion") counts only when capitalised
                common = len(atoks) == 1 and (is_known_word(atoks[0]) or len(atoks[0]) <= 2)
                out.append((atoks, alias, prod["name"], common))
    return tuple(out)


def mentioned_products(idea: dict) -> list[dict]:
    """Catalogue products the idea names."""
    raw = _descriptive_text(idea)
    words = tokens(raw)
    wordset = set(words)
    found: list[dict] = []
    seen = set()
    for atoks, alias, name, common in _aliases():
        if name in seen or atoks[0] not in wordset:
            continue
        n = len(atoks)
        if not any(tuple(words[i : i + n]) == atoks for i in range(len(words) - n + 1)):
            continue
        if common:
            cap = alias[0].upper() + alias[1:]
            if not re.search(r"(?<![A-Za-z])" + re.escape(cap) + r"(?![A-Za-z])", raw):
                continue
        seen.add(name)
        p = market.product(name)
        found.append({"name": name, "url": p["url"], "category": p["category"], "pricing": p["pricing"],
                      "alias": alias})
    return found


def similar(idea: dict) -> list[dict]:
    """BM25 hits for the idea's descriptive text (title, description, audience, features)."""
    return market.search(_descriptive_text(idea), limit=15)


def match_categories(idea: dict, hits: list[dict] | None = None) -> list[dict]:
    hits = similar(idea) if hits is None else hits
    best: dict[str, dict] = {}
    for h in hits:
        c = best.setdefault(h["category"], {"id": h["category"], "name": h["category_name"], "score": 0.0,
                                            "matched_keywords": set()})
        c["score"] = max(c["score"], h["score"])
        c["matched_keywords"].update(h["matched_words"])
    cats = sorted(best.values(), key=lambda c: (-c["score"], c["id"]))
    if not cats or cats[0]["score"] < MIN_CATEGORY_SCORE:
        return []
    top = cats[0]["score"]
    keep = [c for c in cats if c["score"] >= max(MIN_CATEGORY_SCORE, 0.7 * top)][:3]
    return [{**c, "score": round(c["score"], 2), "matched_keywords": sorted(c["matched_keywords"])} for c in keep]


# ------------------------------------------------------------------ restatement


def restatement(idea: dict, named: list[dict], hits: list[dict], desc: Text) -> dict | None:
    """The one product the idea restates (by the core features it covers, or named and copied), with the
    stated differences from it (`..restatement`), or None."""
    markers = desc.find(CLONE_MARKERS)
    names = [p["name"] for p in named] + [p["alias"] for p in named]
    drop = set(CLONE_MARKERS)
    for n in names:
        drop.update(tokens(n))
    idea_terms = [(t, w) for t, w in rs.terms(rs.does_text(idea)) if w not in drop and t not in drop]
    candidates: list[tuple[rs.Coverage, int, bool]] = []
    seen: set[str] = set()
    dominant = rs.dominant_product(hits)
    for rank, p in enumerate([*named, *hits[:CANDIDATES]]):
        if p["name"] in seen:
            continue
        seen.add(p["name"])
        cov = rs.coverage(idea_terms, p["name"])
        cov.dominant = p["name"] == dominant
        candidates.append((cov, rank, p in named))
    if not candidates:
        return None
    # a named product copied outright ("a Slack clone") beats a close description of another; then the
    # strongest match (discounted by its BM25 rank); a product the idea only overlaps is named as a competitor
    candidates.sort(key=lambda c: (not (c[2] and markers), not c[0].close, not c[0].related,
                                   -(c[0].strength - rs.RANK_PENALTY * c[1]), c[1]))
    cov, _rank, is_named = candidates[0]
    if cov.close and not (is_named and markers):
        # near-identical products of one category that the idea fits about equally (as many features covered,
        # about as strong): the founder describes the best-known one, listed first in its category
        top = cov.strength - rs.RANK_PENALTY * _rank
        tied = [c for c in candidates if c[0].close and not c[2]
                and market.product(c[0].product)["category"] == market.product(cov.product)["category"]
                and len(c[0].covered) >= len(cov.covered) and c[0].strength - rs.RANK_PENALTY * c[1] >= top - rs.NEAR_TIE]
        cov, _rank, is_named = min(tied, key=lambda c: rs.prominence(c[0].product), default=candidates[0])
    copied = is_named and bool(markers)
    if not (copied or cov.related):
        return None
    others = [c for c in candidates if c[0].product != cov.product]
    also = [c[0].product for c in others if c[0].related][:3]
    diffs = rs.differentiators(idea, cov.product, [c[0].product for c in others if c[0].close])
    return {"product": cov.product, "close": copied or cov.close, "also_close": also,
            "named": is_named, "markers": markers, "covered": cov.covered, "total": cov.total,
            "shared_words": cov.words, "differentiators": diffs, "differentiated": rs.sets_apart(diffs)}


# ------------------------------------------------------------------ scoring


def _audience(texts: dict, desc: Text) -> tuple[str, list[str]]:
    """(audience text from the field, audience nouns named in the description)."""
    return texts["target_audience"].strip(), desc.find(AUDIENCE_NOUNS)


def build_report(idea: dict, reject_reason: str | None = None) -> ValidationReport:
    texts = idea_text(idea)
    desc_raw = texts["description"].strip()
    desc = Text(desc_raw)
    descriptive = Text(_descriptive_text(idea))
    features = []
    for f in idea.get("key_features") or []:
        f = shorten(str(f), 200)
        if f and f.lower() not in (x.lower() for x in features):
            features.append(f)
    features = features[:20]
    if not features and desc_raw:
        features = [shorten(s, 200) for s in re.split(r"(?<=[.!?])\s+", desc_raw) if s.strip()][:5]
    audience_text, audience_nouns = _audience(texts, desc)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", desc_raw) if s.strip()]
    problem_cues = desc.find(PROBLEM_CUES)
    problem = next((s for s in sentences if Text(s).find(problem_cues)), sentences[0] if sentences else "")
    problem = shorten(problem or texts["title"] or "(not stated)", 600)

    hits = similar(idea)
    categories = match_categories(idea, hits)
    named = mentioned_products(idea)
    restates = restatement(idea, named, hits, desc) if not reject_reason else None

    # clarity
    c_reasons, clarity = [], 0
    n = len(desc.words)
    if n < 8:
        clarity += 10
        c_reasons.append(f"The description is very short ({n} words); aim for 2-5 sentences.")
    elif n < 20:
        clarity += 25
        c_reasons.append(f"The description is brief ({n} words).")
    elif n <= 160:
        clarity += 40
        c_reasons.append(f"The description has a workable length ({n} words).")
    else:
        clarity += 30
        c_reasons.append(f"The description is long ({n} words); lead with the core problem.")
    if problem_cues:
        clarity += 20
        c_reasons.append(f"States a problem: {quoted(problem_cues, 3)}.")
    else:
        c_reasons.append("Does not say what problem it removes: no words of a pain such as struggle, waste, lose "
                         "or by hand in the description.")
    aud_words = content_words(audience_text)
    if len(aud_words) >= 2:
        clarity += 20
        c_reasons.append(f"Names a target audience: {cite(audience_text, 80)}.")
    elif aud_words:
        clarity += 10
        c_reasons.append(f'Names an audience in a single word ("{audience_text}"); be more precise.')
    elif audience_nouns:
        clarity += 15
        c_reasons.append(f"Names who it is for in the description: {quoted(audience_nouns, 3)}; "
                         "no target audience field.")
    else:
        c_reasons.append("No target audience given: the audience field is empty and the description names no group.")
    title_words = tokens(texts["title"])
    if texts["title"].strip() and len(title_words) <= 8:
        clarity += 10
        c_reasons.append(f"Has a concise title ({cite(texts['title'], 60)}, {len(title_words)} words).")
    _gib, gstats = is_gibberish(full_text(idea))
    if gstats["known_ratio"] >= 0.85:
        clarity += 10
        c_reasons.append(f"Written in plain language ({int(gstats['known_ratio'] * 100)}% dictionary words).")

    # specificity
    s_reasons, spec = [], 0
    nf = len(idea.get("key_features") or [])
    if nf == 0:
        s_reasons.append("No key features listed.")
    elif nf <= 2:
        spec += 15
        s_reasons.append(f"Only {nf} key feature(s); list the 3-6 things the first version must do.")
    elif nf <= 8:
        spec += 35
        s_reasons.append(f"Lists {nf} key features.")
    else:
        spec += 30
        s_reasons.append(f"Lists {nf} features; an MVP should focus on fewer.")
    concrete = [f for f in (idea.get("key_features") or []) if len(content_words(str(f))) >= 2]
    if nf:
        share = len(concrete) / nf
        spec += int(20 * share)
        s_reasons.append(f"{len(concrete)} of {nf} features are concrete (name an action and an object).")
    from ..domain import _find_lexicon_entities  # local import: domain helpers

    ents = _find_lexicon_entities(texts["key_features"] + " . " + desc_raw)
    if ents:
        spec += 15
        lex = catalogues.entity_lexicon()
        ftext = Text(texts["key_features"] + " . " + desc_raw)
        cited = []
        for e in ents:
            spec_e = lex.get(e, {})
            forms = [e.replace("_", " "), str(spec_e.get("plural", "")).replace("_", " "), *spec_e.get("aliases", [])]
            cited += ftext.find([f for f in forms if f])[:1]
        s_reasons.append(f"Names data the app manages: {quoted(cited or ents, 4)}.")
    else:
        s_reasons.append("Does not name the records the app manages (e.g. invoices, bookings).")
    aud_lower = audience_text.lower().strip(" .")
    specific_audience = bool(aud_words) and aud_lower not in GENERIC_AUDIENCE and not all(
        w in GENERIC_AUDIENCE for w in aud_words)
    if specific_audience:
        spec += 15
        s_reasons.append(f"The audience {cite(audience_text, 60)} is specific.")
    elif aud_words:
        s_reasons.append(f"The audience {cite(audience_text, 40)} is too broad.")
    elif audience_nouns:
        spec += 10
        s_reasons.append(f"The description names a specific group: {quoted(audience_nouns, 2)}.")
    constraints = {k: v for k, v in (idea.get("constraints") or {}).items() if v not in (None, "", [], {})}
    if constraints:
        spec += 5
        s_reasons.append(f"Gives constraints: {quoted(sorted(constraints), 4)}.")
    nums = re.findall(r"\d+(?:[.,]\d+)?", desc_raw + " " + texts["key_features"])
    if nums:
        spec += 5
        s_reasons.append(f"Uses numbers: {quoted(nums, 3)}.")
    vague = descriptive.find(VAGUE_WORDS)
    if vague:
        spec -= 15 * len(vague)
        s_reasons.append(f"Vague or hype wording: {quoted(vague, 3)}.")
    spec = max(0, min(100, spec))
    clarity = max(0, min(100, clarity - 10 * len(vague)))
    if vague:
        c_reasons.append(f"Hype or vague words ({quoted(vague, 2)}) blur what the product actually does.")

    # market signal
    m_reasons, market_score = [], 10
    if categories:
        market_score += 30
        m_reasons.append("Existing market: matches " + "; ".join(
            f"{c['name']} (on {quoted(c['matched_keywords'], 3)})" for c in categories) + ".")
    else:
        m_reasons.append("No catalogue category matches the idea's words: demand is unproven (or the idea is novel).")
    b2b = descriptive.find(B2B_WORDS)
    if b2b:
        market_score += 20
        m_reasons.append(f"Business buyers ({quoted(b2b, 3)}) tend to pay for time saved.")
    money = descriptive.find(MONEY_WORDS) + MONEY_RE.findall(descriptive.raw)
    if money:
        market_score += 15
        m_reasons.append(f"Mentions how money flows: {quoted(money, 3)}.")
    else:
        m_reasons.append("Does not say who pays or how: no price, fee, subscription or payment is mentioned.")
    if specific_audience or (not aud_words and audience_nouns):
        market_score += 15
        who = audience_text if specific_audience else ", ".join(audience_nouns[:2])
        m_reasons.append(f"A defined niche ({cite(who, 60)}) makes the first customers findable.")
    freq = descriptive.find(FREQUENCY_WORDS)
    if freq:
        market_score += 10
        m_reasons.append(f"A recurring need ({quoted(freq, 2)}) supports retention.")

    clone_of: list[str] = []
    competitors: list[str] = []
    differentiators: list[Differentiator] = []
    matched_features: list[str] = []
    if restates:
        prod = restates["product"]
        matched_features = restates["covered"]
        differentiators = [Differentiator(kind=d["kind"], quote=d["quote"], why=d["why"])
                           for d in restates["differentiators"][:6]]
        stated = "; ".join(f'{d.kind} "{d.quote}"' for d in differentiators[:4])
        if restates["named"] and restates["markers"]:
            how = f"copies it ({quoted(restates['markers'], 2)})"
        else:
            how = (f"covers {len(restates['covered'])} of its {restates['total']} core features "
                   f"({'; '.join(restates['covered'][:4])}) with {quoted(restates['shared_words'], 6)}")
        if not restates["close"]:
            competitors = [prod, *restates["also_close"]]
            m_reasons.append(f"Overlaps {prod}: {how}" + (f"; differs by {stated}." if stated else "."))
        elif restates["differentiated"]:
            competitors = [prod, *restates["also_close"]]
            m_reasons.append(f"Restates {prod} ({how}) but states a difference: {stated}.")
        else:
            clone_of = [prod]
            market_score -= 20
            unlisted = [d["quote"] for d in restates["differentiators"] if not d.get("alone", True)]
            differentiators = []  # nothing that sets it apart: what was found is said in the reason
            m_reasons.append(f"Restates {prod}: {how}; no stated difference (audience, constraint or workflow, "
                             "price or business model, or explicit contrast)."
                             + (f" Features its entry does not list ({quoted(unlisted, 3)}) are not a difference "
                                "on their own." if unlisted else ""))
    for p in named:
        if p["name"] not in clone_of and p["name"] not in competitors:
            competitors.append(p["name"])
    market_score = max(0, min(100, market_score))

    similar_products: list[SimilarProduct] = []
    seen = set()
    scores = {h["name"]: h for h in hits}
    first = clone_of + competitors
    for name in first:
        p = market.product(name)
        h = scores.get(name, {})
        similar_products.append(SimilarProduct(name=name, source_url=p["url"], category=p["category"],
                                               score=h.get("score"), matched_words=h.get("matched_words", [])[:30],
                                               pricing=p["pricing"]))
        seen.add(name)
    floor = max(MIN_SIMILAR_SCORE, 0.55 * hits[0]["score"]) if hits else MIN_SIMILAR_SCORE
    for h in hits:
        if h["name"] in seen or h["score"] < floor or len(similar_products) >= 8:
            continue
        similar_products.append(SimilarProduct(name=h["name"], source_url=h["url"], category=h["category"],
                                               score=h["score"], matched_words=h["matched_words"][:30],
                                               pricing=h["pricing"]))
        seen.add(h["name"])

    feedback: list[str] = []
    if clone_of:
        covered = restates["covered"] if restates else []
        what = (f" it covers {len(covered)} of {clone_of[0]}'s {restates['total']} core features "
                f"({'; '.join(covered[:4])})." if covered else "")
        feedback.append(
            f"This reads as a restatement of {clone_of[0]}:{what} Say what you do differently: an audience it does "
            f"not serve, a constraint or workflow it lacks, a different price or business model, or an explicit "
            f"contrast (\"unlike {clone_of[0]}, ...\")."
        )
    if clarity < 50:
        feedback.append("Explain the problem in one or two sentences: who struggles with what today, and why.")
    if spec < 45:
        feedback.append("List 3-6 concrete features, each naming an action and the thing it acts on.")
    if not specific_audience and not audience_nouns:
        feedback.append("Narrow the target audience to a group you can reach first (e.g. 'independent dog groomers').")
    if vague:
        feedback.append("Drop vague words and describe the first workflow the product handles end to end.")
    if not money:
        feedback.append("Say who pays and how (subscription, per seat, commission).")

    if reject_reason:
        verdict = "reject"
    elif clone_of or clarity < 45 or spec < 40 or (clarity + spec + market_score) / 3 < 45:
        verdict = "needs_work"
    else:
        verdict = "go"
    if verdict == "needs_work" and not feedback:
        feedback.append("Sharpen the description: the scores are below the bar for an automatic go.")
    if verdict == "go":
        feedback = feedback[:3]

    return ValidationReport(
        problem=problem,
        audience=shorten(audience_text, 300) or (", ".join(audience_nouns[:3]) if audience_nouns else "(not stated)"),
        features=features,
        scores=Scores(
            clarity=Score(value=clarity, reasons=c_reasons),
            specificity=Score(value=spec, reasons=s_reasons),
            market_signal=Score(value=market_score, reasons=m_reasons),
        ),
        categories=[CategoryMatch(id=c["id"], name=c["name"], matched_keywords=c["matched_keywords"][:20])
                    for c in categories],
        similar_products=similar_products,
        clone_of=clone_of,
        competitors=competitors[:10],
        matched_features=matched_features[:10],
        differentiators=differentiators,
        verdict=verdict,
        feedback=feedback[:12],
        reject_reason=reject_reason,
    )


@builtin_task("validation_report")
def _builtin(context: dict) -> ValidationReport:
    return build_report(context["idea"])


def _check_catalogue(report: ValidationReport) -> list[str]:
    """Semantic check for model output: `similar_products` must come from the sourced catalogue (the model's
    own suggestions belong in `model_suggested_products`)."""
    problems = []
    for p in report.similar_products:
        known = market.product(p.name)
        if known is None:
            problems.append(f"similar product {p.name!r} is not in catalogue_matches; use only listed products "
                            "(put products you know of yourself in model_suggested_products)")
        elif known["url"] != p.source_url:
            problems.append(f"source_url of {p.name!r} must be {known['url']}")
    return problems


def _finish_model_report(idea: dict, report: ValidationReport) -> ValidationReport:
    """Attach the sourced scores to the model's catalogue picks and mark its own suggestions as such."""
    hits = {h["name"]: h for h in similar(idea)}
    sourced = []
    for p in report.similar_products:
        h = hits.get(p.name, {})
        sourced.append(p.model_copy(update={"source": "catalogue", "score": h.get("score"),
                                            "matched_words": h.get("matched_words", [])[:30],
                                            "pricing": market.product(p.name)["pricing"]}))
    suggested = [p.model_copy(update={"source": "model", "score": None, "matched_words": []})
                 for p in report.model_suggested_products if market.product(p.name) is None]
    return report.model_copy(update={"similar_products": sourced, "model_suggested_products": suggested})


# ------------------------------------------------------------------ markdown


def render_markdown(idea: dict, r: ValidationReport) -> str:
    lines = [f"# Idea validation: {idea.get('title') or '(untitled)'}", ""]
    verdict_text = {"go": "GO — the pipeline continues.",
                    "needs_work": "NEEDS WORK — the run waits for you: edit the idea and resume, continue anyway, "
                                  "or cancel (no credit is spent on building until you decide).",
                    "reject": "REJECT — the pipeline stops and the run's credit is refunded."}[r.verdict]
    lines += [f"**Verdict:** {verdict_text}", ""]
    if r.reject_reason:
        lines += [f"**Reason:** {r.reject_reason}", ""]
    lines += ["## Problem", "", r.problem, "", "## Audience", "", r.audience, "", "## Features", ""]
    lines += [f"- {f}" for f in r.features] or ["- (none)"]
    lines += ["", "## Scores", "", "| Dimension | Score | Reasons |", "| --- | --- | --- |"]
    for name in ("clarity", "specificity", "market_signal"):
        s = getattr(r.scores, name)
        lines.append(f"| {name.replace('_', ' ')} | {s.value}/100 | {'<br>'.join(s.reasons)} |")
    lines += ["", "## Similar existing products (sourced catalogue)", ""]
    if r.similar_products:
        for p in r.similar_products:
            why = f" — score {p.score}, matched {', '.join(p.matched_words[:6])}" if p.score is not None else ""
            lines.append(f"- [{p.name}]({p.source_url}) — {p.category}, {p.pricing or 'pricing unknown'}{why}")
    else:
        lines.append("- none found in the catalogue")
    if r.model_suggested_products:
        lines += ["", "## Suggested by the model (not in the sourced catalogue)", ""]
        lines += [f"- [{p.name}]({p.source_url}) — {p.category}" for p in r.model_suggested_products]
    if r.clone_of:
        lines += ["", f"**Restates:** {', '.join(r.clone_of)}"]
    if r.competitors:
        lines += ["", f"**Competitors:** {', '.join(r.competitors)}"]
    lines += ["", "## Feedback", ""]
    lines += [f"- {f}" for f in r.feedback] or ["- none"]
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ stage


def run(inp, config, gen) -> StageOutput:
    idea = inp.idea or {}
    reject_reason, details = screen(idea)
    if reject_reason:
        report = build_report(idea, reject_reason=reject_reason)
    else:
        hits = similar(idea)
        by_cat: dict[str, list[dict]] = {}
        for h in hits:
            by_cat.setdefault(h["category_name"], []).append(
                {"name": h["name"], "source_url": h["url"], "score": h["score"], "matched_words": h["matched_words"]})
        context = {
            "idea": idea,
            "catalogue_matches": [{"category": c, "products": ps} for c, ps in by_cat.items()]
            + [{"named_in_idea": p["name"], "source_url": p["url"]} for p in mentioned_products(idea)],
        }
        report = gen.generate("validation_report", context, ValidationReport, check=_check_catalogue)
        if getattr(gen, "engine", "builtin") != "builtin":
            report = _finish_model_report(idea, report)
    data = report.model_dump(mode="json")
    data["screen"] = {k: v for k, v in details.items() if k != "abuse"}
    data["screen"]["abuse_categories"] = sorted({h["category"] for h in details.get("abuse", [])})
    data["continues"] = report.verdict != "reject"
    data["needs_input"] = report.verdict == "needs_work"
    artifacts = {
        "validation-report.json": json_bytes(data),
        "validation-report.md": render_markdown(idea, report).encode("utf-8"),
    }
    scores = {k: getattr(report.scores, k).value for k in ("clarity", "specificity", "market_signal")}
    summary = {
        "verdict": report.verdict,
        "continues": report.verdict != "reject",
        "needs_input": report.verdict == "needs_work",
        "scores": scores,
        "overall": round(sum(scores.values()) / 3),
        "categories": [c.id for c in report.categories],
        "similar_products": [p.name for p in report.similar_products[:6]],
        "clone_of": report.clone_of,
        "competitors": report.competitors[:5],
        "feedback": [shorten(f, 200) for f in report.feedback[:5]],
        "features": [shorten(f, 120) for f in report.features[:10]],
        "problem": shorten(report.problem, 240),
        "audience": shorten(report.audience, 120),
    }
    if report.verdict == "reject":
        return StageOutput("reject", summary, artifacts, reason=report.reject_reason or "rejected by validation")
    return StageOutput("ok", summary, artifacts)
