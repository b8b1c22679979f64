"""Transactional outbox for stage messages, and the watchdog's Cloud Tasks deadlines.

Every stage message is first written to `outbox/{dispatch_id}` inside the same Firestore
transaction that decides it (intake, stage commit, retry, approve, watchdog). After the commit
it is published, then the outbox document is deleted and a watchdog deadline is enqueued. If the
process dies or the publish fails in between, the sweeper (Cloud Scheduler -> watchdog /sweep)
publishes what is left. A message may thus be published twice; the stage claim makes the second
one harmless. See docs/decisions/0005-outbox.md.
"""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import timedelta

from google.cloud import firestore as gfs

from shared import clients, hooks, log, reconciler, topology
from shared.models.pipeline import StageMessage
from shared.settings import get_settings
from shared.store import now

logger = log.get_logger("dispatch")


def outbox_ref(dispatch_id: str):
    return clients.firestore().collection("outbox").document(dispatch_id)


def stage_message(tenant_id: str, pipeline_id: str, stage: str, attempt: int) -> StageMessage:
    from shared.store import new_id

    return StageMessage(tenant_id=tenant_id, pipeline_id=pipeline_id, stage=stage, attempt=attempt,
                        dispatch_id=new_id("d_"))


def enqueue(tx, msg: StageMessage) -> None:
    """Write the message to the outbox inside the caller's transaction."""
    tx.set(outbox_ref(msg.dispatch_id), {
        "topic": topology.stage_topic(msg.stage),
        "data": msg.model_dump_json(),
        "attributes": msg.attributes(),
        "tenant_id": msg.tenant_id,
        "pipeline_id": msg.pipeline_id,
        "created_at": now(),
    })


def publish(topic: str, data: bytes, attributes: dict[str, str]) -> str:
    future = clients.publisher().publish(clients.topic_path(topic), data, **attributes)
    return future.result(timeout=get_settings().publish_timeout_s)


def flush(msg: StageMessage, *, watchdog: bool = True, watchdog_delay_s: float | None = None) -> bool:
    """Publish a committed outbox message, then clear it and arm the watchdog. Never raises."""
    copies = hooks.publish_copies(msg.tenant_id)  # 1; a local test plug-in may ask for more (shared/hooks.py)
    try:
        for _ in range(copies):
            publish(topology.stage_topic(msg.stage), msg.model_dump_json().encode(), msg.attributes())
    except Exception as exc:  # noqa: BLE001 - the outbox keeps it; the sweeper will publish it
        log.event(logger, logging.WARNING, "publish failed; left in the outbox for the sweeper",
                  dispatch_id=msg.dispatch_id, stage=msg.stage, error=str(exc))
        return False
    try:
        outbox_ref(msg.dispatch_id).delete()
    except Exception as exc:  # noqa: BLE001 - a leftover only causes a harmless duplicate
        log.event(logger, logging.WARNING, "outbox delete failed", dispatch_id=msg.dispatch_id, error=str(exc))
    if watchdog:
        arm_watchdog(msg, watchdog_delay_s)
    return True


def sweep(min_age_s: float = 5.0, limit: int = 200) -> int:
    """Publish outbox messages older than `min_age_s` (their writer died or could not publish)."""
    cutoff = now() - timedelta(seconds=min_age_s)
    q = (clients.firestore().collection("outbox")
         .where(filter=gfs.FieldFilter("created_at", "<", cutoff)).order_by("created_at").limit(limit))
    published = 0
    for snap in q.stream():
        d = snap.to_dict()
        try:
            publish(d["topic"], d["data"].encode(), d["attributes"])
        except Exception as exc:  # noqa: BLE001
            log.event(logger, logging.WARNING, "sweep publish failed", dispatch_id=snap.id, error=str(exc))
            continue
        snap.reference.delete()
        published += 1
        msg = StageMessage.model_validate_json(d["data"])
        arm_watchdog(msg)
        log.event(logger, logging.INFO, "sweeper published a stranded message", dispatch_id=snap.id,
                  pipeline_id=d.get("pipeline_id"), stage=msg.stage)
    return published


# ------------------------------------------------------------------------------------ watchdog


def queue_path() -> str:
    s = get_settings()
    return f"projects/{s.project_id}/locations/{s.tasks_location}/queues/{topology.WATCHDOG_QUEUE}"


_tasks_down_until = 0.0  # a tiny circuit breaker: after Tasks failed, skip it briefly


def arm_watchdog(msg: StageMessage, delay_s: float | None = None, attempts: int = 3) -> bool:
    """Enqueue a Cloud Tasks task that fires at the stage's queue deadline. Retried a few times
    within a few seconds; never raises and never blocks a run for long: while Tasks is down the
    reconciler (which needs only Firestore) finds the run by its `deadline_at` instead."""
    global _tasks_down_until
    s = get_settings()
    if time.monotonic() < _tasks_down_until:
        log.event(logger, logging.WARNING, "Cloud Tasks failed moments ago; the reconciler covers this dispatch",
                  dispatch_id=msg.dispatch_id)
        return False
    # One second past the deadline, so the deadline has passed when the task arrives.
    delay = (reconciler.stage_deadline_s(msg.stage, "queue") if delay_s is None else delay_s) + 1.0
    from google.api_core import exceptions as gexc
    from google.protobuf import timestamp_pb2

    ts = timestamp_pb2.Timestamp()
    ts.FromSeconds(int(math.ceil(time.time() + delay)))
    url = s.function_url("watchdog") + "/deadline"
    http_request = {
        "http_method": "POST",
        "url": url,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(msg.model_dump()).encode(),
    }
    if s.local:
        http_request["headers"]["Authorization"] = f"Bearer {s.service_token.get_secret_value()}"
    else:
        http_request["oidc_token"] = {"service_account_email": s.service_accounts[0], "audience": url}
    task = {"http_request": http_request, "schedule_time": ts, "name": f"{queue_path()}/tasks/{msg.dispatch_id}"}
    error = None
    end = time.monotonic() + 2 * s.tasks_deadline_s  # the whole arming, retries included
    for i in range(attempts):
        left = end - time.monotonic()
        if left <= 0.05:
            break
        try:
            clients.tasks().create_task(parent=queue_path(), task=task, timeout=min(s.tasks_deadline_s, left),
                                        retry=None)
            return True
        except gexc.AlreadyExists:
            return True  # an earlier attempt got through
        except Exception as exc:  # noqa: BLE001 - retried below, then left to the reconciler
            error = exc
            clients.reset_tasks()  # a fresh channel: the old one may sit in reconnect backoff
            if i + 1 < attempts:
                time.sleep(0.2 * (2 ** i))
    _tasks_down_until = time.monotonic() + 5.0
    log.event(logger, logging.ERROR, "could not arm the watchdog; the reconciler covers this dispatch",
              dispatch_id=msg.dispatch_id, attempts=attempts, error=str(error)[:300])
    return False
