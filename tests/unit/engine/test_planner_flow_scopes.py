"""Issue 17, named workflow states and scoped reads in the sentence shapes founders use: "each school sees only its
own visits" (a record the idea keeps signs in), "inspectors see only the lifts they are assigned to" (the relative
clause names the same link as "assigned to them"), "jobs go from booked to tuned to invoiced"."""

from __future__ import annotations

from shared.engine.planner import plan_builtin


def idea(features, title="Test", desc="", audience="small teams"):
    return {"title": title, "description": desc, "target_audience": audience, "key_features": features,
            "constraints": {}}


def fields(spec, ent):
    e = spec.entity(ent)
    assert e is not None, [x.name for x in spec.entities]
    return {f.name: f for f in e.fields}


def test_each_record_that_sees_only_its_own_rows_signs_in_and_the_rows_point_at_it():
    spec = plan_builtin(idea(["Tuning visits with piano, school and date",
                              "Each school sees only its own tuning visits",
                              "When a tuning visit is marked done, email the school"], "TuneRound",
                             "A piano tuner visits school pianos each term."))
    visit = fields(spec, "tuning_visit")
    assert visit["school_id"].ref == "school"
    assert fields(spec, "school")["email"].type == "email"
    assert spec.role("school") is not None and spec.role("school").read_own == ["tuning_visit", "school"]
    assert spec.trace[1].status == "planned", spec.trace[1].not_built
    own = [c for c in spec.trace[1].criteria if c.template == "records.own_rows"]
    assert own and own[0].params["role"] == "school"
    trig = next(c for c in spec.capabilities if c.kind == "trigger")  # the visit's school, not every school
    assert trig.action.via_field == "school_id" and trig.action.role is None, trig.action


def test_people_who_see_the_records_they_are_assigned_to_are_linked_to_them():
    spec = plan_builtin(idea(["Lift shafts with building, floor count and last test date",
                              "Inspectors see only the lift shafts they are assigned to"], "ShaftCheck"))
    assert fields(spec, "shaft")["inspector_id"].ref == "inspector"
    assert fields(spec, "inspector")["email"].type == "email"
    assert spec.role("inspector").read_own == ["shaft", "inspector"]
    assert spec.trace[1].status == "planned", spec.trace[1].not_built


def test_records_go_through_named_multi_word_states_in_order():
    spec = plan_builtin(idea(["Quilts with customer, pattern and size",
                              "Quilts go from cut to being pieced to hand quilted to bound"], "QuiltLine",
                             "A quilting studio makes quilts to order."))
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    assert wf.entity == "quilt"
    assert wf.states == ["cut", "being_pieced", "hand_quilted", "bound"], wf.states
    assert [(t.from_states, t.to) for t in wf.transitions] == [(["cut"], "being_pieced"),
                                                               (["being_pieced"], "hand_quilted"),
                                                               (["hand_quilted"], "bound")]
    assert spec.trace[1].status == "planned", spec.trace[1].not_built
    assert all("go" not in n for n in spec.trace[1].not_built)
    # the criteria drive the moves over HTTP: in order, and a skipped state is refused
    order = [c for c in spec.trace[1].criteria if c.template == "workflow.in_order"]
    assert order and "straight to hand quilted is refused" in order[0].text, [c.text for c in spec.trace[1].criteria]


def test_the_in_order_criterion_refuses_a_skipped_state_then_walks_every_state():
    from shared.engine.criteria import compile_criterion

    spec = plan_builtin(idea(["Quilts with customer, pattern and size",
                              "Quilts go from cut to being pieced to hand quilted to bound"], "QuiltLine"))
    crit = next(c for c in spec.trace[1].criteria if c.template == "workflow.in_order")
    steps = compile_criterion(spec, crit, spec.trace[1].feature)["steps"]
    moves = [(s["path"].rsplit("/", 1)[-1], s["expect"]) for s in steps if s["method"] == "POST" and "/records/" in s["path"]]
    assert moves == [("to_hand_quilted", 409), ("to_being_pieced", 200), ("to_hand_quilted", 200), ("to_bound", 200)]


def test_approved_by_a_role_names_who_makes_the_approving_move():
    spec = plan_builtin(idea(["Moth sightings with species, trap and count",
                              "Sightings by volunteers go from pending to approved by the county recorder"],
                             "MothLog", "A county moth group collects sightings from garden traps."))
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    assert wf.entity == "sighting" or wf.entity.endswith("sighting"), wf.entity
    assert wf.states[:2] == ["pending", "approved"], wf.states
    approve = next(t for t in wf.transitions if t.to == "approved")
    assert approve.roles == ["recorder"] or approve.roles == ["county_recorder"], approve.roles
    assert spec.role("volunteer") is not None


