"""The plan gate's control-plane half (issue 19, decision 0035): when a run pauses for the founder's review.

The stage commit (`shared/runs/commits.py`) calls it; it imports nothing of the stage engine, so the control-plane
functions that reach `shared.runs` (ideas, watchdog, dead_letter) ship without it (decision 0037). Reading and
editing the spec under review is `shared/planreview.py`, which checks edits with the engine.
"""

from __future__ import annotations

from shared.runs.records import plan_ref

#: The design stage's stored spec (shared.engine.specstore.SPEC_ARTIFACT; tests/unit/test_infra.py checks they agree).
SPEC_ARTIFACT = "app-spec.json"
STAGE = "uiux_design"  # the stage that plans and stores the spec (decision 0021)


def gate_on(p: dict, stage: str) -> bool:
    """Does finishing `stage` pause this run for the founder's review of the plan?"""
    meta = p.get("metadata") or {}
    return stage == STAGE and bool(meta.get("plan_review")) and not meta.get("plan_approved")


def has_spec(artifacts: dict[str, bytes]) -> bool:
    """A stage that stored no spec (a pass-through test stage) leaves nothing to review: no pause."""
    return SPEC_ARTIFACT in (artifacts or {})


def pause(tx, pref, updates: dict, ev, p: dict, artifacts: dict[str, bytes], held: bool, t) -> None:
    """In the design stage's commit: open the spec for review (unless a review already holds it) and pause."""
    raw = (artifacts or {}).get(SPEC_ARTIFACT)
    if not held and raw:  # the spec exactly as the design stage stored it (the engine wrote and checked it)
        spec = raw.decode() if isinstance(raw, bytes) else str(raw)
        tx.set(plan_ref(pref), {"status": "review", "version": 1, "spec": spec, "applied": [],
                                "edit_seq": 0, "created_at": t, "updated_at": t})
    updates.update({"status": "plan_review", "deadline_at": None, "awaiting_approval_for": None})
    ev.add("factory_plan_review", stage=STAGE, progress=p["progress"],
           message="The plan is ready for your review: check the data, who may do what and each feature, edit "
                   "what is not right, then approve it to build.")
