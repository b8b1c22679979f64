"""Credits: one credit is one factory run. Spending, refunding and the balance.

The billing document `tenants/{t}/billing/state` holds the balance and the subscription summary; the
idea intake spends a credit with `spend_credit(tx, tenant)` inside its own transaction, and the
pipeline gives it back with `refund_run(...)` in the transaction that changes the run's status, under
the one policy in `refund_reason` (docs/payments.md, "Money follows the outcome").
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from datetime import datetime

from shared import errors
from shared.store import Tenant, now

from .records import BUY_MORE, SUBSCRIPTION_GRACE, _dt

# ------------------------------------------------------------------------------------ entitlements

_locks_guard = threading.Lock()
_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()


@contextlib.contextmanager
def tenant_lock(tenant: Tenant | str):
    """Serialize, within this process, the transactions that touch one tenant's billing document.

    Correctness comes from the Firestore transaction alone; this only avoids contention. Concurrent
    transactions that read and then write the same document deadlock on their read locks: production
    Firestore resolves that at once (wound-wait), the emulator only after a 2 s lock timeout per round,
    so 50 concurrent spends would take minutes there. Wrap the whole transactional call:

        with billing.tenant_lock(tenant):
            create_pipeline(db.transaction())   # calls spend_credit(tx, tenant) first
    """
    tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
    with _locks_guard:
        lock = _locks.get(tid)
        if lock is None:
            lock = _locks[tid] = threading.Lock()
    with lock:
        yield


def _payment_required(message: str, billing: dict, reason: str) -> errors.PaymentRequired:
    """402 in a founder's words; how to buy through the API stays in `details`."""
    return errors.PaymentRequired(
        message,
        details={"reason": reason, "credits": int(billing.get("credits") or 0), "status": billing.get("status"),
                 "action": "buy_runs",
                 "buy": {"plans": "GET /api/billing/plans", "checkout": "POST /api/billing/checkout",
                         "how": BUY_MORE}},
    )


def usable(billing: dict, at: datetime) -> dict:
    """The balance as of `at`: subscription credits past their period (+ grace) no longer count."""
    credits = int(billing.get("credits") or 0)
    sub = int(billing.get("subscription_credits") or 0)
    end = _dt(billing.get("credits_period_end"))
    expired = 0
    if sub > 0 and end is not None and at > end + SUBSCRIPTION_GRACE:
        expired, credits, sub = sub, credits - sub, 0
    return {"credits": max(0, credits), "subscription_credits": max(0, min(sub, credits)), "expired": expired}


def decide_spend(billing: dict, at: datetime) -> dict:
    """Pure: the billing fields after spending one credit, or PaymentRequired."""
    bal = usable(billing, at)
    if billing.get("status") == "past_due":
        raise _payment_required(
            "Your last subscription payment did not go through, so new runs are paused. Update your card, "
            "or buy a pack of runs, and then start this run again.", billing, "past_due")
    if bal["credits"] <= 0:
        raise _payment_required(
            "You have used all the runs on this workspace. Buy more runs to start this one.", billing,
            "no_credits")
    sub = bal["subscription_credits"]
    bucket = "subscription" if sub > 0 else "pack"  # expiring credits first
    return {"credits": bal["credits"] - 1, "subscription_credits": sub - 1 if sub > 0 else 0,
            "spent_from": bucket}


def spend_credit(tx, tenant: Tenant) -> dict:
    """Spend one credit inside the caller's transaction; returns the new billing snapshot.

    Raises `errors.PaymentRequired` (402, `payment_required`) when nothing can be spent. It READS
    the billing document, and Firestore transactions need every read before any write: call it
    before your own writes in `tx`. The snapshot's `spent_from` ("subscription" | "pack") is what
    `refund_run` gives back if the run's outcome says so.
    """
    ref = tenant.billing()
    snap = ref.get(transaction=tx)
    billing = snap.to_dict() if snap.exists else {"tenant_id": tenant.tenant_id, "status": "none", "credits": 0}
    t = now()
    change = decide_spend(billing, t)
    updates = {"credits": change["credits"], "subscription_credits": change["subscription_credits"],
               "updated_at": t, "last_spent_at": t, "runs_charged": int(billing.get("runs_charged") or 0) + 1}
    if snap.exists:
        tx.update(ref, updates)
    return {**billing, **updates, "spent_from": change["spent_from"]}


def _give_back(billing: dict, spent_from: str, t: datetime) -> dict:
    """Pure: the balance after one credit comes back. A subscription credit goes back only while its
    period is still current (an expired one comes back as nothing: it could not have been used)."""
    bal = usable(billing, t)
    credits, sub = bal["credits"], bal["subscription_credits"]
    if spent_from == "subscription":
        end = _dt(billing.get("credits_period_end"))
        if end is not None and t <= end + SUBSCRIPTION_GRACE:
            credits, sub = credits + 1, sub + 1
    else:
        credits += 1
    return {"credits": credits, "subscription_credits": sub}


