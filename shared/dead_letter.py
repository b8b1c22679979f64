"""The dead-letter handler's core, and the push-only door every push-fed function passes first.

Control plane: this module must not import the stage engine (the packaged `dead_letter` function ships
without it; tests/unit/test_infra.py checks the packaged imports). `shared.stage_runner`, which runs the
engine, takes `verify_caller` from here.
"""

from __future__ import annotations

import json
import logging

from shared import log, notify, topology
from shared.runs import claims

logger = log.get_logger("stage")


def verify_caller(function: str) -> None:
    """Only Pub/Sub may deliver to a push endpoint (shared.auth.require_push). Anyone else gets a
    403 before the message is looked at, and nothing is forwarded to the dead-letter topic."""
    import flask

    from shared import auth

    req = flask.request if flask.has_request_context() else None
    try:
        auth.require_push(req, function)
    except PermissionError as exc:
        log.event(logger, logging.WARNING, "push refused: caller not verified", function=function, reason=str(exc))
        body = {"error": {"code": "push_only", "message": "This endpoint accepts Pub/Sub pushes only.",
                          "details": None}}
        flask.abort(flask.Response(json.dumps(body), status=403, mimetype="application/json"))


def handle_dead_letter(cloud_event) -> None:
    """Mark the run of a dead-lettered message failed, with the reason. Idempotent, and fenced: only a
    message naming the stage's current attempt and dispatch can fail the run."""
    verify_caller("dead_letter")
    message = (cloud_event.data or {}).get("message") or {}
    attrs = message.get("attributes") or {}
    tenant_id, pipeline_id, stage = attrs.get("tenant_id"), attrs.get("pipeline_id"), attrs.get("stage")
    attempt_s, dispatch_id = attrs.get("attempt") or "", attrs.get("dispatch_id") or ""
    if not (tenant_id and pipeline_id and stage in topology.STAGES):
        log.event(logger, logging.ERROR, "dead letter without a pipeline; dropped", attributes=attrs)
        return
    if not (attempt_s.isdigit() and dispatch_id):
        # Every message the factory publishes names its attempt and dispatch; one that does not
        # cannot be matched to the run's current execution, so it must not change the run.
        log.event(logger, logging.ERROR, "dead letter without attempt and dispatch; dropped", attributes=attrs)
        return
    if attrs.get("poison_reason"):
        reason = f"{stage.replace('_', ' ')} could not read its message ({attrs['poison_reason']})"
    else:
        n = attrs.get("CloudPubSubDeadLetterSourceDeliveryCount", "?")
        reason = (f"{stage.replace('_', ' ')} failed on every one of {n} deliveries of its message "
                  "and it was dead-lettered; retry the run to try again")
    try:
        failed = claims.fail_pipeline(tenant_id, pipeline_id, "dead_lettered", reason, stage=stage,
                                      attempt=int(attempt_s), dispatch_id=dispatch_id)
    except ValueError:
        log.event(logger, logging.ERROR, "dead letter with invalid ids; dropped", attributes=attrs)
        return
    log.event(logger, logging.WARNING, "dead letter handled", pipeline_id=pipeline_id, failed_run=failed,
              reason=reason)
    if failed:
        notify.after_run_changed(tenant_id, pipeline_id)
