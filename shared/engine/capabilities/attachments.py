"""Capability `attachments`: Multipart upload with size and type limits; local disk in tests, a Cloud Storage bucket in production."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import entity_problems, no_reader_problem, readers, writers

KIND = "attachments"
# google-cloud-storage is imported lazily, only when UPLOAD_BUCKET is set (production).
PACKAGES: list[str] = ["google-cloud-storage==3.17.1"]
# Types whose content the generated app checks by its first bytes (a declared type must match the content).
SNIFFED = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
           "application/zip")
# Types a browser would run as a page or script if ever served inline: refused even though downloads are
# forced to `attachment`.
UNSAFE = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "application/javascript",
          "application/xml", "text/xml")


class Params(CapabilityBase):
    kind: Literal["attachments"] = "attachments"
    entity: Name
    max_bytes: int = Field(default=5_000_000, ge=1024, le=50_000_000)
    allowed_types: list[str] = Field(default_factory=lambda: ["image/png", "image/jpeg", "application/pdf", "text/plain"])


def check(cap: Params, spec) -> list[str]:
    p = entity_problems(spec, cap.entity) + no_reader_problem(spec, cap.entity)
    if not p and not writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so nobody could upload; add it to a role's write list")
    if not cap.allowed_types:
        p.append(f"allowed_types is empty; list the file types people may upload, e.g. {list(SNIFFED[:3])}")
    for t in cap.allowed_types:
        if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", t):
            p.append(f"allowed type {t!r} is not a MIME type like 'image/png'")
        elif t in UNSAFE:
            p.append(f"allowed type {t!r} can run script in a browser; remove it (offer e.g. application/pdf)")
    p += [f"allowed type {t!r} is listed twice" for t in sorted({t for t in cap.allowed_types
                                                                  if cap.allowed_types.count(t) > 1})]
    if not any(t in SNIFFED for t in cap.allowed_types):
        p.append(f"none of allowed_types is one the app can check by content; include one of {list(SNIFFED)}")
    return p


def routes(cap: Params, spec) -> list[Route]:
    r, w = readers(spec, cap.entity), writers(spec, cap.entity)
    a, pg = f"/api/{cap.id}", f"/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/<int:record_id>/files", summary="a record's attachments", roles=r),
        Route(method="POST", path=f"{a}/<int:record_id>/files",
              summary=f"upload a file (multipart field 'file'; at most {cap.max_bytes} bytes; "
                      f"{', '.join(cap.allowed_types)})", roles=w),
        Route(method="GET", path=f"{a}/files/<int:file_id>", summary="download an attachment", roles=r),
        Route(method="DELETE", path=f"{a}/files/<int:file_id>", summary="delete an attachment", roles=w),
        Route(method="GET", path=f"{pg}/<int:record_id>", summary="a record's attachments page", roles=r),
        Route(method="POST", path=f"{pg}/<int:record_id>", summary="upload form", roles=w),
    ]


def _test_plan(cap: Params, spec) -> dict:
    ent = spec.entity(cap.entity)
    ws = writers(spec, ent.name)
    writer = "owner" if "owner" in ws else ws[0]
    own_only = {r.name for r in spec.roles if ent.name in r.read_own}  # read only their own rows
    # a role that reads every row but writes none (one reading only its own would not see the writer's record)
    reader = next((r for r in readers(spec, ent.name) if r not in ws and r not in own_only), None)
    own = next((r.name for r in spec.roles if r.name in ws and r.scope == "own" and r.name != "owner"), None)
    outsider = next((r.name for r in spec.roles if r.name not in readers(spec, ent.name)), None)
    good = next(t for t in SNIFFED if t in cap.allowed_types)
    refused = next(t for t in ("text/html", "application/x-msdownload", "application/octet-stream")
                   if t not in cap.allowed_types)
    mismatch = next((t for t in ("image/png", "image/jpeg", "application/pdf", "image/gif")
                     if t in cap.allowed_types), None)
    return {"writer": writer, "reader": reader, "own": own, "own_sees_only_its_own": own in own_only,
            "outsider": outsider, "good": good,
            "refused": refused, "mismatch": mismatch}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ent = spec.entity(cap.entity)
    ctx = {"ent": ent, "t": _test_plan(cap, spec), "sniffed": list(SNIFFED)}
    d = "capabilities/attachments"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(f"{d}/record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }
