"""Plug-in points for the local cloud's test tools: empty in production.

The stage runner asks `for_stage` once per stage event and the outbox asks `publish_copies` once per publish.
With nothing installed -- always in production, where no code installs anything -- they answer the no-op `OFF`
hook and 1 copy, reading nothing. The local functions host (emulator/functions_host.py) installs the fault
injection of emulator/faults.py into these lists, and only when FACTORY_ENV=local and FACTORY_FAULTS=enabled
(production settings refuse FACTORY_FAULTS). Production code never imports a plug-in: the packaged functions
contain none (tests/unit/test_fault_plugin.py, decision 0043).
"""

from __future__ import annotations

from collections.abc import Callable


class StageHook:
    """What the stage runner calls on every event, in order: `after_claim`, `engine_value` (passed to the
    engine), `swallow_publish` (instead of publishing the next stage's message). These do nothing."""

    passthrough = False  # True: skip the stage's work (a test of the plumbing)

    def after_claim(self) -> None:
        return None

    def engine_value(self) -> str | None:
        return None

    def swallow_publish(self, nxt) -> bool:
        return False


OFF = StageHook()

#: (tenant_id, stage) -> the hook for this stage event. Empty in production.
stage_hooks: list[Callable[[str, str], StageHook]] = []
#: tenant_id -> how many copies of each stage message to publish. Empty in production.
publish_copy_hooks: list[Callable[[str], int]] = []


def for_stage(tenant_id: str, stage: str) -> StageHook:
    """The hook of the first installed plug-in, or `OFF`."""
    for hook in stage_hooks:
        return hook(tenant_id, stage)
    return OFF


def publish_copies(tenant_id: str) -> int:
    """How many times to publish each stage message of this tenant: 1 unless a plug-in says more."""
    return max((hook(tenant_id) for hook in publish_copy_hooks), default=1)
