"""Text helpers for the idea screen: tokens, light stemming, dictionary ratio, gibberish and abuse checks."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from . import catalogues

_WORD = re.compile(r"[^\W\d_][\w'+.-]*[^\W_]|[^\W\d_]")

STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "else", "for", "to", "of", "in", "on", "at", "by", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "they", "them", "their", "he", "she", "his", "her", "him", "us", "do", "does", "did", "so", "not", "no", "nor", "can", "could", "will", "would", "should", "may", "might", "must", "shall", "into", "onto", "about", "over", "under", "than", "too", "very", "just", "also", "only", "app", "application", "platform", "tool", "tools", "service", "website", "site", "web", "software", "system", "solution", "saas", "online", "simple", "easy", "easily", "way", "ways", "thing", "things", "stuff", "lets", "let", "help", "helps", "allow", "allows", "using", "use", "uses", "based", "new", "all", "any", "each", "every", "more", "most", "some", "such", "own", "via", "per", "get", "gets", "make", "makes", "one", "two", "who", "what", "which", "where", "when", "how", "why", "who", "whom"]
)

# Verbs and adjectives that show up in feature lists but never name an entity.
NON_ENTITY_WORDS = frozenset(
    ["add", "create", "creating", "created", "edit", "delete", "remove", "update", "manage", "managing", "track", "tracking", "send", "sending", "share", "sharing", "view", "see", "browse", "search", "filter", "sort", "export", "import", "upload", "download", "invite", "assign", "schedule", "book", "plan", "log", "record", "generate", "summarize", "summarise", "notify", "remind", "compare", "find", "list", "build", "run", "collect", "rate", "review", "pay", "accept", "sign", "approve", "publish", "post", "message", "chat", "comment", "reply", "follow", "join", "connect", "sync", "automatic", "automated", "smart", "quick", "fast", "real", "realtime", "live", "daily", "weekly", "monthly", "instant", "instantly", "multiple", "basic", "custom", "personal", "local", "public", "private", "shared", "team", "teams", "user", "users", "people", "customer", "customers", "manager", "managers", "admin", "owner", "owners", "dashboard", "report", "reports", "analytics", "insight", "insights", "notification", "notifications", "reminder", "reminders", "email", "emails", "overview", "history", "status", "calendar", "support", "mobile", "ai"]
)

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")

#: Function words of common languages written in Latin script. The dictionary is English; an idea in
#: another language is recognised as language (not gibberish) when it uses several of its function words.
FUNCTION_WORDS = {
    "de": frozenset(["und", "die", "der", "das", "für", "mit", "auf", "ist", "nicht", "ein", "eine", "einen", "sie", "wir", "ich", "zu", "von", "den", "dem", "im", "es", "auch", "oder", "wie", "sich", "alle", "kann", "können", "werden", "weil"]),
    "fr": frozenset(["le", "la", "les", "et", "des", "du", "un", "une", "pour", "avec", "est", "sont", "pas", "sur", "dans", "qui", "que", "nous", "vous", "ils", "elles", "leur", "leurs", "au", "aux", "ou", "mais"]),
    "es": frozenset(["el", "la", "los", "las", "y", "de", "del", "un", "una", "para", "con", "es", "son", "por", "en", "que", "nosotros", "su", "sus", "al", "pero", "muy", "como"]),
    "pt": frozenset(["o", "a", "os", "as", "e", "de", "do", "da", "um", "uma", "para", "com", "é", "são", "por", "em", "que", "nós", "seu", "sua", "ao", "mas", "muito", "como"]),
    "it": frozenset(["il", "lo", "la", "gli", "le", "e", "di", "del", "della", "un", "una", "per", "con", "è", "sono", "che", "non", "nel", "alla", "ma", "come"]),
    "nl": frozenset(["de", "het", "een", "en", "van", "voor", "met", "is", "zijn", "niet", "op", "dat", "die", "wij", "ze", "hun", "maar", "ook"]),
}
_VOWELS = set("aeiouy")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return text.lower().replace("\u2019", "'")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters first; inner ' + . - allowed)."""
    return _WORD.findall(normalise(text))


