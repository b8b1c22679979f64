"""Fault injection for the local cloud's tests (crash mid-stage, lost publish, lost message, ...): a plug-in.

Production code never imports this module (decision 0043). The local functions host installs it in each
function process (`install`, into the empty lists of shared/hooks.py), and only when `FACTORY_ENV=local`
and `FACTORY_FAULTS=enabled`; production settings refuse FACTORY_FAULTS outright. Tests and drills import
it from here to arm a fault for one tenant by writing `_faults/{tenant_id}`:
    {"points": {"crash_mid_stage": {"stage": "uiux_design", "remaining": 1}}}
and each armed point fires `remaining` times, counted down in a transaction.

The stage runner enters one hook per event, `shared.hooks.for_stage(tenant_id, stage)`, which is this
module's `for_stage` once installed: one read of that document, returning the points armed for the stage;
with faults off (or not installed, as in production) it is `shared.hooks.OFF`, whose methods do nothing and
read nothing. The crash-at-start fault of a whole function lives in emulator/functions_host.py (a marker
file), since no Firestore read happens that early.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from google.cloud import firestore as gfs

from shared import clients, dispatch, errors, hooks
from shared.settings import get_settings

POINTS = (
    "crash_mid_stage",  # the stage process dies (SIGKILL) after claiming, before committing
    "transient",  # the stage raises a transient error after its claim, before its work
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


# ------------------------------------------------------------------------------ the stage hook


class StageFaults(hooks.StageHook):
    """The faults armed for one stage event, read once (one Firestore read) when it arrives.

    The stage runner calls the same three hooks on every event; in production (and whenever
    faults are off) it gets `shared.hooks.OFF`, whose hooks do nothing and touch nothing."""

    def __init__(self, tenant_id: str, stage: str, spec: dict):
        self.tenant_id, self.stage = tenant_id, stage
        self._armed = {name: p for name, p in (spec.get("points") or {}).items()
                       if p.get("stage") == stage and p.get("remaining", 0) > 0}
        self.passthrough = bool((spec.get("flags") or {}).get("passthrough"))

    def _take(self, point: str) -> dict | None:
        if point not in self._armed:
            return None
        ref = _ref(self.tenant_id)

        @gfs.transactional
        def count_down(tx):
            cur = (ref.get(transaction=tx).to_dict() or {}).get("points", {}).get(point) or {}
            if cur.get("stage") != self.stage or cur.get("remaining", 0) <= 0:
                return None
            tx.update(ref, {f"points.{point}.remaining": cur["remaining"] - 1})
            return cur

        return count_down(clients.firestore().transaction())

    def after_claim(self) -> None:
        if self._take("transient"):
            raise errors.TransientError("injected transient failure")
        if self._take("crash_mid_stage"):
            logging.getLogger("faults").warning("injected crash mid-stage")
            os.kill(os.getpid(), signal.SIGKILL)
        slow = self._take("slow_stage")
        if slow:
            time.sleep(float(slow.get("seconds", 5)))

    def engine_value(self) -> str | None:
        spec = self._take("engine")
        return spec.get("value") if spec else None

    def swallow_publish(self, nxt) -> bool:
        """True when an injected fault takes the place of publishing `nxt` after its commit."""
        if self._take("lose_message"):
            dispatch.outbox_ref(nxt.dispatch_id).delete()
            dispatch.arm_watchdog(nxt)
            logging.getLogger("faults").warning("injected lost message")
            return True
        if self._take("publish_fail"):
            logging.getLogger("faults").warning("injected publish failure after commit; the outbox keeps it")
            return True
        return False


def for_stage(tenant_id: str, stage: str) -> hooks.StageHook:
    """The one hook the stage runner enters: `shared.hooks.OFF` unless local tests enabled fault injection."""
    if not enabled():
        return hooks.OFF
    snap = _ref(tenant_id).get()
    return StageFaults(tenant_id, stage, snap.to_dict() if snap.exists else {})


def publish_copies(tenant_id: str) -> int:
    """The outbox publishes each stage message of a tenant flagged `triplicate` three times (tests)."""
    return 3 if flag(tenant_id, "triplicate") else 1


def install() -> bool:
    """Plug these hooks into shared/hooks.py (the local functions host calls this in each function process).
    Installs nothing, and says so, unless FACTORY_ENV=local and FACTORY_FAULTS=enabled."""
    if not enabled():
        return False
    if for_stage not in hooks.stage_hooks:
        hooks.stage_hooks.append(for_stage)
    if publish_copies not in hooks.publish_copy_hooks:
        hooks.publish_copy_hooks.append(publish_copies)
    return True
