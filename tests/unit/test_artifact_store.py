"""shared/artifact_store.py without a bucket: object paths, metadata types, and the V4 signed URL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from shared import artifact_store


def test_object_paths_are_tenant_and_claim_scoped():
    path = artifact_store.object_path("t_abc", "p_1", "development", "c0ffee", "wireframes/home.svg")
    assert path == "tenants/t_abc/pipelines/p_1/development/c0ffee/wireframes/home.svg"


@pytest.mark.parametrize("name,ctype,kind", [
    ("project.zip", "application/zip", "archive"), ("tech-stack.md", "text/markdown; charset=utf-8", "markdown"),
    ("wireframes/a.svg", "image/svg+xml", "image"), ("Dockerfile", "text/plain; charset=utf-8", "text"),
    ("source.tar.gz", "application/gzip", "archive"), ("page.html", "text/plain; charset=utf-8", "text"),
    ("blob.bin", "application/octet-stream", "binary")])
def test_content_type_and_kind(name, ctype, kind):
    assert artifact_store.content_type(name) == ctype and artifact_store.kind(name) == kind


def test_legacy_inline_content_is_still_checked():
    body = b"old local data"
    assert artifact_store.read({"name": "a.txt", "content": body, "sha256": hashlib.sha256(body).hexdigest()}) == body
    with pytest.raises(artifact_store.ArtifactIntegrityError):
        artifact_store.read({"name": "a.txt", "content": body, "sha256": "0" * 64})


def test_signed_url_is_v4_short_lived_and_pinned_to_the_generation(monkeypatch):
    """With a key-holding identity (here a throwaway key) the client signs locally; on Cloud Run the same
    call goes through IAM signBlob (service_account_email + access_token), which cannot run here."""
    from google.cloud import storage

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    creds = service_account.Credentials.from_service_account_info({
        "type": "service_account", "client_email": "fn-factory@proj.iam.gserviceaccount.com", "private_key": pem,
        "token_uri": "https://oauth2.googleapis.com/token", "project_id": "proj"})
    client = storage.Client(project="proj", credentials=creds)
    monkeypatch.setattr(artifact_store, "_bucket", lambda: client.bucket("proj-factory-artifacts"))

    class Settings:
        artifact_url_ttl_s = 300

    monkeypatch.setattr(artifact_store, "get_settings", lambda: Settings)
    meta = {"name": "project.zip", "object": "tenants/t/pipelines/p/development/c/project.zip", "generation": 17,
            "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest(), "content_type": "application/zip"}

    def reload(self, **kw):  # what GCS answers for the recorded object
        self._properties.update({"size": "3", "metadata": {"sha256": meta["sha256"]}})

    monkeypatch.setattr(storage.Blob, "reload", reload)
    url = urlparse(artifact_store.signed_url(meta, "project.zip", attachment=True))
    q = parse_qs(url.query)
    assert url.scheme == "https" and url.path == "/proj-factory-artifacts/" + meta["object"]
    assert q["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"] and q["X-Goog-Expires"] == ["300"]
    assert q["generation"] == ["17"] and q["X-Goog-Signature"][0]
    assert q["response-content-disposition"] == ['attachment; filename="project.zip"']
    assert datetime.strptime(q["X-Goog-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) <= \
        datetime.now(UTC)
    # An object whose recorded hash is not the stored one is not signed.
    monkeypatch.setattr(storage.Blob, "reload",
                        lambda self, **kw: self._properties.update({"size": "3", "metadata": {"sha256": "0" * 64}}))
    with pytest.raises(artifact_store.ArtifactIntegrityError):
        artifact_store.signed_url(meta, "project.zip", attachment=True)
