"""The local cloud: official emulators + every function as its own process + the front door.

    python -m emulator.localcloud up        start everything, return when every service answers
    python -m emulator.localcloud down      stop everything it started (by process group)
    python -m emulator.localcloud reset     clear the stored data (local cloud must be down)
    python -m emulator.localcloud status    what is running (pids and ports checked), restarts
    python -m emulator.localcloud supervise (started by `up`) restart dead services with backoff,
                                            re-declare Pub/Sub, export Firestore periodically
    python -m emulator.localcloud env       the environment a client needs (shell exports)
    python -m emulator.localcloud run -- CMD...   up (fresh, isolated ports), run CMD, down

Ports come from firebase.json's `emulators` section and shared/topology.py, shifted by
LOCALCLOUD_PORT_OFFSET so a test run can live beside a running dev cloud.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

PROJECT_ID = os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-factory")
# Settings a caller may pass through to every local process (tests and benchmarks tune these).
LOCAL_OVERRIDES = ("FACTORY_FAULTS", "STAGE_DEADLINE_S", "WATCHDOG_MAX_REDISPATCH", "ENGINE_BY_STAGE",
                   "LOCAL_SCHEDULER_INTERVAL_S", "QA_TIMEOUT_S", "PREVIEW_TTL_S", "LLM_BASE_URL", "LLM_MODEL",
                   "FIRESTORE_OPS_DIR")
READY_TIMEOUT_S = float(os.environ.get("LOCALCLOUD_READY_TIMEOUT_S", "60"))
STOP_TIMEOUT_S = 15.0
# Every process the local cloud starts carries this variable with the instance's random id, so `down`
# finds them all by it, also those that left their process group (a forked child of a killed host).
INSTANCE_VAR = "LOCALCLOUD_INSTANCE"


def say(msg: str) -> None:
    print(f"[localcloud] {msg}", flush=True)


class LocalCloudError(RuntimeError):
    pass


# ---------------------------------------------------------------- where things are


# Every port must stay below Linux's ephemeral range (32768+), where outgoing connections take
# their local ports and could make a listening port unavailable at random.
EPHEMERAL_START = 32768


def offset() -> int:
    return int(os.environ.get("LOCALCLOUD_PORT_OFFSET", "0") or 0)


def state_dir() -> Path:
    return Path(os.environ.get("STATE_DIR") or ROOT / ".local").resolve()


def firebase_config() -> dict:
    return json.loads((ROOT / "firebase.json").read_text())


def ports() -> dict[str, int]:
    emu = firebase_config()["emulators"]
    o = offset()
    out = {name: emu[name]["port"] + o for name in ("firestore", "pubsub", "auth", "tasks", "storage", "hosting", "stripe",
                                                  "mail")}
    out["mail_web"] = emu["mail"]["webPort"] + o  # the mail sink's page and JSON listing
    return out


def _sdk_roots() -> list[Path]:
    roots = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        real = Path(os.path.realpath(gcloud))
        roots.append(real.parent.parent)  # <sdk>/bin/gcloud
        try:
            out = subprocess.run(["gcloud", "info", "--format=value(installation.sdk_root)"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            if out:
                roots.append(Path(out))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return roots


def find_jar(kind: str) -> Path:
    """The emulator jar, found the way a user's machine has it: env, gcloud's install, Firebase cache."""
    env_var = {"firestore": "FIRESTORE_EMULATOR_JAR", "pubsub": "PUBSUB_EMULATOR_JAR"}[kind]
    explicit = os.environ.get(env_var)
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise LocalCloudError(f"{env_var}={explicit} does not exist")
    rel = {
        "firestore": ["platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"],
        "pubsub": ["platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar"],
    }[kind]
    for root in _sdk_roots():
        for pattern in rel:
            hits = sorted(glob.glob(str(root / pattern)))
            if hits:
                return Path(hits[-1])
    cache = Path.home() / ".cache" / "firebase" / "emulators"
    cache_patterns = {
        "firestore": ["cloud-firestore-emulator-v*.jar"],
        "pubsub": ["pubsub-emulator-*/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar"],
    }[kind]
    for pattern in cache_patterns:
        hits = sorted(glob.glob(str(cache / pattern)))
        if hits:
            return Path(hits[-1])
    component = {"firestore": "cloud-firestore-emulator", "pubsub": "pubsub-emulator"}[kind]
    raise LocalCloudError(
        f"The {kind} emulator was not found. Install it with the Google Cloud CLI: "
        f"`gcloud components install {component}` (or the Debian package google-cloud-cli-{component.replace('cloud-', '')}), "
        f"or point {env_var} at the jar."
    )


def java() -> str:
    j = shutil.which("java")
    if not j:
        raise LocalCloudError("Java 17 or newer is needed for the Firestore and Pub/Sub emulators: apt-get install openjdk-17-jre-headless")
    return j


def venv_python() -> str:
    return str(ROOT / ".venv" / "bin" / "python")


def tasks_emulator_bin() -> Path:
    return ROOT / ".venv-tasks" / "bin" / "gcloud-tasks-emulator"


# ---------------------------------------------------------------- ports


def listeners() -> dict[int, int | None]:
    """Every listening TCP port on this machine -> the pid holding it (None: not visible to this
    user). One scan of /proc, so a status check costs one pass however many ports it asks about."""
    inode_port: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A":
                inode_port[parts[9]] = int(parts[1].rsplit(":", 1)[1], 16)
    out: dict[int, int | None] = {port: None for port in inode_port.values()}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inode_port:
                    out[inode_port[link[8:-1]]] = int(pid_dir.name)
        except OSError:
            continue
    return out


def describe_pid(pid: int | None) -> str:
    if pid is None:
        return "an unknown process (not visible to this user)"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = "?"
    return f"pid {pid}: {cmd[:160]}"


def port_owner(port: int) -> str:
    """Which process listens on a TCP port (from /proc; best effort)."""
    return describe_pid(listeners().get(port))


def pgid_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------- services


@dataclass
class Service:
    name: str
    cmd: list[str]
    health: str  # URL that must answer
    env: dict[str, str] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    accept_any_status: bool = False


def client_env(p: dict[str, int] | None = None) -> dict[str, str]:
    """What every local process and test client needs to reach the local cloud."""
    p = p or ports()
    sd = state_dir()
    secrets_file = sd / "run" / "secrets.json"
    if secrets_file.exists():
        sec = json.loads(secrets_file.read_text())
    else:
        sec = {"service_token": secrets.token_urlsafe(24), "webhook_secret": "whsec_" + secrets.token_hex(24)}
    return {
        "FACTORY_ENV": "local",
        "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{p['firestore']}",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{p['pubsub']}",
        "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{p['auth']}",
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{p['tasks']}",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{p['storage']}",
        "ARTIFACTS_BUCKET": f"{PROJECT_ID}-factory-artifacts",
        "STRIPE_API_BASE": f"http://127.0.0.1:{p['stripe']}",
        "SMTP_EMULATOR_HOST": f"127.0.0.1:{p['mail']}",
        "MAIL_SINK_URL": f"http://127.0.0.1:{p['mail_web']}",
        "STRIPE_SECRET_KEY": "sk_test_localfake",
        "STRIPE_WEBHOOK_SECRET": sec["webhook_secret"],
        "SERVICE_TOKEN": sec["service_token"],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{p['hosting']}",
        "FUNCTION_URL_TEMPLATE": "http://127.0.0.1:{port}",
        "LOCALCLOUD_PORT_OFFSET": str(offset()),
        "STATE_DIR": str(sd),
        "FRONT_DOOR_URL": f"http://127.0.0.1:{p['hosting']}",
        **{k: os.environ[k] for k in LOCAL_OVERRIDES if k in os.environ},
    }


def services(env: dict[str, str], fresh: bool) -> list[Service]:
    p = ports()
    sd = state_dir()
    data = sd / "data"
    fs_data = data / "firestore"
    fs_cmd = [java(), "-Duser.language=en", "-Xss4m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
              "-cp", str(find_jar("firestore")),
              "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
              "--host=127.0.0.1", f"--port={p['firestore']}", f"--rules={ROOT / 'firestore.rules'}",
              f"--project_id={PROJECT_ID}"]
    if not fresh:
        exports = sorted(fs_data.glob("*/*.overall_export_metadata"))
        if exports:
            fs_cmd.append(f"--import-data={exports[-1]}")
    node = shutil.which("node") or "node"
    fn_ports = [f.port + offset() for f in topology.FUNCTIONS]
    emulators_json = json.dumps({
        "projectId": PROJECT_ID,
        "auth": f"127.0.0.1:{p['auth']}",
        "firestore": {"host": "127.0.0.1", "port": p["firestore"]},
        "stripe": f"http://127.0.0.1:{p['stripe']}",
    })
    svcs = [
        Service("firestore", fs_cmd, f"http://127.0.0.1:{p['firestore']}/", ports=[p["firestore"]]),
        Service("pubsub", [java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(find_jar("pubsub")),
                           "--host=127.0.0.1", f"--port={p['pubsub']}"],
                f"http://127.0.0.1:{p['pubsub']}/", ports=[p["pubsub"]]),
        Service("auth", [node, str(ROOT / "emulator" / "auth_emulator.js")],
                f"http://127.0.0.1:{p['auth']}/",
                env={"AUTH_PORT": str(p["auth"]), "AUTH_DATA_DIR": str(data / "auth"),
                     "AUTH_EXPORT_INTERVAL_S": os.environ.get("LOCALCLOUD_EXPORT_INTERVAL_S", "30")},
                ports=[p["auth"]]),
        Service("tasks", [str(tasks_emulator_bin()), "start", "-p", str(p["tasks"]), "-q",
                          "-d", f"projects/{PROJECT_ID}/locations/us-central1/queues/{topology.WATCHDOG_QUEUE}"],
                f"h2://127.0.0.1:{p['tasks']}", ports=[p["tasks"]]),
        # Cloud Storage (run artifacts): firebase-tools' Storage emulator, which speaks the GCS JSON API.
        Service("storage", [node, str(ROOT / "emulator" / "storage_emulator.js")],
                f"http://127.0.0.1:{p['storage']}/storage/v1/b/{env['ARTIFACTS_BUCKET']}/o?maxResults=1",
                env={"STORAGE_PORT": str(p["storage"]), "STORAGE_DATA_DIR": str(data / "storage"),
                     "TMPDIR": str(sd / "tmp" / "storage")},
                ports=[p["storage"]]),
        Service("stripe", [venv_python(), "-m", "emulator.stripe_fake", "--host", "127.0.0.1",
                           "--port", str(p["stripe"]),
                           "--webhook-url", f"http://127.0.0.1:{p['hosting']}/api/stripe/webhook",
                           "--webhook-secret", env["STRIPE_WEBHOOK_SECRET"]],
                f"http://127.0.0.1:{p['stripe']}/_fake/health", ports=[p["stripe"]]),
        # Run notifications' SMTP sink (the local SendGrid): keeps what it receives, lists it on a small page.
        Service("mail", [venv_python(), "-m", "emulator.mailsink", "--smtp-port", str(p["mail"]),
                         "--web-port", str(p["mail_web"]), "--store", str(data / "mail.jsonl")],
                f"http://127.0.0.1:{p['mail_web']}/health", ports=[p["mail"], p["mail_web"]]),
        Service("functions", [venv_python(), "-m", "emulator.functions_host",
                              "--pids-file", str(sd / "run" / "functions.json")],
                "functions", ports=fn_ports),  # each function's port is checked on its own
        Service("scheduler", [venv_python(), "-m", "emulator.scheduler"], "process"),
        Service("frontdoor", [venv_python(), "-m", "emulator.frontdoor", "--port", str(p["hosting"]),
                              "--offset", str(offset()), "--emulators-json", emulators_json],
                f"http://127.0.0.1:{p['hosting']}/__/health", ports=[p["hosting"]]),
    ]
    return svcs


HEALTH_TIMEOUT_S = float(os.environ.get("LOCALCLOUD_HEALTH_TIMEOUT_S", "2"))
# An empty HTTP/2 SETTINGS frame after the client preface: a gRPC server (the Cloud Tasks emulator)
# answers with a SETTINGS frame of its own; a frozen one accepts the TCP connection and says nothing.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _h2_answers(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(H2_PREFACE)
            head = sock.recv(9)
            return len(head) >= 4 and head[3] == 0x04  # frame type SETTINGS
    except OSError:
        return False


def _answers(url: str, timeout: float = 0.5, any_status: bool = False) -> bool:
    """Whether the service behind `url` answers a request (not merely accepts a connection):
    `h2://host:port` sends the HTTP/2 preface (gRPC servers); http URLs a GET. `any_status`: any
    HTTP answer counts (a process that answers 500 is alive, if unhealthy)."""
    if url.startswith("h2://"):
        host, port = url[5:].split(":")
        return _h2_answers(host, int(port), timeout)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return any_status or r.status < 500
    except urllib.error.HTTPError as e:
        return any_status or e.code < 500
    except (OSError, urllib.error.URLError):
        return False


def _function_urls() -> dict[str, str]:
    return {f.name: f"http://127.0.0.1:{f.port + offset()}/" for f in topology.FUNCTIONS}


# ---------------------------------------------------------------- pub/sub, tasks wiring


def wire_pubsub(env: dict[str, str]) -> None:
    """Create topics and push subscriptions from shared.topology (idempotent)."""
    os.environ.update(env)
    from infra import declare

    declare.apply_pubsub_local(env)


# ---------------------------------------------------------------- life cycle


def run_file() -> Path:
    return state_dir() / "run" / "localcloud.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def running() -> dict | None:
    f = run_file()
    if not f.exists():
        return None
    state = json.loads(f.read_text())
    if any(_alive(s["pid"]) for s in state["services"].values()):
        return state
    return None


def up(fresh: bool = False) -> dict:
    t0 = time.monotonic()
    existing = running()
    if existing:
        sup = existing.get("supervisor") or {}
        if not (sup.get("pid") and _alive(sup["pid"])):
            base_env = {**os.environ, **existing["env"], "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                        INSTANCE_VAR: existing.get("instance", "")}
            existing["supervisor"] = _start_supervisor(base_env)
            write_state(existing)
            say(f"already running, but its supervisor (pid {sup.get('pid') or '-'}) was gone: started a new one "
                f"(pid {existing['supervisor']['pid']}); it restarts any dead service")
        else:
            say(f"already running (started {existing['started_at']}); nothing to do. `make down` stops it.")
        print_table(existing)
        return existing
    sd = state_dir()
    (sd / "run").mkdir(parents=True, exist_ok=True)
    (sd / "logs").mkdir(parents=True, exist_ok=True)
    if fresh:
        shutil.rmtree(sd / "data", ignore_errors=True)
    (sd / "data").mkdir(parents=True, exist_ok=True)
    if not tasks_emulator_bin().exists():
        raise LocalCloudError("The Cloud Tasks emulator virtualenv is missing: run `make bootstrap`.")
    if not (ROOT / "emulator" / "node_modules" / "firebase-tools").exists():
        raise LocalCloudError("firebase-tools is not installed: run `make bootstrap` (npm ci in emulator/).")

    env = client_env()
    secrets_file = sd / "run" / "secrets.json"
    secrets_file.write_text(json.dumps({"service_token": env["SERVICE_TOKEN"],
                                        "webhook_secret": env["STRIPE_WEBHOOK_SECRET"]}))
    svcs = services(env, fresh)
    high = [port for s in svcs for port in s.ports if port >= EPHEMERAL_START]
    if high:
        say(f"warning: LOCALCLOUD_PORT_OFFSET={offset()} puts ports in the ephemeral range ({min(high)}+ >= "
            f"{EPHEMERAL_START}); outgoing connections may take them. Prefer an offset that keeps them below.")
    busy = [(s.name, port) for s in svcs for port in s.ports if not port_free(port)]
    if busy:
        lines = [f"port {port} (for {name}) is already in use by {port_owner(port)}" for name, port in busy]
        raise LocalCloudError("cannot start:\n  " + "\n  ".join(lines)
                              + "\nStop that process, or set LOCALCLOUD_PORT_OFFSET to shift every port.")

    instance = secrets.token_hex(8)
    base_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", INSTANCE_VAR: instance}
    state = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "offset": offset(), "fresh": fresh,
             "ports": ports(), "services": {}, "functions": _function_urls(), "env": env, "instance": instance}
    procs: dict[str, subprocess.Popen] = {}
    try:
        for s in svcs:
            log = open(sd / "logs" / f"{s.name}.log", "ab")
            procs[s.name] = subprocess.Popen(s.cmd, cwd=ROOT, env={**base_env, **s.env}, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            log.close()
            state["services"][s.name] = {"pid": procs[s.name].pid, "pgid": procs[s.name].pid,
                                         "health": s.health, "log": str(sd / "logs" / f"{s.name}.log"),
                                         "cmd": s.cmd, "env": s.env, "ports": s.ports, "restarts": 0,
                                         "started_at": time.time()}
        run_file().write_text(json.dumps(state, indent=1))

        pending = {s.name: s for s in svcs}
        fn_pending = set(_function_urls().items())
        wired = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        while pending or not wired:
            for name, s in list(pending.items()):
                proc = procs[name]
                if proc.poll() is not None:
                    raise LocalCloudError(f"{name} exited with code {proc.returncode} while starting; "
                                          f"see {sd / 'logs' / (name + '.log')}:\n" + _tail(sd / "logs" / f"{name}.log"))
                if s.health == "process":
                    del pending[name]
                elif name == "functions":
                    fn_pending = {(n, u) for n, u in fn_pending if not _answers(u)}
                    if not fn_pending:
                        del pending[name]
                elif _answers(s.health):
                    del pending[name]
                    say(f"{name} ready after {time.monotonic() - t0:.1f}s")
            if not wired and "pubsub" not in pending:
                wire_pubsub(env)
                wired = True
            if pending or not wired:
                if time.monotonic() > deadline:
                    missing = sorted(pending) + [n for n, _ in sorted(fn_pending)]
                    raise LocalCloudError(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(missing)}; "
                                          f"logs are in {sd / 'logs'}")
                time.sleep(0.05)
    except BaseException:
        say("start failed; stopping what was started")
        _stop_all(state)
        run_file().unlink(missing_ok=True)
        raise
    state["ready_s"] = round(time.monotonic() - t0, 2)
    state["supervisor"] = _start_supervisor(base_env)
    write_state(state)
    say(f"all services answer after {state['ready_s']}s")
    print_table(state)
    return state


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def print_table(state: dict) -> None:
    p = state["ports"]
    rows = [
        ("dashboard + API (front door)", f"http://127.0.0.1:{p['hosting']}/"),
        ("Firestore emulator", f"127.0.0.1:{p['firestore']}"),
        ("Pub/Sub emulator", f"127.0.0.1:{p['pubsub']}"),
        ("Auth emulator", f"127.0.0.1:{p['auth']}"),
        ("Cloud Tasks emulator", f"127.0.0.1:{p['tasks']}"),
        ("Cloud Storage emulator", f"http://127.0.0.1:{p['storage']}/"),
        ("Stripe fake", f"http://127.0.0.1:{p['stripe']}/"),
    ] + ([("mail sink (SMTP " + str(p["mail"]) + ")", f"http://127.0.0.1:{p['mail_web']}/")] if "mail" in p else []) \
        + [(f"function {n}", u) for n, u in state["functions"].items()]
    width = max(len(r[0]) for r in rows)
    for name, url in rows:
        print(f"  {name.ljust(width)}  {url}")
    print(f"  logs: {state_dir() / 'logs'}")


def export_firestore(state: dict, force: bool = False) -> str | None:
    """Export Firestore through the emulator's REST API (its --export-on-exit does not fire on
    SIGTERM). Written beside the old export, then swapped in, so a failed export loses nothing.
    `force`: also for a fresh (test) cloud, whose supervisor exports so a crash can be undone."""
    if state.get("fresh") and not force:
        return None
    data = state_dir() / "data"
    tmp = data / "firestore.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    port = state["ports"]["firestore"]
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/emulator/v1/projects/{PROJECT_ID}:export",
        data=json.dumps({"database": f"projects/{PROJECT_ID}/databases/(default)",
                         "export_directory": str(tmp)}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
    except (OSError, urllib.error.URLError) as exc:
        say(f"Firestore export failed ({exc}); the previous export is kept")
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    shutil.rmtree(data / "firestore", ignore_errors=True)
    tmp.rename(data / "firestore")
    return str(data / "firestore")


def _stop_all(state: dict) -> None:
    """Stop by process group: first what makes new writes, then export Firestore, then emulators."""
    svcs = state["services"]
    workers = [n for n in ("frontdoor", "scheduler", "functions", "stripe", "tasks", "mail") if n in svcs]
    emulators = [n for n in svcs if n not in workers]
    _stop_groups(svcs, workers)
    # Previews started by the deployment stage live in their own groups.
    try:
        from shared.engine import preview

        preview.stop_all(str(state_dir()))
    except ImportError:
        pass
    if "firestore" in svcs and _alive(svcs["firestore"]["pid"]):
        where = export_firestore(state)
        if where:
            say(f"Firestore data exported to {where}")
    _stop_groups(svcs, emulators)


def _stop_groups(svcs: dict, names: list[str]) -> None:
    for name in names:
        try:
            os.killpg(svcs[name]["pgid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for name in names:
        pgid = svcs[name]["pgid"]
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.05)
        if _group_alive(pgid):
            say(f"{name} did not stop within {STOP_TIMEOUT_S:.0f}s; killing it")
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def kill_group(pgid: int, wait_s: float = 5.0) -> int:
    """SIGKILL every process of a process group and wait for them to go; how many are left."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return 0
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.05)
    return sum(1 for d in Path("/proc").iterdir() if d.name.isdigit() and pgid_of(int(d.name)) == pgid
               and _alive(int(d.name)))


