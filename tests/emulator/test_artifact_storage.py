"""Run artifacts in Cloud Storage (the local storage emulator): Firestore holds metadata only, downloads
go through the API's tenant check, and bytes that do not match their recorded SHA-256 are refused."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from shared import artifact_store, clients
from shared.settings import get_settings
from shared.store import Tenant
from tests.helpers import IDEA, Api, buy_credits, bytes_in_firestore, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


@pytest.fixture(scope="module")
def run(api):
    """A run through the real stage engine up to development (its approval gate stops it before QA, the
    slow stage): the artifacts of four stages, project.zip among them. Its owner and pipeline id."""
    owner = api.signup(company="Artifacts Ltd")
    buy_credits(api, owner)
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["development"]}})
    p = wait_status(owner.tenant_id, pid, ("awaiting_approval", "failed"), 90)
    assert p["status"] == "awaiting_approval", p.get("error_message")
    return owner, pid


def _bucket():
    return clients.storage().bucket(get_settings().artifacts_bucket)


def test_no_artifact_bytes_are_written_to_firestore(run):
    owner, pid = run
    n, found = bytes_in_firestore(Tenant(owner.tenant_id).pipeline(pid))
    assert n > 10, "the run's document, its events and its artifacts' metadata were scanned"
    assert found == []
    metas = [d.to_dict() for d in Tenant(owner.tenant_id).pipeline(pid).collection("artifacts").stream()]
    assert metas and all("content" not in m for m in metas)
    zipmeta = next(m for m in metas if m["name"] == "project.zip")
    assert zipmeta["size"] > 10_000 and zipmeta["kind"] == "archive" and zipmeta["content_type"] == "application/zip"
    assert zipmeta["object"].startswith(f"tenants/{owner.tenant_id}/pipelines/{pid}/development/")
    assert zipmeta["object"].endswith("/project.zip")
    # The bytes are in the bucket, at the recorded path, with the recorded hash.
    blob = _bucket().get_blob(zipmeta["object"])
    assert blob is not None and blob.size == zipmeta["size"]
    assert hashlib.sha256(blob.download_as_bytes()).hexdigest() == zipmeta["sha256"]


def test_round_trip_through_the_api(api, run):
    owner, pid = run
    listing = api.get(f"/api/factory/pipelines/{pid}/artifacts", owner).json()["artifacts"]
    zipmeta = next(a for a in listing if a["name"] == "project.zip")
    assert "object" not in zipmeta and "content" not in zipmeta
    r = api.get(f"/api/factory/pipelines/{pid}/artifacts/project.zip", owner)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert hashlib.sha256(r.content).hexdigest() == zipmeta["sha256"] == r.headers["X-Content-SHA256"]
    assert len(r.content) == zipmeta["size"]
    assert any(n.endswith("requirements.txt") for n in zipfile.ZipFile(io.BytesIO(r.content)).namelist())


def test_another_tenant_cannot_read_the_artifacts(api, run):
    owner, pid = run
    other = api.signup(company="Nosy Parker")
    for path in (f"/api/factory/pipelines/{pid}/artifacts", f"/api/factory/pipelines/{pid}/artifacts/project.zip"):
        r = api.get(path, other)
        assert r.status_code == 404 and r.json()["error"]["code"] == "pipeline_not_found", r.text


def _meta(owner, pid: str, name: str):
    col = Tenant(owner.tenant_id).pipeline(pid).collection("artifacts")
    doc = next(d for d in col.stream() if d.get("name") == name)
    return doc.reference, doc.to_dict()


def test_bytes_that_do_not_match_their_hash_are_refused(api, run):
    owner, pid = run
    ref, meta = _meta(owner, pid, "tech-stack.md")
    url = f"/api/factory/pipelines/{pid}/artifacts/tech-stack.md"
    good = artifact_store.read(meta)
    assert api.get(url, owner).status_code == 200
    # The recorded hash is not the stored bytes' hash: refused, nothing of the body served.
    ref.update({"sha256": "0" * 64})
    try:
        r = api.get(url, owner)
        assert r.status_code == 502 and r.json()["error"]["code"] == "artifact_integrity", r.text
        assert "Retry the run from the tech stack stage" in r.json()["error"]["message"]
    finally:
        ref.update({"sha256": meta["sha256"]})
    # The object replaced behind the factory's back: refused too (by hash, or as a missing generation).
    blob = _bucket().blob(meta["object"])
    blob.upload_from_string(good + b"\n<!-- tampered -->\n", content_type=meta["content_type"])
    try:
        r = api.get(url, owner)
        assert r.status_code == 502 and r.json()["error"]["code"] == "artifact_integrity", r.text
        assert "tampered" not in r.text
        with pytest.raises(artifact_store.ArtifactIntegrityError):
            artifact_store.read({**meta, "generation": None})
    finally:
        blob.upload_from_string(good, content_type=meta["content_type"])
        ref.update({"generation": blob.generation})
    assert api.get(url, owner).content == good
