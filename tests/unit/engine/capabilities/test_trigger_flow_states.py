"""Capability `trigger` on a workflow's states and on a person two links away (decision 0069), planned from ideas
in domains of their own: a pottery studio whose pieces go from greenware to fired and whose makers are emailed
"once their piece is settled" (the workflow's final state, no second status beside the workflow's), and a boatyard
that texts the skipper "as soon as a damage report is logged for their boat" (each new report, told to its boat's
skipper only). Each app is compiled and its own tests and acceptance criteria pass under QA: the criterion moves
the piece through the workflow's transition route and finds the email in the outbox for the maker only."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def kiln_idea():
    return {"id": "kiln-pieces", "title": "Kiln log", "description": "A pottery studio fires members' pieces in its kiln.",
            "target_audience": "pottery studios",
            "key_features": ["Pieces with title, glaze and maker email",
                             "Pieces go from greenware to bisqued to glazed to fired",
                             "Email the maker when their piece is settled"]}


def boatyard_idea():
    return {"id": "boat-yard", "title": "Yard jobs", "description": "A boatyard repairs hulls for boat owners.",
            "target_audience": "boatyards",
            "key_features": ["Skippers with name and phone", "Damage reports with description",
                             "Text the skipper as soon as a damage report is logged for their boat"]}


def _trigger(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "trigger"]
    return cap


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def test_a_word_of_ending_fires_on_the_workflows_final_state_without_a_second_status():
    spec = plan_builtin(kiln_idea())
    [wf] = [c for c in spec.capabilities if c.kind == "workflow"]
    cap = _trigger(spec)
    assert _trace(spec, "settled").status == "planned", _trace(spec, "settled")
    assert [(c.field, c.op, c.values) for c in cap.conditions] == [(wf.state_field, "in", ["fired"])]
    piece = spec.entity("piece")
    assert [f.name for f in piece.fields if f.type == "enum"] == [wf.state_field]  # no status beside the workflow's
    assert not [f for f in piece.fields if f.type == "boolean"]  # nor a yes/no "settled"
    assert (cap.action.type, cap.action.email_field) == ("notify", "maker_email")


def test_a_participle_that_is_a_state_means_that_state_and_another_one_is_refused_not_added():
    named = {**kiln_idea(), "key_features": [*kiln_idea()["key_features"][:2],
                                             "Email the maker when their piece is bisqued"]}
    spec = plan_builtin(named)
    [wf] = [c for c in spec.capabilities if c.kind == "workflow"]
    assert [(c.field, c.values) for c in _trigger(spec).conditions] == [(wf.state_field, ["bisqued"])]
    other = {**kiln_idea(), "key_features": [*kiln_idea()["key_features"][:2],
                                             "Email the maker as soon as their result is cracked"]}
    spec = plan_builtin(other)  # the workflow moves "result" here: a status beside it would be a second one
    [wf] = [c for c in spec.capabilities if c.kind == "workflow"]
    assert not [c for c in spec.capabilities if c.kind == "trigger"]
    t = _trace(spec, "cracked")
    assert t.status == "not_covered" and "no cracked state" in t.reason, t
    assert [f.name for f in spec.entity("piece").fields if f.type == "enum"] == [wf.state_field]


def test_a_record_being_written_fires_on_each_new_one_for_the_person_two_links_away():
    spec = plan_builtin(boatyard_idea())
    cap = _trigger(spec)
    assert _trace(spec, "damage report").status == "planned", _trace(spec, "damage report")
    assert (cap.entity, cap.on, cap.conditions) == ("damage", "create", [])
    a = cap.action
    assert (a.channel, a.role, a.join_entity) == ("sms", None, None)
    assert spec.entity("damage").field(a.via_field).ref == "boat"
    assert spec.entity("boat").field(a.then_field).ref == "skipper"
    assert a.phone_field and spec.entity("skipper").field(a.phone_field).type == "phone"
    assert not [f for f in spec.entity("damage").fields if f.type == "enum"]  # no "written"/"logged" status


def _built(idea):
    return plan_builtin(idea).model_dump(mode="json")


@pytest.mark.parametrize("idea", [kiln_idea, boatyard_idea], ids=["final_state", "two_links"])
def test_generated_trigger_tests_and_criteria_pass(idea):
    spec, files = S.compile_spec(_built(idea()))
    run = S.qa(files)
    assert run.passed, run.output
    cap = _trigger(spec)
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) == {"passed"}, (mine, run.output)
    if cap.action.then_field:
        assert any("only_the_person" in name for name in mine), mine
    [feature] = [ft for ft in run.features if cap.id in ft["capabilities"]]
    assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature
    assert feature["status"] == "built", feature
