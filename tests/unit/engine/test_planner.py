"""The built-in planner: entities, fields, roles and capabilities from the idea's own words."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec import AppSpec, spec_problems
from shared.engine.capabilities import KINDS, available_kinds
from shared.engine.planner import plan_builtin, planned_features
from shared.engine.planner.capmap import kinds_for

KILN = {
    "title": "KilnShare",
    "description": "A community pottery studio shares three kilns between 40 members.",
    "target_audience": "Studio managers",
    "key_features": ["Book kiln firings, track glaze and cone temperatures",
                     "Split firing costs among members by kiln usage"],
}


def _field(spec: AppSpec, entity: str, name: str):
    e = spec.entity(entity)
    assert e is not None, [x.name for x in spec.entities]
    f = e.field(name)
    assert f is not None, (entity, [x.name for x in e.fields])
    return f


def test_kiln_firings_reference_a_kiln_with_glaze_cone_and_temperature():
    spec = plan_builtin(KILN, kinds=KINDS)
    ref = _field(spec, "firing", "kiln_id")
    assert ref.type == "reference" and ref.ref == "kiln"
    assert _field(spec, "firing", "glaze").type == "text"
    assert _field(spec, "firing", "cone").type == "text"
    assert _field(spec, "firing", "temperature").type == "decimal"
    assert any(r.kind == "many_to_one" and r.entity == "firing" and r.target == "kiln" and r.field == "kiln_id"
               for r in spec.relations)
    booking = next(c for c in spec.capabilities if c.kind == "booking")
    assert (booking.entity, booking.resource, booking.resource_field) == ("firing", "kiln", "kiln_id")
    assert spec.entity("firing").field(booking.start_field).type == "datetime"
    ledger = next(c for c in spec.capabilities if c.kind == "ledger")
    assert ledger.participant_entity == "member" and ledger.default_split == "usage"
    assert spec.entity(ledger.charge_entity).field(ledger.amount_field).type == "money"


def test_every_entity_and_field_names_the_words_it_came_from():
    spec = plan_builtin(KILN, kinds=KINDS)
    text = json.dumps(KILN).lower()
    for e in spec.entities:
        assert e.source, e.name
        for f in e.fields:
            assert f.source, (e.name, f.name)
            # a field's source is the idea's own words or names the catalogue entry of this exact noun
            assert f.source.lower().rstrip("…")[:40] in text or f.source.startswith(f"catalogue entry for '{e.name}'"), \
                (e.name, f.name, f.source)


@pytest.mark.parametrize("feature, field, ftype", [
    ("Log visits with arrival date", "arrival_date", "date"),
    ("Log visits with arrival time", "arrival_time", "datetime"),
    ("Record the rent for each unit", "rent", "money"),
    ("Track the quantity of each reagent", "quantity", "integer"),
    ("Track seat count per workshop", "seat_count", "integer"),
    ("Contacts with phone numbers", "phone", "phone"),
    ("Suppliers with website", "website", "url"),
    ("Patients with notes", "notes", "long_text"),
    ("Kits with photos", "photo", "file"),
    ("Repairs with status", "status", "enum"),
    ("Samples with storage temperature", "storage_temperature", "decimal"),
])
def test_field_types_follow_the_words(feature, field, ftype):
    spec = plan_builtin({"title": "T", "description": "", "key_features": [feature]}, kinds=KINDS)
    hits = [f for e in spec.entities for f in e.fields if f.name == field]
    assert hits, [(e.name, [f.name for f in e.fields]) for e in spec.entities]
    assert hits[0].type == ftype


def test_enum_values_come_from_the_text_when_present():
    spec = plan_builtin({"title": "T", "description": "", "key_features": ["Inspection log with pass or fail"]},
                        kinds=KINDS)
    f = _field(spec, "inspection", "result")
    assert f.type == "enum" and f.values == ["pass", "fail"]
    spec = plan_builtin({"title": "T", "description": "",
                         "key_features": ["Applications move from draft to submitted to awarded"]}, kinds=KINDS)
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    assert wf.states[:3] == ["draft", "submitted", "awarded"] and wf.initial == "draft"


def test_roles_come_from_the_ideas_people():
    idea = {"title": "Rota", "description": "Coordinators publish shifts; auditors check the hours.",
            "key_features": ["Volunteers sign up for shifts", "Coordinators approve shift swaps",
                             "Auditors review volunteer hours"]}
    spec = plan_builtin(idea, kinds=KINDS)
    roles = {r.name: r for r in spec.roles}
    assert roles["owner"].manage_users and set(roles["owner"].write) == {e.name for e in spec.entities}
    assert roles["volunteer"].scope == "own" and roles["volunteer"].write
    assert roles["coordinator"].scope == "all" and roles["coordinator"].write
    assert roles["auditor"].write == [] and roles["auditor"].read
    assert spec.default_role == "volunteer"
    assert all(r.source for r in spec.roles)


def test_an_idea_without_people_gets_an_owner_and_a_member():
    spec = plan_builtin({"title": "Jar", "description": "", "key_features": ["Log jars of jam with flavour"]},
                        kinds=KINDS)
    assert [r.name for r in spec.roles] == ["owner", "member"] and spec.default_role == "member"


def test_many_to_many_through_a_join_entity_for_a_matrix():
    idea = {"title": "Menu", "description": "",
            "key_features": ["Dishes made from ingredients", "Allergen matrix per dish computed from its ingredients"]}
    spec = plan_builtin(idea, kinds=KINDS)
    m = next(c for c in spec.capabilities if c.kind == "matrix")
    assert (m.row_entity, m.via_entity, m.column_entity) == ("dish", "ingredient", "allergen")
    m2m = {(r.entity, r.target, r.through) for r in spec.relations if r.kind == "many_to_many"}
    assert ("dish", "ingredient", "dish_ingredient") in m2m and ("ingredient", "allergen", "ingredient_allergen") in m2m
    assert not [p for p in spec_problems(spec) if "not in the library" not in p]


@pytest.mark.parametrize("feature, kind", [
    ("Book meeting rooms by the hour", "booking"),
    ("Managers approve expense requests", "workflow"),
    ("Split the electricity bill among flatmates", "ledger"),
    ("Overdue alerts for library loans", "reminders"),
    ("Tamper-evident history of every sample", "audit_log"),
    ("Check out cameras to students", "custody"),
    ("Live board of open orders", "live_board"),
    ("Search recipes by ingredient", "search"),
    ("Upload scans of receipts", "attachments"),
    ("Public page with a QR code for each trail", "public_page"),
    ("Checklist of steps for each move-in", "checklist"),
    ("Versioned drafts of each press release", "versioning"),
    ("Guests rate each tour", "ratings"),
    ("Points and a leaderboard for recycling drops", "leaderboard"),
    ("Take turns cooking dinner on a rota", "rotation"),
    ("Pay class fees by card", "payments"),
    ("Export attendance as CSV", "export"),
    ("AI summary of each interview transcript", "ai_summary"),
    ("Cocktail matrix of spirits by flavour computed from recipes", "matrix"),
    ("Follow a neighbourhood and get notified when a new listing appears", "follow"),
])
def test_feature_words_ask_for_their_kind(feature, kind):
    assert kind in [k for k, _w in kinds_for(feature)], kinds_for(feature)


def test_only_available_kinds_are_planned_and_the_rest_say_why():
    idea = {"title": "Studio", "description": "", "key_features": ["Book kiln firings", "Points for every firing"]}
    spec = plan_builtin(idea, kinds={"records"})
    assert {c.kind for c in spec.capabilities} <= {"records"}
    for t in spec.trace:
        assert t.status == "not_covered" and "not in the capability library yet" in t.reason
    assert planned_features(spec) == []
    full = plan_builtin(idea, kinds=KINDS)
    assert {"booking", "leaderboard"} <= {c.kind for c in full.capabilities}


def test_a_feature_nothing_fits_is_not_covered_with_a_reason():
    spec = plan_builtin({"title": "X", "description": "", "key_features": ["Make it delightful"]}, kinds=KINDS)
    t = spec.trace[0]
    assert t.status == "not_covered" and t.capabilities == [] and len(t.reason) > 20


def test_plans_are_deterministic_and_valid_for_an_unseen_idea():
    idea = {"title": "BarnCats", "description": "Farm sanctuaries track rescued barn cats and their vet visits. "
                                                "Caretakers log feeding times and volunteers adopt cats.",
            "target_audience": "Farm sanctuaries",
            "key_features": ["Cat profiles with age, colour and photos", "Vet visit reminders 2 days before",
                             "Caretakers log feeding times per cat", "Adoption applications with caretaker approval"]}
    a, b = plan_builtin(idea), plan_builtin(idea)
    assert a.model_dump_json() == b.model_dump_json()
    assert spec_problems(a) == []
    assert {t.feature for t in a.trace} == set(idea["key_features"])
    assert {c.kind for c in a.capabilities} <= set(available_kinds())
    cat = a.entity("cat")
    assert cat is not None and {"age", "colour"} <= {f.name for f in cat.fields}
    assert "caretaker" in {r.name for r in a.roles}


def test_pages_and_navigation_resolve():
    spec = plan_builtin(KILN)
    ids = {p.id for p in spec.pages}
    assert "home" in ids and all(n.page in ids for n in spec.navigation)
    for e in spec.entities:
        assert {p.kind for p in spec.pages if p.entity == e.name} == {"list", "detail", "form"}
    assert all(p.capability in {c.id for c in spec.capabilities} for p in spec.pages if p.kind == "capability")


@pytest.mark.parametrize("idea", [
    {},
    {"title": "", "key_features": "Book rooms; pay by card\nexport CSV"},
    {"title": "Keywords", "description": "class type user import from return",
     "key_features": ["Import users", "Class list with type and id", "Return to sender"]},
    {"title": "ÜberCafé", "description": "Café owners track crème brûlée orders. 日本語も",
     "key_features": ["Orders with crème level", "Résumé uploads"]},
    {"title": "Long", "description": "word " * 500, "key_features": ["feature " * 80] * 3 + ["Book rooms"]},
    {"title": "Many", "key_features": [f"Track {w}s with {w} notes" for w in
                                       ["apple", "banana", "cherry", "damson", "elder", "fig", "grape", "kiwi",
                                        "lemon", "mango", "olive", "peach", "quince", "rhubarb"]]},
    {"title": "Self", "key_features": ["Tasks with subtasks per task", "Staff book staff", "Rota of rotas"]},
    {"title": "Bare", "key_features": ["a", "the and of", "book", "split", "matrix", "follow", "approve", "rate"]},
], ids=["empty", "string-features", "reserved-words", "unicode", "long-and-repeated", "many-nouns", "self-refs",
        "bare-cues"])
def test_odd_ideas_still_give_a_valid_spec(idea):
    for kinds in (None, KINDS):
        spec = plan_builtin(idea, kinds=kinds)
        assert [p for p in spec_problems(spec) if "is not in the library yet" not in p] == []
        assert len(spec.trace) == len(spec.features) and len(spec.entities) <= 12


def test_many_to_many_when_the_idea_says_so():
    spec = plan_builtin({"title": "Bar", "description": "",
                         "key_features": ["Cocktails made from spirits", "Playlists contain songs"]})
    m2m = {(r.entity, r.target, r.through) for r in spec.relations if r.kind == "many_to_many"}
    assert m2m == {("cocktail", "spirit", "cocktail_spirit"), ("playlist", "song", "playlist_song")}
    join = spec.entity("cocktail_spirit")
    assert {f.ref for f in join.fields if f.type == "reference"} == {"cocktail", "spirit"}
    assert spec.entity("cocktail").field("spirit_id") is None  # linked through the join, not a reference
    assert spec_problems(spec) == [] and all(t.status in ("planned", "partial") for t in spec.trace)


DEMO = {
    "title": "KilnShare - kiln bookings and shared firing costs for pottery studios",
    "description": ("Community pottery studios lose firings to double bookings and argue about who owes what. "
                    "KilnShare lets members book a kiln for each firing, record the glaze, cone and temperature of "
                    "every firing, and split firing costs among the members who shared the kiln; the studio "
                    "coordinator approves each firing."),
    "target_audience": "community pottery studios, their coordinators and members",
    "key_features": ["Book a kiln for a firing without double bookings", "Coordinator approves or rejects each firing",
                     "Split firing costs among members", "Tamper-evident log of every change to a firing"],
}


def test_demo_idea_plans_firings_of_a_kiln_with_every_behaviour_on_the_firing():
    spec = plan_builtin(DEMO)
    assert spec.name == "KilnShare" and spec_problems(spec) == []
    assert {e.name for e in spec.entities} == {"firing", "kiln", "member"}
    firing = {f.name: f for f in spec.entity("firing").fields}
    assert firing["kiln_id"].ref == "kiln" and firing["cost"].type == "money"
    assert {"glaze", "cone", "temperature", "start_at", "end_at", "status"} <= set(firing)
    assert not {"member_id", "status", "amount"} & {f.name for f in spec.entity("kiln").fields}
    by_kind = {c.kind: c for c in spec.capabilities}
    assert (by_kind["booking"].entity, by_kind["booking"].resource) == ("firing", "kiln")
    wf = by_kind["workflow"]
    assert wf.entity == "firing" and next(t for t in wf.transitions if t.name == "approve").roles == ["coordinator"]
    led = by_kind["ledger"]
    assert (led.charge_entity, led.amount_field, led.participant_entity) == ("firing", "cost", "member")
    assert by_kind["audit_log"].entities == ["firing"]
    assert all(t.status in ("planned", "partial") for t in spec.trace)


@pytest.mark.parametrize("feature, kind, days", [
    ("Expiry alerts two days before food expires", "reminders", 2),
    ("Remind members 48 hours before a booking starts", "reminders", 2),
    ("Reminder a fortnight before each renewal", "reminders", 14),
    ("Alert twenty-one days before a licence expires", "reminders", 21),
])
def test_reminder_days_read_number_words_and_hours(feature, kind, days):
    spec = plan_builtin({"title": "T", "description": "", "key_features": [feature]})
    r = next(c for c in spec.capabilities if c.kind == kind)
    assert r.days == days


def test_keeping_dated_records_is_records_and_unpaid_is_no_payment():
    idea = {"title": "FridgeLink", "description": "Community fridges log food donations.",
            "key_features": ["Log food donations with expiry dates", "Expiry alerts two days before food expires",
                             "Overdue alerts for unpaid donation fees",
                             "Public map page of fridges with a QR code on each fridge",
                             "Book kiln firings without double booking"]}
    spec = plan_builtin(idea)
    kinds_ = [[next(c.kind for c in spec.capabilities if c.id == i) for i in t.capabilities] for t in spec.trace]
    assert kinds_[0] == ["records"] and kinds_[1] == ["reminders"] and kinds_[2] == ["reminders"]
    rem = next(c for c in spec.capabilities if c.id == spec.trace[1].capabilities[0])
    assert (rem.entity, rem.field, rem.days) == ("donation", "expiry_date", 2)
    page = next(c for c in spec.capabilities if c.kind == "public_page")
    assert page.entity == "fridge" and page.qr
    book = next(c for c in spec.capabilities if c.kind == "booking")
    assert (book.entity, book.resource) == ("firing", "kiln")
    names = {e.name for e in spec.entities} | {f.name for e in spec.entities for f in e.fields}
    assert not names & {"map", "double", "qr_code", "booking", "page"}
    assert not any(c.kind == "payments" for c in spec.capabilities)  # "unpaid fees" asks for no checkout


def test_catalogue_money_fields_need_money_in_the_idea():
    spec = plan_builtin({"title": "Fridge", "description": "Volunteers log food donations.",
                         "key_features": ["Log food donations with expiry dates"]})
    assert not [f.name for f in spec.entity("donation").fields if f.type == "money"]


@pytest.mark.parametrize("feature, wanted, unwanted", [
    ("Export bookings as CSV", "export", "booking"),
    ("Upload each contract as PDF", "attachments", "export"),
    ("Residents file incident reports with photos", "attachments", "export"),
    ("Overdue alerts for unpaid fees", "reminders", "payments"),
    ("Log deliveries with expiry dates", "records", "reminders"),
    ("Inspectors move repairs from reported to scheduled to fixed", "workflow", "booking"),
])
def test_a_mentioned_word_does_not_ask_for_its_behaviour(feature, wanted, unwanted):
    spec = plan_builtin({"title": "T", "description": "", "key_features": [feature]})
    got = {c.kind for c in spec.capabilities}
    assert wanted in got and unwanted not in got, got


def test_a_word_that_can_be_a_verb_is_a_record_when_the_idea_counts_it():
    """'bill', like 'order' or 'post', is a noun in "each bill" and "split bills": the charges of a ledger."""
    spec = plan_builtin({
        "title": "RentFair",
        "description": ("Housemates argue about bills. RentFair records each bill with its amount and due date, "
                        "splits bills between housemates, and reminds everyone three days before a bill is due."),
        "target_audience": "shared houses",
        "key_features": ["Split bills between housemates", "Reminder three days before each bill is due",
                         "Settle up who owes whom"],
    })
    assert spec_problems(spec) == []
    assert {"bill", "housemate"} <= {e.name for e in spec.entities}
    ledger = next(c for c in spec.capabilities if c.kind == "ledger")
    assert (ledger.charge_entity, ledger.participant_entity) == ("bill", "housemate")
    reminder = next(c for c in spec.capabilities if c.kind == "reminders")
    assert (reminder.entity, reminder.rule, reminder.days) == ("bill", "due_in_days", 3)
    assert all(t.status in ("planned", "partial") for t in spec.trace)


def test_a_booking_the_idea_names_is_the_booked_record():
    """'reserve a boat ... export reservations': the reservations are the bookings of the boat, not a new table."""
    spec = plan_builtin({
        "title": "BoatShare",
        "description": "Sailing club members reserve a boat for a time slot and the club exports reservations.",
        "target_audience": "sailing clubs",
        "key_features": ["Reserve a boat for a time slot without clashes", "Export reservations as CSV"],
    })
    assert spec_problems(spec) == []
    booking = next(c for c in spec.capabilities if c.kind == "booking")
    assert (booking.entity, booking.resource) == ("reservation", "boat")
    assert "boat_booking" not in {e.name for e in spec.entities}
    export = next(c for c in spec.capabilities if c.kind == "export")
    assert export.entities == ["reservation"], "the export lists the bookings that exist"
