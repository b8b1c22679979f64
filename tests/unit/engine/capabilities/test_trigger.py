"""Capability `trigger`: name checks, routes, and the generated app's own trigger tests in five ideas — a van fleet
(a safety defect creates a repair ticket for its van; an open safety defect blocks the van from being available),
a weighbridge (a load over 3500 kg needs a second weighing), crane inspections (a failed one takes the crane out of
service), allotments (an overdue plot tells its holder) and a clinic (a serious incident tells every manager)."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec.model import AppSpec, RuleReading, spec_problems
from shared.engine.capabilities import trigger

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def _fleet(caps):
    van = entity("van", "vans", [f("plate", required=True, unique=True),
                                 f("status", "enum", values=["available", "in_use", "in_repair"], default="available")],
                 display="plate")
    defect = entity("defect", "defects", [
        f("summary", required=True, max=120), f("van_id", "reference", ref="van", required=True),
        f("severity", "enum", values=["minor", "safety"], required=True, default="minor"),
        f("status", "enum", values=["open", "fixed"], default="open")], display="summary")
    ticket = entity("repair_ticket", "repair_tickets", [
        f("title", required=True, max=200), f("van_id", "reference", ref="van", required=True),
        f("stage", "enum", values=["new", "in_progress", "done"], required=True), f("urgent", "boolean")])
    roles = [role("driver", ["van", "defect", "repair_ticket"], ["defect"]),
             role("mechanic", ["van", "defect", "repair_ticket"], ["van", "repair_ticket", "defect"]),
             role("accountant", ["van"])]
    return build("Van Care", "A delivery company keeps its vans safe.", [van, defect, ticket], roles, caps)


def van_repairs():
    """A safety defect reported on a van opens a repair ticket for that van (drivers may not write tickets)."""
    return _fleet([{"kind": "trigger", "id": "defect_ticket", "label": "A safety defect opens a repair ticket",
                    "entity": "defect", "conditions": [{"field": "severity", "op": "in", "values": ["safety"]}],
                    "action": {"type": "create", "entity": "repair_ticket", "link_field": "van_id",
                               "via_field": "van_id", "values": {"stage": "new", "urgent": True},
                               "copy_fields": {"title": "summary"}}}])


def van_block():
    """While a van has an open safety defect it cannot be made available."""
    return _fleet([{"kind": "trigger", "id": "unsafe_van", "label": "A van with an open safety defect stays off the road",
                    "entity": "defect", "conditions": [{"field": "severity", "op": "in", "values": ["safety"]},
                                                       {"field": "status", "op": "in", "values": ["open"]}],
                    "action": {"type": "block", "via_field": "van_id", "field": "status",
                               "values": ["available"]}}])


def weighbridge():
    """A load heavier than 3500 kg is set to "second weighing needed"."""
    load = entity("load", "loads", [
        f("reference", required=True), f("weight_kg", "decimal", required=True, min=0, max=60000),
        f("status", "enum", values=["weighed", "second_weighing_needed", "cleared"], default="weighed")],
        display="reference")
    roles = [role("operator", ["load"], ["load"]), role("haulier", ["load"])]
    caps = [{"kind": "trigger", "id": "heavy_load", "label": "Heavy loads are weighed twice", "entity": "load",
             "conditions": [{"field": "weight_kg", "op": "gt", "number": 3500}],
             "action": {"type": "set", "field": "status", "value": "second_weighing_needed"}}]
    return build("Weigh In", "A quarry weighbridge weighs every lorry load.", [load], roles, caps)


def crane_inspections():
    """A failed inspection takes its crane out of service (inspectors may not edit cranes themselves)."""
    crane = entity("crane", "cranes", [f("name", required=True),
                                       f("status", "enum", values=["in_service", "out_of_service"],
                                         default="in_service")])
    insp = entity("inspection", "inspections", [
        f("note", required=True), f("crane_id", "reference", ref="crane", required=True),
        f("result", "enum", values=["pending", "passed", "failed"], default="pending")], display="note")
    roles = [role("inspector", ["crane", "inspection"], ["inspection"]), role("site_manager", ["crane"], ["crane"])]
    caps = [{"kind": "trigger", "id": "failed_crane", "label": "A failed inspection takes the crane out of service",
             "entity": "inspection", "on": "change",
             "conditions": [{"field": "result", "op": "in", "values": ["failed"]}],
             "action": {"type": "set", "via_field": "crane_id", "field": "status", "value": "out_of_service"}}]
    return build("Lift Safe", "A building site inspects its tower cranes.", [crane, insp], roles, caps)


def allotments():
    """A plot whose rent becomes overdue tells its holder by email."""
    holder = entity("plot_holder", "plot_holders", [f("full_name", required=True), f("email", "email", required=True)])
    plot = entity("plot", "plots", [
        f("plot_number", required=True), f("holder_id", "reference", ref="plot_holder", required=True),
        f("rent_status", "enum", values=["paid", "due", "overdue"], default="paid")], display="plot_number")
    roles = [role("secretary", ["plot_holder", "plot"], ["plot_holder", "plot"]), role("member", ["plot"])]
    caps = [{"kind": "trigger", "id": "overdue_rent", "label": "Tell plot holders when rent is overdue",
             "entity": "plot", "conditions": [{"field": "rent_status", "op": "in", "values": ["overdue"]}],
             "action": {"type": "notify", "via_field": "holder_id", "email_field": "email"}}]
    return build("Plot Rent", "An allotment society collects plot rents.", [holder, plot], roles, caps)


def clinic_incidents():
    """A new incident of severity 3 or more tells every manager."""
    inc = entity("incident", "incidents", [f("what_happened", required=True),
                                           f("severity", "integer", required=True, min=1, max=5)])
    roles = [role("nurse", ["incident"], ["incident"]), role("manager", ["incident"]), role("porter", [])]
    caps = [{"kind": "trigger", "id": "serious_incident", "label": "Managers hear of serious incidents",
             "entity": "incident", "on": "create", "conditions": [{"field": "severity", "op": "gte", "number": 3}],
             "action": {"type": "notify", "role": "manager", "message": "A serious incident was reported."}}]
    return build("Safe Ward", "A clinic reports incidents on its wards.", [inc], roles, caps)


def watch_repairs():
    """A watch repairer texts the watch's owner, at the mobile number on the owner's record, when a repair is
    ready: the channel is SMS, so the outbox holds a text to that number."""
    owner = entity("watch_owner", "watch_owners", [f("full_name", required=True), f("mobile", "phone", required=True)])
    repair = entity("repair", "repairs", [
        f("watch", required=True), f("customer_id", "reference", ref="watch_owner", required=True),
        f("stage", "enum", values=["booked_in", "in_repair", "ready"], default="booked_in")], display="watch")
    roles = [role("bench", ["watch_owner", "repair"], ["watch_owner", "repair"])]
    caps = [{"kind": "trigger", "id": "ready_text", "label": "Text the owner when their watch is ready",
             "entity": "repair", "conditions": [{"field": "stage", "op": "in", "values": ["ready"]}],
             "action": {"type": "notify", "channel": "sms", "via_field": "customer_id", "phone_field": "mobile"}}]
    return build("Tick Tock", "A watch repairer tracks repairs.", [owner, repair], roles, caps)


def clinic_texts():
    """A serious incident texts every manager at the phone each gave on their profile (users have one, optional);
    a manager without one is skipped and the firing says so; porters, who gave one too, are not texted."""
    return S.with_cap(clinic_incidents(), action={"type": "notify", "channel": "sms", "role": "manager"})


def choir_tour():
    """A fan-out through a join: when a concert is cancelled, each singer with a seat on it is texted once (seats
    link a singer to a concert); singers seated only at another concert are not."""
    singer = entity("singer", "singers", [f("full_name", required=True), f("mobile", "phone")])
    concert = entity("concert", "concerts", [f("venue", required=True),
                                             f("status", "enum", values=["scheduled", "cancelled"],
                                               default="scheduled")], display="venue")
    seat = entity("seat", "seats", [f("part", required=True), f("concert_id", "reference", ref="concert", required=True),
                                    f("singer_id", "reference", ref="singer", required=True)], display="part")
    roles = [role("librarian", ["singer", "concert", "seat"], ["singer", "concert", "seat"]),
             role("singer", ["concert"])]
    caps = [{"kind": "trigger", "id": "cancelled_text", "label": "Text the singers when a concert is cancelled",
             "entity": "concert", "conditions": [{"field": "status", "op": "in", "values": ["cancelled"]}],
             "action": {"type": "notify", "channel": "sms", "join_entity": "seat", "join_field": "concert_id",
                        "via_field": "singer_id", "phone_field": "mobile"}}]
    return build("Choir Tour", "A touring choir seats its singers at concerts.", [singer, concert, seat], roles, caps)


IDEAS = [van_repairs, van_block, weighbridge, crane_inspections, allotments, clinic_incidents, watch_repairs,
         clinic_texts, choir_tour]


def lost_property(*caps):
    """A lost-property office: found items unclaimed after 30 days are marked for donation; a claim left waiting
    more than 5 days tells every coordinator; an item still unclaimed after 90 days gets a disposal record."""
    item = entity("found_item", "found_items", [
        f("description", required=True, max=200), f("found_on", "date", required=True),
        f("status", "enum", values=["unclaimed", "claimed", "for_donation"], default="unclaimed")],
        display="description")
    claim = entity("claim", "claims", [
        f("claimant", required=True), f("item_id", "reference", ref="found_item", required=True),
        f("status", "enum", values=["waiting", "approved", "refused"], default="waiting")], display="claimant")
    disposal = entity("disposal", "disposals", [
        f("note", required=True, max=200), f("item_id", "reference", ref="found_item", required=True)], display="note")
    roles = [role("desk", ["found_item", "claim", "disposal"], ["found_item", "claim"]),
             role("coordinator", ["found_item", "claim", "disposal"]), role("visitor", ["found_item"])]
    return build("Lost and Found", "A station's lost-property office logs found items and claims.",
                 [item, claim, disposal], roles, list(caps) or [DONATION, STALE_CLAIM, DISPOSAL])


DONATION = {"kind": "trigger", "id": "donate_unclaimed", "label": "Items unclaimed after 30 days are marked for "
            "donation", "entity": "found_item", "on": "time",
            "conditions": [{"field": "status", "op": "in", "values": ["unclaimed"]},
                           {"field": "found_on", "op": "older_than_days", "number": 30}],
            "action": {"type": "set", "field": "status", "value": "for_donation"}}
STALE_CLAIM = {"kind": "trigger", "id": "stale_claims", "label": "Tell the coordinator when a claim has waited more "
               "than 5 days", "entity": "claim", "on": "time",
               "conditions": [{"field": "created_at", "op": "older_than_days", "number": 5},
                              {"field": "status", "op": "in", "values": ["waiting"]}],
               "action": {"type": "notify", "role": "coordinator"}}
DISPOSAL = {"kind": "trigger", "id": "dispose_old", "label": "Items found 90 days ago get a disposal record",
            "entity": "found_item", "on": "time",
            "conditions": [{"field": "found_on", "op": "older_than_days", "number": 90}],
            "action": {"type": "create", "entity": "disposal", "link_field": "item_id",
                       "copy_fields": {"note": "description"}}}


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_trigger_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 5, run.output
    assert set(mine.values()) == {"passed"}, mine
    for must in ("test_a_record_meeting_the_condition_fires_once", "test_concurrent_writers_fire_once",
                 "test_roles_without_access_are_refused", "test_a_refused_write_fires_nothing"):
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output  # the generic CRUD tests still pass
    assert len(run.results) > len(mine)


def test_each_idea_runs_the_tests_of_its_action():
    tests = {idea.__name__: S.compile_spec(idea())[1][f"tests/test_cap_{idea()['capabilities'][0]['id']}.py"]
             .decode() for idea in IDEAS}
    assert "def test_a_block_holds_on_every_path_and_ends_with_the_condition" in tests["van_block"]
    assert "def test_a_block_holds" not in tests["van_repairs"]
    assert "def test_the_trigger_acts_for_a_writer_who_may_not_do_it_directly" in tests["van_repairs"]
    assert "def test_the_trigger_acts_for_a_writer_who_may_not_do_it_directly" in tests["crane_inspections"]
    assert "def outbox" in tests["allotments"] and "def outbox" not in tests["weighbridge"]


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(van_repairs())
    routes = trigger.routes(spec.capabilities[0], spec)
    assert {(r.method, r.path) for r in routes} == {("GET", "/api/defect_ticket/firings"), ("GET", "/defect_ticket/")}
    assert all(r.roles == ["owner", "driver", "mechanic"] for r in routes)  # readers of defects, not the accountant
    spec = AppSpec.model_validate(allotments())
    assert ("GET", "/api/overdue_rent/outbox", ("owner",)) in {(r.method, r.path, tuple(r.roles))
                                                              for r in trigger.routes(spec.capabilities[0], spec)}
    _, files = S.compile_spec(allotments())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == 3


def test_compiling_twice_gives_the_same_bytes():
    for idea in (van_block, allotments):
        a, b = S.compile_spec(idea())[1], S.compile_spec(idea())[1]
        mine = [n for n in a if idea()["capabilities"][0]["id"] in n]
        assert len(mine) == 3
        assert all(a[n] == b[n] for n in mine)


def test_each_idea_has_no_problems_and_reads_as_a_rule():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], (idea.__name__, spec_problems(spec))
    spec = AppSpec.model_validate(van_block())
    assert trigger.describe_rule(spec.capabilities[0], spec) == (
        "when a defect's severity is safety and status is open, its van cannot have status available")
    spec = AppSpec.model_validate(weighbridge())
    assert trigger.describe_rule(spec.capabilities[0], spec) == (
        "when a load's weight kg is above 3500, set the load's status to second weighing needed")
    assert trigger.hit_and_miss(spec.capabilities[0], spec) == ({"weight_kg": 3500.5}, {"weight_kg": 3500})
    spec = AppSpec.model_validate(clinic_incidents())
    assert trigger.hit_and_miss(spec.capabilities[0], spec) == ({"severity": 3}, {"severity": 2})
    assert trigger.managed_fields(spec.capabilities[0], spec) == {("incident", "severity"): 2}


def _join(**changes):
    return {"action": {**choir_tour()["capabilities"][0]["action"], **changes}}


def _action(**changes):
    return {"action": {**van_repairs()["capabilities"][0]["action"], **changes}}


@pytest.mark.parametrize("idea, change, words", [
    (van_repairs, {"entity": "fault"}, ["watched entity 'fault' is not an entity"]),
    (van_repairs, {"conditions": [{"field": "severity", "op": "in", "values": ["critical"]}]},
     ["['critical'] are not values of defect.severity"]),
    (van_repairs, {"conditions": [{"field": "summary", "op": "gt", "number": 3}]},
     ["summary is a text field but must be integer or decimal or money"]),
    (van_repairs, {"conditions": [{"field": "severity", "op": "gte", "number": 3}]}, ["enum field but must be integer"]),
    (van_repairs, {"conditions": [{"field": "severity", "op": "in"}]}, ["needs values"]),
    (van_repairs, {"conditions": [{"field": "colour", "op": "is_true"}]}, ["'colour' is not a field of 'defect'"]),
    (van_repairs, {"conditions": []}, ["without conditions every edit would fire"]),
    (van_repairs, _action(entity="ticket"), ["created entity 'ticket' is not an entity"]),
    (van_repairs, _action(link_field="title"), ["link_field repair_ticket.title is a text field"]),
    (van_repairs, _action(via_field="summary"), ["via_field defect.summary is a text field"]),
    (van_repairs, _action(values={"stage": "waiting", "urgent": True}), ["'waiting' is not one of its values"]),
    (van_repairs, _action(values={"stage": "new", "urgent": "yes"}), ["boolean field but the value 'yes'"]),
    (van_repairs, _action(copy_fields={}), ["needs its required fields ['title']"]),
    (van_repairs, _action(copy_fields={"title": "severity", "urgent": "status"}), ["cannot take defect.status"]),
    (van_block, {"action": {"type": "block", "via_field": "van_id", "field": "status", "values": ["parked"]}},
     ["['parked'] are not values of van.status"]),
    (van_block, {"action": {"type": "block", "via_field": "van_id", "field": "plate", "values": ["x"]}},
     ["block: field van.plate is a text field but must be enum"]),
    (weighbridge, {"conditions": [{"field": "weight_kg", "op": "gt", "number": 90000}]}, ["no value of load.weight_kg"]),
    (weighbridge, {"action": {"type": "set", "field": "status", "value": "lost"}}, ["'lost' is not one of its values"]),
    (weighbridge, {"action": {"type": "set", "field": "weight_kg", "value": 1}}, ["is tested by a condition"]),
    (allotments, {"action": {"type": "notify", "via_field": "holder_id", "email_field": "full_name"}},
     ["email_field plot_holder.full_name is a text field but must be email"]),
    (allotments, {"action": {"type": "notify"}}, ["exactly one of email_field"]),
    (watch_repairs, {"action": {"type": "notify", "channel": "sms", "via_field": "customer_id", "phone_field": "full_name"}},
     ["phone_field watch_owner.full_name is a text field but must be phone"]),
    (watch_repairs, {"action": {"type": "notify", "channel": "sms", "via_field": "customer_id", "email_field": "mobile"}},
     ["email_field is for channel email", "exactly one of phone_field"]),
    (choir_tour, _join(join_field=None), ["join_entity seat needs join_field, its reference field to concert"]),
    (choir_tour, _join(join_field="singer_id"), ["join_field seat.singer_id references 'singer' but must reference 'concert'"]),
    (choir_tour, _join(join_entity="concert"), ["join_entity is the watched entity"]),
    (choir_tour, _join(via_field="part"), ["via_field seat.part is a text field"]),
    (choir_tour, _join(join_entity=None, via_field=None), ["join_field is used only with join_entity"]),
    (choir_tour, _join(phone_field=None, role="singer"), ["via_field and join_entity are used only with phone_field"]),
    (clinic_incidents, {"action": {"type": "notify", "role": "director"}}, ["'director' is not a role"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(trigger.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(trigger)" in p for p in spec_problems(spec)), spec_problems(spec)


def _realises(idea, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(idea())
    return REALISES["trigger"](spec.capabilities[0], spec, RuleReading(**rule), None)


def test_a_rule_is_realised_only_with_its_own_number_and_nouns():
    assert _realises(weighbridge, category="threshold", words="heavier than 3500 kg", number=3500, unit="kg",
                     nouns=["load"])
    assert not _realises(weighbridge, category="threshold", words="heavier than 4000 kg", number=4000, unit="kg",
                         nouns=["load"])
    assert not _realises(weighbridge, category="threshold", words="more than 3500 trucks", number=3500,
                         nouns=["truck"])
    assert _realises(clinic_incidents, category="threshold", words="severity 3 or more", number=3,
                     nouns=["incident"])
    assert _realises(clinic_incidents, category="escalation", words="escalates to the manager", nouns=["manager"])
    assert not _realises(clinic_incidents, category="escalation", words="escalates to the director",
                         nouns=["director"])
    assert _realises(van_block, category="block", words="cannot be made available", nouns=["van"])
    assert not _realises(van_block, category="block", words="cannot be deleted", nouns=["van"])
    assert not _realises(van_repairs, category="block", words="cannot be made available", nouns=["van"])
    assert not _realises(van_block, category="limit", words="at most 3 defects per van", number=3,
                         nouns=["defect", "van"])


def _planned(title, description, feature, records="Staff record them"):
    from shared.engine.domain import normalise_idea
    from shared.engine.planner.b_trigger import b_trigger
    from shared.engine.planner.capmap import feature_ctx
    from shared.engine.planner.draft import build as draft

    d = draft(normalise_idea({"title": title, "description": description, "key_features": [records, feature]}))
    return b_trigger(feature_ctx(d, 1, feature, None))


def test_the_planner_builder_reads_condition_and_action_from_the_words():
    from shared.engine.planner.capmap import NotFit

    got = _planned("Van fleet", "A delivery company tracks its vans and the defects drivers report.",
                   "When a defect is safety severity, a van cannot be made available", "Drivers report defects on vans")
    assert got["entity"] == "defect"
    assert got["conditions"] == [{"field": "severity", "op": "in", "values": ["safety"]}]
    assert got["action"] == {"type": "block", "via_field": "van_id", "field": "status", "values": ["available"]}
    got = _planned("Weighbridge", "A quarry weighbridge weighs lorry loads.",
                   "When a load is heavier than 3500 kg, set it to second weighing", "Operators log loads")
    assert got["conditions"] == [{"field": "weight", "op": "gt", "number": 3500.0}]
    assert got["action"] == {"type": "set", "via_field": None, "field": "status", "value": "second_weighing"}
    got = _planned("Safe Ward", "A clinic where nurses report incidents and managers review them.",
                   "When an incident's risk score is above 3, notify the managers", "Nurses report incidents")
    assert got["conditions"] == [{"field": "risk_score", "op": "gt", "number": 3.0}]
    assert got["action"] == {"type": "notify", "channel": "email", "role": "manager"}
    with pytest.raises(NotFit, match="is not a number"):  # the words made severity a list of values
        _planned("Safe Ward", "A clinic where nurses report incidents and managers review them.",
                 "When an incident has severity 3 or more, notify the managers", "Nurses report incidents")
    with pytest.raises(NotFit, match="when something should happen"):
        _planned("Van fleet", "A delivery company tracks its vans.", "Drivers report defects on vans",
                 "Drivers report defects on vans")
    with pytest.raises(NotFit, match="what happens"):
        _planned("Van fleet", "A delivery company tracks its vans and their defects.",
                 "When a defect is urgent, everyone looks at it", "Drivers report defects on vans")


def test_the_planner_reads_the_channel_and_the_person_a_message_goes_to():
    """"Text the club when their saddle is ready to collect": an SMS to the phone of the record the watched one
    links to, when its status is the whole phrase; "email the rider when their bike is marked serviced" tells the
    bike's rider (a linked record) even though riders are also users; a text to a role has no number."""
    from shared.engine.planner.capmap import kinds_for

    assert "trigger" in [k for k, _w in kinds_for("Text the club when their saddle is ready to collect")]
    got = _planned("Saddle Fix", "A saddler repairs saddles for riding clubs.",
                   "Text the club when their saddle is ready to collect", "Repairs per club with saddle and price")
    assert got["entity"] == "repair"
    assert got["conditions"] == [{"field": "status", "op": "in", "values": ["ready_to_collect"]}]
    assert got["action"] == {"type": "notify", "channel": "sms", "via_field": "club_id", "phone_field": "phone"}
    got = _planned("Cycle Hub", "A bike workshop where riders book services and mechanics work on bikes.",
                   "Email the rider when their bike is marked serviced", "Mechanics log bikes with rider and model")
    assert got["action"] == {"type": "notify", "channel": "email", "via_field": "rider_id", "email_field": "email"}
    assert got["conditions"] == [{"field": "status", "op": "in", "values": ["serviced"]}]
    got = _planned("Safe Ward", "A clinic where nurses report incidents and managers review them.",
                   "When an incident's risk score is above 3, text the managers", "Nurses report incidents")
    assert got["action"] == {"type": "notify", "channel": "sms", "role": "manager"}  # each manager's own phone


