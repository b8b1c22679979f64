"""The stage engine's public value types and errors (no behaviour, no I/O)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.topology import STAGES  # noqa: F401 - re-exported: the one declaration of the stage list

OUTCOMES = ("ok", "reject", "loop_back")

#: Per-artifact and per-run_stage-call size limits.
ARTIFACT_MAX_BYTES = 512 * 1024
RUN_MAX_BYTES = 4 * 1024 * 1024
SUMMARY_MAX_BYTES = 8 * 1024

#: Faults a test may ask the development stage to inject (see EngineConfig.fault_injection).
FAULTS = (
    "failing_test",  # a generated test that fails; fixed on QA loop-back
    "syntax_error",  # a generated module that does not compile; fixed on loop-back
    "lint_error",  # an undefined name (error-level lint finding) only; tests still pass
    "hang",  # a generated test that sleeps forever (QA wall-clock limit); fixed on loop-back
    "always_failing_test",  # a failing test that survives loop-back (exhausts the pipeline's loops)
)


class EngineError(Exception):
    """Base class of the engine's own errors."""


class EngineConfigError(EngineError, ValueError):
    """The EngineConfig (or stage name) is unusable: unknown engine, missing llm_base_url, unknown fault..."""


class TransientEngineError(EngineError):
    """Something a retry of the same stage can fix (LLM 5xx/timeouts after the engine's own retries)."""


class BudgetExceeded(EngineError):
    """The stage would spend more than `EngineConfig.llm_max_cost_usd`."""


class ArtifactLimitError(EngineError):
    """A stage produced an artifact (or a run produced artifacts) over the size limits, or a bad name."""


class GenerationError(EngineError):
    """A generator could not produce a valid structured output (permanent). run_stage turns it into a reject."""


class LLMOutputInvalid(GenerationError):
    """The model's output stayed invalid after `llm_max_repairs` repair attempts."""


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine reads; built by the pipeline from the app's settings. All fields have defaults."""

    engine_by_stage: dict[str, str] = field(default_factory=dict)  # stage -> "builtin" | "llm"
    llm_base_url: str | None = None  # OpenAI-compatible base, e.g. http://127.0.0.1:PORT/v1
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 20.0
    llm_max_repairs: int = 2
    llm_price_per_1k_in: float = 0.00015
    llm_price_per_1k_out: float = 0.0006
    # Additions (all optional):
    llm_max_retries: int = 3  # HTTP attempts per model call on 429/5xx/timeouts
    llm_backoff_s: float = 0.5  # first backoff; doubles per retry
    llm_max_backoff_s: float = 8.0  # cap for any single wait, Retry-After included
    llm_max_cost_usd: float | None = None  # per stage; BudgetExceeded when crossed
    # How the request asks for JSON (decision 0045): "json_object" (any OpenAI-compatible server; the schema is
    # only in the prompt), "json_schema" (OpenAI structured outputs: response_format.json_schema.schema) or
    # "json_object_schema" (llama-cpp-python, Anyscale, Together: response_format.schema, enforced as a grammar).
    llm_response_format: str = "json_object"
    qa_timeout_s: float = 60.0
    qa_memory_mb: int = 1024
    qa_network_isolation: str = "auto"  # "auto" | "unshare" | "sitecustomize"
    # A Postgres database (SQLAlchemy URL, reachable from the sandbox: a Unix socket) QA runs the generated tests
    # (TEST_DATABASE_URL), the acceptance criteria and the exploit gate (CRITERIA_DATABASE_URL) on, creating
    # databases named after it; None: SQLite files. The Postgres tier of the factory's own tests sets it.
    qa_database_url: str | None = None
    preview_ttl_s: float = 900.0
    preview_health_timeout_s: float = 15.0
    state_dir: str = ".local"  # where local previews record their pids
    python_executable: str = sys.executable  # interpreter for QA and previews (has flask)
    deploy_mode: str = "local_preview"  # "local_preview" | "cloud_run"
    gcp_project: str = "saas-factory-local"
    gcp_region: str = "us-central1"
    artifact_registry_repo: str = "saas-factory"
    cloud_sql_instance: str = "saas-factory-apps"  # Cloud SQL (Postgres) instance the generated apps' databases live on
    source_bucket: str | None = None  # Cloud Build source bucket (default "<project>_cloudbuild")
    http_session_factory: Callable[[], Any] | None = None  # cloud_run mode: returns an authorised requests-like session
    build_client_factory: Callable[[], Any] | None = None  # cloud_run mode: returns a CloudBuildClient (tests: a fake)
    fault_injection: str | None = None  # TESTS ONLY: one of FAULTS, applied by the development stage


@dataclass(frozen=True)
class StageInput:
    pipeline_id: str
    tenant_id: str
    idea: dict
    prior: dict[str, dict]
    artifacts: Callable[[str, str], bytes]
    attempt: int = 1
    feedback: dict | None = None


@dataclass(frozen=True)
class StageResult:
    outcome: str  # "ok" | "reject" | "loop_back" | "waiting" (deployment: the build was submitted; see decision 0040)
    summary: dict
    artifacts: dict[str, bytes]
    usage: dict
    reason: str | None = None
    private: dict[str, dict] = field(default_factory=dict)  # server-only documents (see stages.StageOutput)


def no_artifacts(stage: str, name: str) -> bytes:
    """An `artifacts` callable for a stage that needs none."""
    raise KeyError(f"{stage}/{name}")
