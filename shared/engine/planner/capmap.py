"""Key features -> capabilities with parameters (issue 11), read from the feature's own words.

`CUES` lists, per capability kind, the verbs and phrases that ask for it. `map_features` reads each key
feature, finds the kinds it asks for, and binds each to the idea's entities and fields (which entity is
booked, which date a reminder watches, who approves). A kind that cannot be bound, or that the library
does not have yet, leaves the feature `not_covered` with a reason a founder can read.
"""

from __future__ import annotations

import re

from .b_agreement import b_agreement
from .b_assignment import b_assignment
from .b_common import (  # noqa: F401 - re-exported: the planner and the builders import these from capmap
    FeatureCtx,
    NotFit,
    _days_word,
    _ensure,
    _has,
    _main,
    _people_entity,
    feature_ctx,
    label_of,
    with_digits,
)
from .b_content import (
    b_ai_summary,
    b_attachments,
    b_checklist,
    b_export,
    b_leaderboard,
    b_matrix,
    b_public_page,
    b_ratings,
    b_search,
    b_versioning,
)
from .b_document import b_document
from .b_enrolment import _NOT_SCREEN, b_enrolment
from .b_flow import b_booking, b_custody, b_ledger, b_payments, b_records, b_rotation, b_workflow
from .b_guard import CUE as _GUARD_CUE
from .b_guard import CUTOFF_CUE as _CUTOFF_CUE
from .b_guard import b_guard
from .b_import import b_import
from .b_notify import b_audit_log, b_follow, b_live_board, b_reminders
from .b_trigger import b_trigger
from .b_vote import b_vote
from .draft import ident
from .rules import b_limit, b_selection
from .text import parse

#: "from received to in progress to quality checked": named states in order, each of up to three words
_STATE_CHAIN = r"from [a-z-]+( [a-z-]+){0,2} (to|through) [a-z-]+( [a-z-]+){0,2} (to|then) [a-z-]+"

