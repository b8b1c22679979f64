"""The domain model from the whole idea (issue 17): record definitions read whole, limits bound to the records and
periods the words name. Every idea here is written for this file and appears in no word list of the planner."""

from __future__ import annotations

import pytest

from shared.engine.criteria.certify import certify
from shared.engine.planner import plan_builtin
from shared.engine.planner.definitions import read


def idea(features, title="Test", desc="", audience="small teams"):
    return {"title": title, "description": desc, "target_audience": audience, "key_features": features,
            "constraints": {}}


def fields(spec, ent):
    e = spec.entity(ent)
    assert e is not None, [x.name for x in spec.entities]
    return {f.name: f for f in e.fields}


def status(spec, i):
    return spec.trace[i].status, spec.trace[i].not_built


def test_an_attribute_list_lands_whole_on_the_record_it_defines_with_its_parent():
    """Records with only a title and no links (issue table row 1): observations per hedge with typed attributes."""
    spec = plan_builtin(idea(["Hedgerows with parish, length in metres and date planted",
                              "Surveys per hedgerow with nesting birds seen, dormouse count and gap width",
                              "Volunteers log surveys on a phone"], "HedgeWatch",
                             "Conservation groups survey hedgerows each spring."))
    survey = fields(spec, "survey")
    assert survey["hedgerow_id"].type == "reference" and survey["hedgerow_id"].ref == "hedgerow"
    assert survey["hedgerow_id"].required
    assert survey["nesting_birds_seen"].type == "boolean"
    assert survey["dormouse_count"].type == "integer"
    assert "gap_width" in survey
    hedge = fields(spec, "hedgerow")
    assert hedge["length"].type == "decimal" and hedge["length"].label == "Length (metres)"
    assert hedge["date_planted"].type == "date"
    assert not {"dormouse_count", "gap_width", "nesting_birds_seen"} & set(hedge)  # nothing scattered
    assert status(spec, 0)[0] == "planned" and status(spec, 1)[0] == "planned"


def test_a_word_inside_an_attribute_phrase_is_no_record():
    """ "Skipper name" is a field of the charter, not a skipper record."""
    spec = plan_builtin(idea(["Charters per yacht with skipper name, harbour and departure time",
                              "Yachts with berth number and length in feet"], "HarbourBook"))
    assert spec.entity("skipper") is None
    assert "skipper_name" in fields(spec, "charter")
    assert fields(spec, "charter")["departure_time"].type == "datetime"
    assert fields(spec, "yacht")["berth_number"].type == "text"  # an identifier, not a count


def test_a_modified_record_keeps_the_founders_words_as_its_label_and_one_name():
    spec = plan_builtin(idea(["Repair jobs with address, fault and callout fee",
                              "Plumbers send quotes on a job with price"], "PipeDesk"))
    names = [e.name for e in spec.entities]
    assert "job" in names and "repair_job" not in names
    assert spec.entity("job").label == "Repair job"
    assert fields(spec, "quote")["job_id"].ref == "job"


@pytest.mark.parametrize("text,expected", [
    ("Boats with name and number of berths", {"boat": {"berths": "integer"}}),
    ("Donors with name, phone numbers and date of birth", {"donor": {"phone": "phone", "date_of_birth": "date"}}),
    ("Lots per auction with reserve price and photos", {"lot": {"reserve_price": "money", "photo": "file",
                                                                "auction_id": "reference"}}),
    # typed by the head, not by what follows it (issue 17 probe: "weight on arrival" was a date field)
    ("Ferrets with name, weight on arrival and price per week", {"ferret": {"weight_on_arrival": "decimal",
                                                                             "price_per_week": "money"}}),
    # a unit alone is a measure in that unit ("weigh-ins ... with date and grams" stored free text)
    ("Milkings per goat with date and litres", {"milking": {"litres": "decimal", "date": "date"}}),
    # "paid or unpaid" is one yes/no, not a choice that made the whole definition unread
    ("Lessons per pupil with date and paid or unpaid", {"lesson": {"paid": "boolean", "date": "date"}}),
    ("Tastings per cheese with score and approved or not", {"tasting": {"approved": "boolean"}}),
    # "dates" of one record: when it starts and ends
    ("Sailing trips with skipper, dates and harbour", {"trip": {"start_date": "date", "end_date": "date"}}),
    # a two-word unit, and "<attribute> yes/no" (17h probe: size and heated stored as free text)
    ("Lockers with a floor area in square metres and an alarmed yes/no", {"locker": {"floor_area": "decimal",
                                                                                     "alarmed": "boolean"}}),
])
def test_attribute_types_come_from_english(text, expected):
    spec = plan_builtin(idea([text]))
    for ent, want in expected.items():
        got = fields(spec, ent)
        assert {k: got[k].type for k in want if k in got} == want, {k: v.type for k, v in got.items()}


