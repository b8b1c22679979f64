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


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`), when a role may add both
    charges and participants (so two of its users each speak for a participant they created): one user splits a
    charge naming the other as its payer (403); the other pays back more than they owe (409), and pays the same
    debt twice (the second is 409: the balance is re-checked)."""
    from ..criteria import a
    from ..exploits import attack

    role = next((r for r in spec.roles if r.name != "owner" and not r.manage_users
                 and {cap.charge_entity, cap.participant_entity} <= set(r.write)), None)
    if role is None:
        return []
    charge, part = spec.entity(cap.charge_entity), spec.entity(cap.participant_entity)
    p = attack(spec, f"ledger_payer_and_settlement:{cap.id}", f"Nobody can make others owe them by naming another "
                                                              f"{part.label.lower()} as the payer, nor settle more "
                                                              "than is owed, nor settle one debt twice.")
    first, second = p.actor(role.name, "housemate_a"), p.actor(role.name, "housemate_b")
    pa = p.make(part.name, first, note=f"user A adds {a(part.label.lower())} (speaks for it)")
    pb = p.make(part.name, second, note=f"user B adds {a(part.label.lower())} (speaks for it)")
    bill = p.make(charge.name, first, overrides={cap.amount_field: "10.00"}, note=f"user A adds a 10.00 "
                                                                                   f"{charge.label.lower()}")
    split = f"/api/{cap.id}/charges/${{{bill}.id}}/split"
    p.step(first, "POST", split, json={"method": "equal", "payer_id": f"${{{pb}.id}}",
                                       "participants": [f"${{{pa}.id}}", f"${{{pb}.id}}"]}, expect=403,
           note="user A splits it naming user B's participant as the payer")
    p.step(first, "POST", split, json={"method": "equal", "payer_id": f"${{{pa}.id}}",
                                       "participants": [f"${{{pa}.id}}", f"${{{pb}.id}}"]}, expect=201,
           note="user A splits it honestly: B owes 5.00")
    settle = f"/api/{cap.id}/settlements"
    body = {"from_id": f"${{{pb}.id}}", "to_id": f"${{{pa}.id}}"}
    p.step(second, "POST", settle, json={**body, "amount": "6.00"}, expect=409, note="user B pays back 6.00")
    p.step(second, "POST", settle, json={**body, "amount": "5.00"}, expect=201, note="user B pays back the 5.00")
    p.step(second, "POST", settle, json={**body, "amount": "5.00"}, expect=409, note="user B pays the 5.00 again")
    return [p.scenario]
