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
    payer_field: Name | None = Field(default=None, description="reference field on `charge_entity` to "
                                     "`participant_entity`: who paid the charge (default payer of its split)")


PACKAGES: list[str] = []


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (
        b.entity_problem(spec, cap.charge_entity, "charge_entity"),
        b.entity_problem(spec, cap.participant_entity, "participant_entity"),
        b.field_problem(spec, cap.charge_entity, cap.amount_field, "amount_field", ("money",)),
        b.field_problem(spec, cap.participant_entity, cap.weight_field, "weight_field", ("integer", "decimal")),
        b.field_problem(spec, cap.charge_entity, cap.payer_field, "payer_field", ("reference",),
                        ref=cap.participant_entity),
        b.no_writer_problem(spec, cap.charge_entity, "charge_entity"),
    ) if m]
    if cap.charge_entity == cap.participant_entity:
        p.append(f"charge_entity and participant_entity are both {cap.charge_entity!r}; charges and the people "
                 f"who share them are different entities")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r, w = b.readers(spec, cap.charge_entity), b.writers(spec, cap.charge_entity)
    a = f"/api/{cap.id}"
    c = f"{a}/charges/<int:charge_id>/split"
    return [
        Route(method="POST", path=c, summary="split a charge equally, by weight or by usage (cents, exact): by its "
              "payer, who shares it, or the owner", roles=w),
        Route(method="GET", path=c, summary="a charge's split and shares", roles=r),
        Route(method="DELETE", path=c, summary="remove a charge's split (its payer or the owner)", roles=w),
        Route(method="GET", path=f"{a}/balances", summary="per-participant balances (they sum to zero)", roles=r),
        Route(method="GET", path=f"{a}/settle-up", summary="suggested transfers that settle every balance", roles=r),
        Route(method="GET", path=f"{a}/settlements", summary="recorded settlements", roles=r),
        Route(method="POST", path=f"{a}/settlements", summary="record a settlement (from, to, amount): by the "
              "payer or the owner, at most what settles the two balances", roles=w),
        Route(method="GET", path=f"/{cap.id}/", summary="balances and settle-up page", roles=r),
        Route(method="POST", path=f"/{cap.id}/settlements", summary="record a settlement (form, CSRF)", roles=w),
    ]


def _test_cents(field) -> int:
    """An amount (in cents) the charge's money field accepts, for the generated tests."""
    lo = field.min if field.min is not None else float("-inf")
    hi = field.max if field.max is not None else float("inf")
    for cents in (10000, 1000, 100, 1):
        if lo <= cents / 100 <= hi:
            return cents
    return int(round(lo * 100))


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    charge, part = spec.entity(cap.charge_entity), spec.entity(cap.participant_entity)
    ctx = {
        "charge": charge, "part": part, "detail": b.detail_path(spec, cap.charge_entity),
        "writer": b.writer_role(spec, cap.charge_entity),
        "part_writer": b.writer_role(spec, cap.participant_entity) or "owner",
        "reader": next((r for r in b.readers(spec, cap.charge_entity)
                        if r not in b.writers(spec, cap.charge_entity)), None),
        "outsider": b.non_writer_role(spec, cap.charge_entity),
        "cents": _test_cents(charge.field(cap.amount_field)), "display": b.free_text_display(part),
        "weight_type": part.field(cap.weight_field).type if cap.weight_field else None,
        "emails": [f.name for f in part.fields if f.type == "email"],
        # a non-owner role that writes charges (a recorder who is not the payer), and one that also writes
        # participants (a payer recording their own settlement); None when the spec has none
        "other_writer": next((r for r in b.writers(spec, cap.charge_entity) if r != "owner"), None),
        "self_payer": next((r for r in b.writers(spec, cap.charge_entity)
                            if r != "owner" and r in b.writers(spec, cap.participant_entity)), None),
    }
    d = "capabilities/ledger/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
