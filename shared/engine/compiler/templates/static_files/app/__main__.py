"""`python -m app [--port N]`: run the app locally (PORT and HOST are honoured; migrations run at start)."""

from __future__ import annotations

import argparse
import os

from . import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the app on a local port.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
