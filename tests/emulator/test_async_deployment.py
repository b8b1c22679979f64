"""The asynchronous deployment stage (issue 21, decision 0040) against Firestore and Pub/Sub: a deployment parked
on its build, completed or failed by Cloud Build's notification.

The local cloud deploys as local previews, so the parking commit is made here, in-process, as the stage's
cloud_run mode returns it (its engine half -- submit and return in under 2 s -- is tests/unit/engine/
test_engine_deploy_adapter.py). The FAILURE notification is recorded and published to the local `cloud-builds`
topic, whose push subscription feeds the real build_events function; the SUCCESS one goes through build_events'
typed core in this process, where Cloud Run's client is faked at its class boundary."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.http import CloudEvent

from emulator import faults
from shared import build_events, clients, dispatch, topology
from shared.engine.deploy_adapter import run_v2_service
from shared.models.pipeline import StageMessage
from shared.runs import claims, commits, timeouts
from shared.store import new_id
from tests.helpers import IDEA, Api, buy_credits, events, pipeline_doc, submit, wait_status
from tests.unit.engine.cloud_fakes import FakeServicesClient, notification
from tests.unit.engine.test_engine_deploy_adapter import _service


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def owner(api):
    o = api.signup(company="Async Deploy Co")
    faults.set_flag(o.tenant_id, "passthrough")
    buy_credits(api, o)
    return o


def _credits(api, owner) -> int:
    return api.get("/api/billing", owner).json()["credits"]


def _parked_run(api, owner, build_id: str) -> tuple[str, claims.Claim]:
    """A run held after QA (approval gate), then dispatched to deployment and parked on `build_id` exactly as the
    stage's cloud_run mode parks it: claim, then commit the "waiting" outcome."""
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["qa"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 60)
    pref = clients.firestore().document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    dispatch_id = new_id()
    pref.update({"status": "running", "current_stage": "deployment", "awaiting_approval_for": None,
                 "stages.deployment.status": "dispatched", "stages.deployment.attempt": 1,
                 "deadline_at": datetime.now(UTC) + timedelta(seconds=60)})
    pref.collection("private").document("fence").set({"stages": {"deployment": {"dispatch_id": dispatch_id}}},
                                                     merge=True)
    msg = StageMessage(tenant_id=owner.tenant_id, pipeline_id=pid, stage="deployment", attempt=1,
                       dispatch_id=dispatch_id)
    c = claims.claim(msg, "msg-1")
    assert c is not None
    log_url = f"https://console.cloud.google.com/cloud-build/builds/{build_id}"
    out = commits.Outcome(
        "waiting",
        summary={"mode": "cloud_run", "service_name": "shop-abc123", "deployed": False, "waiting_for": "build",
                 "build": {"id": build_id, "log_url": log_url}},
        artifacts={"cloudbuild.json": b'{"tags": ["saas-factory"]}'},
        usage={"engine": "builtin", "compute_s": 0.4},
        private={"deploy": {"build_id": build_id, "log_url": log_url, "service_id": "shop-abc123",
                            "service": run_v2_service(_service()), "public": True, "claim_token": "tok-" + build_id,
                            "wait_s": 1500}},
        waiting={"for": "build", "build_id": build_id, "log_url": log_url, "wait_s": 1500})
    started = time.monotonic()
    assert commits.commit(c, out) == (None, "waiting")
    assert time.monotonic() - started < 2.0
    # parked: still running under its claim, with the build id, its log URL and a deadline for the build
    p = pipeline_doc(owner.tenant_id, pid)
    st = p["stages"]["deployment"]
    assert p["status"] == "running" and st["status"] == "running"
    assert st["waiting"]["build_id"] == build_id and st["waiting"]["log_url"] == log_url
    assert st["summary"]["build"]["log_url"] == log_url and st["artifacts"] == ["cloudbuild.json"]
    assert p["deadline_at"] > datetime.now(UTC) + timedelta(seconds=1400)
    assert [e for e in events(owner.tenant_id, pid) if e["type"] == "stage_waiting"][0]["build_id"] == build_id
    assert claims.claim(msg, "msg-1") is None  # a redelivered stage message does not build again
    # the stage function crash-looping after the run parked is not this run's problem: it waits on its build
    from shared.health import StageHealth

    crash = StageHealth("stage_deployment", True, restarts=3, since=datetime.now(UTC))
    pref = clients.firestore().document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
    assert timeouts.fail_crash_looping(pref, "deployment", crash) is False
    assert pipeline_doc(owner.tenant_id, pid)["status"] == "running"
    return pid, c


