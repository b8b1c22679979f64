"""Two limits on one entity: each limit's generated tests and criteria fill it without filling the other (rows
spread over fresh parents of the other limit); a sentence that restates a limit with another number plans no
second, contradicting limit; and a sentence that counts per a pair of records ("each club enters up to 4 boats per
regatta") plans a limit per pair (pair_field), whose generated tests and criteria pass under QA."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def kennel_stays():
    """Boarding kennel: each run holds at most 1 dog stay, and each handler looks after at most 3 stays."""
    run = entity("kennel_run", "kennel_runs", [f("label", required=True)], display="label")
    handler = entity("handler", "handlers", [f("full_name", required=True)], display="full_name")
    stay = entity("stay", "stays", [
        f("dog_name", required=True), f("kennel_run_id", "reference", ref="kennel_run", required=True),
        f("handler_id", "reference", ref="handler", required=True)], display="dog_name")
    roles = [role("manager", ["kennel_run", "handler", "stay"], ["kennel_run", "handler", "stay"])]
    caps = [{"kind": "limit", "id": "one_dog_per_run", "label": "Each run holds at most 1 stay",
             "entity": "stay", "parent_field": "kennel_run_id", "max": 1},
            {"kind": "limit", "id": "handler_load", "label": "A handler looks after at most 3 stays",
             "entity": "stay", "parent_field": "handler_id", "max": 3}]
    return build("Run Rota", "A boarding kennel puts dogs in runs.", [run, handler, stay], roles, caps)


@pytest.mark.parametrize("first", ["handler_load", "one_dog_per_run"])
def test_each_of_two_limits_on_one_entity_passes_its_own_tests(first):
    spec_dict = kennel_stays()
    spec_dict["capabilities"].sort(key=lambda c: c["id"] != first)
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    for cap in spec.capabilities:
        assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
        mine = run.of(f"test_cap_{cap.id}")
        assert len(mine) >= 8 and set(mine.values()) == {"passed"}, (cap.id, mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    for feature in run.features:
        assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature["criteria"]


def _limits(spec):
    return [(c.entity, c.parent_field, c.max) for c in spec.capabilities if c.kind == "limit"]


def _pairs(spec):
    return [(c.entity, c.parent_field, c.pair_field, c.max) for c in spec.capabilities if c.kind == "limit"]


def test_one_record_per_pair_of_two_others_is_a_limit_per_pair_not_per_one_of_them():
    """'Each kayak has only one paddler per trip': one paddler per kayak and trip (a limit per pair), not one paddler
    per trip (which the next feature's 'up to 8 paddlers' per trip would contradict)."""
    spec = plan_builtin({"id": "kayak-trips", "title": "Paddle Plan",
                         "description": "A kayak club takes its paddlers on river trips.",
                         "target_audience": "kayak club trip leaders",
                         "key_features": ["Each kayak has only one paddler per trip",
                                          "Each trip holds up to 8 paddlers",
                                          "Kayak list with colour and length"]})
    assert sorted(_pairs(spec), key=str) == [("paddler", "trip_id", "kayak_id", 1), ("paddler", "trip_id", None, 8)]
    pair = next(t for t in spec.trace if t.feature.startswith("Each kayak"))
    assert pair.status == "planned" and pair.capabilities, pair


def test_a_limit_per_a_record_that_belongs_to_the_each_noun_is_kept():
    """'Each hive gets only one inspection report per visit', where a visit is of one hive: per visit is per pair."""
    spec = plan_builtin({"id": "bee-hives", "title": "Hive Log",
                         "description": "A beekeeping club inspects its hives on visits.",
                         "target_audience": "beekeepers",
                         "key_features": ["Visits to each hive with date and notes",
                                          "Each hive gets only one inspection report per visit",
                                          "Hive list with site and queen colour"]})
    assert _limits(spec) == [("inspection", "visit_id", 1)]


def test_a_second_number_for_the_same_limit_is_not_planned():
    """Two features that count the same records per the same record with two numbers: the first is planned, the
    second says it contradicts it (its tests could never fill the looser one)."""
    spec = plan_builtin({"id": "pottery-kilns", "title": "Kiln Slots",
                         "description": "A pottery studio fires members' pots in its kilns.",
                         "target_audience": "pottery studio members",
                         "key_features": ["Each kiln holds up to 12 pots", "A kiln takes at most 20 pots",
                                          "Pot list with glaze and maker"]})
    limits = _limits(spec)
    assert len(limits) == 1 and limits[0][2] == 12, limits
    second = next(t for t in spec.trace if t.feature.startswith("A kiln takes"))
    assert second.status != "planned" and "12" in (second.reason or ""), second


# ------------------------------------------------------------------------------------------- limits per pair

def regatta_idea():
    """A sailing association: boats are counted per club and regatta together."""
    return {"id": "regatta-entries", "title": "Regatta Desk",
            "description": "A sailing association runs regattas on the estuary.",
            "target_audience": "regatta organisers",
            "key_features": ["Each club enters up to 4 boats per regatta", "Regatta list with date and venue",
                             "Boat list with sail number and class"]}


def kite_idea():
    """A kite festival: one display per flyer and arena."""
    return {"id": "kite-festival", "title": "Kite Day", "description": "A kite festival schedules displays.",
            "target_audience": "kite festival stewards",
            "key_features": ["Each flyer gets only one display per arena", "Arena list with size"]}


def band_idea():
    """A brass band league: marches counted per band and contest (a verb the reading leaves unread)."""
    return {"id": "band-contests", "title": "Contest Card",
            "description": "A brass band league organises contests between its bands.",
            "target_audience": "brass band league secretaries",
            "key_features": ["Each band plays no more than 2 marches per contest", "Contest list with venue and date"]}


@pytest.mark.parametrize("idea,want,status", [
    (regatta_idea, ("boat", "regatta_id", "club_id", 4), "planned"),
    (kite_idea, ("display", "arena_id", "flyer_id", 1), "planned"),
    (band_idea, ("march", "contest_id", "band_id", 2), "partial"),  # 'plays' stays unread
], ids=["regatta", "kite", "band"])
def test_each_a_at_most_n_b_per_c_is_a_limit_per_pair(idea, want, status):
    """'Each A ... at most N B per C': the B rows that point at both one C and one A count together; the planner
    adds B's required references to both, and the rule reads as realised (its criterion names the number)."""
    spec = plan_builtin(idea())
    assert _pairs(spec) == [want]
    counted, parent_field, pair_field, n = want
    ent = spec.entity(counted)
    for name in (parent_field, pair_field):
        assert ent.field(name).type == "reference" and ent.field(name).required, name
    trace = next(t for t in spec.trace if t.feature == idea()["key_features"][0])
    assert trace.capabilities == [c.id for c in spec.capabilities if c.kind == "limit"]
    assert trace.status == status, trace
    assert "at most" not in (trace.reason or "") and "no more than" not in (trace.reason or ""), trace.reason
    ruled = [c for c in trace.criteria if c.rules]
    assert ruled and all(c.params["pair_field"] == pair_field and c.params["limit"] == n for c in ruled), ruled


@pytest.mark.parametrize("idea", [regatta_idea, kite_idea], ids=["regatta", "kite"])
def test_generated_pair_limit_tests_and_criteria_pass(idea):
    """The planned app holds the limit per pair on every write path: its generated tests (one pair filled, the
    next refused; another A of the same C and another C of the same A unaffected; a row moved into a full pair
    refused; concurrent writers; wrong roles) and its criteria over HTTP pass."""
    spec_dict = plan_builtin(idea()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    cap = next(c for c in spec.capabilities if c.kind == "limit")
    assert cap.pair_field
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    pair = spec.entity(cap.entity).field(cap.pair_field).ref
    parent = spec.entity(cap.entity).field(cap.parent_field).ref
    assert {f"test_another_{pair}_of_the_same_{parent}_is_unaffected", "test_other_parents_are_unaffected",
            "test_moving_a_row_into_a_full_pair_by_its_other_record_is_refused",
            "test_concurrent_writers_never_go_over_the_limit", "test_roles_without_access_are_refused"} <= set(mine)
    assert set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    feature = next(f for f in run.features if f["feature"] == idea()["key_features"][0])
    assert feature["status"] == "built", feature
    ruled = [c for c in feature["criteria"] if c["text"].startswith('"')]  # the founder's rule, quoted
    assert ruled and all(c["passed"] for c in feature["criteria"]), feature["criteria"]


def test_a_pair_field_must_be_another_reference_of_a_parent_limit():
    from shared.engine.appspec.model import AppSpec
    from shared.engine.capabilities import module_for

    spec_dict = kennel_stays()
    spec_dict["capabilities"] = [dict(spec_dict["capabilities"][1], pair_field="kennel_run_id")]
    spec = AppSpec.model_validate(spec_dict)
    assert module_for("limit").check(spec.capabilities[0], spec) == []
    for change, says in (({"pair_field": "handler_id"}, "parent_field itself"),
                         ({"pair_field": "dog_name"}, "must be reference"),
                         ({"scope": "user", "parent_field": None}, "pair_field counts rows per pair")):
        bad = AppSpec.model_validate(S.with_cap(spec_dict, **change))
        assert any(says in m for m in module_for("limit").check(bad.capabilities[0], bad)), change
