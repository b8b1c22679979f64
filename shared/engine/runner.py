"""Run all six stages in-process, feeding each stage's artifacts to the next (tests, demos, debugging).

The real pipeline does the same through Pub/Sub and Cloud Storage; this is the reference for its loop:
QA `loop_back` sends QA's summary as `feedback` to development (attempt + 1), at most `max_qa_loops` times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import run_stage
from .types import STAGES, EngineConfig, StageInput, StageResult


@dataclass
class PipelineRun:
    pipeline_id: str
    status: str = "running"  # "succeeded" | "failed"
    reason: str | None = None
    results: dict[str, StageResult] = field(default_factory=dict)
    history: list[tuple[str, int, str]] = field(default_factory=list)  # (stage, attempt, outcome)
    artifacts: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def read(self, stage: str, name: str) -> bytes:
        return self.artifacts[(stage, name)]

    @property
    def summaries(self) -> dict[str, dict]:
        return {s: r.summary for s, r in self.results.items()}


def run_pipeline(idea: dict, config: EngineConfig | None = None, *, pipeline_id: str = "local-run",
                 tenant_id: str = "local", max_qa_loops: int = 2, stop_after: str | None = None,
                 approved_spec=None) -> PipelineRun:
    """`approved_spec`: the spec a founder approved after editing it at the plan gate (an `AppSpec`); stored after
    the design stage as the next revision, origin `edited`, as `shared.planreview.approve` stores it."""
    config = config or EngineConfig()
    run = PipelineRun(pipeline_id=pipeline_id)
    i = 0
    attempt = {s: 1 for s in STAGES}
    feedback = None
    loops = 0
    while i < len(STAGES):
        stage = STAGES[i]
        inp = StageInput(pipeline_id=pipeline_id, tenant_id=tenant_id, idea=idea,
                         prior={s: r.summary for s, r in run.results.items() if STAGES.index(s) < i},
                         artifacts=run.read, attempt=attempt[stage],
                         feedback=feedback if stage == "development" else None)
        result = run_stage(stage, inp, config)
        run.results[stage] = result
        run.history.append((stage, attempt[stage], result.outcome))
        for name, data in result.artifacts.items():
            run.artifacts[(stage, name)] = data
        if result.outcome == "reject":
            run.status, run.reason = "failed", result.reason
            return run
        if result.outcome == "loop_back":
            if loops >= max_qa_loops:
                run.status = "failed"
                run.reason = f"QA failed after {loops} loop(s) back to development: {result.reason}"
                return run
            loops += 1
            feedback = result.summary
            attempt["development"] += 1
            attempt["qa"] += 1
            i = STAGES.index("development")
            continue
        if stage == "development":
            feedback = None
        if stage == "uiux_design" and approved_spec is not None:
            _store_approved(run, idea, approved_spec)
        if stop_after == stage:
            break
        i += 1
    run.status = "succeeded"
    return run


def _store_approved(run: PipelineRun, idea: dict, spec) -> None:
    import json

    from . import specstore
    from .appspec import AppSpec
    from .artifacts import json_bytes

    stage = "uiux_design"
    old = AppSpec.model_validate_json(run.read(stage, specstore.SPEC_ARTIFACT))
    if specstore.spec_bytes(old) == specstore.spec_bytes(spec):
        return
    history = specstore._record(json.loads(run.read(stage, specstore.HISTORY_ARTIFACT)), spec, idea, stage=stage,
                                attempt=1, origin="edited", engine="founder",
                                changes=specstore.spec_changes(old, spec))
    run.artifacts[(stage, specstore.SPEC_ARTIFACT)] = specstore.spec_bytes(spec)
    run.artifacts[(stage, specstore.HISTORY_ARTIFACT)] = json_bytes(history)
