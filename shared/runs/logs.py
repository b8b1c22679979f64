"""A run's log lines: what each stage did, in a few short lines, written in the transaction that records it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the commit (shared/runs/commits.py) imports this module
    from shared.runs.commits import Outcome


# Per-stage log lines: `tenants/{t}/pipelines/{p}/logs/{id}`, written in the transaction that records a stage's
# result (append-only: ids are never reused and nothing updates a line), readable by members (firestore.rules)
# and through GET /api/factory/pipelines/{p}/logs. Capped per commit and per run, and each line's length.
LOG_LINES_PER_STAGE = 12


LOG_LINES_PER_RUN = 300


LOG_LINE_CHARS = 240


def _secs(ms: int | None) -> str:
    return "an unknown time" if ms is None else f"{ms / 1000:.1f} s"


def stage_log_lines(stage: str, attempt: int, out: Outcome, artifacts: list[str], cost: dict,
                    duration_ms: int | None) -> list[str]:
    """What a stage did, in a few short lines (pure; the commit stores them)."""
    name = stage.replace("_", " ")
    lines = [f"{name.capitalize()}, attempt {attempt}: ran on the {cost.get('engine') or 'default'} engine "
             f"for {_secs(duration_ms)}"]
    lines += [str(x) for x in out.logs if str(x).strip()]
    if artifacts:
        more = f" and {len(artifacts) - 6} more" if len(artifacts) > 6 else ""
        lines.append(f"Wrote {len(artifacts)} artifact{'s' if len(artifacts) != 1 else ''}: "
                     f"{', '.join(artifacts[:6])}{more}")
    if out.kind == "ok":
        lines.append(f"{name.capitalize()} completed")
    elif out.kind == "waiting":
        w = out.waiting or {}
        lines.append(f"Waiting for the {w.get('for', 'build')} {w.get('build_id', '')} to finish "
                     f"(its log: {w.get('log_url') or 'not given'})")
    elif out.kind == "loop_back":
        lines.append(f"Sent back to development: {out.reason or 'QA found problems'}")
    else:
        lines.append(f"{name.capitalize()} failed: {out.reason or 'see the run error'}")
    if len(lines) > LOG_LINES_PER_STAGE:  # keep the first lines and the outcome
        lines = lines[:LOG_LINES_PER_STAGE - 1] + lines[-1:]
    return [ln if len(ln) <= LOG_LINE_CHARS else ln[:LOG_LINE_CHARS - 1] + "…" for ln in lines]


def _write_logs(tx, pref, p: dict, updates: dict, stage: str, attempt: int, lines: list[str], t,
                level: str = "info") -> None:
    """Append `lines` to the run's logs in the caller's transaction, within the run's cap. Ids start with the
    run's event number at this commit (unique per commit), so lines sort in the order they were written."""
    used = int((p.get("metadata") or {}).get("log_lines", 0))
    room = max(0, LOG_LINES_PER_RUN - used)
    lines = lines[:room]
    if not lines:
        return
    base = int(p.get("event_seq") or 0)
    for i, line in enumerate(lines):
        tx.create(pref.collection("logs").document(f"{base:06d}-{i:02d}"),
                  {"stage": stage, "attempt": attempt, "level": level, "message": line, "at": t, "n": i})
    updates["metadata.log_lines"] = used + len(lines)

