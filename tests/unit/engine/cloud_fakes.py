"""Fakes of Google's clients at the class boundary, behaving like the services (errors included): the requests-like
session the deployer uploads sources and stores secrets with, `cloudbuild_v1.CloudBuildClient` and
`run_v2.ServicesClient`. No network."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

from google.api_core import exceptions as gexc

PROJECT, REGION = "demo-proj", "europe-west1"
SECRETS = f"https://secretmanager.googleapis.com/v1/projects/{PROJECT}/secrets"
LOCATION = f"projects/{PROJECT}/locations/{REGION}"


class FakeResponse:
    def __init__(self, status: int, payload: dict | None = None):
        self.status_code = status
        self._payload = payload or {}
        self.text = json.dumps(self._payload)

    def json(self):
        return self._payload


class FakeSession:
    """Cloud Storage uploads and Secret Manager, over REST. `fail_upload`: the HTTP status an upload answers."""

    def __init__(self, *, secrets=(), fail_upload: int | None = None):
        self.calls: list[tuple[str, str, dict]] = []
        self.secrets: dict[str, list[str]] = {name: ["existing"] for name in secrets}  # Secret Manager: versions
        self.fail_upload = fail_upload

    def post(self, url, **kw):
        self.calls.append(("POST", url, kw))
        if url.startswith("https://storage.googleapis.com/upload/"):
            if self.fail_upload:
                return FakeResponse(self.fail_upload, {"error": {"message": "upload refused"}})
            return FakeResponse(200, {"name": kw["params"]["name"], "size": str(len(kw["data"]))})
        if url == SECRETS:
            name = kw["params"]["secretId"]
            if name in self.secrets:
                return FakeResponse(409, {"error": {"code": 409, "message": f"Secret [{name}] already exists."}})
            self.secrets[name] = []
            return FakeResponse(200, {"name": f"projects/{PROJECT}/secrets/{name}"})
        if url.startswith(SECRETS + "/") and url.endswith(":addVersion"):
            name = url[len(SECRETS) + 1:-len(":addVersion")]
            if name not in self.secrets:
                return FakeResponse(404, {"error": {"code": 404, "message": f"Secret [{name}] not found."}})
            self.secrets[name].append(base64.b64decode(kw["json"]["payload"]["data"]).decode())
            return FakeResponse(200, {"name": f"projects/{PROJECT}/secrets/{name}/versions/{len(self.secrets[name])}"})
        return FakeResponse(404, {"error": {"message": "unexpected POST " + url}})


class FakeBuildClient:
    """`CloudBuildClient.create_build`: validates the request as the client would (through the real `Build` message)
    and answers with a long-running operation whose metadata names the build. It never waits for anything."""

    def __init__(self, *, error: Exception | None = None):
        self.requests: list[dict] = []
        self.error = error
        self.n = 0

    def create_build(self, request=None, *, timeout=None, **kw):
        from google.cloud.devtools import cloudbuild_v1

        assert timeout is not None and timeout <= 60, "every call is bounded"
        cloudbuild_v1.CreateBuildRequest(request)  # a malformed request fails here, as in the client
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        self.n += 1
        build_id = f"build-{self.n}"
        build = SimpleNamespace(id=build_id, status="QUEUED",
                                log_url=f"https://console.cloud.google.com/cloud-build/builds;region={REGION}/{build_id}")
        return SimpleNamespace(metadata=SimpleNamespace(build=build),
                               operation=SimpleNamespace(name=f"{LOCATION}/operations/op-{self.n}"), done=lambda: False)


class _Op:
    def __init__(self, result=None, error: Exception | None = None):
        self._result, self._error = result, error
        self.timeouts: list[float] = []

    def result(self, timeout=None):
        assert timeout is not None, "an operation wait is always bounded"
        self.timeouts.append(timeout)
        if self._error is not None:
            raise self._error
        return self._result


class FakeServicesClient:
    """`run_v2.ServicesClient`: services by name; create answers AlreadyExists for a name that exists, get
    NotFound for one that does not; URLs are assigned on create. `errors`: method -> exception to raise once."""

    def __init__(self, *, existing: dict[str, str] | None = None, errors: dict | None = None):
        self.services: dict[str, dict] = {name: {"uri": url, "service": {}} for name, url in (existing or {}).items()}
        self.calls: list[tuple[str, dict]] = []
        self.errors = dict(errors or {})
        self.policies: dict[str, dict] = {}

    def _maybe_fail(self, method):
        err = self.errors.pop(method, None)
        if err is not None:
            raise err

    def get_service(self, request=None, *, timeout=None, **kw):
        self.calls.append(("get_service", request))
        self._maybe_fail("get_service")
        svc = self.services.get(request["name"])
        if svc is None:
            raise gexc.NotFound(f"Resource '{request['name']}' was not found")
        return SimpleNamespace(uri=svc["uri"], name=request["name"])

    def create_service(self, request=None, *, timeout=None, **kw):
        from google.cloud import run_v2

        run_v2.CreateServiceRequest(request)  # the real message: a wrong field name fails here
        self.calls.append(("create_service", request))
        self._maybe_fail("create_service")
        name = f"{request['parent']}/services/{request['service_id']}"
        if name in self.services:
            raise gexc.AlreadyExists(f"Resource '{name}' already exists")
        uri = f"https://{request['service_id']}-abc123-ew.a.run.app"
        self.services[name] = {"uri": uri, "service": request["service"]}
        return _Op(SimpleNamespace(uri=uri, name=name))

    def update_service(self, request=None, *, timeout=None, **kw):
        from google.cloud import run_v2

        run_v2.UpdateServiceRequest(request)
        self.calls.append(("update_service", request))
        self._maybe_fail("update_service")
        name = request["service"]["name"]
        if name not in self.services:
            raise gexc.NotFound(f"Resource '{name}' was not found")
        self.services[name]["service"] = request["service"]
        return _Op(SimpleNamespace(uri=self.services[name]["uri"], name=name), self.errors.pop("result", None))

    def set_iam_policy(self, request=None, *, timeout=None, **kw):
        self.calls.append(("set_iam_policy", request))
        self._maybe_fail("set_iam_policy")
        self.policies[request["resource"]] = request["policy"]
        return request["policy"]


def notification(build_id: str, status: str, tenant_id: str, pipeline_id: str, *, log_url: str | None = None) -> dict:
    """A recorded `cloud-builds` Pub/Sub message (data: the Build resource as JSON; attributes buildId, status), in
    the push envelope's `message` shape."""
    from shared.engine.deploy_adapter import build_tags

    build = {"id": build_id, "projectId": PROJECT, "status": status,
             "logUrl": log_url or f"https://console.cloud.google.com/cloud-build/builds;region={REGION}/{build_id}?project=1",
             "tags": build_tags(tenant_id, pipeline_id), "images": ["img"],
             "createTime": "2026-12-07T08:00:00Z", "finishTime": "2026-12-07T08:03:00Z"}
    return {"data": base64.b64encode(json.dumps(build).encode()).decode(),
            "attributes": {"buildId": build_id, "status": status}, "messageId": f"m-{build_id}-{status}"}
