"""The Cloud Run deploy adapter against a fake HTTP session that behaves like the Google APIs."""

from __future__ import annotations

import base64
import json
import re

import pytest

from shared.engine import EngineConfig, StageInput, no_artifacts, run_stage
from shared.engine.deploy_adapter import (
    CloudRunDeployer,
    DeployError,
    build_request,
    knative_service,
)
from shared.engine.stages import deployment

from .corpus import idea_by_id

PROJECT, REGION = "demo-proj", "europe-west1"
RUN_BASE = f"https://{REGION}-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/{PROJECT}/services"
SECRETS = f"https://secretmanager.googleapis.com/v1/projects/{PROJECT}/secrets"


class FakeResponse:
    def __init__(self, status: int, payload: dict | None = None):
        self.status_code = status
        self._payload = payload or {}
        self.text = json.dumps(self._payload)

    def json(self):
        return self._payload


class FakeGoogle:
    """Records every call; answers like Cloud Storage, Cloud Build (operations) and Cloud Run (Knative v1)."""

    def __init__(self, *, service_exists=False, build_fails=False, polls_until_done=2, ready_after=2,
                 secrets=()):
        self.calls: list[tuple[str, str, dict]] = []
        self.secrets: dict[str, list[str]] = {name: ["existing"] for name in secrets}  # Secret Manager: versions
        self.service_exists = service_exists
        self.build_fails = build_fails
        self.polls_until_done = polls_until_done
        self.ready_after = ready_after
        self.service_gets = 0
        self.applied: dict | None = None

    def post(self, url, **kw):
        self.calls.append(("POST", url, kw))
        if url.startswith("https://storage.googleapis.com/upload/"):
            return FakeResponse(200, {"name": kw["params"]["name"], "size": str(len(kw["data"]))})
        if url.endswith("/builds"):
            return FakeResponse(200, {"name": f"projects/{PROJECT}/locations/{REGION}/operations/op-1",
                                      "metadata": {"build": {"id": "build-1", "status": "QUEUED"}}})
        if url == RUN_BASE:
            self.applied = kw["json"]
            return FakeResponse(200, kw["json"])
        if url.endswith(":setIamPolicy"):
            return FakeResponse(200, kw["json"]["policy"])
        if url == f"{SECRETS}":
            name = kw["params"]["secretId"]
            if name in self.secrets:
                return FakeResponse(409, {"error": {"code": 409, "message": f"Secret [{name}] already exists."}})
            self.secrets[name] = []
            return FakeResponse(200, {"name": f"projects/{PROJECT}/secrets/{name}", "replication": kw["json"]["replication"]})
        if url.startswith(SECRETS + "/") and url.endswith(":addVersion"):
            name = url[len(SECRETS) + 1:-len(":addVersion")]
            if name not in self.secrets:
                return FakeResponse(404, {"error": {"code": 404, "message": f"Secret [{name}] not found."}})
            self.secrets[name].append(base64.b64decode(kw["json"]["payload"]["data"]).decode())
            return FakeResponse(200, {"name": f"projects/{PROJECT}/secrets/{name}/versions/{len(self.secrets[name])}"})
        return FakeResponse(404, {"error": {"message": "unexpected POST " + url}})

    def put(self, url, **kw):
        self.calls.append(("PUT", url, kw))
        self.applied = kw["json"]
        return FakeResponse(200, kw["json"])

    def get(self, url, **kw):
        self.calls.append(("GET", url, kw))
        if "/operations/" in url:
            self.polls_until_done -= 1
            if self.polls_until_done > 0:
                return FakeResponse(200, {"name": url, "done": False})
            if self.build_fails:
                return FakeResponse(200, {"name": url, "done": True, "error": {"code": 3, "message": "step 0 failed"}})
            return FakeResponse(200, {"name": url, "done": True, "response": {"id": "build-1", "status": "SUCCESS"}})
        if url.startswith(RUN_BASE + "/"):
            if self.applied is None:
                if self.service_exists:
                    return FakeResponse(200, {"metadata": {"name": url.rsplit("/", 1)[1], "resourceVersion": "rv-7"},
                                              "status": {"url": "https://svc-abc.a.run.app"}})
                return FakeResponse(404, {"error": {"message": "not found"}})
            self.service_gets += 1
            ready = "True" if self.service_gets >= self.ready_after else "Unknown"
            return FakeResponse(200, {**self.applied, "status": {"url": "https://svc-abc.a.run.app",
                                                                 "conditions": [{"type": "Ready", "status": ready}]}})
        return FakeResponse(404, {"error": {"message": "unexpected GET " + url}})


