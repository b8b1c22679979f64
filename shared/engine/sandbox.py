"""Running generated code in an isolated child process.

Isolation applied to every child:

* a fresh temporary directory (HOME, TMPDIR and the working directory live in it);
* an environment built from scratch (PATH, HOME, TMPDIR, LANG, PYTHONDONTWRITEBYTECODE, PYTHONHASHSEED=0,
  PYTHONNOUSERSITE, MALLOC_ARENA_MAX=2, PYTHONPATH=<guard dir>) — nothing is copied from os.environ, so no parent secret leaks;
* resource limits set by tiny launcher interpreters that set them and exec the real command (never a
  `preexec_fn`: no Python runs between fork and exec in the stage process, which holds live gRPC state):
  `preview.limited_argv` sets RLIMIT_AS (memory), RLIMIT_FSIZE (largest file) and RLIMIT_CORE=0, and
  `_CPU_LAUNCHER` RLIMIT_CPU (CPU seconds); plus a wall-clock limit enforced by the parent, which kills the
  child's whole process group (the child runs in its own session);
* network: for QA the child runs under `unshare -rn` (a new, empty network namespace: only loopback, which
  the guard brings up so tests can talk to fake servers they start on 127.0.0.1) when a runtime probe shows
  that works, and *always* with a `sitecustomize.py` socket guard on
  PYTHONPATH that refuses connects/sends to non-loopback addresses and DNS lookups of other hosts. When
  unshare is unavailable the guard alone remains (recorded as such). Previews need loopback reachable from
  the parent, so they get the guard only.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

OUTPUT_CAP = 256 * 1024

GUARD_SOURCE = '''\
"""SaaS Factory sandbox guard (sitecustomize): no network except loopback."""
import ipaddress as _ip
import socket as _socket

_orig_connect = _socket.socket.connect
_orig_connect_ex = _socket.socket.connect_ex
_orig_sendto = _socket.socket.sendto
_orig_getaddrinfo = _socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _host_allowed(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0].strip("[]")
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return _ip.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(sock, address):
    if sock.family not in (_socket.AF_INET, _socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not _host_allowed(host):
        raise PermissionError(13, "network access blocked by the SaaS Factory sandbox: %r" % (host,))


def _connect(self, address):
    _check(self, address)
    return _orig_connect(self, address)


def _connect_ex(self, address):
    try:
        _check(self, address)
    except PermissionError:
        return 13
    return _orig_connect_ex(self, address)


def _sendto(self, data, *args):
    address = args[-1] if args else None
    if address is not None:
        _check(self, address)
    return _orig_sendto(self, data, *args)


def _getaddrinfo(host, *args, **kwargs):
    if not _host_allowed(host):
        raise _socket.gaierror(_socket.EAI_NONAME, "name resolution blocked by the SaaS Factory sandbox")
    return _orig_getaddrinfo(host, *args, **kwargs)


_socket.socket.connect = _connect
_socket.socket.connect_ex = _connect_ex
_socket.socket.sendto = _sendto
_socket.getaddrinfo = _getaddrinfo


def _loopback_up():
    """QA's fresh network namespace starts with loopback down: bring it up, so tests can reach servers they
    start on 127.0.0.1 (fake LLM / Stripe servers). Nothing else exists in that namespace. Best effort."""
    try:
        import fcntl as _fcntl
        import struct as _struct
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        try:
            flags = _struct.unpack("16sH14s", _fcntl.ioctl(s, 0x8913, _struct.pack("16sH14s", b"lo", 0, b"")))[1]
            if not flags & 0x1:  # SIOCGIFFLAGS / SIOCSIFFLAGS, IFF_UP
                _fcntl.ioctl(s, 0x8914, _struct.pack("16sH14s", b"lo", flags | 0x1, b""))
        finally:
            s.close()
    except Exception:
        pass


_loopback_up()
'''


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    isolation: str
    signal_name: str | None = None


def _net_ns_id() -> str | None:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return None


@functools.lru_cache(maxsize=8)
def probe_unshare(python: str) -> tuple[str, ...] | None:
    """The unshare prefix that gives a child its own network namespace here, or None.

    Tries `unshare -rn` (works unprivileged where user namespaces are allowed) then `unshare -n` (root), and
    only accepts one if the child really is in a different namespace and cannot open a TCP connection to a
    documentation address (192.0.2.1, TEST-NET-1: in an empty namespace this fails locally without sending).
    """
    parent_ns = _net_ns_id()
    check = (
        "import os, socket, sys\n"
        "ns = os.readlink('/proc/self/ns/net')\n"
        "if ns == sys.argv[1]:\n"
        "    print('same-ns'); sys.exit(3)\n"
        "s = socket.socket(); s.settimeout(1)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9))\n"
        "except OSError:\n"
        "    print('isolated'); sys.exit(0)\n"
        "print('connected'); sys.exit(4)\n"
    )
    for prefix in (("unshare", "-rn"), ("unshare", "-n")):
        try:
            proc = subprocess.run(
                [*prefix, python, "-S", "-c", check, parent_ns or "unknown"],
                capture_output=True, text=True, timeout=10, env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
                stdin=subprocess.DEVNULL, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == "isolated":
            return prefix
    return None


def write_guard(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(GUARD_SOURCE, encoding="utf-8")
    return directory


def isolated_env(home: Path, guard_dir: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A from-scratch environment: never derived from os.environ."""
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        # glibc gives each thread that allocates its own 64 MB arena of address space (up to 8 per core): the
        # generated race tests' 20 threads would spend RLIMIT_AS on reservations they never use
        "MALLOC_ARENA_MAX": "2",
    }
    if guard_dir is not None:
        env["PYTHONPATH"] = str(guard_dir)
    if extra:
        env.update(extra)
    return env


