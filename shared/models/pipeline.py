"""Pipeline models, split by direction: *Create (what a client may send), stored documents (`Idea`,
`Pipeline`, `StageState`, read through `shared.store.Runs`), and the frozen stage message."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.topology import STAGES

Status = Literal["queued", "running", "awaiting_approval", "needs_input", "plan_review", "completed", "failed",
                 "cancelled"]
#: Statuses in which a run waits for a person: no stage runs, no deadline runs, no credit beyond the run's own.
PAUSED = ("awaiting_approval", "needs_input", "plan_review")
# The stage names come from the one declaration, shared.topology.STAGES.
StageName = Literal[STAGES]  # type: ignore[valid-type]
TERMINAL = ("completed", "failed", "cancelled")


def _not_reserved(v: str) -> str:
    if v.startswith("__") and v.endswith("__"):
        raise ValueError("ids of the form __x__ are reserved")
    return v


# A document id a client or a message names: checked before it reaches a Firestore reference.
DocId = Annotated[str, Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
                  AfterValidator(_not_reserved)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Budget(_In):
    compute_s: float | None = Field(None, gt=0, le=24 * 3600, description="compute seconds for the whole run")
    tokens: int | None = Field(None, gt=0, le=50_000_000, description="LLM tokens for the whole run")


class Constraints(_In):
    budget: Budget | None = None
    preferred_stack: str | None = Field(None, max_length=80)
    approval_gates: list[StageName] = Field(default_factory=list, max_length=6,
                                            description="stages whose output waits for approval")
    plan_review: bool = Field(False, description="pause after planning (status plan_review) so the founder can "
                                                 "review and edit the app spec before anything is built; the "
                                                 "dashboard sends true unless the founder unticks it")

    @field_validator("approval_gates")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v), key=STAGES.index)


class IdeaCreate(_In):
    title: str = Field(min_length=3, max_length=120)
    description: str = Field(min_length=20, max_length=5000)
    target_audience: str = Field(min_length=3, max_length=300)
    key_features: list[str] = Field(default_factory=list, max_length=20)
    constraints: Constraints = Field(default_factory=Constraints)

    @field_validator("key_features")
    @classmethod
    def _features(cls, v: list[str]) -> list[str]:
        out = []
        for f in v:
            f = f.strip()
            if not 2 <= len(f) <= 200:
                raise ValueError("each key feature must be 2-200 characters")
            out.append(f)
        return out


class TriggerCreate(_In):
    idea_id: DocId
    constraints: Constraints | None = None


class ResumeCreate(_In):
    """Edit a paused (needs_input) idea and validate it again; fields left out keep their value."""

    title: str | None = Field(None, min_length=3, max_length=120)
    description: str | None = Field(None, min_length=20, max_length=5000)
    target_audience: str | None = Field(None, min_length=3, max_length=300)
    key_features: list[str] | None = Field(None, max_length=20)

    @field_validator("key_features")
    @classmethod
    def _features(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else IdeaCreate._features(v)


class ContinueCreate(_In):
    comment: str | None = Field(None, max_length=1000, description="why the run continues despite the feedback")


class RetryCreate(_In):
    budget: Budget | None = Field(None, description="raise the run's budget (needed once its spend reached it)")


class RerunCreate(_In):
    from_stage: str = Field(..., min_length=1, max_length=64,
                            description="the stage the new run starts at (idea_validation, tech_stack, uiux_design, "
                                        "development, qa or deployment); the stages before it reuse the run's "
                                        "results and artifacts")


class PlanEditCreate(BaseModel):
    """One typed edit of the spec under review: `op` names it (shared/engine/planedit.OPS), the rest are its
    parameters; checked by planedit.parse, so a malformed edit is answered in the founder's words (422)."""

    model_config = ConfigDict(extra="allow")
    op: Literal["add_attribute", "rename_attribute", "retype_attribute", "add_entity", "link_entities", "add_role",
                "set_scope", "set_rule_params", "bind_feature", "mark_not_needed"]


