"""Change the app after it is built (issue 19, decision 0039): spec version N+1, a new run from development.

* `start` (POST /api/factory/pipelines/{id}/change) opens a completed run's built spec as the next version of the
  app: its `plan/current` becomes a draft under review with `change: {status: open, version, base_version}`, and
  the plan editor's edit/undo routes (shared/planreview.py) edit it with the same checks as a plan under review.
* `build` (POST .../change/build, Idempotency-Key) starts a NEW run from development with `runs.intake.rerun_from`
  (one credit, 402 without): in the same transaction the new run gets the draft as the design stage's stored spec
  (the next revision of app-spec.json), `app-change.json` (the version, the run it changes, the renames its edits
  made) and `previous-project.zip` (the run's built project, the same object), so development compiles the project
  with the previous Alembic revisions kept plus the next one, and deployment starts the preview on a copy of the
  previous preview's database, which the app upgrades to head on start.
* The versions of an idea's app live beside the idea: `tenants/{t}/ideas/{idea}/spec_versions/{NNNN}` = {version,
  pipeline_id, based_on, by, at, spec_sha256, spec}. `versions` lists them, `diff` compares any two
  (shared/engine/specdiff.py), `rollback` restarts a run's preview at an earlier version (that version's project,
  the database downgraded with the newer project's revisions to the older head).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

from shared import artifact_store, errors, log
from shared.plangate import SPEC_ARTIFACT
from shared.runs import actions, intake, reads, records
from shared.store import Tenant

logger = log.get_logger("changes")

STAGE = "uiux_design"  # the stage whose stored spec the new run's development reads (decision 0021)
HISTORY_ARTIFACT = "app-spec-history.json"
CHANGE_ARTIFACT = "app-change.json"
PREVIOUS_PROJECT = "previous-project.zip"
VERSIONS_LISTED = 100


def versions_ref(tenant: Tenant, idea_id: str):
    return tenant.doc("ideas", idea_id).collection("spec_versions")


def _version_id(n: int) -> str:
    return f"{int(n):04d}"


def _built_meta(tx, pref, name: str) -> dict | None:
    """The metadata of what development built (`app-spec.json`, `app-spec-history.json`, `project.zip`)."""
    snap = pref.collection("artifacts").document(records.artifact_doc_id("development", name)).get(transaction=tx)
    return snap.to_dict() if snap.exists else None


def _version_of(p: dict) -> int:
    return int((p.get("metadata") or {}).get("spec_version") or 1)


# ------------------------------------------------------------------------------------------ open a change


def start(tenant: Tenant, pipeline_id: str, uid: str) -> dict:
    """Open the completed run's built spec as version N+1, editable in the plan editor."""
    pref = tenant.pipeline(pipeline_id)
    ref = records.plan_ref(pref)
    out: dict = {}

    def fn(tx, p, updates, ev, t):
        if p["status"] != "completed":
            raise errors.Conflict(f"Only a completed run's app can be changed; this run is "
                                  f"{p['status'].replace('_', ' ')}.", code="not_completed")
        snap = ref.get(transaction=tx)
        doc = snap.to_dict() if snap.exists else {}
        change = doc.get("change") or {}
        if change.get("status") == "open":
            raise errors.Conflict("A change of this app is already open: edit it in the plan editor, then build it.",
                                  code="change_open", details={"version": change.get("version")})
        if change.get("status") == "built":
            raise errors.Conflict("This version was already changed; change the newer run "
                                  f"{change.get('pipeline_id')} instead.", code="change_built",
                                  details={"pipeline_id": change.get("pipeline_id")})
        meta = _built_meta(tx, pref, SPEC_ARTIFACT)
        if meta is None:
            raise errors.Conflict("This run has no built spec to change (its development stage stored none); rerun "
                                  "it from development first.", code="no_spec")
        version = _version_of(p)
        vref = versions_ref(tenant, p["idea_id"]).document(_version_id(version))
        vsnap = vref.get(transaction=tx)
        spec = artifact_store.read(meta).decode("utf-8")
        if not vsnap.exists:  # the first version of the app: recorded when its first change opens
            tx.set(vref, {"version": version, "pipeline_id": pipeline_id, "based_on": None,
                          "by": p.get("created_by") or (p.get("credit") or {}).get("by"), "at": p.get("completed_at"),
                          "spec_sha256": meta["sha256"], "spec": spec})
        tx.set(ref, {**{k: v for k, v in doc.items() if k in ("edit_seq", "created_at")},
                     "status": "review", "version": version + 1, "spec": spec, "applied": [],
                     "edit_seq": int(doc.get("edit_seq") or 0), "created_at": doc.get("created_at") or t,
                     "updated_at": t, "change": {"status": "open", "version": version + 1, "base_version": version,
                                                 "base_sha256": meta["sha256"], "opened_by": uid, "opened_at": t}})
        ev.add("change_opened", stage=STAGE, progress=p["progress"], version=version + 1,
               message=f"Change opened: version {version + 1} of the app; edit the plan, then build it")
        out.update(version=version + 1, base_version=version)
        return None

    result, _ = actions._act(tenant, pipeline_id, fn)
    return {"pipeline_id": pipeline_id, "version": out["version"], "base_version": out["base_version"],
            "plan": f"/api/factory/pipelines/{pipeline_id}/plan", "event_seq": result["event_seq"]}