def test_the_planner_reads_a_message_to_the_people_linked_through_a_join():
    """"Text the guests when a tasting is cancelled", bookings linking a guest to a tasting: each booking's guest
    (a fan-out through the record linking both), the tasting's yes/no "cancelled" turning true."""
    from shared.engine.planner import plan_builtin

    spec = plan_builtin({"title": "PressDay", "description": "A cider maker runs tastings in the orchard barn and "
                         "takes bookings from guests.", "audience": "Cider makers",
                         "key_features": ["Tastings with date, venue and status", "Guests with name, email and phone",
                                          "Bookings with a guest and a tasting",
                                          "Text the guests when a tasting is cancelled"]})
    [cap] = [c for c in spec.capabilities if c.kind == "trigger"]
    assert cap.entity == "tasting"
    assert cap.action.model_dump(exclude_none=True) == {
        "type": "notify", "channel": "sms", "join_entity": "booking", "join_field": "tasting_id",
        "via_field": "guest_id", "phone_field": "phone"}
    assert spec.trace[3].status == "planned", spec.trace[3].not_built
    assert trigger.check(cap, spec) == []


def test_criteria_name_the_rules_they_exercise_and_compile():
    from shared.engine.appspec.model import Criterion, FeatureReading
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = AppSpec.model_validate(weighbridge())
    reading = FeatureReading(record="load", rules=[
        RuleReading(category="threshold", words="heavier than 3500 kg", number=3500, unit="kg", nouns=["load"]),
        RuleReading(category="threshold", words="heavier than 40 tonnes", number=40, nouns=["load"])])
    [c] = DERIVE["trigger"](spec.capabilities[0], spec, reading, "Heavy loads are weighed twice")
    assert c["rules"] == [0] and c["template"] == "trigger.fires_once"
    assert c["text"].startswith("When a load's weight kg is above 3500, set the load's status to second weighing")
    scenario = compile_criterion(spec, Criterion(id="c1", **c), "Heavy loads are weighed twice")
    steps = [(s["method"], s["expect"]) for s in scenario["steps"]]
    assert steps[:2] == [("POST", 201), ("PATCH", 200)]  # a light load, then over the threshold
    assert scenario["steps"][-1]["checks"] == [{"path": "status", "op": "eq", "value": "second_weighing_needed"}]
    spec = AppSpec.model_validate(van_block())
    [c] = DERIVE["trigger"](spec.capabilities[0], spec, None, "Unsafe vans")
    scenario = compile_criterion(spec, Criterion(id="c2", **c), "Unsafe vans")
    assert scenario["steps"][-1]["expect"] == 409
    assert scenario["steps"][-1]["checks"] == [{"path": "error.code", "op": "eq", "value": "blocked"}]


