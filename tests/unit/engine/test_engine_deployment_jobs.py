"""Deployment: capabilities' scheduled work (reminders' run-due) becomes Cloud Scheduler jobs in the artifacts."""

from __future__ import annotations

import json

from shared.engine import EngineConfig, StageInput, no_artifacts, run_stage
from shared.engine.stages import deployment

from .cloud_fakes import PROJECT, REGION, FakeBuildClient, FakeSession
from .corpus import idea_by_id


def _deploy(idea_id: str, state_dir):
    idea = idea_by_id(idea_id)
    dev = run_stage("development", StageInput("jobs-1", "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    store = {("development", k): v for k, v in dev.artifacts.items()}
    config = EngineConfig(state_dir=state_dir, deploy_mode="cloud_run", gcp_project=PROJECT, gcp_region=REGION,
                          http_session_factory=FakeSession, build_client_factory=FakeBuildClient)
    r = run_stage("deployment", StageInput("jobs-1", "t", idea, {"development": dev.summary, "qa": {"passed": True}},
                                           lambda s, n: store[(s, n)]), config)
    assert r.outcome == "waiting", r.reason
    return dev, r


def test_reminders_become_cloud_scheduler_jobs_with_the_token_from_secret_manager(state_dir):
    dev, r = _deploy("kitchen-stock", state_dir)  # two reminders capabilities
    spec = json.loads(dev.artifacts["app-spec.json"])
    reminders = [c["id"] for c in spec["capabilities"] if c["kind"] == "reminders"]
    assert len(reminders) == 2
    plan = json.loads(r.artifacts["deploy-plan.json"])
    jobs = plan["scheduled_jobs"]
    assert json.loads(r.artifacts["scheduler-jobs.json"]) == {"jobs": jobs}
    assert sorted(j["httpTarget"]["uri"] for j in jobs) == sorted(f"${{SERVICE_URL}}/api/{c}/run-due" for c in reminders)
    name = r.summary["service_name"]
    for job in jobs:
        assert job["name"].startswith(f"projects/{PROJECT}/locations/{REGION}/jobs/")
        assert job["schedule"] == "*/15 * * * *" and job["httpTarget"]["httpMethod"] == "POST"
        assert job["httpTarget"]["headers"] == {"Authorization": "Bearer ${REMINDERS_TOKEN}"}
        assert job["token"] == {"setting": "REMINDERS_TOKEN", "secret": f"{name}-reminders-token"}
    # the revision reads the same token from Secret Manager, once, never as a literal value
    env = r.private["deploy"]["service"]["template"]["containers"][0]["env"]  # what build_events applies
    tokens = [e for e in env if e["name"] == "REMINDERS_TOKEN"]
    assert tokens == [{"name": "REMINDERS_TOKEN",
                       "value_source": {"secret_key_ref": {"secret": f"{name}-reminders-token", "version": "latest"}}}]
    assert b"reminders-token" in r.artifacts["service.yaml"]
    assert sorted(j["path"] for j in r.summary["scheduled_jobs"]) == sorted(f"/api/{c}/run-due" for c in reminders)


def test_no_scheduled_capability_means_no_jobs(state_dir):
    _dev, r = _deploy("sign-easy", state_dir)
    assert json.loads(r.artifacts["deploy-plan.json"])["scheduled_jobs"] == []
    assert "scheduler-jobs.json" not in r.artifacts and "scheduled_jobs" not in r.summary
    env = r.private["deploy"]["service"]["template"]["containers"][0]["env"]
    assert not [e for e in env if e["name"] == "REMINDERS_TOKEN"]


def test_scheduler_jobs_ignore_a_project_without_a_spec():
    assert deployment.scheduler_jobs({}, "svc", PROJECT, REGION) == []


def test_an_audit_log_gets_its_own_key_from_secret_manager():
    from shared.engine.deploy_adapter import knative_service

    from .capabilities import _caps2_specs

    with_log = {"app/spec.json": json.dumps(_caps2_specs.cafe("audit_log")).encode()}
    without = {"app/spec.json": json.dumps(_caps2_specs.cafe("live_board")).encode()}
    assert deployment.audit_secrets(with_log, "cafe-abc123") == {"AUDIT_KEY": "cafe-abc123-audit-key"}
    assert deployment.audit_secrets(without, "cafe-abc123") == {} == deployment.audit_secrets({}, "cafe-abc123")
    plan = deployment.builtin_plan({"service_name": "cafe-abc123", "needs": [], "development": {}, "qa": {}})
    svc = knative_service(name="cafe-abc123", image="img", project=PROJECT, region=REGION, plan=plan.model_dump(),
                          labels={}, cloud_sql="p:r:i")
    deployment._add_secret_env(svc, deployment.audit_secrets(with_log, "cafe-abc123"))
    env = {e["name"]: e for e in svc["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AUDIT_KEY"] == {"name": "AUDIT_KEY",
                                "valueFrom": {"secretKeyRef": {"name": "cafe-abc123-audit-key", "key": "latest"}}}
    assert "valueFrom" in env["SECRET_KEY"]  # a secret of its own, beside the session key
