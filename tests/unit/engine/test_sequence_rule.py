"""A stated sequence of states is a rule (category `sequence`): "violins go from carved to varnished to strung to
sold", "casks move through filled, racked and bottled", "packed then shipped then invoiced". The workflow whose
transitions take a record through those states in that order, none skipped, realises it, and its in-order criterion
(a skip refused, each step in turn accepted) proves it; a workflow lacking one of the states leaves the feature
partial with the founder's words; a workflow whose feature states no chain is read as before."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec
from shared.engine.criteria.certify import certify
from shared.engine.planner import plan_builtin
from shared.engine.planner.reading import rules_of

from .capabilities import _ops_specs as S
from .capabilities._ops_specs import build, entity, f, role


def luthier_idea():
    return {"id": "luthier-bench", "title": "Bench book", "description": "A violin maker's workshop tracks each "
            "instrument on the bench.", "target_audience": "luthiers",
            "key_features": ["Violins with maker, wood and price",
                             "Violins go from carved to varnished to strung to sold"]}


@pytest.mark.parametrize("text, words", [
    ("Violins go from carved to varnished to strung to sold", "go from carved to varnished to strung to sold"),
    ("Casks move through filled, racked and bottled", "move through filled, racked and bottled"),
    ("Parcels are weighed then labelled then posted", "weighed then labelled then posted"),
    ("Seedlings pass from sown to pricked out to hardened off", "pass from sown to pricked out to hardened off"),
])
def test_a_stated_order_of_states_is_a_sequence_rule(text, words):
    rules = rules_of(text)
    assert [(r.category, r.words) for r in rules] == [("sequence", words)], rules


def test_three_named_states_make_a_sequence_but_two_states_or_a_range_of_numbers_do_not():
    assert len(rules_of("Wagons go from loaded to weighed to unloaded", "sequence")) == 1
    assert not rules_of("Sightings go from pending to approved by the county warden", "sequence")
    assert not rules_of("Judges score each loaf from 1 to 10", "sequence")


@pytest.mark.parametrize("said, states", [("Casks move through filled, racked and bottled",
                                           ["filled", "racked", "bottled"]),
                                          ("Parcels are weighed then labelled then posted",
                                           ["weighed", "labelled", "posted"])])
def test_a_workflow_is_planned_with_the_states_a_through_or_then_sentence_names(said, states):
    spec = plan_builtin({"id": "x", "title": "Cellar", "description": "A small cellar keeps its stock.",
                         "target_audience": "cellar hands", "key_features": ["Casks with name and volume",
                                                                             "Parcels with weight and address", said]})
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    assert wf.states == states, wf.states
    t = spec.trace[2]
    assert t.status == "planned" and [c.rules for c in t.criteria if c.template == "workflow.in_order"] == [[0]], (
        t.not_built, [(c.template, c.rules) for c in t.criteria])


def test_a_chain_workflow_realises_the_stated_sequence_and_is_built_under_qa():
    spec = plan_builtin(luthier_idea())
    t = spec.trace[1]
    [rule] = t.reading.rules
    assert rule.category == "sequence" and t.status == "planned", (t.reading.rules, t.not_built)
    order = [c for c in t.criteria if c.template == "workflow.in_order"]
    assert order and order[0].rules == [0], [(c.template, c.rules) for c in t.criteria]
    spec2, files = S.compile_spec(spec.model_dump(mode="json"))
    run = S.qa(files)
    assert run.passed, run.output
    feature = next(ft for ft in run.features if ft["feature"] == t.feature)
    assert feature["status"] == "built", feature
    proven = [c for c in feature["criteria"] if c.get("rules")]
    assert proven and all(c["passed"] for c in proven), feature["criteria"]


def _grant_spec():
    """Grant bids: draft -> submitted, then approved or rejected; an approved bid is paid. One feature states the
    chain submitted, approved, paid (reached from draft); another names the branch and no chain."""
    bid = entity("grant_bid", "grant_bids", [f("title", required=True), f("amount", "money"),
                                             f("status", "enum", values=["draft", "submitted", "approved",
                                                                          "rejected", "paid"], default="draft")])
    roles = [role("trustee", ["grant_bid"], ["grant_bid"])]
    wf = {"kind": "workflow", "id": "bid_flow", "label": "Grant bids move through submitted, approved and paid",
          "entity": "grant_bid", "state_field": "status",
          "states": ["draft", "submitted", "approved", "rejected", "paid"], "initial": "draft",
          "transitions": [
              {"name": "submit", "from_states": ["draft"], "to": "submitted", "roles": ["owner", "trustee"]},
              {"name": "approve", "from_states": ["submitted"], "to": "approved", "roles": ["owner", "trustee"]},
              {"name": "reject", "from_states": ["submitted"], "to": "rejected", "roles": ["owner", "trustee"]},
              {"name": "pay", "from_states": ["approved"], "to": "paid", "roles": ["owner", "trustee"]}]}
    d = build("Grant desk", "A charity's trustees decide grant bids: draft, submitted, approved, rejected, paid.",
              [bid], roles, [wf])
    d["trace"].append({"feature": "Trustees approve or reject submitted grant bids", "status": "planned",
                       "capabilities": ["bid_flow"]})
    d["features"].append(d["trace"][-1]["feature"])
    return d


def test_a_branching_workflow_realises_a_chain_it_holds_and_a_feature_without_one_is_unchanged():
    spec = certify(AppSpec.model_validate(_grant_spec()))
    chain, branch = spec.trace
    assert [r.category for r in chain.reading.rules] == ["sequence"] and chain.status == "planned", chain.not_built
    order = [c for c in chain.criteria if c.template == "workflow.in_order"]
    assert len(order) == 1 and order[0].rules == [0] and order[0].params["states"] == ["submitted", "approved", "paid"]
    assert not [r for r in branch.reading.rules if r.category == "sequence"]
    assert not [c for c in branch.criteria if c.template == "workflow.in_order"]
    assert branch.status == "planned", branch.not_built
    from shared.engine.criteria import compile_criterion

    steps = compile_criterion(spec, order[0], chain.feature)["steps"]
    moves = [(s["path"].rsplit("/", 1)[-1], s["expect"]) for s in steps if s["method"] == "POST" and "/records/" in
             s["path"]]
    assert moves == [("submit", 200), ("pay", 409), ("approve", 200), ("pay", 200)], moves
    _spec, files = S.compile_spec(spec.model_dump(mode="json"))
    run = S.qa(files)
    assert run.passed, run.output
    feature = next(ft for ft in run.features if ft["feature"] == chain.feature)
    assert feature["status"] == "built", feature
    assert all(c["passed"] for c in feature["criteria"] if c.get("rules")) and any(
        c.get("rules") for c in feature["criteria"]), feature["criteria"]


def test_a_stated_chain_the_workflow_lacks_is_partial_with_its_words():
    d = plan_builtin(luthier_idea()).model_dump(mode="json")
    wf = next(c for c in d["capabilities"] if c["kind"] == "workflow")
    wf["states"] = ["carved", "strung", "sold"]  # no varnishing: strung straight after carving
    wf["transitions"] = [{"name": "to_strung", "from_states": ["carved"], "to": "strung", "roles": ["owner"]},
                         {"name": "to_sold", "from_states": ["strung"], "to": "sold", "roles": ["owner"]}]
    ent = next(e for e in d["entities"] if e["name"] == wf["entity"])
    field = next(x for x in ent["fields"] if x["name"] == wf["state_field"])
    field["values"] = list(wf["states"])
    field["default"] = "carved"
    for t in d["trace"]:
        t["reading"] = None
    t = certify(AppSpec.model_validate(d)).trace[1]
    assert t.status == "partial", t
    assert "go from carved to varnished to strung to sold" in t.not_built, t.not_built
    assert not [c for c in t.criteria if c.rules], [(c.template, c.rules) for c in t.criteria]