def refund_credit(tx, tenant: Tenant, spent_from: str = "pack") -> dict:
    """Give back one credit (reads first, like spend_credit). Prefer `refund_run`, which also records why."""
    ref = tenant.billing()
    snap = ref.get(transaction=tx)
    if not snap.exists:
        raise errors.NotFound("This workspace has no billing record.", code="billing_not_found")
    billing = snap.to_dict()
    t = now()
    updates = {**_give_back(billing, spent_from, t), "updated_at": t}
    tx.update(ref, updates)
    return {**billing, **updates}


# ------------------------------------------------------------------------------------ money follows the outcome

#: Why a run's credit goes back (docs/payments.md). The keys are what the billing history shows.
REFUND_REASONS = {
    "rejected_at_validation": "The idea was rejected at validation, before any building.",
    "cancelled_before_development": "The run was cancelled before development started.",
    "factory_failure": "The run failed for a reason of the factory's own.",
}
#: Run failures that are the factory's fault, whatever the stage: a stage dead-lettered after every
#: delivery failed, the watchdog gave up on a stage that never ran or never finished.
FACTORY_FAILURE_CODES = frozenset({"dead_lettered", "stage_timeout", "stage_crash_loop"})
#: Stages whose own failure (`stage_failed`) is the factory's: deployment failing for infrastructure
#: reasons (the app passed QA; what failed was our build, registry or Cloud Run).
FACTORY_FAILURE_STAGES = frozenset({"deployment"})
#: Cancelling while one of these is current (and development never started) gives the credit back.
BEFORE_DEVELOPMENT = ("idea_validation", "tech_stack", "uiux_design")


def refund_reason(run: dict, status: str, code: str | None, stage: str | None) -> str | None:
    """THE policy, pure: the reason the run's credit goes back when it moves to (status, code) at
    `stage`, or None. A credit that is not currently held by the run (never charged, or already
    refunded) never goes back: that is what makes every refund happen at most once."""
    credit = run.get("credit") or {}
    if credit.get("state") != "charged":
        return None
    if status == "failed":
        if code == "stage_rejected" and stage == "idea_validation":
            return "rejected_at_validation"
        if code in FACTORY_FAILURE_CODES:
            return "factory_failure"
        if code == "stage_failed" and stage in FACTORY_FAILURE_STAGES:
            return "factory_failure"
        return None
    if status == "cancelled":
        dev = ((run.get("stages") or {}).get("development") or {}).get("status", "pending")
        if stage in BEFORE_DEVELOPMENT and dev == "pending":
            return "cancelled_before_development"
    return None


def read_billing(tx, tenant: Tenant):
    """The billing snapshot a refund will need; read it BEFORE any write in `tx`."""
    return tenant.billing().get(transaction=tx)


def refund_run(tx, tenant: Tenant, run: dict, bsnap, reason: str, t: datetime) -> dict:
    """Give the run's credit back in `tx` (the transaction that changes the run's status): the balance,
    the counters, and a billing-history entry. Returns the pipeline fields to update (`credit.*`)."""
    credit = run.get("credit") or {}
    n = int(credit.get("refunds") or 0) + 1
    pid = run["pipeline_id"]
    if bsnap is not None and bsnap.exists:
        billing = bsnap.to_dict()
        tx.update(tenant.billing(), {**_give_back(billing, credit.get("spent_from") or "pack", t), "updated_at": t,
                                     "runs_refunded": int(billing.get("runs_refunded") or 0) + 1})
    tx.set(tenant.doc("payments", f"refund-{pid}-{n}"), {
        "id": f"refund-{pid}-{n}", "kind": "run_refund", "plan": None, "status": reason, "amount": None,
        "currency": None, "credits_granted": 1, "credits_revoked": 0, "amount_refunded": 0, "pipeline_id": pid,
        "reason": reason, "note": REFUND_REASONS[reason], "created": t, "updated_at": t,
    })
    return {"credit.state": "refunded", "credit.refunds": n, "credit.refunded_at": t, "credit.refund_reason": reason}


def charge_run(tx, tenant: Tenant, run: dict) -> dict:
    """Charge a run again (a retry of a run whose credit went back): spends one credit in `tx` (reads
    first; 402 when none is left) and returns the pipeline fields to update."""
    bill = spend_credit(tx, tenant)
    credit = run.get("credit") or {}
    return {"credit.state": "charged", "credit.charges": int(credit.get("charges") or 1) + 1,
            "credit.spent_from": bill["spent_from"]}
