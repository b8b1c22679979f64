"""Accounts, sessions, CSRF and the spec's roles, enforced on every route.

* `current_user()` reads the signed session cookie (Flask's session, signed with SECRET_KEY).
* Every POST/PUT/PATCH/DELETE by a signed-in user, and every page form post, must carry the session's
  CSRF token: header `X-CSRF-Token` (API) or form field `csrf_token` (pages).
* `can(user, "read"|"write", entity)` follows the roles in the spec (`ROLES` in spec_data.py); a role with
  scope "own" may edit or delete only the rows it created (`owns_or_may`).
"""

from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import Flask, g, request, session
from werkzeug.security import check_password_hash, generate_password_hash

from . import db
from .errors import ApiError
from .models import User
from .spec_data import ROLES

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def hash_password(password: str) -> str:
    from flask import current_app

    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def current_user() -> User | None:
    if "current_user" not in g:
        uid = session.get("uid")
        g.current_user = db.session().get(User, uid) if isinstance(uid, int) else None
    return g.current_user


def sign_in(user: User) -> str:
    session.clear()
    session["uid"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    g.current_user = user
    return session["csrf"]


def sign_out() -> None:
    session.clear()
    g.current_user = None


def csrf_token() -> str:
    """The session's CSRF token (created on first use); a Jinja global for forms."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    is_api = request.path.startswith("/api/")
    if is_api and current_user() is None:
        return  # anonymous API calls: sign-up/sign-in, or refused by the route's own guard (401)
    sent = request.headers.get("X-CSRF-Token") or (request.form.get("csrf_token") if not is_api else None)
    expected = session.get("csrf")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise ApiError(403, "csrf_failed", "The form or request is missing its security token; reload the page "
                       "and try again (API clients send the csrf_token from /api/auth/me as X-CSRF-Token).")


def role_of(user: User | None) -> dict | None:
    return ROLES.get(user.role) if user is not None else None


def can(user: User | None, action: str, entity: str) -> bool:
    role = role_of(user)
    if role is None:
        return False
    if action == "read":
        return entity in role["read"] or entity in role["write"]
    if action == "write":
        return entity in role["write"]
    raise ValueError(f"unknown action {action!r}")


def owns_or_may(user: User | None, row) -> bool:
    """May `user` change `row`? Scope "all" roles may; scope "own" roles only for rows they created."""
    role = role_of(user)
    if role is None:
        return False
    return role["scope"] == "all" or getattr(row, "owner_id", None) == user.id


def may_manage_users(user: User | None) -> bool:
    role = role_of(user)
    return bool(role and role["manage_users"])


def _require_user() -> User:
    user = current_user()
    if user is None:
        raise ApiError(401, "login_required", "Sign in first.")
    return user


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        _require_user()
        return view(*args, **kwargs)

    return wrapper


def require_read(entity: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not can(_require_user(), "read", entity):
                raise ApiError(403, "forbidden", f"Your role may not see {entity} records.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_write(entity: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not can(_require_user(), "write", entity):
                raise ApiError(403, "forbidden", f"Your role may not change {entity} records.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_role(*role_names: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = _require_user()
            if user.role not in role_names:
                raise ApiError(403, "forbidden", f"Only {', '.join(role_names)} may do this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_manage_users(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not may_manage_users(_require_user()):
            raise ApiError(403, "forbidden", "Only the owner may manage users.")
        return view(*args, **kwargs)

    return wrapper


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user, can=can,
                                 may_manage_users=may_manage_users)
