"""Reading an idea: its text, the technical needs it implies, and the entities its app should model."""

from __future__ import annotations

import re

from . import catalogues
from .schemas import NEEDS, EntitySpec, FieldSpec
from .textutil import NON_ENTITY_WORDS, STOPWORDS, is_known_word, singular, stem, tokens

MAX_ENTITIES = 4

NEED_TERMS: dict[str, tuple[str, ...]] = {
    "auth": ("login", "log in", "sign in", "sign up", "signup", "account", "accounts", "password", "role", "roles",
             "permission", "permissions", "private", "admin", "members only", "user profile", "profiles", "invite"),
    "payments": ("payment", "payments", "pay", "pays", "paid", "checkout", "subscription", "subscriptions",
                 "billing", "stripe", "charge", "charges", "credit card", "deposit", "deposits", "payout", "payouts",
                 "donation", "donations", "commission", "monetize", "collect rent", "rent collection", "pricing plan"),
    "realtime": ("real-time", "realtime", "real time", "live", "instant", "instantly", "chat", "collaborative",
                 "collaborate", "sync", "push notification", "push notifications", "multiplayer", "dispatch"),
    "ai": ("ai", "a.i.", "artificial intelligence", "machine learning", "ml", "gpt", "llm", "summarize", "summarise",
           "recommend", "recommendation", "recommendations", "classify", "classification", "predict",
           "prediction", "chatbot", "transcribe", "ai-generated", "auto-generate", "generative", "smart suggestions",
           "suggested replies"),
    "file_uploads": ("upload", "uploads", "attachment", "attachments", "photo", "photos", "image", "images",
                     "file", "files", "document", "documents", "pdf", "pdfs", "scan", "receipt photo", "video"),
    "mobile": ("mobile", "phone", "phones", "iphone", "android", "ios", "on the go", "app store", "sms",
               "text message", "offline", "pwa"),
    "multi_tenancy": ("team", "teams", "organization", "organizations", "organisation", "organisations",
                      "workspace", "workspaces", "company", "companies", "agency", "agencies", "multi-tenant",
                      "multi tenant", "b2b", "departments", "firms"),
    "scale": ("million", "millions", "thousands of users", "high traffic", "at scale", "scalable", "enterprise",
              "global", "nationwide", "worldwide", "large volume", "high volume"),
}


def normalise_idea(idea) -> dict:
    """The idea with the documented shape whatever arrived: strings, a list of feature strings, a dict."""
    idea = idea if isinstance(idea, dict) else {}
    features = idea.get("key_features") or []
    if isinstance(features, str):
        features = [f.strip(" -*\t") for f in re.split(r"[\n;]+", features)]
    elif not isinstance(features, (list, tuple)):
        features = [str(features)]
    constraints = idea.get("constraints")
    out = dict(idea)
    out.update({
        "title": str(idea.get("title") or "").strip(),
        "description": str(idea.get("description") or "").strip(),
        "target_audience": str(idea.get("target_audience") or "").strip(),
        "key_features": [str(f).strip() for f in features if f is not None and str(f).strip()][:30],
        "constraints": constraints if isinstance(constraints, dict) else {},
    })
    return out


def idea_text(idea: dict) -> dict[str, str]:
    """The idea's text by source field (the sources named in evidence)."""
    constraints = idea.get("constraints") or {}
    features = idea.get("key_features") or []
    return {
        "title": str(idea.get("title") or ""),
        "description": str(idea.get("description") or ""),
        "target_audience": str(idea.get("target_audience") or ""),
        "key_features": " . ".join(str(f) for f in features if f),
        "constraints": " . ".join(f"{k} {v}" for k, v in sorted(constraints.items()) if k != "approval_gates"),
    }


def full_text(idea: dict) -> str:
    return " . ".join(v for v in idea_text(idea).values() if v)


def _phrase_in(words: list[str], phrase: str) -> bool:
    ptoks = tokens(phrase)
    n = len(ptoks)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == ptoks:
            return True
    return False


def detect_needs(idea: dict) -> dict[str, dict]:
    """{need: {"detected": bool, "evidence": ["description: 'real-time'", ...]}} for every need."""
    sources = {k: tokens(v) for k, v in idea_text(idea).items()}
    out: dict[str, dict] = {}
    for need in NEEDS:
        evidence: list[str] = []
        for source, words in sources.items():
            for term in NEED_TERMS[need]:
                if _phrase_in(words, term):
                    evidence.append(f"{source}: '{term}'")
        constraints = idea.get("constraints") or {}
        if need == "scale":
            users = constraints.get("expected_users")
            if isinstance(users, (int, float)) and users >= 10000:
                evidence.append(f"constraints: expected_users={int(users)}")
        if need == "mobile" and str(constraints.get("platform", "")).lower() in ("mobile", "ios", "android"):
            evidence.append(f"constraints: platform={constraints.get('platform')}")
        out[need] = {"detected": bool(evidence), "evidence": evidence[:6]}
    return out


