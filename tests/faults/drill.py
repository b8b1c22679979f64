"""Helpers of the fault drills: the private local cloud's state, signals to its services, counts."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

REPORT: list[str] = []


def state() -> dict:
    return json.loads((Path(os.environ["STATE_DIR"]) / "run" / "localcloud.json").read_text())


def functions_info() -> dict:
    return json.loads((Path(os.environ["STATE_DIR"]) / "run" / "functions.json").read_text())


def signal_service(name: str, sig: int) -> int:
    svc = state()["services"][name]
    os.killpg(svc["pgid"], sig)
    return svc["pid"]


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.25):
            return True
    except OSError:
        return False


def wait_restarted(name: str, old_pid: int, timeout: float = 60.0) -> float:
    """Seconds until the supervisor has a new process for `name` whose ports answer."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        svc = state()["services"][name]
        if svc["pid"] != old_pid and all(port_answers(p) for p in svc.get("ports") or []):
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"{name} was not restarted within {timeout}s")


def lost_or_duplicated(docs: list[dict]) -> int:
    """Stages of completed runs that did not complete exactly once, plus every stage of a run that
    did not end at all (the same count as bench's)."""
    from shared.topology import STAGES

    bad = 0
    for d in docs:
        if d.get("status") not in ("completed", "failed", "cancelled"):
            bad += len(STAGES)
            continue
        if d.get("status") != "completed":
            continue
        for s in STAGES:
            st = d["stages"][s]
            if st.get("status") != "completed":
                bad += 1
    return bad


def stage_commits(db, tenant_id: str, pipeline_id: str) -> dict[str, int]:
    """How many times each stage committed (its stage_completed events): must be 1 each."""
    out: dict[str, int] = {}
    for e in db.collection(f"tenants/{tenant_id}/pipelines/{pipeline_id}/events").stream(timeout=10):
        d = e.to_dict()
        if d.get("type") == "stage_completed":
            out[d["stage"]] = out.get(d["stage"], 0) + 1
    return out
