"""Fault injection for the local cloud's tests (crash mid-stage, lost publish, lost message, ...).

Only active when `FACTORY_ENV=local` and `FACTORY_FAULTS=enabled`; production settings refuse
FACTORY_FAULTS outright. Tests arm a fault for one tenant by writing `_faults/{tenant_id}`:
    {"points": {"crash_mid_stage": {"stage": "uiux_design", "remaining": 1}}}
and each armed point fires `remaining` times, counted down in a transaction.
"""

from __future__ import annotations

from google.cloud import firestore as gfs

from shared import clients
from shared.settings import get_settings

POINTS = (
    "crash_mid_stage",  # the stage process dies (SIGKILL) after claiming, before committing
    "transient",  # the stage raises a transient error before its work
    "publish_fail",  # the publish after commit fails (the outbox keeps the message)
    "lose_message",  # the next stage's message is lost entirely (outbox cleared, nothing published)
    "slow_stage",  # the stage sleeps `seconds` before its work
    "engine",  # passes `value` to the engine's fault_injection (e.g. "failing_test")
)


def enabled() -> bool:
    s = get_settings()
    return s.local and s.faults == "enabled"


FLAGS = (
    "passthrough",  # pass-through stages for this tenant (tests of the plumbing, e.g. 50 concurrent runs)
    "triplicate",  # every stage message of this tenant is published three times
)


def flag(tenant_id: str, name: str) -> bool:
    """A per-tenant test flag: `_faults/{tenant_id}.flags.<name> = true`."""
    if not enabled():
        return False
    snap = _ref(tenant_id).get()
    return bool(snap.exists and (snap.to_dict().get("flags") or {}).get(name))


def set_flag(tenant_id: str, name: str, value: bool = True) -> None:
    assert name in FLAGS, name
    _ref(tenant_id).set({"flags": {name: value}}, merge=True)


def _ref(tenant_id: str):
    return clients.firestore().collection("_faults").document(tenant_id)


def arm(tenant_id: str, point: str, stage: str, remaining: int = 1, **extra) -> None:
    assert point in POINTS, point
    _ref(tenant_id).set({"points": {point: {"stage": stage, "remaining": remaining, **extra}}}, merge=True)


def take(tenant_id: str, point: str, stage: str) -> dict | None:
    """The fault's settings if it is armed for this stage (and count it down), else None."""
    if not enabled():
        return None
    ref = _ref(tenant_id)
    snap = ref.get()
    spec = (snap.to_dict() or {}).get("points", {}).get(point) if snap.exists else None
    if not spec or spec.get("stage") != stage or spec.get("remaining", 0) <= 0:
        return None

    @gfs.transactional
    def count_down(tx):
        cur = ref.get(transaction=tx).to_dict()["points"][point]
        if cur.get("remaining", 0) <= 0:
            return None
        tx.update(ref, {f"points.{point}.remaining": cur["remaining"] - 1})
        return cur

    return count_down(clients.firestore().transaction())
