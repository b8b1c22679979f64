"""booking, workflow, ledger, reminders, custody, rotation: the same spec compiles to the same bytes, and every
capability writes only under its own module, page and test paths."""

from __future__ import annotations

import pytest

from shared.engine.capabilities import module_for

from . import _ops_specs as S

IDEAS = [S.kiln_studio, S.meeting_rooms, S.grant_review, S.repair_tickets, S.pottery_coop, S.house_bills,
         S.plant_care, S.library_loans, S.spare_parts, S.translation_jobs, S.vet_visits,
         S.tool_library, S.evidence_room, S.volunteer_shifts, S.chores]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_same_spec_same_bytes_and_own_paths(idea):
    spec, first = S.compile_spec(idea())
    _, second = S.compile_spec(idea())
    assert first == second
    cap = spec.capabilities[0]
    mine = sorted(p for p in first if cap.id in p)
    assert f"app/capabilities/{cap.id}.py" in mine and f"tests/test_cap_{cap.id}.py" in mine
    assert all(p in (f"app/capabilities/{cap.id}.py", f"tests/test_cap_{cap.id}.py")
               or p.startswith(f"app/templates/capabilities/{cap.id}/") for p in mine), mine
    routes = module_for(cap.kind).routes(cap, spec)
    assert routes
    for route in routes:
        assert route.path.startswith((f"/api/{cap.id}/", f"/{cap.id}/")), route
        assert route.roles and all(spec.role(r) for r in route.roles), route