class PreviewRollbackCreate(_In):
    version: int = Field(..., ge=1, le=10_000, description="the earlier version of the app the preview goes back to")


class VersionDiffQuery(_In):
    a: int = Field(..., ge=1, le=10_000, description="the version compared from")
    b: int = Field(..., ge=1, le=10_000, description="the version compared to")


class PlanApproveCreate(_In):
    comment: str | None = Field(None, max_length=1000)


class ApproveCreate(_In):
    stage: StageName | None = None
    comment: str | None = Field(None, max_length=1000)


class ChangesCreate(_In):
    stage: StageName | None = None
    comment: str = Field(min_length=1, max_length=1000, description="what should change, in your words")


class ProgressUpdate(_In):
    stage: StageName
    attempt: int = Field(ge=1)
    dispatch_id: str = Field(min_length=6, max_length=80, pattern=r"^[A-Za-z0-9_-]+$",
                             description="the dispatch being executed (from its stage message)")
    progress: int = Field(ge=0, le=100, description="percent within the stage")
    message: str = Field("", max_length=500)


class EventsQuery(_In):
    after: int = Field(0, ge=0, description="only events numbered after this seq")
    limit: int = Field(200, ge=1, le=500)


class ListQuery(_In):
    status: Status | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)


class LogsQuery(_In):
    stage: StageName | None = None


class StageMessage(BaseModel):
    """What travels on a stage topic. Frozen: a message is a fact, not a buffer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: DocId
    pipeline_id: DocId
    stage: StageName
    attempt: int = Field(ge=1)
    dispatch_id: str = Field(min_length=6, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")

    def attributes(self) -> dict[str, str]:
        return {"tenant_id": self.tenant_id, "pipeline_id": self.pipeline_id, "stage": self.stage,
                "attempt": str(self.attempt), "dispatch_id": self.dispatch_id}


# ------------------------------------------------------------------------------------------ stored


class _Stored(BaseModel):
    """A stored document: the fields the code relies on are typed; fields other code adds are kept."""

    model_config = ConfigDict(extra="allow")


class StageState(_Stored):
    status: str = "pending"  # pending | dispatched | running | completed | failed | cancelled
    attempt: int = Field(0, ge=0)
    executions: int = Field(0, ge=0)
    artifacts: list[str] = Field(default_factory=list)
    cost: dict[str, Any] = Field(default_factory=dict)
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None


class Pipeline(_Stored):
    """`tenants/{t}/pipelines/{p}`: what the dashboard listens to (no fencing fields: those are in
    the server-only `private/fence` document)."""

    pipeline_id: str
    tenant_id: str
    idea_id: str
    project_id: str | None = None
    project_name: str | None = None
    status: Status
    current_stage: StageName
    progress: int = Field(0, ge=0, le=100)
    stages: dict[StageName, StageState]
    created_at: datetime
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    error_message: str | None = None
    error_code: str | None = None
    awaiting_approval_for: StageName | None = None
    budget: dict[str, int | float] = Field(default_factory=dict)
    spent: dict[str, int | float] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    event_seq: int = 0

    @field_validator("stages")
    @classmethod
    def _every_stage(cls, v: dict) -> dict:
        missing = [s for s in STAGES if s not in v]
        if missing:
            raise ValueError(f"stages missing: {missing}")
        return v


class Idea(_Stored):
    """`tenants/{t}/ideas/{i}`: the founder's idea as submitted (validated by IdeaCreate on the way in)."""

    idea_id: str | None = None
    title: str
    description: str
    target_audience: str
    key_features: list[str] = Field(default_factory=list)
    constraints: dict[str, Any] = Field(default_factory=dict)
    created_by: str | None = None
    created_at: datetime | None = None

    def as_input(self) -> dict[str, Any]:
        """The fields a stage works from."""
        return {k: getattr(self, k) for k in ("title", "description", "target_audience", "key_features",
                                               "constraints")}
