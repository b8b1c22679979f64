"""Two limits on one entity: each limit's generated tests and criteria fill it without filling the other (rows
spread over fresh parents of the other limit); and a sentence that counts per a pair of records, or restates a
limit with another number, plans no second, contradicting limit."""

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


def test_one_record_per_pair_of_two_others_is_no_limit_per_one_of_them():
    """'Each kayak has only one paddler per trip': one paddler per kayak and trip, not one paddler per trip (which
    the next feature's 'up to 8 paddlers' per trip would contradict)."""
    spec = plan_builtin({"id": "kayak-trips", "title": "Paddle Plan",
                         "description": "A kayak club takes its paddlers on river trips.",
                         "target_audience": "kayak club trip leaders",
                         "key_features": ["Each kayak has only one paddler per trip",
                                          "Each trip holds up to 8 paddlers",
                                          "Kayak list with colour and length"]})
    limits = _limits(spec)
    assert len(limits) == 1 and limits[0][2] == 8, limits
    pair = next(t for t in spec.trace if t.feature.startswith("Each kayak"))
    assert pair.status != "planned" and not pair.capabilities, pair


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
