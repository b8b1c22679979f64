"""Booking and enrolment words (issue 17, decision 0059), on ideas written for this file (in no corpus file, no
word list and not in the held-out set): a generic person word ("people", "users", "anyone") names whoever uses
the app (the role a capability records as acting), never a record of its own; "bookings" in a feature names the
booking capability's booked record whatever the idea calls it."""

from __future__ import annotations

from shared.engine.appspec import spec_problems
from shared.engine.planner import plan_builtin

PRINTMAKING = {"title": "Inky Saturdays", "description": "A printmaking studio runs weekend linocut workshops.",
               "key_features": ["Workshops with title, date and fee",
                                "People book a place on a workshop",
                                "A workshop takes at most 8 learners",
                                "Learners rate the workshop from 1 to 5"]}

KAYAKS = {"title": "Paddle Out", "description": "A river kayak club lets its members take out club kayaks.",
          "key_features": ["Members book a kayak for an outing",
                           "Export the month's bookings as a CSV"]}


def _caps(spec, i, kind):
    return [c for c in (spec.capability(x) for x in spec.trace[i].capabilities) if c.kind == kind]


def test_people_who_book_a_place_are_the_role_that_enrols_not_a_record():
    spec = plan_builtin(PRINTMAKING)
    assert spec_problems(spec) == []
    assert spec.entity("person") is None and spec.entity("people") is None
    t = spec.trace[1]
    (cap,) = _caps(spec, 1, "enrolment")
    person = spec.entity(cap.entity).field(cap.person_field).ref
    assert spec.role(person) is not None
    assert ("people", f"role:{person}") in [(u.word, u.maps_to) for u in t.reading.words]
    assert t.status == "planned", t.not_built


def test_a_generic_person_word_with_no_capability_person_is_whoever_uses_the_app():
    spec = plan_builtin({"title": "Fern Log", "description": "A fern nursery keeps a list of its fern varieties.",
                         "key_features": ["Fern varieties with name, frond length and hardiness",
                                          "Anyone can search fern varieties by hardiness"]})
    assert spec.entity("anyone") is None and spec.entity("person") is None
    uses = dict((u.word, u.maps_to) for u in spec.trace[1].reading.words)
    assert uses.get("anyone") in ("app",) or uses.get("anyone", "").startswith("role:"), uses


def test_the_months_bookings_are_the_booked_records_whatever_they_are_called():
    spec = plan_builtin(KAYAKS)
    assert spec_problems(spec) == []
    (booking,) = _caps(spec, 0, "booking")
    assert spec.entity("booking") is None  # no second, empty record for the word "bookings"
    (export,) = _caps(spec, 1, "export")
    assert export.entities == [booking.entity]
    t = spec.trace[1]
    assert ("bookings", f"entity:{booking.entity}") in [(u.word, u.maps_to) for u in t.reading.words]
    assert t.status == "planned", t.not_built


def test_a_booking_record_the_founder_describes_is_kept():
    spec = plan_builtin({"title": "Pitch Up", "description": "A campsite takes bookings for its pitches.",
                         "key_features": ["Bookings with guest name, arrival date and number of nights",
                                          "Guests reserve a pitch for a booking"]})
    assert spec.entity("booking") is not None


def test_the_noun_before_checklist_names_what_its_items_are_not_a_record():
    spec = plan_builtin({"title": "Belay Ready", "description": "A climbing wall instructor tracks which techniques "
                                                                "each climber can do before lead climbing.",
                         "key_features": ["Climbers with name and phone",
                                          "Techniques checklist per climber: figure eight knot, belay, lower off",
                                          "A climber cannot book lead climbing until every technique is ticked"]})
    assert spec_problems(spec) == []
    (cap,) = _caps(spec, 1, "checklist")
    assert cap.entity == "climber" and len(cap.items) == 3
    t = spec.trace[1]
    assert ("techniques", f"capability:{cap.id}") in [(u.word, u.maps_to) for u in t.reading.words]
    assert t.status == "planned", t.not_built


def test_a_checklist_named_by_its_record_stays_on_that_record():
    spec = plan_builtin({"title": "Hull Check", "description": "A sailing club checks its dinghies before lending.",
                         "key_features": ["Dinghies with name and sail number",
                                          "Dinghy checklist: bung in, rudder pin, mainsheet"]})
    (cap,) = _caps(spec, 1, "checklist")
    assert cap.entity == "dinghy"
    assert ("dinghy", "entity:dinghy") in [(u.word, u.maps_to) for u in spec.trace[1].reading.words]
