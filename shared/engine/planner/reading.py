"""The built-in reading of a key feature (issue 16): actors, action, record, attributes, the rules and effects it
states with their numbers, and what every content word maps to in the spec, or `unread`.

`read_feature(text, spec, cap_ids)` reads one feature against a planned spec; `content_words(text)` is the list
of words the accounting must cover (every word but the fixed list of English function words `FUNCTION_WORDS`,
which holds no domain word and no rule word). Rules are found by English patterns (`RULE_PATTERNS`: "at most 3",
"capacity", "only once", "declines the others", "with the other's agreement", "within 2 days", "above 70",
"a 10% fee", "escalated", "cannot", a recipient and a channel; states in order: "go from A to B to C"), never by
domain words. Whether a capability realises a rule is not decided here: `shared.engine.criteria.certify` holds the
reading against the bound capabilities.
"""

from __future__ import annotations

import functools
import re

from ..appspec.model import EffectReading, FeatureReading, RuleReading, WordUse
from . import lexicon as lx
from .capmap import CUES
from .text import plural, singular, state_sequences, verb_base

#: English function words skipped by the accounting: articles and determiners, prepositions, conjunctions,
#: auxiliaries and pronouns. Fixed and short: no domain word, and no word that can state a rule (numbers,
#: "only", "not", "no", "per", "within", "before", "after", "above", "below", "over", "under" are read).
FUNCTION_WORDS = frozenset("""
a an the this that these those some any all both either neither every its their theirs his her hers our ours your
yours my mine them they it he she we us you i itself each every themselves who whom whose which what there here
of in on at to for with by from into onto about as via through between across among around up out off against
and or but nor so yet if then than when whenever where while whether because though although
is are was were be been being am do does did done has have had having can could will would shall should may might
must let lets
""".split())

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
                "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
                "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
                "single": 1, "once": 1, "twice": 2, "half": 0.5, "dozen": 12}

_NUM = r"(?:\d+(?:[.,]\d+)*|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")(?:[- ](?:" + \
    "|".join(k for k in NUMBER_WORDS if NUMBER_WORDS[k] < 10) + r"))?"
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|mb|gb|kb|percent|per ?cent|%)"
_TIME_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"
_W = r"[a-z][a-z'-]*"
_PER = r"per|each|every|a|an|at a time|at once|in|on|for|with|to|at|from|of|and|or|when|if|before|after|by"
#: "once" that starts a clause ("released only once the supervisor has signed it"): a conjunction, not a count
_ONCE_CLAUSE = r"once (?:the|its|their|his|her|it|they|he|she|we|you|i|every|each|all|both|someone|somebody|" \
               r"everyone|everybody)\b"

#: Words that state rules: counted by `unread_rule_words` when the accounting leaves them unread.
RULE_WORDS = frozenset("""
only cannot not no never limit limits limited maximum max most least minimum capacity full once twice unique
decline declines declined declining reject rejects rejected others other agree agrees agreed agreement consent
consents approve approval confirm confirms confirmed escalate escalates escalated escalation fee fees commission
percent cut surcharge per within before after above below over under exceed exceeds exceeded exceeding threshold
block blocks blocked blocking prevent prevents prevented refuse refused refuses until unless
sms text texts texted email emails emailed notify notified notifies remind reminds reminded reminder reminders
alert alerts alerted warn warns warned
""".split())

CHANNELS = {"sms": "sms", "text": "sms", "texts": "sms", "texted": "sms", "texting": "sms", "email": "email",
            "emails": "email", "emailed": "email", "e-mail": "email", "mail": "email", "in-app": "in_app",
            "push": "in_app", "notification": "in_app", "notifications": "in_app"}
_NOTIFY = r"(?:remind\w*|notif\w*|alert\w*|e-?mail\w*|texts?|texted|texting|sms(?:es)?|messag\w*|warn\w*|tell\w*|" \
          r"ping\w*|sen(?:d|ds|t)(?: a| an)?(?: \w+)? (?:reminders?|alerts?|notices?|messages?|texts?|e-?mails?)|" \
          r"escalat\w*)"

_STOP = "|".join(sorted(FUNCTION_WORDS | {"per"}, key=len, reverse=True))
#: up to two words before a counted noun that ends its phrase ("one people's choice vote and ...", "two free
#: tickets a year"): possessives and words not ending in s, taken only when the noun after them ends the phrase
_MODS = rf"(?:(?:(?!(?:{_STOP})\b)(?:[a-z-]+'s?|[a-z-]*[a-rt-z-]) ){{1,2}}(?={_W}(?:$|[,.;:]| (?:{_STOP})\b))|)"

