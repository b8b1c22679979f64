"""Word lists the built-in planner reads an idea with.

They describe *English*, not any one domain: verbs that name an action, nouns that name a person, words
that name an attribute (and the field type it implies), and the cue phrases of each capability kind. No
entry names a product domain's records; those come from the idea's own words.
"""

from __future__ import annotations

# ------------------------------------------------------------------ parts of speech

#: Words that are (almost) always verbs in a feature list.
VERBS = frozenset("""
add approve archive assign attach award borrow browse buy calculate cancel capture categorise categorize
charge check choose claim classify close collect compare complete compute confirm connect cook create decline
delete deliver design detect divide donate download draft earn edit email enrol enroll escalate estimate
export filter find flag follow forward generate get give hand handle import invite issue keep lend let lock
log manage mark match measure merge monitor move notify open organise organize own pay pick place predict
print publish purchase rank reassign receive reject remind remove renew reply request reserve restore return
revert rotate run save scan search see sell send set settle share show sign split store submit subscribe
suggest summarise summarize swap sync tag take track trade transcribe transfer update upload validate verify
view vote warn watch write owe accept join
""".split())

#: Verbs that are (nearly) never nouns, whatever comes before them: "a certification expires".
STRICT_VERBS = frozenset("""
expire include contain require need allow become belong appear arrive happen occur remain receive grant cover
complete completes hold covers fall falls rise rises exceed exceeds reach reaches made see have want know say
drop drops dropped
approve approves reject rejects notify notifies remind reminds verify verifies submit submits assign assigns
renew renews
 decline
carry carries accommodate accommodates keeps deducts take takes go goes
""".split())

#: Irregular verb forms -> the verb.
IRREGULAR_VERBS = {"paid": "pay", "has": "have", "had": "have", "saw": "see", "seen": "see", "sold": "sell",
                   "sent": "send", "kept": "keep", "held": "hold", "built": "build", "bought": "buy",
                   "taken": "take", "given": "give", "got": "get", "chose": "choose", "chosen": "choose",
                   "wrote": "write", "written": "write", "came": "come", "lent": "lend", "left": "leave", "made": "made",
                   "found": "find", "brought": "bring", "met": "meet", "ran": "run", "split": "split",
                   "set": "set", "put": "put", "read": "read", "went": "go", "gone": "go"}

#: Verbs that are also everyday nouns ("book a kiln" / "a book"); a verb only where a clause starts with it
#: or a person does it.
AMBIGUOUS_VERBS = frozenset("""
bill book cost fire list log offer order plan post rate record rent report review schedule sign score grade text
dispatch
""".split())

VERBS = VERBS - AMBIGUOUS_VERBS

#: Adjectives/adverbs that qualify a noun but never name a record.
ADJECTIVES = frozenset("""
active automatic automated available basic billable combined common complete completed current custom daily
digital due each easy electronic every external fair flagged free full hourly instant internal late live local
low main many missing monthly multiple new next old online open optional other overdue past pending personal
previous private public quick recent recurring remote secure several shared simple single smart spare special
upcoming urgent verified vetted weekly whole yearly annual real-time realtime searchable printable shareable
tamper-evident tamper-proof append-only editable downloadable mobile collaborative unpaid outstanding separate
bulk
""".split())

#: Nouns that name a behaviour (a capability), not a record: "overdue alerts", "reviews and ratings".
BEHAVIOUR_NOUNS = frozenset("""
alert alerts reminder reminders notification notifications rating ratings review reviews approval approvals
export exports search searches history trail leaderboard leaderboards badge badges split splits balance
balances checkout upload uploads attachment attachments version versions revision revisions classification
suggestion suggestions warning warnings signup signups sign-up sign-ups rsvp rsvps waitlist waitlists
recommendation recommendations analysis reminder-email notice notices ranking rankings draft drafts
summary summaries handover handovers hand-over checklist checklists check-list sign-off sign-offs signoff
double-booking double-bookings clash clashes overlap overlaps diff diffs custody chain-of-custody
star stars ledger ledgers verification verifications vote votes upvote upvotes downvote downvotes
""".split())

#: Time qualifiers kept in an attribute's name ("monthly rent", "daily price").
RATE_ADJECTIVES = frozenset({"hourly", "daily", "weekly", "monthly", "yearly", "annual", "nightly"})

#: How something is paid is not a field of what is paid for: "card payment" is a payment.
PAYMENT_METHODS = frozenset({"card", "cards", "cash", "bank", "online", "transfer", "stripe", "paypal"})

PREPOSITIONS = frozenset("""
about after against among amongst at before behind between by during for from in including inside into like
near of off on onto out over per since than through to toward towards under until upon via with within without
across around below above beyond past
""".split())