# ------------------------------------------------------------------ time triggers: checked by a scheduled run

TIME_TESTS = ("test_nothing_happens_before_the_days_have_passed_and_once_after", "test_each_record_waits_its_own_days",
              "test_run_due_needs_the_scheduler_token_or_the_owner", "test_concurrent_runs_act_once_per_record",
              "test_roles_without_access_are_refused", "test_firings_page")
#: the generated tests a value condition besides the time adds (a record that stops meeting it)
MISS_TESTS = ("test_a_record_that_no_longer_meets_the_condition_is_left_alone",
              "test_a_new_episode_fires_again_after_the_record_stopped_meeting_the_condition")


def test_generated_time_trigger_tests_and_criteria_pass():
    """One app, three time triggers: set on a date field's age (with a status test), notify on created_at's age,
    create on a date field's age alone. Each one's own tests and its acceptance criterion pass."""
    spec, files = S.compile_spec(lost_property())
    assert spec_problems(spec) == []
    run = S.qa(files)
    assert run.passed, run.output
    assert all(v == "passed" for v in run.results.values()), run.output  # the generic CRUD tests too
    for cap in spec.capabilities:
        mine = run.of(f"test_cap_{cap.id}")
        assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
        wanted = TIME_TESTS + (MISS_TESTS if cap.id != "dispose_old" else ())
        assert {m: mine.get(m) for m in wanted} == dict.fromkeys(wanted, "passed"), (cap.id, mine)
        assert "test_a_record_meeting_the_condition_fires_once" not in mine  # a write fires nothing
    assert len(run.features) == 3
    for feature in run.features:
        assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature
        assert all(c["text"].endswith("running again does nothing more, and the firing is listed.")
                   for c in feature["criteria"]), feature


