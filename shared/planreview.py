"""The plan gate (issue 19, decision 0035): the founder reviews and edits the app spec before anything is built.

After the design stage plans and stores the spec, a run whose idea asked for it (`constraints.plan_review`) pauses in
`plan_review` (event `factory_plan_review`); no stage runs, no deadline runs, and nothing is spent beyond the
credit the run holds. The spec under review lives server-side, beside the run:

* `tenants/{t}/pipelines/{p}/plan/current` — {status review|approved, version, spec (JSON), applied (the stack of
  edit numbers in force), edit_seq, ...};
* `.../plan/current/edits/{seq}` — one document per edit: the typed op as sent, what it did, who and when, the
  spec before it (what undo restores), and whether it was undone.

Clients can neither read nor write them (firestore.rules' catch-all): every edit goes through the API, which
checks it with the spec check (`shared.engine.planedit`). Approving writes the edited spec as the design stage's
stored spec (the next revision of `app-spec.json`, origin `edited`), so development, QA and deployment read the
approved spec and nothing plans again, then the run goes on exactly as after the design stage.
"""

from __future__ import annotations

import json
import uuid

from shared import artifact_store, errors
from shared.plangate import STAGE, gate_on, has_spec, pause  # noqa: F401 (the gate is control plane)
from shared.store import Tenant

EDITS_LISTED = 200


# ------------------------------------------------------------------------------------------ reads


def _not_ready() -> errors.NotFound:
    return errors.NotFound("This run has no plan to review yet: it appears when the design stage has planned the "
                           "app (runs started with plan review on).", code="plan_not_ready")


def get_plan(tenant: Tenant, pipeline_id: str) -> dict:
    """The spec under review (or approved) as a founder reads it, with the edits made so far."""
    from shared.engine import planedit
    from shared.runs import reads, records

    run = reads.get(tenant, pipeline_id)  # 404 for another tenant's run
    ref = records.plan_ref(tenant.pipeline(pipeline_id))
    snap = ref.get()
    if not snap.exists:
        raise _not_ready()
    doc, spec = _load_doc(snap.to_dict())
    edits = [d.to_dict() for d in ref.collection("edits").order_by("seq").limit(EDITS_LISTED).stream()]
    return {"pipeline_id": pipeline_id, "run_status": run["status"], "status": doc["status"],
            "version": doc.get("version", 1), "change": doc.get("change"),
            "editable": (run["status"] == "plan_review" or change_open(run, doc)) and doc["status"] == "review",
            "plan": planedit.founder_view(spec), "trace": planedit.trace_status(spec),
            "edits": [{"seq": e["seq"], "op": e["op"], "said": e.get("said"), "by": e.get("by"), "at": e.get("at"),
                       "undone": bool(e.get("undone"))} for e in edits]}


# ------------------------------------------------------------------------------------------ actions


def change_open(p: dict, doc: dict | None) -> bool:
    """A completed run whose spec is open as its next version (shared/changes.py): edited like a plan under review."""
    return p["status"] == "completed" and ((doc or {}).get("change") or {}).get("status") == "open"


def _editable(p: dict, snap) -> dict:
    doc = snap.to_dict() if snap.exists else None
    if p["status"] != "plan_review" and not change_open(p, doc):
        raise errors.Conflict(f"The plan can be edited only while the run waits for your review or while a change "
                              f"of the built app is open; this run is {p['status']}.", code="not_in_plan_review")
    if doc is None:
        raise _not_ready()
    if doc.get("status") != "review":
        raise errors.Conflict("This plan is already approved; start a change to edit it again.",
                              code="plan_approved")
    return doc


def edit(tenant: Tenant, pipeline_id: str, uid: str, body: dict) -> dict:
    """Apply one typed edit, checked; 422 `plan_edit_invalid` with the problems (the spec unchanged) otherwise."""
    from shared.engine import planedit
    from shared.runs import actions, records

    try:
        op = planedit.parse(body)
    except planedit.EditRefused as exc:
        raise _refused(exc) from None
    pref = tenant.pipeline(pipeline_id)
    ref = records.plan_ref(pref)
    out: dict = {}

    def fn(tx, p, updates, ev, t):
        doc = _editable(p, ref.get(transaction=tx))
        _, spec = _load_doc(doc)
        try:
            edited, said = planedit.apply(spec, op)
        except planedit.EditRefused as exc:
            raise _refused(exc) from None
        seq = int(doc.get("edit_seq") or 0) + 1
        tx.set(ref.collection("edits").document(f"{seq:05d}"), {
            "seq": seq, "op": op.model_dump(mode="json"), "said": said, "by": uid, "at": t, "before": doc["spec"],
            "undone": False})
        tx.update(ref, {"spec": edited.model_dump_json(), "edit_seq": seq, "applied": [*doc.get("applied", []), seq],
                        "updated_at": t})
        ev.add("plan_edited", stage=STAGE, progress=p["progress"], seq=seq, message=f"Plan edited: {said}")
        out.update(seq=seq, said=said, trace=planedit.trace_status(edited))
        return None

    result, _ = actions._act(tenant, pipeline_id, fn)
    return {"pipeline_id": pipeline_id, "edit": {"seq": out["seq"], "said": out["said"]}, "trace": out["trace"],
            "event_seq": result["event_seq"]}


def _load_doc(doc: dict):
    from shared.engine.appspec import AppSpec

    return doc, AppSpec.model_validate_json(doc["spec"])


