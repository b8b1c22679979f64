"""Capability `ratings`: the people a rating sentence names rate the record its verb names, the ones they made
too — a wholesale bakery's customers, who see only their own deliveries, rate each delivery; a bake-off's judge
scores each cake; a kayak centre's guides rate the tour; a tennis club's players rate each coach, and nobody rates
the coach record that is themselves (its email is their login)."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def bread_idea():
    return {"id": "bread-rounds", "title": "Crumb", "description": "A bakery delivers bread to cafés every morning.",
            "target_audience": "wholesale bakeries",
            "key_features": ["Deliveries with date and address",
                             "Customers see only their own deliveries and rate each delivery from 1 to 5"]}


def bake_off_idea():
    return {"id": "bake-off", "title": "Bake", "description": "A village bake-off where bakers enter cakes.",
            "target_audience": "village fetes",
            "key_features": ["Cakes with name and baker", "The judge scores each cake out of 10"]}


def tennis_idea():
    return {"id": "tennis-coaching", "title": "Rally", "description": "A tennis club matches players with coaches.",
            "target_audience": "tennis clubs",
            "key_features": ["Coaches with name and email", "Players rate each coach out of 10"]}


def kayak_idea():
    return {"id": "kayak-tours", "title": "Paddle", "description": "A kayak centre runs guided tours on the river.",
            "target_audience": "kayak centres",
            "key_features": ["Tours with date and route", "Both guides rate the tour from 1 to 5"]}


def orchard_idea():
    return {"id": "orchard-visits", "title": "Pick", "description": "An orchard lets families pick their own fruit.",
            "target_audience": "pick-your-own orchards",
            "key_features": ["Families book a picking slot in a field",
                             "Families see only their own fields and rate each harvest from 1 to 5"]}


def _ratings(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "ratings"]
    return cap


@pytest.mark.parametrize("idea, entity, raters, scale", [
    (bread_idea, "delivery", ["customer"], 5),
    (bake_off_idea, "cake", ["judge"], 10),  # "the judge": one person named with "the" rates
    (tennis_idea, "coach", ["player"], 10),
    (kayak_idea, "tour", ["guide"], 5),  # "both guides rate the tour": "both" is no part of the name
    # "see only their own fields and rate each harvest": the object of the rating verb, not of "see"
    (orchard_idea, "harvest", ["family"], 5),
])
def test_the_subject_rates_the_object_of_the_rating_verb(idea, entity, raters, scale):
    spec = plan_builtin(idea())
    cap = _ratings(spec)
    assert (cap.entity, cap.raters, cap.scale) == (entity, raters, scale), cap
    from shared.engine.capabilities.ratings import raters as counted

    assert counted(cap, spec) == raters


@pytest.mark.parametrize("words, subject, verb, rated", [
    ("The host scores each act from 1 to 10", "host", "score", "act"),
    ("The quizmaster scores each round from 1 to 10", "quizmaster", "score", "round"),
    ("Both clubs rate the referee out of 10", "club", "rate", "referee"),
])
def test_a_singular_subjects_verb_and_the_noun_after_each_are_read_as_such(words, subject, verb, rated):
    from shared.engine.planner.draft import interpret
    from shared.engine.planner.text import parse

    [clause] = parse(words)
    its = [interpret(np) for np in clause.nps]
    assert clause.verbs[0] == verb
    assert (its[0].name, its[0].np.after_verb) == (subject, None)
    assert (its[1].name, its[1].np.after_verb) == (rated, verb)


@pytest.mark.parametrize("idea, tests", [
    # a customer reads only their own deliveries: they rate those (another's is a 404), the ones they made too
    (bread_idea, ("test_a_rater_may_rate_a_record_they_created", "test_abuse_withdrawing_removes_only_my_rating")),
    # the judge may score a cake they entered into the app themselves
    (bake_off_idea, ("test_a_rater_may_rate_a_record_they_created",)),
    # a coach record whose email is the player's login is that player: rating it is refused
    (tennis_idea, ("test_a_rater_may_rate_a_record_they_created", "test_abuse_rating_oneself_is_refused")),
], ids=["read_own", "the_judge", "self"])
def test_generated_ratings_tests_and_criteria_pass(idea, tests):
    spec_dict = plan_builtin(idea()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    cap = _ratings(spec)
    module = files[f"app/capabilities/{cap.id}.py"].decode()
    assert "owner_id == user.id" not in module and "def _is_self(" in module
    run = S.qa(files)
    assert run.passed, run.output
    mine = run.of(f"test_cap_{cap.id}")
    assert all(mine.get(t) == "passed" for t in tests), (mine, run.output)
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    rated = [c for ft in run.features for c in ft.get("criteria") or [] if "may rate" in c["text"]]
    assert rated and all(c["passed"] for c in rated), rated
