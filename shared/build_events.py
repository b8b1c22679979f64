"""Cloud Build notifications complete the asynchronous deployment stage (decision 0040).

The deployment stage (cloud_run mode) submits its build and parks the run: the stage stays `running` with
`stages.deployment.waiting = {for: "build", build_id, log_url, since}` and a deadline long enough for the build
and the rollout. Cloud Build publishes every build's changes of status on the project's `cloud-builds` topic
(data: the Build resource as JSON; attributes `buildId` and `status`). For a build tagged by the factory
(`deploy_adapter.build_tags`: `saas-factory`, `tenant-<id>`, `pipeline-<id>`) that has ended:

- SUCCESS: the Cloud Run service recorded by the parking commit (server-only `private/deploy`) is created or
  updated through the Cloud Run Admin client (google-cloud-run `ServicesClient`), made public, and the stage
  completes with the service's URL (and the owner claim link in `private/claim`);
- FAILURE, INTERNAL_ERROR, TIMEOUT, CANCELLED, EXPIRED: the run fails with the build's log URL, and the refund
  policy (shared/billing, `refund_reason`: a deployment failure is the factory's) gives the credit back.

Every commit goes through `commits.complete_waiting`, fenced by the parked claim and the build id: a
notification delivered twice commits once; one for a build the run no longer waits on (re-dispatched,
cancelled, timed out) is acknowledged and ignored. Work is bounded by this function's own timeout
(topology); a transient Google API error (by exception type) raises, and Pub/Sub delivers the notification
again. Builds that are not the factory's, and intermediate statuses (QUEUED, WORKING), are acknowledged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from shared import errors, log, notify, topology
from shared.dead_letter import verify_caller
from shared.runs import commits
from shared.settings import get_settings

logger = log.get_logger("build_events")
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"
FUNCTION = "build_events"
STAGE = "deployment"
SUCCESS = "SUCCESS"
FAILED = frozenset({"FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED"})
# What the function keeps back from its timeout for the commit and the answer to Pub/Sub.
COMMIT_MARGIN_S = 30.0

_run_client: Any = None


def run_client():
    """The Cloud Run Admin client, created lazily and once (tests replace it with `set_run_client`)."""
    global _run_client
    if _run_client is None:
        from shared.engine.deploy_adapter import default_run_client

        _run_client = default_run_client()
    return _run_client


def set_run_client(client: Any) -> None:
    global _run_client
    _run_client = client


@dataclass(frozen=True)
class BuildNotice:
    build_id: str
    status: str
    log_url: str
    tenant_id: str
    pipeline_id: str


def parse(cloud_event) -> BuildNotice | None:
    """The factory's build notice in a `cloud-builds` message, or None for anything to acknowledge unread (another
    event type, a build that is not the factory's, an unreadable body)."""
    from shared.engine.deploy_adapter import BUILD_TAG

    if cloud_event["type"] != PUBSUB_EVENT:
        return None
    message = (cloud_event.data or {}).get("message") or {}
    attrs = message.get("attributes") or {}
    try:
        build = json.loads(base64.b64decode(message.get("data") or "", validate=True) or b"{}")
    except (binascii.Error, ValueError):
        return None
    if not isinstance(build, dict):
        return None
    tags = [t for t in build.get("tags") or [] if isinstance(t, str)]
    if BUILD_TAG not in tags:
        return None
    tenant = next((t.removeprefix("tenant-") for t in tags if t.startswith("tenant-")), "")
    run = next((t.removeprefix("pipeline-") for t in tags if t.startswith("pipeline-")), "")
    build_id = str(attrs.get("buildId") or build.get("id") or "")
    status = str(attrs.get("status") or build.get("status") or "")
    if not (tenant and run and build_id and status):
        return None
    return BuildNotice(build_id, status, str(build.get("logUrl") or ""), tenant, run)