#: (category, pattern); group "num" is the number, group "noun"/"noun2" nouns it is about.
RULE_PATTERNS: tuple[tuple[str, str], ...] = (
    # who sees which rows: "customers see only their own jobs", "volunteers see only the points they are assigned to"
    ("scope", r"(?:(?:can |may )?(?:sees?|views?|reads?|accesse?s?) only|only (?:sees?|views?|reads?)) (?:(?:their|its|his|"
              r"her) own(?: [a-z']+){1,3}|the(?: [a-z']+){1,3}? (?:they|he|she|it) (?:are|is|were|was|have been|has "
              r"been) (?:assigned|allocated|given) to|the(?: [a-z']+){1,3}? (?:assigned|allocated|given) to (?:them|him|"
              r"her|it)|the(?: [a-z']+){1,3}? (?:of|for|from|at|on) (?:their|its|his|her) own(?: [a-z']+){1,2})"),
    # whose approval: the one person linked to the record ("only a trainee's own supervisor", "their own mentor
    # must sign off", "only the tutor of the class"): an agreement of that person (see OWN_APPROVER)
    ("agreement", r"(?:only (?:a |an |the )?(?:[a-z]+'s |their |his |her |its )own (?P<noun>[a-z]+)(?!'s)|(?:[a-z]+'s"
                  r"|their|his|her|its) own (?P<noun2>[a-z]+)(?!'s) (?:(?:must|has to|needs to|should|can|may|will) )?"
                  r"(?:sign|approv|accept|confirm|ok)\w*(?: off)?|only the (?P<noun3>[a-z]+) (?:of|for) (?:the |a |an |"
                  r"that |this |each |their |its )?[a-z]+|(?:approv|sign|accept|confirm|ok)\w*(?: off)? by (?:a |an |the )?"
                  r"(?:[a-z]+'s |their |his |her |its )own (?P<noun4>[a-z]+)|(?:approv|sign|accept|confirm|ok)\w*(?: off)?"
                  r" (?:their|his|her) own [a-z]+'s [a-z]+)"),
    ("fee", rf"(?:(?P<num>{_NUM}) ?(?:%|percent|per ?cent)(?: \w+){{0,3}}? (?:fee|commission|cut|charge|surcharge|"
            rf"deposit|service charge)s?|(?:fee|commission|cut|charge|surcharge|deposit)s? of (?P<num2>{_NUM}) ?"
            rf"(?:%|percent|per ?cent))"),
    ("fee", rf"(?<!above )(?<!below )(?<!over )(?<!under )(?<!than )(?<!exceeds )(?<!reaches )(?<!hits )"
            rf"(?P<num>{_NUM}) ?(?:%|percent|per ?cent)"),  # "above 60 percent" is a threshold, not a fee
    ("fee", r"(?:platform|booking|service|late|cancellation|commission|deposit) (?:fee|charge)s?|commissions?"),
    # a stated price: "£38 per hour", "each load costs £90", "35 pounds per lesson" (before "limit", which would
    # read "35 pounds per lesson" as a count); "over £500", "up to $20" are thresholds and limits, not prices
    ("price", rf"(?<!above )(?<!below )(?<!over )(?<!under )(?<!than )(?<!exceeds )(?<!reaches )(?<!hits )(?<!to )"
              rf"(?<!most )(?<!max )(?<!maximum )(?:[$£€] ?(?P<num>{_NUM})|(?P<num2>{_NUM}) ?(?:pounds?|dollars?|"
              rf"euros?|quid|gbp|usd|eur))(?: (?:per|a|an|each|every) (?P<noun>{_W})| (?P<noun2>hourly|daily|nightly|"
              rf"weekly|monthly|yearly|annually))?"),
    ("escalation", rf"escalat\w*(?: (?:to|up to) (?:the |a |an )?(?P<noun>{_W}))?"),
    ("time_window", rf"(?:within|in|for|up to|at least|no later than|no less than|more than|less than|under|"
                    rf"over)? ?(?:the )?(?:first |last |next )?(?P<num>{_NUM}) ?(?P<unit>{_TIME_UNIT})(?: (?:before|after|"
                    rf"ahead|in advance|early|late|beforehand|of|from|since|before the|after the|before its|after "
                    rf"its)(?: (?P<noun>{_W}))?)?"),
    ("time_window", r"(?:the )?(?:day|night|evening|morning|week|month|hour) (?:before|after)(?: (?:the |its |their )?(?P<noun>"
                    + _W + r"))?"),
    ("limit", rf"(?:at most|up to|no more than|not more than|maximum(?: of)?|max(?:imum)?|a limit of|limit(?:ed)? "
              rf"(?:of|to)|only|just|cap(?:ped)? at|never more than) (?!{_ONCE_CLAUSE})(?P<num>{_NUM})(?: (?!(?:{_PER})\b)(?P<noun>{_W}))?"
              rf"(?: (?!(?:{_PER})\b)\w+){{0,2}}(?: (?:{_PER})(?: (?P<noun2>{_W}))?)?"),
    ("limit", rf"(?P<num>{_NUM}) (?P<noun>{_W})(?: \w+)? (?:per|each|a) (?P<noun2>{_W})"),
    ("limit", rf"(?:each|every) (?P<noun2>{_W}) (?:has|have|gets?|may cast|can cast) (?:up to )?(?P<num>{_NUM}) "
              rf"{_MODS}(?P<noun>{_W})"),
    ("limit", r"(?:one|a single) (?P<noun>" + _W + r") at a time|at a time"),
    ("threshold", rf"(?:above|below|over|under|more than|less than|fewer than|exceeds?|exceeding|drops? below|falls? "
                  rf"below|rises? above|goes? (?:above|over|below|under)|reaches?|hits?|at or (?:above|below)) "
                  rf"(?:a |an |the )?(?:\$|£|€)?(?P<num>{_NUM})(?: ?(?P<unit>{_W}))?"),
    # "logged at 40 mph or more", "a score of 3 or less"
    ("threshold", rf"(?:\$|£|€)?(?P<num>{_NUM})(?: ?(?P<unit>{_W}|°c|°f|%))? or (?:more|higher|above|over|less|lower|"
                  rf"below|under)"),
    ("threshold", r"overspen[dt]\w*|over budget|overdrawn|exceed\w*|thresholds?|runs? (?:low|out)|running (?:low|"
                  r"out)|low[- ]stock"),
    ("capacity", rf"(?:no|not|never) more (?:(?P<noun>{_W}) )?than (?:its|their|the) (?:[a-z]+ ){{0,2}}?(?:capacity|"
                 rf"allowance|limit|count|budget|seats|places|beds|berths|spaces|number of (?P<noun2>{_W}))(?: (?:of|in) (?P<noun3>{_W}))?"),
    ("capacity", rf"(?:capacity|capacities|holds? up to (?P<num>{_NUM})|seats? (?P<num2>{_NUM})|room for "
                 rf"(?P<num3>{_NUM})|(?P<num4>{_NUM}) (?:seats|places|spots|spaces|berths|beds)|sold out|fully "
                 rf"booked|(?:is|are|gets?) full)(?: (?:of|per) (?:the |each |a )?(?P<noun>{_W}))?"),
    ("uniqueness", rf"(?:(?!only {_ONCE_CLAUSE})only once|once per (?P<noun>{_W})|(?!{_ONCE_CLAUSE})once|twice|unique\w*|no duplicates?|duplicates? "
                   rf"(?:are )?(?:refused|blocked|rejected)|one (?P<noun4>{_W}) each(?= *$|[,.;]| and | but )|"
                   rf"one (?P<noun2>{_W}) per (?P<noun3>{_W})|not twice|"
                   rf"more than once|same \w+ twice)"),
    ("exclusivity", rf"(?:declin\w+|reject\w*|clos\w+|cancel\w*|withdraw\w*) (?:all )?(?:the )?(?:others?|other "
                    rf"(?P<noun>{_W})|rest|remaining (?P<noun2>{_W}))|(?:the )?others? (?:are|get|become|is) "
                    rf"(?:declined|rejected|closed|cancelled|canceled)|exclusive\w*|only one (?P<noun3>{_W}) "
                    rf"(?:can|may|is)|(?:without|no|never|prevents?|avoids?|avoiding|stops?) (?:any )?double[- ]?"
                    rf"book\w*|double[- ]?book\w* (?:are |is )?(?:refused|blocked|prevented|impossible)"),
    ("agreement", rf"(?:(?:with|needs?|requires?|after|without|once|until) (?:the )?(?:(?:other|both|each)\W*)?"
                  rf"(?:(?P<noun>{_W})(?:'s|s')? )?(?:agreement|consent|approval|confirmation|sign[- ]off|ok)|"
                  rf"(?:both|mutual\w*|the other \w+) (?:agree\w*|confirm\w*|accept\w*|consent\w*)|"
                  rf"agree\w*|consent\w*)"),
    ("block", r"(?:cannot|can ?not|can't|may not|must not|won't|not allowed|not be|never|blocks?|blocked|blocking|"
              r"prevents?|prevented|refus\w+|unless|only (?:if|when|after|once|while|until))(?: (?:be|get|"
              r"is|are))?(?:(?: \w+){0,4}? (?:unless|until) (?:at least |a minimum of )?(?P<num>\d+|two|three|four|"
              r"five|six|seven|eight|nine|ten) (?P<noun>[a-z]+)|(?: \w+){0,4})"),
)

