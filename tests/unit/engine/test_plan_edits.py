"""Issue 19: every typed edit of the spec under review (shared/engine/planedit.py), the edits that would make the
spec invalid and the problems they report in the founder's words; the input spec is never changed."""

from __future__ import annotations

import pytest

from shared.engine import planedit as pe
from shared.engine.appspec import spec_problems
from shared.engine.planner import plan_builtin
from tests.helpers import IDEA


@pytest.fixture(scope="module")
def spec():
    return plan_builtin(IDEA)


def ok(spec, op):
    before = spec.model_dump_json()
    edited, said = pe.apply(spec, op)
    assert spec.model_dump_json() == before, "the input spec changed"
    assert spec_problems(edited) == [] and said
    return edited


def refused(spec, op) -> list[str]:
    before = spec.model_dump_json()
    with pytest.raises(pe.EditRefused) as exc:
        pe.apply(spec, op)
    assert spec.model_dump_json() == before
    assert exc.value.problems
    return exc.value.problems


def test_add_attribute(spec):
    s = ok(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "notes", "type": "long_text"}})
    f = s.entity("invoice").field("notes")
    assert f.type == "long_text" and f.label == "Notes"
    p = refused(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "state", "type": "enum",
                                                                                  "values": ["open"]}})
    assert any("needs at least two values" in x for x in p)
    p = refused(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "amount"}})
    assert any("duplicate" in x and "amount" in x for x in p)
    p = refused(spec, {"op": "add_attribute", "entity": "bill", "attribute": {"name": "x"}})
    assert p == ["there is no entity 'bill'; the entities are invoice, client"]


def test_rename_attribute_carries_every_use(spec):
    s = ok(spec, {"op": "rename_attribute", "entity": "invoice", "name": "due_date", "to": "due_on",
                  "label": "Due on"})
    assert s.entity("invoice").field("due_on").label == "Due on" and s.entity("invoice").field("due_date") is None
    assert s.capability("reminders_invoice").field == "due_on", "the reminder follows the renamed attribute"
    s = ok(spec, {"op": "rename_attribute", "entity": "invoice", "name": "number", "to": "reference_no"})
    assert s.entity("invoice").display_field == "reference_no"
    p = refused(spec, {"op": "rename_attribute", "entity": "invoice", "name": "number", "to": "amount"})
    assert any("duplicate" in x for x in p)
    p = refused(spec, {"op": "rename_attribute", "entity": "invoice", "name": "total", "to": "sum"})
    assert p[0].startswith("Invoice has no attribute 'total'")


def test_retype_attribute(spec):
    s = ok(spec, {"op": "retype_attribute", "entity": "invoice", "name": "amount", "type": "decimal"})
    assert s.entity("invoice").field("amount").type == "decimal"
    s = ok(spec, {"op": "retype_attribute", "entity": "client", "name": "phone", "type": "enum",
                  "values": ["mobile", "landline"]})
    assert s.entity("client").field("phone").values == ["mobile", "landline"]
    # the reminder needs a date: retyping it to text is refused, in the founder's nouns
    p = refused(spec, {"op": "retype_attribute", "entity": "invoice", "name": "due_date", "type": "text"})
    assert any("Invoice's Due date is a text field but must be date or datetime" in x for x in p), p
    p = refused(spec, {"op": "retype_attribute", "entity": "invoice", "name": "amount", "type": "colour"})
    assert any("must be one of text" in x for x in p)


def test_add_entity_gets_pages_and_the_owner(spec):
    s = ok(spec, {"op": "add_entity", "name": "project", "label": "Project",
                  "attributes": [{"name": "title", "required": True}, {"name": "budget", "type": "money"}]})
    e = s.entity("project")
    assert e.plural == "projects" and e.display_field == "title"
    assert "project" in s.role("owner").write and any(p.id == "projects" for p in s.pages)
    p = refused(spec, {"op": "add_entity", "name": "client", "label": "Client", "attributes": [{"name": "n"}]})
    assert p == ["there is already an entity 'client'; choose another name"]
    p = refused(spec, {"op": "add_entity", "name": "tally", "label": "Tally",
                       "attributes": [{"name": "count", "type": "integer"}]})
    assert "needs at least one text attribute" in p[0]


def test_link_entities(spec):
    s = ok(spec, {"op": "link_entities", "entity": "invoice", "target": "client", "required": True})
    f = s.entity("invoice").field("client_id")
    assert f.type == "reference" and f.ref == "client" and f.required
    assert any(r.entity == "invoice" and r.target == "client" and r.field == "client_id" for r in s.relations)
    p = refused(spec, {"op": "link_entities", "entity": "invoice", "target": "client", "field": "client"})
    assert any("must be named <something>_id" in x for x in p)
    assert refused(spec, {"op": "link_entities", "entity": "invoice", "target": "ghost"})[0].startswith(
        "there is no entity 'ghost'")


def test_add_role(spec):
    s = ok(spec, {"op": "add_role", "name": "accountant", "label": "Accountant", "read": ["invoice", "client"]})
    assert s.role("accountant").read == ["invoice", "client"] and not s.role("accountant").manage_users
    p = refused(spec, {"op": "add_role", "name": "auditor", "label": "Auditor", "read": ["ledger"]})
    assert any("Role 'auditor' names unknown entity 'ledger'" in x for x in p), p
    p = refused(spec, {"op": "add_role", "name": "owner", "label": "Boss"})
    assert p == ["there is already a role 'owner'; choose another name"]


