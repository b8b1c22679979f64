"""Capability `records`: Records of an entity with the fields a feature names: list (paging, sort, filter), detail, create, edit, delete."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "records"


class Params(CapabilityBase):
    kind: Literal["records"] = "records"
    entity: Name
    fields: list[Name] = Field(default_factory=list, description="the fields the feature names (must exist)")
    filters: list[Name] = Field(default_factory=list, description="fields offered as list filters")