#: An agreement rule's words that name one person linked to the record, not a whole role ("a trainee's own
#: supervisor", "only the tutor of the class"): realised only by a transition bound to that person (mover_link).
OWN_APPROVER = re.compile(r"\bown [a-z]+\b|\bonly the [a-z]+ (?:of|for)\b", re.I)

#: Verbs of a number's movement in a threshold ("goes above 20 knots"): never a rule's noun.
_MOTION = frozenset("""go goes went rise rises rose drop drops dropped fall falls fell reach reaches reached hit hits
climb climbs climbed exceed exceeds exceeded pass passes passed get gets got""".split())

_PEOPLE_AFTER = r"(?:the |their |its |his |her |a |an |all |each |every |my |our )?(?P<who>[a-z][a-z'-]*)"


#: minutes in one of a duration's units (a week or a night is no booking's length of one sitting)
_UNIT_MINUTES = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440}
_DUR_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?)"
#: words that say a duration is the longest a booking may last, not its exact length
_AT_MOST = r"(?:up to|at most|no more than|not more than|a maximum of|maximum of|max(?:imum)?|under|less than)"
#: what follows a number of time units when it is no length of a sitting: a window ("2 hours before"), a quota
#: ("3 hours a week"), a rate ("per hour")
_NOT_LENGTH = (r"(?:before|after|ahead|beforehand|early|earlier|late|later|notice|in advance|prior|of (?:the|its|"
               r"their|a|an)|from|since|ago|(?:a|an|per|each|every|in a|in any|in one|in each) (?:day|night|week|"
               r"month|year|season|term|fortnight))\b")
_BOOK_VERB = r"\b(?:book|reserv|hir|rent|schedul|sign(?:s|ed)? up|use|uses|using|borrow)\w*\b"


def _durations(low: str) -> list[tuple[int, int, float, str, str | None]]:
    """(start, end, number, unit, noun) of every length of a sitting the text states: a number and a time unit
    as a compound adjective before a noun ("90-minute picking slots", "a 2 hour session", "half-day hire",
    "hour-long lessons"), "for N minutes" after a verb of booking or using ("book a court for 45 minutes", "for up
    to 3 hours", "for an hour"), "lasts 30 minutes", "N hours long", "of up to N hours". A quota ("3 hours a week")
    or a window ("2 hours before") is none; neither is a length past one day."""
    out = []
    num = rf"(?P<num>{_NUM}|an?|one|full|whole|all)"

    def unit_of(u: str) -> str:
        u = {"min": "minute", "mins": "minute", "hr": "hour", "hrs": "hour"}.get(u, u)
        return u if u.endswith("s") else u + "s"

    def keep(s: int, e: int, raw: str, unit: str, noun: str | None = None) -> None:
        n = {"a": 1, "an": 1, "one": 1, "full": 1, "whole": 1, "all": 1}.get(raw)
        n = n if n is not None else _num(raw)
        if n is None or n <= 0 or re.match(_NOT_LENGTH, low[e:].lstrip()):
            return
        if n * _UNIT_MINUTES[unit.rstrip("s")] > 1440:
            return
        out.append((s, e, n, unit_of(unit), noun))

    # "90-minute slots", "a 2 hour session", "two-hour sessions", "half-day hire", "a full-day course"
    for m in re.finditer(rf"(?<![a-z0-9-])(?:(?P<half>half an?[- ]|half-)|{num}(?P<sep>[- ]))?(?P<unit>minute|min|hour|"
                         rf"hr|day)(?P<long>-long)?(?= (?P<noun>[a-z][a-z'-]*))", low):
        noun, raw = m.group("noun"), m.group("num")
        if noun in FUNCTION_WORDS or noun in RULE_WORDS or noun in NUMBER_WORDS or re.fullmatch(_UNIT, noun):
            continue
        if m.group("half"):
            raw = "0.5"
        elif raw is None:
            if not m.group("long"):
                continue  # "day trips", "hour hand": a unit alone is no length ("hour-long" is one)
            raw = "1"
        elif m.group("sep") == " " and raw in ("a", "an", "one", "full", "whole", "all"):
            continue  # "a day pass", "all day": only with a hyphen ("a full-day course")
        keep(m.start(), m.end(), raw, m.group("unit"), singular(noun))
    # "for 45 minutes", "for up to 3 hours", "for an hour", "for half an hour" after a verb of booking or using
    for m in re.finditer(rf"\bfor (?:{_AT_MOST} )?(?:(?P<half>half an?)|{num}) (?P<unit>{_DUR_UNIT})\b", low):
        clause = re.split(r"[,.;:!?]", low[:m.start()])[-1]
        if re.search(_BOOK_VERB, clause):
            keep(m.start(), m.end(), "0.5" if m.group("half") else m.group("num"), m.group("unit"))
    # "a slot lasts 30 minutes", "lessons last up to 2 hours", "runs for an hour"
    for m in re.finditer(rf"\b(?:lasts?|lasting|runs? for)(?: for)? (?:{_AT_MOST} )?(?:(?P<half>half an?)|{num}) "
                         rf"(?P<unit>{_DUR_UNIT})\b", low):
        keep(m.start(), m.end(), "0.5" if m.group("half") else m.group("num"), m.group("unit"))
    # "sessions are 90 minutes long", "bookings of up to 4 hours"
    for m in re.finditer(rf"\b(?:{num} (?P<unit>{_DUR_UNIT}) long|of {_AT_MOST} (?P<num2>{_NUM}) "
                         rf"(?P<unit2>{_DUR_UNIT}))\b", low):
        keep(m.start(), m.end(), m.group("num") or m.group("num2"), m.group("unit") or m.group("unit2"))
    return out


def duration_minutes(rule) -> tuple[int | None, bool]:
    """(minutes, at_most) of a duration rule: the length it states in whole minutes (None when not whole or not a
    duration) and whether its words give the longest a booking may last ("for up to 3 hours") rather than its
    exact length."""
    if rule.category != "duration" or rule.number is None or not rule.unit:
        return None, False
    minutes = rule.number * _UNIT_MINUTES.get(rule.unit.rstrip("s"), 0)
    if minutes <= 0 or abs(minutes - round(minutes)) > 1e-9:
        return None, False
    return int(round(minutes)), bool(re.search(rf"\b{_AT_MOST}\b", rule.words.lower()))


def _num(text: str | None) -> float | None:
    if not text:
        return None
    t = text.lower().replace(",", "")
    try:
        return float(t)
    except ValueError:
        pass
    parts = re.split(r"[- ]", t)
    total = 0.0
    for p in parts:
        if p in NUMBER_WORDS:
            total += NUMBER_WORDS[p]
        else:
            return None
    return total


