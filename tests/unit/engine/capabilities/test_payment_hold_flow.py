"""A payment hold on a state a workflow moves (decision 0067): "clients pay a 30% deposit before the work begins"
on instruments that go from quoted to approved to in progress to delivered. The workflow changes the state with its
own compare-and-set UPDATE, which the hold's ORM hook never saw, so an unpaid instrument could be moved into "in
progress" through POST /api/<workflow>/records/<id>/<transition>. The hold now reads the transition rows, as a guard
does (0062), and declares a ready action (the record is paid) so the workflow's own tests and criteria still move
records freely."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def workshop_idea():
    return {"id": "harpsichord-workshop", "title": "Harpsichord workshop",
            "description": "A harpsichord maker builds instruments to order for musicians and schools.",
            "target_audience": "instrument makers",
            "key_features": ["Instruments with client name, model and price",
                             "Instruments go from quoted to approved to in progress to delivered",
                             "Clients pay a 30% deposit before the work begins",
                             "Tunings per instrument with date and pitch",
                             "An instrument cannot be marked delivered until two tunings are recorded"]}


def _caps(spec):
    [wf] = [c for c in spec.capabilities if c.kind == "workflow"]
    [pay] = [c for c in spec.capabilities if c.kind == "payments"]
    return wf, pay


def test_the_plan_binds_the_workflow_and_the_payment_hold_to_one_state():
    from shared.engine.capabilities.payments import flow_of
    from shared.engine.compiler import ready_actions

    spec = plan_builtin(workshop_idea())
    wf, pay = _caps(spec)
    assert (wf.entity, pay.entity, pay.state_field) == ("instrument", "instrument", wf.state_field)
    assert pay.paid_before == ["in_progress"] and pay.deposit_percent == 30
    assert set(pay.paid_before) <= set(wf.states) and wf.initial not in pay.paid_before
    assert flow_of(pay, spec) is wf
    [guard] = [c for c in spec.capabilities if c.kind == "guard"]
    assert (guard.field, guard.values) == (wf.state_field, ["delivered"])
    # the other tests and criteria make a new instrument paid (and tuned twice) before they move it
    assert sorted((a["do"], a["entity"], a["of"]) for a in ready_actions(spec)) == [
        ("children", "instrument", guard.id), ("pay", "instrument", pay.id)]


@pytest.fixture(scope="module")
def compiled():
    return S.compile_spec(plan_builtin(workshop_idea()).model_dump(mode="json"))


def test_the_criterion_tries_the_workflow_transition_of_an_unpaid_record(compiled):
    from shared.engine.criteria import compile_all

    spec, _files = compiled
    wf, pay = _caps(spec)
    scenarios, failed = compile_all(spec)
    assert failed == []
    [held] = [s for s in scenarios if any(st["path"].endswith("/webhook") and st.get("stripe_signed")
                                          and st["expect"] == 200 for st in s["steps"])
              and any(f"/api/{wf.id}/records/" in st["path"] for st in s["steps"]) and "cannot move" in s["text"]]
    moves = [(st["path"].rsplit("/", 1)[-1], st["expect"]) for st in held["steps"]
             if st["method"] == "POST" and f"/api/{wf.id}/records/" in st["path"]]
    assert moves == [("to_approved", 200), ("to_in_progress", 409), ("to_in_progress", 409),
                     ("to_in_progress", 409), ("to_in_progress", 200)], moves
    # the workflow's own criteria pay for the record before they move it (its ready action)
    flow = [s for s in scenarios if s is not held and any(f"/api/{wf.id}/records/" in st["path"]
                                                          for st in s["steps"])]
    assert flow and all(any(st["path"] == f"/api/{pay.id}/webhook" for st in s["steps"]) for s in flow
                        if any(st["path"].endswith("/to_in_progress") for st in s["steps"])), flow


def test_generated_tests_and_criteria_pass_with_the_hold_on_the_workflows_state(compiled):
    spec, files = compiled
    wf, pay = _caps(spec)
    run = S.qa(files)
    assert run.passed, run.output
    assert all(v == "passed" for v in run.results.values()), run.output
    mine = run.of(f"test_cap_{pay.id}")
    assert mine.get("test_paying_unlocks_the_move_to_in_progress_and_a_forged_webhook_does_not") == "passed", mine
    guard = next(c for c in spec.capabilities if c.kind == "guard")
    for cap in (wf, guard):  # their own tests pay before they move an instrument past the hold
        assert run.of(f"test_cap_{cap.id}") and set(run.of(f"test_cap_{cap.id}").values()) == {"passed"}, cap.id
    criteria = [c for ft in run.features for c in ft.get("criteria") or []]
    assert criteria and all(c["passed"] for c in criteria), [c for c in criteria if not c["passed"]]
    assert any("workflow's transition" in c["text"] for c in criteria), criteria
    for ft in run.features:
        if ft["feature"] in (wf.label, guard.label):  # also: the exploit gate's attacks (a frozen record) failed
            assert ft["status"] == "built", ft
        assert not [x for x in ft.get("not_built", []) if x.startswith(("failed:", "no acceptance"))], ft


PROBE = r'''
from tests.support import AppTestCase

FLOW, PAYMENTS = {flow!r}, {pay!r}


class HoldProbe(AppTestCase):
    def test_an_unpaid_instrument_cannot_be_moved_into_progress_by_its_transition(self):
        boss = self.login()
        row = self.make("instrument", client=boss)
        r = self.call(boss, "POST", f"/api/{{FLOW}}/records/{{row['id']}}/to_approved")
        self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
        r = self.call(boss, "POST", f"/api/{{FLOW}}/records/{{row['id']}}/to_in_progress", json={{"note": "start"}})
        self.assertEqual(r.status_code, 409, r.get_data(as_text=True))
        error = r.get_json()["error"]
        self.assertEqual(error["code"], "payment_required")
        self.assertIn("paid", error["message"])
        self.assertIn(f"/api/{{PAYMENTS}}/instruments/<id>/checkout", error["message"])
        self.assertEqual(self.call(boss, "GET", f"/api/instruments/{{row['id']}}").get_json()["status"], "approved")
        history = self.call(boss, "GET", f"/api/{{FLOW}}/records/{{row['id']}}/history").get_json()["items"]
        self.assertEqual([h["to"] for h in history], ["approved"])
        self.mark_paid(PAYMENTS, row["id"])
        r = self.call(boss, "POST", f"/api/{{FLOW}}/records/{{row['id']}}/to_in_progress")
        self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
        self.assertEqual(r.get_json()["record"]["status"], "in_progress")
'''


def test_an_unpaid_record_is_refused_its_transition_over_http(compiled, tmp_path):
    spec, files = compiled
    wf, pay = _caps(spec)
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    (tmp_path / "tests" / "test_probe_hold.py").write_text(PROBE.format(flow=wf.id, pay=pay.id))
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", "tests.test_probe_hold"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "... ok" in proc.stderr, proc.stderr[-3000:]


def test_a_held_state_no_transition_reaches_is_refused_by_check():
    from shared.engine.appspec.model import AppSpec, spec_problems

    raw = plan_builtin(workshop_idea()).model_dump(mode="json")
    wf = next(c for c in raw["capabilities"] if c["kind"] == "workflow")
    wf["transitions"] = [t for t in wf["transitions"] if t["to"] != "in_progress"]
    problems = spec_problems(AppSpec.model_validate(raw))
    assert any("leads to 'in_progress'" in p for p in problems), problems
