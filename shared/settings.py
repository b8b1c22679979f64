"""The one settings class. Every environment variable the code reads is declared here.

Local mode is explicit (`FACTORY_ENV=local`); production settings refuse emulator hosts, because
emulator ID tokens are unsigned and an emulator host in production would let anyone in.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDERS = ("changeme", "change-me", "placeholder", "xxx", "todo")

EMULATOR_VARS = (
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "CLOUD_TASKS_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "STRIPE_API_BASE",
    "SMTP_EMULATOR_HOST",
)
# Settings that exist only in local mode: infrastructure never sets them (infra/terraform_check.py
# checks the Terraform), and production refuses the emulators and faults when set.
LOCAL_ONLY_VARS = (*EMULATOR_VARS, "FACTORY_FAULTS", "SERVICE_TOKEN")


class ConfigError(RuntimeError):
    """Settings that must stop the process from starting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    env: Literal["local", "production"] = Field(validation_alias="FACTORY_ENV")
    project_id: str = Field(
        validation_alias=AliasChoices("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"), min_length=4
    )
    region: str = Field("us-central1", validation_alias="FUNCTION_REGION")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    # Emulators (local only).
    firestore_emulator_host: str | None = Field(None, validation_alias="FIRESTORE_EMULATOR_HOST")
    pubsub_emulator_host: str | None = Field(None, validation_alias="PUBSUB_EMULATOR_HOST")
    auth_emulator_host: str | None = Field(None, validation_alias="FIREBASE_AUTH_EMULATOR_HOST")
    tasks_emulator_host: str | None = Field(None, validation_alias="CLOUD_TASKS_EMULATOR_HOST")
    storage_emulator_host: str | None = Field(None, validation_alias="STORAGE_EMULATOR_HOST")
    stripe_api_base: str | None = Field(None, validation_alias="STRIPE_API_BASE")
    # The local SMTP sink (emulator/mailsink.py) that stands in for SendGrid; host:port.
    smtp_emulator_host: str | None = Field(None, validation_alias="SMTP_EMULATOR_HOST")

    # Secrets: no defaults. Functions that need one call `require(...)` when they start.
    stripe_secret_key: SecretStr | None = Field(None, validation_alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: SecretStr | None = Field(None, validation_alias="STRIPE_WEBHOOK_SECRET")
    # Shared secret the watchdog and stage workers use to call service-only routes locally;
    # production uses Google-signed OIDC tokens for the service accounts listed below.
    service_token: SecretStr | None = Field(None, validation_alias="SERVICE_TOKEN")
    # Run notifications by email (shared/notify.py) go through SendGrid's HTTP API in production.
    sendgrid_api_key: SecretStr | None = Field(None, validation_alias="SENDGRID_API_KEY")
    mail_from: str = Field("SaaS Factory <notifications@saas-factory.app>", validation_alias="MAIL_FROM")
    mail_timeout_s: float = Field(5.0, validation_alias="MAIL_TIMEOUT_S", gt=0)
    service_accounts: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="SERVICE_ACCOUNTS")

    # Where users land after Checkout, and where the dashboard lives.
    public_base_url: str = Field("http://127.0.0.1:5000", validation_alias="PUBLIC_BASE_URL")
    # Base URL of the functions themselves: "{name}" is replaced by the Cloud Run service id
    # (production), or by the local port (local: http://127.0.0.1:{port}).
    function_url_template: str = Field(
        "http://127.0.0.1:{port}", validation_alias="FUNCTION_URL_TEMPLATE"
    )
    tasks_location: str = Field("us-central1", validation_alias="TASKS_LOCATION")
    # Run artifacts (shared/artifact_store.py): the bucket; how the API hands them out ("stream" them
    # itself, or answer with a V4 "signed_url" valid ARTIFACT_URL_TTL_S seconds).
    artifacts_bucket: str | None = Field(None, validation_alias="ARTIFACTS_BUCKET")
    artifact_download: Literal["stream", "signed_url"] = Field("stream", validation_alias="ARTIFACT_DOWNLOAD")
    artifact_url_ttl_s: int = Field(300, validation_alias="ARTIFACT_URL_TTL_S", ge=30, le=3600)

    # Pipeline behaviour.
    stage_deadline_s: float = Field(180.0, validation_alias="STAGE_DEADLINE_S", gt=0)
    watchdog_max_redispatch: int = Field(2, validation_alias="WATCHDOG_MAX_REDISPATCH", ge=0)
    # Per-stage deadlines (shared/reconciler.py): factor x p95 of measured durations, at least the
    # floor, at most STAGE_DEADLINE_S (also the deadline while nothing is measured yet).
    stage_deadline_factor: float = Field(3.0, validation_alias="STAGE_DEADLINE_FACTOR", gt=0)
    stage_queue_floor_s: float = Field(3.0, validation_alias="STAGE_QUEUE_FLOOR_S", gt=0)
    stage_run_floor_s: float = Field(30.0, validation_alias="STAGE_RUN_FLOOR_S", gt=0)
    # Evidence that a stage's service is not taking work (decision 0032): no claim by any instance
    # for this long (or twice the stage's measured p95 run time, if longer) while its runs wait.
    stage_liveness_window_s: float = Field(30.0, validation_alias="STAGE_LIVENESS_WINDOW_S", gt=0)
    # Concurrent executions one stage's service runs (Cloud Run concurrency x instances; locally the
    # functions host's 8 threads): how fast a backlog drains, so how far a queue deadline stretches.
    stage_slots: int = Field(8, validation_alias="STAGE_SLOTS", ge=1)
    # Deadline of every Firestore call (retries included): a request whose store is down answers
    # 503 within it. Stage functions, which commit large artifacts under load, get a longer one.
    firestore_deadline_s: float = Field(3.0, validation_alias="FIRESTORE_DEADLINE_S", gt=0)
    tasks_deadline_s: float = Field(1.5, validation_alias="TASKS_DEADLINE_S", gt=0)
    qa_max_loops: int = Field(2, validation_alias="QA_MAX_LOOPS", ge=0)
    default_budget_compute_s: float = Field(600.0, validation_alias="DEFAULT_BUDGET_COMPUTE_S")
    default_budget_tokens: int = Field(200_000, validation_alias="DEFAULT_BUDGET_TOKENS")
    publish_timeout_s: float = Field(5.0, validation_alias="PUBLISH_TIMEOUT_S", gt=0)

    # Stage engine.
    # JSON ({"qa": "llm"}) or "stage=engine,stage=engine".
    engine_by_stage: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict,
                                                                 validation_alias="ENGINE_BY_STAGE")
    llm_base_url: str | None = Field(None, validation_alias="LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(None, validation_alias="LLM_API_KEY")
    llm_model: str = Field("gpt-4o-mini", validation_alias="LLM_MODEL")
    # How the llm engine asks for JSON (EngineConfig.llm_response_format, decision 0045).
    llm_response_format: Literal["json_object", "json_schema", "json_object_schema"] = Field(
        "json_object", validation_alias="LLM_RESPONSE_FORMAT")
    qa_timeout_s: float = Field(60.0, validation_alias="QA_TIMEOUT_S")
    preview_ttl_s: float = Field(900.0, validation_alias="PREVIEW_TTL_S")
    state_dir: str = Field(".local", validation_alias="STATE_DIR")
    # Test-only fault injection (local mode only): the plug-in emulator/faults.py, installed by the local
    # functions host through shared/hooks.py.
    faults: str | None = Field(None, validation_alias="FACTORY_FAULTS")

    @field_validator("service_accounts", mode="before")
    @classmethod
    def _split_accounts(cls, v):
        if isinstance(v, str):
            return tuple(a.strip() for a in v.split(",") if a.strip())
        return v

    @field_validator("engine_by_stage", mode="before")
    @classmethod
    def _parse_engines(cls, v):
        if isinstance(v, str):
            v = v.strip()
            if not v:
                return {}
            if v.startswith("{"):
                return json.loads(v)
            return dict(pair.split("=", 1) for pair in v.split(","))
        return v

    @model_validator(mode="after")
    def _check_mode(self) -> Settings:
        if self.env == "production":
            present = [
                var
                for var, val in (
                    ("FIRESTORE_EMULATOR_HOST", self.firestore_emulator_host),
                    ("PUBSUB_EMULATOR_HOST", self.pubsub_emulator_host),
                    ("FIREBASE_AUTH_EMULATOR_HOST", self.auth_emulator_host),
                    ("CLOUD_TASKS_EMULATOR_HOST", self.tasks_emulator_host),
                    ("STORAGE_EMULATOR_HOST", self.storage_emulator_host),
                    ("STRIPE_API_BASE", self.stripe_api_base),
                    ("SMTP_EMULATOR_HOST", self.smtp_emulator_host),
                    ("FACTORY_FAULTS", self.faults),
                )
                if val
            ]
            if present:
                raise ValueError(
                    "production settings refuse emulator and test settings: unset "
                    + ", ".join(present)
                    + " (emulator ID tokens are unsigned, so an emulator host would let anyone in)"
                )
            if self.project_id.startswith("demo-"):
                raise ValueError("production settings refuse a demo- project id")
        return self

    @property
    def local(self) -> bool:
        return self.env == "local"

    def require(self, *names: str) -> None:
        """Refuse to start when a required secret is missing or a placeholder."""
        for name in names:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not raw:
                raise ConfigError(f"{name.upper()} is not set; this function cannot start without it")
            if any(p in str(raw).lower() for p in PLACEHOLDERS):
                raise ConfigError(f"{name.upper()} is a placeholder; set the real value")
            if name == "stripe_secret_key" and not self.local and not str(raw).startswith(("sk_", "rk_")):
                raise ConfigError("STRIPE_SECRET_KEY must be a Stripe secret or restricted key")

    def function_url(self, name: str) -> str:
        from shared import topology

        fn = topology.function(name)
        return self.function_url_template.format(
            port=fn.port + port_offset(), name=fn.service_id, service=fn.service_id
        )


def port_offset() -> int:
    import os

    return int(os.environ.get("LOCALCLOUD_PORT_OFFSET", "0") or 0)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise ConfigError(f"invalid settings: {exc}") from exc
