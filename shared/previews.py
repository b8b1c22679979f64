"""Redeploy an expired local preview from the run's stored artifacts, at no credit cost.

A local preview (shared/engine/preview.py) lives for `PREVIEW_TTL_S`; the watchdog's sweep stops it after
that. The deployment summary keeps `preview.expires_at`, so the dashboard shows a countdown and then an
expired state; "Redeploy preview" calls `redeploy`, which starts the same project (the development stage's
`project.zip`, as the deployment stage did) with a new port, claim link and expiry, and records them on
the run with a `preview_redeployed` event. It spends no credit and no budget: nothing is built again.

A preview still running is not restarted (that would drop the data someone entered in it): 409
`preview_running`. Apps served by Cloud Run do not expire: 409 `not_a_preview`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from contextlib import contextmanager

from shared import artifact_store, errors, hooks, log
from shared.runs import actions, reads, records
from shared.settings import get_settings
from shared.store import Tenant

logger = log.get_logger("previews")


@contextmanager
def _lock(state_dir: str, pipeline_id: str):
    """One redeploy of a run's preview at a time on this machine (where local previews run)."""
    from shared.engine import preview

    path = preview.record_path(state_dir, pipeline_id).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _running_record(state_dir: str, pipeline_id: str, now: float) -> dict | None:
    from shared.engine import preview

    path = preview.record_path(state_dir, pipeline_id)
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = int(rec.get("pid") or 0)
    if pid and preview.is_running(pid) and float(rec.get("expires_at") or 0) > now:
        return rec
    return None


def redeploy(tenant: Tenant, pipeline_id: str, uid: str, *, now: float | None = None) -> dict:
    run = reads.get(tenant, pipeline_id)  # 404 for another workspace's run
    dep = run["stages"]["deployment"]
    summary = dep.get("summary") or {}
    if dep.get("status") != "completed":
        raise errors.Conflict("This run has not deployed its app yet, so there is no preview to redeploy.",
                              code="not_deployed")
    if summary.get("mode") != "local_preview" or not summary.get("preview"):
        raise errors.Conflict("This run's app is served by Cloud Run and does not expire; open its link.",
                              code="not_a_preview")
    from shared import stage_runner
    from shared.engine import preview
    from shared.engine.artifacts import read_zip

    s = get_settings()
    config = stage_runner._engine_config(hooks.OFF)
    with _lock(s.state_dir, pipeline_id):
        t = time.time() if now is None else now
        live = _running_record(s.state_dir, pipeline_id, t)
        if live is not None:
            raise errors.Conflict("The preview is still running; it can be redeployed once it has expired.",
                                  code="preview_running", details={"url": live["url"],
                                                                   "expires_at": live["expires_at"]})
        try:
            # From Cloud Storage, checked against its recorded SHA-256 (decision 0036).
            files = read_zip(artifact_store.read(reads.artifact(tenant, pipeline_id, "project.zip")))
        except (errors.NotFound, artifact_store.ArtifactIntegrityError):
            raise errors.Conflict("The run's stored project is missing or damaged, so its preview cannot be started "
                                  "again; rerun the run from development to build it.", code="no_artifacts") from None
        try:
            record = preview.start_preview(pipeline_id, files, config, now=t)
        except preview.PreviewError as exc:
            log.event(logger, logging.WARNING, "preview redeploy unhealthy", tenant_id=tenant.tenant_id,
                      pipeline_id=pipeline_id, reason=str(exc)[:1000])
            raise errors.AppError("The preview did not start in time; try again in a minute.",
                                  code="preview_unhealthy", status=503) from None
    shown = {k: record[k] for k in ("url", "pid", "port", "expires_at")}
    pref = tenant.pipeline(pipeline_id)

    def fn(tx, p, updates, ev, t_):
        tx.set(records.private_ref(pref, "claim"), {"claim_url": record["claim_url"], "stage": "deployment",
                                                    "attempt": dep.get("attempt"), "created_at": t_})
        updates.update({"stages.deployment.summary.preview": shown, "stages.deployment.summary.url": shown["url"]})
        ev.add("preview_redeployed", stage="deployment", progress=p["progress"], by=uid,
               message="Preview redeployed from the stored project (no credit used)")
        return None

    actions._act(tenant, pipeline_id, fn)
    log.event(logger, logging.INFO, "preview redeployed", tenant_id=tenant.tenant_id, pipeline_id=pipeline_id)
    return {"pipeline_id": pipeline_id, "preview": shown}
