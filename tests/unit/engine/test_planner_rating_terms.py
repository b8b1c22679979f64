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
    "boat-yard": {
        "title": "SlipTrack", "description": "A boatyard refits yachts over the winter.",
        "target_audience": "boatyards, their shipwrights and surveyors",
        "key_features": ["Yachts with name, hull length and berth",
                         "Surveyors rate each yacht from 1 to 5 once it is launched"]},
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
    spec, rt = _plan("boat-yard")
    assert (rt.entity, rt.opens_field, rt.opens_words) == ("yacht", "launched_on", "once it is launched")
    assert spec.entity("yacht").field("launched_on").type == "date"
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


def test_the_criteria_of_each_rating_pass_against_the_built_app():
    """QA (stages 1-5) on two of these ideas: the criteria per criterion and the opening (409 before, accepted
    after, 422 out of range, 403 for a wrong role, one score per rater) pass against the generated app."""
    from bench import coverage

    ideas = [{"id": k, "expect": "go", **IDEAS[k]} for k in ("glaze-show", "boat-yard")]
    out = coverage.run(ideas)
    missed = [r for r in out["details"]["not_covered"] if "rate" in r["feature"] or "score" in r["feature"]]
    assert missed == [], missed