# ------------------------------------------------------------------------------------------ build it


def _renames(ref, applied: list[int], spec) -> list[list[str]]:
    """[[table, old column, new column]] of the rename edits in force (so the revision keeps their data)."""
    out = []
    for seq in applied:
        snap = ref.collection("edits").document(f"{seq:05d}").get()
        op = (snap.to_dict() or {}).get("op") or {}
        if op.get("op") == "rename_attribute":
            entity = spec.entity(op["entity"])
            if entity is not None:
                out.append([entity.plural, op["name"], op["to"]])
    return out


@dataclass
class _Seed:
    """What `runs.intake.create_run` adds to the new run in its transaction (its `seed`)."""

    source: str
    plan: object  # the source's plan/current reference
    versions: object
    version: int
    base_version: int
    uid: str
    spec: str
    spec_sha256: str
    uploaded: dict
    project: dict

    @property
    def tag(self) -> str:
        return f"change:{self.version}:{self.spec_sha256}"

    def read(self, tx) -> None:
        snap = self.plan.get(transaction=tx)
        change = ((snap.to_dict() if snap.exists else None) or {}).get("change") or {}
        if change.get("status") != "open" or change.get("version") != self.version:
            raise errors.Conflict("This change is no longer open (it was built or replaced); open a new one.",
                                  code="no_change_open")

    def write(self, tx, pref, doc: dict, ev, t) -> None:
        attempt = int(doc["stages"][STAGE].get("attempt") or 1)
        col = pref.collection("artifacts")
        for name, meta in self.uploaded.items():
            tx.set(col.document(records.artifact_doc_id(STAGE, name)), {**meta, "stage": STAGE, "attempt": attempt,
                                                                         "created_at": t})
        tx.set(col.document(records.artifact_doc_id(STAGE, PREVIOUS_PROJECT)),
               {**self.project, "name": PREVIOUS_PROJECT, "stage": STAGE, "reused_from": self.source})
        tx.set(records.plan_ref(pref), {"status": "approved", "version": self.version, "spec": self.spec,
                                         "applied": [], "edit_seq": 0, "created_at": t, "updated_at": t,
                                         "approved_by": self.uid, "approved_at": t,
                                         "change": {"status": "building", "version": self.version,
                                                    "base_version": self.base_version, "of": self.source}})
        tx.update(self.plan, {"status": "approved", "approved_by": self.uid, "approved_at": t, "updated_at": t,
                              "change.status": "built", "change.pipeline_id": pref.id, "change.built_at": t})
        tx.set(self.versions.document(_version_id(self.version)), {
            "version": self.version, "pipeline_id": pref.id, "based_on": self.base_version, "by": self.uid, "at": t,
            "spec_sha256": self.spec_sha256, "spec": self.spec})
        doc["metadata"]["spec_version"] = self.version
        doc["metadata"]["plan_approved"] = {"by": self.uid, "at": t, "change": self.version}
        doc["rerun_of"]["change"] = {"version": self.version, "base_version": self.base_version}
        ev.add("change_building", stage="development", progress=doc["progress"], version=self.version,
               message=f"Building version {self.version} of the app; the preview keeps its data")
        doc["event_seq"] = ev.seq