# Sets RLIMIT_CPU, then replaces itself with the real command (preview.limited_argv's launcher does the same
# for memory, file size and core dumps).
_CPU_LAUNCHER = (
    "import os, resource, sys\n"
    "cpu = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def limited_command(argv: list[str], *, cpu_s: int | None, memory_mb: int | None, fsize_mb: int = 256,
                    python: str | None = None) -> list[str]:
    """`argv` behind the launchers that apply the sandbox's rlimits and exec it (no preexec_fn needed)."""
    from .preview import limited_argv  # preview imports this module

    python = python or sys.executable
    if argv and not os.path.isabs(argv[0]):  # the launcher uses execv: give it a path (e.g. for `unshare`)
        argv = [shutil.which(argv[0]) or argv[0], *argv[1:]]
    if cpu_s:
        argv = [python, "-I", "-S", "-c", _CPU_LAUNCHER, str(int(cpu_s)), *argv]
    return limited_argv(argv, python, memory_mb=memory_mb, fsize_mb=fsize_mb)


def limits_preexec(cpu_s: int | None, memory_mb: int | None, fsize_mb: int = 256):
    """A preexec_fn that only calls setrlimit. Not used by `run_isolated` any more (see `limited_command`);
    kept for callers outside the stage process."""
    set_limit = resource.setrlimit

    def apply():
        if memory_mb:
            as_bytes = int(memory_mb) * 1024 * 1024
            set_limit(resource.RLIMIT_AS, (as_bytes, as_bytes))
        if cpu_s:
            set_limit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 2))
        fsize = int(fsize_mb) * 1024 * 1024
        set_limit(resource.RLIMIT_FSIZE, (fsize, fsize))
        set_limit(resource.RLIMIT_CORE, (0, 0))

    return apply


def network_prefix(python: str, mode: str) -> tuple[tuple[str, ...], str]:
    """(argv prefix, isolation description) for `mode` in auto|unshare|sitecustomize."""
    if mode not in ("auto", "unshare", "sitecustomize"):
        from .types import EngineConfigError

        raise EngineConfigError(f"qa_network_isolation must be auto, unshare or sitecustomize, not {mode!r}")
    if mode in ("auto", "unshare"):
        prefix = probe_unshare(python)
        if prefix:
            return prefix, f"netns ({' '.join(prefix)}) + sitecustomize socket guard"
        if mode == "unshare":
            log.warning("unshare requested but unavailable; falling back to the socket guard")
    return (), "sitecustomize socket guard (no network namespace)"


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _cap(text: str) -> str:
    return text if len(text) <= OUTPUT_CAP else text[:OUTPUT_CAP] + "\n[... output truncated ...]\n"


def run_isolated(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    cpu_s: int | None,
    memory_mb: int | None,
    net_prefix: tuple[str, ...] = (),
    isolation: str = "",
) -> SandboxResult:
    """Run argv to completion (or until the wall-clock limit), capturing output."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        proc = subprocess.Popen(
            limited_command([*net_prefix, *argv], cpu_s=cpu_s, memory_mb=memory_mb),
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_f,
            stderr=err_f,
            start_new_session=True,
            close_fds=True,
        )
        timed_out = False
        try:
            proc.wait(timeout=max(0.1, timeout_s))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait(timeout=10)
        finally:
            _kill_group(proc)  # anything the child left running in its group
        out_f.seek(0)
        err_f.seek(0)
        stdout = out_f.read(OUTPUT_CAP + 1).decode("utf-8", "replace")
        stderr = err_f.read(OUTPUT_CAP + 1).decode("utf-8", "replace")
    rc = proc.returncode
    sig = None
    if rc is not None and rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
    return SandboxResult(
        returncode=rc,
        stdout=_cap(stdout),
        stderr=_cap(stderr),
        timed_out=timed_out,
        duration_s=round(time.monotonic() - start, 3),
        isolation=isolation,
        signal_name=sig,
    )
