"""Workflow `mover_link`: a move only the one person linked to the record may make ("only an apprentice's own mentor
signs off their logbook"), planned from the founder's words and built into an app whose own tests and acceptance
criteria pass: the linked person moves it, another user of the same role gets 403 not_yours, a record linked to
nobody is refused to the role, and another role is refused as before."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def logbook_idea():
    return {"id": "apprentice-logbooks", "title": "Apprentice logbooks",
            "description": "A joinery college keeps each apprentice's weekly logbook.",
            "target_audience": "joinery colleges",
            "key_features": ["Apprentices with name, trade and mentor",
                             "Only an apprentice's own mentor can sign off their logbook"]}


def care_plan_idea():
    return {"id": "gp-care-plans", "title": "Care plans",
            "description": "A practice writes care plans for its patients.", "target_audience": "GP practices",
            "key_features": ["Patients with name and date of birth",
                             "Care plans per patient with goals and review date",
                             "A care plan is approved by the patient's own doctor"]}


def thesis_idea():
    return {"id": "thesis-chapters", "title": "Thesis chapters",
            "description": "A graduate school tracks thesis chapters.", "target_audience": "graduate schools",
            "key_features": ["Students upload thesis chapters with title and word count",
                             "Only the supervisor of the student can approve a chapter"]}


def _cap(spec):
    return next(c for c in spec.capabilities if c.kind == "workflow")


def _trace(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def _linked(cap):
    return [t for t in cap.transitions if t.mover_link]


def test_an_own_mentor_signs_off_only_their_apprentices_logbook():
    spec = plan_builtin(logbook_idea())
    cap = _cap(spec)
    moves = _linked(cap)
    assert moves and {t.name for t in moves} >= {"approve"}, cap
    path = moves[0].mover_link
    hops = []
    here = spec.entity(cap.entity)
    for name in path:
        f = here.field(name)
        assert f.type == "reference"
        hops.append(f.ref)
        here = spec.entity(f.ref)
    assert hops[-1] == "mentor" and "apprentice" in [cap.entity, *hops], (cap.entity, hops)
    assert any(f.type == "email" for f in spec.entity("mentor").fields)
    assert all(t.roles == ["mentor"] for t in moves), moves  # "only": the owner does not step in
    t = _trace(spec, "own mentor")
    assert "own" not in str(t.not_built) and any(c.template == "workflow.linked" for c in t.criteria), t


def test_a_patients_own_doctor_approves_their_care_plan_through_the_patient():
    spec = plan_builtin(care_plan_idea())
    cap = _cap(spec)
    assert cap.entity == "care_plan"
    [approve] = [t for t in _linked(cap) if t.name == "approve"]
    assert approve.mover_link == ["patient_id", "doctor_id"], approve
    assert approve.roles == ["doctor", "owner"]  # no "only": the owner keeps their override
    assert spec.entity("patient").field("doctor_id").ref == "doctor"


def test_only_the_supervisor_of_the_student_approves_the_chapter():
    spec = plan_builtin(thesis_idea())
    cap = _cap(spec)
    moves = _linked(cap)
    assert moves and all(t.roles == ["supervisor"] for t in moves), cap
    assert spec.entity(cap.entity).field(moves[0].mover_link[0]).type == "reference"


def test_a_whole_role_that_approves_gets_no_link():
    idea = {**logbook_idea(), "key_features": ["Apprentices with name and trade",
                                               "Mentors sign off logbooks"]}
    assert not _linked(_cap(plan_builtin(idea)))


@pytest.mark.parametrize("make", [logbook_idea, care_plan_idea], ids=["only_own_mentor", "own_doctor_via_patient"])
def test_generated_tests_and_criteria_hold_the_linked_person(make):
    spec_dict = plan_builtin(make()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    cap = _cap(spec)
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert {"test_only_the_linked_person_may_make_the_linked_move",
            "test_a_record_linked_to_nobody_is_refused_to_the_role"} <= set(mine), mine
    assert set(mine.values()) == {"passed"}, (mine, run.output)
    linked = [c for ft in run.features for c in ft.get("criteria") or [] if c.get("template") == "workflow.linked"
              or "own" in c["text"] and "refused" in c["text"]]
    assert linked and all(c["passed"] for c in linked), linked
