"""Capability `selection`: name checks, routes, and the generated app's own selection tests in three domains."""

from __future__ import annotations

import copy

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import selection

from . import _ops_specs as S
from ._ops_specs import entity, f, role


def house_move():
    """House moves: a client (own records) gets quotes from movers and accepts one; the others are declined."""
    move = entity("move", "moves", [f("title", required=True), f("move_date", "date"), f("from_address", "text")])
    quote = entity("quote", "quotes", [
        f("mover_name", required=True), f("price", "money", min=0), f("move_id", "reference", ref="move", required=True),
        f("status", "enum", values=["pending", "accepted", "declined"], default="pending")], display="mover_name")
    roles = [role("client", ["move", "quote"], ["move"], scope="own"),
             role("mover", ["move", "quote"], ["quote"], scope="own"), role("visitor", ["move"])]
    caps = [{"kind": "selection", "id": "quote_choice", "label": "Accepting a quote for a move declines the others",
             "entity": "quote", "parent_field": "move_id", "state_field": "status", "open_values": ["pending"],
             "chosen_value": "accepted", "declined_value": "declined"}]
    return S.build("Move Quotes", "People moving house collect quotes from movers and accept one.",
                   [move, quote], roles, caps)


def volunteer_roles():
    """Volunteer roles: a coordinator accepts one applicant per role from those submitted or shortlisted."""
    vrole = entity("volunteer_role", "volunteer_roles", [f("title", required=True), f("hours", "integer", min=1)])
    app = entity("application", "applications", [
        f("applicant_name", required=True), f("motivation", "long_text"),
        f("volunteer_role_id", "reference", ref="volunteer_role", required=True),
        f("stage", "enum", values=["submitted", "shortlisted", "accepted", "declined"])], display="applicant_name")
    roles = [role("coordinator", ["volunteer_role", "application"], ["volunteer_role"]),
             role("volunteer", ["volunteer_role", "application"], ["application"]),
             role("viewer", ["volunteer_role", "application"])]
    caps = [{"kind": "selection", "id": "placement", "label": "Accepting an application for a volunteer role declines the others",
             "entity": "application", "parent_field": "volunteer_role_id", "state_field": "stage",
             "open_values": ["submitted", "shortlisted"], "chosen_value": "accepted", "declined_value": "declined",
             "roles": ["coordinator"]}]
    return S.build("Helping Hands", "A charity fills volunteer roles from the people who apply.",
                   [vrole, app], roles, caps, default_role="volunteer")


def mural_walls():
    """Mural walls: a curator approves one proposal for a wall, the others are rejected; no messages."""
    wall = entity("wall", "walls", [f("name", required=True), f("location", "text")])
    proposal = entity("proposal", "proposals", [
        f("title", required=True, max=120), f("artist_email", "email"), f("sketch_url", "url"),
        f("wall_id", "reference", ref="wall", required=True),
        f("status", "enum", values=["pending", "approved", "rejected", "withdrawn"])])
    roles = [role("curator", ["wall", "proposal"], ["wall"]),
             role("artist", ["wall", "proposal"], ["proposal"], scope="own")]
    caps = [{"kind": "selection", "id": "mural_pick", "label": "Approving a proposal for a wall rejects the others",
             "entity": "proposal", "parent_field": "wall_id", "state_field": "status", "open_values": ["pending"],
             "chosen_value": "approved", "declined_value": "rejected", "roles": ["owner", "curator"],
             "notify": False}]
    return S.build("Wall Art", "A city festival picks one mural proposal for each free wall.", [wall, proposal],
                   roles, caps, default_role="artist")


