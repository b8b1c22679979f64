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
