"""The generated project as files: the development stage's `project.zip`, listed and read one file at a time.

The dashboard shows the project as a file tree with file contents. No zip reader is vendored for the
browser, so the API opens the archive (already stored with the run, tenant-scoped like every artifact)
and answers a listing and one file's text. Nothing is extracted to disk; member names are matched
exactly against the archive's own listing, so a path can never reach outside it.
"""

from __future__ import annotations

import io
import zipfile

from shared import artifact_store, errors
from shared.runs import reads
from shared.store import Tenant

PROJECT_ARTIFACT = "project.zip"
#: The most of one file the API returns as text (the dashboard shows it; Download has the whole archive).
MAX_TEXT_BYTES = 256 * 1024


def _archive(tenant: Tenant, pipeline_id: str) -> zipfile.ZipFile:
    try:
        a = reads.artifact(tenant, pipeline_id, PROJECT_ARTIFACT)
    except errors.NotFound as exc:
        if exc.code == "pipeline_not_found":
            raise
        raise errors.NotFound("This run has no generated project yet: it appears when the development stage "
                              "has finished.", code="project_not_built") from None
    try:
        body = artifact_store.read(a)  # from Cloud Storage, checked against its recorded SHA-256
    except artifact_store.ArtifactIntegrityError:
        raise errors.AppError("The stored project archive failed its integrity check, so it is not shown. Rerun "
                              "the run from the development stage to rebuild it.", code="artifact_integrity",
                              status=502) from None
    try:
        return zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile:
        raise errors.Conflict("The stored project archive cannot be read; rerun the development stage.",
                              code="project_unreadable") from None


def list_files(tenant: Tenant, pipeline_id: str) -> dict:
    with _archive(tenant, pipeline_id) as zf:
        files = [{"path": i.filename, "size": i.file_size} for i in zf.infolist() if not i.is_dir()]
    files.sort(key=lambda f: f["path"])
    return {"pipeline_id": pipeline_id, "artifact": PROJECT_ARTIFACT, "files": files}


def read_file(tenant: Tenant, pipeline_id: str, path: str) -> dict:
    """One file: {"path", "size", "text"} for UTF-8 text (cut at MAX_TEXT_BYTES, "truncated" says so), or
    "text": null with "binary": true for anything else."""
    with _archive(tenant, pipeline_id) as zf:
        try:
            info = zf.getinfo(path)
        except KeyError:
            raise errors.NotFound(f"The project has no file {path}; list its files at "
                                  f"/api/factory/pipelines/{pipeline_id}/project/files.",
                                  code="file_not_found") from None
        if info.is_dir():
            raise errors.NotFound(f"{path} is a folder, not a file.", code="file_not_found")
        with zf.open(info) as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
    truncated = len(data) > MAX_TEXT_BYTES
    data = data[:MAX_TEXT_BYTES]
    out = {"pipeline_id": pipeline_id, "path": path, "size": info.file_size, "truncated": truncated}
    if b"\x00" in data:
        return {**out, "binary": True, "text": None}
    text = data.decode("utf-8", errors="ignore" if truncated else "strict") if _utf8(data, truncated) else None
    return {**out, "binary": text is None, "text": text}


def _utf8(data: bytes, truncated: bool) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return truncated and exc.start >= len(data) - 3  # a character cut by the limit
