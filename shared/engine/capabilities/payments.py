"""Capability `payments`: Stripe Checkout and verified webhooks in the app; platform fee and payout records for marketplaces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "payments"


class Params(CapabilityBase):
    kind: Literal["payments"] = "payments"
    entity: Name = Field(description="what is paid for, e.g. order or booking")
    amount_field: Name = Field(description="money field on `entity`")
    mode: Literal["one_time", "subscription"] = "one_time"
    platform_fee_percent: float | None = Field(default=None, ge=0, le=50)
