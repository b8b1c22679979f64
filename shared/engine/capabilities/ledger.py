"""Capability `ledger`: Charges split among participants equally, by weight or by usage; per-participant balances summing to zero; settle-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ledger"


class Params(CapabilityBase):
    kind: Literal["ledger"] = "ledger"
    charge_entity: Name = Field(description="entity whose rows are charges, e.g. firing_cost")
    amount_field: Name = Field(description="money field on `charge_entity`")
    participant_entity: Name = Field(description="entity of the people sharing costs, e.g. member")
    weight_field: Name | None = Field(default=None, description="number field on `participant_entity` for by-weight splits")
    default_split: Literal["equal", "weight", "usage"] = "equal"
