"""The app factory: configuration, database, security, the CRUD API, pages and every capability."""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from urllib.parse import urlsplit

from flask import Flask, jsonify

from . import capabilities, db, errors, limits, security
from .migrations import migrate
from .spec_data import APP_NAME, NAVIGATION, PURPOSE

DEFAULTS = {
    "DATABASE_URL": "sqlite:///instance/app.db",
    "PASSWORD_HASH_METHOD": "scrypt",
    "UPLOAD_DIR": "instance/uploads",
    "UPLOAD_BUCKET": "",
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "NOW": None,
}


def load_spec() -> dict:
    return json.loads(resources.files(__package__).joinpath("spec.json").read_text(encoding="utf-8"))


def _settings(config: dict | None) -> dict:
    settings = dict(DEFAULTS)
    for key in ("DATABASE_URL", "SECRET_KEY", "UPLOAD_DIR", "UPLOAD_BUCKET", "PASSWORD_HASH_METHOD"):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    settings.update(config or {})
    production = os.environ.get("APP_ENV") == "production"
    if production and (not os.environ.get("DATABASE_URL") or settings["DATABASE_URL"].startswith("sqlite")):
        raise RuntimeError("DATABASE_URL must name the production database (Postgres), not a local SQLite file")
    if not settings.get("SECRET_KEY"):
        if production:
            raise RuntimeError("SECRET_KEY must be set in production")
        settings["SECRET_KEY"] = "local-development-only"
    settings.setdefault("SESSION_COOKIE_HTTPONLY", True)
    settings.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    settings.setdefault("SESSION_COOKIE_SECURE", os.environ.get("APP_ENV") == "production")
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
        raise RuntimeError(f"PUBLIC_BASE_URL must be an origin like https://app.example.com, not {text!r}")
    return text


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(_settings(config))
    logging.basicConfig(level=logging.INFO)
    db.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    app.jinja_env.globals.update(app_name=APP_NAME, purpose=PURPOSE, navigation=NAVIGATION)

    from . import api, auth, pages

    app.register_blueprint(auth.bp)
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

    migrate(app.extensions["db_engine"])
    return app