def _words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for every word of the text, lower case ("e-mail" and "check-in" stay one word)."""
    low = text.lower()
    return [(m.group(0), m.start(), m.end()) for m in
            re.finditer(r"\d+(?:[.,]\d+)*%?|[a-z0-9]+(?:['’-][a-z0-9]+)*|%|\$|£|€", low)]


def content_words(text: str) -> list[str]:
    """The words the accounting must cover: all but `FUNCTION_WORDS` (and bare currency signs)."""
    return [w for w, _s, _e in _words(text) if w not in FUNCTION_WORDS and w not in ("$", "£", "€")]


def _people(word: str, spec) -> bool:
    s = singular(word)
    return s in lx.PEOPLE or spec.role(s) is not None or s in ("me", "everyone", "team", "followers", "follower",
                                                                "subscribers", "subscriber", "watchers", "watcher")


class _NoRoles:
    """A spec that names no roles: the rules a text states on its own words alone."""

    def role(self, _name):
        return None


@functools.lru_cache(maxsize=4096)
def _rules_alone(text: str) -> tuple[RuleReading, ...]:
    return tuple(_rules(text, _NoRoles())[0])


def rules_of(text: str, category: str | None = None) -> list[RuleReading]:
    """The rules a text states on its own words (no roles known), read once per text; copies, so a caller may
    change them. `category` keeps those of one category."""
    return [r.model_copy() for r in _rules_alone(text) if category is None or r.category == category]


def _rules(text: str, spec) -> tuple[list[RuleReading], list[tuple[int, int, int]]]:
    """The rules the text states, and their spans [(start, end, rule index)]; spans never overlap."""
    low = text.lower()
    rules: list[RuleReading] = []
    spans: list[tuple[int, int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b, _i in spans)

    def add(cat: str, s: int, e: int, number=None, unit=None, nouns=()):
        if e <= s or not free(s, e):
            return
        while True:  # no function word at either end of a rule's words ("up to 48 hours before the")
            m_end = re.search(r"[\s,.;:]+([a-z']+)[\s,.;:]*$", low[s:e])
            if m_end and m_end.group(1) in FUNCTION_WORDS and m_end.group(1) not in ("to", "up"):
                e = s + m_end.start()
                continue
            break
        words = text[s:e].strip(" ,.;:")
        if not words:
            return
        span_nouns = [w for w, _a, _b in _words(words) if cat not in ("price", "duration")  # a price's noun: its unit
                      and w not in FUNCTION_WORDS and w not in NUMBER_WORDS
                      and w not in RULE_WORDS and not re.fullmatch(r"[\d.,%]+", w) and len(w) > 2
                      and not re.fullmatch(_UNIT, w) and w not in ("most", "least", "than", "more", "less")
                      and w not in _MOTION]
        nouns = [singular(n) for n in [*nouns, *span_nouns] if n and n not in FUNCTION_WORDS
                 and n not in NUMBER_WORDS and not re.fullmatch(r"\d.*", n)]
        rules.append(RuleReading(category=cat, words=words[:160], number=number, unit=unit,
                                 nouns=list(dict.fromkeys(nouns))))
        spans.append((s, e, len(rules) - 1))

    # states in order: "auditionees go from signed up to auditioned to cast", "move through A, B and C"
    for s_, e_, _states in state_sequences(text):
        rules.append(RuleReading(category="sequence", words=text[s_:e_][:160], nouns=[]))
        spans.append((s_, e_, len(rules) - 1))
    # who is told, and how: "text the parents", "email reminders to volunteers", "owners get an SMS"
    for m in re.finditer(rf"(?<![a-z]){_NOTIFY}(?: (?:a|an|the)? ?(?:\w+ )?(?:reminders?|alerts?|notices?|messages?|"
                         rf"e-?mails?|texts?))?(?: (?:by|via|over) (?:sms|text|e-?mail|email))? (?:to )?{_PEOPLE_AFTER}",
                         low):
        who = m.group("who")
        if who and _people(who, spec) and "escalat" not in m.group(0):
            s = m.start("who")
            add("recipient", s, m.end("who"), nouns=[who if who != "me" else "me"])
    for m in re.finditer(r"(?<![a-z])(?:sms(?:es)?|text(?:s|ed|ing)?(?: messages?)?|e-?mails?|e-?mailed|push "
                         r"notifications?|in-app notifications?)(?![a-z])", low):
        w = m.group(0).split()[0]
        before, after = low[:m.start()], low[m.end():]
        told = re.search(r"(?<![a-z])(?:remind\w*|notif\w*|alert\w*|warn\w*|messag\w*|escalat\w*|sen[dt]s?|ping\w*)"
                         r"(?![a-z])", before + " " + after)
        how = re.search(r"(?<![a-z])(?:by|via|an?|sends?|send|sent|gets?|receives?|receiving)\W+$", before) or (
            not before.strip() and not w.startswith("text"))  # "Email campaigns to donors": an imperative
        whom = re.match(r"\s+(?:the|a|an|their|all|each|every|them|him|her|me|us)\b|\s+([a-z][a-z'-]*)", after)
        to_people = whom is not None and (whom.group(1) is None or _people(whom.group(1), spec))
        if not (told or how or to_people):
            continue  # "client email", "free text": an attribute, not how someone is told
        chan = CHANNELS.get(w, CHANNELS.get(w.rstrip("s"), "in_app"))
        rules.append(RuleReading(category="channel", words=text[m.start():m.end()], nouns=[], unit=chan))
        spans.append((m.start(), m.end(), len(rules) - 1))
    # how long one booking lasts: "90-minute picking slots", "hour-long lessons", "book a court for 45 minutes", "a
    # slot lasts 30 minutes", "sessions of up to 3 hours" (category duration; see `duration_minutes`)
    for m in _durations(low):
        add("duration", m[0], m[1], m[2], m[3], [m[4]] if m[4] else [])
    # a rating's scale: "judges score each project from 1 to 10", "rated on a scale of 1 to 5" (unit "scale": the
    # ratings capability's own range, never a limit on how many records)
    if re.search(r"\b(?:rat|scor|grad|mark)(?:e|es|ed|ing|s)?\b", low):
        for m in re.finditer(r"(?<![a-z0-9])(?:from|on a scale of|between) 1 (?:to|-|and) (\d+)(?![a-z0-9])", low):
            add("limit", m.start(), m.end(), float(m.group(1)), "scale")
    for cat, pat in RULE_PATTERNS:
        for m in re.finditer(rf"(?<![a-z0-9]){pat}(?![a-z0-9])", low):
            g = m.groupdict()
            raw = next((g[k] for k in ("num", "num2", "num3", "num4") if g.get(k)), None)
            number = _num(raw)
            unit = g.get("unit")
            if cat == "fee" and raw:
                unit = "percent"
            if cat == "fee" and not raw and getattr(spec, "entity", lambda _n: None)(singular(m.group(0).split()[-1])):
                continue  # "commissions go from received to ...": the records the app keeps, not a fee
            if cat == "price":  # the unit a price is per ("hour", "lesson"), or None for a price per record
                per = g.get("noun") or {"hourly": "hour", "daily": "day", "nightly": "night", "weekly": "week",
                                        "monthly": "month", "yearly": "year", "annually": "year"}.get(g.get("noun2"))
                unit = singular(per) if per else None
            nouns = [g.get(k) for k in ("noun", "noun2", "noun3", "noun4")] if cat != "price" else [unit]
            if cat == "time_window" and raw is None and unit is None:  # "the day before": one day
                head = m.group(0).removeprefix("the ").split(" ")[0]
                number, unit = {"day": (1, "days"), "night": (1, "days"), "evening": (1, "days"),
                                "morning": (1, "days"), "week": (7, "days"), "hour": (1, "hours")}.get(head, (None, None))
            if cat == "time_window" and unit:
                unit = {"min": "minutes", "mins": "minutes", "hr": "hours", "hrs": "hours"}.get(unit, unit)
                unit = unit if unit.endswith("s") or unit in ("mb", "gb", "kb", "%") else unit + "s"
            if cat == "threshold" and unit and (unit in FUNCTION_WORDS or unit in ("and", "or")):
                unit = None
            add(cat, m.start(), m.end(), number, unit, nouns)
    if any(r.category == "exclusivity" for r in rules):  # "accepting one bid for a job declines the others":
        drop = {i for i, r in enumerate(rules)              # the "one" is the choice, not a limit of one
                if r.category == "limit" and r.number == 1 and re.match(r"(?i)(one|a|an|single)\b", r.words)}
        if drop:
            keep = [i for i in range(len(rules)) if i not in drop]
            new_index = {old: new for new, old in enumerate(keep)}
            rules = [rules[i] for i in keep]
            spans = [(a, b, new_index[i]) for a, b, i in spans if i in new_index]
    return rules, spans


def _effects(text: str, rules: list[RuleReading]) -> list[EffectReading]:
    low = text.lower()
    out: list[EffectReading] = []
    recipients = [r.nouns[0] for r in rules if r.category == "recipient" and r.nouns]
    channels = [r.unit for r in rules if r.category == "channel"]
    m = re.search(rf"(?<![a-z]){_NOTIFY}", low)
    if m and (recipients or channels or re.search(r"remind|notif|alert|warn", low)):
        out.append(EffectReading(kind="notify", words=text[m.start():m.end()],
                                 recipient=recipients[0] if recipients else None,
                                 channel=channels[0] if channels and channels[0] in ("email", "sms", "in_app")
                                 else None))
    for m in re.finditer(r"(?<![a-z])(?:creates?|opens?|raises?|generates?|files?|logs?) (?:a |an )?(?:new )?"
                         r"(?P<what>[a-z]+(?: [a-z]+)?)", low):
        if re.search(r"\b(?:when|whenever|if|once|after)\b", low[:m.start()]) or re.search(
                r"(?<![a-z])(?:automatic\w*)", low):
            out.append(EffectReading(kind="create", words=text[m.start():m.end()]))
    for m in re.finditer(r"(?<![a-z])(?:marks?|sets?|moves?|turns?|becomes?) (?:it |them |the \w+ )?(?:as |to )?"
                         r"(?P<what>[a-z]+)", low):
        if re.search(r"\b(?:when|whenever|if|once|after)\b", low[:m.start()]):
            out.append(EffectReading(kind="change", words=text[m.start():m.end()]))
    if any(r.category == "block" for r in rules):
        b = next(r for r in rules if r.category == "block")
        out.append(EffectReading(kind="block", words=b.words))
    return out


#: Verbs that add, list, read or change records: the app's create/list/detail/edit pages do what they say.
RECORD_ACTIONS = frozenset("""
add adds added adding create creates created creating log logs logged logging record records recorded recording
keep keeps kept keeping track tracks tracked tracking list lists listed listing manage manages managed managing
store stores stored storing save saves saved saving view views viewed viewing see sees seeing browse browses
browsing show shows showing edit edits edited editing update updates updated updating delete deletes deleted
remove removes removed register registers registered registering enter enters entered note notes noted write
writes capture captures captured maintain maintains organise organises organize organizes organised organized
look looks report reports reported reporting file files filed raise raises raised make makes made making
submit submits submitted submitting place places placed placing post posts posted posting order orders ordered
ordering
""".split())

#: Words for a list, a page or a view of records (the generated list and detail pages are it).
PAGE_WORDS = frozenset("""
list lists page pages view views screen dashboard directory directories catalogue catalog register registry database
profile profiles record records details detail info information entries entry table tables archive overview
section form forms
""".split())

#: Words that say whose rows a role sees; they map to a role whose reads are scoped to its own rows.
SCOPE_WORDS = frozenset({"see", "sees", "view", "views", "read", "reads", "access", "accesses", "only", "own",
                         "assigned", "allocated", "given", "get", "gets"})

#: Words for the app itself.
APP_WORDS = frozenset({"app", "online", "web", "website", "digital", "browser", "portal", "mobile", "platform"})  # pages carry
# a viewport and a one-column layout, so "on mobile" is the app itself

#: Words naming the period a capability counts in (a leaderboard's or a limit's `period`).
_PERIOD_WORDS = {"day": "day", "days": "day", "daily": "day", "week": "week", "weeks": "week", "weekly": "week",
                 "month": "month", "months": "month", "monthly": "month", "quarter": "quarter",
                 "quarters": "quarter", "quarterly": "quarter", "year": "year", "years": "year", "yearly": "year",
                 "annual": "year"}


def _period_word(w: str) -> str | None:
    """The period a word names, possessive or not ("the month's bookings" -> month)."""
    return _PERIOD_WORDS.get(re.sub(r"['’]s$", "", w))

#: Words a capability's presence explains beyond its cue words (a reminders capability runs on a schedule).
KIND_WORDS = {
    "reminders": {"automatic", "automatically", "scheduled", "reminder", "reminders", "email", "emails", "due",
                  "booked", "next", "upcoming"},
    "booking": {"calendar", "slot", "slots", "free", "double-booking", "overlap", "overlapping", "clash", "double",
                "without"},
    "audit_log": {"tamper-evident", "tamper-proof", "tamper", "change", "changes", "changed", "edit", "edits",
                  "edited", "trail", "history", "who"},
    "custody": {"out", "back", "who", "holds", "has", "loan", "loans", "borrowing", "lending", "checkout", "check",
                "checks", "checked", "checking",
                "checkouts", "check-out", "check-outs", "return", "returns", "returned", "holder", "holders"},
    "workflow": {"status", "state", "approve", "approved", "reject", "rejected", "go", "goes", "went", "move", "moves",
                 "moved", "pass", "passes", "passed", "progress", "progresses", "progressed"},  # "go from A to B"
    "search": {"search", "find", "filter", "lookup"},
    "ratings": {"score", "scores", "scored", "scoring", "grade", "grades", "graded", "mark", "marks", "marked",
                "scale", "review", "reviews"},
    "live_board": {"live", "instantly", "real-time", "realtime"},
    "public_page": {"public", "publicly", "anyone", "qr", "qr-code", "link", "share", "shareable"},
    "export": {"csv", "pdf", "export", "download", "printable", "report", "reports"},
    "limit": {"seat", "seats", "hold", "holds", "take", "takes", "fit", "fits", "carry", "carries", "allow", "allows",
              "allowed", "capacity", "places", "spots", "need", "needs", "sleep", "sleeps", "accommodate",
              "accommodates", "host", "hosts", "get", "gets", "have", "has", "one", "single",  # "in any one race"
              "book", "books", "use", "uses"},  # "each band books at most 6 hours a week"
    "assignment": {"assign", "assigns", "assigned", "assigning", "assignment", "assignments", "double-booked",
                   "overlap", "overlapping", "clash", "my", "mine", "dispatch", "dispatched", "allocate", "allocated"},
    "trigger": {"when", "whenever", "automatically", "becomes", "reaches", "opens", "creates", "sets", "marks",
                "marked", "blocks", "notifies", "emails", "tells"},
    "agreement": set("""swap swaps swapped swapping trade trades traded trading transfer transfers transferred
                        transferring hand hands handed handing give gives gave giving pass passes passed passing exchange
                        exchanges exchanged request requests requested ask asks asked accept accepts accepted accepting
                        confirm confirms confirmed confirming agree agrees agreed agreement consent consents only other
                        another new both""".split()),
    "enrolment": {"sign", "signs", "signed", "signing", "up", "sign-up", "sign-ups", "signup", "signups", "enrol",
                  "enrols", "enrolled", "enrolling", "enroll", "enrolls", "enrolment", "enrollment", "register",
                  "registers", "registered", "rsvp", "rsvps", "join", "joins", "joined", "book", "books", "booked",
                  "reserve", "reserves", "take", "takes", "claim", "claims", "secure", "get", "gets", "grab", "buy",
                  "place", "places", "seat", "seats", "spot", "spots", "space", "spaces", "berth", "berths", "ticket",
                  "tickets", "volunteer", "cancel", "cancels", "own", "once", "full", "capacity", "holds", "carries"},
    "vote": {"vote", "votes", "voted", "voting", "voter", "voters", "up", "down", "upvote", "downvote", "rank",
             "ranks", "ranked", "ranking", "own", "nobody", "closes", "closed"},
    "document": {"pdf", "pdfs", "printable", "print", "printed", "sign", "signs", "signed", "signing", "off",
                 "sign-off", "signoff", "signature", "signatures", "countersigned", "line", "lines", "item", "items",
                 "itemised", "itemized", "total", "totals", "subtotal", "vat", "tax", "gst", "report", "reports",
                 "issue", "issues", "issued", "generate", "generates", "generated"},
    "import": {"import", "imports", "imported", "importing", "upload", "uploads", "uploaded", "csv", "json",
               "spreadsheet", "spreadsheets", "excel", "file", "files", "bulk", "batch", "row", "rows", "duplicate",
               "duplicates", "again", "twice"},
    "selection": {"accept", "accepts", "accepted", "accepting", "approve", "approves", "approved", "approving",
                  "confirm", "confirms", "confirmed", "confirming", "select", "selects", "selected", "selecting",
                  "choose", "chooses", "chosen", "choosing", "pick", "picks", "picked", "picking", "award", "awards",
                  "awarded", "awarding", "one"},
}


def _carries_number(cap, word: str) -> bool:
    """Whether `word` is a number one of the capability's parameters holds ("5" for a rating scale of 5, "14" for
    reminders 14 days after); a rating scale also holds its floor, 1 ("from 1 to 5")."""
    value = NUMBER_WORDS.get(word) if not word.replace(".", "", 1).isdigit() else float(word)
    if value is None:
        return False
    params = [v for k, v in cap.model_dump().items() if k not in ("id", "label") and isinstance(v, (int, float))
              and not isinstance(v, bool)]
    if cap.kind == "ratings":
        params.append(1)
    return any(float(v) == float(value) for v in params)


def _trigger_word(cap, word: str, spec) -> bool:
    """Whether `word` is the participle a trigger's condition stands for: of coming into being ("as soon as a report
    is written": a trigger on each new record) or of coming to an end ("when their result is decided": a trigger on
    the final states of the record's workflow)."""
    from .text import participle_of

    if cap.kind != "trigger":
        return False
    if cap.on == "create" and not cap.conditions:
        return participle_of(word, lx.MAKING_VERBS)
    wf = next((c for c in spec.capabilities if c.kind == "workflow" and c.entity == cap.entity), None)
    if wf is None or not participle_of(word, lx.ENDING_VERBS):
        return False
    final = {s for s in wf.states if not any(s in t.from_states for t in wf.transitions)} or set(wf.states[-1:])
    return any(c.field == wf.state_field and c.op == "in" and set(c.values) == final for c in cap.conditions)


