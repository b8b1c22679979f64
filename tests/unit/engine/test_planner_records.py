"""Issue 17's recurring misses on records, their attributes and links, named checklist items and ratings, each on
an idea written for this file (no corpus file, no word list, not held out)."""

from __future__ import annotations

import pytest

from shared.engine.appspec import spec_problems
from shared.engine.criteria.certify import certify
from shared.engine.planner import plan_builtin


def _trace(spec, start):
    return next(t for t in spec.trace if t.feature.startswith(start))


def test_a_container_word_that_modifies_an_attribute_is_no_matrix():
    # "grid reference" is an attribute of a hydrant, not a grid of its own
    spec = plan_builtin({"title": "Hydrant Survey", "description": "A fire crew keeps the hydrants it inspects.",
                         "key_features": ["Hydrants with street, flow rate and grid reference"]})
    assert spec_problems(spec) == []
    assert "matrix" not in {c.kind for c in spec.capabilities}
    t = spec.trace[0]
    assert t.status == "planned", t.not_built
    assert spec.entity("hydrant").field("grid_reference") is not None


def test_per_a_two_word_record_is_read_as_that_record():
    spec = plan_builtin({"title": "Hive Log", "description": "Beekeepers log what they see at each apiary.",
                         "key_features": ["Nesting boxes with site and height",
                                          "Visits per nesting box with date, eggs and chicks"]})
    t = _trace(spec, "Visits per")
    assert t.status == "planned", t.not_built
    visit = spec.entity("visit")
    assert any(f.type == "reference" for f in visit.fields)


def test_a_checklist_names_its_items_after_a_colon_and_belongs_to_the_record_named_per_or_each():
    spec = plan_builtin({"title": "Glider Club", "description": "A gliding club keeps its launches and pilots.",
                         "key_features": ["Pilots with name and licence number",
                                          "Each launch has a checklist: canopy locked, cable clear, brakes closed"]})
    assert spec_problems(spec) == []
    cap = next(c for c in spec.capabilities if c.kind == "checklist")
    assert cap.entity == "launch"
    assert cap.items == ["Canopy locked", "Cable clear", "Brakes closed"]
    assert spec.entity("canopy") is None and spec.entity("cable") is None  # the items are no records
    t = _trace(spec, "Each launch")
    assert t.status == "planned", t.not_built


@pytest.mark.parametrize("broken", [None, ("    if ITEMS:\n", "    if not ITEMS:\n")])  # items never pre-filled
def test_the_named_items_criterion_passes_on_the_built_app_and_fails_without_prefilled_items(broken, tmp_path):
    from shared.engine.compiler import compile_project, default_design
    from tests.unit.engine.test_certification import _criteria_results

    spec = certify(plan_builtin({"title": "Glider Club", "description": "A gliding club keeps its launches.",
                                 "key_features": ["Each launch has a checklist: canopy locked, cable clear"]}))
    t = spec.trace[0]
    assert [c.template for c in t.criteria] == ["checklist.named_items"], t.criteria
    files = compile_project(spec, default_design(spec))
    cap = next(c for c in spec.capabilities if c.kind == "checklist")
    if broken:
        name = f"app/capabilities/{cap.id}.py"
        module = files[name].decode()
        assert broken[0] in module
        files[name] = module.replace(broken[0], broken[1], 1).encode()
    results = _criteria_results(spec, files, tmp_path)
    assert set(results) == {c.id for c in t.criteria}
    assert all(results.values()) if broken is None else not any(results.values()), results


def test_a_checklist_per_record_with_a_list_names_its_items():
    spec = plan_builtin({"title": "Ferry Deck", "description": "Deckhands check each ferry before it sails.",
                         "key_features": ["Ferries with name and berth",
                                          "Departure checklist per ferry with ramps, doors and lifejackets"]})
    cap = next(c for c in spec.capabilities if c.kind == "checklist")
    assert (cap.entity, cap.items) == ("ferry", ["Ramps", "Doors", "Lifejackets"])


def test_a_record_named_by_a_contact_clause_is_a_link_to_it():
    spec = plan_builtin({"title": "Seed Bank", "description": "A seed bank sends packets to growers.",
                         "key_features": ["Growers with name and town",
                                          "Packets per batch with weight and the grower it went to"]})
    assert spec_problems(spec) == []
    f = spec.entity("packet").field("grower_id")
    assert f is not None and f.type == "reference" and f.ref == "grower"
    t = _trace(spec, "Packets per")
    assert t.status == "planned", t.not_built


def test_whether_someone_did_something_is_a_yes_or_no_attribute():
    spec = plan_builtin({"title": "Sailing Crew", "description": "A sailing school keeps its crew list.",
                         "key_features": ["Crew members with name, phone and whether they passed a swim test"]})
    ent = next(e for e in spec.entities if e.field("swim_test_passed") is not None)
    assert ent.field("swim_test_passed").type == "boolean"


def test_the_subject_of_a_rating_verb_is_the_role_that_rates():
    spec = plan_builtin({"title": "Chutney Show", "description": "A village show judges jars of chutney.",
                         "key_features": ["Jars with maker and recipe",
                                          "Tasters score each jar out of 10"]})
    assert spec_problems(spec) == []
    cap = next(c for c in spec.capabilities if c.kind == "ratings")
    assert (cap.entity, cap.scale, cap.raters) == ("jar", 10, ["taster"])
    assert spec.role("taster") is not None