def test_a_clause_or_a_page_is_no_definition():
    assert read(idea(["Members book a desk with start and end time"]), set()) == []
    assert read(idea(["Public gallery page of paintings with a QR code on each painting"]), set()) == []
    assert read(idea(["Inspections with pass or fail"]), set()) == []


def test_a_limit_per_day_counts_rows_of_the_same_day():
    spec = plan_builtin(idea(["Ovens with name and shelf count", "Bakers book an oven for a bake with date",
                              "Each oven takes only one bake per day"], "OvenShare"))
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    assert (cap.entity, cap.parent_field, cap.max, cap.period) == ("bake", "oven_id", 1, "day")
    assert fields(spec, "bake")[cap.date_field].type in ("date", "datetime")
    assert status(spec, 2)[0] == "planned"


def test_a_capacity_the_words_name_is_the_parents_own_field():
    spec = plan_builtin(idea(["Minibuses with registration and seat count",
                              "Each minibus carries no more pupils than its seat count"], "SchoolRun"))
    assert spec.entity("minibus") is not None and spec.entity("carry") is None
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    assert cap.max_field == "seat_count" and cap.max is None
    assert status(spec, 1)[0] == "planned", status(spec, 1)


def test_people_counted_per_record_are_counted_through_their_sign_ups():
    """ "At most 4 helpers per stall": a helper helps at many stalls, so the sign-ups are counted per stall."""
    spec = plan_builtin(idea(["Stalls with name and pitch", "Each stall needs at most 4 helpers",
                              "Helpers sign up for stalls and see their own sign-ups"], "FeteDay"))
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    join = spec.entity(cap.entity)
    refs = {f.ref for f in join.fields if f.type == "reference"}
    assert refs == {"stall", "helper"} and cap.parent_field == "stall_id" and cap.max == 4
    assert status(spec, 1)[0] == "planned", status(spec, 1)


def test_a_limit_with_another_number_is_not_certified():
    spec = plan_builtin(idea(["Ovens with name and shelf count", "Bakers book an oven for a bake with date",
                              "Each oven takes only one bake per day"], "OvenShare"))
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    assert certify(spec).trace[2].status == "planned"
    cap.max = 2
    assert certify(spec).trace[2].status == "partial"


def test_owners_named_by_the_idea_are_people_with_their_own_rows_and_reminders():
    """The people and reads rows of the issue's table: "owners see only their own horses" is possible, and the
    reminder goes to the horse's owner by text, not to whoever created the record."""
    spec = plan_builtin(idea(["Horse records with breed, passport number and owner",
                              "Farrier visits per horse with date and shoes fitted",
                              "Owners see only their own horses",
                              "Text the owner three days before a booked farrier visit"], "HoofNote",
                             "A livery yard keeps each horse's farrier visits."))
    horse = fields(spec, "horse")
    assert horse["horse_owner_id"].ref == "horse_owner"
    assert "email" in fields(spec, "horse_owner") and "phone" in fields(spec, "horse_owner")
    role = spec.role("horse_owner")
    assert role is not None and set(role.read_own) >= {"horse"}, role
    rem = next(c for c in spec.capabilities if c.kind == "reminders")
    assert rem.channel == "sms" and rem.recipient_field.endswith("horse_owner_id.phone"), rem
    assert [t.status for t in spec.trace][2] == "planned", spec.trace[2].not_built
    own = [c for t in spec.trace for c in t.criteria if c.template == "records.own_rows"]
    assert own and own[0].params["role"] == "horse_owner"


def test_people_who_see_what_is_assigned_to_them_are_linked_by_their_sign_in_email():
    spec = plan_builtin(idea(["Boiler jobs with address, boiler model and fault",
                              "Engineers see only the boiler jobs assigned to them"], "HeatDesk"))
    job = fields(spec, "boiler_job")
    assert job["engineer_id"].ref == "engineer"
    assert fields(spec, "engineer")["email"].type == "email"
    assert spec.role("engineer").read_own == ["boiler_job", "engineer"]  # and their own person record only
    assert spec.trace[1].status == "planned", spec.trace[1].not_built