def _cue_spans(text: str, kinds: list[str]) -> list[tuple[int, int, str]]:
    low = text.lower()
    out = []
    for kind in kinds:
        for pat in CUES.get(kind, ()):
            for m in re.finditer(rf"(?<![a-z0-9]){pat}(?![a-z0-9])", low):
                out.append((m.start(), m.end(), kind))
    return out


def _entity_for(word: str, nxt: str | None, prev: str | None, spec) -> str | None:
    s = singular(word)
    names = [e.name for e in spec.entities]
    if s in names:
        return s
    if "-" in s and s.replace("-", "_") in names:  # "copy-editor": the copy_editor record
        return s.replace("-", "_")
    if s in ("booking", "reservation"):  # "export the month's bookings": the booked record, whatever it is called
        booked = [c.entity for c in spec.capabilities if c.kind == "booking"]
        if len(set(booked)) == 1:
            return booked[0]
    for n in names:  # a compound name: "safety defects" -> safety_defect (both words present)
        parts = n.split("_")
        if len(parts) > 1 and s in parts:
            others = [p for p in parts if p != s]
            near = {singular(x) for x in (nxt, prev) if x}
            if any(o in near for o in others):
                return n
    near = {singular(x) for x in (nxt, prev) if x}
    for e in spec.entities:
        words = [singular(w) for w in re.findall(r"[a-z0-9]+", e.label.lower())]
        if words and words[-1] == s and len(words) == 1:
            return e.name
        if len(words) > 1 and s in words and near & (set(words) - {s}):  # "adverse events": the label's words
            return e.name
    heads = [e for e in spec.entities if "_" in e.name and singular(e.name.rsplit("_", 1)[1]) == s
             and e.name.rsplit("_", 1)[1] not in ("item", "listing")  # a reserved name's suffix is no noun
             and not any(f.type == "reference" and f.ref == e.name.rsplit("_", 1)[0] for f in e.fields)]
    if len(heads) == 1:  # "suggestions" when the only such record is the film suggestion (no child of a film)
        return heads[0].name
    return None


