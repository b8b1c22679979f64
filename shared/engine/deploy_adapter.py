"""Production deployment: Cloud Build builds the image, Cloud Run serves it -- asynchronously (decision 0040).

The deployment stage (`stages/deployment.py`, deploy mode "cloud_run") does the quick part and returns:

1. upload `source.tar.gz` to Cloud Storage      POST https://storage.googleapis.com/upload/storage/v1/b/{bucket}/o
2. store the app's generated secrets            POST https://secretmanager.googleapis.com/v1/projects/{project}/secrets
   (create when missing, then add a version)      and .../secrets/{id}:addVersion
3. submit the build                              CloudBuildClient.create_build (google-cloud-build); the long-running
                                                  operation is NOT awaited: its metadata names the build id and log URL

Steps 1-2 go through an injected requests-like `session` (in production an `AuthorizedSession`); step 3 through an
injected Cloud Build client. Cloud Build publishes the build's end on the `cloud-builds` topic; the `build_events`
function (shared/build_events.py) then does the rest, within its own timeout:

4. create or update the Cloud Run service        ServicesClient.create_service / update_service (google-cloud-run,
                                                  Admin API v2; `run_v2_service` turns service.yaml into that shape)
   (a new service learns its URL only from the create; a second update gives the app its PUBLIC_BASE_URL)
5. optionally allow unauthenticated access       ServicesClient.set_iam_policy

Every wait is bounded by a deadline the caller passes; transient failures are recognised by exception type
(`google.api_core.exceptions`, `is_transient`) or HTTP status, never by the text of a message.
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


TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})


class DeployError(Exception):
    """A deployment step failed (message includes the step, HTTP status and API message). `transient`: a retry of
    the same step may succeed (an HTTP 408/429/5xx, or a transient Google API exception, see `is_transient`)."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


def is_transient(exc: BaseException) -> bool:
    """Whether a Google client call failed for a reason a retry can fix, judged by the exception's type: the
    api_core exceptions for 429/5xx and gRPC UNAVAILABLE/DEADLINE_EXCEEDED/ABORTED/RESOURCE_EXHAUSTED,
    a retry that gave up, or an operation wait that ran out of time."""
    import concurrent.futures

    from google.api_core import exceptions as gexc

    transient = (gexc.ServiceUnavailable, gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway,
                 gexc.GatewayTimeout, gexc.DeadlineExceeded, gexc.Aborted, gexc.ResourceExhausted,
                 gexc.RetryError, concurrent.futures.TimeoutError, TimeoutError)
    return isinstance(exc, transient) or (isinstance(exc, DeployError) and exc.transient)


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


BUILD_TAG = "saas-factory"


def build_tags(tenant_id: str, pipeline_id: str) -> list[str]:
    """The build's tags: the factory's own, and the run it belongs to (Cloud Build tags allow [A-Za-z0-9_.-]), which
    the `cloud-builds` notification carries back (shared/build_events.py reads them; the run's fence decides)."""
    def clean(v: str) -> str:
        return "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in v)[:100]
    return [BUILD_TAG, f"tenant-{clean(tenant_id)}", f"pipeline-{clean(pipeline_id)}"]


