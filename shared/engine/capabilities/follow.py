"""Capability `follow`: Users follow a tag, topic or record and are notified when a matching record appears."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "follow"


class Params(CapabilityBase):
    kind: Literal["follow"] = "follow"
    entity: Name = Field(description="records that appear")
    topic_field: Name | None = Field(default=None, description="text/enum/reference field followed; None = follow a record")