def test_a_trigger_on_a_workflows_state_is_planned_and_follows_its_transitions():
    """"When a quilt is marked sent, email the customer" where a workflow moves the state: the trigger is planned
    (its tests and criterion reach "sent" by the workflow's transitions), and it tells the quilt's customer."""
    spec = plan_builtin(idea(["Quilts with customer, pattern and size",
                              "Quilts go from cut to being pieced to hand quilted to sent",
                              "When a quilt is marked sent, email the customer"], "QuiltLine",
                             "A quilting studio makes quilts for local customers and tracks each quilt."))
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    trig = next(c for c in spec.capabilities if c.kind == "trigger")
    assert trig.entity == wf.entity and trig.conditions[0].field == wf.state_field, trig
    assert trig.action.type == "notify" and trig.action.via_field, trig.action
    assert spec.trace[2].status == "planned", spec.trace[2]


def test_a_set_on_a_workflows_state_trigger_stays_refused():
    """A set or block action runs inside the write that crosses, never on a transition: it is refused, with why."""
    from shared.engine.capabilities import trigger

    spec = plan_builtin(idea(["Quilts with customer, pattern and size",
                              "Quilts go from cut to being pieced to hand quilted to sent"], "QuiltLine",
                             "A quilting studio makes quilts for local customers and tracks each quilt."))
    wf = next(c for c in spec.capabilities if c.kind == "workflow")
    ent = spec.entity(wf.entity)
    other = next(f for f in ent.fields if f.type in ("text", "long_text") and f.name != wf.state_field)
    cap = trigger.Params(id="t", label="t", entity=wf.entity, conditions=[
        {"field": wf.state_field, "op": "in", "values": [wf.states[-1]]}],
        action={"type": "set", "field": other.name, "value": "done"})
    assert any("moves only through its transitions" in m for m in trigger.check(cap, spec)), trigger.check(cap, spec)


def test_people_who_see_only_their_own_records_do_not_see_each_other():
    """"Tenants see only their own repair requests": tenants are private from one another, so each reads only
    their own tenant record (the one with their login email), not every tenant's name and email; the landlord's
    staff still read all of them."""
    idea = {"id": "flat-repairs", "title": "FixFlat", "description": "A small landlord keeps repair requests from tenants.",
            "target_audience": "Small landlords",
            "key_features": ["Tenants with name, flat number and email", "Tenants report repairs with a photo",
                             "Tenants see only their own repair requests", "Caretakers close repairs"]}
    spec = plan_builtin(idea)
    tenant = next(r for r in spec.roles if r.name == "tenant")
    assert "tenant" in tenant.read_own and any(e != "tenant" for e in tenant.read_own), tenant.read_own
    assert all("tenant" not in r.read_own for r in spec.roles if r.name != "tenant")


def test_a_person_word_inside_a_state_names_the_state_not_who_moves_it():
    """"Leases go from drafted to tenant signed to lodged": the tenant is in a state's name. Read as the approver, the
    tenant became staff, and every tenant read and moved every other tenant's lease (17g probe: "Tom approved Mary's
    will"). The tenant stays a person with their own rows; the owner moves the leases."""
    spec = plan_builtin(idea(["Tenants with name and email", "Leases per tenant with rent and start date",
                              "Leases go from drafted to tenant signed to lodged",
                              "Tenants see only their own leases"], "LeaseDesk", "A letting agent's lease tracker."))
    tenant = spec.role("tenant")
    assert tenant is not None and tenant.scope == "own" and "lease" in tenant.read_own, tenant
    flow = next(c for c in spec.capabilities if c.kind == "workflow")
    assert "tenant_signed" in flow.states
    assert all("tenant" not in t.roles for t in flow.transitions), flow.transitions


def test_people_who_see_only_the_history_of_their_own_household_read_only_the_rows_that_point_at_them():
    """"Families see only the sitting history of their own household" (17g probe: one family listed another's
    records): the family is a person record its users sign in to (matched by email), and every record pointing at it
    is read only where it points at the user's own family — not an audit log every family reads."""
    spec = plan_builtin(idea(["Parents with name and postcode", "Nappy deliveries per parent with date and size",
                              "Parents see only the delivery history of their own household"], "NappyRun",
                             "A cloth nappy laundry delivers to local parents."))
    parent = spec.role("parent")
    assert parent is not None and "delivery" in parent.read_own, parent
    assert "email" in fields(spec, "parent")
    t = spec.trace[2]
    assert t.status == "planned" and not any(c.startswith("audit") for c in t.capabilities), t


def test_rows_that_point_at_a_role_record_are_its_users_own_and_the_criterion_proves_it_through_the_link():
    """"Parents see only their own child's diary entries" (17h probe: staff wrote entries linked to each parent's
    record, and no parent saw any): the parent record carries the email its user signs in with, and the own-rows
    criterion makes the rows as staff, linked to each parent's record, not only as the parents themselves."""
    spec = plan_builtin(idea(["Guardians with name and phone", "Homework notes per guardian with subject and date",
                              "Guardians see only their own homework notes"], "HomeworkLine",
                             "A tutoring centre sends homework notes home."))
    assert "email" in fields(spec, "guardian")
    crit = [c for t in spec.trace for c in t.criteria if c.template == "records.own_rows"
            and c.params["entity"] == "homework_note"]
    assert crit and crit[0].params["link"] and crit[0].params["link"][1] == "guardian", crit