def test_every_features_page_is_reachable_from_navigation():
    """Feature pages nothing links to (issue 17): each traced feature's page is a navigation item, with a short
    label, never the feature sentence."""
    import json
    from pathlib import Path

    corpus = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "ideas.json").read_text())["ideas"]
    for one in [i for i in corpus if i.get("expect") == "go"]:
        spec = plan_builtin(one)
        pages = {p.id: p for p in spec.pages}
        in_nav = {n.page for n in spec.navigation}
        labels = [n.label for n in spec.navigation]
        assert all(lbl not in spec.features for lbl in labels), (one["id"], labels)
        for t in spec.trace:
            if not t.capabilities:
                continue
            reach = set()
            for cid in t.capabilities:
                cap = spec.capability(cid)
                reach |= {p.id for p in pages.values() if p.capability == cid}
                ent = spec.entity(getattr(cap, "entity", "") or "")
                if ent is not None:
                    reach.add(ent.plural)
            assert reach & in_nav, (one["id"], t.feature, reach)


def test_a_passive_rule_with_a_condition_sets_the_records_status_by_itself():
    """No "when this happens, do that" (issue table): "<records> are <done> when <a number crosses a line>"."""
    spec = plan_builtin(idea(["Climbs with crag, grade and date", "Climbs are postponed when the rain chance goes "
                              "above 60 percent"], "CragDay"))
    cap = next(c for c in spec.capabilities if c.kind == "trigger")
    cond = cap.conditions[0]
    assert (cap.entity, cond.field, cond.op, cond.number) == ("climb", "rain_chance", "gt", 60.0), cap
    assert (cap.action.type, cap.action.field, cap.action.value) == ("set", "status", "postponed")
    assert spec.trace[1].status == "planned", spec.trace[1].not_built


def test_two_limits_on_the_same_link_are_two_rules():
    spec = plan_builtin(idea(["Rooms with name", "Each room takes at most 3 meetings per day",
                              "Each room takes at most 10 meetings per week"], "RoomRota"))
    limits = sorted((c.max, c.period) for c in spec.capabilities if c.kind == "limit")
    assert limits == [(3, "day"), (10, "week")], limits


def test_overdue_by_a_number_of_days_carries_the_number():
    """ "More than 10 days overdue" is not "overdue": the reminder waits the days the founder gave."""
    spec = plan_builtin(idea(["Rentals of costumes with due date and renter email",
                              "Email the renter when a rental is more than 10 days overdue"], "CostumeRack"))
    cap = next(c for c in spec.capabilities if c.kind == "reminders")
    assert (cap.rule, cap.days) == ("overdue", 10), cap
    assert spec.trace[1].status == "planned", spec.trace[1].not_built
    cap.days = 3
    from shared.engine.criteria.certify import certify

    assert certify(spec).trace[1].status == "partial"  # another number is not the founder's rule


def test_a_word_usually_an_attribute_is_a_record_when_it_has_a_parent_and_attributes_of_its_own():
    """"Mileage per van with date and odometer reading": the mileage entries are records of each van, not a
    number on the van."""
    spec = plan_builtin(idea(["Vans with registration and make", "Mileage per van with date and odometer reading"]))
    got = fields(spec, "mileage")
    assert got["van_id"].type == "reference" and got["van_id"].ref == "van" and got["van_id"].required
    assert {"date", "odometer_reading"} <= set(got), sorted(got)
    assert "mileage" not in fields(spec, "van")
    assert status(spec, 1)[0] == "planned"


def test_a_preposition_a_pronoun_or_a_whatever_word_is_never_a_record():
    """Junk records (issue table row 7; 17g probe: "After", "Whatever", "Themselves" tables)."""
    spec = plan_builtin(idea(["Bakers enter one cake per round, whatever the category",
                              "Judges score each cake out of 20 after each round",
                              "Nobody judges themselves or their own bakery"], "BakeOff",
                             "A village show runs a baking contest."))
    names = {e.name for e in spec.entities}
    assert not names & {"after", "whatever", "themselve", "themselves", "nobody"}, names
    assert "cake" in names


