"""Capability `workflow`: Named states and transitions, each allowed to named roles; every transition recorded with who and when; illegal transitions 409."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "workflow"


class Transition(SpecModel):
    name: Name
    from_states: list[Name] = Field(min_length=1)
    to: Name
    roles: list[Name] = Field(min_length=1, description="roles allowed to make this transition")


class Params(CapabilityBase):
    kind: Literal["workflow"] = "workflow"
    entity: Name
    state_field: Name = Field(description="enum field on `entity` holding the state")
    states: list[Name] = Field(min_length=2)
    initial: Name
    transitions: list[Transition] = Field(min_length=1)
