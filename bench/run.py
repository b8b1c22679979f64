"""`make bench`: every benchmark in one process run, against local clouds this run starts itself.

Writes bench/results.json ({"machine", "metrics": {name: {"p50_ms","p95_ms","n"} | number}}) and
bench/results.md (each figure beside its target). Timings are wall clock on this machine; where a
figure has a floor (stage_hop vs raw_push_latency) the ratio is measured in the same run.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT_JSON = ROOT / "bench" / "results.json"
extra_notes: list[str] = []
OUT_MD = ROOT / "bench" / "results.md"


def say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def dist(samples_s: list[float]) -> dict:
    xs = sorted(x * 1000 for x in samples_s)
    if not xs:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    p95 = xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs))) - 1))]
    return {"p50_ms": round(statistics.median(xs), 2), "p95_ms": round(p95, 2), "n": len(xs)}


def localcloud(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator.localcloud", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def base_env(extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("LOCALCLOUD_PORT_OFFSET", "10000")
    env.setdefault("STATE_DIR", str(ROOT / ".local" / "bench"))
    env.update(extra or {})
    return env


def start_cloud(extra: dict | None = None) -> tuple[dict, float]:
    env = base_env(extra)
    localcloud("down", env=env)
    t0 = time.perf_counter()
    p = localcloud("up", "--fresh", env=env)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"local cloud did not start:\n{p.stdout}\n{p.stderr}")
    state = json.loads((Path(env["STATE_DIR"]) / "run" / "localcloud.json").read_text())
    cloud_env = {**env, **state["env"]}
    os.environ.update(state["env"])
    from shared import settings

    settings.get_settings.cache_clear()
    return cloud_env, elapsed


def stop_cloud(env: dict) -> None:
    localcloud("down", env=env)


def bench_function_cold_start(name: str, n: int = 5) -> tuple[dict, dict]:
    """Process start to first answered request of one function, started as the Cloud Run functions runtime
    starts it (`functions-framework --target ... --source main.py`, gunicorn) on its packaged source dir: the
    lean package (infra/package.py) and, beside it, today's whole copy (the function, all of shared/ and every
    pin). Production-mode settings, no cloud needed: the first request is a GET the function refuses (4xx),
    which is answered only once the app and its imports are loaded. Returns (lean, {"whole": ...})."""
    import shutil
    import socket

    import requests

    from infra import package
    from shared import topology

    fn = topology.function(name)
    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    lean = package.package(name, work / "lean")
    whole = work / "whole" / name
    shutil.copytree(ROOT / "functions" / name, whole, ignore=package.IGNORE)
    shutil.copytree(ROOT / "shared", whole / "shared", ignore=package.IGNORE)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FACTORY_ENV": "production",
           "GOOGLE_CLOUD_PROJECT": "saas-factory-bench", "PYTHONDONTWRITEBYTECODE": "1"}
    ff = str(Path(sys.executable).parent / "functions-framework")

    def once(src: Path) -> float:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        t0 = time.perf_counter()
        proc = subprocess.Popen([ff, "--target", fn.target, "--source", "main.py", "--signature-type", fn.signature,
                                 "--host", "127.0.0.1", "--port", str(port)], cwd=src, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while time.perf_counter() - t0 < 60:
                try:
                    requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                    return time.perf_counter() - t0
                except requests.ConnectionError:
                    if proc.poll() is not None:
                        raise SystemExit(f"{name} did not start from {src}") from None
                    time.sleep(0.005)
            raise SystemExit(f"{name} did not answer within 60 s from {src}")
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)

    try:
        lean_s, whole_s = [], []
        for _ in range(n):  # interleaved, so both see the same machine load
            whole_s.append(once(whole))
            lean_s.append(once(lean))
        return dist(lean_s), {"whole": dist(whole_s)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cold_start_phase(metrics: dict, extra: dict) -> None:
    say("function cold starts (process start to first answered request), lean package vs the whole copy")
    for name in ("signup", "stage_development"):
        lean, info = bench_function_cold_start(name)
        metrics[f"function_cold_start_ms_{name}"] = lean
        extra[f"function_cold_start_ms_{name}_whole_copy"] = info["whole"]
        say(f"function_cold_start_ms_{name} {lean}; whole copy (before issue 21) {info['whole']}")


# ------------------------------------------------------------------------------------------ metrics


def bench_make_up_cold(n: int = 3) -> tuple[dict, dict]:
    samples = []
    env = base_env()
    for _ in range(n):
        _, s = start_cloud()
        samples.append(s)
        stop_cloud(env)
    return dist(samples), {}


def bench_signup(api, n: int = 40) -> dict:
    samples = []
    for _ in range(n):
        body = {"email": f"{uuid.uuid4().hex[:12]}@bench.example", "password": "correct-horse-battery",
                "display_name": "Bench", "company_name": "Bench Co"}
        t0 = time.perf_counter()
        r = api.post("/api/auth/signup", json=body)
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 201, r.text
    return dist(samples)


def bench_auth_overhead(user, n: int = 300) -> dict:
    """Verify the ID token (firebase-admin) and read the membership: what every request pays."""
    from shared import auth

    class Req:
        headers = {"Authorization": f"Bearer {user.token}"}

    auth.authorize(auth.caller_from_request(Req, check_revoked=False), "read")  # warm the clients
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        auth.authorize(auth.caller_from_request(Req, check_revoked=False), "read")
        samples.append(time.perf_counter() - t0)
    return dist(samples)


def bench_raw_push(n: int = 60) -> dict:
    """Publish -> push received by an empty functions-framework function (the floor of a stage hop)."""
    from google.cloud import pubsub_v1

    from tests.conftest import free_port

    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "push.jsonl"
    log.touch()
    src = Path(tempfile.mkdtemp()) / "main.py"
    src.write_text(
        "import json, os, time, base64\nimport functions_framework\n"
        "@functions_framework.cloud_event\n"
        "def receive(ev):\n"
        "    t = time.time()\n"
        "    with open(os.environ['PUSH_LOG'], 'a') as f:\n"
        "        f.write(json.dumps({'t': t, 'd': ev.data['message'].get('data')}) + '\\n')\n")
    proc = subprocess.Popen([sys.executable, "-m", "functions_framework", "--source", str(src), "--target", "receive",
                             "--signature-type", "cloudevent", "--host", "127.0.0.1", "--port", str(port)],
                            env={**os.environ, "PUSH_LOG": str(log)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    pub = pubsub_v1.PublisherClient()
    sub = pubsub_v1.SubscriberClient()
    topic = f"projects/{project}/topics/bench-raw-{uuid.uuid4().hex[:6]}"
    pub.create_topic(name=topic)
    sub.create_subscription(request={"name": topic.replace("/topics/", "/subscriptions/"), "topic": topic,
                                     "push_config": {"push_endpoint": f"http://127.0.0.1:{port}/"}})
    sent = {}
    try:
        for i in range(n):
            key = f"m{i}"
            # The emulator delivers pushes on a polling cycle; publishing right after a receipt would
            # stay in phase with it. A random pause makes each publish land at a random phase, as
            # a stage's publish does.
            time.sleep(random.uniform(0, 0.15))
            sent[key] = time.time()
            pub.publish(topic, key.encode()).result(10)
            # wait for it (sequential, like a stage hop)
            encoded = base64.b64encode(key.encode()).decode()
            end = time.monotonic() + 10
            while time.monotonic() < end and f'"{encoded}"' not in log.read_text():
                time.sleep(0.002)
    finally:
        os.killpg(proc.pid, 15)
    got = {}
    for line in log.read_text().splitlines():
        d = json.loads(line)
        got[base64.b64decode(d["d"]).decode()] = d["t"]
    return dist([got[k] - sent[k] for k in sent if k in got])


def bench_listener_latency(n: int = 60) -> dict:
    """A backend write -> a Firestore realtime listener (on_snapshot) sees it."""
    from google.cloud import firestore

    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    ref = db.collection("bench").document(uuid.uuid4().hex)
    ref.set({"i": -1, "t": time.time()})
    seen: dict[int, float] = {}
    ready = threading.Event()

    def on_snap(docs, changes, read_time):
        for d in docs:
            seen[d.get("i")] = time.time()
        ready.set()

    watch = ref.on_snapshot(on_snap)
    ready.wait(10)
    sent = {}
    for i in range(n):
        sent[i] = time.time()
        ref.set({"i": i, "t": sent[i]})
        end = time.monotonic() + 5
        while i not in seen and time.monotonic() < end:
            time.sleep(0.0005)
    watch.unsubscribe()
    return dist([seen[i] - sent[i] for i in sent if i in seen])


def bench_browser_update_latency(front_door: str, owner, pipeline_id: str, n: int = 30) -> tuple[dict, dict]:
    """A Firestore write (the admin client sets the run's `project_name`) -> the dashboard in Chromium shows
    it (#detail-title of the open run, fed by the SDK's realtime listener). The page stamps each new title
    with a MutationObserver (performance.timeOrigin + performance.now(), epoch ms on this machine's clock)
    and the sample is that stamp minus the wall time just before the write."""
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    from shared.store import Tenant
    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
    from tests.helpers import PASSWORD

    ref = Tenant(owner.tenant_id).pipeline(pipeline_id)
    original = (ref.get().to_dict() or {}).get("project_name")
    ports = ",".join(str(u.port) for u in {urlsplit(front_door)} if u.port)
    samples, missed = [], 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=CHROMIUM_ARGS + [f"--explicitly-allowed-ports={ports}"])
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{front_door}/#/runs/{pipeline_id}")
            page.wait_for_selector("body[data-state='signed-out']", timeout=30_000)
            page.fill("#signin-email", owner.email)
            page.fill("#signin-password", PASSWORD)
            page.press("#signin-password", "Enter")
            page.wait_for_selector(f"#pipeline-detail[data-pipeline-id='{pipeline_id}'][data-live='realtime']",
                                   timeout=30_000)
            page.evaluate("""() => {
                window.__seen = {};
                const el = document.querySelector('#detail-title');
                new MutationObserver(() => {
                    const t = el.textContent;
                    if (!(t in window.__seen)) window.__seen[t] = performance.timeOrigin + performance.now();
                }).observe(el, { childList: true, characterData: true, subtree: true });
            }""")
            for i in range(n + 3):  # the first three warm the channel and are not counted
                name = f"Bench update {uuid.uuid4().hex[:8]}"
                sent = time.time() * 1000
                ref.update({"project_name": name})
                try:
                    page.wait_for_function("(v) => v in window.__seen", arg=name, timeout=5000)
                except Exception:  # noqa: BLE001 - a sample that never arrived is counted as missed
                    missed += 1
                    continue
                if i >= 3:
                    samples.append((page.evaluate("(v) => window.__seen[v]", name) - sent) / 1000)
                time.sleep(0.05)
        finally:
            browser.close()
            ref.update({"project_name": original})
    return dist(samples), {"missed": missed, "element": "#detail-title", "browser": "Debian Chromium, headless"}


def browser_phase() -> None:
    """Developer shortcut (BENCH_ONLY=browser): browser_update_latency beside listener_latency, alone."""
    env, _ = start_cloud({"ENGINE_BY_STAGE": json.dumps({s: "passthrough" for s in (
        "idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment")})})
    try:
        from tests.helpers import IDEA, Api, buy_credits

        api = Api(env["FRONT_DOOR_URL"])
        owner = api.signup(company="Bench Browser")
        buy_credits(api, owner)
        docs, _ = run_pipelines(api, owner, 1, IDEA, 120)
        say(f"listener_latency {bench_listener_latency()}")
        m, info = bench_browser_update_latency(env["FRONT_DOOR_URL"], owner, docs[0]["pipeline_id"])
        say(f"browser_update_latency {m} {json.dumps(info)}")
    finally:
        stop_cloud(env)


def bench_submit_visible(api, owner, n: int = 30) -> dict:
    """POST /api/ideas -> the pipeline document reaches a realtime listener on the tenant's pipelines."""
    from google.cloud import firestore

    from tests.helpers import IDEA

    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    col = db.collection(f"tenants/{owner.tenant_id}/pipelines")
    seen: dict[str, float] = {}

    def on_snap(docs, changes, read_time):
        t = time.time()
        for ch in changes:
            seen.setdefault(ch.document.id, t)

    watch = col.on_snapshot(on_snap)
    time.sleep(0.5)
    idea = {**IDEA, "constraints": {"approval_gates": ["idea_validation"]}}  # park after stage 1: no load
    samples = []
    for _ in range(n):
        time.sleep(0.4)  # let the previous run's first stage finish: measure latency, not contention
        t0 = time.time()
        r = api.post("/api/ideas", owner, json=idea)
        assert r.status_code == 202, r.text
        pid = r.json()["pipeline_id"]
        end = time.monotonic() + 5
        while pid not in seen and time.monotonic() < end:
            time.sleep(0.0005)
        samples.append(seen[pid] - t0)
    watch.unsubscribe()
    return dist(samples)


def run_many(api, owner, count: int, idea: dict, timeout: float) -> tuple[list[dict], float]:
    """Submit `count` runs at once; poll a count aggregation until all are terminal (a Python
    listener over 100 changing documents costs the client a whole core, which would measure the
    client, not the factory). Returns the documents and the wall time."""
    from google.cloud import firestore

    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    col = db.collection(f"tenants/{owner.tenant_id}/pipelines")
    done_q = col.where(filter=firestore.FieldFilter("status", "in", ["completed", "failed", "cancelled"]))
    before = int(done_q.count().get()[0][0].value)
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=20) as ex:
        results = list(ex.map(lambda _: api.post("/api/ideas", owner, json=idea), range(count)))
    mine = set()
    for r in results:
        assert r.status_code == 202, r.text
        mine.add(r.json()["pipeline_id"])
    end = time.monotonic() + timeout
    while time.monotonic() < end and int(done_q.count().get()[0][0].value) - before < count:
        time.sleep(0.2)
    wall = time.time() - t0
    docs = [col.document(pid).get().to_dict() for pid in mine]
    return docs, wall


def run_pipelines(api, owner, count: int, idea: dict, timeout: float) -> tuple[list[dict], float]:
    """Submit `count` runs at once; wait (listener) until all are terminal. Returns docs and wall time."""
    from google.cloud import firestore

    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    done: dict[str, dict] = {}
    lock = threading.Lock()
    mine: set[str] = set()
    col = db.collection(f"tenants/{owner.tenant_id}/pipelines")

    def on_snap(docs, changes, read_time):
        for ch in changes:
            d = ch.document.to_dict() or {}
            if d.get("status") in ("completed", "failed", "cancelled"):
                with lock:
                    done[ch.document.id] = d

    watch = col.on_snapshot(on_snap)
    time.sleep(0.5)
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=min(count, 20)) as ex:
        results = list(ex.map(lambda _: api.post("/api/ideas", owner, json=idea), range(count)))
    for r in results:
        assert r.status_code == 202, r.text
        mine.add(r.json()["pipeline_id"])
    end = time.monotonic() + timeout
    ticks = 0
    while time.monotonic() < end:
        with lock:
            missing = mine - set(done)
        if not missing:
            break
        ticks += 1
        if ticks % 40 == 0:  # every 2 s, make sure the listener has not missed an ending
            terminal = [pid for pid in missing
                        if (col.document(pid).get().to_dict() or {}).get("status") in ("completed", "failed", "cancelled")]
            if len(terminal) == len(missing):
                break
        time.sleep(0.05)
    wall = time.time() - t0
    watch.unsubscribe()
    out = []
    for pid in mine:
        d = done.get(pid)
        if d is None:  # the listener missed the final change: read the document itself
            d = col.document(pid).get().to_dict() or {"pipeline_id": pid, "status": "lost"}
            if d.get("completed_at"):
                wall = max(wall if len(mine) > 1 else 0, d["completed_at"].timestamp() - t0)
            extra_notes.append(f"listener missed the end of {pid}; used its completed_at")
        out.append(d)
    return out, wall


def ops_dir() -> Path:
    return Path(base_env()["STATE_DIR"]) / "run" / "firestore_ops"


def bench_firestore_ops(api, owner, n: int = 3) -> tuple[float, dict]:
    """Firestore reads + writes per run of the real engine, counted by instrumenting the Firestore client of
    every function process (emulator/firestore_ops.py; the emulator keeps no counts). Runs go one at a
    time; everything the functions do meanwhile is counted, scheduled sweeps and reconciles included. The
    bench's own waiting (a listener in this process) is not."""
    from emulator import firestore_ops
    from tests.helpers import IDEA

    time.sleep(0.5)
    before = firestore_ops.totals(ops_dir())
    done = 0
    for _ in range(n):
        got, _ = run_pipelines(api, owner, 1, IDEA, 120)
        done += got[0]["status"] == "completed"
    time.sleep(0.6)  # each process flushes its counts every 0.2 s
    after = firestore_ops.totals(ops_dir())
    per = {k: round((after[k] - before[k]) / n, 1) for k in ("reads", "writes", "rpcs")}
    by_fn = {name: {k: round((c[k] - before["by_function"].get(name, {}).get(k, 0)) / n, 1)
                    for k in ("reads", "writes")}
             for name, c in after["by_function"].items()}
    by_fn = {k: v for k, v in sorted(by_fn.items()) if v["reads"] or v["writes"]}
    return round(per["reads"] + per["writes"], 1), {**per, "runs": n, "completed": done, "by_function": by_fn}


def bench_artifact_download(api, owner, n: int = 40) -> tuple[dict, dict]:
    """GET of an artifact through the front door and the factory API (token check, tenant check, metadata
    from Firestore, bytes from the storage emulator, SHA-256 checked): project.zip, the largest."""
    from google.cloud import firestore

    col = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"]).collection(
        f"tenants/{owner.tenant_id}/pipelines")
    done = col.where(filter=firestore.FieldFilter("status", "==", "completed")).limit(1).get()
    if not done:
        return {"p50_ms": None, "p95_ms": None, "n": 0}, {"error": "no completed run to download from"}
    pid = done[0].id
    out, sizes = {}, {}
    for name in ("project.zip", "tech-stack.md"):
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = api.get(f"/api/factory/pipelines/{pid}/artifacts/{name}", owner)
            samples.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
        out[name], sizes[name] = dist(samples), len(r.content)
    return out["project.zip"], {"small": {"tech-stack.md": out["tech-stack.md"]}, "bytes": sizes}