def _service(name="shop-abc123"):
    plan = {"cpu": "1", "memory": "512Mi", "min_instances": 0, "max_instances": 3, "concurrency": 80,
            "env": {"APP_ENV": "production"}}
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/saas-factory/{name}:0123456789ab"
    return knative_service(name=name, image=image, project=PROJECT, region=REGION, plan=plan,
                           labels={"managed-by": "saas-factory"})


def _deployer(fake):
    return CloudRunDeployer(fake, project=PROJECT, region=REGION, sleep=lambda s: None)


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


def test_deploy_new_service_makes_the_right_requests():
    fake = FakeGoogle()
    svc = _service()
    result = _deployer(fake).deploy(source_tar_gz=b"tarball", object_name="saas-factory/shop/abc.tar.gz", service=svc)
    assert result == {"url": "https://svc-abc.a.run.app", "service": "shop-abc123", "image": svc["spec"]["template"]
                      ["spec"]["containers"][0]["image"], "build_id": "build-1",
                      "operation": f"projects/{PROJECT}/locations/{REGION}/operations/op-1"}
    method, url, kw = fake.calls[0]
    assert (method, url) == ("POST", f"https://storage.googleapis.com/upload/storage/v1/b/{PROJECT}_cloudbuild/o")
    assert kw["params"] == {"uploadType": "media", "name": "saas-factory/shop/abc.tar.gz"} and kw["data"] == b"tarball"
    method, url, kw = fake.calls[1]
    assert (method, url) == ("POST", f"https://cloudbuild.googleapis.com/v1/projects/{PROJECT}/locations/{REGION}/builds")
    build = kw["json"]
    image = svc["spec"]["template"]["spec"]["containers"][0]["image"]
    assert build["source"] == {"storageSource": {"bucket": f"{PROJECT}_cloudbuild", "object": "saas-factory/shop/abc.tar.gz"}}
    assert build["steps"][0]["args"] == ["build", "-t", image, "."] and build["images"] == [image]
    polls = [c for c in fake.calls if c[0] == "GET" and "/operations/" in c[1]]
    assert len(polls) == 2
    created = [kw["json"] for m, u, kw in fake.calls if (m, u) == ("POST", RUN_BASE)]
    assert created == [svc]
    # Cloud Run assigns the URL on creation; a second revision tells the app its public address
    puts = [kw["json"] for m, _u, kw in fake.calls if m == "PUT"]
    assert len(puts) == 1
    env = puts[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PUBLIC_BASE_URL", "value": "https://svc-abc.a.run.app"} in env
    assert "PUBLIC_BASE_URL" not in json.dumps(svc)  # the caller's service is not changed
    iam = [c for c in fake.calls if c[1].endswith(":setIamPolicy")]
    assert iam and iam[0][2]["json"]["policy"]["bindings"] == [{"role": "roles/run.invoker", "members": ["allUsers"]}]


def test_existing_service_is_replaced_with_its_resource_version():
    fake = FakeGoogle(service_exists=True)
    _deployer(fake).deploy(source_tar_gz=b"x", object_name="o", service=_service(), public=False)
    puts = [c for c in fake.calls if c[0] == "PUT"]
    assert len(puts) == 1 and puts[0][1] == RUN_BASE + "/shop-abc123"
    assert puts[0][2]["json"]["metadata"]["resourceVersion"] == "rv-7"
    env = puts[0][2]["json"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PUBLIC_BASE_URL", "value": "https://svc-abc.a.run.app"} in env  # in the same revision
    assert not [c for c in fake.calls if c[1].endswith(":setIamPolicy")]


def test_failed_build_raises_deploy_error():
    fake = FakeGoogle(build_fails=True)
    with pytest.raises(DeployError, match="build failed: step 0 failed"):
        _deployer(fake).deploy(source_tar_gz=b"x", object_name="o", service=_service())
    assert not [c for c in fake.calls if c[1].startswith(RUN_BASE)]


def test_build_wait_is_bounded():
    fake = FakeGoogle(polls_until_done=10**6)
    ticks = iter(range(0, 10**6, 100))
    deployer = CloudRunDeployer(fake, project=PROJECT, region=REGION, sleep=lambda s: None,
                                clock=lambda: next(ticks), build_timeout_s=1000)
    with pytest.raises(DeployError, match="did not finish within"):
        deployer.deploy(source_tar_gz=b"x", object_name="o", service=_service())


def test_build_request_shape():
    req = build_request(bucket="b", object_name="o.tar.gz", image="img:1")
    assert req["timeout"] == "900s" and req["tags"] == ["saas-factory"]


def test_deployment_stage_in_cloud_run_mode_uses_the_injected_session(state_dir):
    idea = idea_by_id("sign-easy")
    fake = FakeGoogle()
    store = {}
    dev = run_stage("development", StageInput("cr-1", "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    store.update({("development", k): v for k, v in dev.artifacts.items()})
    config = EngineConfig(state_dir=state_dir, deploy_mode="cloud_run", gcp_project=PROJECT, gcp_region=REGION,
                          http_session_factory=lambda: fake)
    import shared.engine.deploy_adapter as adapter

    original = adapter.CloudRunDeployer.__init__

    def fast_init(self, *a, **kw):
        original(self, *a, **dict(kw, sleep=lambda s: None))

    adapter.CloudRunDeployer.__init__ = fast_init
    try:
        r = run_stage("deployment", StageInput("cr-1", "t", idea, {"development": dev.summary, "qa": {"passed": True}},
                                               lambda s, n: store[(s, n)]), config)
    finally:
        adapter.CloudRunDeployer.__init__ = original
    assert r.outcome == "ok", r.reason
    assert r.summary["url"] == "https://svc-abc.a.run.app" and r.summary["mode"] == "cloud_run"
    assert "preview" not in r.summary
    assert fake.applied["metadata"]["name"] == r.summary["service_name"]
    upload = fake.calls[0][2]["data"]
    assert upload == r.artifacts["source.tar.gz"]
    assert b"apiVersion: \"serving.knative.dev/v1\"" in r.artifacts["service.yaml"]
    # the owner claim: a fresh token in Secret Manager, the link in the run's server-only `claim` document
    # (never in the summary, which every member of the workspace reads), the secret nowhere else
    name = r.summary["service_name"]
    claim_url = r.private["claim"]["claim_url"]
    token = re.fullmatch(r"https://svc-abc\.a\.run\.app/claim\?token=([A-Za-z0-9_-]{40,})", claim_url)[1]
    assert fake.secrets[f"{name}-owner-claim-token"] == [token]
    assert token not in json.dumps(r.summary) and r.summary["claim"] == deployment.CLAIM_NOTE
    key = fake.secrets[f"{name}-secret-key"]
    assert len(key) == 1 and re.fullmatch(r"[0-9a-f]{64}", key[0])  # a generated SECRET_KEY, made once
    for data in r.artifacts.values():
        assert token.encode() not in data and key[0].encode() not in data
    env = {e["name"]: e for e in fake.applied["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OWNER_CLAIM_TOKEN"] == {"name": "OWNER_CLAIM_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": f"{name}-owner-claim-token", "key": "latest"}}}
    assert env["APP_ENV"]["value"] == "production" and env["TRUSTED_PROXY_HOPS"]["value"] == "1"
    secret_writes = [i for i, c in enumerate(fake.calls) if c[1].startswith(SECRETS)]
    service_write = next(i for i, c in enumerate(fake.calls) if c[1] == RUN_BASE)
    assert secret_writes and max(secret_writes) < service_write  # stored before the revision that reads them


def test_put_secret_creates_adds_a_version_and_keeps_an_existing_key_when_asked():
    fake = FakeGoogle(secrets=("shop-secret-key",))
    deployer = _deployer(fake)
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
