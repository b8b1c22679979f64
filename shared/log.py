"""JSON logs: one object per line with `severity`, as Cloud Logging parses them.

A request's trace (from `X-Cloud-Trace-Context` or W3C `traceparent`, see `trace_from_headers`) is written as
`logging.googleapis.com/trace` = `projects/<project>/traces/<trace id>` (and `logging.googleapis.com/spanId`), the
fields Cloud Logging correlates a request's lines by; `trace` stays for reading logs locally. The level is
`LOG_LEVEL` (DEBUG, INFO, WARNING, ERROR, CRITICAL; INFO when unset, and INFO with a warning when unknown).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
import traceback

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context", default={})  # noqa: B039 - never mutated; bind() sets a new dict

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "logger": record.name,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
        }
        context = _context.get()
        entry.update(context)
        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT")
        if context.get("trace") and project:
            entry["logging.googleapis.com/trace"] = f"projects/{project}/traces/{context['trace']}"
            if context.get("span_id"):
                entry["logging.googleapis.com/spanId"] = context["span_id"]
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


_configured = False
_TRACE_HEX = re.compile(r"^[0-9a-f]{32}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def trace_from_headers(headers) -> tuple[str | None, str | None]:
    """(trace id, span id) of a request: `X-Cloud-Trace-Context: TRACE/SPAN;o=1` (span decimal, written as 16 hex
    digits) or W3C `traceparent: 00-TRACE-SPAN-01`; (None, None) when neither is well formed."""
    cloud = (headers.get("X-Cloud-Trace-Context") or "").strip()
    if cloud:
        trace, _, rest = cloud.partition("/")
        trace = trace.lower()
        if _TRACE_HEX.match(trace):
            span = rest.split(";", 1)[0]
            return trace, (f"{int(span):016x}" if span.isdigit() and int(span) < 2 ** 64 else None)
    m = _TRACEPARENT.match((headers.get("traceparent") or "").strip().lower())
    if m and set(m.group(1)) != {"0"}:
        return m.group(1), m.group(2)
    return None, None


def level_from_env() -> tuple[int, str | None]:
    """(the level LOG_LEVEL names, a warning when it names none)."""
    raw = (os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
    level = logging.getLevelName(raw)
    if raw not in _SEVERITY.values() or not isinstance(level, int):
        return logging.INFO, f"LOG_LEVEL={raw!r} is not one of {', '.join(_SEVERITY.values())}; logging at INFO"
    return level, None


def configure(level: str | int | None = None) -> None:
    """JSON lines on stdout at `level` (by default LOG_LEVEL's), once per process."""
    global _configured
    if _configured:
        return
    problem = None
    if level is None:
        level, problem = level_from_env()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "google", "grpc", "werkzeug", "stripe"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True
    if problem:
        logging.getLogger(__name__).warning(problem)


def get_logger(name: str) -> logging.Logger:
    configure()
    return logging.getLogger(name)


def bind(**fields) -> contextvars.Token:
    """Attach fields (trace, tenant_id, pipeline_id...) to every log line of this context."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def reset(token: contextvars.Token) -> None:
    _context.reset(token)


def event(logger: logging.Logger, level: int, message: str, **fields) -> None:
    logger.log(level, message, extra={"fields": fields})
