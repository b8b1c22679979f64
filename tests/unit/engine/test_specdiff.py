"""The diff between two versions of an app spec (issue 19): entities, attributes, links, roles and rules, each
added, removed or changed, by name."""

from __future__ import annotations

import json
from pathlib import Path

from shared.engine import planedit
from shared.engine.appspec import AppSpec
from shared.engine.specdiff import spec_diff

SPEC = AppSpec.model_validate(json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "specs" / "kiln_studio.json").read_text(encoding="utf-8")))


def edited(*ops: dict) -> AppSpec:
    spec = SPEC
    for op in ops:
        spec, _ = planedit.apply(spec, planedit.parse(op))
    return spec


def test_the_same_spec_has_no_differences():
    d = spec_diff(SPEC, SPEC)
    assert d["same"] is True and d["attributes"] == {"added": [], "removed": [], "changed": []}


def test_attributes_added_renamed_and_retyped_are_named():
    new = edited({"op": "add_attribute", "entity": "kiln", "attribute": {"name": "serial", "type": "text"}},
                 {"op": "rename_attribute", "entity": "kiln", "name": "notes", "to": "remarks"},
                 {"op": "retype_attribute", "entity": "kiln", "name": "location", "type": "long_text"})
    d = spec_diff(SPEC, new)
    assert d["same"] is False
    assert d["attributes"]["added"] == ["kiln.remarks", "kiln.serial"]
    assert d["attributes"]["removed"] == ["kiln.notes"]
    assert d["attributes"]["changed"] == [{"name": "kiln.location", "from": {"type": "text"},
                                           "to": {"type": "long_text"}}]
    back = spec_diff(new, SPEC)  # either direction
    assert back["attributes"]["added"] == ["kiln.notes"] and back["attributes"]["removed"] == ["kiln.remarks",
                                                                                               "kiln.serial"]


def test_entities_links_and_roles_are_compared():
    new = edited({"op": "add_entity", "name": "shelf", "label": "Shelf", "attributes": [{"name": "label", "type": "text",
                                                                       "required": True}]},
                 {"op": "link_entities", "entity": "shelf", "target": "kiln"})
    d = spec_diff(SPEC, new)
    assert d["entities"]["added"] == ["shelf"]
    assert d["links"]["added"] == ["shelf many_to_one kiln"]
    assert d["rules"] == {"added": [], "removed": [], "changed": []}
    [owner] = [c for c in d["roles"]["changed"] if c["name"] == "owner"]
    assert "shelf" not in owner["from"]["read"] and "shelf" in owner["to"]["read"] and "shelf" in owner["to"]["write"]
