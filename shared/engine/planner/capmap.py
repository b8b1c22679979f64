"""Key features -> capabilities with parameters (issue 11), read from the feature's own words.

`CUES` lists, per capability kind, the verbs and phrases that ask for it. `map_features` reads each key
feature, finds the kinds it asks for, and binds each to the idea's entities and fields (which entity is
booked, which date a reminder watches, who approves). A kind that cannot be bound, or that the library
does not have yet, leaves the feature `not_covered` with a reason a founder can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import lexicon as lx
from .b_agreement import b_agreement
from .b_assignment import b_assignment
from .b_document import b_document
from .b_import import b_import
from .b_trigger import b_trigger
from .b_vote import b_vote
from .draft import DEntity, Draft, Interp, clip, ident, interpret, is_event, safe_name
from .rules import b_limit, b_selection
from .text import parse, singular, verb_base, words_of

#: Nouns that name a booking itself (not what is booked), whatever the domain.
BOOKING_NOUNS = frozenset({"booking", "reservation", "appointment", "slot", "rental", "hire"})

#: kind -> regular expressions over the feature's lower-cased text (word boundaries added).
CUES: dict[str, tuple[str, ...]] = {
    "booking": (r"book(s|ed|ing|ings)?", r"reserv(e|es|ed|ing|ation|ations)", r"schedul(e|es|ed|ing)",
                r"availability", r"time ?slots?", r"appointments?", r"calendar"),
    "workflow": (r"approv(e|es|ed|al|als|ing)", r"requests?", r"sign(s|ed)?[- ]off", r"status(es)?", r"stages?",
                 r"from [a-z-]+ (to|through) [a-z-]+ (to|then) [a-z-]+", r"mov(e|es|ed|ing) (\w+ ){1,3}(from|through) ",
                 r"pipeline", r"review queue", r"queue", r"submit(s|ted)?", r"escalat\w*", r"reject\w*",
                 r"workflow", r"triage"),
    "ledger": (r"split(s|ting)?", r"owe[sd]?", r"who owes", r"settle[- ]?up", r"share[sd]? (the )?(costs?|bills?|"
               r"expenses?)", r"chip in", r"balances?", r"divide[sd]?"),
    "reminders": (r"remind\w*", r"alerts?", r"overdue", r"low[- ]stock", r"running low", r"below", r"thresholds?",
                  r"expir\w+", r"due soon", r"deadlines?", r"nudges?", r"warn\w*"),
    "audit_log": (r"audit(s|ed|ing|ors?|able|ability)?", r"history", r"custody (log|report|chain|trail)", r"chain of custody",
                  r"tamper\w*", r"change ?log", r"trail", r"who changed", r"append[- ]only"),
    "custody": (r"check(ed|s|ing)?[- ]?(out|in)", r"checkouts?", r"lend(s|ing)?", r"borrow\w*", r"loans?",
                r"sign(ed)?[- ]out", r"hand(ed)?[- ]over", r"who (has|holds)", r"custody", r"assign(s|ed)? "
                r"(equipment|tools?|kit|devices?|keys?|laptops?)", r"return(s|ed)?"),
    "live_board": (r"live", r"real[- ]?time", r"instantly", r"updates? instantly", r"wall display", r"status board",
                   r"dashboard updates?", r"without refresh\w*"),
    "search": (r"search\w*", r"find", r"look ?up", r"lookups?", r"filter(s|ed)? by"),
    "attachments": (r"upload\w*", r"attach\w*", r"photos?", r"images?", r"pictures?", r"scans?", r"pdfs?",
                    r"files?", r"documents?"),
    "public_page": (r"public", r"qr( codes?)?", r"menus?", r"share(able)? links?", r"publish\w*", r"embed\w*",
                    r"storefront", r"landing page", r"anyone can (see|view)"),
    "checklist": (r"check ?lists?", r"steps?", r"to-?dos?", r"tick(ed)? off", r"punch ?lists?", r"tasks? lists?"),
    "versioning": (r"drafts", r"draft (versions?|mode|history)", r"(save|saved|keep) (as )?drafts?", r"versions?", r"versioned", r"revisions?", r"revert\w*", r"roll ?back",
                   r"collaborative(ly)? (edit\w*|draft\w*|writ\w*)", r"track changes"),
    "ratings": (r"rat(e|es|ed|ing|ings)", r"stars?", r"reviews? (of|after|and ratings?|for)", r"(and|with) reviews?",
                r"feedback scores?", r"reviews"),
    "agreement": (r"agree(s|d|ing|ment|ments)?", r"consent(s|ed|ing)? to",
                  r"(with|needs?|requires?|without|until) (the )?(\w+('s|s')? )?consent",
                  r"on (their|someone'?s|his|her|another'?s) behalf",
                  r"(both|mutual(ly)?|the other \w+|the (new|receiving) \w+) (accept|agree|confirm|consent)\w*"),
    "vote": (r"up-?vot\w*", r"down-?vot\w*", r"vot(e|es|ed|ing)", r"thumbs (up|down)"),
    "leaderboard": (r"points? (for|per|when|on|and|each)", r"(earn|award|win|collect|get|score)\w* (\d+ )?points?",
                    r"leaderboards?", r"badges?", r"rankings?", r"top contributors?", r"gamif\w*",
                    r"streak leaderboard", r"score ?board"),
    "rotation": (r"rotas?", r"rotations?", r"rotate[sd]?", r"take turns?", r"turns", r"fair(ly)? (share|split|"
                 r"assign\w*)", r"swap(s|ped|ping)? (shifts?|turns?|dut(y|ies)|slots?|chores?)", r"round[- ]robin", r"duty roster", r"on[- ]call",
                 r"evenly assign\w*"),
    # taking money, not mentioning it: "pay online", "paid by card", "collect deposits" (not "unpaid fees")
    "payments": (r"pay(s|ing)?", r"paid (by|online|with|via|through|upfront|up front|in advance|ahead)",
                 r"by (credit |debit )?card", r"(card|online|stripe) payments?", r"payments? (by|online|via|through|"
                 r"with|portal)", r"checkout", r"check out and pay", r"subscriptions?", r"subscribe(?! to)",
                 r"payouts?", r"commission", r"stripe",
                 r"(keeps?|takes?|charges?|deducts?|adds?) (a |an )?(\S+ ){0,2}(fee|commission|surcharge|cut)s?",
                 r"(platform|service|booking|handling|card) (fee|surcharge|charge)s?", r"escrow\w*", r"sell\w*", r"donat\w+ online",
                 r"charge (a|the|their|his|her) (credit |debit )?cards?",
                 r"(take|takes|taking|accept|accepts|accepting|collect|collects|collecting|process|processes|"
                 r"processing|receive|receives|receiving) (\w+ ){0,2}(payments?|deposits?|fees?|rent|money|dues|subs|"
                 r"donations?)", r"tickets? sales?"),
    # a report as a document ("monthly report", "report as PDF"), not "incident reports" (records)
    "export": (r"export\w*", r"csv", r"pdf", r"(pdf|csv|printable|summary|weekly|monthly|yearly|annual|quarterly|"
               r"end[- ]of[- ]\w+) reports?", r"reports? (as|in) (a )?(pdf|csv)", r"download\w*",
               r"print(s|ed|ing|able|outs?)?", r"spreadsheets?",
               r"summary of", r"sales summary", r"weekly summary", r"monthly summary"),
    "ai_summary": (r"ai", r"a\.i\.", r"summari[sz]\w*", r"classif\w*", r"categori[sz]\w*", r"llm", r"gpt",
                   r"machine learning", r"auto[- ]?tag\w*", r"suggest\w*", r"predict\w*", r"generated? by", r"ai-\w+",
                   r"sentiment", r"transcrib\w*"),
    "matrix": (r"matrix", r"grid", r"cross[- ]reference\w*", r"\w+ (x|×|by) \w+ (table|view|chart)",
               r"computed from", r"derived from"),
    "assignment": (r"assign(s|ed|ing)? (\w+ ){1,3}to", r"allocat(e|es|ed|ing) (\w+ ){1,3}to",
                   r"double[- ]booked", r"dispatch(es|ed|ing)?", r"my (jobs|visits|shifts|tours|rounds)"),
    "trigger": (r"[a-z]+( un[a-z]+| not (yet )?[a-z]+ed| still [a-z]+)? (for )?(more than|over|after|older than|within|in) "
                r"(\d+|[a-z]+) (days?|weeks?|months?)( old)? (are |is |get |gets |become |becomes )?(automatically )?"
                r"([a-z]+(ed|en)|expires?|lapses?)\b",
                r"(when|whenever|once|as soon as|if)( a| an| the| its| their)? [a-z]+(['’]s)?( [a-z]+)? (is|are|becomes?|"
                r"reach(es)?|turns?|goes|gets|has|exceeds?|drops?|falls?|rises?|fails?|passes)\b[^.;]{0,60}?\b(automatic\w*|"
                r"creates?|opens?|raises?|sets?|marks?|flags?|blocks?|cannot|can't|may not|must not|notif\w*|e-?mails?|"
                r"alerts?|tells?|escalat\w*)",
                r"automatically (creates?|opens?|raises?|sets?|marks?|flags?|blocks?|notif\w*|alerts?|e-?mails?)",
                r"(all |any |the |their |its )?[a-z]+( [a-z]+)? (are|is|get|gets) [a-z]+(ed|en)( (to|for|as|into) "
                r"(the |a |an )?[a-z]+( [a-z]+)?)? (when|whenever|if|once)",
                r"(heavier|lighter|more|less|higher|lower|greater) than \d+[^.;]{0,40}\b(sets?|marks?|flags?|creates?|"
                r"opens?|notif\w*|alerts?|blocks?)"),
    "document": (r"pdfs?", r"printable", r"sign(s|ed|ing)?[- ]?off", r"signed by", r"signatures?", r"countersign\w*",
                 r"line[- ]items?", r"itemi[sz]ed",
                 r"(issue[sd]?|generat\w+|produc\w+|print\w*)(?= (an? |the |their |each )?(\w+ )?(invoices?|"
                 r"receipts?|certificates?|delivery notes?))"),
    "import": (r"import(s|ed|ing)?", r"bulk[- ]?(upload|import|add|load)\w*", r"(mass|batch)[- ]?(upload|import)\w*",
               r"upload\w* (a |an |the |their |our )?(csv|spreadsheet|excel|json)( files?)?",
               r"from (a |an |the |their |our )?(csv|spreadsheet|excel|json)s?( files?)?"),
    "follow": (r"follow(s|ed|ing|ers)?", r"subscribe to", r"watch ?lists?", r"notif\w+ when (a |an )?new",
               r"get notified", r"alert contacts", r"notify (me|members|users|subscribers|followers|contacts)",
               r"when (a |an )?new \w+ (is|are) (listed|posted|added|published)"),
}

#: A feature whose words name a list of records (and no behaviour) is the `records` kind.
RECORD_CUES = (r"lists?", r"director(y|ies)", r"records?", r"registers?", r"rosters?", r"library", r"catalog(ue)?",
               r"archive", r"database", r"profiles?", r"log", r"logs", r"track\w*", r"inventory", r"manage\w*",
               r"create\w*", r"add\w*", r"save\w*", r"store\w*", r"keep", r"with")

#: A reminder is planned only when the feature asks to be told: a date or a threshold alone is a field.
REMINDER_CUE = (r"(?<![a-z0-9])(remind\w*|alert\w*|notif\w*|warn\w*|overdue|nudg\w*|due(?! dates?)(?![a-z])|"
                r"low[- ]stock|running low|runs? (low|out)|e-?mails? (me|them|members|the)|texts? (me|them))"
                r"(?![a-z0-9])")

#: When two kinds match the same words, the first listed wins and the other is dropped.
EXCLUSIVE = (
    ("agreement", "rotation", r"accept\w*|agree\w*|consent\w*|confirm\w*"),
    ("agreement", "workflow", r"accept\w*|agree\w*|consent\w*|confirm\w*"),
    ("vote", "leaderboard", r"vot\w*"),
    ("vote", "limit", r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten) (up-?|down-?)?votes?\b"),
    ("document", "export", r"line[- ]items?|sign|invoice|receipt|certificate|delivery note|vat|gst|tax"),
    ("export", "document", r"^(?!.*(line[- ]items?|sign|invoice|receipt|certificate|delivery note|vat|gst|tax))"),
    ("document", "workflow", r"pdfs?|certificates?|invoices?|receipts?|delivery notes?|reports?|printable|"
                             r"line[- ]items?"),
    ("workflow", "document", r"^(?!.*(pdfs?|certificates?|invoices?|receipts?|delivery notes?|reports?|printable|"
                             r"line[- ]items?))"),
    ("follow", "reminders", r"alert contacts|notif\w+ when (a |an )?new|get notified|follow\w*"),
    ("workflow", "ratings", r"review queue"),
    ("ai_summary", "export", r"summar"),
    ("custody", "booking", r"check(ed|s|ing)?[- ]?(out|in)|lend|borrow"),
    ("ledger", "payments", r"split|owe|settle|balance"),
    ("reminders", "workflow", r"overdue|low[- ]stock"),
    ("audit_log", "custody", r"custody (log|report|chain|trail)|chain of custody"),
    ("public_page", "attachments", r"menu"),
    ("workflow", "payments", r"payment status|paid status|status of (each |the )?payments?"),
    ("payments", "workflow", r"pay"),
    ("rotation", "booking", r"rota|rotation|turns|swap"),
    ("search", "booking", r"search|find"),
    ("checklist", "workflow", r"check ?list|steps"),
    ("versioning", "workflow", r"draft|version|revision"),
    ("export", "attachments", r"export\w*|download\w*|(pdf|csv) reports?|reports? (as|in) (a )?pdf"),
    ("attachments", "export", r"^(?!.*(export|download|print|report))"),  # "upload contracts as PDF"
    ("export", "audit_log", r"^(?!.*(tamper|audit|append|immutable|who changed|chain-of-custody|chain of custody))"),
    ("live_board", "workflow", r"status board|live status|board of"),
    ("workflow", "booking", r"from [a-z-]+ (to|through) [a-z-]+ (to|then) [a-z-]+"),  # "... to scheduled to fixed"
    ("rotation", "workflow", r"swap\w*"),
    ("selection", "workflow", r"declin\w*|reject\w* (all )?the others|the others|the rest|every other|all other"),
    ("rotation", "assignment", r"rota|rotation|turns|round[- ]robin|fair\w*|evenly"),
    ("custody", "assignment", r"equipment|tools?|kit|devices?|keys?|laptops?"),
    ("custody", "limit", r"at a time|at once|at the same time"),  # "borrow at most three copies at a time"
    ("import", "attachments", r"csv|spreadsheet|excel|json|import|bulk"),
    ("import", "export", r"^(?!.*(export|download|print|report))"),
    ("import", "limit", r"(rows?|lines?)\b"),
)

BEHAVIOUR = {
    "records": "records with the fields the feature names",
    "booking": "booking with refused double bookings",
    "workflow": "an approval workflow",
    "ledger": "cost splitting with balances",
    "reminders": "reminders and alerts",
    "audit_log": "a tamper-evident audit trail",
    "custody": "check-out and check-in",
    "live_board": "a live board",
    "search": "full-text search",
    "attachments": "file uploads",
    "public_page": "a public page with a QR code",
    "checklist": "checklists",
    "versioning": "versioned drafts",
    "ratings": "ratings and reviews",
    "leaderboard": "points and a leaderboard",
    "rotation": "a fair rota with swaps",
    "payments": "card payments",
    "export": "CSV and PDF export",
    "ai_summary": "AI summaries or classification",
    "matrix": "a derived matrix",
    "follow": "follow and notify",
    "limit": "a limit on how many records (or how much of a number field) one record may have, optionally per day, "
             "week or month",
    "selection": "choosing one record among its siblings, which declines the others",
    "assignment": "assigning people to records for a time window without overlaps",
    "import": "bulk import from a CSV or JSON file with a per-row report, safe to run again",
    "agreement": "a change that takes effect only when the other person agrees",
    "vote": "up- or down-votes on records, one per person, and a list ranked by net score",
    "document": "a PDF of a record and its lines (totals, tax), optionally signed off by a named role",
    "trigger": "something done by itself when a record reaches a value or crosses a number: a record created, a "
               "field set, a change blocked or someone told",
}


DEnt0 = DEntity("", "")  # stands in for a record the draft does not have


class NotFit(Exception):
    """The feature asks for a kind but the idea lacks what it needs; the message is for the founder."""


def _has(text: str, pattern: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])", text) is not None


def kinds_for(text: str) -> list[tuple[str, str]]:
    """[(kind, the words that asked for it)] in the order the words appear."""
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    found: list[tuple[int, str, str]] = []
    for kind, pats in CUES.items():
        best = None
        for pat in pats:
            m = re.search(rf"(?<![a-z0-9]){pat}(?![a-z0-9])", low)
            if m and (best is None or m.start() < best.start()):
                best = m
        if best:
            found.append((best.start(), kind, best.group(0).strip()))
    from .rules import stated_exclusivity, stated_limits

    for rule in stated_limits(text)[:1]:  # "at most 3 loans per student", "up to their capacity"
        found.append((max(0, low.find(rule.words.lower())), "limit", rule.words))
    for rule in stated_exclusivity(text)[:1]:  # "accepting one quote declines the others"
        double = re.search(r"double[- ]?book", rule.words.lower())  # "without double bookings": a booking's rule
        found.append((max(0, low.find(rule.words.lower())), "booking" if double else "selection", rule.words))
    kinds = {k for _p, k, _w in found}
    double_booked = any(k == "booking" and re.search(r"double[- ]?book", w.lower()) for _p, k, w in found)
    if "booking" in kinds:
        word = next(w for _p, k, w in found if k == "booking")
        verb = {"book": "book", "books": "book", "booked": "book", "schedule": "schedule",
                "schedules": "schedule", "scheduled": "schedule"}.get(word)
        # "book"/"schedule" name the kind as verbs ("book a room"), not as nouns or states ("propose books",
        # "a payment schedule", "from inquiry to booked")
        calendar = verb == "schedule" and re.search(r"\b(view|calendar|per|daily|weekly|availability)\b", low)
        if verb and not calendar and not double_booked and not any(w.tag == "verb" and w.s == verb
                                                                   for c in parse(text) for w in c.words):
            kinds.discard("booking")
        # "export bookings as CSV", "approve room bookings": the bookings are the records another behaviour
        # acts on; only an overlap, a calendar or free slots ask for the booking behaviour itself
        if word in ("booking", "bookings", "reservation", "reservations") and len(kinds) > 1 and not re.search(
                r"double-booking|double|overlap\w*|clash\w*|calendar|availability|slots?|book(s|ed)?\b", low):
            kinds.discard("booking")
    if "reminders" in kinds and not re.search(REMINDER_CUE, low):
        kinds.discard("reminders")  # "log donations with expiry dates" keeps dates; an alert needs asking for
    from .rules import stated_recipients

    if "reminders" not in kinds and stated_recipients(text) and re.search(
            r"(?<![a-z])(before|ahead|due|overdue|expir\w*|late|deadline)(?![a-z])", low):
        # "text the parents the day before each match": someone is told, ahead of a date
        found.append((0, "reminders", "told before a date"))
        kinds.add("reminders")
    for winner, loser, pat in EXCLUSIVE:
        if winner in kinds and loser in kinds and re.search(rf"(?<![a-z0-9])(?:{pat})", low):
            kinds.discard(loser)
    return [(k, w) for _p, k, w in sorted(found) if k in kinds]


@dataclass
class FeatureCtx:
    draft: Draft
    text: str
    index: int
    words: set[str]
    interps: list[Interp]
    mentioned: list[str] = field(default_factory=list)  # entities named in the feature, in order
    people: list[str] = field(default_factory=list)  # people nouns named in the feature
    explicit: bool = False  # the feature names a record itself (not only through the previous feature)

    @property
    def low(self) -> str:
        return " " + re.sub(r"\s+", " ", self.text.lower()) + " "

    def has(self, pattern: str) -> bool:
        return _has(self.low, pattern)

    def number(self, pattern: str) -> float | None:
        m = re.search(pattern, self.low)
        return float(m.group(1)) if m else None


def feature_ctx(d: Draft, index: int, text: str, focus: str | None) -> FeatureCtx:
    interps = [it for c in parse(text) for np in c.nps if (it := interpret(np)) is not None]
    ctx = FeatureCtx(d, text, index, words_of(text), interps)
    for it in interps:
        names = [it.name] + [m.s for m in it.mods]
        for n in names:
            n = safe_name(n)
            if n in d.entities and n not in ctx.mentioned:
                ctx.mentioned.append(n)
        for w in [it.head, *it.mods]:
            if w is not None and w.tag == "people" and w.s not in ctx.people:
                ctx.people.append(w.s)
    ctx.explicit = any(m != d.fallback for m in ctx.mentioned)
    for e in d.entities:  # an owner of a field this feature added counts as named by it
        if e not in ctx.mentioned and any(f.source == clip(text) and f.type != "reference"
                                          for f in d.entities[e].fields.values()):
            ctx.mentioned.append(e)
    if not ctx.mentioned and focus:
        ctx.mentioned.append(focus)
    return ctx


def _main(ctx: FeatureCtx, prefer_things: bool = True) -> str:
    d = ctx.draft
    if d.defined.get(ctx.index) in d.entities:  # "Participants with study code, site and enrolment date"
        return d.defined[ctx.index]
    things = [m for m in ctx.mentioned if not d.entities[m].people and not d.entities[m].join]
    if prefer_things and things:
        # the record the feature acts on (its verb's object), not the grouping ("per team") it names
        objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb
                   and safe_name(it.name) in things]
        if objects:
            return objects[0]
        grouped = {safe_name(it.name) for it in ctx.interps if it.np and (it.np.prep == "per" or it.np.each)}
        first = [t for t in things if t not in grouped]
        return (first or things)[0]
    if ctx.mentioned:
        return ctx.mentioned[0]
    primary = next((e.name for e in d.entities.values() if not e.join and not e.people), None)
    if primary is None:
        primary = next(iter(d.entities))
    return primary


def _src(ctx: FeatureCtx) -> str:
    return clip(ctx.text)


def _people_entity(ctx: FeatureCtx, create: bool = True, exclude: tuple[str, ...] = ()) -> str | None:
    d = ctx.draft
    for m in ctx.mentioned:
        if d.entities[m].people and m not in exclude:
            return m
    for p in ctx.people:
        n = safe_name(p)
        if n in exclude or p == "owner":
            continue
        if n in d.entities:
            return n
        if create:
            e = d.add_entity(n, ctx.text, people=True)
            d.add_field(e.name, "name", "text", ctx.text, origin="structure", required=True)
            return e.name
    for e in d.entities.values():
        if e.people and e.name not in exclude:
            return e.name
    if create:  # the idea's people are users only ("members book machines"): keep them as records too
        role = next((r for r in d.roles.values() if r.kind == "participant" and r.name not in exclude), None)
        if role is not None:
            e = d.add_entity(role.name, role.source, people=True)
            d.add_field(e.name, "name", "text", role.source, origin="structure", required=True)
            return e.name
    return None


def _field_named(ctx: FeatureCtx, ent: str, types: tuple[str, ...]) -> str | None:
    """A field of `ent` of one of `types` that the feature's words name (or that this feature added)."""
    fields = ctx.draft.fields_of(ent, *types)
    for f in fields:
        if f.source == _src(ctx) or all(p in ctx.words for p in f.name.split("_")):
            return f.name
    for f in fields:
        if any(p in ctx.words for p in f.name.split("_") if len(p) > 2):
            return f.name
    return None


