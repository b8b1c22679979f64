"""A throwaway PostgreSQL server for the Postgres tier (Debian's `postgresql` package, never a download).

`start()` runs `initdb` into a fresh temporary directory (trust authentication, no fsync) and `pg_ctl start`
with the server listening on a Unix socket in that directory and on a free loopback port; `stop()` stops it
and removes the directory. Tests take one server per pytest session (the `postgres` fixture in
tests/conftest.py) and a fresh database per generated app (`create_database`).

initdb refuses to run as root, so as root the server runs as the `postgres` system user (the Debian package
creates it; else `nobody`). Its socket directory is world-searchable and the socket world-writable (the
default), so QA's sandbox (a new user and network namespace, where no capability reaches the server's files)
can still connect through the socket: a Unix socket in the file system is not part of the network namespace.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
START_TIMEOUT_S = 30


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (the message says what to install)."""


def binaries() -> Path:
    """The directory holding initdb, pg_ctl and postgres (the newest Debian major version, or PATH)."""
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                         reverse=True):
        if all(os.access(os.path.join(bindir, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return Path(bindir)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    raise PostgresUnavailable("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
                              "`apt-get install postgresql` (Debian), or run `make test`, which installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root (initdb refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise PostgresUnavailable("running as root and there is no `postgres` or `nobody` user to run the server as")


@dataclass
class Server:
    root: Path  # the temporary directory: data/, the socket directory and the log
    socket_dir: Path
    port: int
    bindir: Path
    user: tuple[int, int] | None

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for `database` through the Unix socket (reachable from QA's sandbox too)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) in the maintenance database."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """A fresh, empty database `name` (dropped first if it exists); returns its URL."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(self._as_user([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                      "-m", "immediate", "-w", "-t", "20"]),
                       capture_output=True, timeout=30, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_user(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return argv
        uid, gid = self.user
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]


def start() -> Server:
    """initdb + pg_ctl start a fresh server; raises PostgresUnavailable (no binaries) or RuntimeError (it did
    not start; the message carries the server log's tail)."""
    bindir = binaries()
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="pg-tier-"))
    socket_dir = root / "sock"
    socket_dir.mkdir()
    os.chmod(root, 0o755)
    os.chmod(socket_dir, 0o755)
    if user is not None:
        for p in (root, socket_dir):
            os.chown(p, *user)
    server = Server(root, socket_dir, _free_port(), bindir, user)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    try:
        init = subprocess.run(server._as_user([str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust",
                                               "-U", SUPERUSER, "--no-sync", "-E", "UTF8", "--no-instructions"]),
                              capture_output=True, text=True, timeout=120, env=env, check=False)
        if init.returncode:
            raise RuntimeError(f"initdb failed: {(init.stderr or init.stdout).strip()[-600:]}")
        options = (f"-k {socket_dir} -p {server.port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB -c timezone=UTC")
        log = root / "server.log"
        if user is not None:
            log.touch()
            os.chown(log, *user)
        started = subprocess.run(server._as_user([str(bindir / "pg_ctl"), "start", "-D", str(root / "data"),
                                                  "-l", str(log), "-o", options, "-w", "-t",
                                                  str(START_TIMEOUT_S)]),
                                 capture_output=True, text=True, timeout=START_TIMEOUT_S + 10, env=env, check=False)
        if started.returncode:
            tail = log.read_text("utf-8", "replace")[-800:] if log.exists() else started.stderr
            raise RuntimeError(f"PostgreSQL did not start: {tail.strip()}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # pg_ctl -w waited for it; a first connection proves the socket is usable
            try:
                server.execute("SELECT 1")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    except BaseException:
        server.stop()
        raise
    return server


def under_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def start_for_tests(environ: Mapping[str, str]) -> Server:
    """start(), for a test: missing binaries FAIL the test under CI (CI=true: the Postgres tier is never skipped
    there) and skip it on a developer's machine, saying what to install."""
    try:
        return start()
    except PostgresUnavailable as exc:
        if under_ci(environ):
            pytest.fail(f"the Postgres tier cannot run under CI: {exc}")
        pytest.skip(str(exc))
