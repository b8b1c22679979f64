"""CLI: ``python -m emulator.stripe_fake --host 127.0.0.1 --port 12111``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import DEFAULT_RETRY_SCHEDULE, FakeStripe, log
from .state import DEFAULT_API_VERSION


def _schedule(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected comma-separated seconds, e.g. 0.2,0.5,1"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("retry delays must be >= 0")
    return values


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emulator.stripe_fake",
        description="Stateful local fake of the Stripe API.",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=12111)
    ap.add_argument(
        "--webhook-url",
        help="deliver every event to this URL (like `stripe listen --forward-to`)",
    )
    ap.add_argument(
        "--webhook-secret",
        help="whsec_... used to sign deliveries to --webhook-url (generated if omitted)",
    )
    ap.add_argument(
        "--retry-schedule",
        type=_schedule,
        default=DEFAULT_RETRY_SCHEDULE,
        help="comma-separated seconds between delivery retries (default 0.2,0.5,1,2,4)",
    )
    ap.add_argument(
        "--public-url",
        help="base URL for Checkout page links (default http://HOST:PORT)",
    )
    ap.add_argument(
        "--api-version",
        default=DEFAULT_API_VERSION,
        help="api_version stamped on events",
    )
    ap.add_argument(
        "--delivery-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a webhook response",
    )
    ap.add_argument(
        "--quiet", action="store_true", help="do not log one line per request"
    )
    args = ap.parse_args(argv)

    fake = FakeStripe(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        retry_schedule=args.retry_schedule,
        public_url=args.public_url,
        api_version=args.api_version,
        delivery_timeout=args.delivery_timeout,
        log_requests=not args.quiet,
    )
    stop = threading.Event()

    def _on_signal(signum, _frame):
        log("INFO", f"received signal {signum}, shutting down")
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        fake.start()
    except OSError as exc:
        log("ERROR", f"cannot listen on {args.host}:{args.port}: {exc}")
        return 1
    fields = {"url": fake.url}
    if fake.webhook_url:
        fields.update(webhook_url=fake.webhook_url, webhook_secret=fake.webhook_secret)
    log("INFO", f"stripe_fake listening on {fake.url}", **fields)
    while not stop.wait(0.5):
        pass
    fake.stop()
    log("INFO", "stripe_fake stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
