"""Counts the Firestore reads and writes each local function process makes (bench: firestore_ops_per_run).

The Firestore emulator keeps no per-operation counts, so the client is instrumented instead, in the
functions host only (local; never imported in production): when FIRESTORE_OPS_DIR is set, every
function process wraps the GAPIC methods of its Firestore transport and counts as Firestore bills:

- reads: a document returned by a get, a batch get (found or missing) or a query; a query or an
  aggregation that returns nothing counts one read;
- writes: each write in a commit (set, update, delete, transform) or a batch write.

Each process writes its totals to FIRESTORE_OPS_DIR/<function>-<pid>.json at most every 0.2 s; `totals`
sums them. Processes that restart keep their old files, so totals only grow.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

_STREAM_READS = {"batch_get_documents", "run_query", "run_aggregation_query"}


class _Counter:
    def __init__(self, path: Path):
        self.path = path
        self.counts = {"reads": 0, "writes": 0, "rpcs": 0}
        self.lock = threading.Lock()
        self.dirty = False
        self.thread: threading.Thread | None = None

    def add(self, reads: int = 0, writes: int = 0, rpcs: int = 0) -> None:
        with self.lock:
            self.counts["reads"] += reads
            self.counts["writes"] += writes
            self.counts["rpcs"] += rpcs
            self.dirty = True
        if self.thread is None:  # started in the serving process (gunicorn forks after the host starts us)
            self.thread = threading.Thread(target=self._flush_loop, name="firestore-ops", daemon=True)
            self.thread.start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(0.2)
            with self.lock:
                if not self.dirty:
                    continue
                data, self.dirty = dict(self.counts), False
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.path)


class _CountingStream:
    """A server stream passed through, counting the documents (or results) it yields."""

    def __init__(self, inner, counter: _Counter, method: str):
        self._inner, self._counter, self._method, self._seen = inner, counter, method, 0

    def __iter__(self):
        return self

    def __next__(self):
        try:
            item = next(self._inner)
        except StopIteration:
            if self._seen == 0 and self._method != "batch_get_documents":
                self._counter.add(reads=1)  # an empty query is billed one read
            raise
        if self._method == "batch_get_documents":
            n = 1 if (item.found.name or item.missing) else 0
        elif self._method == "run_query":
            n = 1 if item.document.name else 0
        else:
            n = 1 if item.result else 0
        self._seen += n
        if n:
            self._counter.add(reads=n)
        return item

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _wrap(name: str, fn, counter: _Counter):
    def call(request, *args, **kwargs):
        counter.add(rpcs=1)
        resp = fn(request, *args, **kwargs)
        if name == "commit":
            counter.add(writes=len(request.writes))
        elif name == "batch_write":
            counter.add(writes=len(request.writes))
        elif name in ("create_document", "update_document", "delete_document"):
            counter.add(writes=1)
        elif name == "get_document":
            counter.add(reads=1)
        elif name == "list_documents":
            counter.add(reads=max(1, len(getattr(resp, "documents", []) or [])))
        elif name in _STREAM_READS:
            return _CountingStream(resp, counter, name)
        return resp

    return call


_METHODS = ("get_document", "list_documents", "create_document", "update_document", "delete_document", "commit",
            "batch_write", "batch_get_documents", "run_query", "run_aggregation_query", "begin_transaction",
            "rollback", "partition_query", "list_collection_ids")


def install_on(transport, counter: _Counter) -> None:
    """Wrap the transport's methods (keyed by their gRPC stubs, found through the transport's properties)."""
    for name in _METHODS:
        stub = getattr(transport, name, None)
        if stub is not None and stub in transport._wrapped_methods:
            transport._wrapped_methods[stub] = _wrap(name, transport._wrapped_methods[stub], counter)


def install(function_name: str) -> None:
    """Count every Firestore client this process creates through shared.clients (FIRESTORE_OPS_DIR set)."""
    directory = os.environ.get("FIRESTORE_OPS_DIR")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    counter = _Counter(Path(directory) / f"{function_name}-{os.getpid()}.json")
    from shared import clients

    original = clients.bound_calls

    def bound_and_counted(transport, deadline_s):
        original(transport, deadline_s)
        if "Firestore" in type(transport).__name__:
            counter.path = Path(directory) / f"{function_name}-{os.getpid()}.json"  # the serving process's pid
            install_on(transport, counter)

    clients.bound_calls = bound_and_counted


def totals(directory: str | Path) -> dict:
    """{"reads", "writes", "rpcs", "by_function": {name: {...}}} summed over every process's file."""
    out = {"reads": 0, "writes": 0, "rpcs": 0, "by_function": {}}
    for f in sorted(Path(directory).glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        name = f.stem.rsplit("-", 1)[0]
        per = out["by_function"].setdefault(name, {"reads": 0, "writes": 0, "rpcs": 0})
        for k in ("reads", "writes", "rpcs"):
            out[k] += data.get(k, 0)
            per[k] += data.get(k, 0)
    return out
