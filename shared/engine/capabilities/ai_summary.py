"""Capability `ai_summary`: AI summary or classification through OpenAI-compatible settings with a deterministic offline fallback; the record shows which was used."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ai_summary"


class Params(CapabilityBase):
    kind: Literal["ai_summary"] = "ai_summary"
    entity: Name
    source_field: Name = Field(description="text/long_text field read")
    mode: Literal["summary", "classification"] = "summary"
    labels: list[Name] = Field(default_factory=list, description="classification labels")
