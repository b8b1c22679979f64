"""Is a stage function crash-looping? One question, answered behind one interface (`HealthReader`).

The reconciler asks it on every pass, so a function that dies at start is found within seconds of
its third quick death, whatever the stage's queue deadline (decision 0032):

- **Locally** (`SupervisorHealth`) the functions host already counts each function's restarts and
  quick deaths (a child that dies within 3 s of its start) in its pids file,
  `{STATE_DIR}/run/functions.json`; three quick deaths in a row mark it `crash-looping`, with the
  wall-clock time of the first one (`crash_since`).
- **In production** (`HealthDocReader`) each stage function records a failed boot in
  `_system_health/{function}` (`boot_guard` around its imports, before it can serve), and a
  successful boot clears the streak. We chose this over Cloud Monitoring (Cloud Run's
  `container/startup_latencies`, Pub/Sub's `push_request_count` by response class) because
  those metrics are sampled every 60 s and visible up to 3 min later, which cannot meet a one-minute
  bound. What a boot guard cannot see (the interpreter killed before our code runs, an image that
  does not pull) is still found by the claim evidence (`reconciler.judge_queued`): no claim by
  any instance within the liveness window while runs wait.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from shared import log

logger = log.get_logger("health")

QUICK_DEATHS = 3  # boot failures in a row that make a function crash-looping (as the functions host counts)
STREAK_WINDOW_S = 120.0  # production: boot failures older than this do not count towards a streak


@dataclass(frozen=True)
class StageHealth:
    function: str
    crash_looping: bool
    restarts: int = 0
    since: datetime | None = None  # the first death of the current streak
    last: datetime | None = None  # the latest death: a run published after it waits for the next start's outcome

    def caught(self, published_at: datetime | None) -> bool:
        """Was a run whose message was published at `published_at` waiting when the service last died? A run
        published later (the service may be between a fixed deploy's start and its first answer) is not failed
        on this streak; if the next start dies too, `last` moves past it."""
        return self.last is None or published_at is None or published_at <= self.last

    def observed(self, t: datetime) -> str:
        """What was seen, in words for the founder."""
        secs = f" in {max(1, round((t - self.since).total_seconds()))} s" if self.since else ""
        return f"it died at start {self.restarts} times{secs} and keeps being restarted"


class HealthReader(Protocol):
    def crash_looping(self) -> dict[str, StageHealth]:
        """Crash-looping functions by name (e.g. "stage_qa"); healthy ones are absent."""


class SupervisorHealth:
    """Local: the functions host's pids file (emulator/functions_host.py)."""

    def __init__(self, state_dir: str | os.PathLike):
        self.path = Path(state_dir) / "run" / "functions.json"

    def crash_looping(self) -> dict[str, StageHealth]:
        try:
            info = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # no host (unit tests, a cloud being started): nothing is known to crash
        out = {}
        for name, st in info.items():
            if st.get("state") == "crash-looping" or int(st.get("quick_deaths") or 0) >= QUICK_DEATHS:
                since, last = st.get("crash_since"), st.get("last_death")
                out[name] = StageHealth(name, True, int(st.get("quick_deaths") or st.get("restarts") or 0),
                                        datetime.fromtimestamp(since, UTC) if since else None,
                                        datetime.fromtimestamp(last, UTC) if last else None)
        return out


def _health_col():
    from shared import clients

    return clients.firestore().collection("_system_health")


class HealthDocReader:
    """Production: `_system_health/{function}` documents written by `boot_guard`."""

    def __init__(self, docs=None):
        self._docs = docs  # tests pass documents; production reads the collection

    def crash_looping(self) -> dict[str, StageHealth]:
        docs = self._docs if self._docs is not None else {d.id: d.to_dict() or {} for d in _health_col().stream()}
        now = datetime.now(UTC)
        out = {}
        for name, d in docs.items():
            failures = sorted(f for f in (d.get("boot_failures") or []) if isinstance(f, datetime)
                              and (now - f).total_seconds() <= STREAK_WINDOW_S)
            ok = d.get("last_boot_ok_at")
            if ok is not None and failures:
                failures = [f for f in failures if f > ok]
            if len(failures) >= QUICK_DEATHS:
                out[name] = StageHealth(name, True, len(failures), failures[0], failures[-1])
        return out


def reader() -> HealthReader:
    from shared.settings import get_settings

    s = get_settings()
    return SupervisorHealth(s.state_dir) if s.local else HealthDocReader()


def record_boot(function: str, error: BaseException | None) -> None:
    """A stage function's boot outcome (production): a failure is appended to its streak, a success
    ends the streak. Best effort: the function is dying anyway, and a write that fails here is
    covered by the claim evidence."""
    from google.cloud import firestore as gfs

    try:
        ref = _health_col().document(function)
        if error is None:
            ref.set({"last_boot_ok_at": gfs.SERVER_TIMESTAMP, "boot_failures": []}, merge=True)
        else:
            ref.set({"boot_failures": gfs.ArrayUnion([datetime.now(UTC)]),
                     "last_error": f"{type(error).__name__}: {str(error)[:300]}"}, merge=True)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.event(logger, logging.WARNING, "could not record the boot outcome", function=function, error=str(exc))


@contextlib.contextmanager
def boot_guard(function: str):
    """Around a stage function's module-level imports: a boot that raises is recorded, then re-raised
    (the instance still dies, as it must). Nothing is written on a good boot (no network at import
    time); `note_alive` ends the streak on the first event served. Locally the host counts deaths."""
    try:
        yield
    except BaseException as exc:
        if os.environ.get("FACTORY_ENV") != "local":
            record_boot(function, exc)
        raise


_alive: set[str] = set()


def note_alive(function: str) -> None:
    """Once per process, on the first event it serves (production): the function boots again."""
    if function in _alive:
        return
    _alive.add(function)
    from shared.settings import get_settings

    if not get_settings().local:
        record_boot(function, None)
