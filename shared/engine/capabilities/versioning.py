"""Capability `versioning`: Revisions with author, a diff between revisions, and restore."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "versioning"


class Params(CapabilityBase):
    kind: Literal["versioning"] = "versioning"
    entity: Name
    field: Name = Field(description="the long_text field that is versioned")
