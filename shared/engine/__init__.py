"""The SaaS Factory stage engine: the pure-Python work of each pipeline stage and the artifacts it leaves.

    result = run_stage("idea_validation", StageInput(...), EngineConfig())

See docs/stage-engine.md for artifacts and summaries per stage, and docs/decisions/0006-stage-engine.md.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from .artifacts import check_artifacts, check_summary
from .domain import normalise_idea
from .generators import BuiltinGenerator, Generator, LLMGenerator, generator_for
from .types import (
    ARTIFACT_MAX_BYTES,
    FAULTS,
    RUN_MAX_BYTES,
    STAGES,
    SUMMARY_MAX_BYTES,
    ArtifactLimitError,
    BudgetExceeded,
    EngineConfig,
    EngineConfigError,
    EngineError,
    GenerationError,
    LLMOutputInvalid,
    StageInput,
    StageResult,
    TransientEngineError,
    no_artifacts,
)

__all__ = [
    "ARTIFACT_MAX_BYTES",
    "FAULTS",
    "RUN_MAX_BYTES",
    "STAGES",
    "SUMMARY_MAX_BYTES",
    "ArtifactLimitError",
    "BudgetExceeded",
    "BuiltinGenerator",
    "EngineConfig",
    "EngineConfigError",
    "EngineError",
    "GenerationError",
    "Generator",
    "LLMGenerator",
    "LLMOutputInvalid",
    "StageInput",
    "StageResult",
    "TransientEngineError",
    "no_artifacts",
    "run_stage",
]

log = logging.getLogger(__name__)


def _stage_module(stage: str):
    from .stages import (
        deployment,
        development,
        idea_validation,
        qa,
        tech_stack,
        uiux_design,
    )

    return {
        "idea_validation": idea_validation,
        "tech_stack": tech_stack,
        "uiux_design": uiux_design,
        "development": development,
        "qa": qa,
        "deployment": deployment,
    }[stage]


def run_stage(stage: str, inp: StageInput, config: EngineConfig | None = None, *, generator: Generator | None = None) -> StageResult:
    """Run one stage. Raises TransientEngineError (retry later), BudgetExceeded, ArtifactLimitError,
    ValueError (unknown stage / bad config). Permanent generation failures come back as outcome "reject"."""
    if stage not in STAGES:
        raise EngineConfigError(f"unknown stage {stage!r}; expected one of {STAGES}")
    config = config or EngineConfig()
    inp = dataclasses.replace(inp, idea=normalise_idea(inp.idea), prior=dict(inp.prior or {}))
    module = _stage_module(stage)
    gen = generator or generator_for(stage, config)
    started = time.perf_counter()
    try:
        out = module.run(inp, config, gen)
    except GenerationError as exc:
        out = None
        reason = str(exc)[:500]
        log.warning("stage generation failed", extra={"fields": {"stage": stage, "pipeline_id": inp.pipeline_id,
                                                                 "reason": reason}})
    usage = dict(gen.usage())
    usage["compute_s"] = round(time.perf_counter() - started, 3)
    if out is None:
        return StageResult(outcome="reject", summary={"error": "generation_failed"}, artifacts={}, usage=usage,
                           reason=reason)
    usage.update(out.extra_usage)
    if out.outcome not in ("ok", "reject", "loop_back", "waiting"):
        raise ValueError(f"stage {stage} returned unknown outcome {out.outcome!r}")
    if out.outcome == "waiting" and stage != "deployment":
        raise ValueError(f"only deployment may wait on an external event, not {stage}")
    if out.outcome == "loop_back" and stage != "qa":
        raise ValueError("only the qa stage may loop back")
    check_artifacts(out.artifacts)
    check_summary(out.summary)
    log.info("stage finished", extra={"fields": {"stage": stage, "pipeline_id": inp.pipeline_id,
                                                 "outcome": out.outcome, "compute_s": usage["compute_s"],
                                                 "engine": usage["engine"]}})
    return StageResult(outcome=out.outcome, summary=out.summary, artifacts=dict(sorted(out.artifacts.items())),
                       usage=usage, reason=out.reason, private=dict(out.private))