def storage_phase() -> None:
    """Developer shortcut (BENCH_ONLY=storage): firestore_ops_per_run and artifact_download_ms alone."""
    env, _ = start_cloud({"FIRESTORE_OPS_DIR": str(ops_dir())})
    try:
        from tests.helpers import Api, buy_credits

        api = Api(env["FRONT_DOOR_URL"])
        owner = api.signup(company="Bench Storage")
        buy_credits(api, owner)
        ops, info = bench_firestore_ops(api, owner)
        say(f"firestore_ops_per_run {ops} {json.dumps(info)}")
        dl, dl_info = bench_artifact_download(api, owner)
        say(f"artifact_download_ms {dl} {json.dumps(dl_info)}")
    finally:
        stop_cloud(env)


def stage_hops(docs: list[dict]) -> list[float]:
    from shared.topology import STAGES

    hops = []
    for d in docs:
        st = d.get("stages") or {}
        for a, b in zip(STAGES, STAGES[1:], strict=False):
            fa, sb = st.get(a, {}).get("finished_at"), st.get(b, {}).get("started_at")
            if fa and sb:
                hops.append((sb - fa).total_seconds())
    return hops


def count_lost_or_duplicated(docs: list[dict]) -> int:
    from shared.topology import STAGES

    bad = 0
    for d in docs:
        if d.get("status") != "completed":
            bad += len(STAGES)
            continue
        for s in STAGES:
            st = d["stages"][s]
            if st.get("status") != "completed" or st.get("executions") != 1:
                bad += 1
    return bad


