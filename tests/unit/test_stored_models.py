"""The stored documents are typed (Idea, Pipeline, StageState), the stage list is declared once,
and what the API returns of a run carries no fencing fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared import topology
from shared.models import pipeline as models


def stored_run(**over) -> dict:
    t = datetime.now(UTC)
    stages = {s: {"status": "pending", "attempt": 0, "executions": 0, "artifacts": [], "cost": {}}
              for s in topology.STAGES}
    stages["idea_validation"].update(status="running", attempt=1, started_at=t,
                                     claim_id="c1", dispatch_id="d_1", message_id="m1")  # a run stored before the fence
    doc = {"pipeline_id": "p_abcdef", "tenant_id": "t_abcdef", "idea_id": "i_abcdef", "project_id": "i_abcdef",
           "project_name": "X", "created_by": "u_1", "status": "running", "current_stage": "idea_validation",
           "progress": 0, "stages": stages, "created_at": t, "budget": {"compute_s": 600.0, "tokens": 200000},
           "spent": {"compute_s": 0.0, "tokens": 0}, "metadata": {"qa_feedback": {"x": 1}, "qa_loops": 0},
           "event_seq": 1, "deadline_at": t}
    doc.update(over)
    return doc


def test_the_stage_list_is_declared_once():
    from shared.engine import types as engine_types

    assert engine_types.STAGES is topology.STAGES
    assert models.StageMessage.model_json_schema()["properties"]["stage"]["enum"] == list(topology.STAGES)
    assert set(topology.STAGE_PROGRESS) == set(topology.STAGES)
    # The dashboard's copy (plain JS, no build step) is checked against it.
    js = (Path(__file__).resolve().parents[2] / "web" / "lib" / "format.js").read_text()
    listed = re.search(r"export const STAGES = \[([^\]]*)\]", js).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == topology.STAGES


def test_stored_pipeline_is_typed_and_keeps_fields_other_code_adds():
    run = models.Pipeline.model_validate(stored_run())
    assert isinstance(run.stages["qa"], models.StageState) and run.stages["qa"].status == "pending"
    assert run.budget["tokens"] == 200000 and isinstance(run.budget["tokens"], int)
    assert run.deadline_at is not None  # an extra field survives


@pytest.mark.parametrize("over", [{"current_stage": "nonsense"}, {"status": "exploded"},
                                  {"stages": {"qa": {}}}, {"progress": 101}])
def test_a_malformed_stored_pipeline_is_refused(over):
    with pytest.raises(ValidationError):
        models.Pipeline.model_validate(stored_run(**over))


def test_public_run_has_no_fencing_fields(monkeypatch):
    monkeypatch.setenv("FACTORY_ENV", "local")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-unit")
    from shared.runs import reads

    out = reads.public(stored_run())
    assert "created_by" not in out and "qa_feedback" not in out["metadata"]
    for st in out["stages"].values():
        assert not {"claim_id", "dispatch_id", "message_id"} & set(st)
    assert out["stages"]["idea_validation"]["status"] == "running"


def test_stored_idea_gives_the_stage_input():
    idea = models.Idea.model_validate({"idea_id": "i_1", "title": "T", "description": "D", "target_audience": "A",
                                       "key_features": ["x"], "constraints": {}, "created_by": "u", "extra": 1})
    assert idea.as_input() == {"title": "T", "description": "D", "target_audience": "A", "key_features": ["x"],
                               "constraints": {}}
