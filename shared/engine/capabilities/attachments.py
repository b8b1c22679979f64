"""Capability `attachments`: Multipart upload with size and type limits; local disk in tests, a Cloud Storage bucket in production."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "attachments"


class Params(CapabilityBase):
    kind: Literal["attachments"] = "attachments"
    entity: Name
    max_bytes: int = Field(default=5_000_000, ge=1024, le=50_000_000)
    allowed_types: list[str] = Field(default_factory=lambda: ["image/png", "image/jpeg", "application/pdf", "text/plain"])
