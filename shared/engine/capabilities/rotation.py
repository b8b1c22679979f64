"""Capability `rotation`: Recurring work assigned round-robin or least-loaded among members; swaps recorded."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "rotation"


class Params(CapabilityBase):
    kind: Literal["rotation"] = "rotation"
    entity: Name = Field(description="the recurring work, e.g. shift or chore")
    assignee_field: Name = Field(description="reference field on `entity` to `member_entity`")
    member_entity: Name
    strategy: Literal["round_robin", "least_loaded"] = "round_robin"
    swap_requires_role: Name | None = Field(default=None, description="role that must approve a swap, e.g. coordinator")