def _ensure(ctx: FeatureCtx, ent: str, name: str, ftype: str, **kw) -> str:
    f = ctx.draft.add_field(ent, name, ftype, _src(ctx), origin="capability", **kw)
    if f is None:
        raise NotFit(f"the {label_of(ent)} record already has the most fields an entity may have")
    if f.type != ftype and not (ftype in ("integer", "decimal", "money") and f.type in ("integer", "decimal",
                                                                                        "money")):
        raise NotFit(f"{label_of(ent)}.{f.name} is a {f.type} field, not a {ftype} one")
    return f.name


def label_of(name: str) -> str:
    return name.replace("_", " ")


# ------------------------------------------------------------------ one builder per kind


def b_records(ctx: FeatureCtx) -> dict:
    listed = [safe_name(it.name) for it in ctx.interps if it.np and it.np.head is not None
              and it.np.head.tag == "container" and it.kind != "container" and safe_name(it.name) in ctx.draft.entities]
    ent = listed[0] if listed else _main(ctx)  # "Tenant directory with lease dates": the tenants
    d = ctx.draft
    named = [f.name for f in d.fields_of(ent) if f.source == _src(ctx) or
             (f.origin != "catalogue" and all(p in ctx.words for p in f.name.split("_")))]
    filters = [n for n in named if d.entities[ent].fields[n].type in ("enum", "reference", "boolean", "date")]
    return {"entity": ent, "fields": named, "filters": filters}


