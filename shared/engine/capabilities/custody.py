"""Capability `custody`: Check-in / check-out / assignment: who holds what, since and until when; overdue list; history per item."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "custody"


class Params(CapabilityBase):
    kind: Literal["custody"] = "custody"
    item_entity: Name
    holder_entity: Name | None = Field(default=None, description="entity of holders; None = app users")
    due_days: int = Field(default=7, ge=0, le=365)
