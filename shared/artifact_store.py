"""Run artifacts in Cloud Storage; Firestore keeps only their metadata (docs/decisions/0036).

A stage's artifacts are uploaded before its commit transaction, each to its own object
`tenants/<tenant>/pipelines/<pipeline>/<stage>/<claim>/<name>`: tenant-scoped, and per claim (one
execution of a stage), so a stale execution that uploads late can never overwrite the bytes a newer
one committed. The commit then writes the metadata (`metadata()`: name, kind, size, content type,
sha256, object path, generation) in the same transaction as the stage's result; an execution whose
commit is discarded deletes what it uploaded (`discard`).

Reads check integrity: `read` compares the bytes' SHA-256 with the recorded one and refuses a
mismatch (`ArtifactIntegrityError`); `signed_url` (production downloads) checks the object's
recorded generation, size and SHA-256 metadata, then signs a V4 URL for exactly that generation.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from shared.settings import get_settings

# Each artifact is at most 512 KiB (shared/engine/artifacts.py), a run's at most 4 MiB: one request each.
UPLOAD_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 10.0

CONTENT_TYPES = {".json": "application/json", ".md": "text/markdown; charset=utf-8", ".svg": "image/svg+xml",
                 ".zip": "application/zip", ".gz": "application/gzip", ".yaml": "application/yaml",
                 ".txt": "text/plain; charset=utf-8", ".html": "text/plain; charset=utf-8"}
KINDS = {".json": "json", ".md": "markdown", ".svg": "image", ".zip": "archive", ".gz": "archive",
         ".yaml": "text", ".txt": "text", ".html": "text"}
# Metadata fields an artifact document holds (and the API lists); never the bytes.
FIELDS = ("stage", "name", "kind", "size", "content_type", "sha256", "object", "generation", "attempt", "created_at")


class ArtifactIntegrityError(RuntimeError):
    """The stored bytes are not the bytes the commit recorded (hash, size or generation differ)."""


def suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def content_type(name: str) -> str:
    if name.rsplit("/", 1)[-1] == "Dockerfile":
        return "text/plain; charset=utf-8"
    return CONTENT_TYPES.get(suffix(name), "application/octet-stream")


def kind(name: str) -> str:
    if name.rsplit("/", 1)[-1] == "Dockerfile":
        return "text"
    return KINDS.get(suffix(name), "binary")


def object_path(tenant_id: str, pipeline_id: str, stage: str, claim_id: str, name: str) -> str:
    return f"tenants/{tenant_id}/pipelines/{pipeline_id}/{stage}/{claim_id}/{name}"


def _bucket():
    from shared import clients

    s = get_settings()
    if not s.artifacts_bucket:
        raise RuntimeError("ARTIFACTS_BUCKET is not set: artifacts cannot be stored or read")
    return clients.storage().bucket(s.artifacts_bucket)


def put(tenant_id: str, pipeline_id: str, stage: str, claim_id: str, artifacts: dict[str, bytes]) -> dict[str, dict]:
    """Upload each artifact; returns {name: metadata without stage/attempt/created_at}."""
    bucket = _bucket()
    out: dict[str, dict] = {}
    for name in sorted(artifacts):
        body = bytes(artifacts[name])
        digest = hashlib.sha256(body).hexdigest()
        path = object_path(tenant_id, pipeline_id, stage, claim_id, name)
        blob = bucket.blob(path)
        blob.metadata = {"sha256": digest}
        blob.upload_from_string(body, content_type=content_type(name), timeout=UPLOAD_TIMEOUT_S)
        out[name] = {"name": name, "kind": kind(name), "size": len(body), "content_type": content_type(name),
                     "sha256": digest, "object": path, "generation": blob.generation}
    return out


def discard(uploaded: dict[str, dict]) -> None:
    """Delete objects an execution uploaded but could not commit (best effort: the bucket's lifecycle
    rule removes anything left)."""
    from google.api_core import exceptions

    bucket = _bucket()
    for meta in uploaded.values():
        try:
            bucket.blob(meta["object"]).delete(timeout=DOWNLOAD_TIMEOUT_S)
        except exceptions.GoogleAPICallError:
            pass


def read(meta: dict) -> bytes:
    """The artifact's bytes, checked against the SHA-256 the commit recorded."""
    if "object" not in meta and "content" in meta:  # written before artifacts left Firestore (local data)
        body = bytes(meta["content"])
    else:
        from google.api_core import exceptions

        blob = _bucket().blob(meta["object"], generation=meta.get("generation"))
        try:
            body = blob.download_as_bytes(timeout=DOWNLOAD_TIMEOUT_S)
        except exceptions.NotFound:
            raise ArtifactIntegrityError(f"the object {meta['object']} of artifact {meta.get('name')} is missing") \
                from None
    if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
        raise ArtifactIntegrityError(f"artifact {meta.get('name')}: stored bytes do not match the recorded SHA-256")
    return body


def signed_url(meta: dict, filename: str, attachment: bool) -> str:
    """A short-lived (ARTIFACT_URL_TTL_S) V4 signed GET URL for the recorded generation, after checking
    the object still is what the commit recorded. Signing uses the function's own service account
    through IAM signBlob (Cloud Run credentials hold no private key), which needs
    roles/iam.serviceAccountTokenCreator on that account (infra/terraform/iam.tf)."""
    from google.api_core import exceptions

    s = get_settings()
    blob = _bucket().blob(meta["object"], generation=meta.get("generation"))
    try:
        blob.reload(timeout=DOWNLOAD_TIMEOUT_S)
    except exceptions.NotFound:
        raise ArtifactIntegrityError(f"the object {meta['object']} of artifact {meta.get('name')} is missing") from None
    if blob.size != meta.get("size") or (blob.metadata or {}).get("sha256") != meta.get("sha256"):
        raise ArtifactIntegrityError(f"artifact {meta.get('name')}: the object's size or SHA-256 is not the recorded one")
    kw = {}
    creds = blob.client._credentials
    if not hasattr(creds, "sign_bytes"):  # token-only credentials (Cloud Run): sign through IAM signBlob
        import google.auth.transport.requests

        if not creds.valid:
            creds.refresh(google.auth.transport.requests.Request())
        kw = {"service_account_email": creds.service_account_email, "access_token": creds.token}
    disposition = f'{"attachment" if attachment else "inline"}; filename="{filename}"'
    return blob.generate_signed_url(version="v4", expiration=timedelta(seconds=s.artifact_url_ttl_s), method="GET",
                                    generation=meta.get("generation"), response_disposition=disposition,
                                    response_type=meta.get("content_type"), **kw)
