"""The deploy adapter and the deployment stage's cloud_run mode, against fakes of Google's clients at the class
boundary (tests/unit/engine/cloud_fakes.py): the stage submits the build and returns; the Cloud Run service is
applied later, when the build's notification arrives (shared/build_events.py, decision 0040)."""

from __future__ import annotations

import json
import re
import time

import pytest
from google.api_core import exceptions as gexc

from shared.engine import EngineConfig, StageInput, TransientEngineError, no_artifacts, run_stage
from shared.engine.deploy_adapter import (
    CloudRunDeployer,
    DeployError,
    build_message,
    build_request,
    is_transient,
    knative_service,
    run_v2_service,
)
from shared.engine.stages import deployment

from .cloud_fakes import LOCATION, PROJECT, REGION, FakeBuildClient, FakeServicesClient, FakeSession
from .corpus import idea_by_id


def _service(name="shop-abc123", cloud_sql=None):
    plan = {"cpu": "1", "memory": "512Mi", "min_instances": 0, "max_instances": 3, "concurrency": 80,
            "env": {"APP_ENV": "production"}}
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/saas-factory/{name}:0123456789ab"
    return knative_service(name=name, image=image, project=PROJECT, region=REGION, plan=plan,
                           labels={"managed-by": "saas-factory"}, cloud_sql=cloud_sql)