def build(tenant: Tenant, pipeline_id: str, uid: str, idempotency_key: str) -> dict:
    """Build the open change: a new run from development (one credit), the previous revisions kept plus the next."""
    from shared.engine import specstore
    from shared.engine.appspec import AppSpec
    from shared.engine.artifacts import json_bytes

    p = reads.get(tenant, pipeline_id)  # 404 first
    pref = tenant.pipeline(pipeline_id)
    ref = records.plan_ref(pref)
    snap = ref.get()
    doc = snap.to_dict() if snap.exists else {}
    change = doc.get("change") or {}
    if change.get("status") != "open":
        replay = _replayed(tenant, idempotency_key)
        if replay is not None:
            return replay
        raise errors.Conflict("No change of this app is open: open one with POST "
                              f"/api/factory/pipelines/{pipeline_id}/change, edit it, then build it.",
                              code="no_change_open")
    spec = AppSpec.model_validate_json(doc["spec"])
    built = reads.artifact_reader(tenant.tenant_id, pipeline_id)
    old = AppSpec.model_validate_json(built("development", SPEC_ARTIFACT))
    if specstore.spec_bytes(spec) == specstore.spec_bytes(old):
        raise errors.Conflict("The change is empty: the plan is the same as the built app's. Edit it first.",
                              code="change_empty")
    idea = reads.load_idea(tenant.tenant_id, p["idea_id"])
    history = json.loads(built("development", HISTORY_ARTIFACT))
    history = specstore._record(history, spec, idea, stage=STAGE, attempt=1, origin="changed", engine="founder",
                                changes=specstore.spec_changes(old, spec))
    version = int(change["version"])
    record = {"version": version, "base_version": int(change["base_version"]), "pipeline_id": pipeline_id,
              "renames": _renames(ref, list(doc.get("applied") or []), spec)}
    body = specstore.spec_bytes(spec)
    uploaded = artifact_store.put(tenant.tenant_id, pipeline_id, STAGE, f"change-{version}-{uuid.uuid4().hex[:12]}",
                                  {SPEC_ARTIFACT: body, HISTORY_ARTIFACT: json_bytes(history),
                                   CHANGE_ARTIFACT: json_bytes(record)})
    project = reads.artifact(tenant, pipeline_id, "project.zip")
    seed = _Seed(source=pipeline_id, plan=ref, versions=versions_ref(tenant, p["idea_id"]), version=version,
                 base_version=int(change["base_version"]), uid=uid, spec=body.decode("utf-8"),
                 spec_sha256=specstore.spec_sha256(spec), uploaded=uploaded, project=project)
    result = intake.rerun_from(tenant, pipeline_id, uid, "development", idempotency_key, seed=seed)
    return {**result, "version": version}


def _replayed(tenant: Tenant, key: str) -> dict | None:
    """The answer a build with this Idempotency-Key already got (the change is built, so it is no longer open)."""
    snap = intake._idem_ref(tenant, key).get()
    return {**snap.to_dict()["response"], "replayed": True} if snap.exists else None


# ------------------------------------------------------------------------------------------ versions


def _lineage(tenant: Tenant, pipeline_id: str) -> tuple[dict, object]:
    p = reads.get(tenant, pipeline_id)  # 404 for another workspace's run
    return p, versions_ref(tenant, p["idea_id"])


def _built_version(tenant: Tenant, p: dict) -> list[dict]:
    """Version 1 as the run built it, when no change has recorded it yet (read from its artifacts)."""
    try:
        meta = reads.artifact(tenant, p["pipeline_id"], SPEC_ARTIFACT)
    except errors.NotFound:
        return []
    return [{"version": 1, "pipeline_id": p["pipeline_id"], "based_on": None, "by": p.get("created_by"),
             "at": p.get("completed_at"), "spec_sha256": meta["sha256"]}]


def versions(tenant: Tenant, pipeline_id: str) -> dict:
    """The versions of this run's app (its idea's lineage), oldest first, without the specs."""
    p, col = _lineage(tenant, pipeline_id)
    rows = [d.to_dict() for d in col.order_by("version").limit(VERSIONS_LISTED).stream()]
    out = [{k: r.get(k) for k in ("version", "pipeline_id", "based_on", "by", "at", "spec_sha256")} for r in rows]
    if not out and p["status"] == "completed":
        out = _built_version(tenant, p)
    return {"pipeline_id": pipeline_id, "idea_id": p["idea_id"], "current": _version_of(p), "versions": out}


