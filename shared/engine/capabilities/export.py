"""Capability `export`: CSV of any list and a PDF report of a record."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "export"


class Params(CapabilityBase):
    kind: Literal["export"] = "export"
    entities: list[Name] = Field(min_length=1)
    pdf_entity: Name | None = None
