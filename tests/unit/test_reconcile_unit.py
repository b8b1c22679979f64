"""Money reconciled and accounts healed (issue 23), the pure parts: which paid Stripe objects the
reconciler re-applies, that re-applying through the webhook's reducer grants once whatever came
first, and which lost workspace documents a sign-in rolls forward."""

from __future__ import annotations

from shared import accounts
from shared.billing import reconcile
from tests.unit.test_billing_unit import T0, Memory, ev, invoice, pack_session, sub_session


def complete(s: dict, created: int = T0) -> dict:
    return {**s, "status": "complete", "created": created}


def test_only_paid_packs_and_paid_subscription_invoices_are_candidates():
    sessions = [complete(pack_session()), complete(pack_session(status="unpaid", sid="cs_u", pi="pi_u")),
                complete(sub_session()), {**pack_session(sid="cs_open", pi="pi_o"), "status": "open", "created": T0}]
    invoices = [{**invoice(), "status": "paid", "created": T0}, {**invoice(iid="in_2"), "status": "open", "created": T0},
                {**invoice(iid="in_3", sub=None), "parent": None, "status": "paid", "created": T0}]
    events = reconcile.paid_events(sessions, invoices)
    assert [(e["type"], e["data"]["object"]["id"]) for e in events] == [
        ("checkout.session.completed", "cs_pack1"), ("invoice.paid", "in_1")]
    assert {e["id"] for e in events} == {"evt_reconcile_cs_pack1", "evt_reconcile_in_1"}
    assert all(e["created"] == T0 and e["object"] == "event" for e in events)
    assert reconcile.grant_path(events[0]) == ("grants", "pi_pack1")
    assert reconcile.grant_path(events[1]) == ("grants", "pi_inv1")


def test_reapplying_a_lost_grant_grants_once_whichever_comes_first():
    session = complete(pack_session())
    (event,) = reconcile.paid_events([session], [])
    # The webhook's grant was lost with the restore: the reconciler's event grants it again, once.
    lost = Memory()
    assert lost.deliver(event) == "granted"
    assert lost.docs[("billing",)]["credits"] == 10
    assert lost.deliver({**event, "id": "evt_reconcile_again"}) == "already_granted"
    # Stripe's own webhook arriving after the reconciler changes nothing either.
    assert lost.deliver(ev("checkout.session.completed", pack_session())) == "already_granted"
    assert lost.docs[("billing",)]["credits"] == 10
    # And when the webhook came first, the reconciler's event is a no-op.
    kept = Memory()
    assert kept.deliver(ev("checkout.session.completed", pack_session())) == "granted"
    assert kept.deliver(event) == "already_granted"
    assert kept.docs[("billing",)]["credits"] == 10


def test_paid_subscription_invoice_reapplied_grants_the_period_once():
    (event,) = reconcile.paid_events([], [{**invoice(), "status": "paid", "created": T0}])
    m = Memory()
    assert m.deliver(event) == "granted"
    credits = m.docs[("billing",)]["credits"]
    assert credits > 0
    assert m.deliver(ev("invoice.paid", invoice())) == "already_granted"
    assert m.docs[("billing",)]["credits"] == credits


OWNER = {"tenant_id": "t_heal01", "role": "owner"}
TENANT = {"tenant_id": "t_heal01", "owner_uid": "u_1"}


def test_restore_rolls_forward_only_what_is_missing():
    assert accounts.restore_plan("u_1", OWNER, None, None, None, None) == ["tenant", "billing", "member"]
    assert accounts.restore_plan("u_1", OWNER, TENANT, None, {"credits": 3}, {}) == ["member"]
    assert accounts.restore_plan("u_1", OWNER, TENANT, {"role": "owner"}, None, {}) == ["billing"]
    assert accounts.restore_plan("u_1", OWNER, TENANT, {"role": "owner"}, {"credits": 3}, {}) == []


def test_restore_refuses_what_is_not_the_callers_own_workspace():
    assert accounts.restore_plan("u_1", {}, None, None, None, None) is None  # no workspace claim
    assert accounts.restore_plan("u_1", {**OWNER, "role": "member"}, TENANT, None, {}, {}) is None
    assert accounts.restore_plan("u_2", OWNER, TENANT, None, {}, {}) is None  # someone else's workspace
    removed = {"removed_from": ["t_heal01"]}  # a removed owner is not put back
    assert accounts.restore_plan("u_1", OWNER, TENANT, None, {}, removed) is None