def b_booking(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    booked: str | None = None
    resource: str | None = None
    for it in ctx.interps:
        if it.np and it.np.after_verb in ("book", "reserve", "schedule", "rent", "hire") and it.np.prep is None:
            if it.kind == "attr":  # "book rental dates": the modifier is the event
                ev = next((m.s for m in it.mods if m.tag == "noun"), None)
                if ev:
                    booked = safe_name(ev)
                    if booked not in d.entities:
                        d.add_entity(booked, ctx.text)
                continue
            booked = safe_name(it.name)
            mods = [safe_name(m.s) for m in it.mods if safe_name(m.s) in d.entities]
            if mods and is_event(booked, it.head):  # "kiln firings": the kiln; not "studio rooms" (rooms are booked)
                resource = mods[-1]
            break
    event = next((it for it in ctx.interps if it.np and it.np.prep == "for" and it.kind == "thing"
                  and it.np.after_verb in ("book", "reserve", "schedule", "rent", "hire")
                  and safe_name(it.name) != booked), None)
    if booked is not None and resource is None and event is not None and not d.entities.get(booked, DEnt0).people:
        if is_event(booked):  # "book lessons for a tutor": the lessons are booked, the tutor's time is the resource
            resource = safe_name(event.name)
            if resource not in d.entities:
                d.add_entity(resource, ctx.text)
        else:
            resource, booked = booked, safe_name(event.name)  # "book a kiln for a firing": the firing is booked
        if booked not in d.entities:
            d.add_entity(booked, ctx.text)
    if booked is None and d.planned.get("booking"):  # "daily schedule view": the booking planned already
        return dict(d.planned["booking"][0])
    if booked is None:
        booked = _main(ctx, prefer_things=True)
    if booked not in d.entities:
        d.add_entity(booked, ctx.text)
    # "firings", "bookings": a verb's -ing is an event; "mooring", "building", "clothing" are things
    event_like = is_event(booked) or (booked.endswith("ing") and verb_base(booked) is not None) or resource is not None
    if not event_like:
        resource = booked
        # "reserve a boat ... export reservations": the idea already names its bookings; else make the record
        named = next((e for e in ctx.mentioned + list(d.entities) if e in BOOKING_NOUNS and e != resource
                      and e in d.entities and not d.entities[e].people and not d.entities[e].join), None)
        booked = named or safe_name(f"{resource}_booking")
        if booked not in d.entities:
            d.add_entity(booked, ctx.text)
    if resource is None:
        bookers = {safe_name(p) for c in parse(ctx.text) for p in c.subject_people}
        refs = [r for r in d.refs(booked) if not d.entities[r].join]
        named = [m for m in ctx.mentioned if m != booked]
        others = [e.name for e in d.entities.values() if e.name != booked and not e.join
                  and booked not in d.refs(e.name)]
        ranked = ([r for r in refs if not d.entities[r].people] + [m for m in named if not d.entities[m].people]
                  + [r for r in refs if r not in bookers] + [m for m in named if m not in bookers]
                  + [o for o in others if not d.entities[o].people]
                  + [o for o in others if o not in bookers and o in d.roles])
        resource = ranked[0] if ranked else None
        if resource is None:  # "members book classes": the class itself is what is booked
            resource = booked
            booked = safe_name(f"{resource}_booking")
            d.add_entity(booked, ctx.text)
    if resource is None or resource == booked:
        raise NotFit("booking needs something to book (a room, a kiln, a person's time) and the idea does not "
                     "name one")
    if not d.add_ref(booked, resource, ctx.text, required=True) and f"{resource}_id" not in d.entities[booked].fields:
        raise NotFit(f"{label_of(resource)} already points at {label_of(booked)}, so it cannot also be booked by it")
    d.entities[booked].fields[f"{resource}_id"].required = True
    start = _ensure(ctx, booked, "start_at", "datetime", required=True)
    end = _ensure(ctx, booked, "end_at", "datetime", required=True)
    return {"entity": booked, "resource": resource, "resource_field": f"{resource}_id", "start_field": start,
            "end_field": end}


def _state_values(ctx: FeatureCtx) -> list[str]:
    """Named states in the feature or the description: "(draft, submitted, approved)", "from A to B"."""
    for text in (ctx.text, str(ctx.draft.idea.get("description") or "")):
        low = text.lower()
        m = re.search(r"\(([a-z][a-z \-]*(?:\s*(?:,|/|->|→|or|and)\s*[a-z][a-z \-]*){1,7})\)", low)
        if not m:
            m = re.search(r"(?:status|stage|state)s?\s*(?:is|are|:|of|as|from)\s*([a-z][a-z \-]*(?:\s*(?:,|/|->|→|"
                          r"or|and|to)\s*[a-z][a-z \-]*){1,7})", low)
        if not m:
            m = re.search(r"\bfrom\s+([a-z][a-z\-]*(?:\s+to\s+[a-z][a-z\-]*){1,6})", low)
        if m:
            parts = re.split(r"\s*(?:,|/|->|→|\bor\b|\band\b|\bto\b)\s*", m.group(1))
            vals = [ident(p.strip())[:30] for p in parts if p.strip() and len(p.split()) <= 2]
            vals = [v for v in dict.fromkeys(vals) if v and v not in ("the", "a", "an")]
            if 2 <= len(vals) <= 8:
                return vals
    return []


def _approvers(ctx: FeatureCtx) -> list[str]:
    d = ctx.draft
    askers = {safe_name(p) for c in parse(ctx.text) for p in c.subject_people
              if set(c.verbs) & {"submit", "request", "create", "add", "upload", "book", "send", "apply", "post"}}
    named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles and safe_name(p) not in askers]
    staff = [r.name for r in d.roles.values() if r.kind == "staff"]
    return named or staff or ["owner"]


