"""Webhook signing and background delivery with retries, hold/release and a
delivery log."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header value for ``payload``.

    Exactly Stripe's scheme: ``t={unix},v1={hex hmac_sha256(secret, "{t}.{payload}")}``."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(
        secret.encode("utf-8"),
        msg=f"{t}.{payload}".encode(),
        digestmod=hashlib.sha256,
    ).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Job:
    event_id: str
    event_type: str
    payload: str
    endpoint_id: str
    url: str
    secret: str
    attempt: int = 1
    redelivery: bool = False
    generation: int = 0
    held: bool = field(default=False)


class Deliverer:
    """Single background worker delivering webhook jobs in order.

    * first attempts are delivered in enqueue order (one worker thread);
    * non-2xx responses and connection errors are retried after
      ``retry_schedule[n]`` seconds, ``len(retry_schedule)`` times at most;
    * while holding, new jobs are parked and later released in original or
      reversed order;
    * every attempt is appended to ``self.log``.
    """

    def __init__(
        self,
        retry_schedule: tuple[float, ...],
        timeout: float = 10.0,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.retry_schedule = tuple(float(x) for x in retry_schedule)
        self.timeout = timeout
        self._logf = log or (lambda *a, **k: None)
        self._cond = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._held: list[Job] = []
        self._holding = False
        self._inflight = 0
        self._stopping = False
        self._generation = 0
        self._attempts: list[dict] = []
        self._thread: threading.Thread | None = None
        # Never route webhook deliveries through an environment proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="stripe-fake-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def reset(self) -> None:
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self._held.clear()
            self._holding = False
            self._attempts.clear()
            self._cond.notify_all()

    # -- queueing --------------------------------------------------------
    def enqueue(self, jobs: list[Job]) -> None:
        with self._cond:
            for job in jobs:
                job.generation = self._generation
                if self._holding:
                    job.held = True
                    self._held.append(job)
                else:
                    heapq.heappush(self._heap, (time.monotonic(), next(self._seq), job))
            self._cond.notify_all()

    def hold(self) -> dict:
        with self._cond:
            self._holding = True
            return {"holding": True, "held": len(self._held)}

    def release(self, order: str = "original") -> dict:
        with self._cond:
            jobs = list(self._held)
            if order == "reversed":
                jobs.reverse()
            self._held.clear()
            self._holding = False
            now = time.monotonic()
            for job in jobs:
                heapq.heappush(self._heap, (now, next(self._seq), job))
            self._cond.notify_all()
            return {
                "holding": False,
                "released": len(jobs),
                "order": order,
                "event_ids": [j.event_id for j in jobs],
            }

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued or in flight (held jobs don't count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def snapshot(self, event_id: str | None = None) -> dict:
        with self._cond:
            data = [
                dict(a)
                for a in self._attempts
                if event_id is None or a["event_id"] == event_id
            ]
            return {
                "object": "list",
                "data": data,
                "pending": len(self._heap) + self._inflight,
                "held": len(self._held),
                "holding": self._holding,
            }

    # -- worker ----------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stopping:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, job = heapq.heappop(self._heap)
                        self._inflight += 1
                        break
                    self._cond.wait((self._heap[0][0] - now) if self._heap else None)
                if job is None:
                    return
            try:
                record = self._attempt(job)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything
                record = {"status": None, "ok": False, "error": f"internal: {exc!r}"}
            with self._cond:
                self._inflight -= 1
                if job.generation == self._generation:
                    will_retry = not record["ok"] and job.attempt <= len(
                        self.retry_schedule
                    )
                    delay = self.retry_schedule[job.attempt - 1] if will_retry else None
                    entry = {
                        "id": f"dlv_{len(self._attempts) + 1}",
                        "event_id": job.event_id,
                        "event_type": job.event_type,
                        "endpoint_id": job.endpoint_id,
                        "endpoint": job.url,
                        "attempt": job.attempt,
                        "redelivery": job.redelivery,
                        "held": job.held,
                        "will_retry": will_retry,
                        "next_retry_in": delay,
                    }
                    entry.update(record)
                    self._attempts.append(entry)
                    if will_retry:
                        retry = replace(job, attempt=job.attempt + 1)
                        heapq.heappush(
                            self._heap,
                            (time.monotonic() + delay, next(self._seq), retry),
                        )
                    self._logf(
                        "INFO" if record["ok"] else "WARNING",
                        f"webhook {job.event_type} {job.event_id} -> {job.url} attempt {job.attempt}: "
                        f"{record.get('status') or record.get('error')}",
                        **{
                            k: entry[k]
                            for k in (
                                "event_id",
                                "endpoint",
                                "attempt",
                                "status",
                                "will_retry",
                            )
                        },
                    )
                self._cond.notify_all()

    def _attempt(self, job: Job) -> dict:
        started = time.time()
        header = sign_payload(job.payload, job.secret)
        req = urllib.request.Request(
            job.url,
            data=job.payload.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": USER_AGENT,
                "Cache-Control": "no-cache",
                "Accept": "*/*; q=0.5, application/xml",
            },
        )
        status = None
        error = None
        body = ""
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status = resp.status
                body = resp.read(2048).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                body = exc.read(2048).decode("utf-8", "replace")
            except Exception:  # noqa: BLE001 - body is informational only
                body = ""
        except Exception as exc:  # noqa: BLE001 - refused, timeout, ...: all retried
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        return {
            "status": status,
            "ok": ok,
            "error": error,
            "response_body": body[:500],
            "timestamp": started,
            "duration_ms": round((time.time() - started) * 1000, 1),
            "signature": header,
        }