def test_a_time_trigger_reads_as_a_rule_checked_by_a_run():
    spec = AppSpec.model_validate(lost_property())
    said = {c.id: trigger.describe_rule(c, spec) for c in spec.capabilities}
    assert said == {
        "donate_unclaimed": "a found item whose status is unclaimed and whose found on is more than 30 days ago gets "
                            "status for donation, checked by an hourly run",
        "stale_claims": "a claim that was added more than 5 days ago and whose status is waiting is reported to every "
                        "coordinator by email, checked by an hourly run",
        "dispose_old": "a found item whose found on is more than 90 days ago gets a disposal, checked by an hourly run"}
    cap = spec.capability("stale_claims")
    assert trigger.describe_condition(cap, spec) == "added more than 5 days ago and status is waiting"
    assert trigger.hit_and_miss(cap, spec) == ({"status": "waiting"}, {"status": "approved"})  # the clock does the rest
    assert trigger.managed_fields(spec.capability("donate_unclaimed"), spec) == {}  # a write fires nothing


def test_a_time_trigger_declares_its_run_and_the_scheduler_calls_it():
    from shared.engine.stages import deployment

    spec = AppSpec.model_validate(lost_property(DONATION))
    routes = {(r.method, r.path): r.roles for r in trigger.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/donate_unclaimed/run-due")] == ["owner"]
    assert routes[("GET", "/api/donate_unclaimed/due")] == ["owner", "desk", "coordinator", "visitor"]
    assert trigger.scheduled_jobs(spec.capabilities[0], spec) == [{
        "name": "lost-and-found-donate-unclaimed-run-due", "schedule": "0 * * * *", "method": "POST",
        "path": "/api/donate_unclaimed/run-due", "auth_header": "Authorization: Bearer",
        "token_setting": "TRIGGERS_TOKEN"}]
    _, files = S.compile_spec(lost_property())
    jobs = deployment.scheduler_jobs(files, "svc", "proj", "europe-west1")
    assert [j["httpTarget"]["uri"] for j in jobs] == [f"${{SERVICE_URL}}/api/{c}/run-due" for c in
                                                      ("dispose_old", "donate_unclaimed", "stale_claims")]
    assert {j["token"]["setting"] for j in jobs} == {"TRIGGERS_TOKEN"}
    assert b"TRIGGERS_TOKEN" in files["README.md"]
    spec = AppSpec.model_validate(weighbridge())  # a trigger fired by writes: no run, no job, no token
    assert trigger.scheduled_jobs(spec.capabilities[0], spec) == []
    assert not [r for r in trigger.routes(spec.capabilities[0], spec) if "run-due" in r.path]
    assert b"TRIGGERS_TOKEN" not in S.compile_spec(weighbridge())[1]["README.md"]


def _timed(**change):
    return {"conditions": [{"field": "status", "op": "in", "values": ["unclaimed"]},
                           {"field": "found_on", "op": "older_than_days", **change}]}


@pytest.mark.parametrize("cap, change, words", [
    (DONATION, {"conditions": [{"field": "status", "op": "in", "values": ["unclaimed"]}]},
     ["on 'time' needs an older_than_days condition"]),
    (DONATION, {"on": "create_or_change"}, ["condition 2 (found_on older_than_days) is about time passing",
                                            "set on to 'time'"]),
    (DONATION, {"conditions": [{"field": "description", "op": "older_than_days", "number": 30}]},
     ["description is a text field but must be date or datetime", "or created_at"]),
    (DONATION, _timed(number=0.5), ["0.5 is not a whole number of days from 1 to 3650"]),
    (DONATION, _timed(number=0), ["0 is not a whole number of days"]),
    (DONATION, _timed(), ["needs number: how many whole days must pass since found_item.found_on"]),
    (DONATION, _timed(number=30, values=["unclaimed"]), ["takes no values"]),
    (DONATION, {"conditions": [{"field": "found_on", "op": "older_than_days", "number": 30},
                               {"field": "created_at", "op": "older_than_days", "number": 40}]},
     ["conditions [1, 2] all test time passing; keep one"]),
    (STALE_CLAIM, {"action": {"type": "block", "via_field": "item_id", "field": "status", "values": ["claimed"]}},
     ["block cannot wait for time to pass"]),
])
def test_check_names_what_a_time_trigger_needs(cap, change, words):
    spec = AppSpec.model_validate(S.with_cap(lost_property(cap), **change))
    text = " | ".join(trigger.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(trigger)" in p for p in spec_problems(spec)), spec_problems(spec)


def test_a_time_trigger_may_move_the_field_it_tests_but_a_write_trigger_may_not():
    spec = AppSpec.model_validate(lost_property(DONATION))
    assert trigger.check(spec.capabilities[0], spec) == []  # status in [unclaimed] -> status for_donation
    spec = AppSpec.model_validate(S.with_cap(lost_property(DONATION), on="create_or_change", conditions=[
        {"field": "status", "op": "in", "values": ["unclaimed"]}]))
    assert any("is tested by a condition" in m for m in trigger.check(spec.capabilities[0], spec))


def test_a_time_window_is_realised_only_by_a_run_waiting_its_days():
    assert _realises(lambda: lost_property(DONATION), category="time_window", words="30 days", number=30,
                     unit="days")
    assert _realises(lambda: lost_property(STALE_CLAIM), category="time_window", words="more than 5 days", number=5,
                     unit="days", nouns=["claim"])
    assert _realises(lambda: lost_property(STALE_CLAIM), category="threshold", words="more than 5 days", number=5,
                     unit="days")
    assert not _realises(lambda: lost_property(DONATION), category="time_window", words="31 days", number=31,
                         unit="days")
    assert not _realises(lambda: lost_property(DONATION), category="time_window", words="30 days before", number=30,
                         unit="days")  # a window ahead of a date is a reminder's, not a wait after it
    assert not _realises(lambda: lost_property(DONATION), category="time_window", words="30 hours", number=30,
                         unit="hours")
    assert _realises(lambda: lost_property({**DONATION, **_timed(number=14)}), category="time_window",
                     words="2 weeks", number=2, unit="weeks")
    assert not _realises(weighbridge, category="time_window", words="30 days", number=30, unit="days")


def test_the_time_criterion_moves_the_clock_around_the_days():
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import NOW, compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = AppSpec.model_validate(lost_property(DONATION))
    [c] = DERIVE["trigger"](spec.capabilities[0], spec, None, "Items unclaimed after 30 days are marked for donation")
    assert c["template"] == "trigger.acts_after_days"
    steps = compile_criterion(spec, Criterion(id="c1", **c), "Donation")["steps"]
    made = [s for s in steps if s["method"] == "POST" and s["path"] == "/api/found_items"]
    assert [s["json"]["found_on"] for s in made] == [NOW.date().isoformat()] * 2
    assert [s["json"]["status"] for s in made] == ["unclaimed", "claimed"]  # one meeting the condition, one not
    runs = [s for s in steps if s["path"] == "/api/donate_unclaimed/run-due"]
    assert [s.get("now", "")[:10] for s in runs] == ["2030-02-08", "2030-02-10", ""]
    assert runs[0]["checks"] == [{"path": "fired", "op": "len", "value": 0}]
    assert {"path": "fired", "op": "contains", "value": f"${{{made[0]['save']}.id}}"} in runs[1]["checks"]
    assert steps[-2]["checks"] == [{"path": "status", "op": "eq", "value": "for_donation"}]


def test_a_notify_criterion_sees_one_message_by_its_channel_to_its_address_and_none_before():
    """"Text the owner when their watch is ready": the criterion sees nothing in the outbox about a repair that is
    not ready, then exactly one SMS, to the mobile number of the repair's owner; and it passes against the app."""
    from shared.engine.appspec.model import Criterion, FeatureReading
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE, REALISES

    spec = AppSpec.model_validate(watch_repairs())
    cap = spec.capabilities[0]
    text = RuleReading(category="channel", words="Text", unit="sms", nouns=[])
    mail = RuleReading(category="channel", words="Email", unit="email", nouns=[])
    assert REALISES["trigger"](cap, spec, text, None) and not REALISES["trigger"](cap, spec, mail, None)
    reading = FeatureReading(record="repair", rules=[text])
    [c] = DERIVE["trigger"](cap, spec, reading, "Text the customer when their watch is ready")
    assert c["rules"] == [0]
    steps = compile_criterion(spec, Criterion(id="c1", **c), "Text the customer")["steps"]
    outbox = [s for s in steps if "/outbox" in s["path"]]
    assert [s["checks"][0] for s in outbox] == [{"path": "items", "op": "len", "value": 0},
                                                {"path": "items", "op": "len", "value": 1}]
    assert {"path": "items.0.channel", "op": "eq", "value": "sms"} in outbox[-1]["checks"]
    assert outbox[-1]["checks"][-1]["path"] == "items.0.address" and "mobile" in outbox[-1]["checks"][-1]["value"]
    _spec, _cap, run, _mine = S.built(watch_repairs())
    assert run.features and all(c["passed"] for f in run.features for c in f["criteria"]), run.features


def test_a_message_feature_counts_as_planned_only_with_its_channel_and_person_read():
    """"Email the club when their saddle is marked stitched": the club told is the record the words name first
    (not a record the trigger fails to act on), "marked" is the trigger's word and "email" its channel."""
    from shared.engine.planner import plan_builtin

    spec = plan_builtin({"title": "Saddle Fix", "description": "A saddler repairs saddles for riding clubs.",
                         "audience": "saddlers",
                         "key_features": ["Repairs per club with saddle and price",
                                          "Email the club when their saddle is marked stitched"]})
    t = spec.trace[1]
    assert [c.kind for c in spec.capabilities if c.id in t.capabilities] == ["trigger"]
    assert t.status == "planned", t.not_built


def frame_shop(back: bool = False):
    """A picture-framing workshop: frame orders go from received to in progress to sent (framers move them; a
    clerk only reads them), and when an order is marked sent the gallery it belongs to is emailed. With `back`,
    the owner may also reopen a sent order (sent -> in progress), so an order can cross into "sent" again."""
    gallery = entity("gallery", "galleries", [f("name", required=True), f("email", "email", required=True)])
    order = entity("frame_order", "frame_orders", [
        f("artwork", required=True), f("gallery_id", "reference", ref="gallery", required=True),
        f("status", "enum", values=["received", "in_progress", "sent"], default="received")], display="artwork")
    roles = [role("framer", ["gallery", "frame_order"], ["gallery", "frame_order"]),
             role("clerk", ["gallery", "frame_order"])]
    moves = [{"name": "start", "from_states": ["received"], "to": "in_progress", "roles": ["framer"]},
             {"name": "send", "from_states": ["in_progress"], "to": "sent", "roles": ["framer"]}]
    if back:
        moves.append({"name": "reopen", "from_states": ["sent"], "to": "in_progress", "roles": ["owner"]})
    caps = [{"kind": "trigger", "id": "sent_mail", "label": "When an order is marked sent, email the gallery",
             "entity": "frame_order", "conditions": [{"field": "status", "op": "in", "values": ["sent"]}],
             "action": {"type": "notify", "via_field": "gallery_id", "email_field": "email"}},
            {"kind": "workflow", "id": "order_flow", "label": "Orders go from received to in progress to sent",
             "entity": "frame_order", "state_field": "status", "states": ["received", "in_progress", "sent"],
             "initial": "received", "transitions": moves}]
    return build("Frame Works", "A framing workshop frames pictures for galleries.", [gallery, order], roles, caps)


FLOW_TESTS = ("test_a_record_meeting_the_condition_fires_once", "test_concurrent_writers_fire_once",
              "test_only_the_workflows_transitions_reach_the_condition", "test_firings_page",
              "test_roles_without_access_are_refused", "test_a_refused_write_fires_nothing")


@pytest.mark.parametrize("back", [False, True], ids=["one_way", "reopened"])
def test_a_trigger_on_a_workflows_state_follows_its_transitions(back):
    """"When an order is marked sent, email the gallery", where a workflow moves the status: the trigger's own
    tests and criterion reach "sent" by POSTing the transitions (never PATCH) and pass; moving to "in progress"
    sends nothing, moving to "sent" sends one email to that order's gallery, and a clerk cannot send it. A second
    crossing is tested only where the workflow leads back out of "sent"; otherwise the module says why."""
    spec, files = S.compile_spec(frame_shop(back))
    assert spec_problems(spec) == []
    tests = files["tests/test_cap_sent_mail.py"].decode()
    assert ('"PATCH"' not in tests.split("def test_only_the_workflows")[1].split("\n    def ")[0]
            .replace('"PATCH", f"/api/{PLURAL}/{row[\'id\']}", json={STATE: HIT[STATE]}', ""))
    if back:
        assert "def test_a_new_crossing_fires_again" in tests and "never leaves it" not in tests
    else:
        assert "def test_a_new_crossing_fires_again" not in tests
        assert "No transition leads from sent to a state out of the condition" in tests and "never leaves it" in tests
    run = S.qa(files)
    assert run.passed, run.output
    assert all(v == "passed" for v in run.results.values()), run.output
    mine = run.of("test_cap_sent_mail")
    wanted = FLOW_TESTS + (("test_a_new_crossing_fires_again",) if back else ())
    assert {m: mine.get(m) for m in wanted} == dict.fromkeys(wanted, "passed"), mine
    assert run.findings_in("sent_mail") == []
    assert len(run.features) == 2
    for feature in run.features:  # the trigger's criterion and the workflow's
        assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature
    assert any(c["text"].startswith("When a frame order's status is sent, email its gallery")
               for x in run.features for c in x["criteria"]), run.features


def test_the_trigger_criterion_moves_the_record_by_transitions_and_checks_one_email():
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = AppSpec.model_validate(frame_shop())
    cap = spec.capabilities[0]
    [c] = DERIVE["trigger"](cap, spec, None, "Email the gallery")
    steps = compile_criterion(spec, Criterion(id="c1", **c), "Email the gallery")["steps"]
    assert not any(s["method"] == "PATCH" for s in steps), steps
    moves = [(s["path"].rsplit("/", 1)[-1], s["expect"]) for s in steps
             if s["method"] == "POST" and "/api/order_flow/records/" in s["path"]]
    assert moves == [("start", 200), ("send", 200), ("send", 409)], moves
    boxes = [s for s in steps if "/outbox" in s["path"]]
    assert [x["checks"][0]["value"] for x in boxes] == [0, 0, 1], boxes  # none added, none in progress, one sent
    assert boxes[-1]["checks"][2]["value"].endswith(".email}")


@pytest.mark.parametrize("idea, test", [(clinic_texts, "test_a_text_goes_to_each_phone_of_the_role_and_a_user_without_"
                                                       "one_is_skipped_visibly"),
                                        (clinic_texts, "test_nobody_else_reads_a_users_phone"),
                                        (choir_tour, "test_each_linked_person_is_told_once_and_no_one_else")])
def test_a_text_to_many_is_proved_by_the_apps_tests_and_its_criterion(idea, test):
    """A text to a role goes to the phones its users gave (one without is skipped, named in the firing); a text
    through a join goes to each linked person once; each is exercised by its own generated test and its
    acceptance criterion passes over HTTP."""
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec, cap, run, mine = S.built(idea())
    assert mine.get(test) == "passed", mine
    [c] = DERIVE["trigger"](cap, spec, None, cap.label)
    steps = compile_criterion(spec, Criterion(id="c1", **c), cap.label)["steps"]
    told = [s for s in steps if "/outbox" in s["path"]][-2 if idea is choir_tour else -1]
    if idea is choir_tour:
        assert c["template"] == "trigger.fans_out"
        assert {"path": "items", "op": "len", "value": 2} in told["checks"]
        assert {"path": "items", "op": "none", "key": "address", "value": "+447700900103"} in told["checks"]
    else:
        assert told["checks"][:3] == [{"path": "items", "op": "len", "value": 1},
                                      {"path": "items.0.channel", "op": "eq", "value": "sms"},
                                      {"path": "items.0.address", "op": "eq", "value": "+447700900101"}]
        assert any(s["path"] == "/api/users" and s["expect"] == 403 for s in steps)
    assert run.features and all(x["passed"] for f in run.features for x in f["criteria"]), run.features


LADDER_HIRE = {"title": "RungRent", "description": "A scaffolding yard hires out ladders to builders.",
               "audience": "Scaffolding yards",
               "key_features": ["Ladders with serial number, length and the builder it went to",
                                "Email the depot foreman when a ladder has been out for more than 12 days"]}


def test_a_span_in_a_state_tells_a_staff_title_once_after_its_days():
    """"Email the depot foreman when a ladder has been out for more than 12 days": the title of two words is a
    staff role of the app told at its users' logins, and "has been out for more than 12 days" a scheduled rule on
    the date the ladder went out. The criterion proves over HTTP: the run 11 days on sends nothing, 13 days on one
    email to the foreman (not to the user of another role), and running again nothing more."""
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE
    from shared.engine.planner import plan_builtin

    spec = plan_builtin(LADDER_HIRE)
    t = spec.trace[1]
    [cap] = [c for c in spec.capabilities if c.id in t.capabilities]
    assert (cap.kind, cap.entity, cap.on) == ("trigger", "ladder", "time"), cap
    [c] = cap.conditions
    assert (c.op, c.number, spec.entity("ladder").field(c.field).type) == ("older_than_days", 12, "date")
    assert (cap.action.type, cap.action.channel, cap.action.role) == ("notify", "email", "depot_foreman")
    assert spec.role("depot_foreman") is not None and t.status == "planned", t.not_built
    assert spec.entity("foreman") is None  # a person told as a role is not also a list of records
    [crit] = DERIVE["trigger"](cap, spec, None, LADDER_HIRE["key_features"][1])
    steps = compile_criterion(spec, Criterion(id="c1", **crit), "Email the depot foreman")["steps"]
    runs = [s for s in steps if s["path"].endswith("/run-due")]
    assert [s["checks"][0]["op"] for s in runs] == ["len", "contains", "len"]
    told = [s for s in steps if "/outbox" in s["path"]][-1]["checks"]
    assert {"path": "items", "op": "len", "value": 1} in told
    assert {"path": "items", "op": "any", "key": "address", "value": "${actor.depot_foreman_told.email}"} in told
    assert any(x["op"] == "none" and x["key"] == "address" for x in told), told
    _spec, files = S.compile_spec(spec.model_dump(mode="json"))
    run = S.qa(files)
    assert run.passed, run.output
    mine = [f for f in run.features if f["feature"] == LADDER_HIRE["key_features"][1]]
    assert mine and mine[0]["criteria"] and all(x["passed"] for x in mine[0]["criteria"]), run.features


def test_a_title_told_by_text_is_a_role_and_not_also_a_list_of_records():
    """"Text the yard keeper when ...": the keeper is the yard's staff role, texted at the phones its users gave;
    the person record the draft read from the same words is dropped (nothing links to it, nothing acts on it)."""
    from shared.engine.planner import plan_builtin

    idea = {**LADDER_HIRE, "key_features": [LADDER_HIRE["key_features"][0],
                                            "Text the yard keeper when a ladder has been out for more than 12 days"]}
    spec = plan_builtin(idea)
    [cap] = [c for c in spec.capabilities if c.id in spec.trace[1].capabilities]
    assert (cap.on, cap.action.channel, cap.action.role) == ("time", "sms", "yard_keeper")
    assert spec.entity("keeper") is None and spec.trace[1].status == "planned", spec.trace[1].not_built
    assert spec_problems(spec) == []


def tent_hires():
    """A tent hire shop: a hire out more than 14 days is marked overdue, tested as "not yet overdue", so the one
    value that misses the condition is the value the run sets."""
    hire = entity("tent_hire", "tent_hires", [
        f("hirer", required=True), f("status", "enum", values=["out", "overdue"], default="out")], display="hirer")
    roles = [role("counter", ["tent_hire"], ["tent_hire"])]
    caps = [{"kind": "trigger", "id": "overdue_hires", "label": "Hires out more than 14 days are marked overdue",
             "entity": "tent_hire", "on": "time",
             "conditions": [{"field": "status", "op": "not_in", "values": ["overdue"]},
                            {"field": "created_at", "op": "older_than_days", "number": 14}],
             "action": {"type": "set", "field": "status", "value": "overdue"}}]
    return build("Pitch Back", "A camping shop hires out tents.", [hire], roles, caps)


def test_a_time_trigger_missed_only_by_the_value_it_sets_passes_its_tests():
    spec, files = S.compile_spec(tent_hires())
    assert spec_problems(spec) == []
    assert trigger.hit_and_miss(spec.capabilities[0], spec)[1] == {"status": "overdue"}
    run = S.qa(files)
    assert run.passed, run.output
    mine = run.of("test_cap_overdue_hires")
    assert {m: mine.get(m) for m in TIME_TESTS + MISS_TESTS} == dict.fromkeys(TIME_TESTS + MISS_TESTS, "passed"), mine
    assert all(v == "passed" for v in run.results.values()), run.output
    [feature] = run.features
    assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature
