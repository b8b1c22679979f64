"""The app factory: configuration, database, security, the CRUD API, pages and every capability."""

from __future__ import annotations

import json
import logging
import os
import secrets
from importlib import resources
from urllib.parse import urlsplit

from flask import Flask, jsonify

from . import capabilities, db, errors, limits, migrations, security
from .spec_data import APP_NAME, NAVIGATION, PURPOSE

DEFAULTS = {
    "DATABASE_URL": "sqlite:///instance/app.db",
    "PASSWORD_HASH_METHOD": "scrypt",
    "UPLOAD_DIR": "instance/uploads",
    "UPLOAD_BUCKET": "",
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "NOW": None,
    "APP_ENV": "",
    "OWNER_CLAIM_TOKEN": "",
    "TRUSTED_PROXY_HOPS": 0,
    "LOGIN_THROTTLE_WINDOW_S": 15 * 60,
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 10,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
}
#: Read from the environment when set (a `config` passed to create_app wins).
ENVIRONMENT = ("APP_ENV", "DATABASE_URL", "SECRET_KEY", "OWNER_CLAIM_TOKEN", "UPLOAD_DIR", "UPLOAD_BUCKET",
               "PASSWORD_HASH_METHOD", "TRUSTED_PROXY_HOPS")
#: Secret keys that were ever written down somewhere: never accepted outside development.
PLACEHOLDER_SECRETS = frozenset({"local-development-only", "change-me", "changeme", "secret", "dev", "development"})
MIN_PRODUCTION_SECRET = 32

log = logging.getLogger(__name__)


class SettingsError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start (the message says what to set)."""


def load_spec() -> dict:
    return json.loads(resources.files(__package__).joinpath("spec.json").read_text(encoding="utf-8"))


def _settings(config: dict | None) -> dict:
    """The app's settings: DEFAULTS, then the environment, then `config`.

    Strict unless told otherwise: without a real SECRET_KEY the app refuses to start, unless APP_ENV=development
    says explicitly that this is a developer's machine (then the key is random per process, with a warning).
    """
    settings = dict(DEFAULTS)
    for key in ENVIRONMENT:
        if os.environ.get(key):
            settings[key] = os.environ[key]
    settings.update(config or {})
    app_env = str(settings.get("APP_ENV") or "").strip().lower()
    settings["APP_ENV"] = app_env
    production = app_env == "production"
    development = app_env == "development"
    if production and (not os.environ.get("DATABASE_URL") or settings["DATABASE_URL"].startswith("sqlite")):
        raise SettingsError("DATABASE_URL must name the production database (Postgres), not a local SQLite file")
    secret = str(settings.get("SECRET_KEY") or "")
    if not secret or secret in PLACEHOLDER_SECRETS:
        if not development:
            raise SettingsError(
                "SECRET_KEY is not set (or is a well-known placeholder): set it to a long random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`, or set APP_ENV=development to run "
                "on your own machine with a throwaway key")
        log.warning("APP_ENV=development: using a random SECRET_KEY for this process; sessions end when it "
                    "stops. Never run like this where others can reach the app.")
        settings["SECRET_KEY"] = secrets.token_hex(32)
    elif production and len(secret) < MIN_PRODUCTION_SECRET:
        raise SettingsError(f"SECRET_KEY is too short for production: use at least {MIN_PRODUCTION_SECRET} "
                            "random characters")
    if development and not settings.get("OWNER_CLAIM_TOKEN"):
        settings["OWNER_CLAIM_TOKEN"] = secrets.token_urlsafe(24)  # `python -m app` prints the claim link
    try:
        settings["TRUSTED_PROXY_HOPS"] = max(0, int(settings.get("TRUSTED_PROXY_HOPS") or 0))
    except ValueError as exc:
        raise SettingsError("TRUSTED_PROXY_HOPS must be a whole number (1 behind Cloud Run's front end)") from exc
    settings.setdefault("SESSION_COOKIE_HTTPONLY", True)
    settings.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    settings.setdefault("SESSION_COOKIE_SECURE", production)
    settings["PUBLIC_BASE_URL"] = public_base_url(settings.get("PUBLIC_BASE_URL") or os.environ.get("PUBLIC_BASE_URL"))
    return settings


def public_base_url(raw: str | None) -> str:
    """PUBLIC_BASE_URL, the address the public reaches the app at (links and QR codes are built on it, never
    on the request's Host header): an http(s) origin, no path; "" when unset."""
    text = (raw or "").strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise SettingsError(f"PUBLIC_BASE_URL must be an origin like https://app.example.com, not {text!r}")
    return text


def create_app(config: dict | None = None) -> Flask:
    logging.basicConfig(level=logging.INFO)
    app = Flask(__name__)
    app.config.update(_settings(config))
    if app.config["TRUSTED_PROXY_HOPS"]:  # the client's address is the one the trusted proxy saw (X-Forwarded-For)
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    db.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    app.jinja_env.globals.update(app_name=APP_NAME, purpose=PURPOSE, navigation=NAVIGATION)

    from . import api, auth, pages

    app.register_blueprint(auth.bp)
    app.jinja_env.globals.update(signup_open=auth.SIGNUP_OPEN)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    for module in capabilities.load_all():
        app.register_blueprint(module.bp)

    @app.get("/health")
    def health():
        return jsonify({"status": "ok", "app": APP_NAME})

    @app.get("/api/schema")
    @security.login_required
    def schema():
        routes = sorted(
            {(m, str(rule)) for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}
             if rule.endpoint != "static"},
            key=lambda mr: (mr[1], mr[0]))
        return jsonify({**load_spec(), "routes": [{"method": m, "path": p} for m, p in routes]})

    migrations.init_app(app)  # `flask db upgrade`, `flask db current`, ...
    migrations.migrate(app.extensions["db_engine"])
    return app
