"""Runs every function of `shared.topology` as its own functions-framework process on its own port.

Cloud Run gives each function its own container. Locally each function gets its own process,
forked from this host after the heavy libraries are imported once: the children share those
pages copy-on-write, so starting fifteen functions costs about one import instead of fifteen.
Each child builds its app with `functions_framework.create_app` and serves it with the
framework's own production server (gunicorn, one worker, threads), exactly as the Cloud Run
functions runtime does. No gRPC channel or client exists before the fork (clients are lazy).

A child that dies is started again, as Cloud Run starts a new instance; one that keeps dying
right after start is given up on, and the readiness check of `make up` reports it.
"""

from __future__ import annotations

import argparse
import json
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

    source = str(ROOT / "functions" / fn.name / "main.py")
    app = functions_framework.create_app(fn.target, source, fn.signature)
    create_server(app, False).run("127.0.0.1", port)


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
    quick_deaths: dict[str, int] = {}
    stopping = False

    def spawn(fn) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                _serve(fn, fn.port + offset)
            except SystemExit as exc:  # gunicorn exits this way when told to stop
                os._exit(exc.code if isinstance(exc.code, int) else 0)
            except BaseException as exc:  # noqa: BLE001 - report and die, the parent decides
                logger.critical("function failed to start", exc_info=exc,
                                extra={"fields": {"function": fn.name}})
                os._exit(3)
            os._exit(0)
        children[pid] = (fn, time.monotonic())

    def write_pids() -> None:
        if args.pids_file:
            data = {fn.name: {"pid": pid, "port": fn.port + offset} for pid, (fn, _) in children.items()}
            tmp = args.pids_file + ".tmp"
            Path(tmp).write_text(json.dumps(data, indent=1))
            os.replace(tmp, args.pids_file)

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
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

    deadline = None
    while children:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid not in children:
            continue
        fn, started = children.pop(pid)
        if stopping:
            if deadline is None:
                deadline = time.monotonic() + 5
            continue
        code = os.waitstatus_to_exitcode(status)
        lived = time.monotonic() - started
        if lived < 3:
            quick_deaths[fn.name] = quick_deaths.get(fn.name, 0) + 1
        if quick_deaths.get(fn.name, 0) >= 3:
            logger.critical("function keeps dying at start; giving up on it",
                            extra={"fields": {"function": fn.name, "exit": code}})
            write_pids()
            continue
        logger.warning("function process exited; starting a new instance",
                       extra={"fields": {"function": fn.name, "exit": code, "lived_s": round(lived, 2)}})
        time.sleep(0.1)
        spawn(fn)
        write_pids()


if __name__ == "__main__":
    main()
