"""Capability `audit_log`: Append-only, hash-chained history: who, what, when, before and after; verify endpoint; CSV export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "audit_log"


class Params(CapabilityBase):
    kind: Literal["audit_log"] = "audit_log"
    entities: list[Name] = Field(min_length=1, description="entities whose changes are recorded")
