"""Runs every function of `shared.topology` as its own functions-framework process on its own port.

Cloud Run gives each function its own container. Locally each function gets its own process,
forked from this host after the heavy libraries are imported once: the children share those
pages copy-on-write, so starting fifteen functions costs about one import instead of fifteen.
Each child builds its app with `functions_framework.create_app` and serves it with the
framework's own production server (gunicorn, one worker, threads), exactly as the Cloud Run
functions runtime does. No gRPC channel or client exists before the fork (clients are lazy).

A child that dies is started again, as Cloud Run starts a new instance; one that keeps dying
right after start is started again with exponential backoff (0.5 s doubling to 30 s) and reported
as crash-looping in the pids file, which `make status` reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _preimport() -> None:
    # The same modules every function imports; loaded once, shared by all children.
    import firebase_admin.auth  # noqa: F401
    import flask  # noqa: F401
    import functions_framework  # noqa: F401
    import functions_framework._http  # noqa: F401
    import functions_framework._http.gunicorn  # noqa: F401
    import google.cloud.firestore  # noqa: F401
    import google.cloud.pubsub_v1  # noqa: F401
    import google.cloud.tasks_v2  # noqa: F401
    import pydantic  # noqa: F401
    import pydantic_settings  # noqa: F401
    import stripe  # noqa: F401

    import shared.http  # noqa: F401
    import shared.settings  # noqa: F401


def _serve(fn, port: int) -> None:
    """Child process: become one Cloud Run function."""
    os.environ.update(fn.env)
    os.environ["K_SERVICE"] = fn.service_id
    os.environ["K_REVISION"] = f"{fn.service_id}-local"
    os.environ["FUNCTION_TARGET"] = fn.target
    os.environ["FUNCTION_SIGNATURE_TYPE"] = fn.signature
    os.environ["PORT"] = str(port)
    os.environ.setdefault("THREADS", "8")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    import functions_framework
    from functions_framework._http import create_server

    from emulator import firestore_ops

    firestore_ops.install(fn.name)  # counts Firestore reads and writes when FIRESTORE_OPS_DIR is set (bench)
    install_plugins()
    source = str(ROOT / "functions" / fn.name / "main.py")
    app = functions_framework.create_app(fn.target, source, fn.signature)
    create_server(app, False).run("127.0.0.1", port)


def install_plugins() -> list[str]:
    """Child process: plug the local-only test tools into shared/hooks.py, as this function's settings allow.
    The fault injection of emulator/faults.py goes in only with FACTORY_ENV=local and FACTORY_FAULTS=enabled;
    a deployed function never runs this host, so its hook lists stay empty."""
    from emulator import faults

    return ["faults"] if faults.install() else []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated function names (default: all)")
    ap.add_argument("--pids-file", default="")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from shared import log, topology
    from shared.settings import port_offset

    logger = log.get_logger("functions_host")
    _preimport()
    offset = port_offset()
    wanted = [f for f in topology.FUNCTIONS if not args.only or f.name in args.only.split(",")]

    children: dict[int, tuple] = {}  # pid -> (fn, started_at)
    info: dict[str, dict] = {fn.name: {"pid": None, "port": fn.port + offset, "state": "starting", "restarts": 0,
                                       "quick_deaths": 0} for fn in wanted}
    pending: dict[str, tuple] = {}  # name -> (fn, monotonic time to start it again)
    stopping = False

    def spawn(fn) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                _crashloop_fault(fn)
                _serve(fn, fn.port + offset)
            except SystemExit as exc:  # gunicorn exits this way when told to stop
                os._exit(exc.code if isinstance(exc.code, int) else 0)
            except BaseException as exc:  # noqa: BLE001 - report and die, the parent decides
                logger.critical("function failed to start", exc_info=exc,
                                extra={"fields": {"function": fn.name}})
                os._exit(3)
            os._exit(0)
        children[pid] = (fn, time.monotonic())
        info[fn.name].update(pid=pid, state="up" if info[fn.name]["quick_deaths"] < CRASH_LOOP_AFTER else
                             "crash-looping", next_start_s=None)

    def write_pids() -> None:
        if args.pids_file:
            tmp = args.pids_file + ".tmp"
            Path(tmp).write_text(json.dumps(info, indent=1))
            os.replace(tmp, args.pids_file)

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        pending.clear()
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for fn in wanted:
        spawn(fn)
    write_pids()
    logger.info("functions started", extra={"fields": {"count": len(wanted), "port_offset": offset}})

    while children or pending:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid, status = 0, 0
        except InterruptedError:
            continue
        if pid == 0:
            now = time.monotonic()
            for name, (fn, at) in list(pending.items()):
                if now >= at and not stopping:
                    del pending[name]
                    spawn(fn)
                    write_pids()
            for fn, started in children.values():  # survived its start: healthy again
                st = info[fn.name]
                if st["state"] != "up" and now - started >= QUICK_DEATH_S:
                    st.update(state="up", quick_deaths=0, next_start_s=None, crash_since=None)
                    write_pids()
            time.sleep(0.05)
            continue
        if pid not in children:
            continue
        fn, started = children.pop(pid)
        if stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        lived = time.monotonic() - started
        st = info[fn.name]
        st["restarts"] += 1
        st["quick_deaths"] = st["quick_deaths"] + 1 if lived < QUICK_DEATH_S else 0
        # When the current streak of quick deaths began (wall clock): the reconciler's crash-loop
        # evidence (shared/health.py) fails the runs that stage held from then on.
        st["crash_since"] = (st.get("crash_since") or time.time()) if st["quick_deaths"] else None
        st["last_death"] = time.time()  # a run published after this waits for the next start's outcome
        # Like Cloud Run: start a new instance; one that keeps dying at start waits longer each time.
        delay = 0.1 if not st["quick_deaths"] else min(MAX_BACKOFF_S, 0.5 * 2 ** (st["quick_deaths"] - 1))
        st.update(pid=None, exit=code, state="crash-looping" if st["quick_deaths"] >= CRASH_LOOP_AFTER else "restarting",
                  next_start_s=round(delay, 2))
        level = logging.CRITICAL if st["state"] == "crash-looping" else logging.WARNING
        logger.log(level, "function keeps dying at start; restarting it with backoff" if st["state"] == "crash-looping"
                   else "function process exited; starting a new instance",
                   extra={"fields": {"function": fn.name, "exit": code, "lived_s": round(lived, 2),
                                     "restart_in_s": round(delay, 2), "restarts": st["restarts"]}})
        pending[fn.name] = (fn, time.monotonic() + delay)
        write_pids()


QUICK_DEATH_S = 3.0  # a child that dies sooner than this after start counts as dying at start
CRASH_LOOP_AFTER = 3  # that many quick deaths in a row: reported as crash-looping by `make status`
MAX_BACKOFF_S = 30.0


def _crashloop_fault(fn) -> None:
    """Test-only (local cloud with FACTORY_FAULTS=enabled): a function named in
    {STATE_DIR}/faults/crashloop/ dies at start, as a function with a broken deploy would."""
    if os.environ.get("FACTORY_ENV") != "local" or os.environ.get("FACTORY_FAULTS") != "enabled":
        return
    marker = Path(os.environ.get("STATE_DIR") or ".local") / "faults" / "crashloop" / fn.name
    if marker.exists():
        print(json.dumps({"severity": "CRITICAL", "message": "injected crash at start", "function": fn.name}),
              flush=True)
        os._exit(3)

if __name__ == "__main__":
    main()
