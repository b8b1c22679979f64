"""Local previews: the generated app started as a detached child process on a free loopback port.

A preview runs in its own session/process group (`start_new_session=True`) with the same from-scratch
environment and socket guard as QA (network limited to loopback, no unshare so the parent can reach it),
and a memory limit. Its record lives in `{state_dir}/previews/<pipeline_id>.json`:
`{"pipeline_id", "url", "claim_url", "pid", "port", "started_at", "expires_at", "dir"}`; its files in
`{state_dir}/previews/<pipeline_id>/`.

Each preview gets its own random SECRET_KEY (the app refuses to start without one) and a one-time
OWNER_CLAIM_TOKEN: nobody owns a fresh app until someone opens `claim_url` (`/claim?token=…`), which the
deployment stage shows the founder. The record file is written with mode 0600.

`stop_preview` / `reap_expired` / `stop_all` signal the whole process group (SIGTERM, then SIGKILL after a
grace period), verify the process is gone, and remove the record and directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from . import sandbox

log = logging.getLogger(__name__)

_children: dict[int, subprocess.Popen] = {}  # previews started by this process, so they can be reaped


class PreviewError(Exception):
    """The preview did not become healthy in time (carries the log tail)."""


def _safe_id(pipeline_id: str) -> str:
    """The pipeline id as a file name: unchanged when already safe, else a slug plus a short hash."""
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}", pipeline_id) and ".." not in pipeline_id:
        return pipeline_id
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", pipeline_id).strip("-")[:60] or "pipeline"
    return f"{slug}-{hashlib.sha256(pipeline_id.encode('utf-8')).hexdigest()[:10]}"


def previews_dir(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / "previews"


def record_path(state_dir, pipeline_id: str) -> Path:
    return previews_dir(state_dir) / f"{_safe_id(pipeline_id)}.json"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_state(pid: int) -> str | None:
    """Linux process state letter, or None when the pid does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    _reap(pid)
    state = _proc_state(pid)
    if state is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


def _reap(pid: int) -> None:
    proc = _children.get(pid)
    if proc is not None:
        if proc.poll() is not None:
            _children.pop(pid, None)
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def _belongs_to_preview(pid: int, directory: str) -> bool:
    """Guard against pid reuse: the process's cwd must be inside the preview directory."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return _proc_state(pid) is not None  # cannot tell (e.g. not Linux): trust the record
    return cwd.startswith(str(Path(directory).resolve()))


# Sets the limits, then replaces itself with the real command. Run as a separate interpreter so
# that no Python code (no preexec_fn, no at-fork handlers) runs between fork and exec in the stage
# process: with a live gRPC client there, a forked child that runs code can inherit gRPC's poller
# and die with SIGABRT ("epoll_wait error: Bad file descriptor"). Without preexec_fn, subprocess
# uses vfork/exec, which copies no threads and runs no handlers.
_LAUNCHER = (
    "import os, resource, sys\n"
    "mem, fsize = int(sys.argv[1]), int(sys.argv[2])\n"
    "if mem: resource.setrlimit(resource.RLIMIT_AS, (mem, mem))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def limited_argv(argv: list[str], python: str, *, memory_mb: int | None, fsize_mb: int = 256) -> list[str]:
    """`argv` wrapped in a launcher that applies rlimits (memory, file size, no core) and execs it."""
    mem = int(memory_mb) * 1024 * 1024 if memory_mb else 0
    return [python, "-I", "-S", "-c", _LAUNCHER, str(mem), str(int(fsize_mb) * 1024 * 1024), *argv]


def database_path(state_dir, pipeline_id: str) -> Path:
    """Where a preview keeps its SQLite database."""
    return previews_dir(state_dir) / _safe_id(pipeline_id) / "data" / "app.db"


def copy_database(source: Path, dest: Path) -> bool:
    """A consistent copy of a (possibly live) preview's SQLite database (the backup API); False when it has none."""
    import sqlite3

    if not source.is_file():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    return True