def _refused(exc) -> errors.AppError:
    return errors.AppError("The edit would make the plan invalid, so it was not applied: "
                           + "; ".join(exc.problems[:3]), code="plan_edit_invalid", status=422,
                           details={"problems": exc.problems})


def undo(tenant: Tenant, pipeline_id: str, uid: str) -> dict:
    """Undo the newest edit still in force: the spec goes back to what it was before it."""
    from shared.engine import planedit
    from shared.runs import actions, records

    ref = records.plan_ref(tenant.pipeline(pipeline_id))
    out: dict = {}

    def fn(tx, p, updates, ev, t):
        doc = _editable(p, ref.get(transaction=tx))
        applied = list(doc.get("applied") or [])
        if not applied:
            raise errors.Conflict("There is no edit to undo.", code="nothing_to_undo")
        seq = applied.pop()
        eref = ref.collection("edits").document(f"{seq:05d}")
        esnap = eref.get(transaction=tx)
        before = esnap.to_dict()["before"]
        tx.update(eref, {"undone": True, "undone_by": uid, "undone_at": t})
        tx.update(ref, {"spec": before, "applied": applied, "updated_at": t})
        ev.add("plan_edit_undone", stage=STAGE, progress=p["progress"], seq=seq,
               message=f"Undid: {esnap.to_dict().get('said')}")
        _, spec = _load_doc({"spec": before})
        out.update(seq=seq, trace=planedit.trace_status(spec))
        return None

    result, _ = actions._act(tenant, pipeline_id, fn)
    return {"pipeline_id": pipeline_id, "undone": out["seq"], "trace": out["trace"], "event_seq": result["event_seq"]}


def approve(tenant: Tenant, pipeline_id: str, uid: str, comment: str | None = None) -> dict:
    """Approve the spec under review: it becomes the design stage's stored spec (the next revision when edited),
    and the run goes on to development; nothing plans again."""
    from shared.engine import specstore
    from shared.engine.artifacts import json_bytes
    from shared.runs import actions, budget, records, transitions
    from shared.store import Runs

    pref = tenant.pipeline(pipeline_id)
    ref = records.plan_ref(pref)
    col = pref.collection("artifacts")
    spec_doc = col.document(records.artifact_doc_id(STAGE, specstore.SPEC_ARTIFACT))
    hist_doc = col.document(records.artifact_doc_id(STAGE, specstore.HISTORY_ARTIFACT))

    def fn(tx, p, updates, ev, t):
        doc = _editable(p, ref.get(transaction=tx))
        if change_open(p, doc):
            raise errors.Conflict("This is a change of a built app: build it with POST "
                                  f"/api/factory/pipelines/{pipeline_id}/change/build (a new run, one credit).",
                                  code="change_builds_separately")
        k = budget.over_budget(p)
        if k:
            raise budget._budget_error(p, k)
        ssnap, hsnap = spec_doc.get(transaction=tx), hist_doc.get(transaction=tx)
        _, spec = _load_doc(doc)
        revision = None
        # The stored spec's bytes are in Cloud Storage (decision 0036's artifact store); the document holds its metadata.
        stored = artifact_store.read(ssnap.to_dict()) if ssnap.exists else None
        if stored is not None and specstore.spec_bytes(spec) != stored:  # edited: the next revision
            from shared.engine.appspec import AppSpec

            stored_idea = Runs(tenant).idea(p["idea_id"])
            idea = stored_idea.model_dump() if stored_idea is not None else {}
            history = json.loads(artifact_store.read(hsnap.to_dict())) if hsnap.exists else None
            old = AppSpec.model_validate_json(stored)
            history = specstore._record(history, spec, idea, stage=STAGE, attempt=int(
                p["stages"][STAGE].get("attempt") or 1), origin="edited", engine="founder",
                changes=specstore.spec_changes(old, spec))
            revision = history["revision"]
            # New objects (never overwriting the planned revision's), committed by the metadata written here; a
            # transaction that retries or fails leaves only unreferenced objects, which the bucket's lifecycle removes.
            uploaded = artifact_store.put(tenant.tenant_id, pipeline_id, STAGE, f"plan-approved-{uuid.uuid4().hex[:12]}",
                                          {specstore.SPEC_ARTIFACT: specstore.spec_bytes(spec),
                                           specstore.HISTORY_ARTIFACT: json_bytes(history)})
            for dref, name in ((spec_doc, specstore.SPEC_ARTIFACT), (hist_doc, specstore.HISTORY_ARTIFACT)):
                tx.set(dref, {**uploaded[name], "stage": STAGE,
                              "attempt": int(p["stages"][STAGE].get("attempt") or 1), "created_at": t})
            updates[f"stages.{STAGE}.summary.spec"] = {"revision": revision, "sha256": specstore.spec_sha256(spec),
                                                       "origin": "edited"}
        tx.update(ref, {"status": "approved", "approved_by": uid, "approved_at": t, "comment": comment,
                        "revision": revision, "updated_at": t})
        updates["metadata.plan_approved"] = {"by": uid, "at": t, "edits": len(doc.get("applied") or []),
                                             "revision": revision}
        p["metadata"]["plan_approved"] = True
        ev.add("plan_approved", stage=STAGE, progress=p["progress"], edits=len(doc.get("applied") or []),
               message="Plan approved; building it")
        return transitions._dispatch_next(tx, updates, ev, p, STAGE, t)

    return actions._act(tenant, pipeline_id, fn)[0]
