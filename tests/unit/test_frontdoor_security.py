"""The local front door (emulator/frontdoor.py) on raw sockets: every body is read or discarded
(no second request smuggled inside an unproxied body), unknown methods get a JSON 405, and a
non-idempotent request is never sent twice (issue 9, Broken 9)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulator import frontdoor

CONFIG = {"hosting": {"public": "web", "rewrites": [{"source": "/api/echo/**", "run": {"serviceId": "echo"}}]}}


class Upstream:
    """A function stand-in that counts requests; with `drop` it closes the connection unanswered."""

    def __init__(self):
        self.calls: list[tuple[str, str, bytes]] = []
        self.drop = False
        up = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                up.calls.append((self.command, self.path, body))
                if up.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                out = json.dumps({"method": self.command, "len": len(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_port


@pytest.fixture
def door():
    up = Upstream()
    routes = frontdoor.Routes(CONFIG, {"echo": up.port})
    srv = frontdoor.FrontDoorServer(("127.0.0.1", 0), frontdoor.make_handler(routes, {}))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_port, up
    srv.shutdown()
    up.server.shutdown()


def exchange(port: int, raw: bytes, wait_s: float = 1.0) -> bytes:
    """Send raw bytes on one connection; return everything the server sent back until it goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as s:
        s.sendall(raw)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except TimeoutError:
            pass
    return out


def test_body_of_an_unproxied_request_is_discarded_not_parsed_as_a_second_request(door):
    port, up = door
    smuggled = b"GET /api/echo/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    raw = (b"POST /nonexistent HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Content-Length: " + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled)
    out = exchange(port, raw)
    assert out.count(b"HTTP/1.1 ") == 1, out
    assert out.startswith(b"HTTP/1.1 404")
    assert up.calls == [], "the smuggled request reached a function"


def test_chunked_body_of_an_unproxied_request_is_discarded(door):
    port, up = door
    smuggled = b"GET /api/echo/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    raw = (b"POST /api/nothing-here HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           + f"{len(smuggled):x}".encode() + b"\r\n" + smuggled + b"\r\n0\r\n\r\n")
    out = exchange(port, raw)
    assert out.count(b"HTTP/1.1 ") == 1, out
    assert up.calls == []


def test_chunked_body_is_proxied_whole_with_a_length(door):
    port, up = door
    raw = (b"POST /api/echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    out = exchange(port, raw)
    assert out.startswith(b"HTTP/1.1 200") and out.count(b"HTTP/1.1 ") == 1
    assert up.calls == [("POST", "/api/echo/x", b"hello world")]


def test_both_content_length_and_chunked_is_refused_and_closed(door):
    port, up = door
    raw = (b"POST /api/echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0\r\n\r\nGET /api/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    out = exchange(port, raw)
    assert out.startswith(b"HTTP/1.1 400") and out.count(b"HTTP/1.1 ") == 1
    assert b'"bad_framing"' in out and up.calls == []


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND", "CONNECT"])
def test_unknown_methods_get_a_json_405(door, method):
    port, up = door
    out = exchange(port, f"{method} /api/echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405"), out
    assert b"Allow: GET, HEAD, POST" in head and b"application/json" in head
    err = json.loads(body)["error"]
    assert err["code"] == "method_not_allowed" and method in err["message"]
    assert up.calls == []


def test_non_idempotent_request_is_never_retried(door):
    port, up = door
    up.drop = True
    out = exchange(port, b"POST /api/echo/spend HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", wait_s=3)
    assert out.startswith(b"HTTP/1.1 502"), out
    assert b"not retried" in out
    assert [c[0] for c in up.calls] == ["POST"], up.calls


def test_idempotent_request_is_retried_once_after_a_connection_error(door):
    port, up = door
    up.drop = True
    out = exchange(port, b"GET /api/echo/read HTTP/1.1\r\nHost: x\r\n\r\n", wait_s=3)
    assert out.startswith(b"HTTP/1.1 502")
    assert [c[0] for c in up.calls] == ["GET", "GET"]


def test_keep_alive_connection_serves_requests_in_order(door):
    port, up = door
    raw = (b"POST /api/echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           b"GET /api/echo/b HTTP/1.1\r\nHost: x\r\n\r\n")
    out = exchange(port, raw)
    assert out.count(b"HTTP/1.1 200") == 2
    assert [(m, p) for m, p, _ in up.calls] == [("POST", "/api/echo/a"), ("GET", "/api/echo/b")]


def test_the_auth_emulators_idp_pages_are_served_on_the_front_doors_origin_and_only_pages():
    """Local Google sign-in (decision 0041): GET /emulator/auth/* reaches the Auth emulator; a write does
    not, and without an Auth emulator configured nothing is proxied."""
    auth = Upstream()
    routes = frontdoor.Routes(CONFIG, {})
    for auth_port in (auth.port, None):
        srv = frontdoor.FrontDoorServer(("127.0.0.1", 0), frontdoor.make_handler(routes, {}, auth_port))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            get = exchange(srv.server_port, b"GET /emulator/auth/handler?apiKey=k&appName=a HTTP/1.1\r\n"
                                            b"Host: x\r\nConnection: close\r\n\r\n")
            post = exchange(srv.server_port, b"POST /emulator/auth/handler HTTP/1.1\r\nHost: x\r\n"
                                             b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        finally:
            srv.shutdown()
        if auth_port:
            assert get.startswith(b"HTTP/1.0 200") or get.startswith(b"HTTP/1.1 200"), get[:80]
            assert auth.calls == [("GET", "/emulator/auth/handler?apiKey=k&appName=a", b"")]
        else:
            assert b" 404 " in get.split(b"\r\n", 1)[0], get[:80]
        assert b" 404 " in post.split(b"\r\n", 1)[0], post[:80]
    assert len(auth.calls) == 1
    auth.server.shutdown()
