"""What every stage function does, in the same order (shared by the six stage functions):

1. check the event type; 2. decode and validate the message; 3. claim (pipeline, stage, attempt)
in a transaction; 4. run the stage's work through the engine; 5. commit result, progress and
events in one transaction, then publish the next stage's message (from the outbox).

Retries are a decision: transient errors raise (Pub/Sub redelivers with backoff, then dead-letters);
permanent errors fail the run with a readable message and acknowledge; duplicate and stale
messages are acknowledged and logged. Poison messages are forwarded to the dead-letter topic at
once (no point retrying them) and acknowledged.
"""

from __future__ import annotations

import base64
import logging
import time

from pydantic import ValidationError

from shared import dispatch, errors, health, hooks, log, notify, reconciler, topology
from shared.dead_letter import verify_caller
from shared.models.pipeline import StageMessage
from shared.runs import claims, commits, reads
from shared.settings import get_settings

logger = log.get_logger("stage")
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"


class PoisonMessage(Exception):
    pass


def decode(cloud_event) -> tuple[StageMessage, str, dict]:
    if cloud_event["type"] != PUBSUB_EVENT:
        raise PoisonMessage(f"unexpected event type {cloud_event['type']}")
    message = (cloud_event.data or {}).get("message") or {}
    attributes = message.get("attributes") or {}
    message_id = message.get("messageId") or message.get("message_id") or ""
    try:
        raw = base64.b64decode(message.get("data") or "", validate=True)
        return StageMessage.model_validate_json(raw), message_id, attributes
    except (ValueError, ValidationError) as exc:
        err = PoisonMessage(f"undecodable stage message: {str(exc).splitlines()[0][:200]}")
        err.attributes = attributes  # type: ignore[attr-defined]
        raise err from None


def _engine_config(fault: hooks.StageHook):
    from shared.engine import EngineConfig

    s = get_settings()
    return EngineConfig(
        engine_by_stage=dict(s.engine_by_stage), llm_base_url=s.llm_base_url,
        llm_api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None, llm_model=s.llm_model,
        llm_response_format=s.llm_response_format,
        qa_timeout_s=s.qa_timeout_s, preview_ttl_s=s.preview_ttl_s, state_dir=s.state_dir,
        gcp_project=s.project_id, gcp_region=s.region,
        deploy_mode="local_preview" if s.local else "cloud_run",
        fault_injection=fault.engine_value(),
    )


def run_work(stage: str, c: claims.Claim, fault: hooks.StageHook = hooks.OFF) -> commits.Outcome:
    """The stage's real work, through the engine (or the explicitly named pass-through)."""
    s = get_settings()
    p = c.pipeline
    if s.engine_by_stage.get(stage) == "passthrough" or fault.passthrough:
        return commits.Outcome("ok", summary={"engine": "passthrough", "note": "no work: pass-through mode"},
                               usage={"engine": "passthrough", "compute_s": 0.0},
                               logs=["Pass-through mode: the stage's work was skipped (a test of the plumbing)"])
    from shared import engine

    idea = reads.load_idea(p["tenant_id"], p["idea_id"])
    idea_in = {k: idea.get(k) for k in ("title", "description", "target_audience", "key_features", "constraints")}
    prior = {st: p["stages"][st].get("summary") or {} for st in topology.STAGES
             if p["stages"][st]["status"] == "completed"}
    inp = engine.StageInput(
        pipeline_id=p["pipeline_id"], tenant_id=p["tenant_id"], idea=idea_in, prior=prior,
        artifacts=reads.artifact_reader(p["tenant_id"], p["pipeline_id"]), attempt=c.attempt,
        feedback=(p.get("metadata") or {}).get("qa_feedback") if stage == "development" else None,
    )
    started = time.perf_counter()
    try:
        result = engine.run_stage(stage, inp, _engine_config(fault))
    except engine.TransientEngineError as exc:
        raise errors.TransientError(str(exc)) from exc
    except engine.EngineError as exc:
        return commits.Outcome("reject", reason=f"{stage.replace('_', ' ')} failed: {exc}",
                               usage={"compute_s": time.perf_counter() - started})
    usage = dict(result.usage or {})
    usage.setdefault("compute_s", time.perf_counter() - started)
    waiting = None
    if result.outcome == "waiting":  # deployment submitted its build (decision 0040); shared/build_events.py ends it
        d = (result.private or {}).get("deploy") or {}
        waiting = {"for": "build", "build_id": d.get("build_id"), "log_url": d.get("log_url"),
                   "wait_s": d.get("wait_s")}
    return commits.Outcome(result.outcome, summary=result.summary, artifacts=result.artifacts, usage=usage,
                           reason=result.reason, private=result.private, logs=summary_lines(result.summary),
                           waiting=waiting)