CONJUNCTIONS = frozenset({"and", "or", "&", "plus", "nor"})

#: Words that are never a record, whatever the tagger makes of them: prepositions ("10 after each match"),
#: pronouns ("nobody gets themselves"), and "-ever" words ("whatever their shareholding").
NEVER_NOUNS = PREPOSITIONS | frozenset("""
themselves himself herself itself ourselves yourself yourselves myself oneself them they their theirs whatever
whoever whichever whenever wherever however nobody somebody everybody anybody nothing something everything anything
""".split())
#: Units of measure are never records: "a size in square feet" has no Foot table.
NEVER_NOUNS = NEVER_NOUNS | frozenset("""
feet foot metres metre meters meter kilograms kilogram kilos kilo grams gram litres litre liters liter miles mile
kilometres kilometre centimetres centimetre millimetres millimetre inches inch ounces ounce tonnes tonne pounds
gallons gallon sq cu
""".split())
#: How someone is told is never a record: "sends an SMS to the duty manager" keeps no Sms table.
NEVER_NOUNS = NEVER_NOUNS | frozenset({"sms", "smses", "sms's"})

#: Nouns for people. A person in an idea is a role of the app (a user) and, when the idea lists them,
#: also an entity.
PEOPLE = frozenset("""
accountant admin administrator agent analyst applicant approver artist athlete attendee auditor author baker
borrower buyer candidate caregiver caretaker cashier chef child client coach committee contractor contributor
cook coordinator courier curator customer designer dispatcher doctor donor driver editor employee engineer
family farmer freelancer funder gardener grower guest homeowner host housemate inspector instructor intern
interviewer janitor judge landlord learner lender librarian manager mechanic member mentee mentor moderator
musician neighbour neighbor nurse officer operator organiser organizer owner parent participant partner patient
player potter principal recruiter renter researcher resident reviewer roommate flatmate scientist secretary
seller staff steward student subscriber supervisor supplier teacher technician tenant therapist trainer
treasurer trustee tutor vendor vet veterinarian visitor volunteer walker worker writer teammate holder keeper
collector hobbyist beekeeper singer juror jury registrar programmer sailor climber referee coordinator
subscriber neighbour borrower gardener colleague teammate classmate rider passenger diner carer
firefighter chief investigator paralegal lawyer solicitor setter recruit director conductor dancer runner cyclist
pilot captain ranger warden scout camper citizen councillor clerk receptionist pharmacist dentist surgeon
barista bartender waiter brewer florist caterer planner bride groom speaker sponsor exhibitor
""".split())

#: Words for anyone at all ("people book a place", "users log in"): whoever uses the app, never a record of
#: its own; the role the idea gives that act elsewhere is who they are.
GENERIC_PEOPLE = frozenset({"people", "person", "persons", "user", "users", "anyone", "anybody", "everyone",
                            "everybody", "someone", "somebody", "folk", "folks"})

#: People who oversee: they read everything and change nothing.
OVERSIGHT_PEOPLE = frozenset({"auditor", "inspector", "funder", "trustee", "judge", "observer", "viewer"})

#: People who come from the public: an app they use takes sign-ups from anyone (the signup policy "public").
#: Everyone else (members, volunteers, staff, tenants, students...) is invited by the app's owner.
PUBLIC_PEOPLE = frozenset("""
customer client patient guest visitor buyer shopper subscriber applicant fan passenger diner donor citizen reader
listener traveller traveler patron homeowner attendee
""".split())

#: People who run the operation: they read and change every record.
STAFF_PEOPLE = frozenset("""
admin administrator coordinator dispatcher manager supervisor technician staff organiser organizer librarian
curator editor moderator steward treasurer secretary landlord instructor teacher chef officer operator
""".split())

#: Words that name a screen or an artefact of the app (never a record or a field): "map page of fridges",
#: "a QR code on each fridge", "incident reports" (the record is the incident).
UI_NOUNS = frozenset("""
page pages map maps list lists view views screen screens dashboard dashboards report reports qr qr-code qr-codes
share-link share-links button buttons form forms calendar calendars board boards feed feeds widget widgets tab tabs
menu menus
""".split())

#: Words that carry no record of their own in a noun phrase: "driver list", "member directory".
CONTAINERS = frozenset("""
list lists directory directories register registry roster rosters library libraries archive archives catalogue
catalog database records record log logs queue queues pipeline tracker board boards dashboard dashboards
overview page pages feed portal view views profile profiles sheet sheets spreadsheet table tables matrix grid chart charts
database inventory calendar calendars timeline app tool section area hub wall rota rotas rotation rotations
""".split()) | UI_NOUNS

