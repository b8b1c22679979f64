"""Stage 1 — idea validation.

A deterministic screen runs first whatever the engine (empty, gibberish and abusive ideas are rejected
without spending a model call); then the generator writes a ValidationReport. Verdicts:

* `reject`     — outcome "reject": the pipeline stops with the reason;
* `needs_work` — outcome "ok": the pipeline continues, the report and summary carry the feedback and
                 `continues: true` so the UI can show it (a founder can resubmit a sharper idea later);
* `go`         — outcome "ok".
"""

from __future__ import annotations

import re

from .. import catalogues
from ..artifacts import json_bytes
from ..domain import full_text, idea_text
from ..generators import builtin_task
from ..schemas import CategoryMatch, Score, Scores, SimilarProduct, ValidationReport
from ..textutil import (
    NON_ENTITY_WORDS,
    STOPWORDS,
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

PROBLEM_CUES = ("struggle", "waste", "hard", "difficult", "manual", "manually", "spend", "lose", "lost", "miss",
                "forget", "confusing", "expensive", "slow", "tedious", "pain", "problem", "frustrat", "spreadsheet",
                "chaos", "messy", "error-prone", "juggle", "juggling", "scattered", "no way", "can't", "cannot",
                "too long", "late", "overdue", "hours")
GENERIC_AUDIENCE = {"everyone", "anyone", "anybody", "everybody", "people", "users", "all", "consumers", "humans",
                    "the world", "the public", "general public", "customers", "businesses", "companies"}
VAGUE_WORDS = ("everything", "anything", "all-in-one", "revolutionary", "disrupt", "disruptive", "next big thing",
               "ultimate", "whatever", "the best", "super app", "everything app", "world-changing", "game-changing",
               "game changer", "uber for everything")
B2B_WORDS = ("business", "businesses", "team", "teams", "company", "companies", "clinic", "clinics", "agency",
             "agencies", "freelancer", "freelancers", "shop", "shops", "restaurant", "restaurants", "studio",
             "studios", "landlord", "landlords", "contractor", "contractors", "firm", "firms", "practice", "b2b",
             "enterprise", "startup", "startups", "store", "stores", "owner", "owners", "manager", "managers",
             "school", "schools", "nonprofit", "nonprofits", "gym", "gyms", "salon", "salons", "merchant", "merchants")
MONEY_WORDS = ("price", "pricing", "subscription", "subscribe", "pay", "paid", "per month", "monthly fee", "fee",
               "fees", "commission", "budget", "revenue", "invoice", "billing", "plan", "plans", "premium", "cost",
               "save money", "saves", "roi")
FREQUENCY_WORDS = ("daily", "weekly", "every day", "every week", "each week", "each month", "monthly", "recurring",
                   "routine", "regularly", "every month", "every shift", "each shift")
CLONE_MARKERS = ("clone", "copy", "replica", "knockoff", "knock-off", "alternative", "like", "same", "another",
                 "version", "rebuild", "recreate", "exactly")
COMPARATIVE_FILLER = {"but", "cheaper", "better", "free", "nicer", "prettier", "simpler", "faster", "modern", "new",
                      "cool", "good", "great", "best", "cleaner", "clean", "nice", "our", "own", "brand", "name",
                      "logo", "colors", "colours", "different", "design", "ui", "version", "clone", "copy",
                      "basically", "exactly", "same", "features", "feature", "identical", "everything", "just",
                      "another", "similar", "like", "want", "build", "make", "called", "rebrand", "rebranded"}


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


# ------------------------------------------------------------------ catalogue matching


def _has_phrase(words: list[str], stems: list[str], phrase: str) -> bool:
    ptoks = tokens(phrase)
    if not ptoks:
        return False
    pst = [stem(p) for p in ptoks]
    n = len(ptoks)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == ptoks or stems[i : i + n] == pst:
            return True
    return False


def mentioned_products(idea: dict) -> list[dict]:
    """Catalogue products the idea names. Aliases that are ordinary words count only when capitalised."""
    raw = full_text(idea)
    words = tokens(raw)
    stems = [stem(w) for w in words]
    found: list[dict] = []
    for cat in catalogues.market_catalogue()["categories"]:
        for prod in cat["products"]:
            for alias in prod.get("aliases", []):
                atoks = tokens(alias)
                if not atoks:
                    continue
                capitalised = r"(?<![A-Za-z])" + re.escape(alias[0].upper() + alias[1:]) + r"(?![A-Za-z])"
                if len(atoks) == 1 and is_known_word(atoks[0]) and not re.search(capitalised, raw):
                    continue
                if _has_phrase(words, stems, alias):
                    found.append({"name": prod["name"], "source_url": prod["source_url"], "category": cat["id"],
                                  "alias": alias})
                    break
    return found


def _descriptive_text(idea: dict) -> str:
    """Title, description, audience and features — not constraints (a 'budget' constraint is not a topic)."""
    t = idea_text(idea)
    return " . ".join(t[k] for k in ("title", "description", "target_audience", "key_features") if t[k])


def match_categories(idea: dict) -> list[dict]:
    text = _descriptive_text(idea)
    words = tokens(text)
    stems = [stem(w) for w in words]
    named = {p["category"] for p in mentioned_products(idea)}
    scored = []
    for cat in catalogues.market_catalogue()["categories"]:
        matched = sorted({kw for kw in cat["keywords"] if _has_phrase(words, stems, kw)})
        # a phrase ("meal plan") is stronger evidence than one common word ("plan")
        score = sum(2 if len(tokens(kw)) > 1 else 1 for kw in matched) + (3 if cat["id"] in named else 0)
        if score >= 2:
            scored.append((score, cat["id"], cat, matched))
    scored.sort(key=lambda t: (-t[0], t[1]))
    if not scored:
        return []
    top = scored[0][0]
    keep = [t for t in scored if t[0] >= max(1, (top + 1) // 2)][:3]
    return [{"id": c["id"], "name": c["name"], "matched_keywords": m, "score": s} for s, _id, c, m in keep]


# ------------------------------------------------------------------ scoring


def _any(words: list[str], stems: list[str], phrases) -> list[str]:
    return [p for p in phrases if _has_phrase(words, stems, p)]


def _novel_words(idea: dict, categories: list[dict], products: list[dict]) -> list[str]:
    texts = idea_text(idea)
    text = " ".join([texts["description"], texts["key_features"], texts["target_audience"]])
    exclude = set(COMPARATIVE_FILLER) | set(STOPWORDS) | set(NON_ENTITY_WORDS) | set(CLONE_MARKERS)
    for p in products:
        exclude.update(tokens(p["alias"]))
        exclude.update(tokens(p["name"]))
    cat_roots = set()
    for c in categories:
        for kw in catalogues_keywords(c["id"]):
            cat_roots.update(_root(t) for t in tokens(kw))
    out = []
    for w in content_words(text):
        s = _root(w)
        if w in exclude or s in exclude or s in cat_roots or len(w) < 3 or not w.isalpha():
            continue
        if s not in out:
            out.append(s)
    return out


def _root(word: str) -> str:
    """Stem until stable ('listings' -> 'listing' -> 'list'), so inflections compare equal."""
    prev, cur = None, word
    while cur != prev:
        prev, cur = cur, stem(cur)
    return cur


def catalogues_keywords(category_id: str) -> list[str]:
    for c in catalogues.market_catalogue()["categories"]:
        if c["id"] == category_id:
            return c["keywords"]
    return []


def build_report(idea: dict, reject_reason: str | None = None) -> ValidationReport:
    texts = idea_text(idea)
    words = tokens(full_text(idea))
    stems = [stem(w) for w in words]
    desc = texts["description"].strip()
    desc_words = tokens(desc)
    features = []
    for f in idea.get("key_features") or []:
        f = shorten(str(f), 200)
        if f and f.lower() not in (x.lower() for x in features):
            features.append(f)
    features = features[:20]
    if not features and desc:
        features = [shorten(s, 200) for s in re.split(r"(?<=[.!?])\s+", desc) if s.strip()][:5]
    audience_text = texts["target_audience"].strip()
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", desc) if s.strip()]
    problem = next((s for s in sentences if any(c in s.lower() for c in PROBLEM_CUES)), sentences[0] if sentences else "")
    problem = shorten(problem or texts["title"] or "(not stated)", 600)

    categories = match_categories(idea)
    products = mentioned_products(idea)

    # clarity
    c_reasons, clarity = [], 0
    n = len(desc_words)
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
    cues = [c for c in PROBLEM_CUES if c in desc.lower()]
    if cues:
        clarity += 20
        c_reasons.append(f"States a problem ({', '.join(cues[:3])}).")
    else:
        c_reasons.append("Does not say what problem or pain it removes.")
    aud_words = content_words(audience_text)
    if len(aud_words) >= 2:
        clarity += 20
        c_reasons.append(f"Names a target audience: {shorten(audience_text, 80)}.")
    elif aud_words:
        clarity += 10
        c_reasons.append("Names an audience in a single word; be more precise.")
    else:
        c_reasons.append("No target audience given.")
    if texts["title"].strip() and len(tokens(texts["title"])) <= 8:
        clarity += 10
        c_reasons.append("Has a concise title.")
    _gib, gstats = is_gibberish(full_text(idea))
    if gstats["known_ratio"] >= 0.85:
        clarity += 10
        c_reasons.append("Written in plain language.")

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

    ents = _find_lexicon_entities(texts["key_features"] + " . " + desc)
    if ents:
        spec += 15
        s_reasons.append(f"Mentions data the app manages: {', '.join(e.replace('_', ' ') for e in ents[:4])}.")
    else:
        s_reasons.append("Does not name the records the app manages (e.g. invoices, bookings).")
    aud_lower = audience_text.lower().strip(" .")
    if aud_words and aud_lower not in GENERIC_AUDIENCE and not all(w in GENERIC_AUDIENCE for w in aud_words):
        spec += 15
        s_reasons.append("The audience is specific.")
    elif aud_words:
        s_reasons.append(f"The audience '{shorten(audience_text, 40)}' is too broad.")
    constraints = {k: v for k, v in (idea.get("constraints") or {}).items() if v not in (None, "", [], {})}
    if constraints:
        spec += 5
        s_reasons.append(f"Gives constraints ({', '.join(sorted(constraints))}).")
    if re.search(r"\d", desc + texts["key_features"]):
        spec += 5
        s_reasons.append("Uses numbers (sizes, prices or counts).")
    vague = _any(words, stems, VAGUE_WORDS)
    if vague:
        spec -= 15 * len(vague)
        s_reasons.append(f"Vague or hype wording: {', '.join(vague[:3])}.")
    spec = max(0, min(100, spec))
    clarity = max(0, min(100, clarity - 10 * len(vague)))
    if vague:
        c_reasons.append("Hype words blur what the product actually does.")

    # market signal
    m_reasons, market = [], 10
    if categories:
        market += 30
        m_reasons.append(f"Existing market: matches {', '.join(c['name'] for c in categories)}.")
    else:
        m_reasons.append("No matching category in the catalogue: demand is unproven (or the idea is novel).")
    b2b = _any(words, stems, B2B_WORDS)
    if b2b:
        market += 20
        m_reasons.append(f"Business buyers ({', '.join(b2b[:3])}) tend to pay for time saved.")
    money = _any(words, stems, MONEY_WORDS)
    if money:
        market += 15
        m_reasons.append(f"Mentions how money flows ({', '.join(money[:3])}).")
    else:
        m_reasons.append("Does not say who pays or how.")
    if aud_words and aud_lower not in GENERIC_AUDIENCE:
        market += 15
        m_reasons.append("A defined niche makes the first customers findable.")
    freq = _any(words, stems, FREQUENCY_WORDS)
    if freq:
        market += 10
        m_reasons.append(f"A recurring need ({', '.join(freq[:2])}) supports retention.")

    # clone detection
    clone_markers = _any(words, stems, CLONE_MARKERS)
    novel = _novel_words(idea, categories, products)
    clone_of: list[str] = []
    if products and clone_markers and len(novel) < 4:
        clone_of = [p["name"] for p in products]
        market -= 20
        m_reasons.append(f"Restates existing products ({', '.join(clone_of)}) without a differentiator.")
    market = max(0, min(100, market))

    similar: list[SimilarProduct] = []
    seen = set()
    for p in products:
        if p["name"] not in seen:
            similar.append(SimilarProduct(name=p["name"], source_url=p["source_url"], category=p["category"]))
            seen.add(p["name"])
    for c in categories:
        for prod in next(x for x in catalogues.market_catalogue()["categories"] if x["id"] == c["id"])["products"][:3]:
            if prod["name"] not in seen and len(similar) < 9:
                similar.append(SimilarProduct(name=prod["name"], source_url=prod["source_url"], category=c["id"]))
                seen.add(prod["name"])

    feedback: list[str] = []
    if clone_of:
        feedback.append(
            f"This reads as a copy of {', '.join(clone_of)}: say what you do differently — a specific audience, "
            "workflow, price point or constraint they do not serve."
        )
    if clarity < 50:
        feedback.append("Explain the problem in one or two sentences: who struggles with what today, and why.")
    if spec < 45:
        feedback.append("List 3-6 concrete features, each naming an action and the thing it acts on.")
    if not aud_words or aud_lower in GENERIC_AUDIENCE:
        feedback.append("Narrow the target audience to a group you can reach first (e.g. 'independent dog groomers').")
    if vague:
        feedback.append("Drop hype words and describe the first workflow the product handles end to end.")
    if not money:
        feedback.append("Say who pays and how (subscription, per seat, commission).")

    if reject_reason:
        verdict = "reject"
    elif clone_of or clarity < 45 or spec < 40 or (clarity + spec + market) / 3 < 45:
        verdict = "needs_work"
    else:
        verdict = "go"
    if verdict == "needs_work" and not feedback:
        feedback.append("Sharpen the description: the scores are below the bar for an automatic go.")
    if verdict == "go":
        feedback = feedback[:3]

    return ValidationReport(
        problem=problem,
        audience=shorten(audience_text, 300) or "(not stated)",
        features=features,
        scores=Scores(
            clarity=Score(value=clarity, reasons=c_reasons),
            specificity=Score(value=spec, reasons=s_reasons),
            market_signal=Score(value=market, reasons=m_reasons),
        ),
        categories=[CategoryMatch(id=c["id"], name=c["name"], matched_keywords=c["matched_keywords"][:20]) for c in categories],
        similar_products=similar,
        clone_of=clone_of,
        verdict=verdict,
        feedback=feedback[:12],
        reject_reason=reject_reason,
    )


@builtin_task("validation_report")
def _builtin(context: dict) -> ValidationReport:
    return build_report(context["idea"])


def _check_catalogue(report: ValidationReport) -> list[str]:
    """Semantic check for model output: similar products must come from the bundled catalogue."""
    known = {p["name"]: p["source_url"] for c in catalogues.market_catalogue()["categories"] for p in c["products"]}
    problems = []
    for p in report.similar_products:
        if p.name not in known:
            problems.append(f"similar product {p.name!r} is not in catalogue_matches; use only listed products")
        elif known[p.name] != p.source_url:
            problems.append(f"source_url of {p.name!r} must be {known[p.name]}")
    return problems


# ------------------------------------------------------------------ markdown


def render_markdown(idea: dict, r: ValidationReport) -> str:
    lines = [f"# Idea validation: {idea.get('title') or '(untitled)'}", ""]
    verdict_text = {"go": "GO — the pipeline continues.",
                    "needs_work": "NEEDS WORK — the pipeline continues, but address the feedback below.",
                    "reject": "REJECT — the pipeline stops."}[r.verdict]
    lines += [f"**Verdict:** {verdict_text}", ""]
    if r.reject_reason:
        lines += [f"**Reason:** {r.reject_reason}", ""]
    lines += ["## Problem", "", r.problem, "", "## Audience", "", r.audience, "", "## Features", ""]
    lines += [f"- {f}" for f in r.features] or ["- (none)"]
    lines += ["", "## Scores", "", "| Dimension | Score | Reasons |", "| --- | --- | --- |"]
    for name in ("clarity", "specificity", "market_signal"):
        s = getattr(r.scores, name)
        lines.append(f"| {name.replace('_', ' ')} | {s.value}/100 | {'<br>'.join(s.reasons)} |")
    lines += ["", "## Similar existing products", ""]
    if r.similar_products:
        lines += [f"- [{p.name}]({p.source_url}) — {p.category}" for p in r.similar_products]
    else:
        lines.append("- none found in the catalogue")
    if r.clone_of:
        lines += ["", f"**Restates:** {', '.join(r.clone_of)}"]
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
        context = {
            "idea": idea,
            "catalogue_matches": [
                {"category": c["name"], "products": [
                    {"name": p["name"], "source_url": p["source_url"]}
                    for p in next(x for x in catalogues.market_catalogue()["categories"] if x["id"] == c["id"])["products"]
                ]}
                for c in match_categories(idea)
            ] + [{"named_in_idea": p["name"], "source_url": p["source_url"]} for p in mentioned_products(idea)],
        }
        report = gen.generate("validation_report", context, ValidationReport, check=_check_catalogue)
    data = report.model_dump(mode="json")
    data["screen"] = {k: v for k, v in details.items() if k != "abuse"}
    data["screen"]["abuse_categories"] = sorted({h["category"] for h in details.get("abuse", [])})
    data["continues"] = report.verdict != "reject"
    artifacts = {
        "validation-report.json": json_bytes(data),
        "validation-report.md": render_markdown(idea, report).encode("utf-8"),
    }
    scores = {k: getattr(report.scores, k).value for k in ("clarity", "specificity", "market_signal")}
    summary = {
        "verdict": report.verdict,
        "continues": report.verdict != "reject",
        "scores": scores,
        "overall": round(sum(scores.values()) / 3),
        "categories": [c.id for c in report.categories],
        "similar_products": [p.name for p in report.similar_products[:6]],
        "clone_of": report.clone_of,
        "feedback": [shorten(f, 200) for f in report.feedback[:5]],
        "features": [shorten(f, 120) for f in report.features[:10]],
        "problem": shorten(report.problem, 240),
        "audience": shorten(report.audience, 120),
    }
    if report.verdict == "reject":
        return StageOutput("reject", summary, artifacts, reason=report.reject_reason or "rejected by validation")
    return StageOutput("ok", summary, artifacts)