def peak_rss_mb(state_dir: Path) -> tuple[float, dict]:
    """VmHWM (peak resident set) of every function process: the functions-host children and their
    gunicorn workers."""
    info = json.loads((state_dir / "run" / "functions.json").read_text())
    per = {}
    for name, d in info.items():
        pids = [d["pid"]]
        try:
            children = Path(f"/proc/{d['pid']}/task/{d['pid']}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        peak = 0.0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                pass
        per[name] = round(peak, 1)
    return max(per.values()) if per else 0.0, per


def bench_validation(rounds: int = 3) -> tuple[dict, dict]:
    """Stage 1 alone (idea validation, built-in engine) in-process, with the full sourced catalogue
    and its BM25 index loaded: every idea of tests/fixtures/ideas.json, validation_corpus.json and
    heldout_validation.json,
    `rounds` times. The first call (index load) is reported apart, as `validation_index_load_ms`."""
    from shared.engine import EngineConfig, StageInput, market, no_artifacts, run_stage

    fixtures = ROOT / "tests" / "fixtures"
    ideas = (json.loads((fixtures / "ideas.json").read_text())["ideas"]
             + json.loads((fixtures / "validation_corpus.json").read_text())["ideas"]
             + json.loads((fixtures / "heldout_validation.json").read_text())["ideas"])
    t = time.perf_counter()
    loaded = market.loaded()
    load_ms = round((time.perf_counter() - t) * 1000, 2)
    config, samples = EngineConfig(), []
    run_stage("idea_validation", StageInput("bench-v", "t", ideas[0], {}, no_artifacts), config)  # warm caches
    for _ in range(rounds):
        for idea in ideas:
            t = time.perf_counter()
            run_stage("idea_validation", StageInput("bench-v", "t", idea, {}, no_artifacts), config)
            samples.append(time.perf_counter() - t)
    return dist(samples), {"validation_index_load_ms": load_ms, "catalogue_products": loaded.index["documents"],
                           "validation_ideas": len(ideas)}


# ------------------------------------------------------------------------------------------ main


TARGETS = {
    "make_up_cold": ("p50 < 15000 ms", lambda m: m["p50_ms"] < 15000),
    "signup": ("p50 < 150 ms (seed: 2 s)", lambda m: m["p50_ms"] < 150),
    "auth_overhead": ("p50 < 5 ms", lambda m: m["p50_ms"] < 5),
    "checkout_session": ("p50 < 500 ms (seed: 5 s for the whole payment step)", lambda m: m["p50_ms"] < 500),
    "webhook_to_entitlement": ("p50 < 50 ms", lambda m: m["p50_ms"] < 50),
    "idea_submit_visible": ("p50 < 50 ms (seed trigger: 1 s)", lambda m: m["p50_ms"] < 50),
    "raw_push_latency": ("floor (publish -> push to an empty function)", None),
    "stage_hop": ("p50 < 1.5 x raw_push_latency p50", None),
    "listener_latency": ("p50 < 50 ms", lambda m: m["p50_ms"] < 50),
    "browser_update_latency": ("p50 < 50 ms (a Firestore write -> the dashboard's DOM in Chromium)",
                               lambda m: m["p50_ms"] < 50),
    "full_pipeline": ("p50 < 10000 ms (seed: ~45 min; MetaGPT/ChatDev: 148-762 s)", lambda m: m["p50_ms"] < 10000),
    "validation_p50_ms": ("p50 < 200 ms (stage 1 alone, full catalogue loaded)", lambda m: m["p50_ms"] < 200),
    "heldout_restatements_paused": (">= 0.9: plain-words restatements of tests/fixtures/heldout_validation.json that "
                                    "pause naming the product, every round (rounds 1-2 were tuned on after their "
                                    "first run: see the unseen and first-run figures)", lambda v: v >= 0.9),
    "heldout_good_ideas_go": (">= 0.95: its good niche ideas that go, every round", lambda v: v >= 0.95),
    "heldout_unseen_restatements_paused": (">= 0.9: the same, only rounds never tuned on", lambda v: v >= 0.9),
    "heldout_unseen_good_ideas_go": (">= 0.95: the same, only rounds never tuned on", lambda v: v >= 0.95),
    "heldout_first_run_restatements_paused": (">= 0.9: every round on its first run, before any rule changed "
                                              "(recorded in the file)", lambda v: v >= 0.9),
    "concurrent_100_runs_per_min": ("report; 100 pass-through runs submitted at once", None),
    "runs_per_min_real_engine": ("report; 100 runs of the real engine from 10 tenants at once (issue 23: ~39 on "
                                 "2 cores), beside the pass-through figure above", None),
    "false_failures_in_burst": ("0: runs failed in a burst of 30 after a quiet spell, QA busy and up "
                                "(issue 23: 2 of 30)", lambda v: v == 0),
    "crash_loop_detect_s": ("<= 60 s from QA's first crash until its runs failed (issue 23: 19 min)",
                            lambda v: v is not None and v <= 60),
    "lost_or_duplicated_stages": ("0", lambda v: v == 0),
    "feature_coverage": ("report: fraction of the tuning corpus's key features built (every word read, every "
                         "rule realised, behaviour tests and acceptance criteria pass); issue 17 raises it", None),
    "features_partial": ("report: key features of the tuning corpus that are partial (what is missing is named)",
                         None),
    "unread_rule_words": ("report: rule words (numbers, only, cannot, within, ...) left unread, tuning corpus",
                          None),
    "capability_tests_passed": ("report: the old feature_coverage (bound capabilities pass their own tests); it "
                                "cannot see a wrong binding", None),
    "heldout_feature_coverage": ("report: feature_coverage on tests/fixtures/heldout_ideas.json (never tuned on)",
                                 None),
    "heldout_features_partial": ("report: partial features of the held-out set", None),
    "heldout_issue17_feature_coverage": ("report: the same on the eight held-out ideas written in issue 17's session "
                                         "before any output on them was seen (issue 17 asks 0.7)", None),
    "heldout_issue17b_feature_coverage": ("report: the same on the ten held-out ideas written in issue 17's third "
                                          "session before any output on them was seen", None),
    "heldout_issue17d_feature_coverage": ("report: the same on the five held-out ideas written in issue 17's fourth "
                                          "session after its planner changes and before any output on them was "
                                          "seen (batch issue-17c's first run, before it was read: 13 of 40, 0.325)",
                                          None),
    "heldout_issue17e_feature_coverage": ("report: the same on the twelve held-out ideas written in issue 17's fifth "
                                          "session by an author who read neither the planner nor any output, after "
                                          "that session's changes and before any output on them was seen", None),
    "heldout_issue17e_seen_feature_coverage": ("report: batch issue-17e after the sixth session tuned on it (its first "
                                               "run, before it was read: 13 of 48, 0.271); not a held-out figure",
                                               None),
    "heldout_issue17f_seen_feature_coverage": ("report: batch issue-17f (twelve ideas by an independent author) after "
                                               "the fixes made on reading its first run (first run: 11 of 48, 0.229, "
                                               "QA; 7 of 48 working when tried from outside, "
                                               "tests/fixtures/heldout_17f_outside_probe.json)", None),
    "heldout_issue17g_seen_feature_coverage": ("report: batch issue-17g (twelve ideas by an independent author, each "
                                               "with two or more stated rules) after the fixes made on reading its "
                                               "first run (first run: 3 of 48, 0.063, QA; 4 of 48 working when tried "
                                               "from outside, tests/fixtures/heldout_17g_outside_probe.json)", None),
    "heldout_issue17h_seen_feature_coverage": ("report: batch issue-17h (twelve ideas by an independent author, run "
                                               "once after the seventh session's fixes; first run: 9 of 48, 0.188, QA; "
                                               "5 of 48 working when tried from outside, 5 of QA's 9 'built' false, "
                                               "tests/fixtures/heldout_17h_outside_probe.json)", None),
    "heldout_issue17i_seen_feature_coverage": ("report: batch issue-17i (twelve ideas by an independent author, run "
                                               "once at the eighth session's start; first run: 3 of 48, 0.063, QA; "
                                               "3 of 48 working when tried from outside, 2 of QA's 3 'built' false, "
                                               "tests/fixtures/heldout_17i_outside_probe.json)", None),
    "heldout_issue17j_feature_coverage": ("report: the same on the twelve held-out ideas of batch issue-17j (an "
                                          "independent author, written during issue 17's eighth session, before any "
                                          "output on them was seen)", None),
    "heldout_issue17j_seen_feature_coverage": ("report: batch issue-17j (twelve ideas by an independent author, run "
                                               "once at the eighth session's end; first run: 6 of 48, 0.125, QA; 8 of "
                                               "48 working when tried from outside, 2 of QA's 6 'built' false, "
                                               "tests/fixtures/heldout_17j_outside_probe.json)", None),
    "heldout_capability_tests_passed": ("report: the old figure on the held-out set, beside "
                                        "heldout_feature_coverage", None),
    "heldout_rule_features_built_without_criterion": ("0: held-out features stating a rule that are built without "
                                                      "a passing criterion exercising it", lambda v: v == 0),
    "outside_apps_exploitable": ("0 of 5 (issue 18: apps built from bench/outside_ideas.json, started under gunicorn "
                                 "and attacked over HTTP by bench/outside.py, apart from QA's gate; was 5 of 5)",
                                 lambda v: v == 0),
    "outside_attacks_tried": ("report: attacks bench/outside.py made on those apps", None),
    "outside_steps_not_run": ("0: attacks that could not be set up (never counted as passes)", lambda v: v == 0),
    "firestore_ops_per_run": ("report: reads + writes per real-engine run, counted in every function's Firestore "
                              "client (emulator/firestore_ops.py); < 400", lambda v: v < 400),
    "artifact_download_ms": ("p50 < 100 ms (project.zip through the API, hash checked)",
                             lambda m: m["p50_ms"] < 100),
    "recovery_after_message_loss_s": ("median < 10 s (seed: 180 s, the fixed stage deadline)", lambda v: v < 10),
    "function_peak_rss_mb": ("< 200 MB per function process", lambda v: v < 200),
    "function_cold_start_ms_signup": ("report, beside the whole copy's figure in details (issue 21: lean functions)",
                                      None),
    "function_cold_start_ms_stage_development": ("report, beside the whole copy's figure in details", None),
}


def write_results(metrics: dict, extra: dict) -> None:
    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
               "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    OUT_JSON.write_text(json.dumps({"machine": machine, "metrics": metrics, "details": extra}, indent=2) + "\n")
    lines = ["# Benchmark results", "", f"Machine: {machine['platform']}, {machine['cpus']} cores, "
             f"{machine['mem_gb']} GiB, Python {machine['python']}; {machine['date']}.", "",
             "| metric | p50 | p95 | n / value | target | met |", "|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        target, check = TARGETS.get(name, ("", None))
        if isinstance(m, dict):
            ok = check(m) if check and m.get("p50_ms") is not None else None
            row = f"| {name} | {m['p50_ms']} ms | {m['p95_ms']} ms | {m['n']} |"
        else:
            ok = check(m) if check else None
            row = f"| {name} | | | {m} |"
        if name == "stage_hop" and "stage_hop_ratio" in extra:
            ok = extra["stage_hop_ratio"] < 1.5
            target += f" (measured ratio {extra['stage_hop_ratio']})"
        lines.append(f"{row} {target} | {'yes' if ok else ('no' if ok is False else '')} |")
    lines += ["", "Details:", "", "```json", json.dumps(extra, indent=2), "```", ""]
    OUT_MD.write_text("\n".join(lines))


def main() -> None:
    metrics: dict = {}
    extra: dict = {}
    if os.environ.get("BENCH_ONLY") == "load":  # developer shortcut: phase 2 only, results not written
        return load_phase(metrics, extra)
    if os.environ.get("BENCH_ONLY") == "recovery":  # developer shortcut: phase 3 only, results not written
        return recovery_phase(metrics, extra)
    if os.environ.get("BENCH_ONLY") == "cold_start":  # developer shortcut: cold starts only, results not written
        return cold_start_phase(metrics, extra)
    if os.environ.get("BENCH_ONLY") == "reliability":  # developer shortcut: issue 23's figures, results not written
        return reliability_phase(metrics, extra, int(os.environ.get("BENCH_REAL_RUNS", "100")))
    if os.environ.get("BENCH_ONLY") == "storage":  # developer shortcut: the artifact/Firestore figures only
        return storage_phase()
    if os.environ.get("BENCH_ONLY") == "browser":  # developer shortcut: browser_update_latency only, not written
        return browser_phase()
    if os.environ.get("BENCH_ONLY") == "validation":  # developer shortcut: stage 1 only, results not written
        from bench import validation_heldout

        m, info = bench_validation()
        held_v = validation_heldout.figures(validation_heldout.heldout_ideas())
        return say(f"validation_p50_ms {m} {info}; held-out {held_v['counts']}")
    say("stage 1 alone: idea validation against the sourced catalogue")
    metrics["validation_p50_ms"], extra["validation"] = bench_validation()
    say(f"validation_p50_ms {metrics['validation_p50_ms']}")
    say("stage 1 on held-out ideas (tests/fixtures/heldout_validation.json; never tuned on)")
    from bench import validation_heldout

    held_v = validation_heldout.figures(validation_heldout.heldout_ideas())
    metrics["heldout_restatements_paused"] = held_v["heldout_restatements_paused"]
    metrics["heldout_good_ideas_go"] = held_v["heldout_good_ideas_go"]
    unseen = validation_heldout.figures(validation_heldout.unseen_ideas())
    metrics["heldout_unseen_restatements_paused"] = unseen["heldout_restatements_paused"]
    metrics["heldout_unseen_good_ideas_go"] = unseen["heldout_good_ideas_go"]
    first = validation_heldout.first_run_totals()
    hit, total = (int(x) for x in first["restatements_paused"].split("/"))
    metrics["heldout_first_run_restatements_paused"] = round(hit / total, 3)
    extra["validation_heldout"] = {"counts": held_v["counts"], "misses": held_v["misses"],
                                   "unseen_counts": unseen["counts"], "first_run": first}
    say(f"heldout_restatements_paused {held_v['heldout_restatements_paused']} heldout_good_ideas_go "
        f"{held_v['heldout_good_ideas_go']} {held_v['counts']}")
    cold_start_phase(metrics, extra)
    say("cold start of the local cloud (3 times)")
    metrics["make_up_cold"], _ = bench_make_up_cold()
    say(f"make_up_cold {metrics['make_up_cold']}")

    say("phase 1: the real stage engine")
    env, _ = start_cloud({"FIRESTORE_OPS_DIR": str(ops_dir())})
    try:
        from tests.helpers import IDEA, Api, buy_credits

        api = Api(env["FRONT_DOOR_URL"])
        metrics["signup"] = bench_signup(api)
        say(f"signup {metrics['signup']}")
        owner = api.signup(company="Bench Owner")
        metrics["auth_overhead"] = bench_auth_overhead(owner)
        say(f"auth_overhead {metrics['auth_overhead']}")
        try:
            from bench import payments

            pay = payments.run(env)
            pay.pop("tenant_id", None)
            extra["webhook_delivered_by_fake"] = pay.pop("webhook_delivered_by_fake", None)
            metrics.update(pay)
        except ImportError as exc:
            extra["payments_error"] = str(exc)
        for _ in range(5):
            buy_credits(api, owner)
        metrics["raw_push_latency"] = bench_raw_push()
        say(f"raw_push_latency {metrics['raw_push_latency']}")
        metrics["listener_latency"] = bench_listener_latency()
        say(f"listener_latency {metrics['listener_latency']}")
        metrics["browser_update_latency"] = None  # measured after the full pipelines; its row sits here
        metrics["idea_submit_visible"] = bench_submit_visible(api, owner)
        say(f"idea_submit_visible {metrics['idea_submit_visible']}")
        samples, docs = [], []
        for _ in range(5):
            got, wall = run_pipelines(api, owner, 1, IDEA, 120)
            docs += got
            if got[0]["status"] == "completed":
                samples.append(wall)
            else:
                extra.setdefault("full_pipeline_failures", []).append(got[0].get("error_message"))
        metrics["full_pipeline"] = dist(samples)
        metrics["browser_update_latency"], extra["browser_update_latency"] = bench_browser_update_latency(
            env["FRONT_DOOR_URL"], owner, docs[-1]["pipeline_id"])
        say(f"browser_update_latency {metrics['browser_update_latency']}")
        say(f"full_pipeline {metrics['full_pipeline']}")
        metrics["stage_hop"] = dist(stage_hops(docs))
        extra["full_pipeline_stage_ms_p50"] = {
            s: statistics.median(d["stages"][s].get("duration_ms") or 0 for d in docs if d.get("stages"))
            for s in ("idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment")}
        if metrics["raw_push_latency"]["p50_ms"]:
            extra["stage_hop_ratio"] = round(metrics["stage_hop"]["p50_ms"] / metrics["raw_push_latency"]["p50_ms"], 3)
        say(f"stage_hop {metrics['stage_hop']} ratio {extra.get('stage_hop_ratio')}")
        metrics["firestore_ops_per_run"], extra["firestore_ops_per_run"] = bench_firestore_ops(api, owner)
        say(f"firestore_ops_per_run {metrics['firestore_ops_per_run']}")
        metrics["artifact_download_ms"], extra["artifact_download"] = bench_artifact_download(api, owner)
        say(f"artifact_download_ms {metrics['artifact_download_ms']}")
        _, rss_engine = peak_rss_mb(Path(env["STATE_DIR"]))
    finally:
        stop_cloud(env)

    load_phase(metrics, extra, rss_engine)
    recovery_phase(metrics, extra)
    reliability_phase(metrics, extra)
    coverage_phase(metrics, extra)
    outside_phase(metrics, extra)
    if extra_notes:
        extra["notes"] = extra_notes
    write_results(metrics, extra)
    say(f"wrote {OUT_JSON} and {OUT_MD}")


def coverage_phase(metrics: dict, extra: dict) -> None:
    say("phase 4: feature coverage over the corpus's good ideas (stages 1-5 in-process, built-in engine)")
    from bench import coverage

    out = coverage.run()
    metrics["feature_coverage"] = out["feature_coverage"]
    metrics["features_partial"] = out["features_partial"]
    metrics["unread_rule_words"] = out["unread_rule_words"]
    metrics["capability_tests_passed"] = out["capability_tests_passed"]
    extra["feature_coverage"] = out["details"]
    say("phase 4b: the same on the held-out ideas (tests/fixtures/heldout_ideas.json; never tuned on)")
    held = coverage.run(coverage.heldout_ideas())
    metrics["heldout_feature_coverage"] = held["feature_coverage"]
    metrics["heldout_features_partial"] = held["features_partial"]
    metrics["heldout_capability_tests_passed"] = held["capability_tests_passed"]
    metrics["heldout_rule_features_built_without_criterion"] = held["rule_features_built_without_criterion"]
    extra["heldout_feature_coverage"] = held["details"]
    for batch, name in (("issue-17", "heldout_issue17_feature_coverage"),
                        ("issue-17b", "heldout_issue17b_feature_coverage"),
                        ("issue-17d", "heldout_issue17d_feature_coverage"),
                        ("issue-17e", "heldout_issue17e_feature_coverage"),
                        ("issue-17f", "heldout_issue17f_feature_coverage"),
                        ("issue-17g", "heldout_issue17g_feature_coverage"),
                        ("issue-17h", "heldout_issue17h_feature_coverage"),
                        ("issue-17i", "heldout_issue17i_feature_coverage"),
                        ("issue-17j", "heldout_issue17j_feature_coverage")):
        # each batch of held-out ideas written before any output on them was seen, measured on its own; a batch
        # whose every idea has since been read is reported apart, under a name that says it was seen
        batch_ids = {i["id"]: i for i in coverage.heldout_ideas() if i.get("batch") == batch}
        fresh = {k for k, i in batch_ids.items() if not i.get("seen")}
        if not fresh:
            name, fresh = name.replace("_feature_coverage", "_seen_feature_coverage"), set(batch_ids)
        rows = [r for r in held["details"]["per_idea"] if r["idea"] in fresh]
        total = sum(r["total"] for r in rows)
        metrics[name] = round(sum(min(r["built"], r["total"]) for r in rows) / total, 3) if total else 0.0
    say(f"heldout_feature_coverage {held['feature_coverage']} ({held['details']['features_built']} of "
        f"{held['details']['features_total']})")
    say(f"feature_coverage {out['feature_coverage']} ({out['details']['features_built']} of "
        f"{out['details']['features_total']})")


def outside_phase(metrics: dict, extra: dict) -> None:
    say("phase 5: generated apps attacked from outside (bench/outside.py, five ideas, real HTTP)")
    from bench import outside

    out = outside.run()
    metrics["outside_apps_exploitable"] = out["apps_exploitable"]
    metrics["outside_attacks_tried"] = out["attacks_tried"]
    metrics["outside_steps_not_run"] = out["steps_not_run"]
    extra["outside"] = [{k: a[k] for k in ("idea", "signup", "findings", "unrun")} for a in out["details"]]
    say(f"outside: {out['apps_exploitable']} of {out['apps']} apps exploitable, {out['attacks_tried']} attacks")


def recovery_after_message_loss(api, owner, n: int = 5, warmup: int = 8) -> tuple[float | None, dict]:
    """Runs whose next-stage message is dropped on purpose (outbox cleared, nothing published):
    median seconds from submit until the run completes, recovered by the watchdog / reconciler
    at the stage's measured deadline. `warmup` normal runs first give the deadlines something to
    measure (before that every stage has the STAGE_DEADLINE_S cap)."""
    from emulator import faults
    from shared import reconciler
    from tests.helpers import IDEA

    faults.set_flag(owner.tenant_id, "passthrough")
    run_pipelines(api, owner, warmup, IDEA, 120)
    deadlines = reconciler.refresh(force=True) or {}
    time.sleep(reconciler.CACHE_TTL_S + 1)  # every stage process has read the measured deadlines
    walls, failed = [], 0
    for _ in range(n):
        faults.arm(owner.tenant_id, "lose_message", "tech_stack")
        docs, wall = run_pipelines(api, owner, 1, IDEA, 120)
        if docs[0].get("status") == "completed":
            walls.append(wall)
        else:
            failed += 1
    median = round(statistics.median(walls), 2) if walls else None
    return median, {"runs": n, "completed": len(walls), "failed": failed, "walls_s": [round(w, 2) for w in walls],
                    "queue_deadline_s_uiux_design": (deadlines.get("queue_s") or {}).get("uiux_design")}


def recovery_phase(metrics: dict, extra: dict) -> None:
    say("phase 3: recovery after message loss (pass-through runs, next message dropped on purpose)")
    env, _ = start_cloud({"FACTORY_FAULTS": "enabled", "ENGINE_BY_STAGE": json.dumps({s: "passthrough" for s in (
        "idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment")})})
    try:
        from tests.helpers import Api, buy_credits

        api = Api(env["FRONT_DOOR_URL"])
        owner = api.signup(company="Bench Recovery")
        for _ in range(3):
            buy_credits(api, owner)
        metrics["recovery_after_message_loss_s"], extra["recovery_after_message_loss"] = \
            recovery_after_message_loss(api, owner)
        say(f"recovery_after_message_loss_s {metrics['recovery_after_message_loss_s']} "
            f"{extra['recovery_after_message_loss']}")
    finally:
        stop_cloud(env)


def reliability_phase(metrics: dict, extra: dict, real_runs: int = 100) -> None:
    say("phase 3b: issue 23's reliability figures (burst after a quiet spell, QA crash loop, 100 real-engine runs)")
    from bench import reliability

    reliability.phase(metrics, extra, start_cloud, stop_cloud, say, real_runs)


def load_phase(metrics: dict, extra: dict, rss_engine: dict | None = None) -> None:
    rss_engine = rss_engine or {}
    say("phase 2: 100 concurrent pass-through runs")
    env, _ = start_cloud({"ENGINE_BY_STAGE": json.dumps({s: "passthrough" for s in (
        "idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment")})})
    try:
        from tests.helpers import IDEA, Api, buy_credits

        api = Api(env["FRONT_DOOR_URL"])
        owner = api.signup(company="Bench Load")
        for _ in range(10):
            buy_credits(api, owner)
        docs, wall = run_many(api, owner, 100, IDEA, 600)
        completed = sum(1 for d in docs if d.get("status") == "completed")
        metrics["concurrent_100_runs_per_min"] = round(completed / wall * 60, 1)
        metrics["lost_or_duplicated_stages"] = count_lost_or_duplicated(docs)
        extra["concurrent_100"] = {"completed": completed, "wall_s": round(wall, 2),
                                   "stage_hop_under_load": dist(stage_hops(docs))}
        say(f"concurrent: {completed}/100 in {wall:.1f}s -> {metrics['concurrent_100_runs_per_min']}/min, "
            f"lost/dup {metrics['lost_or_duplicated_stages']}")
        _, rss_load = peak_rss_mb(Path(env["STATE_DIR"]))
        per = {k: max(rss_engine.get(k, 0), rss_load.get(k, 0)) for k in set(rss_engine) | set(rss_load)}
        metrics["function_peak_rss_mb"] = max(per.values())
        extra["function_peak_rss_mb_per_function"] = dict(sorted(per.items()))
    finally:
        stop_cloud(env)


if __name__ == "__main__":
    main()
