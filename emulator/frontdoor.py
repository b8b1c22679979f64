"""The local front door: Firebase Hosting's routing, read from `firebase.json`.

Production serves the dashboard and `/api/*` through Firebase Hosting, whose `rewrites` send
paths to Cloud Run services. The Firebase Hosting emulator cannot proxy `run` rewrites to local
processes, so this small server applies the same file locally: static files from `hosting.public`
first, then the first matching rewrite, with `serviceId` resolved to the local port of that
function (from `shared.topology`). One source of routing truth, the same file production uses.
"""

from __future__ import annotations

import argparse
import http.client
import json
import mimetypes
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host"}
# Methods the front door answers; anything else (TRACE, QUERY, PROPFIND...) gets a JSON 405.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Only these may be sent again after a connection error: a retried POST could spend a credit twice.
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
# Largest body the front door reads (Hosting's own limit is 32 MB; the functions cap at 64 KiB).
MAX_BODY = 32 * 1024 * 1024


class BadBody(Exception):
    """A body the front door cannot frame: answered, then the connection is closed."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def glob_to_regex(glob: str) -> re.Pattern:
    """Firebase Hosting glob: `**` spans path segments, `*` stays within one."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**", i):
            out += ".*"
            i += 2
        elif glob[i] == "*":
            out += "[^/]*"
            i += 1
        elif glob[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(glob[i])
            i += 1
    return re.compile("^" + out + "$")


class Routes:
    def __init__(self, config: dict, ports: dict[str, int]):
        hosting = config["hosting"]
        self.public = (ROOT / hosting.get("public", "web")).resolve()
        self.rules: list[tuple[re.Pattern, dict]] = []
        for rw in hosting.get("rewrites", []):
            if "source" in rw:
                pattern = glob_to_regex(rw["source"])
            else:
                pattern = re.compile(rw["regex"])
            self.rules.append((pattern, rw))
        self.ports = ports

    def resolve(self, path: str) -> tuple[str, object]:
        """-> ("static", Path) | ("proxy", port) | ("missing", service) | ("none", None)"""
        static = self.static_file(path)
        if static:
            return "static", static
        for pattern, rw in self.rules:
            if pattern.match(path):
                if "run" in rw:
                    service = rw["run"]["serviceId"]
                    port = self.ports.get(service)
                    return ("proxy", port) if port else ("missing", service)
                if "destination" in rw:
                    target = self.static_file(rw["destination"])
                    return ("static", target) if target else ("none", None)
        return "none", None

    def static_file(self, path: str) -> Path | None:
        rel = path.lstrip("/")
        candidate = (self.public / rel).resolve()
        if self.public not in candidate.parents and candidate != self.public:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None


_local = threading.local()


def _connection(port: int) -> http.client.HTTPConnection:
    """Keep-alive connection per thread and port, reused only while fresh."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    conn, last = pool.get(port, (None, 0.0))
    if conn is None or time.monotonic() - last > 1.0:
        if conn is not None:
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=330)
    pool[port] = (conn, time.monotonic())
    return conn


def make_handler(routes: Routes, extra_json: dict[str, dict], auth_port: int | None = None):
    """auth_port: the Auth emulator's, whose identity-provider pages (`/emulator/auth/*`) are served on
    this origin, as Firebase Hosting serves `/__/auth/handler` on the app's own domain in production; the
    dashboard's local Google sign-in needs the IdP popup on its own origin (docs/decisions/0041)."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out separately; don't wait 40 ms for an ACK
        server_version = "factory-frontdoor"

        def log_message(self, fmt, *args):  # JSON access log on stderr
            sys.stderr.write(json.dumps({"severity": "DEBUG", "message": fmt % args}) + "\n")

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str, message: str, extra: dict | None = None) -> None:
            body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
            self._send(status, body, "application/json", extra)

        def read_body(self) -> bytes | None:
            """The whole request body, read exactly once, whatever happens to the request next.

            Every body is consumed (or the connection closed) before answering, so bytes of a body
            can never be taken for the next request on a kept-alive connection."""
            if getattr(self, "_body_done", False):
                return self._body
            self._body_done, self._body = True, None
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            cl = self.headers.get("Content-Length")
            if te and cl is not None:
                raise BadBody(400, "bad_framing", "Send either Content-Length or Transfer-Encoding, not both.")
            if te:
                if te != "chunked":
                    raise BadBody(501, "unsupported_transfer_encoding", "Only chunked transfer encoding is supported.")
                chunks, total = [], 0
                while True:
                    line = self.rfile.readline(1024)
                    try:
                        size = int(line.split(b";", 1)[0].strip(), 16)
                    except ValueError:
                        raise BadBody(400, "bad_framing", "The chunked body is malformed.") from None
                    if size < 0:
                        raise BadBody(400, "bad_framing", "The chunked body is malformed.")
                    total += size
                    if total > MAX_BODY:
                        raise BadBody(413, "payload_too_large", f"The body is over {MAX_BODY} bytes.")
                    if size == 0:
                        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(8)  # CRLF after each chunk
                self._body = b"".join(chunks)
                return self._body
            if cl is None:
                return None
            if not cl.strip().isdigit():
                raise BadBody(400, "bad_framing", "Content-Length must be a number.")
            length = int(cl)
            if length > MAX_BODY:
                raise BadBody(413, "payload_too_large", f"The body is over {MAX_BODY} bytes.")
            self._body = self.rfile.read(length) if length else b""
            return self._body

        def _refuse_body(self, exc: BadBody) -> None:
            self.close_connection = True
            self._error(exc.status, exc.code, exc.message, {"Connection": "close"})

        def handle_any(self) -> None:
            self._body_done = False  # one handler serves every request of a kept-alive connection
            try:
                self.read_body()
            except BadBody as exc:
                return self._refuse_body(exc)
            path = self.path.split("?", 1)[0]
            if path == "/__/health":
                return self._send(200, b'{"ok":true}', "application/json")
            if path in extra_json:
                return self._send(200, json.dumps(extra_json[path]).encode(), "application/json",
                                  {"Cache-Control": "no-store"})
            if auth_port and path.startswith("/emulator/auth/") and self.command in ("GET", "HEAD"):
                return self.proxy(auth_port)
            kind, target = routes.resolve(path)
            if kind == "static" and self.command in ("GET", "HEAD"):
                data = Path(target).read_bytes()
                ctype = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
                return self._send(200, data, ctype, {"Cache-Control": "no-cache"})
            if kind == "proxy":
                return self.proxy(int(target))
            if kind == "missing":
                return self._error(502, "service_unavailable", f"The service {target} is not running locally.")
            if path.startswith("/api/"):
                return self._error(404, "route_not_found", f"No API route matches {path}.")
            return self._send(404, b"Not found", "text/plain")

        def proxy(self, port: int) -> None:
            body = self.read_body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            headers["Host"] = f"127.0.0.1:{port}"
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Host"] = self.headers.get("Host", "")
            headers["X-Forwarded-Proto"] = "http"
            if body is not None:
                headers["Content-Length"] = str(len(body))
            # An idempotent request may be sent again if a kept-alive connection turns out closed.
            # Any other request goes out once, on a new connection: after a connection error we
            # cannot know whether the function acted on it (a POST may have spent a credit).
            idempotent = self.command in IDEMPOTENT
            for attempt in ((1, 2) if idempotent else (1,)):
                conn = _connection(port) if idempotent else http.client.HTTPConnection("127.0.0.1", port, timeout=330)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (ConnectionError, http.client.HTTPException, OSError):
                    conn.close()
                    if idempotent:
                        _local.pool.pop(port, None)
                    if attempt == 2 or not idempotent:
                        return self._error(502, "service_unavailable",
                                           "The function did not answer; check that the local cloud is running "
                                           "(make up). The request was not retried.")
            if not idempotent:
                conn.close()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            self.send_response(resp.status)
            for k, v in out.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

        def method_not_allowed(self) -> None:
            self._body_done = False
            try:
                self.read_body()
            except BadBody as exc:
                return self._refuse_body(exc)
            self._error(405, "method_not_allowed",
                        f"{self.command} is not supported; use one of {', '.join(METHODS)}.",
                        {"Allow": ", ".join(METHODS)})

        def __getattr__(self, name: str):
            # BaseHTTPRequestHandler looks up do_<METHOD>; an unknown method would get the stdlib's
            # 501 HTML page. Answer it in the API's JSON error shape instead.
            if name.startswith("do_"):
                return self.method_not_allowed
            raise AttributeError(name)

    return Handler


class FrontDoorServer(ThreadingHTTPServer):
    # The stdlib default listen backlog is 5: a burst of concurrent clients (a dashboard full of
    # tabs, a load test) would overflow it and get connection resets. Hosting accepts them all.
    request_queue_size = 1024
    daemon_threads = True


def service_ports(offset: int) -> dict[str, int]:
    sys.path.insert(0, str(ROOT))
    from shared import topology

    return {f.service_id: f.port + offset for f in topology.FUNCTIONS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "firebase.json"))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--emulators-json", default="", help="JSON served at /__/emulators.json")
    args = ap.parse_args()
    config = json.loads(Path(args.config).read_text())
    routes = Routes(config, service_ports(args.offset))
    extra = {}
    if args.emulators_json:
        extra["/__/emulators.json"] = json.loads(args.emulators_json)
    auth = (extra.get("/__/emulators.json") or {}).get("auth") or ""
    auth_port = int(auth.rsplit(":", 1)[1]) if ":" in auth else None
    server = FrontDoorServer(("127.0.0.1", args.port), make_handler(routes, extra, auth_port))
    import signal

    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    sys.stderr.write(json.dumps({"severity": "INFO", "message": f"front door on http://127.0.0.1:{args.port}"}) + "\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
