"""Capability `matrix`: Many-to-many derived view, e.g. dishes x allergens computed from ingredients."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "matrix"


class Params(CapabilityBase):
    kind: Literal["matrix"] = "matrix"
    row_entity: Name = Field(description="e.g. dish")
    via_entity: Name = Field(description="e.g. ingredient; rows link to it many-to-many")
    column_entity: Name = Field(description="e.g. allergen; via links to it many-to-many")
