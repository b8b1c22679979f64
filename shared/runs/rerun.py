"""Rerun from a stage (decision 0042): which stages a finished run can restart at, and how a new run reuses the
records and artifacts of the stages before it. The new run itself is made by `intake.rerun_from`."""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud import firestore as gfs

from shared import errors, plangate, topology
from shared.models.pipeline import TERMINAL
from shared.runs.records import FENCE_FIELDS, artifact_doc_id, plan_ref
from shared.store import Tenant
from shared.topology import STAGES


def rerun_stages(p: dict) -> list[str]:
    """The stages a finished run can be rerun from: each one whose predecessors all completed."""
    out = []
    for s in STAGES:
        out.append(s)
        if (p["stages"].get(s) or {}).get("status") != "completed":
            break
    return out if p.get("status") in TERMINAL else []


@dataclass
class RerunSource:
    run: dict
    from_stage: str
    artifacts: list[dict]
    plan: dict | None


def _rerun_source(tx, tenant: Tenant, source_id: str, from_stage: str) -> RerunSource:
    """Read (in `tx`, before its writes) the finished run a rerun reuses, and check it may restart at `from_stage`."""
    spref = tenant.pipeline(source_id)
    snap = spref.get(transaction=tx)
    if not snap.exists:
        raise errors.NotFound("No such pipeline in your workspace.", code="pipeline_not_found")
    p = snap.to_dict()
    if p["status"] not in TERMINAL:
        raise errors.Conflict(f"The run is still {p['status'].replace('_', ' ')}: a run can be rerun from a stage once "
                              "it has completed, failed or been cancelled.", code="not_finished")
    eligible = rerun_stages(p)
    if from_stage not in eligible:
        missing = next(s for s in STAGES[:STAGES.index(from_stage)] if p["stages"][s]["status"] != "completed")
        raise errors.Conflict(
            f"This run cannot restart at {from_stage.replace('_', ' ')}: {missing.replace('_', ' ')} did not complete "
            f"in it, so there is nothing to reuse. Rerun it from {eligible[-1].replace('_', ' ')} or an earlier stage.",
            code="stage_not_eligible", details={"eligible": eligible})
    done = list(STAGES[:STAGES.index(from_stage)])
    arts = [d.to_dict() for d in tx.get(spref.collection("artifacts").where(
        filter=gfs.FieldFilter("stage", "in", done)))] if done else []
    plan = None
    if plangate.STAGE in done:
        psnap = plan_ref(spref).get(transaction=tx)
        plan = psnap.to_dict() if psnap.exists else None
    return RerunSource(p, from_stage, arts, plan)


def _seed_rerun(tx, pref, doc: dict, src: RerunSource, t) -> int:
    """Mark the stages before `src.from_stage` done in the new run `doc`: their records copied from the finished
    run, and their artifacts' metadata documents copied, pointing at the same (immutable, per-claim) objects in
    Cloud Storage. Returns the progress the run starts at."""
    p, source_id = src.run, src.run["pipeline_id"]
    done = STAGES[:STAGES.index(src.from_stage)]
    for s in done:
        rec = {k: v for k, v in p["stages"][s].items() if k not in FENCE_FIELDS}
        doc["stages"][s] = {**rec, "reused_from": source_id}
    for meta in src.artifacts:
        tx.set(pref.collection("artifacts").document(artifact_doc_id(meta["stage"], meta["name"])),
               {**meta, "reused_from": source_id})
    if src.plan is not None:  # the approved spec, so the plan view reads as it did
        tx.set(plan_ref(pref), {**src.plan, "reused_from": source_id})
    meta = p.get("metadata") or {}
    doc["metadata"]["approvals"] = {s: v for s, v in (meta.get("approvals") or {}).items() if s in done}
    for k in ("plan_approved", "continue_anyway"):
        if meta.get(k) and done:
            doc["metadata"][k] = meta[k]
    if p.get("budget"):  # a budget raised on the finished run holds for its rerun
        doc["budget"] = {**doc["budget"], **p["budget"]}
    doc["rerun_of"] = {"pipeline_id": source_id, "from_stage": src.from_stage}
    doc["progress"] = topology.STAGE_PROGRESS[done[-1]] if done else 0
    return doc["progress"]


def _rerun_message(src: RerunSource, stage: str) -> str:
    done = STAGES[:STAGES.index(stage)]
    title = src.run.get("project_name") or "the idea"
    if not done:
        return f"Rerun of '{title}' queued from the start"
    return (f"Rerun of '{title}' queued from {stage.replace('_', ' ')}; "
            f"{', '.join(s.replace('_', ' ') for s in done)} reuse the earlier run's results")

