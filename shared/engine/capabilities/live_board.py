"""Capability `live_board`: Server-sent events push changes of the entities to open pages, no polling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "live_board"


class Params(CapabilityBase):
    kind: Literal["live_board"] = "live_board"
    entities: list[Name] = Field(min_length=1)