IDEAS = [house_move, volunteer_roles, mural_walls]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_selection_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 9, run.output
    for abuse in ("test_a_second_choice_is_refused_with_409", "test_a_declined_row_cannot_be_chosen",
                  "test_wrong_role_and_anonymous_are_refused", "test_state_cannot_be_set_through_the_generic_api",
                  "test_no_new_sibling_once_one_is_chosen", "test_concurrent_choices_leave_exactly_one_chosen",
                  "test_outbox_tells_the_creators_of_declined_rows", "test_page_selects_with_the_form"):
        assert mine.get(abuse) == "passed", (abuse, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_choosers_default_to_the_parents_writers_and_the_owner():
    spec = AppSpec.model_validate(house_move())
    cap = spec.capabilities[0]
    assert selection.choosers(cap, spec) == ["owner", "client"]
    routes = {(r.method, r.path): r.roles for r in selection.routes(cap, spec)}
    assert routes[("POST", "/api/quote_choice/records/<int:record_id>/select")] == ["owner", "client"]
    assert routes[("GET", "/api/quote_choice/parents/<int:parent_id>")] == ["owner", "client", "mover"]
    assert routes[("GET", "/api/quote_choice/outbox")] == ["owner"]
    assert all(p.startswith(("/api/quote_choice/", "/quote_choice/")) for _m, p in routes)
    assert selection.managed_fields(cap, spec) == {("quote", "status"): "pending"}
    spec = AppSpec.model_validate(volunteer_roles())
    assert selection.choosers(spec.capabilities[0], spec) == ["coordinator"]


def _changed(spec_dict, entity_index=1, field=None, **change):
    """A copy with the capability (or one field of an entity) changed."""
    d = copy.deepcopy(spec_dict)
    if field is None:
        d["capabilities"][0].update(change)
    else:
        next(x for x in d["entities"][entity_index]["fields"] if x["name"] == field).update(change)
    return d


@pytest.mark.parametrize("spec_dict, words", [
    (_changed(house_move(), entity="bid"), ["entity 'bid' is not an entity", "known entities"]),
    (_changed(house_move(), parent_field="job_id"), ["'job_id' is not a field of 'quote'", "move_id"]),
    (_changed(house_move(), parent_field="price"), ["quote.price is a money field but must be reference"]),
    (_changed(house_move(), state_field="mover_name"), ["quote.mover_name is a text field but must be enum"]),
    (_changed(house_move(), chosen_value="won"), ["values ['won'] are not values of the enum quote.status"]),
    (_changed(house_move(), open_values=["pending", "declined"]), ["declined_value 'declined' is also an open"]),
    (_changed(house_move(), declined_value="accepted"), ["both 'accepted'"]),
    (_changed(house_move(), roles=["boss"]), ["role 'boss' is not a role", "known roles"]),
    (_changed(house_move(), roles=["mover"]), ["role 'mover' has scope 'own'", "may not create a move"]),
    (_changed(house_move(), field="move_id", required=False), ["quote.move_id must be required"]),
    (_changed(house_move(), field="status", default="declined"), ["has default 'declined', which is not an open"]),
])
def test_check_names_what_does_not_resolve(spec_dict, words):
    spec = AppSpec.model_validate(spec_dict)
    text = " | ".join(selection.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any(p.startswith("capability 'quote_choice' (selection)") for p in spec_problems(spec))


def test_check_accepts_the_three_ideas_and_refuses_a_second_driver_of_the_state():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__
    d = house_move()
    twin = dict(d["capabilities"][0], id="quote_again", label="Accept quotes again")
    d["capabilities"].append(twin)
    d["trace"].append({"feature": twin["label"], "status": "planned", "capabilities": ["quote_again"]})
    d["features"].append(twin["label"])
    spec = AppSpec.model_validate(d)
    assert any("already driven by capability 'quote_choice'" in p for p in selection.check(spec.capabilities[1], spec))


def _rule(category="exclusivity", words="declines the others", number=None, nouns=()):
    from shared.engine.appspec.model import RuleReading

    return RuleReading(category=category, words=words, number=number, nouns=list(nouns))


@pytest.mark.parametrize("rule, expected", [
    (_rule(), True),
    (_rule(words="the others are declined", nouns=["quote"]), True),
    (_rule(words="declines the other quotes for the move", nouns=["quote", "move"]), True),
    (_rule(words="only one quote can be accepted", number=1, nouns=["quote"]), True),
    (_rule(words="declines the other visitors", nouns=["visitor", "inspection"]), False),  # another entity
    (_rule(words="exclusive use", nouns=[]), False),  # a resource's exclusivity, not a choice among rows
    (_rule(words="only 2 quotes can be accepted", number=2, nouns=["quote"]), False),
    (_rule(category="limit", words="at most 3 quotes per move", number=3, nouns=["quote", "move"]), False),
    (_rule(category="recipient", words="movers", nouns=["mover"]), False),
])
def test_realises_only_a_choice_that_declines_the_others(rule, expected):
    from shared.engine.criteria.k_selection import REALISES

    d = house_move()
    d["entities"].append(entity("inspection", "inspections", [f("title", required=True)]))
    spec = AppSpec.model_validate(d)
    assert REALISES["selection"](spec.capabilities[0], spec, rule, None) is expected


def test_criteria_speak_the_founders_nouns_and_exercise_the_realised_rule():
    from shared.engine.appspec.model import FeatureReading
    from shared.engine.criteria.k_selection import DERIVE

    spec = AppSpec.model_validate(house_move())
    reading = FeatureReading(record="quote", rules=[_rule(category="limit", words="one quote", number=1), _rule()])
    crits = DERIVE["selection"](spec.capabilities[0], spec, reading, "Accepting one quote declines the others")
    assert [c["template"] for c in crits] == ["selection.choose_one", "selection.declined_told"]
    assert crits[0]["rules"] == [1]
    assert crits[0]["text"].startswith("When a move has three quotes and a client accepts one, the other two become "
                                       "declined; accepting another quote for that move is refused")
    spec = AppSpec.model_validate(mural_walls())
    [crit] = DERIVE["selection"](spec.capabilities[0], spec, None, "")
    assert "a curator approves one, the other two become rejected" in crit["text"]
