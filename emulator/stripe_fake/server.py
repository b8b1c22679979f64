"""HTTP front end of the Stripe fake and the programmatic ``FakeStripe`` API.

from emulator.stripe_fake.server import FakeStripe
fs = FakeStripe(host="127.0.0.1", port=0, webhook_url=..., webhook_secret=...,
                retry_schedule=(0.05, 0.1, 0.2))
fs.start()
client = stripe.StripeClient("sk_test_x", base_addresses={"api": fs.url})
...
fs.stop()
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

from . import api, page
from .errors import StripeError
from .forms import canonical_pairs, parse_form, validate
from .state import DEFAULT_API_VERSION, Store, gen_id
from .webhooks import Deliverer, Job

DEFAULT_RETRY_SCHEDULE = (0.2, 0.5, 1.0, 2.0, 4.0)
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z_]+)?$")
_LOG_LOCK = threading.Lock()


def log(severity: str, message: str, **fields: Any) -> None:
    """One JSON line on stderr (Cloud Logging compatible)."""
    entry = {"severity": severity, "message": message, "component": "stripe_fake"}
    entry.update({k: v for k, v in fields.items() if v is not None})
    line = json.dumps(entry, default=str)
    with _LOG_LOCK:
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (ValueError, OSError):  # pragma: no cover - closed stderr
            pass


class _IdemEntry:
    __slots__ = ("body", "done", "fingerprint", "request_id", "saved", "status")

    def __init__(self, fingerprint: Any) -> None:
        self.fingerprint = fingerprint
        self.done = threading.Event()
        self.saved = False
        self.status = 0
        self.body = b""
        self.request_id = ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the stdlib default backlog of 5 resets connections under bursts

    def __init__(self, addr: tuple[str, int], fake: FakeStripe) -> None:
        self.fake = fake
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[override]
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Response:
    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict | None = None,
    ):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def _json(status: int, obj: Any, headers: dict | None = None) -> _Response:
    return _Response(status, json.dumps(obj, indent=2).encode("utf-8"), headers=headers)


def _html(status: int, text: str, headers: dict | None = None) -> _Response:
    return _Response(status, text.encode("utf-8"), "text/html; charset=utf-8", headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe_fake/1.0"
    timeout = 120  # idle keep-alive connections
    # Headers and body go out as two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (~40 ms) on every reused keep-alive connection (stripe-python keeps them).
    disable_nagle_algorithm = True

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # we log one JSON line per request ourselves

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        started = time.time()
        fake = self.server.fake
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        request_id = "req_" + gen_id("", 14)
        try:
            body = self._read_body()
            if path.startswith("/v1/") or path == "/v1":
                resp = fake._handle_api(
                    method, path, split.query, body, self.headers, request_id
                )
            elif path.startswith("/_fake/"):
                resp = fake._handle_control(method, path, split.query, body)
            elif path.startswith("/checkout/"):
                resp = fake._handle_page(method, path, body)
            else:
                resp = _json(
                    404,
                    StripeError(
                        404, f"Unrecognized request URL ({method}: {path})."
                    ).body(),
                )
        except Exception as exc:  # noqa: BLE001 - answer 500, never drop the connection
            log("ERROR", f"unhandled error: {exc!r}", traceback=traceback.format_exc())
            resp = _json(
                500,
                StripeError(
                    500,
                    f"An unknown error occurred in stripe_fake: {exc!r}",
                    type="api_error",
                ).body(),
                headers={"Stripe-Should-Retry": "false"},
            )
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            self.send_header("Request-Id", request_id)
            self.send_header("Cache-Control", "no-cache, no-store")
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            return
        if fake.log_requests:
            sev = (
                "INFO"
                if resp.status < 400
                else ("WARNING" if resp.status < 500 else "ERROR")
            )
            log(
                sev,
                f"{method} {path} {resp.status}",
                method=method,
                path=path,
                status=resp.status,
                request_id=request_id,
                duration_ms=round((time.time() - started) * 1000, 1),
                idempotent_replayed=resp.headers.get("Idempotent-Replayed") == "true"
                or None,
            )


class FakeStripe:
    """A stateful local fake of the Stripe API.

    Args:
        host, port: where to listen (``port=0`` picks a free port).
        webhook_url, webhook_secret: a webhook endpoint that receives every
            event (like ``stripe listen --forward-to``); a ``whsec_`` secret is
            generated when only the URL is given.
        retry_schedule: seconds to wait before each retry of a failed delivery.
        public_url: base URL used in Checkout ``url`` fields (default ``url``).
        api_version: ``api_version`` stamped on events.
        delivery_timeout: seconds a webhook receiver may take to answer.
        log_requests: write one JSON log line per request to stderr.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 12111,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        retry_schedule: tuple[float, ...] | list[float] = DEFAULT_RETRY_SCHEDULE,
        *,
        public_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        delivery_timeout: float = 10.0,
        log_requests: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.public_url = public_url.rstrip("/") if public_url else None
        self.log_requests = log_requests
        self.deliverer = Deliverer(
            tuple(retry_schedule), timeout=delivery_timeout, log=log
        )
        self.store = Store(
            self._base_url, api_version=api_version, deliver=self._deliver
        )
        if webhook_url:
            if not webhook_secret:
                webhook_secret = "whsec_" + gen_id("", 32)
            self.store.cli_endpoint = (webhook_url, webhook_secret)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._idem: dict[tuple[str, str], _IdemEntry] = {}
        self._idem_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def _base_url(self) -> str:
        return self.public_url or self.url

    def start(self) -> FakeStripe:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self.deliverer.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stripe-fake-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.deliverer.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------
    # programmatic test controls (same as the /_fake/ endpoints)
    # ------------------------------------------------------------------
    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.deliverer.reset()
            with self._idem_lock:
                self._idem.clear()

    def complete_checkout(
        self,
        session_id: str,
        outcome: str = "paid",
        email: str | None = None,
        name: str | None = None,
    ) -> dict:
        return self._rendered(
            self.store.complete_checkout(session_id, outcome, email, name)
        )

    def settle_payment(self, session_id: str, succeeded: bool = True) -> dict:
        return self._rendered(self.store.settle_payment(session_id, succeeded))

    def renew_subscription(self, subscription_id: str) -> dict:
        return self._rendered(self.store.renew_subscription(subscription_id))

    def fail_renewal(self, subscription_id: str) -> dict:
        return self._rendered(self.store.renew_subscription(subscription_id, fail=True))

    def redeliver(self, event_id: str) -> dict:
        return self.store.redeliver_event(event_id)

    def hold_deliveries(self) -> dict:
        return self.deliverer.hold()

    def release_deliveries(self, order: str = "original") -> dict:
        return self.deliverer.release(order)

    def deliveries(self, event_id: str | None = None) -> list[dict]:
        return self.deliverer.snapshot(event_id)["data"]

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        return self.deliverer.wait_idle(timeout)

    def events(self, type: str | None = None) -> list[dict]:
        with self.store.lock:
            evts = [self.store.objects[e] for e in self.store.order.get("event", [])]
            return [
                json.loads(json.dumps(e))
                for e in evts
                if type is None or e["type"] == type
            ]

    def _rendered(self, result: dict) -> dict:
        with self.store.lock:
            return json.loads(json.dumps(result))

    # ------------------------------------------------------------------
    # webhooks
    # ------------------------------------------------------------------
    def _deliver(
        self, evt: dict, payload: str, targets: list, redelivery: bool = False
    ) -> None:
        jobs = [
            Job(
                event_id=evt["id"],
                event_type=evt["type"],
                payload=payload,
                endpoint_id=wid,
                url=url,
                secret=secret,
                redelivery=redelivery,
            )
            for wid, url, secret in targets
        ]
        if jobs:
            self.deliverer.enqueue(jobs)

    # ------------------------------------------------------------------
    # /v1 API
    # ------------------------------------------------------------------
    def _handle_api(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Any,
        request_id: str,
    ) -> _Response:
        common = {
            "Stripe-Version": headers.get("Stripe-Version") or self.store.api_version
        }
        key = _api_key(headers.get("Authorization", ""))
        if not key:
            return self._error(
                StripeError(
                    401,
                    "You did not provide an API key. You need to provide your API key in the Authorization "
                    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                    "https://stripe.com/docs/api#authentication for details, or we can help at "
                    "https://support.stripe.com/.",
                ),
                {**common, "WWW-Authenticate": 'Basic realm="Stripe"'},
            )
        if not (key.startswith(("sk_test_", "rk_test_"))) or len(key) <= 8:
            return self._error(
                StripeError(401, f"Invalid API Key provided: {_redact(key)}"),
                {**common, "WWW-Authenticate": 'Basic realm="Stripe"'},
            )
        version = headers.get("Stripe-Version")
        if version and not _VERSION_RE.match(version):
            return self._error(
                StripeError(
                    400,
                    f"Invalid Stripe API version: {version}",
                    code="api_version_invalid",
                ),
                common,
            )
        raw = query
        if method == "POST":
            ctype = (
                (headers.get("Content-Type") or "application/x-www-form-urlencoded")
                .split(";")[0]
                .strip()
            )
            if ctype not in ("application/x-www-form-urlencoded", ""):
                return self._error(
                    StripeError(
                        400,
                        f"Invalid request: unsupported Content-Type {ctype}. If error persists and you need "
                        "assistance, please contact support@stripe.com.",
                    ),
                    common,
                )
            text = body.decode("utf-8", "replace")
            raw = "&".join(x for x in (query, text) if x)
        matched = api.match(method, path)
        if matched is None:
            return self._error(
                StripeError(
                    404,
                    f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
                    "https://support.stripe.com/.",
                ),
                common,
            )
        route, groups = matched
        idem_key = headers.get("Idempotency-Key")
        if idem_key:
            common["Idempotency-Key"] = idem_key
        try:
            tree = parse_form(raw)
        except StripeError as err:
            return self._error(err, common)
        if method == "POST" and idem_key:
            if len(idem_key) > 255:
                return self._error(
                    StripeError(
                        400,
                        "Idempotency-Key must be at most 255 characters.",
                        type="idempotency_error",
                    ),
                    common,
                )
            return self._idempotent(
                key,
                idem_key,
                (method, path, canonical_pairs(tree)),
                route,
                groups,
                tree,
                request_id,
                common,
            )
        status, payload, _ = self._execute(
            route, groups, tree, request_id, idem_key if method != "GET" else None
        )
        return _Response(status, payload, headers=common)

    def _execute(
        self,
        route: api.Route,
        groups: tuple,
        tree: dict,
        request_id: str,
        idem_key: str | None,
    ) -> tuple[int, bytes, bool]:
        _, _, schema, fn = route
        store = self.store
        try:
            params = validate(tree, schema)
            with store.lock:
                store.set_request(request_id, idem_key)
                try:
                    obj = fn(store, params, *groups)
                    rendered = store.render(obj)
                finally:
                    store.clear_request()
            return 200, json.dumps(rendered, indent=2).encode("utf-8"), True
        except StripeError as err:
            return (
                err.status,
                json.dumps(err.body(), indent=2).encode("utf-8"),
                err.save_idempotent,
            )
        except Exception as exc:  # noqa: BLE001 - a bug in the fake becomes a 500 api_error
            log(
                "ERROR",
                f"stripe_fake internal error: {exc!r}",
                traceback=traceback.format_exc(),
            )
            err = StripeError(
                500,
                f"An unknown error occurred in stripe_fake: {exc!r}",
                type="api_error",
            )
            return 500, json.dumps(err.body(), indent=2).encode("utf-8"), False

    def _idempotent(
        self,
        api_key: str,
        idem_key: str,
        fingerprint: Any,
        route: api.Route,
        groups: tuple,
        tree: dict,
        request_id: str,
        common: dict,
    ) -> _Response:
        scope = (api_key, idem_key)
        while True:
            with self._idem_lock:
                entry = self._idem.get(scope)
                owner = entry is None
                if owner:
                    entry = self._idem[scope] = _IdemEntry(fingerprint)
            assert entry is not None
            if owner:
                try:
                    status, payload, save = self._execute(
                        route, groups, tree, request_id, idem_key
                    )
                except BaseException:
                    with self._idem_lock:
                        self._idem.pop(scope, None)
                    entry.done.set()
                    raise
                with self._idem_lock:
                    if save:
                        entry.saved, entry.status, entry.body, entry.request_id = (
                            True,
                            status,
                            payload,
                            request_id,
                        )
                    else:
                        self._idem.pop(scope, None)
                entry.done.set()
                return _Response(status, payload, headers=common)
            if entry.fingerprint != fingerprint:
                return self._error(
                    StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idem_key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    ),
                    common,
                )
            if not entry.done.wait(30):
                return self._error(
                    StripeError(
                        409,
                        "There is currently another in-progress request using this Idempotent Key (that probably "
                        f"means you submitted twice, and the other request is still going through): {idem_key}. Please "
                        "try again later.",
                        type="idempotency_error",
                        code="idempotency_key_in_use",
                    ),
                    common,
                )
            if entry.saved:
                return _Response(
                    entry.status,
                    entry.body,
                    headers={
                        **common,
                        "Idempotent-Replayed": "true",
                        "Original-Request": entry.request_id,
                    },
                )
            # The first request's result was not kept (validation error): run again.

    @staticmethod
    def _error(err: StripeError, headers: dict | None = None) -> _Response:
        return _json(err.status, err.body(), headers)

    # ------------------------------------------------------------------
    # /_fake/ test controls
    # ------------------------------------------------------------------
    def _handle_control(
        self, method: str, path: str, query: str, body: bytes
    ) -> _Response:
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError as exc:
            return self._error(StripeError(400, f"Invalid JSON body: {exc}"))
        if not isinstance(data, dict):
            return self._error(
                StripeError(400, "Invalid JSON body: expected a JSON object")
            )
        parts = path.split("/")[2:]  # after "/_fake"
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            result = self._control(method, parts, data, q)
        except StripeError as err:
            return self._error(err)
        if isinstance(result, _Response):
            return result
        return _json(200, self._rendered(result))

    def _control(self, method: str, parts: list[str], data: dict, q: dict) -> Any:
        n = len(parts)
        if method == "GET" and parts == ["health"]:
            return {"ok": True, "url": self.url}
        if method == "POST" and parts == ["reset"]:
            self.reset()
            return {"ok": True}
        if method == "GET" and parts == ["deliveries"]:
            return self.deliverer.snapshot(q.get("event_id"))
        if method == "POST" and parts == ["deliveries", "hold"]:
            return self.deliverer.hold()
        if method == "POST" and parts == ["deliveries", "release"]:
            order = data.get("order", "original")
            if order not in ("original", "reversed"):
                raise StripeError(
                    400, "order must be 'original' or 'reversed'", param="order"
                )
            return self.deliverer.release(order)
        if method == "POST" and parts == ["deliveries", "wait"]:
            timeout = float(data.get("timeout", 5))
            return {"idle": self.deliverer.wait_idle(min(timeout, 60.0))}
        if (
            method == "POST"
            and n == 3
            and parts[0] == "checkout"
            and parts[2] == "complete"
        ):
            outcome = data.get("outcome", "paid")
            return self.store.complete_checkout(
                parts[1], outcome, data.get("email"), data.get("name")
            )
        if (
            method == "POST"
            and n == 3
            and parts[0] == "payments"
            and parts[2] == "settle"
        ):
            succeeded = data.get("succeeded", True)
            if not isinstance(succeeded, bool):
                raise StripeError(400, "succeeded must be a boolean", param="succeeded")
            return self.store.settle_payment(parts[1], succeeded)
        if (
            method == "POST"
            and n == 3
            and parts[0] == "subscriptions"
            and parts[2] in ("renew", "fail_renewal")
        ):
            return self.store.renew_subscription(
                parts[1], fail=parts[2] == "fail_renewal"
            )
        if (
            method == "POST"
            and n == 3
            and parts[0] == "events"
            and parts[2] == "redeliver"
        ):
            return self.store.redeliver_event(parts[1])
        raise StripeError(
            404,
            "Unrecognized test control ({}: /_fake/{}).".format(
                method, "/".join(parts)
            ),
        )

    # ------------------------------------------------------------------
    # hosted checkout page
    # ------------------------------------------------------------------
    def _handle_page(self, method: str, path: str, body: bytes) -> _Response:
        parts = path.split("/")[2:]
        if not parts:
            return _html(404, page.message_page("Not found", "No such page."))
        sid = parts[0]
        store = self.store
        with store.lock:
            session = store.objects.get(sid)
            if session is None or session.get("object") != "checkout.session":
                return _html(
                    404,
                    page.message_page("Not found", f"No such checkout session: {sid}"),
                )
            store._maybe_expire(session)
            if method == "GET" and len(parts) == 1:
                return self._render_session_page(session)
            if method == "GET" and parts[1:] == ["done"]:
                return _html(
                    200,
                    page.message_page(
                        "Payment complete", "Thanks for your order.", element_id="done"
                    ),
                )
            if method == "POST" and parts[1:] == ["pay"]:
                form = dict(
                    parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                )
                outcome = form.get("outcome", "paid")
                if session["status"] != "open":
                    return _html(
                        400,
                        page.message_page(
                            "Session not active",
                            "This Checkout Session is no longer active (status: {}).".format(
                                session["status"]
                            ),
                            session.get("success_url")
                            if session["status"] == "complete"
                            else None,
                        ),
                    )
                try:
                    result = store.complete_checkout(
                        sid,
                        outcome,
                        form.get("email") or None,
                        form.get("name") or None,
                    )
                except StripeError as err:
                    return self._render_session_page(
                        session, error=err.message, status=400
                    )
                if result.get("error"):
                    return self._render_session_page(
                        session,
                        error=result["error"]["message"],
                        status=402,
                        email=form.get("email"),
                        name=form.get("name"),
                    )
                target = session.get("success_url") or f"/checkout/{sid}/done"
                target = target.replace("{CHECKOUT_SESSION_ID}", sid)
                return _Response(303, b"", "text/plain", {"Location": target})
        return _html(404, page.message_page("Not found", "No such page."))

    def _render_session_page(
        self,
        session: dict,
        error: str | None = None,
        status: int = 200,
        email: str | None = None,
        name: str | None = None,
    ) -> _Response:
        store = self.store
        if session["status"] == "complete":
            return _html(
                200,
                page.message_page(
                    "Already paid",
                    "This Checkout Session is complete.",
                    (session.get("success_url") or "").replace(
                        "{CHECKOUT_SESSION_ID}", session["id"]
                    )
                    or None,
                    element_id="session-status",
                ),
            )
        if session["status"] == "expired":
            return _html(
                410,
                page.message_page(
                    "Session expired",
                    "This Checkout Session has expired.",
                    session.get("cancel_url"),
                    element_id="session-status",
                ),
            )
        items = store._session_line_items(session["id"], {})["data"]
        cust = (
            store.objects.get(session["customer"]) if session.get("customer") else None
        )
        prefill = email or (cust or {}).get("email") or session.get("customer_email")
        return _html(
            status,
            page.checkout_page(
                session,
                items,
                store.objects,
                prefill,
                name or (cust or {}).get("name"),
                error,
            ),
        )


def _api_key(header: str) -> str | None:
    header = header.strip()
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except Exception:  # noqa: BLE001 - malformed Basic auth is just "no key"
            return None
        return decoded.split(":", 1)[0] or None
    return None


def _redact(key: str) -> str:
    if len(key) <= 12:
        return key[:3] + "*" * max(len(key) - 3, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]
