"""audit_log, search, checklist, attachments, public_page, versioning and live_board together in one app:
their SQLAlchemy hooks on the same entities must not disturb each other, and every generated test passes."""

from __future__ import annotations

import pytest

from . import _caps2_specs as S


@pytest.mark.parametrize("idea", ["cafe", "grants"])
def test_all_seven_capabilities_in_one_app(idea, tmp_path):
    spec_dict = S.IDEAS[idea]()
    assert len(spec_dict["capabilities"]) == 7
    spec, files = S.compile_spec(spec_dict)
    assert S.compile_spec(spec_dict)[1] == files  # deterministic: same spec, same bytes
    from shared.engine.appspec import spec_problems

    assert spec_problems(spec) == []
    run = S.run_project(files, tmp_path)
    assert run.returncode == 0, run.output
    for cap in spec.capabilities:
        mine = run.of(f"test_cap_{cap.id}")
        assert len(mine) >= 5 and set(mine.values()) == {"ok"}, (cap.id, mine)
    assert all(v == "ok" for v in run.results.values()), run.output


COMBO_TEST = '''
from tests.support import AppTestCase
from tests.test_cap_ticket_board import frames


class WorkflowSeenByAuditAndBoard(AppTestCase):
    def test_a_transition_is_audited_and_pushed(self):
        owner, tech = self.login("owner"), self.login("technician")
        row = self.make("ticket", client=owner)
        resp = owner.get("/api/ticket_board/stream?once=1&timeout=2", buffered=False)
        r = self.call(tech, "POST", f"/api/repairs/records/{row['id']}/start")
        self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
        ev = frames(resp)
        self.assertEqual((ev[0]["action"], ev[0]["row"]["stage"]), ("update", "in_progress"))
        items = self.call(owner, "GET", "/api/ticket_log/entries",
                          query_string={"record_id": row["id"]}).get_json()["items"]
        self.assertEqual([e["action"] for e in items], ["update", "create"])
        self.assertEqual((items[0]["before"]["stage"], items[0]["after"]["stage"], items[0]["actor_email"]),
                         ("reported", "in_progress", tech.user["email"]))
        self.assertTrue(self.call(owner, "GET", "/api/ticket_log/verify").get_json()["ok"])
'''


def test_a_workflow_transition_is_audited_and_pushed(tmp_path):
    """workflow moves a record with a compare-and-set UPDATE statement, outside the flush."""
    from . import _ops_specs as O

    d = O.repair_tickets()
    extra = [{"kind": "audit_log", "id": "ticket_log", "label": "Audit of tickets", "entities": ["ticket"]},
             {"kind": "live_board", "id": "ticket_board", "label": "Live ticket board", "entities": ["ticket"]}]
    d["capabilities"] += extra
    d["features"] += [c["label"] for c in extra]
    d["trace"] += [{"feature": c["label"], "status": "planned", "capabilities": [c["id"]]} for c in extra]
    spec, files = S.compile_spec(d)
    from shared.engine.appspec import spec_problems

    assert spec_problems(spec) == []
    run = S.run_project({**files, "tests/test_x_combo.py": COMBO_TEST.encode()}, tmp_path)
    assert run.returncode == 0, run.output
    assert run.of("test_x_combo") == {"test_a_transition_is_audited_and_pushed": "ok"}, run.output