def test_knative_service_shape():
    svc = _service()
    assert svc["apiVersion"] == "serving.knative.dev/v1" and svc["kind"] == "Service"
    assert svc["metadata"]["namespace"] == PROJECT
    assert svc["metadata"]["labels"]["cloud.googleapis.com/location"] == REGION
    container = svc["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert svc["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/maxScale"] == "3"


def test_service_yaml_becomes_the_admin_api_v2_service_the_client_accepts():
    from google.cloud import run_v2

    conn = f"{PROJECT}:{REGION}:saas-factory-apps"
    v2 = run_v2.Service(run_v2_service(_service(cloud_sql=conn)))  # the real message: an unknown field raises
    t = v2.template
    c = t.containers[0]
    assert c.image.endswith("/shop-abc123:0123456789ab") and c.ports[0].container_port == 8080
    assert dict(c.resources.limits) == {"cpu": "1", "memory": "512Mi"}
    assert (t.scaling.min_instance_count, t.scaling.max_instance_count) == (0, 3)
    assert t.max_instance_request_concurrency == 80 and t.timeout.seconds == 300
    assert t.execution_environment == run_v2.ExecutionEnvironment.EXECUTION_ENVIRONMENT_GEN2
    assert c.startup_probe.http_get.path == "/health" and c.startup_probe.failure_threshold == 15
    env = {e.name: e for e in c.env}
    assert env["APP_ENV"].value == "production"
    assert env["SECRET_KEY"].value_source.secret_key_ref.secret == "shop-abc123-secret-key"
    assert env["SECRET_KEY"].value_source.secret_key_ref.version == "latest"
    assert list(t.volumes[0].cloud_sql_instance.instances) == [conn]
    assert c.volume_mounts[0].mount_path == "/cloudsql"
    assert dict(v2.labels) == {"managed-by": "saas-factory"}  # no "cloud.googleapis.com/..." key: v2 refuses them
    assert v2.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
    assert v2.traffic[0].percent == 100


def test_build_request_and_its_client_message():
    from google.cloud.devtools import cloudbuild_v1

    req = build_request(bucket="b", object_name="o.tar.gz", image="img:1", tags=["saas-factory", "tenant-t1"])
    assert req["timeout"] == "900s" and req["tags"] == ["saas-factory", "tenant-t1"]
    msg = cloudbuild_v1.Build(build_message(req))
    assert msg.source.storage_source.bucket == "b" and msg.source.storage_source.object_ == "o.tar.gz"
    assert [list(s.args) for s in msg.steps] == [["build", "-t", "img:1", "."], ["push", "img:1"]]
    assert msg.timeout.seconds == 900 and list(msg.tags) == ["saas-factory", "tenant-t1"]
    assert msg.options.logging == cloudbuild_v1.BuildOptions.LoggingMode.CLOUD_LOGGING_ONLY


def test_transient_errors_are_recognised_by_type_never_by_text():
    assert is_transient(gexc.ServiceUnavailable("x")) and is_transient(gexc.TooManyRequests("x"))
    assert is_transient(gexc.DeadlineExceeded("x")) and is_transient(TimeoutError())
    assert not is_transient(gexc.PermissionDenied("HTTP 503 within a message"))
    assert not is_transient(RuntimeError("HTTP 503 service unavailable, try again within 5s"))
    assert is_transient(DeployError("x", transient=True)) and not is_transient(DeployError("HTTP 503"))


# ------------------------------------------------------------------------ the stage: submit and return


def _developed(idea_id: str, pipeline_id: str, state_dir):
    idea = idea_by_id(idea_id)
    dev = run_stage("development", StageInput(pipeline_id, "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    store = {("development", k): v for k, v in dev.artifacts.items()}
    inp = StageInput(pipeline_id, "tenant-1", idea, {"development": dev.summary, "qa": {"passed": True}},
                     lambda s, n: store[(s, n)])
    return dev, inp


def _cloud_config(state_dir, session, builds):
    return EngineConfig(state_dir=state_dir, deploy_mode="cloud_run", gcp_project=PROJECT, gcp_region=REGION,
                        http_session_factory=lambda: session, build_client_factory=lambda: builds)


def test_the_stage_submits_the_build_and_returns_waiting_in_under_2_s(state_dir):
    _dev, inp = _developed("sign-easy", "cr-1", state_dir)
    session, builds = FakeSession(), FakeBuildClient()
    started = time.monotonic()
    r = run_stage("deployment", inp, _cloud_config(state_dir, session, builds))
    took = time.monotonic() - started
    assert took < 2.0, f"the stage took {took:.2f} s"
    assert r.outcome == "waiting", r.reason
    # one build, submitted through the client with the uploaded source and the run's tags; nothing awaited
    assert len(builds.requests) == 1
    req = builds.requests[0]
    assert req["parent"] == LOCATION and req["project_id"] == PROJECT
    assert req["build"]["tags"] == ["saas-factory", "tenant-tenant-1", "pipeline-cr-1"]
    obj = req["build"]["source"]["storage_source"]
    upload = next(c for c in session.calls if c[1].startswith("https://storage.googleapis.com/upload/"))
    assert upload[2]["params"]["name"] == obj["object_"] and upload[2]["data"] == r.artifacts["source.tar.gz"]
    assert json.loads(r.artifacts["cloudbuild.json"])["tags"] == req["build"]["tags"]
    # the run records the build id and its log URL; nothing is deployed yet
    assert r.summary["build"]["id"] == "build-1" and r.summary["waiting_for"] == "build"
    assert r.summary["build"]["log_url"].endswith("/build-1") and r.summary["deployed"] is False
    assert "url" not in r.summary
    deploy = r.private["deploy"]
    assert deploy["build_id"] == "build-1" and deploy["service_id"] == r.summary["service_name"]
    assert deploy["wait_s"] >= deployment.BUILD_TIMEOUT_S
    from google.cloud import run_v2

    run_v2.Service(deploy["service"])  # what build_events will apply is a valid v2 service
    # the owner claim: a fresh token in Secret Manager before the build, kept server-only, never in the summary
    name = r.summary["service_name"]
    token = deploy["claim_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    assert session.secrets[f"{name}-owner-claim-token"] == [token]
    key = session.secrets[f"{name}-secret-key"]
    assert len(key) == 1 and re.fullmatch(r"[0-9a-f]{64}", key[0])  # a generated SECRET_KEY, made once
    assert token not in json.dumps(r.summary)
    for data in r.artifacts.values():
        assert token.encode() not in data and key[0].encode() not in data
    env = {e["name"]: e for e in deploy["service"]["template"]["containers"][0]["env"]}
    assert env["OWNER_CLAIM_TOKEN"] == {"name": "OWNER_CLAIM_TOKEN", "value_source": {"secret_key_ref": {
        "secret": f"{name}-owner-claim-token", "version": "latest"}}}
    assert env["APP_ENV"]["value"] == "production" and env["TRUSTED_PROXY_HOPS"]["value"] == "1"


@pytest.mark.parametrize("error, transient", [(gexc.ServiceUnavailable("backend busy"), True),
                                              (gexc.TooManyRequests("quota"), True),
                                              (gexc.PermissionDenied("cloudbuild.builds.create denied"), False),
                                              (gexc.InvalidArgument("bad build"), False)])
def test_a_refused_build_submission_is_retried_or_rejected_by_its_exception_type(state_dir, error, transient):
    _dev, inp = _developed("sign-easy", "cr-3", state_dir)
    config = _cloud_config(state_dir, FakeSession(), FakeBuildClient(error=error))
    if transient:
        with pytest.raises(TransientEngineError, match="create build"):
            run_stage("deployment", inp, config)
    else:
        r = run_stage("deployment", inp, config)
        assert r.outcome == "reject" and "create build" in r.reason and type(error).__name__ in r.reason


@pytest.mark.parametrize("status, transient", [(503, True), (429, True), (403, False)])
def test_a_refused_upload_is_retried_or_rejected_by_its_http_status(state_dir, status, transient):
    _dev, inp = _developed("sign-easy", "cr-4", state_dir)
    builds = FakeBuildClient()
    config = _cloud_config(state_dir, FakeSession(fail_upload=status), builds)
    if transient:
        with pytest.raises(TransientEngineError):
            run_stage("deployment", inp, config)
    else:
        assert run_stage("deployment", inp, config).outcome == "reject"
    assert builds.requests == []  # nothing built from a source that never arrived


# -------------------------------------------------------------- after the build: the Cloud Run service


def _deployer(run_client, now=lambda: 0.0):
    return CloudRunDeployer(project=PROJECT, region=REGION, run_client=run_client, clock=now)


def test_a_new_service_is_created_then_told_its_public_url():
    runs = FakeServicesClient()
    svc = run_v2_service(_service())
    url = _deployer(runs).apply_service("shop-abc123", svc, deadline=200.0)
    assert url == "https://shop-abc123-abc123-ew.a.run.app"
    assert [c[0] for c in runs.calls] == ["get_service", "create_service", "update_service"]
    created = runs.calls[1][1]
    assert created["parent"] == LOCATION and created["service_id"] == "shop-abc123" and created["service"] == svc
    updated = runs.calls[2][1]["service"]
    assert updated["name"] == f"{LOCATION}/services/shop-abc123"
    assert {"name": "PUBLIC_BASE_URL", "value": url} in updated["template"]["containers"][0]["env"]
    assert "PUBLIC_BASE_URL" not in json.dumps(svc)  # the caller's service is not changed
    _deployer(runs).allow_public("shop-abc123", deadline=200.0)
    assert runs.policies[f"{LOCATION}/services/shop-abc123"] == {
        "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}


def test_an_existing_service_is_updated_once_with_its_url_in_the_same_revision():
    runs = FakeServicesClient(existing={f"{LOCATION}/services/shop-abc123": "https://shop-old.a.run.app"})
    url = _deployer(runs).apply_service("shop-abc123", run_v2_service(_service()), deadline=200.0)
    assert url == "https://shop-old.a.run.app"
    assert [c[0] for c in runs.calls] == ["get_service", "update_service"]
    env = runs.calls[1][1]["service"]["template"]["containers"][0]["env"]
    assert {"name": "PUBLIC_BASE_URL", "value": "https://shop-old.a.run.app"} in env


def test_a_service_created_meanwhile_is_updated_instead():
    runs = FakeServicesClient(errors={"get_service": gexc.NotFound("gone")},
                              existing={f"{LOCATION}/services/shop-abc123": "https://shop-race.a.run.app"})
    url = _deployer(runs).apply_service("shop-abc123", run_v2_service(_service()), deadline=200.0)
    assert url == "https://shop-race.a.run.app"
    assert [c[0] for c in runs.calls] == ["get_service", "create_service", "get_service", "update_service"]


def test_every_wait_is_bounded_by_the_callers_deadline():
    runs = FakeServicesClient(existing={f"{LOCATION}/services/shop-abc123": "https://x.a.run.app"},
                              errors={"result": TimeoutError()})
    clock = iter([0.0, 10.0, 20.0, 30.0])
    with pytest.raises(DeployError) as err:
        _deployer(runs, now=lambda: next(clock)).apply_service("shop-abc123", run_v2_service(_service()),
                                                               deadline=100.0)
    assert err.value.transient  # the notification is delivered again; the update is idempotent
    with pytest.raises(DeployError, match="no time left") as err:
        _deployer(FakeServicesClient(), now=lambda: 99.5).apply_service("s", run_v2_service(_service()),
                                                                        deadline=100.0)
    assert err.value.transient


def test_a_refused_service_is_a_permanent_error():
    runs = FakeServicesClient(errors={"create_service": gexc.InvalidArgument("template.containers[0]: bad image")})
    with pytest.raises(DeployError, match="create service: InvalidArgument") as err:
        _deployer(runs).apply_service("shop-abc123", run_v2_service(_service()), deadline=200.0)
    assert not err.value.transient


def test_put_secret_creates_adds_a_version_and_keeps_an_existing_key_when_asked():
    fake = FakeSession(secrets=("shop-secret-key",))
    deployer = CloudRunDeployer(fake, project=PROJECT, region=REGION)
    assert deployer.put_secret("shop-secret-key", "new-key", keep_existing=True) is False
    assert fake.secrets["shop-secret-key"] == ["existing"]  # kept: a new key would sign every user out
    assert deployer.put_secret("shop-owner-claim-token", "tok-1") is True
    assert deployer.put_secret("shop-owner-claim-token", "tok-2") is True
    assert fake.secrets["shop-owner-claim-token"] == ["tok-1", "tok-2"]
    create = next(c for c in fake.calls if c[2].get("params") == {"secretId": "shop-owner-claim-token"})
    assert create[2]["json"] == {"replication": {"automatic": {}}}


def test_the_dockerfile_carries_no_secret_and_no_development_mode():
    from shared.engine.stages.deployment import DOCKERFILE

    instructions = [line for line in DOCKERFILE.splitlines() if line and not line.startswith("#")]
    assert not [line for line in instructions if "SECRET_KEY" in line or "OWNER_CLAIM_TOKEN" in line
                or "APP_ENV" in line], instructions


def test_deployment_refuses_when_qa_failed(state_dir):
    r = run_stage("deployment", StageInput("cr-2", "t", {}, {"qa": {"passed": False}}, no_artifacts),
                  EngineConfig(state_dir=state_dir))
    assert r.outcome == "reject" and "QA did not pass" in r.reason


def test_service_wires_cloud_sql_and_never_a_local_database_path():
    from shared.engine.deploy_adapter import app_secrets, cloud_sql_connection
    from shared.engine.stages.deployment import DOCKERFILE, builtin_plan, to_yaml

    plan = builtin_plan({"service_name": "shop-abc123", "needs": [], "development": {}, "qa": {}}).model_dump()
    conn = cloud_sql_connection(PROJECT, REGION, "saas-factory-apps")
    svc = knative_service(name="shop-abc123", image="img", project=PROJECT, region=REGION, plan=plan,
                          labels={"managed-by": "saas-factory"}, cloud_sql=conn)
    template = svc["spec"]["template"]
    assert template["metadata"]["annotations"]["run.googleapis.com/cloudsql-instances"] == f"{PROJECT}:{REGION}:saas-factory-apps"
    env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"] == {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": app_secrets("shop-abc123")["DATABASE_URL"], "key": "latest"}}}
    assert "valueFrom" in env["SECRET_KEY"] and env["APP_ENV"]["value"] == "production"
    assert "valueFrom" in env["OWNER_CLAIM_TOKEN"] and env["TRUSTED_PROXY_HOPS"]["value"] == "1"
    manifest = to_yaml(svc) + DOCKERFILE + json.dumps(plan)
    assert "/tmp" not in manifest and "DATABASE_PATH" not in manifest and "sqlite" not in manifest