#: kind -> regular expressions over the feature's lower-cased text (word boundaries added).
CUES: dict[str, tuple[str, ...]] = {
    "booking": (r"book(s|ed|ing|ings)?", r"reserv(e|es|ed|ing|ation|ations)", r"schedul(e|es|ed|ing)",
                r"availability", r"time ?slots?", r"appointments?", r"calendar"),
    "workflow": (r"approv(e|es|ed|al|als|ing)", r"requests?", r"sign(s|ed)?[- ]off", r"status(es)?", r"stages?",
                 _STATE_CHAIN, r"(go|goes|went|gone|pass(es|ed)?|progress(es|ed)?|mov(e|es|ed)) from [a-z-]+( [a-z-]+){0,2} to ",
                 r"mov(e|es|ed|ing) (\w+ ){1,3}(from|through) ",
                 r"(go|goes|mov(e|es|ed)|pass(es|ed)?|progress(es|ed)?) through [a-z-]+( [a-z-]+){0,2},",
                 r"[a-z-]+,? then [a-z-]+,? (and )?then [a-z-]+",
                 r"pipeline", r"review queue", r"queue", r"submit(s|ted)?", r"escalat\w*", r"reject\w*",
                 r"workflow", r"triage"),
    "ledger": (r"split(s|ting)?", r"owe[sd]?", r"who owes", r"settle[- ]?up", r"share[sd]? (the )?(costs?|bills?|"
               r"expenses?)", r"chip in", r"balances?", r"divide[sd]?"),
    "reminders": (r"remind\w*", r"alerts?", r"overdue", r"low[- ]stock", r"running low", r"below", r"thresholds?",
                  r"expir\w+", r"due soon", r"deadlines?", r"nudges?", r"warn\w*"),
    "audit_log": (r"audit(s|ed|ing|ors?|able|ability)?", r"history", r"custody (log|report|chain|trail)", r"chain of custody",
                  r"tamper\w*", r"change ?log", r"trail", r"who changed", r"append[- ]only"),
    "custody": (r"check(ed|s|ing)?[- ]?(out|in)", r"check(ed|s|ing)? (\w+ ){1,3}(out|back)", r"checkouts?", r"lend(s|ing)?", r"borrow\w*", r"loans?",
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
    "ratings": (r"rat(e|es|ed|ing|ings)", r"stars?", r"(scor|grad|mark)(e|es|ed|ing) (\w+ ){0,3}(from|out of|on a scale "
                r"of) (1|one|0|zero) to \w+", r"(from|on a scale of) (1|one) to (5|10|five|ten)\b", r"out of (5|10|five|ten)", r"reviews? (of|after|and ratings?|for)", r"(and|with) reviews?",
                r"feedback scores?", r"reviews"),
    "agreement": (r"agree(s|d|ing|ment|ments)?", r"consent(s|ed|ing)? to",
                  r"(with|needs?|requires?|without|until) (the )?(\w+('s|s')? )?consent",
                  r"on (their|someone'?s|his|her|another'?s) behalf",
                  r"(both|mutual(ly)?|the other \w+|the (new|receiving) \w+) (accept|agree|confirm|consent)\w*"),
    "vote": (r"up-?vot\w*", r"down-?vot\w*", r"vot(e|es|ed|ing)", r"thumbs (up|down)"),
    # people taking a place on a record that holds many: not a time-slot booking, not one person per record
    "enrolment": (r"sign(s|ed|ing)?[- ]?up (for|to|on|onto|in)", r"enrol(l)?(s|ed|led|ing|ling)? (in|on|onto|for|into)",
                  r"register(s|ed|ing)? (for|on|onto)", r"rsvps?('d|ed)? (to|for)",
                  r"join(s|ed|ing)? (a|an|the|one|each|every|upcoming|next)",
                  r"(book|reserve|take|claim|secure|get|grab|buy)(s|ed|ing)? (a |an |one |their |\d+ )?(places?|seats?|"
                  r"spots?|spaces?|berths?|tickets?) (for|in|on|onto|to|at|aboard|into)" + _NOT_SCREEN,
                  r"volunteer(s|ed)? for"),
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
                 r"donations?)", r"tickets? sales?",
                 r"(deposits?|paid|payments?) before (the |its |their |any )?\w+ (starts|begins|commences|gets under ?way)"),
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
                   r"double[- ]booked", r"dispatch(es|ed|ing)?", r"my (jobs|visits|shifts|tours|rounds)",
                   r"(given|put on|rostered on|scheduled on|assigned to) (two|2) \w+ (that|which) overlap"),
    "trigger": (r"[a-z]+( un[a-z]+| not (yet )?[a-z]+ed| still [a-z]+)? (for )?(more than|over|after|older than|within|in) "
                r"(\d+|[a-z]+) (days?|weeks?|months?)( old)? (are |is |get |gets |become |becomes )?(automatically )?"
                r"([a-z]+(ed|en)|expires?|lapses?)\b",
                r"(when|whenever|once|as soon as|if)( a| an| the| its| their)? [a-z]+(['’]s)?( [a-z]+){0,2} (is|are|becomes?|"
                r"reach(es)?|turns?|goes|gets|has|exceeds?|drops?|falls?|rises?|fails?|passes)\b(?:[^.;]|\.(?=\d)){0,60}?\b(automatic\w*|"
                r"creates?|opens?|raises?|sets?|marks?|flags?|blocks?|cannot|can't|may not|must not|notif\w*|e-?mails?|"
                r"alerts?|tells?|texts?|sms|escalat\w*)",
                r"automatically (creates?|opens?|raises?|sets?|marks?|flags?|blocks?|notif\w*|alerts?|e-?mails?)",
                r"^ ?(flag|mark|highlight) (any|every|each|all) [a-z' ]+ (above|over|below|under|more than|less than) "
                r"[£$€]?\d+(\.\d+)? ?\S* (as|for|with)",
                r"^ ?(a|an|any|each|every) [a-z' ]+ (above|over|below|under|more than|less than|greater than|higher "
                r"than|lower than) [£$€]?\d+(\.\d+)? ?\S* (marks|sends|flags|triggers|alerts|e-?mails|texts|"
                r"notifies|blocks|creates|opens|raises|sets)\b",
                # "Text the customer when their piece is ready": the message first, then when it goes
                r"(notify|e-?mail|text|sms|tell|alert|warn|message) (the |their |its |every |all |each )?[a-z]+"
                r"( [a-z]+)? (when|whenever|if|once|as soon as)\b",
                r"(all |any |the |their |its )?[a-z]+( [a-z]+)? (are|is|get|gets) [a-z]+(ed|en)( (to|for|as|into) "
                r"(the |a |an )?[a-z]+( [a-z]+)?)? (when|whenever|if|once)",
                r"(heavier|lighter|more|less|higher|lower|greater) than \d+[^.;]{0,40}\b(sets?|marks?|flags?|creates?|"
                r"opens?|notif\w*|alerts?|blocks?)"),
    "document": (r"pdfs?", r"printable", r"sign(s|ed|ing)?[- ]?off", r"sign(s|ed|ing)? (it|them) off", r"signed by", r"signatures?", r"countersign\w*",
                 # "issued only after a second engineer signs it off", "released once the supervisor has signed it"
                 r"(issu|releas|sen[dt]|print|download)\w*(?: out)? (?:only )?(?:after|once|when|until|unless|till) "
                 r"[^.;]*?\bsign(s|ed|ing)?",
                 r"line[- ]items?", r"itemi[sz]ed",
                 r"(issue[sd]?|generat\w+|produc\w+|print\w*)(?= (an? |the |their |each )?(\w+ )?(invoices?|"
                 r"receipts?|certificates?|delivery notes?))"),
    "import": (r"import(s|ed|ing)?", r"bulk[- ]?(upload|import|add|load)\w*", r"(mass|batch)[- ]?(upload|import)\w*",
               r"upload\w* (a |an |the |their |our )?(csv|spreadsheet|excel|json)( files?)?",
               r"from (a |an |the |their |our )?(csv|spreadsheet|excel|json)s?( files?)?"),
    "guard": (_GUARD_CUE, _CUTOFF_CUE),
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
    ("enrolment", "booking", r"."),  # "book a seat on a trip": a place on the trip, not a slot of a seat
    ("enrolment", "assignment", r"."),
    ("enrolment", "limit", r"^(?!.*\b((per|a|an|each|every|in a) (day|week|month|year)|daily|weekly|monthly|"
                           r"(each|every|any|a|one) [a-z-]+ (may|can|is allowed to)|at a time|at once)\b)"),
    ("agreement", "rotation", r"accept\w*|agree\w*|consent\w*|confirm\w*"),
    ("agreement", "workflow", r"accept\w*|agree\w*|consent\w*|confirm\w*"),
    ("vote", "leaderboard", r"vot\w*"),
    # "each member has 3 votes", "one people's choice vote", "a single vote": the vote's budget, not a limit
    ("vote", "limit", r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|a single) (?:(?!(?:and|or|but|per|"
                      r"each|every|for|to|of|on|in|at|with|by|from|a|an|the|votes?)\b)[a-z][a-z'-]* ){0,2}"
                      r"(up-?|down-?)?votes?\b"),
    ("document", "export", r"line[- ]items?|sign|invoice|receipt|certificate|delivery note|vat|gst|tax"),
    # "a certificate PDF is issued only after ... signs it off": the app makes the PDF it signs, nobody uploads one
    ("document", "attachments", r"^(?!.*\b(upload\w*|attach\w*|scan\w*|photo\w*|images?|pictures?|files?)\b)"
                                r"(?=.*\bsign(s|ed|ing|[- ]?offs?)?\b)"),
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
    # "email the member when a check-out is 7 days overdue": a date passing is the reminders' rule, not a trigger's
    ("reminders", "trigger", r"overdue|(\d+|[a-z]+) (hours?|days?|weeks?) (before|after|of)|within \d+"),
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
    ("workflow", "booking", _STATE_CHAIN),  # "... to scheduled to fixed"
    ("workflow", "custody", _STATE_CHAIN),  # "... to passed or failed to returned": a state, not a check-in
    ("rotation", "workflow", r"swap\w*"),
    ("selection", "workflow", r"declin\w*|reject\w* (all )?the others|the others|the rest|every other|all other"),
    ("rotation", "assignment", r"rota|rotation|turns|round[- ]robin|fair\w*|evenly"),
    ("custody", "assignment", r"equipment|tools?|kit|devices?|keys?|laptops?"),
    ("custody", "limit", r"at a time|at once|at the same time"),  # "borrow at most three copies at a time"
    ("import", "attachments", r"csv|spreadsheet|excel|json|import|bulk"),
    ("import", "export", r"^(?!.*(export|download|print|report))"),
    ("import", "limit", r"(rows?|lines?)\b"),
    # "each band books at most 6 hours a week": the hours a band books in a week are capped, no slot is booked
    ("limit", "booking", r"(at most|no more than|not more than|up to|a maximum of|max(imum)?|never more than) "
                         r"\S+ (hours?|hrs?|minutes?|mins?) (a|an|per|each|every|in a|in any one|in one) "
                         r"([a-z]+ )?(day|week|month|year)\b"),
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
    "enrolment": "people signing themselves up for a record once, cancelling their own, up to its capacity",
    "vote": "up- or down-votes on records, one per person, and a list ranked by net score",
    "document": "a PDF of a record and its lines (totals, tax), optionally signed off by a named role",
    "guard": "an action (adding a record, moving it to a status) refused until a condition holds: a yes/no field, "
             "days passed since a date, every item of a checklist ticked, or a cut-off some hours before a time",
    "trigger": "something done by itself when a record reaches a value or crosses a number: a record created, a "
               "field set, a change blocked or someone told",
}


def kinds_for(text: str, guard: bool = True) -> list[tuple[str, str]]:
    """[(kind, the words that asked for it)] in the order the words appear; guard=False: as if the words stated no
    guard (the kinds tried when a guard the words state cannot be bound to the idea's records)."""
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
    from .b_guard import states_guard

    if "guard" in kinds:  # "a member who has not paid cannot book": one rule, the guard; its verb is no booking
        kinds = {"guard"} if guard and states_guard(text) else kinds - {"guard"}
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
    if "matrix" in kinds:
        word = next(w for _p, k, w in found if k == "matrix")
        nps = [n for c in parse(text) for n in c.nps if any(x.w == word for x in n.words)]
        if nps and all(n.head is not None and n.head.w != word for n in nps):
            # "grid reference", "matrix number": the word names the kind of a noun that follows (an attribute),
            # not a matrix of its own
            kinds.discard("matrix")
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


BUILDERS = {
    "records": b_records, "booking": b_booking, "workflow": b_workflow, "ledger": b_ledger,
    "reminders": b_reminders, "audit_log": b_audit_log, "custody": b_custody, "live_board": b_live_board,
    "search": b_search, "attachments": b_attachments, "public_page": b_public_page, "checklist": b_checklist,
    "versioning": b_versioning, "ratings": b_ratings, "leaderboard": b_leaderboard, "rotation": b_rotation,
    "payments": b_payments, "export": b_export, "ai_summary": b_ai_summary, "matrix": b_matrix,
    "follow": b_follow, "limit": b_limit, "selection": b_selection,
    "assignment": b_assignment, "import": b_import, "trigger": b_trigger,
    "document": b_document, "vote": b_vote,
    "agreement": b_agreement, "enrolment": b_enrolment, "guard": b_guard,
}


#: Parameters that identify "the same capability" across features (merged, not duplicated).
IDENTITY = {
    "records": ("entity",), "booking": ("entity",), "workflow": ("entity", "state_field"), "ledger": ("charge_entity",),
    "reminders": ("entity", "field", "rule"), "audit_log": (), "custody": ("item_entity",), "live_board": (),
    "search": ("entity",), "attachments": ("entity",), "public_page": ("entity",), "checklist": ("entity",),
    "versioning": ("entity", "field"), "ratings": ("entity",), "leaderboard": (), "rotation": ("entity",),
    "payments": ("entity",), "export": ("period", "date_fields"), "ai_summary": ("entity", "source_field", "mode"), "matrix": ("row_entity",),
    "follow": ("entity", "topic_field"), "selection": ("entity",),
    "limit": ("entity", "scope", "parent_field", "pair_field", "per_user", "max", "max_field", "sum_field", "period"),
    "assignment": ("entity", "person_field"), "import": ("entity",),
    "trigger": ("entity", "action"), "document": ("entity",), "vote": ("entity",),
    "agreement": ("entity", "party_field"), "enrolment": ("entity",),
    "guard": ("entity", "on", "field", "test", "test_field", "child_entity", "days", "hours"),
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