def build_request(*, bucket: str, object_name: str, image: str, timeout_s: int = 900,
                  tags: list[str] | None = None) -> dict:
    """The Cloud Build `Build` resource (REST shape, as written to cloudbuild.json): docker build + push of the
    uploaded source."""
    return {
        "source": {"storageSource": {"bucket": bucket, "object": object_name}},
        "steps": [
            {"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "."]},
            {"name": "gcr.io/cloud-builders/docker", "args": ["push", image]},
        ],
        "images": [image],
        "timeout": f"{timeout_s}s",
        "options": {"logging": "CLOUD_LOGGING_ONLY"},
        "tags": list(tags or [BUILD_TAG]),
    }


def build_message(build: dict) -> dict:
    """`build_request`'s REST shape as the google-cloud-build client's `Build` message fields (snake case)."""
    src = build["source"]["storageSource"]
    return {
        "source": {"storage_source": {"bucket": src["bucket"], "object_": src["object"]}},
        "steps": [{"name": st["name"], "args": list(st["args"])} for st in build["steps"]],
        "images": list(build["images"]),
        "timeout": {"seconds": int(str(build["timeout"]).rstrip("s"))},
        "options": {"logging": build["options"]["logging"]},
        "tags": list(build["tags"]),
    }


def run_v2_service(service: dict) -> dict:
    """A Knative-shaped service (service.yaml, `knative_service`) as Cloud Run Admin API v2 `Service` fields, the
    shape `run_v2.ServicesClient` takes: same image, env, secrets, limits, probes, scaling and Cloud SQL socket."""
    template = service["spec"]["template"]
    ann = template["metadata"].get("annotations") or {}
    spec = template["spec"]
    c = spec["containers"][0]

    def probe(p: dict) -> dict:
        out = {"http_get": {"path": p["httpGet"]["path"]}}
        for k, v in (("periodSeconds", "period_seconds"), ("failureThreshold", "failure_threshold")):
            if k in p:
                out[v] = p[k]
        return out

    env = []
    for e in c.get("env", []):
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        env.append({"name": e["name"], "value_source": {"secret_key_ref": {"secret": ref["name"], "version": ref["key"]}}}
                   if ref else {"name": e["name"], "value": e.get("value", "")})
    container = {
        "image": c["image"],
        "ports": [{"name": p.get("name", "http1"), "container_port": p["containerPort"]} for p in c.get("ports", [])],
        "env": env,
        "resources": {"limits": dict(c["resources"]["limits"])},
    }
    if "startupProbe" in c:
        container["startup_probe"] = probe(c["startupProbe"])
    if "livenessProbe" in c:
        container["liveness_probe"] = probe(c["livenessProbe"])
    out_template = {
        "scaling": {"min_instance_count": int(ann.get("autoscaling.knative.dev/minScale", 0)),
                    "max_instance_count": int(ann.get("autoscaling.knative.dev/maxScale", 1))},
        "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
        "max_instance_request_concurrency": int(spec.get("containerConcurrency", 80)),
        "timeout": {"seconds": int(spec.get("timeoutSeconds", 300))},
        "containers": [container],
    }
    if ann.get("run.googleapis.com/cloudsql-instances"):
        out_template["volumes"] = [{"name": "cloudsql", "cloud_sql_instance": {
            "instances": ann["run.googleapis.com/cloudsql-instances"].split(",")}}]
        container["volume_mounts"] = [{"name": "cloudsql", "mount_path": "/cloudsql"}]
    labels = {k: v for k, v in (service["metadata"].get("labels") or {}).items() if "/" not in k}
    return {
        "labels": labels,
        "ingress": "INGRESS_TRAFFIC_ALL",
        "template": out_template,
        "traffic": [{"type_": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
    }


def with_public_base_url_v2(service: dict, url: str) -> dict:
    """`with_public_base_url` for a `run_v2_service` dict."""
    out = copy.deepcopy(service)
    env = out["template"]["containers"][0].setdefault("env", [])
    if url and not any(e.get("name") == "PUBLIC_BASE_URL" for e in env):
        env.append({"name": "PUBLIC_BASE_URL", "value": url.rstrip("/")})
    return out


def default_build_client():
    """google-cloud-build's client from Application Default Credentials (imported lazily: cloud_run mode only)."""
    from google.cloud.devtools import cloudbuild_v1

    return cloudbuild_v1.CloudBuildClient()


def default_run_client():
    """google-cloud-run's Admin API v2 services client (imported lazily: build_events only)."""
    from google.cloud import run_v2

    return run_v2.ServicesClient()


class CloudRunDeployer:
    """The deployment's calls. `session` (requests-like) uploads sources and stores secrets; `build_client` is a
    `CloudBuildClient`; `run_client` a `run_v2.ServicesClient`. Each is needed only by the steps that use it."""

    def __init__(self, session: Any = None, *, project: str, region: str, bucket: str | None = None,
                 build_client: Any = None, run_client: Any = None, clock: Callable[[], float] = time.monotonic):
        self.session = session
        self.project = project
        self.region = region
        self.bucket = bucket or f"{project}_cloudbuild"
        self.build_client = build_client
        self.run_client = run_client
        self.clock = clock

    # -- helpers

    def _json(self, resp, step: str) -> dict:
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error", {}).get("message", "")
            except ValueError:
                message = (resp.text or "")[:200]
            raise DeployError(f"{step}: HTTP {resp.status_code} {message}".strip(),
                              transient=resp.status_code in TRANSIENT_HTTP)
        try:
            return resp.json()
        except ValueError:
            return {}

    @property
    def location(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def service_path(self, service_id: str) -> str:
        return f"{self.location}/services/{service_id}"

    def _call(self, step: str, fn, *args, **kw):
        """A Google client call; its failure becomes a DeployError, transient or not by the exception's type."""
        try:
            return fn(*args, **kw)
        except DeployError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified by type just below
            from google.api_core import exceptions as gexc

            if not (isinstance(exc, gexc.GoogleAPIError) or is_transient(exc)):
                raise
            message = getattr(exc, "message", None) or type(exc).__name__
            raise DeployError(f"{step}: {type(exc).__name__} {message}"[:500], transient=is_transient(exc)) from exc

    # -- the stage's steps (quick; nothing waits on the build)

    def upload_source(self, data: bytes, object_name: str) -> dict:
        url = f"{STORAGE_UPLOAD}/b/{quote(self.bucket, safe='')}/o"
        resp = self.session.post(url, params={"uploadType": "media", "name": object_name}, data=data,
                                 headers={"Content-Type": "application/gzip"}, timeout=60)
        return self._json(resp, "upload source")

    def submit_build(self, build: dict, *, timeout_s: float = 30.0) -> dict:
        """Create the build and return at once: {"build_id", "log_url", "operation"} from the operation's metadata.
        The operation is not awaited; Cloud Build reports the end on the `cloud-builds` topic."""
        op = self._call("create build", self.build_client.create_build,
                        request={"parent": self.location, "project_id": self.project, "build": build_message(build)},
                        timeout=timeout_s)
        meta = getattr(op, "metadata", None)
        b = getattr(meta, "build", None)
        build_id = getattr(b, "id", None)
        if not build_id:
            raise DeployError("create build: the operation names no build")
        name = getattr(getattr(op, "operation", None), "name", None)
        return {"build_id": build_id, "log_url": getattr(b, "log_url", "") or "", "operation": name}

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

    # -- build_events' steps (after a successful build), each bounded by `deadline` (a clock() value)

    def _left(self, deadline: float, step: str) -> float:
        left = deadline - self.clock()
        if left <= 1:
            raise DeployError(f"{step}: no time left before the function's own deadline", transient=True)
        return left

    def apply_service(self, service_id: str, service: dict, deadline: float) -> str:
        """Create the service, or update it when it exists; wait (at most until `deadline`) for the operation and
        return the service's URL. A service that exists already gets its PUBLIC_BASE_URL in the same revision; a
        new one gets a second revision with it."""
        from google.api_core import exceptions as gexc

        name = self.service_path(service_id)
        try:
            existing = self._call("read service", self._get_service, name, self._left(deadline, "read service"))
        except DeployError as exc:
            if not isinstance(exc.__cause__, gexc.NotFound):
                raise
            existing = None
        if existing is None:
            try:
                op = self._call("create service", self.run_client.create_service,
                                request={"parent": self.location, "service_id": service_id, "service": service},
                                timeout=min(60.0, self._left(deadline, "create service")))
                svc = self._call("create service", op.result, timeout=self._left(deadline, "create service"))
            except DeployError as exc:
                if not isinstance(exc.__cause__, gexc.AlreadyExists):
                    raise
                existing = self._call("read service", self._get_service, name, self._left(deadline, "read service"))
            else:
                url = getattr(svc, "uri", "") or ""
                if not url:
                    return url
                existing = svc
        url = getattr(existing, "uri", "") or ""
        body = dict(with_public_base_url_v2(service, url), name=name)
        op = self._call("update service", self.run_client.update_service, request={"service": body},
                        timeout=min(60.0, self._left(deadline, "update service")))
        svc = self._call("update service", op.result, timeout=self._left(deadline, "update service"))
        return getattr(svc, "uri", "") or url

    def _get_service(self, name: str, timeout: float):
        return self.run_client.get_service(request={"name": name}, timeout=min(30.0, timeout))

    def allow_public(self, service_id: str, deadline: float) -> None:
        policy = {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
        self._call("set IAM policy", self.run_client.set_iam_policy,
                   request={"resource": self.service_path(service_id), "policy": policy},
                   timeout=min(30.0, self._left(deadline, "set IAM policy")))
