"""Deterministic artifact encoders and the size/name rules run_stage enforces."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile

from .types import (
    ARTIFACT_MAX_BYTES,
    RUN_MAX_BYTES,
    SUMMARY_MAX_BYTES,
    ArtifactLimitError,
)

#: 1980-01-01 00:00:00, the earliest timestamp a zip entry can hold; used for every entry.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Fixed mtime for tar entries and the gzip header (1980-01-01T00:00:00Z).
TAR_MTIME = 315532800

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def json_bytes(obj) -> bytes:
    """Canonical JSON: sorted keys, 2-space indent, UTF-8, trailing newline."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mode(path: str) -> int:
    return 0o755 if path.endswith(".sh") else 0o644


def make_zip(files: dict[str, bytes]) -> bytes:
    """A zip with sorted entries, fixed timestamps and permissions: same files -> same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr permissions are honoured
            info.external_attr = (0o100000 | _mode(path)) << 16
            zf.writestr(info, files[path])
    return buf.getvalue()


def read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        out = {}
        for info in zf.infolist():
            if info.is_dir():
                continue
            safe_member_name(info.filename)
            out[info.filename] = zf.read(info)
        return out


def make_tar_gz(files: dict[str, bytes], prefix: str = "") -> bytes:
    """A gzipped tar with sorted entries, fixed mtime/uid/gid/owner names and a fixed gzip header."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(name=(prefix + path) if prefix else path)
            info.size = len(data)
            info.mtime = TAR_MTIME
            info.mode = _mode(path)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=TAR_MTIME, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def read_tar_gz(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for m in tf.getmembers():
            if m.isfile():
                safe_member_name(m.name)
                f = tf.extractfile(m)
                out[m.name] = f.read() if f else b""
    return out


def safe_member_name(name: str) -> str:
    """Reject absolute paths and '..' so extraction can never escape its directory."""
    if name.startswith("/") or "\\" in name or any(part in ("", "..") for part in name.split("/")):
        raise ArtifactLimitError(f"unsafe archive member name: {name!r}")
    return name


def check_artifacts(artifacts: dict[str, bytes]) -> int:
    """Enforce names and size limits; returns the total size."""
    total = 0
    for name, data in artifacts.items():
        if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
            raise ArtifactLimitError(f"artifact name {name!r} is not a simple relative path")
        if not isinstance(data, (bytes, bytearray)):
            raise ArtifactLimitError(f"artifact {name!r} is {type(data).__name__}, not bytes")
        if len(data) > ARTIFACT_MAX_BYTES:
            raise ArtifactLimitError(
                f"artifact {name!r} is {len(data)} bytes, over the {ARTIFACT_MAX_BYTES}-byte (512 KiB) limit"
            )
        total += len(data)
    if total > RUN_MAX_BYTES:
        raise ArtifactLimitError(f"artifacts total {total} bytes, over the {RUN_MAX_BYTES}-byte (4 MiB) limit")
    return total


def check_summary(summary: dict) -> int:
    size = len(json.dumps(summary, sort_keys=True, default=str).encode("utf-8"))
    if size > SUMMARY_MAX_BYTES:
        raise ArtifactLimitError(f"stage summary is {size} bytes, over the {SUMMARY_MAX_BYTES}-byte limit")
    return size


def read_json_artifact(artifacts, stage: str, name: str, default=None):
    """Read an earlier stage's JSON artifact through the `artifacts` callable; `default` when missing."""
    try:
        return json.loads(artifacts(stage, name))
    except KeyError:
        if default is not None:
            return default
        raise
