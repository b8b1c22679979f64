"""Production deployment: Cloud Build builds the image, Cloud Run serves it — through plain REST calls.

No Google client library is imported: every call goes through an injected requests-like `session` (in
production `google.auth.transport.requests.AuthorizedSession(credentials)`, in tests a fake). Steps:

1. upload `source.tar.gz` to Cloud Storage   POST https://storage.googleapis.com/upload/storage/v1/b/{bucket}/o?uploadType=media&name={object}
2. create a build                            POST https://cloudbuild.googleapis.com/v1/projects/{project}/locations/{region}/builds
3. poll the long-running operation           GET  https://cloudbuild.googleapis.com/v1/{operation name}
4. store the app's generated secrets         POST https://secretmanager.googleapis.com/v1/projects/{project}/secrets?secretId={id}
   (create when missing, then add a version) POST https://secretmanager.googleapis.com/v1/projects/{project}/secrets/{id}:addVersion
5. create or replace the Cloud Run service   POST/PUT https://{region}-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/{project}/services[/{name}]
   (the Knative-shaped Admin API v1, so `service.yaml` is sent as-is)
6. poll the service until Ready=True         GET  .../services/{name}
   (the app reads its public address from PUBLIC_BASE_URL: a service that exists already gets its URL in the
   same revision; a new one, whose URL Cloud Run assigns only now, gets a second revision with it)
7. optionally allow unauthenticated access   POST https://run.googleapis.com/v1/projects/{project}/locations/{region}/services/{name}:setIamPolicy

All waits are bounded; failures raise DeployError with the HTTP status and the API's message.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

CLOUD_BUILD = "https://cloudbuild.googleapis.com/v1"
SECRET_MANAGER = "https://secretmanager.googleapis.com/v1"
STORAGE_UPLOAD = "https://storage.googleapis.com/upload/storage/v1"


class DeployError(Exception):
    """A deployment step failed (message includes the step, HTTP status and API message)."""


def image_uri(project: str, region: str, repo: str, service: str, tag: str) -> str:
    return f"{region}-docker.pkg.dev/{project}/{repo}/{service}:{tag}"


def cloud_sql_connection(project: str, region: str, instance: str) -> str:
    """The Cloud SQL instance connection name, PROJECT:REGION:INSTANCE."""
    return f"{project}:{region}:{instance}"


def app_secrets(name: str) -> dict[str, str]:
    """Environment variables a generated app reads from Secret Manager: env name -> secret name.

    DATABASE_URL holds `postgresql+psycopg://USER:PASSWORD@/DB?host=/cloudsql/PROJECT:REGION:INSTANCE` (the
    Unix socket Cloud Run mounts for the instance named in the `run.googleapis.com/cloudsql-instances`
    annotation); SECRET_KEY signs the app's session cookies (the app refuses to start without it);
    OWNER_CLAIM_TOKEN is the one-time token that makes the app's owner (`/claim?token=…`). The deployment
    stage generates the last two (`CloudRunDeployer.put_secret`); DATABASE_URL is provisioned with the database.
    """
    return {"DATABASE_URL": f"{name}-database-url", "SECRET_KEY": f"{name}-secret-key",
            "OWNER_CLAIM_TOKEN": f"{name}-owner-claim-token"}


def knative_service(*, name: str, image: str, project: str, region: str, plan: dict, labels: dict[str, str],
                    cloud_sql: str | None = None) -> dict:
    """A Cloud Run service in the serving.knative.dev/v1 shape (what service.yaml contains).

    With `cloud_sql` (an instance connection name) the revision mounts that Cloud SQL instance and reads
    DATABASE_URL and SECRET_KEY from Secret Manager (`app_secrets`); the app's data never lives on the
    container's disk.
    """
    env = [{"name": k, "value": v} for k, v in sorted(plan.get("env", {}).items())]
    template_annotations = {
        "autoscaling.knative.dev/minScale": str(plan["min_instances"]),
        "autoscaling.knative.dev/maxScale": str(plan["max_instances"]),
        "run.googleapis.com/execution-environment": "gen2",
    }
    if cloud_sql:
        template_annotations["run.googleapis.com/cloudsql-instances"] = cloud_sql
        env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": v, "key": "latest"}}}
                for k, v in sorted(app_secrets(name).items())]
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": project,
            "labels": dict(sorted({**labels, "cloud.googleapis.com/location": region}.items())),
            "annotations": {"run.googleapis.com/ingress": "all"},
        },
        "spec": {
            "template": {
                "metadata": {"annotations": template_annotations},
                "spec": {
                    "containerConcurrency": plan["concurrency"],
                    "timeoutSeconds": 300,
                    "containers": [{
                        "image": image,
                        "ports": [{"name": "http1", "containerPort": 8080}],
                        "env": env,
                        "resources": {"limits": {"cpu": plan["cpu"], "memory": plan["memory"]}},
                        "startupProbe": {"httpGet": {"path": "/health"}, "periodSeconds": 2, "failureThreshold": 15},
                        "livenessProbe": {"httpGet": {"path": "/health"}, "periodSeconds": 30},
                    }],
                },
            },
            "traffic": [{"percent": 100, "latestRevision": True}],
        },
    }


def with_public_base_url(service: dict, url: str) -> dict:
    """A copy of `service` whose container env sets PUBLIC_BASE_URL to `url` (the service's own https URL), unless
    the plan set one already (e.g. a custom domain)."""
    out = copy.deepcopy(service)
    env = out["spec"]["template"]["spec"]["containers"][0].setdefault("env", [])
    if url and not any(e.get("name") == "PUBLIC_BASE_URL" for e in env):
        env.append({"name": "PUBLIC_BASE_URL", "value": url.rstrip("/")})
    return out


def public_base_url_of(service: dict) -> str | None:
    """The PUBLIC_BASE_URL a (Knative-shaped) service's container sets, or None."""
    containers = service.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    return next((e.get("value") for e in containers[0].get("env", []) if e.get("name") == "PUBLIC_BASE_URL"), None)


def build_request(*, bucket: str, object_name: str, image: str, timeout_s: int = 900) -> dict:
    """The Cloud Build `Build` resource: docker build + push of the uploaded source."""
    return {
        "source": {"storageSource": {"bucket": bucket, "object": object_name}},
        "steps": [
            {"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "."]},
            {"name": "gcr.io/cloud-builders/docker", "args": ["push", image]},
        ],
        "images": [image],
        "timeout": f"{timeout_s}s",
        "options": {"logging": "CLOUD_LOGGING_ONLY"},
        "tags": ["saas-factory"],
    }


class CloudRunDeployer:
    def __init__(self, session: Any, *, project: str, region: str, bucket: str | None = None,
                 poll_interval_s: float = 5.0, build_timeout_s: float = 1200.0, ready_timeout_s: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.session = session
        self.project = project
        self.region = region
        self.bucket = bucket or f"{project}_cloudbuild"
        self.poll_interval_s = poll_interval_s
        self.build_timeout_s = build_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.sleep = sleep
        self.clock = clock

    # -- helpers

    def _json(self, resp, step: str) -> dict:
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error", {}).get("message", "")
            except ValueError:
                message = (resp.text or "")[:200]
            raise DeployError(f"{step}: HTTP {resp.status_code} {message}".strip())
        try:
            return resp.json()
        except ValueError:
            return {}

    @property
    def run_base(self) -> str:
        return f"https://{self.region}-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/{self.project}/services"

    # -- steps

    def upload_source(self, data: bytes, object_name: str) -> dict:
        url = f"{STORAGE_UPLOAD}/b/{quote(self.bucket, safe='')}/o"
        resp = self.session.post(url, params={"uploadType": "media", "name": object_name}, data=data,
                                 headers={"Content-Type": "application/gzip"}, timeout=120)
        return self._json(resp, "upload source")

    def submit_build(self, build: dict) -> dict:
        url = f"{CLOUD_BUILD}/projects/{self.project}/locations/{self.region}/builds"
        return self._json(self.session.post(url, json=build, timeout=60), "create build")

    def wait_operation(self, operation: dict) -> dict:
        name = operation.get("name")
        if not name:
            raise DeployError("create build: response has no operation name")
        end = self.clock() + self.build_timeout_s
        op = operation
        while not op.get("done"):
            if self.clock() >= end:
                raise DeployError(f"build did not finish within {self.build_timeout_s:g}s ({name})")
            self.sleep(self.poll_interval_s)
            op = self._json(self.session.get(f"{CLOUD_BUILD}/{name}", timeout=30), "poll build")
        if "error" in op:
            raise DeployError(f"build failed: {op['error'].get('message', op['error'])}")
        build = op.get("response", {}) or op.get("metadata", {}).get("build", {})
        if build.get("status") not in (None, "SUCCESS"):
            raise DeployError(f"build finished with status {build.get('status')}")
        return build

    def put_secret(self, secret_id: str, value: str, *, keep_existing: bool = False) -> bool:
        """Make `value` the latest version of Secret Manager secret `secret_id`, creating the secret when it does
        not exist yet. With `keep_existing` an existing secret is left alone (a new SECRET_KEY would sign every
        user out). Returns whether a version was added. The value never appears in an error message."""
        base = f"{SECRET_MANAGER}/projects/{self.project}/secrets"
        resp = self.session.post(base, params={"secretId": secret_id}, json={"replication": {"automatic": {}}},
                                 timeout=30)
        if resp.status_code == 409:  # ALREADY_EXISTS
            if keep_existing:
                return False
        else:
            self._json(resp, f"create secret {secret_id}")
        data = base64.b64encode(value.encode("utf-8")).decode("ascii")
        self._json(self.session.post(f"{base}/{quote(secret_id, safe='')}:addVersion",
                                     json={"payload": {"data": data}}, timeout=30), f"add a version to {secret_id}")
        return True

    def apply_service(self, service: dict) -> dict:
        name = service["metadata"]["name"]
        resp = self.session.get(f"{self.run_base}/{name}", timeout=30)
        if resp.status_code == 404:
            return self._json(self.session.post(self.run_base, json=service, timeout=60), "create service")
        existing = self._json(resp, "read service")
        body = with_public_base_url(service, existing.get("status", {}).get("url") or "")
        body["metadata"] = dict(service["metadata"],
                                resourceVersion=existing.get("metadata", {}).get("resourceVersion"))
        return self._json(self.session.put(f"{self.run_base}/{name}", json=body, timeout=60), "replace service")

    def wait_ready(self, name: str) -> dict:
        end = self.clock() + self.ready_timeout_s
        while True:
            svc = self._json(self.session.get(f"{self.run_base}/{name}", timeout=30), "poll service")
            conds = {c.get("type"): c for c in svc.get("status", {}).get("conditions", [])}
            ready = conds.get("Ready", {})
            if ready.get("status") == "True":
                return svc
            if ready.get("status") == "False":
                raise DeployError(f"service not ready: {ready.get('message', ready.get('reason', 'unknown'))}")
            if self.clock() >= end:
                raise DeployError(f"service {name} not ready within {self.ready_timeout_s:g}s")
            self.sleep(self.poll_interval_s)

    def allow_public(self, name: str) -> dict:
        url = (f"https://run.googleapis.com/v1/projects/{self.project}/locations/{self.region}/services/"
               f"{name}:setIamPolicy")
        policy = {"policy": {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}}
        return self._json(self.session.post(url, json=policy, timeout=30), "set IAM policy")

    def deploy(self, *, source_tar_gz: bytes, object_name: str, service: dict, public: bool = True,
               secret_values: dict[str, tuple[str, bool]] | None = None) -> dict:
        """Build and serve; `secret_values` {secret id: (value, keep_existing)} are stored (put_secret) after
        the build and before the revision that reads them is created."""
        image = service["spec"]["template"]["spec"]["containers"][0]["image"]
        self.upload_source(source_tar_gz, object_name)
        op = self.submit_build(build_request(bucket=self.bucket, object_name=object_name, image=image))
        build = self.wait_operation(op)
        for secret_id, (value, keep_existing) in sorted((secret_values or {}).items()):
            self.put_secret(secret_id, value, keep_existing=keep_existing)
        self.apply_service(service)
        name = service["metadata"]["name"]
        svc = self.wait_ready(name)
        url = svc.get("status", {}).get("url")
        if url and public_base_url_of(svc) is None:  # a new service: its URL is known only now
            self.apply_service(with_public_base_url(service, url))
            svc = self.wait_ready(name)
        if public:
            self.allow_public(name)
        return {"url": svc.get("status", {}).get("url"), "service": name, "image": image,
                "build_id": build.get("id"), "operation": op.get("name")}
