"""The stored app spec: planned once, read by every later stage, repaired instead of re-planned (decision 0021).

Two artifacts hold it, written by the stage that produced (or last carried) the current revision:

* `app-spec.json` — the `AppSpec` (version 1) with each capability's routes filled in;
* `app-spec-history.json` — {revision, idea_sha256, spec_sha256, revisions: [{revision, stage, attempt, origin,
  engine, spec_sha256, problems, changes}]}: which step wrote each revision, from which problems, and what changed.

The design stage plans revision 1 (`plan`) and draws its wireframes from it; development compiles the current
revision; on a QA loop-back development sends QA's problems (`qa_problems`) through the generator's repair path
(`repair`), and a spec that changed becomes the next revision; QA and deployment check that the project was built
from the current revision. `current` finds the newest revision a run holds for this idea (development's copy
after a repair, the design stage's before).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .appspec import AppSpec, spec_problems
from .artifacts import json_bytes, sha256
from .domain import normalise_idea
from .textutil import shorten
from .types import GenerationError, LLMOutputInvalid

SPEC_ARTIFACT = "app-spec.json"
HISTORY_ARTIFACT = "app-spec-history.json"
#: Stages that write the stored spec, newest holder first.
HOLDERS = ("development", "uiux_design")
MAX_PROBLEMS = 40
IDEA_FIELDS = ("title", "description", "target_audience", "key_features", "constraints")


@dataclass(frozen=True)
class StoredSpec:
    spec: AppSpec
    history: dict
    stage: str  # the stage whose artifact it was read from

    @property
    def revision(self) -> int:
        return int(self.history.get("revision") or 1)

    @property
    def sha256(self) -> str:
        return spec_sha256(self.spec)


def spec_bytes(spec: AppSpec) -> bytes:
    """The bytes of `app-spec.json`."""
    return json_bytes(spec.model_dump(mode="json"))


def spec_sha256(spec: AppSpec) -> str:
    return sha256(spec_bytes(spec))


def idea_sha256(idea: dict) -> str:
    """A fingerprint of the idea's words: a stored spec is reused only for the idea it was planned from."""
    norm = normalise_idea(idea or {})
    return hashlib.sha256(json.dumps({k: norm.get(k) for k in IDEA_FIELDS}, sort_keys=True,
                                     default=str).encode("utf-8")).hexdigest()


def current(artifacts, idea: dict) -> StoredSpec | None:
    """The newest stored revision for this idea, or None when no stage has stored one yet."""
    want = idea_sha256(idea)
    best: StoredSpec | None = None
    for stage in HOLDERS:
        try:
            raw = artifacts(stage, SPEC_ARTIFACT)
        except KeyError:
            continue
        try:
            history = json.loads(artifacts(stage, HISTORY_ARTIFACT))
        except KeyError:  # a spec stored before histories existed: revision 1 of this run's idea
            history = {"revision": 1, "idea_sha256": None, "revisions": []}
        if history.get("idea_sha256") not in (None, want):
            continue  # planned from another version of the idea
        found = StoredSpec(AppSpec.model_validate_json(raw), history, stage)
        if best is None or found.revision > best.revision:
            best = found
    return best


def _gate(spec: AppSpec) -> AppSpec:
    from .compiler import spec_with_routes

    problems = spec_problems(spec)
    if problems:  # a planner must hand over a checked spec; compiling an unchecked one would hide the gap
        raise GenerationError("the app spec has problems: " + "; ".join(problems[:10]))
    return spec_with_routes(spec)


def _record(history: dict | None, spec: AppSpec, idea: dict, *, stage: str, attempt: int, origin: str, engine: str,
            problems: list[str] | None = None, changes: dict | None = None) -> dict:
    revisions = list((history or {}).get("revisions") or [])
    revision = int((history or {}).get("revision") or 0) + 1
    entry = {"revision": revision, "stage": stage, "attempt": attempt, "origin": origin, "engine": engine,
             "spec_sha256": spec_sha256(spec)}
    if problems is not None:
        entry["problems"] = [shorten(p, 300) for p in problems[:MAX_PROBLEMS]]
    if changes is not None:
        entry["changes"] = changes
    return {"revision": revision, "idea_sha256": idea_sha256(idea), "spec_sha256": entry["spec_sha256"],
            "revisions": revisions + [entry]}


def plan(idea: dict, needs: list[str], gen, *, stage: str, attempt: int) -> tuple[AppSpec, dict]:
    """The one planning step: the spec (checked, routes filled in) and its history (revision 1)."""
    from .planner import plan_spec

    spec = _gate(plan_spec({"idea": idea, "needs": needs, "feedback": None}, gen))
    return spec, _record(None, spec, idea, stage=stage, attempt=attempt, origin="planned", engine=gen.engine)


