"""`python -m app [--port N]`: run the app locally (PORT and HOST are honoured; migrations run at start).

The app refuses to start without SECRET_KEY unless APP_ENV=development; on a developer's machine run
`APP_ENV=development python -m app`, which also prints the link that claims the app as its owner.
"""

from __future__ import annotations

import argparse
import logging
import os

from . import create_app

log = logging.getLogger("app")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the app on a local port.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args()
    app = create_app()
    if app.config["APP_ENV"] == "development":
        from .auth import owner_claimed

        with app.app_context():
            if not owner_claimed():
                log.warning("No owner yet: claim the app at http://%s:%s/claim?token=%s", args.host, args.port,
                            app.config["OWNER_CLAIM_TOKEN"])
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