def b_workflow(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx, prefer_things=True)
    if d.entities[ent].people and len(d.entities) > 1:
        others = [m for m in ctx.mentioned if not d.entities[m].people]
        ent = others[0] if others else ent
    approval = ctx.has(r"approv\w*|sign(s|ed)?[- ]off|request\w*|reject\w*|submit\w*")
    existing = next((f for f in d.fields_of(ent, "enum") if f.name.split("_")[-1] in ("status", "stage", "state",
                                                                                    "phase", "result")), None)
    values = _state_values(ctx)
    if not values:
        if approval:
            values = ["submitted", "approved", "rejected"]
        elif existing is not None:
            values = list(existing.values)
        elif ctx.has(r"review queue|queue|flagged|triage"):
            values = ["pending", "reviewed", "dismissed"]
        else:
            values = list(lx.ENUM_DEFAULTS["status"])
    fname = existing.name if existing is not None else "status"
    f = d.add_field(ent, fname, "enum", ctx.text, origin="capability", values=values)
    if f is None or f.type != "enum":
        raise NotFit(f"the {label_of(ent)} record has no room for a status field")
    if set(values) - set(f.values):
        f.values = list(dict.fromkeys(values + [v for v in f.values if v not in values]))
    states = list(f.values)
    f.default = states[0]
    approvers = _approvers(ctx)
    for a in approvers:  # who approves (or, as staff, moves) records works on everyone's, not only their own
        if a in d.roles and d.roles[a].kind != "staff" and (approval or a in lx.STAFF_PEOPLE | lx.OVERSIGHT_PEOPLE):
            d.roles[a].kind = "staff"
    writers = ["owner"] + [r.name for r in d.roles.values() if r.kind in ("staff", "participant")]
    movers = [a for a in approvers if a != "owner"]
    transitions = []
    if approval and {"approved", "rejected"} <= set(states):
        first = states[0]
        transitions.append({"name": "approve", "from_states": [first], "to": "approved", "roles": approvers})
        transitions.append({"name": "reject", "from_states": [first], "to": "rejected", "roles": approvers})
        transitions.append({"name": "resubmit", "from_states": ["rejected"], "to": first,
                            "roles": list(dict.fromkeys(writers))})
    else:
        # "coordinators move incidents from A to B": those named move them; otherwise whoever writes
        roles = approvers if approval or movers else list(dict.fromkeys(writers))
        for a, b in zip(states, states[1:], strict=False):
            transitions.append({"name": ident(f"to_{b}")[:40], "from_states": [a], "to": b, "roles": roles})
    return {"entity": ent, "state_field": f.name, "states": states, "initial": states[0],
            "transitions": transitions}


