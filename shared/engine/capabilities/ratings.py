"""Capability `ratings`: One rating per user per record, averages, sorting by rating."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ratings"


class Params(CapabilityBase):
    kind: Literal["ratings"] = "ratings"
    entity: Name
    scale: int = Field(default=5, ge=2, le=10)
    with_review: bool = True
