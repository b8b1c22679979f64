"""Capability `leaderboard`: Points awarded on events and a leaderboard per period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "leaderboard"


class Award(SpecModel):
    entity: Name = Field(description="creating a row of this entity earns points for its creator")
    points: int = Field(ge=1, le=1000)


class Params(CapabilityBase):
    kind: Literal["leaderboard"] = "leaderboard"
    awards: list[Award] = Field(min_length=1)
    period: Literal["week", "month", "all"] = "week"