def b_ledger(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    charge = None
    amount = None
    for ent in ctx.mentioned + [e for e in d.entities if e not in ctx.mentioned]:
        if d.entities[ent].people:
            continue
        name = _field_named(ctx, ent, ("money",))
        if name:
            charge, amount = ent, name
            break
    if charge is None and d.planned.get("ledger"):  # "settle up balances": the ledger planned already
        return dict(d.planned["ledger"][0])
    if charge is None:
        charge = _main(ctx)
        if d.entities[charge].people:
            charge = next((e for e in d.entities if not d.entities[e].people), charge)
        amount = _ensure(ctx, charge, "amount", "money", required=True)
    # "among the households who joined": whoever the costs are split among, person word or not
    among = next((safe_name(it.name) for it in ctx.interps if it.np and it.np.prep in ("among", "amongst", "between")
                  and it.kind in ("thing", "people") and safe_name(it.name) != charge), None)
    if among is not None and among not in d.entities:
        d.add_entity(among, ctx.text, people=True)
        d.add_field(among, "name", "text", ctx.text, origin="structure", required=True)
    participant = among or _people_entity(ctx, create=True)
    if participant is None:
        raise NotFit("splitting costs needs the people who share them, and the idea names none")
    split = "equal"
    weight = None
    if ctx.has(r"by (usage|use)|usage|how much each (uses|used)"):
        split = "usage"
    elif ctx.has(r"by (weight|share|shares|percentage|ratio)|weighted|proportional\w*"):
        split = "weight"
        weight = _ensure(ctx, participant, "share", "decimal", min=0)
    return {"charge_entity": charge, "amount_field": amount, "participant_entity": participant,
            "weight_field": weight, "default_split": split}


NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": 30, "a": 1, "an": 1, "a couple of": 2, "a few": 3, "several": 3})
_TENS = {"twenty": 20, "thirty": 30}


def with_digits(text: str) -> str:
    """Number words as digits: "two days" -> "2 days", "twenty-one days" -> "21 days"."""
    def compound(m: re.Match) -> str:
        return str(_TENS[m.group(1)] + NUMBER_WORDS[m.group(2)])

    text = re.sub(r"\ba fortnight\b|\bfortnight\b", "2 weeks", text)
    text = re.sub(r"\b(twenty|thirty)[- ](one|two|three|four|five|six|seven|eight|nine)\b", compound, text)
    words = sorted(NUMBER_WORDS, key=len, reverse=True)
    pat = r"\b(" + "|".join(re.escape(w) for w in words) + r")\s+(days?|weeks?|months?|hours?|fortnights?)\b"
    return re.sub(pat, lambda m: f"{NUMBER_WORDS[m.group(1)]} {m.group(2)}", text)


def _days(ctx: FeatureCtx, default: int) -> int:
    low = with_digits(ctx.low)
    for pat, factor in ((r"(\d+)\s*(?:days?|d)\b", 1.0), (r"(\d+)\s*weeks?\b", 7.0), (r"(\d+)\s*months?\b", 30.0),
                        (r"(\d+)\s*(?:hours?|hrs?|h)\b", 1 / 24)):
        m = re.search(pat, low)
        if m:
            return int(min(365, max(1 if factor < 1 else 0, -(-float(m.group(1)) * factor // 1))))
    if ctx.has(r"(the )?day before|tomorrow"):
        return 1
    if ctx.has(r"(a|the) week before|next week"):
        return 7
    return default


def _dated_by_words(ctx: FeatureCtx) -> str | None:
    """The record whose date field the feature's words name ("expiry alerts" -> donation.expiry_date)."""
    d = ctx.draft
    for e in ctx.mentioned + [x for x in d.entities if x not in ctx.mentioned]:
        for f in d.fields_of(e, "date", "datetime"):
            if f.origin == "catalogue" and e not in ctx.mentioned:
                continue
            if any(p in ctx.words for p in f.name.split("_") if len(p) > 3 and p not in ("date", "time")):
                return e
    return None


#: words that name a check-out itself, not a thing kept ("a loan is overdue", "late returns"): its names in the
#: lexicon ("loans", "check-outs") and what else speaks of one ("returns", "items lent")
_CHECKOUT_NOUNS = "|".join([*(n.replace(" ", "[- ]?") + "s?" for n in lx.CHECKOUT_NOUNS), r"returns?",
                            r"items? (borrowed|lent|checked out)"])


def _custody_reminder(ctx: FeatureCtx) -> dict | None:
    """ "Email borrowers when a loan is 7 days overdue": with check-outs planned, the reminder watches their due
    time and goes to the holder (a holder record's address, or the holding user's login email)."""
    d = ctx.draft
    if not d.planned.get("custody") or not ctx.has(r"overdue|late|past due|unreturned|not (been )?returned"):
        return None
    items = [c["item_entity"] for c in d.planned["custody"]]
    if not (ctx.has(_CHECKOUT_NOUNS) or any(i in ctx.mentioned for i in items) or (
            not ctx.mentioned and len(items) == 1)):  # "overdue reminders by email" after "lend scores to singers"
        return None
    custody = next((c for c in d.planned["custody"] if c["item_entity"] in ctx.mentioned), d.planned["custody"][0])
    channel = "sms" if ctx.has(r"sms|texts?|text messages?|phone") else "email"
    holder = custody.get("holder_entity")
    want = "phone" if channel == "sms" else "email"
    recipient = None
    if holder:
        recipient = next((f.name for f in d.fields_of(holder, want)), None) or _ensure(ctx, holder, want, want)
    elif channel == "sms":
        return None  # a login has no phone number
    late = re.search(r"\b(?:more than |over |at least )?(\d+|[a-z]+) days? (?:overdue|late|past due)\b|\b(?:overdue|late) "
                     r"(?:by |for )(?:more than |over )?(\d+|[a-z]+) days?\b", ctx.low)
    # the words may name someone else ("email the librarian"): the reminder still goes to the holder, and the
    # certification says the named recipient is not the one told
    return {"custody": cap_id("custody", custody), "entity": custody["item_entity"], "field": "due_at",
            "rule": "overdue", "days": (_days_word(late.group(1) or late.group(2)) if late else None) or 0,
            "channel": channel, "recipient_field": recipient}


def b_reminders(ctx: FeatureCtx) -> dict:
    from .rules import stated_recipients

    d = ctx.draft
    held = _custody_reminder(ctx)
    if held is not None:
        return held
    ent = _main(ctx)
    told = [safe_name(n) for n in stated_recipients(ctx.text) if n not in ("me", "us", "everyone")]
    if told and ent == told[0]:  # "text the owner two days before a booked visit": the visit is reminded of
        ent = next((m for m in ctx.mentioned if m != ent and d.fields_of(m, "date", "datetime")), ent)
    before = re.search(r"\bbefore (?:a|an|each|every|the|their|its|his|her) (?:booked |next |scheduled |upcoming )?"
                       r"([a-z]+)", ctx.text.lower())
    if before and safe_name(singular(before.group(1))) in d.entities:  # "... before a booked visit": the visit
        ent = safe_name(singular(before.group(1)))
    if not ctx.explicit or not _field_named(ctx, ent, ("date", "datetime", "integer", "decimal", "money")):
        ent = _dated_by_words(ctx) or ent
    channel = "sms" if ctx.has(r"sms|texts?|text messages?|phone") else "email"
    if ctx.has(r"above|exceeds?|over -?\d+|higher than|more than|rises?") and not ctx.has(
            r"\d+ days? (overdue|late)|(more than|over) \w+ days? (overdue|late)"):
        raise NotFit("the reminders capability alerts when a number falls below a threshold or a date comes "
                     "due, not when a number rises above a limit")
    if ctx.has(r"low[- ]stock|running low|runs? (out|low)|below|falls?|thresholds?|minimum|under \d+"):
        numeric = _field_named(ctx, ent, ("integer", "decimal", "money"))
        if numeric is None:
            for e in ctx.mentioned + list(d.entities):
                cand = next((f.name for f in d.fields_of(e, "integer", "decimal")
                             if re.search(r"stock|quantity|level|count|left|remaining|supply", f.name)), None)
                if cand:
                    ent, numeric = e, cand
                    break
        if numeric is None:
            numeric = _ensure(ctx, ent, "quantity", "integer", min=0)
        thr = ctx.number(r"(?:below|under|less than|fewer than|at)\s+(-?\d+(?:\.\d+)?)")
        rule, fld, days, threshold = "below_threshold", numeric, None, thr if thr is not None else 5.0
    else:
        dates = [f.name for f in d.fields_of(ent, "date", "datetime")]
        named = _field_named(ctx, ent, ("date", "datetime"))
        overdue = ctx.has(r"overdue|late|past due|unpaid|missed|expired")
        if overdue:
            fld = named or next((n for n in dates if re.search(r"due|end|until|deadline|return|expir", n)), None)
            fld = fld or _ensure(ctx, ent, "due_date", "date")
            late = re.search(r"\b(?:more than |over |at least )?(\d+|[a-z]+) days? (?:overdue|late|past due|unpaid|"
                             r"unreturned)\b|\b(?:overdue|late|unpaid|unreturned) (?:by |for )(?:more than |over )?"
                             r"(\d+|[a-z]+) days?\b", ctx.low)
            grace = _days_word(late.group(1) or late.group(2)) if late else None
            rule, days, threshold = "overdue", grace, None
        else:
            fld = named or next((n for n in dates if re.search(r"start|due|date|at|on", n)), None)
            if not fld and not dates and is_event(ent) and ctx.has(r"before (a|an|each|every|the|their) \w+"):
                fld = _ensure(ctx, ent, "start_at", "datetime")  # "two hours before a walk": when it starts
            fld = fld or (dates[0] if dates else None) or _ensure(ctx, ent, "due_date", "date")
            rule, days, threshold = "due_in_days", _days(ctx, 1), None
    want = "phone" if channel == "sms" else "email"
    named = told
    path = _recipient_path(ctx, ent, named[0], want) if named else None
    if path:  # "email the translator ...": the translator linked to the job, by their own address
        recipient = path
    elif named:  # "text the parents", "email reminders to owners": the person the words name, by their contact
        recipient = next((f.name for f in d.fields_of(ent, want) if named[0] in f.name.split("_")), None) or \
            _ensure(ctx, ent, f"{named[0]}_{want}", want)
    else:
        recipient = next((f.name for f in d.fields_of(ent, want)), None)
    if recipient is None and channel == "sms":  # a text message needs a number to go to
        recipient = _ensure(ctx, ent, "phone", "phone")
    return {"entity": ent, "field": fld, "rule": rule, "days": days, "threshold": threshold, "channel": channel,
            "recipient_field": recipient}


def b_audit_log(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    named = [m for m in ctx.mentioned if not d.entities[m].join]
    if ctx.has(r"everything|all records|whole app|every record") or (
            ctx.has(r"every change|all changes") and not ctx.explicit):
        ents = [e for e in d.entities if not d.entities[e].join]
    elif ctx.explicit and named:  # "every change to a firing": the firings
        ents = named
    else:
        ents = [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    return {"entities": ents}


def b_custody(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    if d.planned.get("custody") and ctx.has(_CHECKOUT_NOUNS) and not any(
            c["item_entity"] in ctx.mentioned for c in d.planned["custody"]) and not ctx.has(
            r"check(ed|s|ing)?[- ]?out|lend|borrow"):  # "when a loan is overdue": the check-outs planned already
        return dict(d.planned["custody"][0])
    item = _main(ctx)
    holder = _people_entity(ctx, create=False, exclude=(item,))
    if holder is not None and holder not in ctx.mentioned and safe_name(holder) not in [safe_name(p)
                                                                                           for p in ctx.people]:
        holder = None
    if holder is None:  # "villagers borrow machines", villagers kept with an email: a record with an address is a person
        holder = next((m for m in ctx.mentioned if m != item and d.fields_of(m, "email", "phone")), None)
    return {"item_entity": item, "holder_entity": holder, "due_days": _days(ctx, 7), "max_held": _max_held(ctx.text)}


def _max_held(text: str) -> int | None:
    """The number of a stated "at most N ... at a time" (or "at once") rule: items one holder may hold together."""
    from .b_assignment import _AT_ONCE
    from .reading import rules_of

    return next((int(r.number) for r in rules_of(text, "limit") if r.number and float(r.number).is_integer()
                 and 1 <= r.number <= 1000 and _AT_ONCE.search((r.words or "").lower())), None)


def b_live_board(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ents = [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    if not ctx.explicit and d.planned.get("rotation") and any(_has(ctx.low, p) for p in CUES["rotation"]):
        ents = [d.planned["rotation"][0]["entity"]]  # "live board of who is on call": the rota's work
    return {"entities": ents}


def b_search(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx, prefer_things=False)
    textual = [f.name for f in d.fields_of(ent, "text", "long_text")]
    named = [n for n in textual if d.entities[ent].fields[n].source == _src(ctx)
             or all(p in ctx.words for p in n.split("_"))]
    fields = named or textual
    if not fields:
        fields = [_ensure(ctx, ent, "name", "text")]
    return {"entity": ent, "fields": fields}


def b_attachments(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    owner = next((e for e in ctx.mentioned if any(f.type == "file" and f.source == _src(ctx)
                                                  for f in d.fields_of(e))), None)
    ent = owner or _main(ctx)
    types = []
    if ctx.has(r"photos?|images?|pictures?|scans?|snap\w*"):
        types += ["image/png", "image/jpeg", "image/webp"]
    if ctx.has(r"pdfs?|documents?|scans?|files?|contracts?|receipts?|reports?"):
        types += ["application/pdf"]
    out = {"entity": ent}
    if types:
        out["allowed_types"] = list(dict.fromkeys(types))
    return out


def b_public_page(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    e = d.entities[ent]
    shown = [f.name for f in e.fields.values() if f.type not in ("reference", "file", "email", "phone")][:6]
    if not shown:
        shown = [_ensure(ctx, ent, "name", "text")]
    published = next((f.name for f in d.fields_of(ent, "boolean") if f.name in ("published", "public", "visible",
                                                                             "available", "active")), None)
    if published is None and ctx.has(r"publish\w*|public|visible"):
        published = _ensure(ctx, ent, "published", "boolean", default=False)
    return {"entity": ent, "fields": shown, "published_field": published, "qr": True}


def b_checklist(ctx: FeatureCtx) -> dict:
    return {"entity": _main(ctx)}


def b_versioning(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    fld = _field_named(ctx, ent, ("long_text",)) or next((f.name for f in d.fields_of(ent, "long_text")), None)
    fld = fld or _ensure(ctx, ent, "body", "long_text")
    return {"entity": ent, "field": fld}


def b_ratings(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None and it.np.after_verb
               and safe_name(it.name) in d.entities]
    ent = objects[0] if objects else _main(ctx, prefer_things=False)  # "singers rate each piece": the piece
    low = with_digits(re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b",
                             lambda m: str(NUMBER_WORDS[m.group(1)]), ctx.low))
    m = re.search(r"(\d+)[- ]stars?|out of (\d+)|(?:from )?[01] to (\d+)|\b[01][-–](\d+)\b|(\d+)[- ]point scale", low)
    scale = float(next(g for g in m.groups() if g)) if m else None
    if scale is None and ctx.has(r"up-?vot\w*|down-?vot\w*|vot(e|es|ed|ing)|thumbs up"):
        scale = 2  # a vote is a two-point rating: against or for
    return {"entity": ent, "scale": int(scale) if scale and 2 <= scale <= 10 else 5,
            "with_review": ctx.has(r"reviews?|comments?|feedback")}


def b_leaderboard(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ents = [m for m in ctx.mentioned if not d.entities[m].people and not d.entities[m].join] or [_main(ctx)]
    pts = ctx.number(r"(\d+)\s*points?")
    period = "month" if ctx.has(r"month\w*") else "all" if ctx.has(r"all[- ]time|overall|season") else "week"
    return {"awards": [{"entity": e, "points": int(pts) if pts and 1 <= pts <= 1000 else 10} for e in ents[:3]],
            "period": period}


def b_rotation(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    if d.planned.get("rotation") and not ctx.explicit:  # "live board of who is on call": the rota planned already
        return dict(d.planned["rotation"][0])
    work = next((m for m in ctx.mentioned if not d.entities[m].people), None) or _main(ctx)
    earlier = next((p for p in d.planned.get("rotation", []) if p["entity"] == work), None)
    if earlier is not None and ctx.has(r"swaps?|swapp\w+|trad(e|es|ed|ing)"):  # the rota's swaps, asked again
        out = dict(earlier)
        if ctx.has(r"approv\w*|sign(s|ed)?[- ]off|ok'?d"):
            named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles]
            staff = [r.name for r in d.roles.values() if r.kind == "staff"]
            out["swap_requires_role"] = (named or staff or ["owner"])[0]
        return out
    # who approves swaps ("approved by the chief") does not take turns
    approvers = tuple(safe_name(it.name) for it in ctx.interps if it.kind == "people" and it.np and it.np.prep == "by")
    among = [safe_name(it.name) for u in d.units for c in u.clauses for np in c.nps
             if np.prep in ("among", "amongst", "between") and (it := interpret(np)) is not None
             and it.kind == "people" and safe_name(it.name) not in approvers]
    named = [p for p in ctx.people if safe_name(p) not in approvers]
    member = None
    if not named and among:  # "builds the on-call rota among firefighters" (the description)
        member = among[0]
        if member not in d.entities:
            d.add_entity(member, ctx.text, people=True)
            d.add_field(member, "name", "text", ctx.text, origin="structure", required=True)
    member = member or _people_entity(ctx, create=True, exclude=(work, *approvers))
    if member is None:
        raise NotFit("a rota needs the people who take turns, and the idea names none")
    back = d.entities[member].fields.get(f"{work}_id")
    if back is not None and back.origin == "words" and back.source == _src(ctx):  # "assign drivers to routes"
        del d.entities[member].fields[f"{work}_id"]
    if not d.add_ref(work, member, ctx.text) and f"{member}_id" not in d.entities[work].fields:
        raise NotFit(f"{label_of(member)} already points at {label_of(work)}")
    swap_role = None
    if ctx.has(r"swaps?|swapp\w+|trade\w*") and ctx.has(r"approv\w*|sign(s|ed)?[- ]off|ok'?d"):
        named = [safe_name(p) for p in ctx.people if safe_name(p) in d.roles and safe_name(p) != member]
        staff = [r.name for r in d.roles.values() if r.kind == "staff"]
        swap_role = (named or staff or ["owner"])[0]
    return {"entity": work, "assignee_field": f"{member}_id", "member_entity": member,
            "strategy": "least_loaded" if ctx.has(r"fair\w*|even\w*|balanc\w*|least|equal\w*") else "round_robin",
            "swap_requires_role": swap_role}


def b_payments(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = None
    amount = None
    for e in ctx.mentioned + [x for x in d.entities if x not in ctx.mentioned]:
        name = _field_named(ctx, e, ("money",))
        if name:
            ent, amount = e, name
            break
    if ent is not None and not ctx.explicit and d.entities[ent].fields[amount].source == _src(ctx):
        del d.entities[ent].fields[amount]  # put there only for want of a record: the payment is its own
        ent = amount = None
    if ent is None and not ctx.explicit:  # "rent payments by card": the payment is the record
        paid = next((it for it in ctx.interps if it.kind == "attr" and it.attr_type == "money"), None)
        if paid is not None and len(d.entities) < 12:
            ent = d.add_entity(ident(paid.name), ctx.text).name
            d.add_field(ent, "title", "text", ctx.text, origin="structure", required=True)
            amount = _ensure(ctx, ent, "amount", "money", required=True, min=0)
    if ent is None:
        ent = _main(ctx)
        amount = next((f.name for f in d.fields_of(ent, "money")
                       if re.search(r"price|fee|amount|cost|rent|total|fare|deposit", f.name)), None)
        amount = amount or _ensure(ctx, ent, "price", "money", min=0)
    fee = _stated_fee(ctx.text)
    sub = ctx.has(r"subscriptions?|subscribe\w*|membership fees?|monthly (plan|fee)|recurring")
    return {"entity": ent, "amount_field": amount, "mode": "subscription" if sub else "one_time",
            "platform_fee_percent": fee if fee is not None and fee <= 50 else None}


def _stated_fee(text: str) -> float | None:
    """The percentage a fee, commission or surcharge rule states ("a 10% fee", "a handling fee of two percent")."""
    from .reading import rules_of

    return next((r.number for r in rules_of(text, "fee") if r.unit == "percent" and r.number is not None),
                None)


def _days_word(word: str | None) -> int | None:
    """ "21" or "seven" as a whole number of days (1..365), else None."""
    from .reading import NUMBER_WORDS

    if not word:
        return None
    n = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
    return int(n) if n is not None and 1 <= n <= 365 else None


def _recipient_path(ctx: FeatureCtx, ent: str, who: str, want: str) -> str | None:
    """ "translator_id.email", "pet_id.keeper_id.phone": the named person reached through the record's references
    (up to two), with the contact field the channel needs; a link the words imply is added when the person is a
    record of the idea and the reminded record has none."""
    d = ctx.draft

    def matches(f) -> bool:
        return f.type == "reference" and (f.ref == who or f.name.removesuffix("_id").split("_")[-1] == who)

    def contact(target: str) -> str | None:
        have = next((f.name for f in d.fields_of(target, want)), None)
        if have or not d.entities[target].people:
            return have
        return _ensure(ctx, target, want, want)

    hops: list[list[str]] = []
    for f in d.fields_of(ent, "reference"):
        if matches(f):
            hops.append([f.name, f.ref])
    for f in d.fields_of(ent, "reference"):
        for g in d.fields_of(f.ref, "reference") if f.ref != ent else []:
            if matches(g):
                hops.append([f.name, g.name, g.ref])
    if not hops and who in d.entities and d.entities[who].people and who != ent and d.add_ref(ent, who, ctx.text):
        hops.append([f"{who}_id", who])
    for hop in hops:
        target = hop[-1]
        field = contact(target)
        if field:
            return ".".join([*hop[:-1], field])
    return None


def b_export(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ents = [m for m in ctx.mentioned if not d.entities[m].join] or [_main(ctx)]
    pdf = ents[0] if ctx.has(r"pdfs?|reports?|print\w*|summary|summaries|certificates?|invoices?") else None
    return {"entities": ents, "pdf_entity": pdf}


def b_ai_summary(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    src = _field_named(ctx, ent, ("long_text",)) or next((f.name for f in d.fields_of(ent, "long_text")), None)
    src = src or next((f.name for f in d.fields_of(ent, "text")), None) or _ensure(ctx, ent, "content", "long_text")
    classify = ctx.has(r"classif\w*|categori[sz]\w*|triage|labels?|tag\w*|predict\w*|detect\w*|risk|urgency|"
                       r"sentiment|priorit\w*|flag\w*")
    labels: list[str] = []
    named = re.search(r"\b(?:into|as)\s+([a-z][a-z -]*(?:\s*(?:,|\bor\b|\band\b)\s*[a-z][a-z -]*){1,7})", ctx.low)
    if classify and named:  # "classify papers into methods, results or review": those labels
        parts = [ident(p.strip())[:30] for p in re.split(r"\s*(?:,|\bor\b|\band\b)\s*", named.group(1)) if p.strip()]
        labels = [p for p in dict.fromkeys(parts) if p and len(p.split("_")) <= 2]
        labels = labels if len(labels) >= 2 else []
    if classify and not labels:
        enum = next((f for f in d.fields_of(ent, "enum") if any(p in ctx.words for p in f.name.split("_"))), None)
        labels = list(enum.values) if enum else (["low", "medium", "high"] if ctx.has(r"risk|urgency|priorit\w*")
                                                 else ["positive", "neutral", "negative"] if ctx.has(r"sentiment")
                                                 else ["relevant", "not_relevant"])
    return {"entity": ent, "source_field": src, "mode": "classification" if classify else "summary",
            "labels": labels}


def _join(d: Draft, a: str, b: str, source: str) -> str:
    for x, y, j, _s in d.m2m:
        if {x, y} == {a, b}:
            return j  # already linked ("dishes made from ingredients")
    name = safe_name(f"{a}_{b}")[:36]
    j = d.add_entity(name, source, join=True)
    d.add_field(name, f"{a}_id", "reference", source, origin="structure", ref=a, required=True)
    d.add_field(name, f"{b}_id", "reference", source, origin="structure", ref=b, required=True)
    d.add_field(name, "note", "text", source, origin="structure")
    if (a, b) not in [(x, y) for x, y, _j, _s in d.m2m]:
        d.m2m.append((a, b, j.name, clip(source)))
    return j.name


def b_matrix(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    column = row = via = None
    for it in ctx.interps:
        head = it.np.head if it.np else None
        if head is not None and head.tag == "container" and head.s in ("matrix", "grid", "chart", "table") and it.mods:
            column = safe_name(it.name if it.kind != "container" else it.mods[-1].s)
        elif it.np and (it.np.prep in ("per", "for", "of", "by") or it.np.each) and row is None:
            row = safe_name(it.name)
        elif it.np and it.np.prep in ("from", "via", "through", "using") and via is None:
            via = safe_name(it.name)
    if d.planned.get("matrix") and not (row and column):  # "export the matrix": the one planned already
        return dict(d.planned["matrix"][0])
    cands = [m for m in ctx.mentioned if m not in (column, row, via) and not d.entities[m].join]
    for slot in ("column", "row", "via"):
        if locals()[slot] is None and cands:
            val = cands.pop(0)
            if slot == "column":
                column = val
            elif slot == "row":
                row = val
            else:
                via = val
    if via is None:  # "allergen matrix per dish": what links them is an entity the dish references or owns
        links = [e for e in d.entities if e not in (row, column) and not d.entities[e].join and row and
                 (row in d.refs(e) or e in d.refs(row))]
        via = links[0] if links else None
    if None in (row, via, column) or len({row, via, column}) < 3:
        raise NotFit("a derived matrix needs three linked records (e.g. dishes, ingredients, allergens) and the "
                     "feature does not name all three")
    for n in (row, via, column):
        if n not in d.entities:
            d.add_entity(n, ctx.text)
            d.add_field(n, "name", "text", ctx.text, origin="structure", required=True)
    for a, b in ((row, via), (via, column), (column, row), (via, row), (column, via), (row, column)):
        f = d.entities[a].fields.get(f"{b}_id")
        if f is not None and f.origin == "words":  # linked through the join entities instead
            del d.entities[a].fields[f"{b}_id"]
    _join(d, row, via, ctx.text)
    _join(d, via, column, ctx.text)
    return {"row_entity": row, "via_entity": via, "column_entity": column}


def b_follow(ctx: FeatureCtx) -> dict:
    d = ctx.draft
    ent = _main(ctx)
    topic = None
    for f in d.fields_of(ent, "text", "enum", "reference"):
        parts = f.name.removesuffix("_id").split("_")
        if all(p in ctx.words for p in parts) and f.name != d.entities[ent].fields and f.type != "long_text":
            topic = f.name
            break
    if topic is None:
        for m in ctx.mentioned:
            if m != ent and f"{m}_id" in d.entities[ent].fields:
                topic = f"{m}_id"
                break
    if topic is None and ctx.has(r"tags?|topics?|categor(y|ies)"):
        word = "tag" if ctx.has(r"tags?") else "topic" if ctx.has(r"topics?") else "category"
        topic = _ensure(ctx, ent, word, "text")
    return {"entity": ent, "topic_field": topic}


BUILDERS = {
    "records": b_records, "booking": b_booking, "workflow": b_workflow, "ledger": b_ledger,
    "reminders": b_reminders, "audit_log": b_audit_log, "custody": b_custody, "live_board": b_live_board,
    "search": b_search, "attachments": b_attachments, "public_page": b_public_page, "checklist": b_checklist,
    "versioning": b_versioning, "ratings": b_ratings, "leaderboard": b_leaderboard, "rotation": b_rotation,
    "payments": b_payments, "export": b_export, "ai_summary": b_ai_summary, "matrix": b_matrix,
    "follow": b_follow, "limit": b_limit, "selection": b_selection,
    "assignment": b_assignment, "import": b_import, "trigger": b_trigger,
    "document": b_document, "vote": b_vote,
    "agreement": b_agreement,
}

#: Parameters that identify "the same capability" across features (merged, not duplicated).
IDENTITY = {
    "records": ("entity",), "booking": ("entity",), "workflow": ("entity", "state_field"), "ledger": ("charge_entity",),
    "reminders": ("entity", "field", "rule"), "audit_log": (), "custody": ("item_entity",), "live_board": (),
    "search": ("entity",), "attachments": ("entity",), "public_page": ("entity",), "checklist": ("entity",),
    "versioning": ("entity", "field"), "ratings": ("entity",), "leaderboard": (), "rotation": ("entity",),
    "payments": ("entity",), "export": (), "ai_summary": ("entity", "source_field", "mode"), "matrix": ("row_entity",),
    "follow": ("entity", "topic_field"), "selection": ("entity",),
    "limit": ("entity", "scope", "parent_field", "max", "max_field", "sum_field", "period"),  # each stated rule its own
    "assignment": ("entity", "person_field"), "import": ("entity",),
    "trigger": ("entity", "action"), "document": ("entity",), "vote": ("entity",),
    "agreement": ("entity", "party_field"),
}
MERGE_LISTS = {"records": ("fields", "filters"), "audit_log": ("entities",), "live_board": ("entities",),
               "search": ("fields",), "export": ("entities",), "leaderboard": ("awards",)}


def is_records_feature(text: str) -> bool:
    low = " " + text.lower() + " "
    return any(_has(low, p) for p in RECORD_CUES)


def cap_id(kind: str, params: dict) -> str:
    ent = params.get("entity") or params.get("charge_entity") or params.get("item_entity") or \
        params.get("row_entity") or ""
    base = ident(f"{kind}_{ent}" if ent else kind)[:36].rstrip("_")
    return base