def _refunds(p: dict) -> int:
    return int((p.get("credit") or {}).get("refunds", 0))


def test_a_failed_build_published_on_cloud_builds_fails_the_run_with_its_log_url_and_refunds_once(api, owner):
    build_id = "b-fail-" + new_id()[:8]
    pid, _c = _parked_run(api, owner, build_id)
    before = _credits(api, owner)
    recorded = notification(build_id, "FAILURE", owner.tenant_id, pid,
                            log_url=f"https://console.cloud.google.com/cloud-build/builds/{build_id}")
    import base64
    import os

    import requests

    # Hand-made, straight to the function's port (not through Pub/Sub): refused before it is read.
    port = topology.function("build_events").port + int(os.environ["LOCALCLOUD_PORT_OFFSET"])
    r = requests.post(f"http://127.0.0.1:{port}/", json={"message": recorded, "subscription": "hand-made"},
                      timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "push_only"
    assert pipeline_doc(owner.tenant_id, pid)["stages"]["deployment"]["waiting"]["build_id"] == build_id

    dispatch.publish(topology.CLOUD_BUILDS_TOPIC, base64.b64decode(recorded["data"]), recorded["attributes"])
    p = wait_status(owner.tenant_id, pid, "failed", 30)
    assert p["error_code"] == "stage_failed" and p["stages"]["deployment"]["status"] == "failed"
    assert f"https://console.cloud.google.com/cloud-build/builds/{build_id}" in p["error_message"]
    assert "FAILURE" in p["error_message"]
    assert p["credit"]["state"] == "refunded" and p["credit"]["refund_reason"] == "factory_failure"
    assert _refunds(p) == 1 and _credits(api, owner) == before + 1
    seen = len(events(owner.tenant_id, pid))
    # the same notification delivered again, and a WORKING one, commit nothing
    dispatch.publish(topology.CLOUD_BUILDS_TOPIC, base64.b64decode(recorded["data"]), recorded["attributes"])
    assert build_events.handle(build_events.BuildNotice(build_id, "FAILURE", "", owner.tenant_id, pid),
                               deadline=time.monotonic() + 60).startswith("skipped")
    time.sleep(1.5)  # the redelivered copy reached the function too (a push takes ~0.1 s here)
    p2 = pipeline_doc(owner.tenant_id, pid)
    assert _refunds(p2) == 1 and len(events(owner.tenant_id, pid)) == seen and _credits(api, owner) == before + 1


def test_a_successful_build_completes_the_run_with_the_service_url_once(api, owner):
    build_id = "b-ok-" + new_id()[:8]
    pid, _c = _parked_run(api, owner, build_id)
    runs = FakeServicesClient()
    build_events.set_run_client(runs)
    try:
        def deliver(bid: str) -> str:
            msg = notification(bid, "SUCCESS", owner.tenant_id, pid)
            ev = CloudEvent({"type": build_events.PUBSUB_EVENT, "source": "//pubsub.googleapis.com/"},
                            {"message": msg, "subscription": "cloud-builds-push"})
            return build_events.handle(build_events.parse(ev), deadline=time.monotonic() + 60)

        assert deliver("b-stale").startswith("skipped")  # a build the run is not waiting for
        assert runs.calls == []
        assert deliver(build_id) == "completed"
        p = pipeline_doc(owner.tenant_id, pid)
        st = p["stages"]["deployment"]
        url = "https://shop-abc123-abc123-ew.a.run.app"
        assert p["status"] == "completed" and p["progress"] == 100
        assert st["status"] == "completed" and st["summary"]["url"] == url and st["summary"]["deployed"] is True
        assert st["summary"]["build"]["status"] == "SUCCESS" and st.get("waiting") is None
        assert st["artifacts"] == ["cloudbuild.json"]  # what the parking commit stored is kept
        assert p["credit"]["state"] == "charged"
        pref = clients.firestore().document(f"tenants/{owner.tenant_id}/pipelines/{pid}")
        claim = pref.collection("private").document("claim").get().to_dict()
        assert claim["claim_url"] == f"{url}/claim?token=tok-{build_id}"
        assert pref.collection("commits").document("deployment-1").get().to_dict()["kind"] == "ok"
        calls, seen = len(runs.calls), len(events(owner.tenant_id, pid))
        assert deliver(build_id).startswith("skipped")  # delivered twice: committed once
        assert len(runs.calls) == calls and len(events(owner.tenant_id, pid)) == seen
    finally:
        build_events.set_run_client(None)