def summary_lines(summary: dict, limit: int = 6) -> list[str]:
    """A few log lines from a stage summary's plain values (numbers, words, yes/no), in its own order."""
    out = []
    for key, value in (summary or {}).items():
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, (int, float, str)) and str(value).strip():
            text = str(value)
        else:
            continue
        out.append(f"{key.replace('_', ' ').capitalize()}: {text}")
        if len(out) >= limit:
            break
    return out


def handle_stage_event(stage: str, cloud_event) -> None:
    from shared.store import now

    verify_caller(f"stage_{stage}")
    received_at = now()
    try:
        msg, message_id, _attrs = decode(cloud_event)
        if msg.stage != stage:
            raise PoisonMessage(f"message for stage {msg.stage} arrived at {stage}")
    except PoisonMessage as exc:
        forward_poison(stage, cloud_event, str(exc))
        return
    token = log.bind(tenant_id=msg.tenant_id, pipeline_id=msg.pipeline_id, stage=stage, attempt=msg.attempt)
    try:
        fault = hooks.for_stage(msg.tenant_id, stage)  # a local test plug-in's hook; OFF in production
        c = claims.claim(msg, message_id, received_at)
        if c is None:
            return  # duplicate or stale: acknowledged, logged by claim()
        reconciler.record_claim(stage, received_at)
        health.note_alive(f"stage_{stage}")
        fault.after_claim()
        try:
            outcome = commits.committed_outcome(c)
            if outcome is not None:
                log.event(logger, logging.WARNING, "this attempt was already committed (the run was restored "
                          "from an older snapshot); recording that commit instead of redoing the work")
            else:
                outcome = run_work(stage, c, fault)
        except errors.AppError as exc:
            # Permanent: no redelivery can fix it (e.g. the idea was deleted). Fail the run now.
            claims.fail_stage(c, "stage_error", f"{stage.replace('_', ' ')} could not run: {exc.message}")
            log.event(logger, logging.WARNING, "permanent error; run failed", code=exc.code)
            notify.after_run_changed(msg.tenant_id, msg.pipeline_id)
            return
        nxt, status = commits.commit(c, outcome)
        if nxt is None:
            log.event(logger, logging.INFO, f"stage done; run is {status}")
            if status not in ("running", "waiting"):  # stopped or paused: no later stage waits on the mail
                notify.after_run_changed(msg.tenant_id, msg.pipeline_id)
            return
        if fault.swallow_publish(nxt):
            return
        dispatch.flush(nxt)
    finally:
        log.reset(token)


def forward_poison(stage: str, cloud_event, reason: str) -> None:
    """Send an unprocessable message to the dead-letter topic now, instead of retrying it 5 times."""
    message = (getattr(cloud_event, "data", None) or {}).get("message") or {}
    attributes = {k: str(v) for k, v in (message.get("attributes") or {}).items()}
    attributes.update({"poison_reason": reason[:500], "poison_stage": stage})
    data = base64.b64decode(message.get("data") or "") if message.get("data") else b""
    log.event(logger, logging.ERROR, "poison message forwarded to the dead-letter topic", reason=reason,
              pipeline_id=attributes.get("pipeline_id"))
    dispatch.publish(topology.DEAD_LETTER_TOPIC, data, attributes)