def _compound_field(word: str, nxt: str | None, prev: str | None, spec, prefer: list[str]) -> str | None:
    """ "deck capacity" when some record has a deck_capacity field: the field, not a record named deck."""
    s = singular(word)
    names = {f"{s}_{singular(nxt)}", f"{s}_{nxt}"} if nxt else set()
    names |= {f"{singular(prev)}_{s}", f"{prev}_{s}", f"{prev}_{word}"} if prev else set()
    order = [spec.entity(n) for n in prefer if spec.entity(n)] + [e for e in spec.entities if e.name not in prefer]
    for ent in order:
        for f in ent.fields:
            if f.name in names and f.type != "reference":
                return f"{ent.name}.{f.name}"
    return None


def _field_for(word: str, spec, prefer: list[str]) -> str | None:
    if "-" in word:  # "hook-up", "drop-off": both parts in one field's name
        parts_of = [singular(p) for p in word.split("-")]
        for ent in [spec.entity(n) for n in prefer if spec.entity(n)] + list(spec.entities):
            for f in ent.fields:
                names = [singular(p) for p in f.name.split("_")]
                if all(p in names for p in parts_of):
                    return f"{ent.name}.{f.name}"
    s = singular(word)
    order = [spec.entity(n) for n in prefer if spec.entity(n)] + [e for e in spec.entities if e.name not in prefer]
    for ent in order:
        for f in ent.fields:
            parts = [singular(p) for p in f.name.removesuffix("_id").split("_")]
            label = [singular(p) for p in re.findall(r"[a-z0-9]+", f.label.lower())]
            if s in parts or s in label or (f.type == "enum" and (word in f.values or any(
                    word in v.split("_") for v in f.values))):
                return f"{ent.name}.{f.name}"
    return None


