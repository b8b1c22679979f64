"""build_events' typed core (shared/build_events.py): which `cloud-builds` messages it reads, and what outcome a
finished build commits, with Cloud Run faked at the client's class boundary. The pipeline's fenced commit itself
(duplicate notifications, stale build ids, the refund) runs against Firestore in
tests/emulator/test_async_deployment.py."""

from __future__ import annotations

import pytest
from cloudevents.http import CloudEvent
from google.api_core import exceptions as gexc

from shared import build_events, errors
from shared.engine.deploy_adapter import run_v2_service
from shared.runs import commits
from tests.unit.engine.cloud_fakes import LOCATION, PROJECT, REGION, FakeServicesClient, notification
from tests.unit.engine.test_engine_deploy_adapter import _service


def _event(message: dict) -> CloudEvent:
    return CloudEvent({"type": build_events.PUBSUB_EVENT, "source": "//pubsub.googleapis.com/"},
                      {"message": message, "subscription": "cloud-builds-push"})


def test_a_factory_build_notification_is_read_from_its_tags():
    n = build_events.parse(_event(notification("b-7", "FAILURE", "ten_1", "run-9", log_url="https://log/b-7")))
    assert n == build_events.BuildNotice("b-7", "FAILURE", "https://log/b-7", "ten_1", "run-9")


@pytest.mark.parametrize("message", [
    {"data": "bm90IGpzb24=", "attributes": {"buildId": "b", "status": "SUCCESS"}},  # not JSON
    {"data": "%%%", "attributes": {}},  # not base64
    {"data": "eyJpZCI6ICJiIiwgInN0YXR1cyI6ICJTVUNDRVNTIiwgInRhZ3MiOiBbIm90aGVyIl19", "attributes": {}},  # not ours
])
def test_anything_else_on_the_topic_is_acknowledged_unread(message):
    assert build_events.parse(_event(message)) is None


@pytest.fixture
def parked(monkeypatch):
    """`commits.complete_waiting` replaced by one that calls `finish` as a parked stage would, and records the
    outcome it would commit (the real commit is exercised against Firestore in the emulator tier)."""
    committed: list[commits.Outcome] = []
    st = {"status": "running", "summary": {"mode": "cloud_run", "service_name": "shop-abc123", "deployed": False,
                                           "waiting_for": "build", "build": {"id": "b-1", "log_url": "https://log/b-1"}},
          "waiting": {"for": "build", "build_id": "b-1"}}
    docs = {"deploy": {"build_id": "b-1", "service_id": "shop-abc123", "service": run_v2_service(_service()),
                       "public": True, "claim_token": "tok-123"}}

    def complete_waiting(tenant_id, pipeline_id, stage, build_id, finish):
        assert (tenant_id, pipeline_id, stage) == ("ten_1", "run-9", "deployment")
        if build_id != st["waiting"]["build_id"]:
            return None, "skipped (the run is not waiting for this build)"
        committed.append(finish(st, docs))
        return None, "completed" if committed[-1].kind == "ok" else "failed"

    monkeypatch.setattr(commits, "complete_waiting", complete_waiting)
    monkeypatch.setattr(build_events.notify, "after_run_changed", lambda *a: None)
    monkeypatch.setenv("FACTORY_ENV", "local")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("FUNCTION_REGION", REGION)
    from shared.settings import get_settings

    get_settings.cache_clear()
    yield committed
    get_settings.cache_clear()
    build_events.set_run_client(None)


def _notice(status, build_id="b-1"):
    return build_events.BuildNotice(build_id, status, f"https://log/{build_id}", "ten_1", "run-9")


def test_success_creates_the_service_and_completes_with_its_url(parked):
    runs = FakeServicesClient()
    build_events.set_run_client(runs)
    assert build_events.handle(_notice("SUCCESS"), deadline=10**9) == "completed"
    out = parked[0]
    url = "https://shop-abc123-abc123-ew.a.run.app"
    assert out.kind == "ok" and out.summary["url"] == url and out.summary["deployed"] is True
    assert out.summary["build"]["status"] == "SUCCESS" and "waiting_for" not in out.summary
    assert out.private == {"claim": {"claim_url": f"{url}/claim?token=tok-123"}}
    assert "tok-123" not in str(out.summary)
    assert f"{LOCATION}/services/shop-abc123" in runs.services and runs.policies


@pytest.mark.parametrize("status", ["FAILURE", "TIMEOUT", "CANCELLED", "INTERNAL_ERROR", "EXPIRED"])
def test_a_failed_build_fails_the_stage_with_its_log_url_and_never_touches_cloud_run(parked, status):
    runs = FakeServicesClient()
    build_events.set_run_client(runs)
    assert build_events.handle(_notice(status), deadline=10**9) == "failed"
    out = parked[0]
    assert out.kind == "reject" and status in out.reason and "https://log/b-1" in out.reason
    assert "refunded" in out.reason and out.summary["deployed"] is False
    assert runs.calls == []


def test_an_unfinished_or_stale_build_commits_nothing(parked):
    build_events.set_run_client(FakeServicesClient())
    assert build_events.handle(_notice("WORKING"), deadline=10**9).startswith("waiting")
    assert build_events.handle(_notice("SUCCESS", build_id="b-0"), deadline=10**9).startswith("skipped")
    assert parked == []


def test_a_transient_cloud_run_error_is_raised_for_redelivery_and_a_refusal_fails_the_stage(parked):
    build_events.set_run_client(FakeServicesClient(errors={"create_service": gexc.ServiceUnavailable("try later")}))
    with pytest.raises(errors.TransientError, match="ServiceUnavailable"):
        build_events.handle(_notice("SUCCESS"), deadline=10**9)
    assert parked == []
    build_events.set_run_client(FakeServicesClient(errors={"create_service": gexc.PermissionDenied("run.services.create")}))
    assert build_events.handle(_notice("SUCCESS"), deadline=10**9) == "failed"
    assert parked[0].kind == "reject" and "PermissionDenied" in parked[0].reason