@lru_cache(maxsize=1 << 16)  # pure and called per word per phrase: the idea screen's hot path
def stem(word: str) -> str:
    """A deliberately small suffix stripper, enough to match plurals and common inflections."""
    w = word.strip("'.-+")
    w = w.removesuffix("'s")
    for suffix, repl in (
        ("ies", "y"),
        ("ied", "y"),
        ("sses", "ss"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("xes", "x"),
        ("ing", ""),
        ("ed", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith("ss"):
                continue
            return w[: -len(suffix)] + repl
    return w


@lru_cache(maxsize=1 << 16)  # pure and called per word per phrase: the idea screen's hot path
def singular(word: str) -> str:
    """Plural -> singular only (no other suffixes), for matching nouns strictly."""
    w = word.strip("'.-+")
    if len(w) <= 3 or w.endswith("ss"):
        return w
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("ses", "xes", "ches", "shes", "zes")):
        return w[:-2]
    if w.endswith("s"):
        return w[:-1]
    return w


def stem_variants(word: str) -> set[str]:
    """Candidate base forms of a word (so 'scheduling' -> schedule, 'shipping' -> ship)."""
    w = word.strip("'.-+")
    out = {w, stem(w)}
    for suffix in ("ing", "ed", "er", "ers", "es", "s", "ly", "ment", "ments", "ness", "able", "ful", "ion", "ions", "ation", "ations", "ity", "al", "ize", "ise", "ist", "ists"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            base = w[: -len(suffix)]
            out.update({base, base + "e"})
            if len(base) >= 2 and base[-1] == base[-2]:
                out.add(base[:-1])
            if base.endswith("i"):
                out.add(base[:-1] + "y")
    if "-" in w:
        out.update(p for p in w.split("-") if p)
    return out


@lru_cache(maxsize=1)
def dictionary() -> frozenset[str]:
    words: set[str] = set()
    for line in catalogues.read_text("words.txt").splitlines():
        if line.startswith("#"):
            continue
        words.update(line.split())
    for cat in catalogues.market_catalogue()["categories"]:
        for kw in cat["keywords"]:
            words.update(tokens(kw))
    for name, spec in catalogues.entity_lexicon().items():
        words.update(name.split("_"))
        words.update(spec["plural"].split("_"))
        for alias in spec.get("aliases", []):
            words.update(tokens(alias))
    words.update(STOPWORDS)
    words.update(NON_ENTITY_WORDS)
    return frozenset(words)


def is_known_word(word: str) -> bool:
    d = dictionary()
    if word in d or word.isdigit():
        return True
    return any(v in d for v in stem_variants(word))


def _mash_like(word: str) -> bool:
    """Keyboard-mash signals: a run of 4 along a keyboard row, no vowels, 5 consonants in a row, 3 repeats."""
    w = re.sub(r"[^a-z]", "", word)
    if len(w) < 4 or not word.isascii():
        return False
    for row in _KEYBOARD_ROWS:
        for i in range(len(row) - 3):
            if row[i : i + 4] in w or row[i : i + 4][::-1] in w:
                return True
    if not (_VOWELS & set(w)):
        return True
    if re.search(r"[^aeiouy]{5,}", w):
        return True
    return bool(re.search(r"(.)\1\1", w))


def gibberish_stats(text: str) -> dict:
    toks = [t for t in tokens(text) if any(c.isalpha() for c in t)]
    if not toks:
        return {"tokens": 0, "known_ratio": 0.0, "mash_ratio": 0.0}
    known = sum(1 for t in toks if is_known_word(t))
    mash = sum(1 for t in toks if not is_known_word(t) and _mash_like(t))
    return {
        "tokens": len(toks),
        "known_ratio": round(known / len(toks), 3),
        "mash_ratio": round(mash / len(toks), 3),
    }


def is_gibberish(text: str) -> tuple[bool, dict]:
    """Too few dictionary words, or too much keyboard mash. The bundled dictionary is English: text that is
    mostly non-ASCII letters is not judged on the dictionary ratio (only on mash), and stats say so."""
    stats = gibberish_stats(text)
    if stats["tokens"] == 0:
        return True, stats
    letters = [c for c in text if c.isalpha()]
    non_ascii = sum(1 for c in letters if not c.isascii()) / max(1, len(letters))
    if non_ascii > 0.3:
        stats["dictionary_check"] = "skipped: mostly non-English letters"
        return stats["mash_ratio"] >= 0.25, stats
    if stats["mash_ratio"] >= 0.25:
        return True, stats
    if stats["known_ratio"] >= 0.5:
        return False, stats
    toks = tokens(text)
    for lang, words in sorted(FUNCTION_WORDS.items()):
        hits = [t for t in toks if t in words]
        if len(hits) >= 3 and len(set(hits)) >= 2 and len(hits) / len(toks) >= 0.1:
            stats["language"] = lang
            stats["dictionary_check"] = f"skipped: reads as '{lang}'"
            return False, stats
    return True, stats


def content_words(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def _phrase_positions(words: list[str], phrase: str) -> list[int]:
    ptoks = tokens(phrase)
    if not ptoks:
        return []
    n = len(ptoks)
    hits = []
    pstems = [singular(p) for p in ptoks]
    for i in range(len(words) - n + 1):
        if all(words[i + j] == ptoks[j] or singular(words[i + j]) == pstems[j] for j in range(n)):
            hits.append(i)
    return hits


def screen_abuse(text: str) -> list[dict]:
    """Return the abuse hits in `text` (empty list when clean). Each hit: {category, term, kind}."""
    data = catalogues.blocklist()
    words = tokens(text)
    window = int(data.get("window", 4))
    defensive = set(data.get("defensive_words", []))
    hits: list[dict] = []
    for category, spec in sorted(data["categories"].items()):
        for term in spec.get("always", []):
            if _phrase_positions(words, term):
                hits.append({"category": category, "term": term, "kind": "always"})
        for term in spec.get("contextual", []):
            for pos in _phrase_positions(words, term):
                lo, hi = max(0, pos - window), min(len(words), pos + len(tokens(term)) + window)
                near = set(words[lo:hi]) | {stem(w) for w in words[lo:hi]}
                if not (near & defensive):
                    hits.append({"category": category, "term": term, "kind": "contextual"})
                    break
    return hits


def contains_phrase(text_or_words, phrase: str) -> bool:
    words = text_or_words if isinstance(text_or_words, list) else tokens(text_or_words)
    return bool(_phrase_positions(words, phrase))


def slugify(text: str, max_len: int = 40, default: str = "app") -> str:
    s = re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")
    s = s[:max_len].strip("-")
    return s or default


def identifier(text: str, default: str = "item") -> str:
    s = re.sub(r"[^a-z0-9]+", "_", normalise(text)).strip("_")
    if not s or not s[0].isalpha():
        s = f"{default}_{s}".strip("_") if s else default
    return s[:40]


def shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
