"""Capability `reminders`: A rule on a date or number field (due in N days, overdue, below a threshold); a due-work endpoint for Cloud Scheduler; delivery through an email/SMS adapter, locally an outbox."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "reminders"


class Params(CapabilityBase):
    kind: Literal["reminders"] = "reminders"
    entity: Name
    field: Name = Field(description="date/datetime field (due rules) or number field (threshold rule)")
    rule: Literal["due_in_days", "overdue", "below_threshold"]
    days: int | None = Field(default=None, ge=0, le=365)
    threshold: float | None = None
    channel: Literal["email", "sms"] = "email"
    recipient_field: Name | None = Field(default=None, description="email/phone field on `entity`; default: the record's owner")
