"""Capability `checklist`: Checklist items per record, completion percentage, filter on incomplete records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "checklist"


class Params(CapabilityBase):
    kind: Literal["checklist"] = "checklist"
    entity: Name