def test_set_scope(spec):
    role = next(r.name for r in spec.roles if r.name != "owner")
    s = ok(spec, {"op": "set_scope", "role": role, "entity": "invoice", "read": "own", "write": False, "edit": "own"})
    r = s.role(role)
    assert "invoice" in r.read_own and "invoice" not in r.write and r.scope == "own"
    s = ok(spec, {"op": "set_scope", "role": role, "entity": "client", "read": "none", "write": False})
    assert "client" not in s.role(role).read
    p = refused(spec, {"op": "set_scope", "role": "owner", "entity": "invoice", "read": "own"})
    assert any("manages users, so it sees every row" in x for x in p)
    assert refused(spec, {"op": "set_scope", "role": role})[0].startswith("say what changes")


def test_set_rule_params(spec):
    s = ok(spec, {"op": "set_rule_params", "capability": "reminders_invoice", "params": {"days": 3}})
    assert s.capability("reminders_invoice").days == 3
    assert refused(spec, {"op": "set_rule_params", "capability": "reminders_invoice", "params": {"days": "soon"}})
    p = refused(spec, {"op": "set_rule_params", "capability": "reminders_invoice", "params": {"kind": "limit"}})
    assert "cannot be set" in p[0]
    p = refused(spec, {"op": "set_rule_params", "capability": "reminders_invoice", "params": {"colour": 1}})
    assert "has no setting colour" in p[0]
    p = refused(spec, {"op": "set_rule_params", "capability": "reminders_invoice", "params": {"field": "number"}})
    assert any("Invoice's Number is a text field" in x for x in p), p


def test_bind_feature_to_a_new_capability_recomputes_the_status(spec):
    s = ok(spec, {"op": "bind_feature", "feature": "create invoices",
                  "new": {"kind": "limit", "entity": "invoice", "scope": "user", "max": 5}})
    t = s.trace[0]
    assert t.capabilities[-1] == "limit_invoice" and s.capability("limit_invoice").routes, "routes filled in"
    assert t.built_as and "at most 5" in t.built_as
    s2 = ok(s, {"op": "bind_feature", "feature": 1, "capabilities": ["records_client"]})
    assert s2.trace[1].capabilities == ["records_client"]
    p = refused(spec, {"op": "bind_feature", "feature": 0, "new": {"kind": "teleport"}})
    assert "the library has no capability 'teleport'" in p[0]
    p = refused(spec, {"op": "bind_feature", "feature": 0, "new": {"kind": "limit", "entity": "ghost", "max": 1}})
    assert any("ghost" in x for x in p)
    assert refused(spec, {"op": "bind_feature", "feature": 9, "capabilities": ["records_client"]})[0].startswith(
        "there is no key feature 9")
    assert refused(spec, {"op": "bind_feature", "feature": 0, "capabilities": ["nope"]})[0].startswith(
        "there is no capability nope")


def test_mark_not_needed(spec):
    s = ok(spec, {"op": "mark_not_needed", "feature": "Track clients"})
    assert s.trace[1].status == "not_covered" and s.trace[1].capabilities == []
    assert [x["status"] for x in pe.trace_status(s)] == ["built", "not_needed", "built"]


def test_malformed_and_unknown_edits(spec):
    assert "unknown edit" in refused(spec, {"op": "delete_everything"})[0]
    p = refused(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "Bad Name"}})
    assert "lower-case name" in p[0]


def test_the_founder_view(spec):
    v = pe.founder_view(spec)
    inv = next(e for e in v["entities"] if e["name"] == "invoice")
    assert {a["name"]: a["type"] for a in inv["attributes"]}["due_date"] == "date"
    owner = next(m for m in v["matrix"] if m["role"] == "owner")
    assert owner["entities"]["invoice"] == {"read": "all", "write": True, "edit": "all"}
    f = v["features"][2]
    assert f["feature"] == "payment reminders" and f["status"] == "built" and f["criteria"]
    assert f["capabilities"][0]["kind"] == "reminders" and f["capabilities"][0]["params"]["days"] == 1
    assert f["built_as"].startswith("Built as: ")
    assert v["signup"]["policy"] == "invite" and v["public_entities"] == []
    assert set(pe.OPS) == set(v["edits"]) and "limit" in v["library"]


def test_suggestions_are_worked_out_once_per_spec_content(spec, monkeypatch):
    """Reading the same plan again does not recompute its suggestions; an edited spec gets its own; callers get
    copies, so one caller's change to the answer cannot leak into the next."""
    from shared.engine import plansuggest

    calls = []
    real = plansuggest.suggest

    def counting(s):
        calls.append(s)
        return real(s)

    monkeypatch.setattr(plansuggest, "suggest", counting)
    monkeypatch.setattr(pe, "_suggested", type(pe._suggested)())
    first = pe.suggest(spec)
    again = pe.suggest(spec.model_copy(deep=True))  # a copy loaded from elsewhere: the same content
    assert len(calls) == 1 and again == first
    again.append({"index": 999})
    assert pe.suggest(spec) == first and len(calls) == 1
    edited = ok(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "colour_code",
                                                                                "type": "text"}})
    pe.suggest(edited)
    assert len(calls) == 2
    monkeypatch.setattr(pe, "SUGGEST_CACHE_SIZE", 1)
    third = ok(spec, {"op": "add_attribute", "entity": "invoice", "attribute": {"name": "po_number", "type": "text"}})
    pe.suggest(third)  # a new spec evicts the least recently used: the cache stays bounded
    assert len(pe._suggested) == 1 and len(calls) == 3
