"""A local fake of an OpenAI-compatible chat-completions server (stdlib http.server in a thread).

Script it with a list of steps, consumed one per request (the last step repeats when the list runs out):

    {"content": "<text or dict>", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}  -> 200
    {"status": 429, "headers": {"Retry-After": "1"}}                                      -> error
    {"status": 503}
    {"sleep": 2.0, ...}                                                                    -> delay first

or give `responder(request_json) -> step` for answers computed from the request. Every request body is
kept in `.requests` for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(self, steps=None, responder=None):
        self.steps = list(steps or [])
        self.responder = responder
        self.requests: list[dict] = []
        self.request_times: list[float] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next_step(self, body: dict) -> dict:
        with self._lock:
            self.requests.append(body)
            self.request_times.append(time.monotonic())
            if self.responder is not None:
                return self.responder(body)
            if not self.steps:
                return {"status": 500}
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                fake.headers.append(dict(self.headers))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                step = fake._next_step(body)
                if step.get("sleep"):
                    time.sleep(step["sleep"])
                status = step.get("status", 200)
                if status != 200:
                    self._send(status, {"error": {"message": f"fake error {status}"}}, step.get("headers", {}))
                    return
                content = step.get("content", "")
                if not isinstance(content, str):
                    content = json.dumps(content)
                usage = step.get("usage", {"prompt_tokens": 100, "completion_tokens": 50})
                self._send(200, {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": dict(usage, total_tokens=sum(usage.values())),
                })

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