def repair(stored: StoredSpec, idea: dict, needs: list[str], problems: list[str], gen, *, stage: str,
           attempt: int) -> tuple[AppSpec, dict, dict]:
    """Repair the stored spec with QA's problems through the generator's repair path (never a fresh plan).

    Returns (spec, history, note). A changed spec is the next revision; an unchanged one keeps the stored
    revision (the built-in engine has no other reading of the words, so it keeps its spec); a repair the model
    cannot make valid keeps the stored spec, which passed its checks, and the note says so.
    """
    from .capabilities import describe
    from .criteria.certify import certify
    from .planner import TASK, spec_check

    norm = normalise_idea(idea)
    context = {"idea": norm, "needs": needs, "feedback": problems}
    if getattr(gen, "engine", "") == "llm":  # the same context the planning conversation had
        context.update(capability_kinds=describe(), key_features=norm.get("key_features") or [])
    note = {"problems": len(problems), "from_revision": stored.revision}
    try:
        repaired = gen.repair(TASK, context, AppSpec, stored.spec, problems, check=spec_check(norm))
    except LLMOutputInvalid as exc:
        return stored.spec, stored.history, dict(note, status="invalid", reason=shorten(str(exc), 300))
    spec = _gate(certify(repaired))
    if spec_bytes(spec) == spec_bytes(stored.spec):
        return stored.spec, stored.history, dict(note, status="unchanged")
    changes = spec_changes(stored.spec, spec)
    history = _record(stored.history, spec, idea, stage=stage, attempt=attempt, origin="repaired",
                      engine=gen.engine, problems=problems, changes=changes)
    return spec, history, dict(note, status="changed", revision=history["revision"], changes=changes)


def spec_changes(old: AppSpec, new: AppSpec) -> dict:
    """What a revision changed, by name: entities, fields, capabilities, pages, and trace statuses."""
    def diff(a: set[str], b: set[str]) -> dict:
        return {"added": sorted(b - a)[:20], "removed": sorted(a - b)[:20]}

    def fields(s: AppSpec) -> set[str]:
        return {f"{e.name}.{f.name}" for e in s.entities for f in e.fields}

    before = {t.feature: t.status for t in old.trace}
    out = {
        "entities": diff({e.name for e in old.entities}, {e.name for e in new.entities}),
        "fields": diff(fields(old), fields(new)),
        "capabilities": diff({c.id for c in old.capabilities}, {c.id for c in new.capabilities}),
        "pages": diff({p.id for p in old.pages}, {p.id for p in new.pages}),
        "trace": [{"feature": shorten(t.feature, 120), "from": before.get(t.feature), "to": t.status}
                  for t in new.trace if before.get(t.feature) != t.status][:20],
    }
    return {k: v for k, v in out.items() if v and (not isinstance(v, dict) or v["added"] or v["removed"])}


def qa_problems(spec: AppSpec, feedback: dict | None, report: dict | None) -> list[str]:
    """QA's problems as repair sentences: error findings, words the spec leaves unread, rules not enforced,
    failed acceptance criteria and features not built. `report` is qa-report.json (None: the summary alone)."""
    out: list[str] = []
    report = report or {}
    feedback = feedback or {}
    for f in report.get("findings") or feedback.get("findings") or []:
        if f.get("severity", "error") == "error":
            where = f" in {f['file']}" if f.get("file") else ""
            out.append(f"QA finding {f.get('code') or f.get('kind')}{where}: {f.get('message', '')}")
    for t in spec.trace:
        unread = [u.word for u in (t.reading.words if t.reading else []) if u.maps_to == "unread"]
        if unread:
            out.append(f"feature {t.feature!r}: words nothing in the spec realises (unread): {', '.join(unread)}")
    rows = (report.get("coverage") or {}).get("features") or feedback.get("coverage") or []
    for row in rows:
        if row.get("status") == "built":
            continue
        feature = row.get("feature", "")
        failed = [c for c in row.get("criteria") or [] if isinstance(c, dict) and not c.get("passed")]
        for c in failed:
            detail = f" ({c['detail']})" if c.get("detail") else ""
            out.append(f"feature {feature!r}: acceptance criterion failed: {c.get('text')}{detail}")
        for nb in row.get("not_built") or []:
            if failed and nb.startswith("failed: "):
                continue  # already named with its detail
            out.append(f"feature {feature!r}: rule or behaviour not enforced: {nb}")
        if row.get("status") in ("failing", "not_covered") and row.get("reason"):
            out.append(f"feature {feature!r} is {row['status']}: {row['reason']}")
    seen: set[str] = set()
    unique = [p for p in out if not (p in seen or seen.add(p))]
    return [shorten(p, 300) for p in unique[:MAX_PROBLEMS]]
