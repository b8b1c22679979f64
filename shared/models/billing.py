"""Billing models: what a client may send (*Create) and what the billing routes return (*Public)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CheckoutCreate(_Strict):
    # A plain string: an unknown plan is answered with the list of valid plans (400 unknown_plan).
    plan: str = Field(min_length=1, max_length=64)


class CheckoutPublic(BaseModel):
    url: str
    session_id: str
    plan: str
    mode: str
    customer_id: str


class PlanPublic(BaseModel):
    name: str
    title: str
    mode: str
    credits: int
    credits_per: str
    amount: int
    currency: str
    interval: str | None
    lookup_key: str
    price_id: str | None


class PaymentPublic(BaseModel):
    id: str
    kind: str  # "pack" | "subscription"
    plan: str | None
    status: str  # "pending" | "paid" | "failed" | "partially_refunded" | "refunded"
    amount: int | None
    currency: str | None
    credits_granted: int = 0
    credits_revoked: int = 0
    amount_refunded: int = 0
    created: datetime | None = None
    updated_at: datetime | None = None


class BillingPublic(BaseModel):
    tenant_id: str
    plan: str | None
    status: str  # "none" | "active" | "incomplete" | "past_due" | "canceled"
    credits: int
    subscription_credits: int
    pack_credits: int
    period_end: datetime | None
    credits_expire_at: datetime | None
    subscription: dict | None
    can_run: bool
    payments: list[PaymentPublic]
