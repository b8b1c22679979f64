"""The local stand-in for SendGrid: a real SMTP server (aiosmtpd) that keeps every message it receives, and a small
HTTP page and JSON listing of them. Started and supervised by the local cloud (emulator/localcloud.py).

    python -m emulator.mailsink --smtp-port 2525 --web-port 8025 [--store FILE]

HTTP: `GET /` (a page), `GET /messages[?to=ADDRESS]` (JSON, oldest first), `DELETE /messages` (clear),
`GET /health`. Messages are also appended to `--store` (JSON lines) and read back on start, so a restart by the
supervisor loses nothing.
"""

from __future__ import annotations

import argparse
import html
import json
import signal
import threading
import time
import uuid
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

MAX_MESSAGES = 2000


class Store:
    def __init__(self, path: Path | None):
        self.path, self.lock, self.messages = path, threading.Lock(), []
        if path and path.exists():
            for line in path.read_text().splitlines():
                try:
                    self.messages.append(json.loads(line))
                except ValueError:
                    continue

    def add(self, msg: dict) -> None:
        with self.lock:
            self.messages.append(msg)
            del self.messages[:-MAX_MESSAGES]
            if self.path:
                with self.path.open("a") as f:
                    f.write(json.dumps(msg) + "\n")

    def list(self, to: str | None = None) -> list[dict]:
        with self.lock:
            msgs = list(self.messages)
        if to:
            msgs = [m for m in msgs if to.lower() in (r.lower() for r in m["to"])]
        return msgs

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            if self.path:
                self.path.write_text("")


def parse(envelope_from: str, rcpt_tos: list[str], data: bytes) -> dict:
    mail = message_from_bytes(data, policy=policy.default)
    body = mail.get_body(preferencelist=("plain", "html"))
    return {"id": uuid.uuid4().hex[:12], "received_at": time.time(), "from": envelope_from, "to": list(rcpt_tos),
            "subject": str(mail.get("Subject", "")), "text": body.get_content() if body else ""}


class Handler:
    """aiosmtpd handler: keep the message, answer 250."""

    def __init__(self, store: Store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.store.add(parse(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def page(msgs: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(m['received_at']))}</td>"
        f"<td>{html.escape(', '.join(m['to']))}</td><td>{html.escape(m['subject'])}</td>"
        f"<td><pre>{html.escape(m['text'])}</pre></td></tr>" for m in reversed(msgs))
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>Local mail sink</title>"
            "<style>body{font-family:system-ui;margin:2rem}td,th{border-bottom:1px solid #ccc;padding:.4rem;"
            "vertical-align:top;text-align:left}pre{white-space:pre-wrap;margin:0}</style>"
            f"<h1>Local mail sink</h1><p>{len(msgs)} message(s) sent by the local cloud, newest first. "
            "Nothing here leaves this machine.</p><table><tr><th>Time</th><th>To</th><th>Subject</th>"
            f"<th>Text</th></tr>{rows}</table></html>")


def web_handler(store: Store):
    class Web(BaseHTTPRequestHandler):
        def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            url = urlparse(self.path)
            if url.path == "/health":
                return self._send(200, json.dumps({"ok": True}))
            if url.path == "/messages":
                to = (parse_qs(url.query).get("to") or [None])[0]
                return self._send(200, json.dumps({"messages": store.list(to)}))
            if url.path == "/":
                return self._send(200, page(store.list()), "text/html")
            return self._send(404, json.dumps({"error": {"code": "not_found", "message": "Try / or /messages."}}))

        def do_DELETE(self):  # noqa: N802
            if urlparse(self.path).path != "/messages":
                return self._send(404, json.dumps({"error": {"code": "not_found", "message": "Try /messages."}}))
            store.clear()
            return self._send(200, json.dumps({"cleared": True}))

        def log_message(self, *args):  # quiet
            pass

    return Web


def main() -> None:
    from aiosmtpd.controller import Controller

    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--smtp-port", type=int, required=True)
    ap.add_argument("--web-port", type=int, required=True)
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    store = Store(args.store)
    smtp = Controller(Handler(store), hostname=args.host, port=args.smtp_port)
    smtp.start()
    web = ThreadingHTTPServer((args.host, args.web_port), web_handler(store))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=web.shutdown, daemon=True).start())
    print(f"mail sink: SMTP on {args.host}:{args.smtp_port}, messages at http://{args.host}:{args.web_port}/",
          flush=True)
    try:
        web.serve_forever()
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