#: Nouns for a group of people that someone belongs to ("their own team"): its members' records point at it.
GROUP_NOUNS = frozenset("""
team group house crew band club section squad household troupe ensemble choir faction tribe cohort patrol lodge
chapter unit division department platoon guild society circle clan
""".split())

#: Abstract nouns that are neither records nor attributes in a feature ("support", "data"): dropped.
VAGUE_NOUNS = frozenset("""
data info information detail details thing stuff item items way ways option options setting settings feature
features place times work everything anything something process flow management tracking use access
system platform version support service services one ones lot lots kind kinds type types sort basis end
pdf pdfs csv excel xlsx ical json kilo kilos kilogram kilograms kg gram grams litre litres liter liters
pound pounds lb lbs ounce ounces mile miles km metre metres meter meters night nights back knot knots mph kph
experience insight insights analytics statistics stats update updates change changes hour day week month
year minute today tonight tomorrow morning evening night weekend instance case cases part parts
availability progress overview reliability quality performance punctuality satisfaction other others rest up
""".split()) - {"hour"}

#: Nouns that name a check-out itself (a loan of something), singular: with check-outs planned, a record of one of
#: these names ("loan", "checkout", "check_out") is the custody capability's own, and a feature naming one speaks
#: of the check-outs.
CHECKOUT_NOUNS = ("loan", "check out", "borrowing", "lending")

#: Nouns that name an event in time (what gets booked), as opposed to a resource (what is booked).
EVENT_NOUNS = frozenset("""
appointment booking reservation firing walk lesson session shift slot visit ride trip interview meeting rental
stay viewing tour consultation treatment game match practice rehearsal pickup collection delivery
workshop run fitting clinic checkup exam test screening sitting performance gig event training call
""".split())

#: Generic head nouns that take their modifier into the name: "grant application", "repair request".
GENERIC_HEADS = frozenset("""
application request entry plan order note session item record claim ticket log change review
submission proposal task job visit check reading sample run share slot batch
""".split())

# ------------------------------------------------------------------ attributes and field types

#: Attribute words -> field type. A noun phrase whose head is one of these names a field, not a record.
ATTRIBUTE_TYPES: dict[str, str] = {}


def _attrs(kind: str, words: str) -> None:
    for w in words.split():
        ATTRIBUTE_TYPES[w] = kind


_attrs("date", "date dates deadline birthday anniversary expiry expiration")
_attrs("datetime", "time timestamp datetime start end slot")
_attrs("money", "cost costs price prices fee fees rent amount amounts total salary wage wages budget deposit fare "
                "charge charges payment commission revenue spend spending value balance tip rate payout")
_attrs("integer", "count number quantity qty capacity stock seats servings age points score rank mileage "
                  "level size headcount attendance calories steps year streak interval")
_attrs("decimal", "temperature temperatures weight height width length distance duration hours percentage "
                  "percent ratio humidity ph volume dose dosage reading yield hour kg")
_attrs("enum", "status stage state phase priority urgency severity condition outcome result sex gender")
_attrs("text", "grade")
_attrs("email", "email e-mail")
_attrs("phone", "phone telephone mobile")
_attrs("url", "url link website homepage")
_attrs("long_text", "notes note description comments comment instructions bio body content story "
                    "feedback remarks observations reason explanation narrative abstract essay manuscript "
                    "statement")
_attrs("file", "photo photos image images picture pictures file files document documents scan scans attachment "
               "attachments video videos")
_attrs("text", "name title label subject species breed address location variety colour color brand model "
               "serial code sku isbn category topic tag genre venue author")

#: Words in a number field's name that say it can be negative (every other count or measure starts at 0).
SIGNED_NUMBERS = frozenset("""
temperature temperatures temp reading readings balance change changes difference delta offset adjustment
latitude longitude lat lng lon altitude elevation score scores points point net profit loss margin variance
gain swing correction handicap par tilt angle bearing
""".split())

#: Phrases (as words) that name one field; checked before single words.
ATTRIBUTE_PHRASES: dict[tuple[str, ...], tuple[str, str]] = {
    ("contact", "details"): ("email", "email"),
    ("contact", "detail"): ("email", "email"),
    ("due", "date"): ("due_date", "date"),
    ("due", "dates"): ("due_date", "date"),
    ("start", "date"): ("start_date", "date"),
    ("end", "date"): ("end_date", "date"),
    ("end", "dates"): ("end_date", "date"),
    ("phone", "number"): ("phone", "phone"),
    ("phone", "numbers"): ("phone", "phone"),
    ("email", "address"): ("email", "email"),
    ("serial", "number"): ("serial_number", "text"),
    ("serial", "numbers"): ("serial_number", "text"),
    ("licence", "number"): ("licence_number", "text"),
    ("licence", "numbers"): ("licence_number", "text"),
    ("license", "number"): ("license_number", "text"),
    ("license", "numbers"): ("license_number", "text"),
    ("number", "of"): ("", "integer"),
}

