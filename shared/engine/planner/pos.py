"""What an English word can be, from a maintained lexicon rather than the planner's word lists (decision 0038).

The reading tags any word it has no list for as a noun, so on unseen ideas verbs, participles and adjectives became
records: "cannot", "withdraws", "unresolved", "escalated". lemminflect ships an English lexicon (from the
Automatically Generated Inflection Database and SPECIALIST) that lists, for each known word form, the parts of
speech it can take. A word the lexicon knows but never as a noun is not a record. A word it does not know keeps the
planner's default (a noun): new coinages ("valeter", "airtime") are the founder's own nouns more often than not.
Number words and modals are not in the lexicon's noun-bearing classes either, but are closed classes, listed here.
"""

from __future__ import annotations

from functools import lru_cache

#: Closed classes the lexicon leaves out or files under other heads ("four" is unknown to it).
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
                "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
                "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100}
MODALS = frozenset({"cannot", "can't", "mustn't", "shouldn't", "won't", "don't", "doesn't", "isn't", "aren't",
                    "needn't", "ought"})


@lru_cache(maxsize=8192)
def classes(word: str) -> frozenset[str]:
    """The parts of speech the lexicon lists for a word form ('booked' -> VERB), empty when it does not know it."""
    from lemminflect import getAllLemmas

    return frozenset(getAllLemmas(word))


def never_noun(word: str) -> bool:
    """The lexicon knows the word and never as a noun: 'withdraws', 'unresolved', 'escalated', 'next'."""
    if word in MODALS:
        return True
    if "-" in word or "'" in word or not word.isalpha():
        return False
    if word.endswith("ing") and verb_lemma(word) != word:  # "mooring", "booking", "training": the reading's own
        return False  # -ing rules decide; "bring", "sing" are base verbs
    c = classes(word)
    return bool(c) and not c & {"NOUN", "PROPN"}


def verb_lemma(word: str) -> str | None:
    from lemminflect import getAllLemmas

    got = getAllLemmas(word).get("VERB")
    return got[0] if got else None
