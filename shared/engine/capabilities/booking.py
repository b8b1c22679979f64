"""Capability `booking`: A resource and a time range; overlapping bookings of one resource are refused with 409; week calendar; iCalendar export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "booking"


class Params(CapabilityBase):
    kind: Literal["booking"] = "booking"
    entity: Name = Field(description="the booking entity, e.g. firing")
    resource: Name = Field(description="the booked resource entity, e.g. kiln")
    resource_field: Name = Field(description="reference field on `entity` pointing at `resource`")
    start_field: Name = Field(description="datetime field on `entity`")
    end_field: Name = Field(description="datetime field on `entity`")
