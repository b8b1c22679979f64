"""Capability `vote`: a budget of votes per person read from the words ("each singer gets one audience-choice
vote", "every student has three votes", "a single vote per member") and the ban on voting for the group one
belongs to ("cannot vote for their own choir": the voter's person record points at the choir), planned, certified
and built into apps whose generated tests and acceptance criteria pass — a regional choir contest, a school house
competition, a village bake-off and a camera club."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, RuleReading, spec_problems
from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def choir_contest():
    return {"id": "choir-contest", "title": "Choir Cup", "target_audience": "contest organisers",
            "description": "A regional choir contest where the singers pick the audience favourite.",
            "key_features": ["Choirs with name and conductor", "Singers with name, voice part and choir",
                             "Each singer gets one audience-choice vote and cannot vote for their own choir"]}


def house_cup():
    return {"id": "house-cup", "title": "House Cup", "target_audience": "school staff",
            "description": "A school runs a house competition through the year.",
            "key_features": ["Houses with name and colour", "Students with name, form and house",
                             "Students vote for houses: every student has three votes and may not vote for their "
                             "own house"]}


def bake_off():
    return {"id": "village-bake-off", "title": "Bake Off", "target_audience": "fete committees",
            "description": "A village fete where neighbours bake cakes and pick the best.",
            "key_features": ["Neighbours enter cakes with a name and a category",
                             "Each neighbour gets two tasting votes for cakes, and nobody can vote for their own "
                             "cake"]}


def camera_club(words: str):
    return {"id": "camera-club", "title": "Photo Club", "target_audience": "camera clubs",
            "description": "A camera club shares photos each month.",
            "key_features": ["Members upload photos with a title", f"Members vote on photos, {words}"]}


def _vote(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "vote"]
    return cap


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


@pytest.mark.parametrize("idea, entity, budget, member", [
    (choir_contest, "choir", 1, ("singer", "choir_id")),
    (house_cup, "house", 3, ("student", "house_id")),
    (bake_off, "cake", 2, (None, None)),
], ids=["one_vote_with_a_modifier", "number_word", "modifier_and_own_record"])
def test_the_budget_is_the_votes_own_and_own_group_is_membership(idea, entity, budget, member):
    spec = plan_builtin(idea())
    cap = _vote(spec)
    assert (cap.entity, cap.max_votes_per_user) == (entity, budget), cap
    assert (cap.member_entity, cap.member_field) == member, cap
    assert cap.allow_self_votes is (member[0] is not None)  # a group one belongs to, or a record one made
    assert not [c for c in spec.capabilities if c.kind == "limit"], spec.capabilities  # no stray limit
    if member[0]:
        person = spec.entity(member[0])
        assert person.field(member[1]).ref == entity and any(f.type == "email" for f in person.fields)
        assert member[0] in cap.voter_roles
    assert spec_problems(spec) == []


def test_one_vote_per_person_is_a_budget_and_one_vote_per_record_is_not():
    budgets = {words: _vote(plan_builtin(camera_club(words))).max_votes_per_user
               for words in ("a single vote per member", "one vote per member", "one vote per photo",
                             "one vote each", "up to 4 votes each")}
    assert budgets == {"a single vote per member": 1, "one vote per member": 1, "one vote per photo": None,
                       "one vote each": None, "up to 4 votes each": 4}
    spec = plan_builtin(camera_club("a single vote per member"))
    assert not [c for c in spec.capabilities if c.kind == "limit"], spec.capabilities


def test_the_trace_certifies_the_budget_and_the_own_group_by_the_vote_criteria():
    spec = plan_builtin(choir_contest())
    t = _trace(spec, "audience-choice vote")
    assert t.status == "planned", (t.not_built, t.reading)
    cats = [r.category for r in t.reading.rules]
    assert cats == ["limit", "block"], t.reading.rules
    assert "vote" in t.reading.rules[0].nouns and t.reading.rules[0].number == 1
    by = {c.template: c.rules for c in t.criteria}
    assert by["vote.budget"] == [0] and by["vote.own_group"] == [1], by
    assert "vote.no_self_votes" not in by
    spec = plan_builtin(house_cup())
    t = _trace(spec, "three votes")
    assert t.status == "planned", (t.not_built, t.reading)
    assert {c.template for c in t.criteria} >= {"vote.budget", "vote.own_group"}


def _realises(spec, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    return REALISES["vote"](_vote(spec), spec, RuleReading(**rule), None)


def test_the_rules_are_realised_only_by_the_budget_and_the_membership():
    spec = plan_builtin(choir_contest())
    one = dict(category="limit", words="Each singer gets one audience-choice vote", number=1,
               nouns=["vote", "singer"])
    own = dict(category="block", words="cannot vote for their own", nouns=["vote", "own"])
    assert _realises(spec, **one) and _realises(spec, **own)
    loose = spec.model_copy(deep=True)
    cap = _vote(loose)
    cap.max_votes_per_user, cap.member_entity, cap.member_field = None, None, None
    assert not _realises(loose, **one)  # one vote per record is not a budget of one
    assert not _realises(loose, **own)  # neither self-votes off nor a membership


def test_check_names_a_membership_that_does_not_resolve():
    spec = plan_builtin(choir_contest())
    d = spec.model_dump(mode="json")
    cap = next(c for c in d["capabilities"] if c["kind"] == "vote")
    for change, words in (({"member_field": None}, "go together"), ({"member_field": "name"}, "is not a reference"),
                          ({"member_entity": "choir", "member_field": "name"}, "no email field")):
        bad = {**d, "capabilities": [{**c, **change} if c is cap else c for c in d["capabilities"]]}
        problems = spec_problems(AppSpec.model_validate(bad))
        assert any(words in p for p in problems), (change, problems)


@pytest.mark.parametrize("idea", [choir_contest, house_cup], ids=["choir", "house"])
def test_generated_tests_and_criteria_pass(idea):
    spec, files = S.compile_spec(plan_builtin(idea()).model_dump(mode="json"))
    run = S.qa(files)
    assert run.passed, run.output
    cap = _vote(spec)
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    for must in ("test_nobody_votes_on_the_record_they_belong_to", "test_a_voter_without_a_person_record_belongs_to_nothing",
                 "test_concurrent_votes_for_ones_own_record_are_all_refused", "test_each_voter_has_only_its_budget_of_votes",
                 "test_concurrent_votes_never_go_over_the_budget", "test_roles_without_access_are_refused"):
        assert mine.get(must) == "passed", (must, mine)
    assert set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    feature = next(ft for ft in run.features if "vote" in ft["feature"] and "own" in ft["feature"])
    assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature["criteria"]
    assert feature["status"] == "built", feature
    texts = {tuple(c["rules"]): c["text"] for c in feature["criteria"]}
    assert "is refused until one is withdrawn" in texts[(0,)] and "belongs to" in texts[(1,)], texts
