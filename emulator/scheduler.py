"""Local stand-in for Cloud Scheduler: calls the jobs declared in shared.topology.SCHEDULES.

Production creates one Cloud Scheduler job per entry (infra/terraform/scheduler.tf); locally this loop calls the
same internal routes with the local service token, at a shorter interval so tests see recovery fast.
Each tick it also stops expired local previews (shared/engine/preview.py): they exist only in the local
cloud, so stopping them is the local cloud's job, not the watchdog's (which ships without the engine).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _eventful(body: str) -> bool:
    """Log a job's answer only when it did something (any non-zero count)."""
    try:
        return any(v for v in json.loads(body).values() if isinstance(v, (int, float)))
    except (ValueError, AttributeError):
        return bool(body)


def _reap_previews(state_dir) -> None:
    from shared.engine import preview

    try:
        stopped = preview.reap_expired(state_dir)
    except Exception as exc:  # noqa: BLE001 - keep ticking; the next tick tries again
        print(json.dumps({"severity": "WARNING", "message": f"preview reaping failed: {exc}"}), flush=True)
        return
    if stopped:
        print(json.dumps({"severity": "INFO", "message": f"previews stopped: {stopped}"}), flush=True)


def main() -> None:
    from shared import topology
    from shared.settings import get_settings

    s = get_settings()
    interval = float(os.environ.get("LOCAL_SCHEDULER_INTERVAL_S", "3"))
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    token = s.service_token.get_secret_value() if s.service_token else ""
    last_run: dict[str, float] = {}
    while running:
        for job in topology.SCHEDULES:
            if time.monotonic() - last_run.get(job.name, -1e9) < job.local_every_s:
                continue
            last_run[job.name] = time.monotonic()
            url = s.function_url(job.function) + job.path
            req = urllib.request.Request(url, data=b"{}", method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    body = r.read().decode()
                if _eventful(body):
                    print(json.dumps({"severity": "INFO", "message": f"{job.name}: {body}"}), flush=True)
            except Exception as exc:  # noqa: BLE001 - keep ticking; the function may be restarting
                print(json.dumps({"severity": "WARNING", "message": f"{job.name} failed: {exc}"}), flush=True)
        _reap_previews(s.state_dir)
        end = time.monotonic() + interval
        while running and time.monotonic() < end:
            time.sleep(0.1)


if __name__ == "__main__":
    main()
