"""Issue 17's recurring misses on records, their attributes and links, named checklist items and ratings, each on
an idea written for this file (no corpus file, no word list, not held out)."""

from __future__ import annotations

from shared.engine.appspec import spec_problems
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