def handle_event(cloud_event) -> None:
    verify_caller(FUNCTION)
    notice = parse(cloud_event)
    if notice is None:
        log.event(logger, logging.INFO, "not a build of the factory; acknowledged")
        return
    token = log.bind(tenant_id=notice.tenant_id, pipeline_id=notice.pipeline_id, stage=STAGE)
    try:
        what = handle(notice, deadline=time.monotonic() + topology.function(FUNCTION).timeout_s - COMMIT_MARGIN_S)
        log.event(logger, logging.INFO, f"build {notice.build_id} {notice.status}: {what}")
    finally:
        log.reset(token)


def handle(notice: BuildNotice, *, deadline: float, clock=time.monotonic) -> str:
    """Complete or fail the parked deployment for `notice` (the typed core; tests call it directly). Returns what
    happened: completed | failed | waiting (not final yet) | skipped ... (stale or duplicate)."""
    if notice.status != SUCCESS and notice.status not in FAILED:
        return "waiting (the build has not ended)"

    def finish(st: dict, docs: dict) -> commits.Outcome:
        summary = dict(st.get("summary") or {})
        summary.pop("waiting_for", None)
        summary["build"] = {**(summary.get("build") or {}), "id": notice.build_id, "status": notice.status,
                            "log_url": notice.log_url or (summary.get("build") or {}).get("log_url", "")}
        log_url = summary["build"]["log_url"] or "not available"
        if notice.status in FAILED:
            return commits.Outcome("reject", summary=dict(summary, deployed=False), reason=(
                f"the build of the app ended {notice.status}; its log: {log_url}. This was the factory's failure, "
                "not your idea's: the run's credit is refunded. Retry the run to build it again."))
        return _serve(summary, docs.get("deploy"), deadline, clock)

    msg, status = commits.complete_waiting(notice.tenant_id, notice.pipeline_id, STAGE, notice.build_id, finish)
    if status.startswith(("skipped", "discarded")):
        return status
    # Deployment is the last stage: its commit completes, fails or holds the run for approval; it never
    # dispatches another stage, so there is nothing to publish here.
    assert msg is None, "deployment is the last stage"
    notify.after_run_changed(notice.tenant_id, notice.pipeline_id)
    return status


def _serve(summary: dict, deploy: dict | None, deadline: float, clock) -> commits.Outcome:
    """SUCCESS: apply the recorded service, make it public, and say where it answers."""
    from shared.engine.deploy_adapter import CloudRunDeployer, DeployError
    from shared.engine.stages.deployment import CLAIM_NOTE

    if not deploy or not deploy.get("service"):
        return commits.Outcome("reject", summary=dict(summary, deployed=False), reason=(
            "the build succeeded, but the deployment's record of the service to create is missing; "
            "the run's credit is refunded. Retry the run to deploy it again."))
    s = get_settings()
    deployer = CloudRunDeployer(project=s.project_id, region=s.region, run_client=run_client(), clock=clock)
    try:
        url = deployer.apply_service(deploy["service_id"], deploy["service"], deadline)
        if deploy.get("public", True):
            deployer.allow_public(deploy["service_id"], deadline)
    except DeployError as exc:
        if exc.transient:  # Pub/Sub delivers the notification again; the update is idempotent
            raise errors.TransientError(str(exc)) from exc
        return commits.Outcome("reject", summary=dict(summary, deployed=False), reason=(
            f"the build succeeded but Cloud Run did not accept the service: {str(exc)[:300]}. "
            "The run's credit is refunded."))
    summary.update({"url": url, "deployed": True})
    private = {}
    if url and deploy.get("claim_token"):
        summary["claim"] = CLAIM_NOTE
        private["claim"] = {"claim_url": f"{url.rstrip('/')}/claim?token={deploy['claim_token']}"}
    return commits.Outcome("ok", summary=summary, private=private,
                           logs=[f"Build {summary['build']['id']} succeeded; the app answers at {url}"])