def _spec_at(tenant: Tenant, col, version: int, pipeline_id: str):
    from shared.engine.appspec import AppSpec

    snap = col.document(_version_id(version)).get()
    if snap.exists:
        return AppSpec.model_validate_json(snap.to_dict()["spec"]), snap.to_dict()
    raise errors.NotFound(f"This app has no version {version}; list them at "
                          f"/api/factory/pipelines/{pipeline_id}/versions.", code="version_not_found")


def diff(tenant: Tenant, pipeline_id: str, a: int, b: int) -> dict:
    """What changed from version `a` to version `b` of this run's app (entities, attributes, links, roles, rules)."""
    from shared.engine.specdiff import spec_diff

    _, col = _lineage(tenant, pipeline_id)
    old, _ = _spec_at(tenant, col, a, pipeline_id)
    new, _ = _spec_at(tenant, col, b, pipeline_id)
    return {"pipeline_id": pipeline_id, "from": a, "to": b, "diff": spec_diff(old, new)}


# ------------------------------------------------------------------------------------------ rollback


def rollback(tenant: Tenant, pipeline_id: str, uid: str, version: int, *, now: float | None = None) -> dict:
    """Restart this run's preview at an earlier version of the app: the database is downgraded to that version's
    revision with this run's project (which knows every revision up to its own), then that version's project starts
    on it. The rows stay; what later versions added (columns, tables) goes, as a downgrade says."""
    from shared import hooks, previews, stage_runner
    from shared.engine import preview
    from shared.engine.artifacts import read_zip
    from shared.settings import get_settings

    p, col = _lineage(tenant, pipeline_id)
    summary = (p["stages"]["deployment"].get("summary") or {})
    if p["stages"]["deployment"].get("status") != "completed" or summary.get("mode") != "local_preview":
        raise errors.Conflict("This run has no local preview to roll back.", code="not_a_preview")
    current = int(summary.get("preview_version") or _version_of(p))
    if version >= current:
        raise errors.BadRequest(f"The preview is at version {current}; roll back to an earlier one (1 to "
                                f"{current - 1}).", code="not_an_earlier_version",
                                details={"current": current})
    _, target = _spec_at(tenant, col, version, pipeline_id)

    def project(pid: str) -> dict[str, bytes]:
        try:
            return read_zip(artifact_store.read(reads.artifact(tenant, pid, "project.zip")))
        except (errors.NotFound, artifact_store.ArtifactIntegrityError):
            raise errors.Conflict(f"The stored project of run {pid} is missing or damaged, so the preview cannot be "
                                  "rolled back to it.", code="no_artifacts") from None

    older, newer = project(target["pipeline_id"]), project(pipeline_id)
    s = get_settings()
    config = stage_runner._engine_config(hooks.OFF)
    with previews._lock(s.state_dir, pipeline_id):
        t = time.time() if now is None else now
        try:
            record = preview.roll_back(pipeline_id, newer, older, config, now=t)
        except preview.PreviewError as exc:
            log.event(logger, logging.WARNING, "preview rollback failed", tenant_id=tenant.tenant_id,
                      pipeline_id=pipeline_id, reason=str(exc)[:1000])
            raise errors.AppError("The preview could not be rolled back (its database did not downgrade or the older "
                                  "app did not start); try again in a minute.", code="rollback_failed",
                                  status=503) from None
    shown = {k: record[k] for k in ("url", "pid", "port", "expires_at")}
    pref = tenant.pipeline(pipeline_id)

    def fn(tx, p_, updates, ev, t_):
        tx.set(records.private_ref(pref, "claim"), {"claim_url": record["claim_url"], "stage": "deployment",
                                                     "attempt": p_["stages"]["deployment"].get("attempt"),
                                                     "created_at": t_})
        updates.update({"stages.deployment.summary.preview": shown, "stages.deployment.summary.url": shown["url"],
                        "stages.deployment.summary.preview_version": version})
        ev.add("preview_rolled_back", stage="deployment", progress=p_["progress"], by=uid, version=version,
               revision=record.get("revision"),
               message=f"Preview rolled back to version {version} (database at revision {record.get('revision')})")
        return None

    actions._act(tenant, pipeline_id, fn)
    return {"pipeline_id": pipeline_id, "version": version, "revision": record.get("revision"), "preview": shown,
            "data": record.get("data")}