def test_a_record_ordered_by_its_attributes_is_defined_by_them():
    """ "<people> <verb> a <record> by a, b and c": the words after "by" are the record's attributes, and the record
    keeps the people who ordered it; sorting or filtering "by" defines nothing."""
    spec = plan_builtin(idea(["Gardeners order a compost bag by weight, delivery date and whether it needs a pallet",
                              "Gardeners see the compost bags they ordered"], "MulchRun"))
    bag = fields(spec, "compost_bag") if spec.entity("compost_bag") else fields(spec, "bag")
    assert bag["weight"].type == "decimal"
    assert bag["delivery_date"].type == "date"
    assert bag["needs_pallet"].type == "boolean"
    assert status(spec, 0)[0] == "planned", status(spec, 0)
    assert read(idea(["Members sort recipes by cuisine and cooking time"]), set()) == []


def test_a_participle_between_the_record_and_its_parent_is_no_part_of_either():
    spec = plan_builtin(idea(["Depots with town and manager", "Ladders kept per depot with rung count and date bought"],
                             "LadderLog"))
    ladder = fields(spec, "ladder")
    assert ladder["depot_id"].ref == "depot" and ladder["depot_id"].required
    assert ladder["rung_count"].type == "integer" and ladder["date_bought"].type == "date"
    assert "rung_count" not in fields(spec, "depot")
    assert status(spec, 1)[0] == "planned", status(spec, 1)


@pytest.mark.parametrize("text,ent,want", [
    # the record as the subject of "logs", "stores", ...; a pair of words shares the head after them
    ("Each dive logs max and min temperature and whether the buddy was certified",
     "dive", {"max_temperature": "decimal", "min_temperature": "decimal", "buddy_certified": "boolean"}),
    ("Every delivery stores drop time, parcel count and whether it was signed for",
     "delivery", {"drop_time": "datetime", "parcel_count": "integer", "signed_for": "boolean"}),
    # "a yes/no X", "a yes-or-no X": X is a yes/no
    ("Allotment plots with size, a yes/no water tap and a yes-or-no shed",
     "plot", {"water_tap": "boolean", "shed": "boolean"}),
    # a plural noun after an adjective of availability is how many ("free pitches")
    ("Campsites with region, free pitches and opening date",
     "campsite", {"free_pitches": "integer", "opening_date": "date"}),
    # "start and end times" of a record nobody books: two datetimes named by the founder's words
    ("Rehearsals with start and end times and a venue", "rehearsal", {"start_time": "datetime",
                                                                      "end_time": "datetime"}),
])
def test_more_shapes_of_attributes(text, ent, want):
    spec = plan_builtin(idea([text]))
    got = fields(spec, ent)
    assert {k: got[k].type for k in want if k in got} == want, {k: v.type for k, v in got.items()}
    assert status(spec, 0)[0] == "planned", status(spec, 0)


def test_a_record_that_holds_a_list_is_defined_by_it_but_a_rule_or_one_thing_it_has_is_not():
    got = read(idea(["Each kayak holds paddle count and hull colour"]), set())
    assert [(d.record, [(a.name, a.type) for a in d.attrs]) for d in got] == [
        ("kayak", [("paddle_count", "integer"), ("hull_colour", "text")])]
    assert read(idea(["Each van holds at most 3 pallets and 2 crates"]), set()) == []
    assert read(idea(["Each stall has a manager"]), set()) == []
    assert read(idea(["Cocktails with spirits and garnishes"]), set())[0].attrs[0].type != "integer"


def test_a_booked_start_time_is_the_bookings_own_start():
    """ "Bands book a studio for a session with start and end time": the session's start and end are the ones the
    booking checks for overlaps, required, and not a second pair beside them."""
    spec = plan_builtin(idea(["Bands book a studio for a session with start and end time"], "JamRoom"))
    cap = next(c for c in spec.capabilities if c.kind == "booking")
    session = fields(spec, cap.entity)
    dt = sorted(n for n, f in session.items() if f.type == "datetime")
    assert dt == sorted([cap.start_field, cap.end_field]), dt
    assert session[cap.start_field].required and session[cap.end_field].required
    assert session[cap.start_field].label == "Start time"


def test_a_verb_after_a_compound_singular_subject_is_no_record():
    """"A padel club books its courts" made a Book record (title, author) out of the verb; and "until their
    membership is approved" is a yes/no of the member the guard reads."""
    spec = plan_builtin(idea(["Members book a court for an hour",
                              "A member cannot book a court until their membership is approved"], "Padel",
                             "A padel club books its courts."))
    assert "book" not in {e.name for e in spec.entities}
    guard = next(c for c in spec.capabilities if c.kind == "guard")
    assert guard.test == "is_true" and spec.entity("member").field(guard.test_field).type == "boolean"
    assert spec.trace[1].status == "planned", spec.trace[1].not_built