def _group_alive(pgid: int) -> bool:
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fields = (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def instance_processes(instance: str) -> list[int]:
    """Live processes (not zombies) whose environment carries this local cloud's instance id."""
    if not instance:
        return []
    needle = f"{INSTANCE_VAR}={instance}".encode()
    me = os.getpid()
    out = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == me:
            continue
        try:
            if needle not in (pid_dir / "environ").read_bytes().split(b"\0"):
                continue
            if (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        except OSError:
            continue
        out.append(int(pid_dir.name))
    return out


def survivors(state: dict) -> list[str]:
    """What is left of a stopped local cloud: its processes (by instance id) and its ports still
    held by anyone. Empty when the stop was complete."""
    left = [f"process {describe_pid(pid)}" for pid in instance_processes(state.get("instance", ""))]
    held = listeners()
    all_ports = [port for s in state["services"].values() for port in s.get("ports") or []]
    left += [f"port {port} held by {describe_pid(held[port])}" for port in all_ports if port in held]
    return left


def down() -> int:
    """Stop everything; 0 when no process it started is left and its ports are free, else 1 (named)."""
    f = run_file()
    if not f.exists():
        say("not running")
        return 0
    state = json.loads(f.read_text())
    sup = state.get("supervisor") or {}
    if sup.get("pgid"):
        # First the supervisor, so nothing is restarted while stopping; then read the state it kept
        # (it records the pids of every service it restarted).
        _stop_groups({"supervisor": sup}, ["supervisor"])
        state = json.loads(f.read_text())
    say("stopping " + ", ".join(state["services"]))
    t0 = time.monotonic()
    _stop_all(state)
    stray = instance_processes(state.get("instance", ""))
    if stray:
        say(f"{len(stray)} process(es) it started outlived their groups; killing them: "
            + "; ".join(describe_pid(pid) for pid in stray))
        for pid in stray:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    left = survivors(state)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = survivors(state)
    if left:
        say("NOT STOPPED: " + "; ".join(left) + f"\nThe state is kept in {f}; stop these, then run `make down` again.")
        return 1
    f.unlink(missing_ok=True)
    say(f"stopped in {time.monotonic() - t0:.1f}s; data kept in {state_dir() / 'data'} (make reset clears it)")
    return 0


def reset() -> None:
    if running():
        raise LocalCloudError("the local cloud is running; `make down` first, then `make reset`")
    shutil.rmtree(state_dir() / "data", ignore_errors=True)
    say(f"cleared {state_dir() / 'data'}")


def _check_ports(ports_: list[int], pgid: int | None, held: dict[int, int | None]) -> str | None:
    """None when every port is held by the service's own process group; else what is wrong."""
    for port in ports_:
        if port not in held:
            return f"port {port} not listening"
        holder = held[port]
        if holder is None or pgid is None or pgid_of(holder) != pgid:
            return f"port {port} held by a stranger ({describe_pid(holder)})"
    return None


def service_word(alive: bool, port_problem: str | None, answers: bool | None) -> str:
    """One service's status word: `up` only when its process lives, holds its ports and answers a
    request (`answers` None: a process without a port, judged by being alive)."""
    if not alive:
        return "DOWN (process gone)" + (f"; {port_problem}" if port_problem and "stranger" in port_problem else "")
    if port_problem:
        return f"NOT SERVING ({port_problem})"
    if answers is False:
        return "NOT ANSWERING (it holds its port but does not answer a request: frozen or overloaded)"
    return "up"


def status() -> int:
    """Every service checked as a client would: its process alive, its ports held by its own process
    group (a port held by anyone else is named), and a request answered within
    LOCALCLOUD_HEALTH_TIMEOUT_S (HTTP, or the HTTP/2 preface for gRPC). A dead supervisor counts as
    down. Exit 0 only when everything is up."""
    f = run_file()
    if not f.exists():
        say("not running")
        return 1
    state = json.loads(f.read_text())
    bad = 0
    held = listeners()
    sup = state.get("supervisor") or {}
    sup_ok = bool(sup.get("pid")) and _alive(sup["pid"])
    bad += not sup_ok
    print(f"  {'supervisor':22s} pid {sup.get('pid') or '-':<7} "
          f"{'up' if sup_ok else 'DOWN (dead services are not restarted; `make up` starts a new supervisor)'}")
    for name, s in state["services"].items():
        alive = _alive(s["pid"])
        problem = _check_ports(s.get("ports") or [], s.get("pgid"), held) if name != "functions" else None
        if s["health"] in ("process", "functions"):
            answers = None
        else:
            answers = _answers(s["health"], timeout=HEALTH_TIMEOUT_S, any_status=True)
        word = service_word(alive, problem, answers)
        bad += word != "up"
        extra = f"  restarts {s.get('restarts', 0)}" if s.get("restarts") else ""
        print(f"  {name:22s} pid {s['pid']:<7d} {word}{extra}")
    fn_file = state_dir() / "run" / "functions.json"
    fns = json.loads(fn_file.read_text()) if fn_file.exists() else {}
    host_pgid = (state["services"].get("functions") or {}).get("pgid")
    for name, fi in fns.items():
        alive = bool(fi.get("pid")) and _alive(fi["pid"])
        if fi.get("state") == "crash-looping":
            word = f"CRASH-LOOPING (restarting every {fi.get('next_start_s') or '?'}s, exit {fi.get('exit')})"
        else:
            problem = _check_ports([fi["port"]], host_pgid, held)
            answers = _answers(f"http://127.0.0.1:{fi['port']}/", timeout=HEALTH_TIMEOUT_S, any_status=True) \
                if alive and not problem else None
            word = service_word(alive, problem, answers)
        bad += word != "up"
        extra = f"  restarts {fi.get('restarts', 0)}" if fi.get("restarts") else ""
        print(f"    function {name:22s} pid {fi.get('pid') or '-':<7} port {fi['port']} {word}{extra}")
    if state.get("last_export_at"):
        print(f"  last Firestore export {time.time() - state['last_export_at']:.0f}s ago")
    print_table(state)
    if bad:
        say(f"{bad} problem(s) above")
    return 1 if bad else 0


# ---------------------------------------------------------------- supervision

SUPERVISE_TICK_S = 0.5
MAX_RESTART_BACKOFF_S = 30.0


def write_state(state: dict) -> None:
    tmp = run_file().with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, run_file())


def _start_supervisor(base_env: dict) -> dict:
    log = open(state_dir() / "logs" / "supervisor.log", "ab")
    proc = subprocess.Popen([venv_python(), "-m", "emulator.localcloud", "supervise"], cwd=ROOT, env=base_env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    return {"pid": proc.pid, "pgid": proc.pid}


def _firestore_restart_cmd(cmd: list[str]) -> list[str]:
    """The Firestore command, importing the newest export (what survives a crash)."""
    cmd = [c for c in cmd if not c.startswith("--import-data=")]
    exports = sorted((state_dir() / "data" / "firestore").glob("*.overall_export_metadata"))
    exports = exports or sorted((state_dir() / "data" / "firestore").glob("*/*.overall_export_metadata"))
    return cmd + ([f"--import-data={exports[-1]}"] if exports else [])


def supervise() -> None:
    """Keep the local cloud alive: restart a dead service with exponential backoff (0.5 s doubling
    to 30 s while it keeps dying within 10 s), re-declare the Pub/Sub topology after the Pub/Sub
    emulator restarts, and export Firestore every LOCALCLOUD_EXPORT_INTERVAL_S (default 30 s)
    and right after a restarted Firestore is ready, so a crash loses at most one interval."""
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    export_every = float(os.environ.get("LOCALCLOUD_EXPORT_INTERVAL_S", "30"))
    last_export = time.monotonic()
    rewire = export_now = False
    while not stopping:
        if not run_file().exists():
            return
        state = json.loads(run_file().read_text())
        changed = False
        for name, svc in state["services"].items():
            if stopping or _alive(svc["pid"]):
                continue
            now = time.time()
            if svc.get("next_restart_at") is None:
                # Its children (a host's functions, gunicorn workers) outlive it in its process group and
                # keep its ports: the whole group goes before anything new starts.
                left = kill_group(svc["pgid"])
                if left:
                    say(f"{name}: {left} process(es) of its group would not die; restarting anyway")
                quick = now - svc.get("started_at", 0) < 10
                svc["quick_deaths"] = svc.get("quick_deaths", 0) + 1 if quick else 0
                delay = min(MAX_RESTART_BACKOFF_S, 0.5 * 2 ** max(0, svc["quick_deaths"] - 1))
                svc["next_restart_at"] = now + delay
                say(f"{name} (pid {svc['pid']}) died; restarting in {delay:.1f}s")
                changed = True
                continue
            if now < svc["next_restart_at"]:
                continue
            held = listeners()
            busy = [port for port in svc.get("ports") or [] if port in held]
            if busy:
                if now - svc.get("port_wait_logged_at", 0) > 10:
                    say(f"{name} cannot restart yet: " + "; ".join(
                        f"port {port} held by {describe_pid(held[port])}" for port in busy))
                    svc["port_wait_logged_at"] = now
                    changed = True
                continue
            cmd = _firestore_restart_cmd(svc["cmd"]) if name == "firestore" else svc["cmd"]
            log = open(svc["log"], "ab")
            proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(svc.get("env") or {})}, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            svc.update(pid=proc.pid, pgid=proc.pid, restarts=svc.get("restarts", 0) + 1, started_at=time.time(),
                       next_restart_at=None, last_restart_at=time.time())
            say(f"{name} restarted as pid {proc.pid} (restart {svc['restarts']})"
                + (f", importing {cmd[-1].split('=', 1)[1]}" if name == "firestore" and "--import-data" in cmd[-1] else ""))
            rewire = rewire or name == "pubsub"
            export_now = export_now or name == "firestore"
            changed = True
        if changed:
            write_state(state)
        if rewire and _answers(state["services"]["pubsub"]["health"]):
            try:
                wire_pubsub(state["env"])
                rewire = False
                say("Pub/Sub topology re-declared")
            except Exception as exc:  # noqa: BLE001 - try again next tick
                say(f"re-declaring Pub/Sub failed ({exc}); retrying")
        fs = state["services"].get("firestore")
        due = export_now or time.monotonic() - last_export >= export_every
        if fs and due and _alive(fs["pid"]) and _answers(fs["health"]):
            started = time.time()  # the snapshot holds what was written before it began, not before it ended
            if export_firestore(state, force=True):
                state = json.loads(run_file().read_text())
                state["last_export_at"] = started
                write_state(state)
            last_export = time.monotonic()
            export_now = False
        end = time.monotonic() + SUPERVISE_TICK_S
        while not stopping and time.monotonic() < end:
            time.sleep(0.05)


def run(cmd: list[str]) -> int:
    """Start a fresh local cloud, run a command against it, and always stop it."""
    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        state = up(fresh=True)
    except LocalCloudError as exc:
        say(str(exc))
        return 2
    rc = 130
    try:
        env = {**os.environ, **state["env"], "PYTHONPATH": str(ROOT)}
        rc = subprocess.call(cmd, env=env, cwd=ROOT)
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        stopped = down()
    return rc or stopped


def main() -> None:
    ap = argparse.ArgumentParser(prog="localcloud")
    ap.add_argument("command", choices=["up", "down", "reset", "status", "env", "run", "supervise"])
    ap.add_argument("--fresh", action="store_true", help="start with empty data and do not export on exit")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    try:
        if args.command == "up":
            up(fresh=args.fresh)
        elif args.command == "down":
            sys.exit(down())
        elif args.command == "reset":
            reset()
        elif args.command == "status":
            sys.exit(status())
        elif args.command == "supervise":
            supervise()
        elif args.command == "env":
            for k, v in client_env().items():
                print(f"export {k}='{v}'")
        elif args.command == "run":
            rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
            sys.exit(run(rest))
    except LocalCloudError as exc:
        say(f"error: {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
