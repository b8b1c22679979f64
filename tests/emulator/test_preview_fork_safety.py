"""Previews start without fork hazards: 200 previews back to back in a process whose Firestore
client is live (a realtime listener and writes running on gRPC threads the whole time), and
every one comes up healthy; none dies (SIGABRT from an inherited gRPC poller was the symptom)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

from shared import clients
from shared.engine import preview
from shared.engine.types import EngineConfig

TINY_APP = b'''
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), H).serve_forever()
'''


def test_200_previews_back_to_back_with_a_live_firestore_client(cloud_env, tmp_path):
    db = clients.firestore()  # the stage process's own client (listen/write streams are not deadline-bound)
    doc = db.collection("_preview_fork_test").document(uuid.uuid4().hex)
    doc.set({"n": 0})
    seen: list[int] = []
    first = threading.Event()

    def on_snap(snaps, *_):
        seen.extend(s.get("n") for s in snaps if s.exists)
        first.set()

    watch = doc.on_snapshot(on_snap)
    assert first.wait(15), "the realtime listener delivered its first snapshot"
    stop = threading.Event()
    writes = [0]

    def keep_writing():  # gRPC calls in flight on another thread while the previews start
        while not stop.is_set():
            writes[0] += 1
            doc.set({"n": writes[0]})
            time.sleep(0.02)

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    cfg = replace(EngineConfig(), state_dir=str(tmp_path), preview_ttl_s=60, preview_health_timeout_s=15)
    files = {"app/__init__.py": b"", "app/__main__.py": TINY_APP}
    started = time.monotonic()
    pids = set()
    try:
        for i in range(200):
            rec = preview.start_preview(f"p_fork_{i:03d}", files, cfg)
            assert rec["health"]["status"] == "ok", rec
            pids.add(rec["health"]["pid"])
            assert preview.stop_preview(f"p_fork_{i:03d}", cfg.state_dir)
    finally:
        stop.set()
        writer.join(5)
        watch.unsubscribe()
        preview.stop_all(cfg.state_dir)
        doc.delete()
    elapsed = time.monotonic() - started
    assert len(pids) == 200, "every preview was its own healthy process"
    assert writes[0] > 10 and seen, "the Firestore client was live (writes and listener) throughout"
    assert not preview.load_records(cfg.state_dir), "every preview was stopped and its record removed"
    print(f"200 previews in {elapsed:.1f}s ({elapsed / 200 * 1000:.0f} ms each), {writes[0]} writes meanwhile")
