"""Ratings as founders state them: what is scored ("for colour and gloss"), and when rating opens ("once it is
collected", "afterwards"). Ideas written for this file, in domains that are in no word list and no fixture."""

from __future__ import annotations

import pytest

from shared.engine.appspec import AppSpec, spec_problems
from shared.engine.criteria.certify import certify
from shared.engine.planner import plan_builtin

IDEAS = {
    "glaze-show": {
        "title": "GlazeShow", "description": "A ceramics guild runs a yearly glaze competition. Potters enter glazes "
        "and judges score them.", "target_audience": "ceramics guilds, their judges and potters",
        "key_features": ["Glazes with name, cone and firing temperature",
                         "Judges score each glaze for colour, gloss and durability out of 10"]},
    "bike-mend": {
        "title": "SpokeFix", "description": "A community bike workshop mends bikes for neighbours.",
        "target_audience": "community bike workshops, their mechanics and customers",
        "key_features": ["Bikes with owner name, frame size and fault",
                         "Customers rate each bike from 1 to 5 once it is collected"]},
    "knit-circle": {
        "title": "Purl", "description": "A knitting circle runs paid workshops.",
        "target_audience": "knitting circles, their tutors and attendees",
        "key_features": ["Workshops with title, date and fee",
                         "Attendees rate the workshop from 1 to 5 afterwards"]},
    "jam-fair": {
        "title": "JamFair", "description": "A village fair judges homemade jams.",
        "target_audience": "village fairs, their tasters and entrants",
        "key_features": ["Jams with fruit, maker and jar size",
                         "Tasters rate each jam on a scale of 1 to 5"]},
}


def _plan(key: str) -> tuple[AppSpec, object]:
    spec = certify(plan_builtin(IDEAS[key]))
    assert spec_problems(spec) == []
    rating = next(c for c in spec.capabilities if c.kind == "ratings")
    return spec, rating


def test_the_criteria_named_after_for_are_scored_one_by_one():
    spec, rt = _plan("glaze-show")
    assert (rt.entity, rt.scale, rt.criteria, rt.opens_field) == ("glaze", 10, ["colour", "gloss", "durability"],
                                                                  None)
    t = spec.trace[1]
    assert t.status == "planned", t.not_built
    assert {c.template for c in t.criteria} >= {"ratings.rate", "ratings.criteria"}


def test_rating_opens_once_the_event_has_happened_kept_as_its_date():
    spec, rt = _plan("bike-mend")
    assert (rt.entity, rt.opens_field, rt.opens_words) == ("bike", "collected_on", "once it is collected")
    assert spec.entity("bike").field("collected_on").type == "date"
    t = spec.trace[1]
    assert t.status == "planned", t.not_built
    assert "ratings.opens" in {c.template for c in t.criteria}


def test_afterwards_opens_rating_once_the_records_own_date_has_passed():
    spec, rt = _plan("knit-circle")
    assert (rt.entity, rt.opens_field, rt.opens_words) == ("workshop", "date", "afterwards")
    assert spec.trace[1].status == "planned", spec.trace[1].not_built


def test_a_scale_is_no_criterion_and_no_opening_is_invented():
    _spec, rt = _plan("jam-fair")
    assert (rt.entity, rt.scale, rt.criteria, rt.opens_field) == ("jam", 5, [], None)


@pytest.mark.parametrize("word, base, past", [("comes", "come", "came"), ("returned", "return", "returned"),
                                              ("finishes", "finish", "finished"), ("is", "is", None),
                                              ("shipped", "ship", None)])
def test_an_events_verb_names_its_date(word, base, past):
    from shared.engine.planner.b_content import _base, _past

    assert _base(word) == base
    if past:
        assert _past(base) == past