def read_feature(text: str, spec, cap_ids: list[str]) -> FeatureReading:
    """The reading of one key feature against `spec`, where `cap_ids` are the capabilities planned for it."""
    caps = [c for c in spec.capabilities if c.id in cap_ids]
    kinds = list(dict.fromkeys(c.kind for c in caps))  # in the trace's order: the same reading in every process
    rules, spans = _rules(text, spec)
    effects = _effects(text, rules)
    cues = _cue_spans(text, kinds)
    for cap in caps:  # "checklist: nets checked, rings counted": the words of the items the checklist starts with
        for item in getattr(cap, "items", None) or [] if cap.kind == "checklist" else []:
            at = text.lower().find(item.lower())
            if at >= 0:
                cues.append((at, at + len(item), cap.kind))
    from .b_flow import money_range_match

    for cap in caps:  # "shares from £100 up to a maximum of £20,000", "a spending cap of £25": a field's range
        said = money_range_match(text.lower()) if cap.kind == "records" and getattr(cap, "bounds", None) else None
        if said:
            cues.append((said[2], said[3], cap.kind))
    from .rules import SUM_OF_TIME

    for cap in caps:  # "each band books at most 6 hours a week": the hours a limit sums over its period
        m = SUM_OF_TIME.search(text.lower()) if cap.kind == "limit" and getattr(cap, "sum_field", None) else None
        if m:
            cues.append((m.start(), m.end(), cap.kind))
    for cap in caps:  # "score each wheel for texture and flavour ... when it comes back": what a rating carries
        if cap.kind != "ratings":
            continue
        for said in [c.replace("_", " ") for c in cap.criteria] + [cap.opens_words or ""]:
            m = re.search(rf"(?<![a-z0-9]){re.escape(said.lower())}(?![a-z0-9])", text.lower()) if said else None
            if m:
                cues.append((m.start(), m.end(), cap.kind))
    ws = _words(text)
    uses: list[WordUse] = []
    mentioned: list[str] = []
    actors: list[str] = []
    attributes: list[str] = []
    links: list[str] = []
    action = None
    # "the daycare takes no more than 15 dogs a day": a limit over the whole app names the business, not a record
    opening = re.match(r"\s*(?:the|our)\s+([a-z][a-z'-]*)", text.lower())
    business = opening.group(1) if opening and any(c.kind == "limit" and getattr(c, "scope", "") == "app"
                                                   for c in caps) and spec.entity(singular(opening.group(1))) is None \
        else None
    from .scopes import _OF_OWN

    of_own = _OF_OWN.search(text.lower())
    for i, (w, s, e) in enumerate(ws):
        if w in FUNCTION_WORDS or w in ("$", "£", "€"):
            continue
        nxt = ws[i + 1][0] if i + 1 < len(ws) else None
        prev = ws[i - 1][0] if i else None
        rule = next((ri for a, b, ri in spans if a <= s and e <= b), None)
        if rule is not None:
            # a noun inside a rule phrase also names its record ("at most 3 books per student")
            uses.append(WordUse(word=w, maps_to=f"rule:{rule}"))
            ent = _entity_for(w, nxt, prev, spec)
            if ent and ent not in mentioned:
                mentioned.append(ent)
            continue
        cue = next((k for a, b, k in cues if a <= s and e <= b), None)
        if cue is None and w in ("falls", "fall", "comes", "come", "becomes") and nxt == "due":
            cue = next((c.kind for c in caps if c.kind == "reminders"), None)  # "its calibration falls due"
        if cue == "guard" and w in ("free", "charge", "charges", "cost", "fee", "fees", "penalty", "refund"):
            cue = None  # "cancel free of charge up to 12 hours before": a guard refuses; the money is another rule
        period_cap = None
        if cue is None:
            cue = next((c.kind for c in caps if w in KIND_WORDS.get(c.kind, ())), None)
        if cue is None:  # "rate from 1 to 5", "14 days overdue": a number a capability's own parameters carry
            cue = next((c.kind for c in caps if _carries_number(c, w)), None)
        if cue is None:  # "as soon as it is written", "once their result is decided": what a trigger waits for
            cue = next((c.kind for c in caps if _trigger_word(c, w, spec)), None)
        if cue is None:  # "weekly leaderboard", "15 dogs per day": the period a capability counts in
            period_cap = next((c for c in caps if _period_word(w) and getattr(c, "period", None) ==
                               _period_word(w)), None)
            cue = period_cap.kind if period_cap is not None else None
        if cue is not None:
            cap = period_cap or next(c for c in caps if c.kind == cue)
            ent = _entity_for(w, nxt, prev, spec)  # "when a load is heavier ...": the load is still named
            if ent and ent not in mentioned:
                mentioned.append(ent)
            uses.append(WordUse(word=w, maps_to=f"capability:{cap.id}"))
            action = action or verb_base(w)
            continue
        acted_on = {n for cap in caps for n in _cap_entities(cap)}
        scoped = next((r.name for r in spec.roles if r.read_own and set(r.read_own) & acted_on
                       and re.search(rf"\b(?:{re.escape(r.name.split('_')[-1])}s?|"
                                     rf"{re.escape(plural(r.name.split('_')[-1]))})\b", text.lower())), None)
        if scoped and (w in SCOPE_WORDS or (of_own and of_own.start("what") <= s and e <= of_own.end("whose"))):
            # "keepers see only their own hives": the keeper role reads its own; "the sitting history of their own
            # household": the rows that point at the household's own record, which that role reads
            uses.append(WordUse(word=w, maps_to=f"role:{scoped}"))
            continue
        if (singular(w) in {r.name for r in spec.roles} or (_people(w, spec) and spec.role(singular(w)))) and not (
                singular(w) in acted_on and _entity_for(w, nxt, prev, spec) == singular(w)):
            uses.append(WordUse(word=w, maps_to=f"role:{singular(w)}"))
            actors.append(singular(w))
            continue
        listed = next((c for c in caps if c.kind == "checklist"), None) if nxt in ("checklist", "checklists") else None
        if listed is not None and _entity_for(w, nxt, prev, spec) not in _cap_entities(listed) and not _people(w, spec):
            # "skills checklist per pupil: roundabouts, ...": the noun before "checklist" names what its items are
            uses.append(WordUse(word=w, maps_to=f"capability:{listed.id}"))
            continue
        if w in lx.GENERIC_PEOPLE and _entity_for(w, nxt, prev, spec) is None:
            # "people book a place": whoever uses the app; the person a capability records for them is who they are
            who = _acting_role(caps, spec)
            uses.append(WordUse(word=w, maps_to=f"role:{who}" if who else "app"))
            if who:
                actors.append(who)
            continue
        ent = _entity_for(w, nxt, prev, spec)
        both = _compound_field(w, nxt, prev, spec, mentioned + [c for cap in caps for c in _cap_entities(cap)])
        if both is not None and (ent is None or not ent.endswith(f"_{singular(nxt or '')}")):
            uses.append(WordUse(word=w, maps_to=f"field:{both}"))
            if both not in attributes:
                attributes.append(both)
            continue
        if ent is not None:
            uses.append(WordUse(word=w, maps_to=f"entity:{ent}"))
            if ent not in mentioned:
                mentioned.append(ent)
            continue
        last = uses[-1].maps_to if uses else ""
        if w in ("day", "days", "night", "nights", "evening", "evenings") and last.startswith("entity:") and (
                spec.entity(last[7:]) is not None) and prev and _entity_for(prev, w, None, spec) == last[7:]:
            # "a dig day", "the open night" (the record's noun right before): the event record's date
            day = next((f for f in spec.entity(last[7:]).fields if f.type in ("date", "datetime")), None)
            if day is not None:
                uses.append(WordUse(word=w, maps_to=f"field:{last[7:]}.{day.name}"))
                continue
        if w in ("date", "dates", "time", "times", "day") and last.startswith(("field:", "capability:")):
            if last.startswith("capability:"):  # "due date" after a reminder's "due": the date it watches
                cap_ = next((c for c in caps if c.id == last.split(":", 1)[1]), None)
                f_ = getattr(cap_, "field", None) or getattr(cap_, "start_field", None)
                last = f"field:{getattr(cap_, 'entity', '')}.{f_}" if isinstance(f_, str) else last
            e_, _, f_ = last[6:].partition(".")
            fs = spec.entity(e_).field(f_) if last.startswith("field:") and spec.entity(e_) else None
            if fs is not None and fs.type in ("date", "datetime"):
                uses.append(WordUse(word=w, maps_to=last))
                continue
        fld = _field_for(w, spec, mentioned + [c for cap in caps for c in _cap_entities(cap)])
        if fld is not None:
            uses.append(WordUse(word=w, maps_to=f"field:{fld}"))
            f = spec.entity(fld.split(".")[0]).field(fld.split(".")[1])
            if f.type == "reference":
                links.append(fld)
            elif fld not in attributes:
                attributes.append(fld)
            continue
        linked = {f"{e.name}.{f.name}": f.ref for c in caps for n in _cap_entities(c) if (e := spec.entity(n))
                  for f in e.fields if f.type == "reference"} if i >= 2 and uses and uses[-1].word == ws[i - 2][0] \
            and prev in ("it", "they", "he", "she", "we", "you") else {}
        kind_, _, name_ = uses[-1].maps_to.partition(":") if linked else ("", "", "")
        link = next((k for k, ref in linked.items() if (kind_ == "field" and k == name_) or (
            kind_ in ("entity", "role") and ref == name_)), None)
        if link is not None:  # "the pub it went to": the clause after a linked record says what the link is
            uses.append(WordUse(word=w, maps_to=f"field:{link}"))
            if link not in links:
                links.append(link)
            continue
        nxt2 = ws[i + 2][0] if i + 2 < len(ws) else None
        # "status per invoice", "readings per sampling point": kept on each record (a compound name's two words)
        per = w == "per" and nxt and (_entity_for(nxt, None, None, spec) or _entity_for(nxt, nxt2, None, spec))
        if per:
            uses.append(WordUse(word=w, maps_to=f"entity:{per}"))
            continue
        if w in RECORD_ACTIONS:
            base = verb_base(w) or w
            uses.append(WordUse(word=w, maps_to=f"action:{base}"))
            action = action or base
            continue
        if w in PAGE_WORDS:
            uses.append(WordUse(word=w, maps_to="page"))
            continue
        if w in APP_WORDS or w == business:
            uses.append(WordUse(word=w, maps_to="app"))
            continue
        uses.append(WordUse(word=w, maps_to="unread"))
    for i, u in enumerate(uses):  # "a yes/no DBS check": "yes" and "no" say the field after them is a yes/no
        if u.word in ("yes", "no", "yes-or-no", "yes/no") and u.maps_to == "unread":
            # ... and "heated yes/no", "released yes or no": so does the field right before them
            near = [v.maps_to for v in uses[i + 1:i + 4]] + [v.maps_to for v in reversed(uses[max(0, i - 3):i])
                                                              if v.word not in ("yes", "no", "or")][:1]
            for after in [m for m in near if m.startswith("field:")]:
                e_, _, f_ = after[6:].partition(".")
                fs = spec.entity(e_).field(f_) if spec.entity(e_) else None
                if fs is not None and fs.type == "boolean":
                    uses[i] = WordUse(word=u.word, maps_to=after)
                    break
    things = [m for m in mentioned if not _is_people(spec, m)]
    record = (things or mentioned or [None])[0]
    return FeatureReading(actors=list(dict.fromkeys(actors)), action=action, record=record,
                          attributes=attributes, links=links, rules=rules, effects=effects, words=uses)


def _acting_role(caps, spec) -> str | None:
    """The role a capability records as the person acting (an enrolment's student, a booking's member), if any."""
    for cap in caps:
        for attr in ("person_field", "party_field", "owner_field"):
            fname = getattr(cap, attr, None)
            ent = spec.entity(getattr(cap, "entity", "") or "")
            f = ent.field(fname) if ent is not None and isinstance(fname, str) else None
            if f is not None and f.ref and spec.role(f.ref) is not None:
                return f.ref
    return None


def _is_people(spec, name: str) -> bool:
    ent = spec.entity(name)
    return ent is not None and (singular(name.split("_")[-1]) in lx.PEOPLE or spec.role(name) is not None)


def _cap_entities(cap) -> list[str]:
    from ..criteria.certify import touched

    return touched(cap)