# ---------------------------------------------------------------- entities


def _alias_index() -> list[tuple[list[str], str]]:
    """(token sequence, entity key) for every name, plural and alias; longest first."""
    idx: list[tuple[list[str], str]] = []
    for key, spec in catalogues.entity_lexicon().items():
        forms = {key.replace("_", " "), spec["plural"].replace("_", " "), *spec.get("aliases", [])}
        for form in forms:
            idx.append((tokens(form), key))
    idx.sort(key=lambda t: (-len(t[0]), " ".join(t[0])))
    return idx


def _find_lexicon_entities(text: str) -> list[str]:
    words = tokens(text)
    stems = [singular(w) for w in words]
    found: list[tuple[int, str]] = []
    used = [False] * len(words)
    for seq, key in _alias_index():
        n = len(seq)
        seq_stems = [singular(s) for s in seq]
        for i in range(len(words) - n + 1):
            if any(used[i : i + n]):
                continue
            if words[i : i + n] == seq or stems[i : i + n] == seq_stems:
                if n == 1 and words[i] in NON_ENTITY_WORDS:
                    continue  # 'book a walk', 'post assignments': a verb, not a record type
                found.append((i, key))
                for j in range(i, i + n):
                    used[j] = True
    found.sort()
    out: list[str] = []
    for _pos, key in found:
        if key not in out:
            out.append(key)
    return out


def _fallback_nouns(text: str) -> list[str]:
    """Plural-looking dictionary words that are not verbs/adjectives we know; best-effort entity names."""
    out: list[str] = []
    for w in tokens(text):
        if (
            len(w) >= 4
            and w.endswith("s")
            and not w.endswith("ss")
            and w not in STOPWORDS
            and w not in NON_ENTITY_WORDS
            and stem(w) not in NON_ENTITY_WORDS
            and re.fullmatch(r"[a-z]+", w)
            and is_known_word(w)
        ):
            singular = stem(w)
            if singular not in out and len(singular) >= 3:
                out.append(singular)
    return out


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def generic_entity(singular: str) -> EntitySpec:
    from .textutil import identifier

    name = identifier(singular, default="record")
    plural = name + ("es" if name.endswith(("s", "x", "ch", "sh")) else "s")
    fields = [FieldSpec(name="title", type="text", required=True, label="Title")]
    return EntitySpec(name=name, plural=plural, label=_label(name), label_plural=_label(plural), fields=fields)


#: App-spec field types -> the stage-3 sitemap's simpler types (schemas.FieldSpec).
_SITEMAP_TYPES = {"email": "email", "integer": "integer", "decimal": "number", "money": "number",
                  "boolean": "boolean", "date": "date", "reference": "integer"}


def derive_entities(idea: dict, limit: int = MAX_ENTITIES) -> list[EntitySpec]:
    """The built-in planner's entities for this idea (shared.engine.planner), in the sitemap's field types.

    Entities and fields come from the idea's own words (and the preset catalogue only for a noun the idea
    names exactly), so the sitemap, the wireframes and the generated app show the same records.
    """
    from .planner import plan_builtin
    from .schemas import RESERVED_FIELDS, RESERVED_ROUTES

    spec = plan_builtin(idea)
    joins = {r.through for r in spec.relations if r.kind == "many_to_many"}
    out: list[EntitySpec] = []
    for e in [x for x in spec.entities if x.name not in joins] + [x for x in spec.entities if x.name in joins]:
        if len(out) >= limit:
            break
        if e.name in RESERVED_ROUTES or e.plural in RESERVED_ROUTES:
            continue
        fields = [FieldSpec(name=f.name, type=_SITEMAP_TYPES.get(f.type, "text"), required=f.required,
                            label=f.label[:60]) for f in e.fields if f.name not in RESERVED_FIELDS][:12]
        try:
            out.append(EntitySpec(name=e.name, plural=e.plural, label=e.label[:60], label_plural=e.label_plural[:60],
                                  fields=fields))
        except ValueError:
            continue
    return out or [generic_entity("record")]