#: Cue words -> type, applied to a field's own name (so "cone_temperature" is a decimal).
TYPE_CUES: tuple[tuple[str, frozenset[str]], ...] = (
    ("email", frozenset({"email", "e-mail"})),
    ("phone", frozenset({"phone", "telephone", "sms"})),
    ("url", frozenset({"url", "link", "website", "homepage"})),
    ("file", frozenset({"photo", "image", "picture", "file", "document", "scan", "attachment", "pdf", "video"})),
    ("money", frozenset({"cost", "price", "fee", "rent", "amount", "salary", "wage", "budget", "deposit", "fare",
                         "charge", "payment", "commission", "revenue", "spend", "tip", "payout", "value", "total"})),
    ("datetime", frozenset({"time", "timestamp", "datetime", "at"})),
    ("date", frozenset({"date", "day", "deadline", "birthday", "expiry", "expiration", "on", "until"})),
    ("integer", frozenset({"count", "number", "quantity", "qty", "capacity", "stock", "seats", "servings", "points",
                           "score", "mileage", "age", "level", "streak", "calories", "attendance", "headcount"})),
    ("decimal", frozenset({"temperature", "weight", "height", "width", "length", "distance", "duration", "hours",
                           "percentage", "percent", "ratio", "humidity", "ph", "volume", "dose", "dosage", "reading",
                           "km", "kg", "yield"})),
    ("enum", frozenset({"status", "stage", "state", "phase", "priority", "urgency", "severity", "condition",
                        "outcome", "result", "sex", "gender"})),
    ("long_text", frozenset({"notes", "note", "description", "comments", "instructions", "bio", "summary", "body",
                             "content", "story", "feedback", "remarks", "observations", "transcript", "text",
                             "reason"})),
)

#: Default values of an enum whose values the idea does not list.
ENUM_DEFAULTS: dict[str, list[str]] = {
    "priority": ["low", "medium", "high"],
    "urgency": ["low", "medium", "high"],
    "severity": ["minor", "major", "critical"],
    "condition": ["good", "fair", "poor"],
    "result": ["pass", "fail"],
    "outcome": ["success", "failure"],
    "grade": ["a", "b", "c", "d", "f"],
    "stage": ["new", "in_progress", "done"],
    "phase": ["planned", "in_progress", "done"],
    "state": ["open", "closed"],
    "status": ["open", "in_progress", "done"],
    "sex": ["female", "male"],  # of an animal or a patient record: the two a vet, a breeder or a farm records
    "gender": ["female", "male", "non_binary", "not_stated"],
}

#: Verbs whose past participle says a process came to its end without naming the end ("when the result is
#: decided", "once a case is settled"): of a record with a workflow, the workflow reached a final state.
ENDING_VERBS = frozenset("""
decide finish complete settle close conclude resolve finalise finalize determine end do wrap
""".split())

#: Verbs whose past participle says a record came into being ("as soon as a report is written", "when a fault is
#: logged"): the record being added, not a state it reaches.
MAKING_VERBS = frozenset("""
add create log record write enter file raise make report
""".split())

#: Words that make a boolean when a feature marks a record with them: "mark meals as cooked".
BOOLEAN_WORDS = frozenset("""
active approved available booked cancelled closed completed confirmed cooked delivered done finished
overdue paid passed published read received resolved returned reviewed settled shipped signed sold verified
watered archived
""".split())

#: Irregular plurals.
IRREGULAR_SINGULAR = {"mechanics": "mechanic", "medics": "medic", "critics": "critic", "clerics": "cleric",
                      "people": "person", "children": "child", "men": "man", "women": "woman", "feet": "foot",
                      "teeth": "tooth", "mice": "mouse", "geese": "goose", "data": "data", "media": "media",
                      "series": "series", "species": "species", "staff": "staff", "analyses": "analysis",
                      "criteria": "criterion", "leaves": "leaf", "shelves": "shelf", "knives": "knife",
                      "lives": "life", "wolves": "wolf", "halves": "half", "loaves": "loaf", "calves": "calf",
                      "bus": "bus", "gas": "gas", "lens": "lens", "canvas": "canvas", "news": "news",
                      "glasses": "glasses", "supplies": "supply", "series_": "series"}

#: Nouns whose plural is themselves (the table keeps the noun).
UNCOUNTABLE = frozenset("""
equipment gear inventory stock feedback software hardware furniture staff information data produce media news
luggage clothing merchandise equipment_item seed seeds fish sheep deer species series mail compost
""".split()) - {"seeds"}