def start_preview(pipeline_id: str, files: dict[str, bytes], config, *, ttl_s: float | None = None,
                  now: float | None = None, database: Path | None = None) -> dict:
    """Extract the project, start `python -m app` on a free port, wait for /health, record it.

    `database`: a SQLite file the preview starts on (copied in; the app upgrades it to its newest revision when it
    starts), so a changed app keeps the previous version's rows. The record's `data` says "kept" or "new"."""
    pid_name = _safe_id(pipeline_id)
    kept = None
    if database is not None and Path(database).is_file():  # copied out before the old preview's files go
        kept = previews_dir(config.state_dir) / f".{pid_name}.seed.db"
        copy_database(Path(database), kept)
    stop_preview(pipeline_id, config.state_dir)  # one preview per pipeline
    base = (previews_dir(config.state_dir) / pid_name).resolve()
    src = base / "app"
    home = base / "home"
    if kept is not None:
        (base / "data").mkdir(parents=True, exist_ok=True)
        os.replace(kept, base / "data" / "app.db")
    for rel, data in files.items():
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    guard = sandbox.write_guard(base / "guard")
    port = free_port()
    claim_token = secrets.token_urlsafe(32)
    env = sandbox.isolated_env(home, guard, {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",  # links and QR codes point here, never at a Host header
        "DATABASE_URL": f"sqlite:///{base / 'data' / 'app.db'}",  # a file under the preview's own directory
        "SECRET_KEY": secrets.token_hex(32),  # signs this preview's session cookies; never leaves the process
        "OWNER_CLAIM_TOKEN": claim_token,
    })
    log_path = base / "preview.log"
    with open(log_path, "wb") as log_fh:
        proc = subprocess.Popen(
            limited_argv([config.python_executable, "-m", "app"], config.python_executable,
                         memory_mb=max(config.qa_memory_mb, 512)),
            cwd=str(src), env=env, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
    _children[proc.pid] = proc
    url = f"http://127.0.0.1:{port}"
    started = time.time() if now is None else now
    record = {
        "pipeline_id": pipeline_id,
        "url": url,
        "claim_url": f"{url}/claim?token={claim_token}",
        "pid": proc.pid,
        "port": port,
        "started_at": started,
        "expires_at": started + (config.preview_ttl_s if ttl_s is None else ttl_s),
        "dir": str(base),
        "data": "kept" if kept is not None else "new",
    }
    path = record_path(config.state_dir, pipeline_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".json.tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the claim link
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True))
    os.replace(tmp_path, path)

    deadline = time.monotonic() + config.preview_health_timeout_s
    delay = 0.05
    last = "not started"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            last = f"exited with {proc.returncode}"
            break
        try:
            r = requests.get(url + "/health", timeout=2)
            if r.status_code == 200:
                record["health"] = r.json()
                return record
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:] if log_path.exists() else ""
    stop_preview(pipeline_id, config.state_dir)
    raise PreviewError(f"preview for {pipeline_id} not healthy within {config.preview_health_timeout_s}s "
                       f"({last}); log tail: {tail}")


def _terminate(pid: int, directory: str, grace_s: float = 5.0) -> None:
    if not is_running(pid) or not _belongs_to_preview(pid, directory):
        _reap(pid)
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            os.kill(pid, sig)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if not is_running(pid):
                _children.pop(pid, None)
                return
            time.sleep(0.05)
    if is_running(pid):
        log.warning("preview process survived SIGKILL", extra={"fields": {"pid": pid}})


def load_records(state_dir) -> list[dict]:
    out = []
    d = previews_dir(state_dir)
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.json")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            log.warning("unreadable preview record", extra={"fields": {"path": str(p)}})
    return out


def stop_preview(pipeline_id: str, state_dir) -> bool:
    """Stop one pipeline's preview; True if a record existed."""
    path = record_path(state_dir, pipeline_id)
    if not path.exists():
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if record.get("pid"):
        _terminate(int(record["pid"]), record.get("dir", ""))
    directory = Path(record.get("dir") or previews_dir(state_dir) / _safe_id(pipeline_id))
    if directory.resolve().parent == previews_dir(state_dir).resolve():
        shutil.rmtree(directory, ignore_errors=True)
    path.unlink(missing_ok=True)
    return True


def reap_expired(state_dir, now: float | None = None) -> list[str]:
    """Stop previews past their expires_at, and clear records whose process already died."""
    now = time.time() if now is None else now
    stopped = []
    for rec in load_records(state_dir):
        pid = int(rec.get("pid") or 0)
        expired = rec.get("expires_at", 0) <= now or not pid or not is_running(pid)
        if expired and stop_preview(rec["pipeline_id"], state_dir):
            stopped.append(rec["pipeline_id"])
    return stopped


def stop_all(state_dir) -> list[str]:
    """Stop every recorded preview (called when the local cloud stops)."""
    stopped = []
    for rec in load_records(state_dir):
        if stop_preview(rec["pipeline_id"], state_dir):
            stopped.append(rec["pipeline_id"])
    return stopped


_DOWNGRADE = """
import sys
from alembic import command
from sqlalchemy import create_engine
from app.migrations import alembic_config, current_revision
engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    command.downgrade(alembic_config(conn), sys.argv[2])
    print(current_revision(conn))
engine.dispose()
"""


def roll_back(pipeline_id: str, newer: dict[str, bytes], older: dict[str, bytes], config, *,
              now: float | None = None) -> dict:
    """Restart a preview at an older version of its app, keeping its rows: copy the running preview's database,
    downgrade the copy to the older project's head revision with the NEWER project's revisions (the older one does
    not know them), then start the older project on it. The running preview keeps going until the copy is ready;
    a failed downgrade leaves it running (PreviewError)."""
    target = json.loads(older["app/factory.json"])["revision"]
    base = previews_dir(config.state_dir) / f".{_safe_id(pipeline_id)}.rollback"
    shutil.rmtree(base, ignore_errors=True)
    try:
        db = base / "app.db"
        if not copy_database(database_path(config.state_dir, pipeline_id), db):
            raise PreviewError(f"preview for {pipeline_id} has no database to roll back")
        for rel, data in newer.items():
            dest = base / "project" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        guard = sandbox.write_guard(base / "guard")
        env = sandbox.isolated_env(base / "home", guard, {"DATABASE_URL": f"sqlite:///{db}"})
        done = subprocess.run([config.python_executable, "-c", _DOWNGRADE, f"sqlite:///{db}", target],
                              cwd=str(base / "project"), env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or done.stdout.strip().splitlines()[-1:] != [target]:
            raise PreviewError(f"downgrade to {target} failed: {done.stderr[-1500:]}")
        record = start_preview(pipeline_id, older, config, now=now, database=db)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    record["revision"] = target
    return record
