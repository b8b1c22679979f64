"""Accounts, sessions, CSRF and the spec's roles, enforced on every route.

* `current_user()` reads the signed session cookie (Flask's session, signed with SECRET_KEY). The cookie
  carries the user's `session_version`; signing out or changing the password adds one to it in the database,
  so every cookie issued before (a copy kept by an attacker, another device) stops working at once.
* Failed sign-ins are counted in the database (`auth_login_failures`, so every worker sees them) per account
  and per client address; past LOGIN_MAX_FAILURES_PER_ACCOUNT / _PER_ADDRESS within LOGIN_THROTTLE_WINDOW_S
  the answer is 429 with Retry-After, whether or not the account exists. `verify_credentials` checks a
  password against a dummy hash when the email has no account, so both take the same time.
* Every POST/PUT/PATCH/DELETE by a signed-in user, and every page form post, must carry the session's
  CSRF token: header `X-CSRF-Token` (API) or form field `csrf_token` (pages).
* `can(user, "read"|"write", entity)` follows the roles in the spec (`ROLES` in spec_data.py); a role with
  scope "own" may edit or delete only the rows it created (`owns_or_may`).
* A role with an entity in `read_own` sees only its own rows of it: `visible(query, entity)` narrows every
  query that lists rows to a reader, and `get_visible` / `is_visible` treat another's row as missing.
  `own_clause` says what "own" means (`OWN_PATHS` in spec_data.py): created by the user, or pointing through
  a reference at a person record whose email is the user's login email (or being that record), or having a
  required parent reference to a row that is the user's own in one of those ways (one level).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import timedelta
from functools import lru_cache, wraps
from types import SimpleNamespace

from flask import Flask, current_app, g, has_request_context, request, session
from sqlalchemy import delete, false, func, literal, or_, select, update
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash, generate_password_hash

from . import db
from .errors import ApiError
from .models import MODELS, AuthLoginFailure, User
from .spec_data import OWN_PATHS, ROLES

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def verify_credentials(user: User | None, password: str) -> bool:
    """Does `password` open `user`'s account? With no user, a dummy hash is checked all the same, so the
    answer takes as long for an unknown email as for a known one (no account enumeration by timing)."""
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False
    return verify_password(user, password)


def current_user() -> User | None:
    if "current_user" not in g:
        uid, version = session.get("uid"), session.get("sv")
        user = db.session().get(User, uid) if isinstance(uid, int) else None
        if user is not None and (not isinstance(version, int) or version != user.session_version):
            user = None  # signed out elsewhere, or the password changed: this cookie is dead
            session.clear()
        g.current_user = user
    return g.current_user


def sign_in(user: User) -> str:
    session.clear()
    session["uid"] = user.id
    session["sv"] = user.session_version
    session["csrf"] = secrets.token_urlsafe(32)
    g.current_user = user
    return session["csrf"]


def revoke_sessions(user: User) -> None:
    """End every session of `user` (every cookie issued so far stops working); commits."""
    s = db.session()
    s.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    s.commit()
    s.refresh(user)


def sign_out() -> None:
    """Sign the current user out everywhere: the cookie is cleared and, server-side, every copy of it dies."""
    user = current_user()
    if user is not None:
        revoke_sessions(user)
    session.clear()
    g.current_user = None


# ------------------------------------------------------------------ sign-in throttle


def client_address() -> str:
    """The client's address (behind a proxy, the one it saw: see TRUSTED_PROXY_HOPS)."""
    return request.remote_addr or "unknown"


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def throttle_keys(email: str | None) -> list[tuple[str, int]]:
    """(key, limit) pairs a sign-in attempt counts against: the client address, and the account if named."""
    cfg = current_app.config
    keys = [(_key("address", client_address()), int(cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]))]
    if email:
        keys.append((_key("account", email), int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"])))
    return keys


def check_throttle(keys: list[tuple[str, int]]) -> None:
    """Refuse (429 with Retry-After) when any key has reached its limit of failures within the window."""
    window = timedelta(seconds=int(current_app.config["LOGIN_THROTTLE_WINDOW_S"]))
    now = db.now()
    wait = None
    for key, limit in keys:
        count, oldest = db.session().execute(
            select(func.count(AuthLoginFailure.id), func.min(AuthLoginFailure.at))
            .where(AuthLoginFailure.key == key, AuthLoginFailure.at > now - window)).one()
        if count >= limit and oldest is not None:  # open again when the oldest counted failure leaves the window
            wait = max(wait or 1, math.ceil((oldest + window - now).total_seconds()))
    if wait is not None:
        minutes = math.ceil(wait / 60)
        raise ApiError(429, "too_many_attempts",
                       f"Too many failed sign-in attempts for this account or from this network. Wait "
                       f"{minutes} minute{'s' if minutes != 1 else ''} and try again.", {"retry_after": wait},
                       headers={"Retry-After": str(wait)})


def record_failure(keys: list[tuple[str, int]]) -> None:
    """Count one failed attempt against every key (and forget failures older than the window); commits."""
    s = db.session()
    now = db.now()
    window = timedelta(seconds=int(current_app.config["LOGIN_THROTTLE_WINDOW_S"]))
    s.execute(delete(AuthLoginFailure).where(AuthLoginFailure.at <= now - window))
    s.add_all([AuthLoginFailure(key=key, at=now) for key, _limit in keys])
    s.commit()


def clear_failures(email: str) -> None:
    """A successful sign-in forgives the account's failures (not the address's); commits."""
    s = db.session()
    s.execute(delete(AuthLoginFailure).where(AuthLoginFailure.key == _key("account", email)))
    s.commit()


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


def reads_own_only(user: User | None, entity: str) -> bool:
    """Does `user`'s role see only its own rows of `entity` (the entity is in its read_own)?"""
    role = role_of(user)
    return bool(role and entity in role.get("read_own", ()))


def _email_is(column, email: str):
    return func.lower(func.trim(column)) == email


def own_clause(entity: str, user: User, model=None, parents: bool = True):
    """The WHERE clause "this row of `entity` is `user`'s own" on `model` (the entity's class or an alias of
    it): created by the user, or a person record with the user's login email, or pointing through a reference
    at such a person record, or (when `parents`) with a required parent reference to a row that is the
    user's own in one of those ways."""
    model = MODELS[entity] if model is None else model
    paths = OWN_PATHS.get(entity, {"email": None, "people": [], "parents": []})
    email = (user.email or "").strip().lower()
    conds = [model.owner_id == user.id]
    if email:
        if paths["email"]:
            conds.append(_email_is(getattr(model, paths["email"]), email))
        for field, person, email_field in paths["people"]:
            people = aliased(MODELS[person])
            conds.append(getattr(model, field).in_(select(people.id).where(_email_is(getattr(people, email_field),
                                                                                     email))))
    if parents:
        for field, parent in paths["parents"]:
            up = aliased(MODELS[parent])
            conds.append(getattr(model, field).in_(select(up.id).where(own_clause(parent, user, up, parents=False))))
    return or_(*conds)


def visible_clause(entity: str, user: User | None, model=None):
    """The WHERE clause of the rows of `entity` that `user` may see (None: every row; false: none)."""
    if user is None:
        return false()
    return own_clause(entity, user, model) if reads_own_only(user, entity) else None


def visible(query, entity: str, model=None):
    """`query` (a select over `entity`'s model, or `model`, an alias of it) narrowed to the rows the current
    user may see: only their own rows when their role has the entity in read_own, else unchanged."""
    clause = visible_clause(entity, current_user(), model)
    return query if clause is None else query.where(clause)


def is_visible(entity: str, row_id) -> bool:
    """May the current user see row `row_id` of `entity` (it exists and, for read_own, is their own)?"""
    model = MODELS[entity]
    return db.session().scalar(visible(select(model.id).where(model.id == row_id), entity)) is not None


def get_visible(entity: str, row_id):
    """The row of `entity` with id `row_id`, or None when it is missing or the current user may not see it."""
    row = db.session().get(MODELS[entity], row_id)
    if row is None or not has_request_context() or not reads_own_only(current_user(), entity):
        return row
    return row if is_visible(entity, row_id) else None


def values_are_own(connection, entity: str, values: dict, user) -> bool:
    """Is a row of `entity` with these column `values` (e.g. a row's to_dict() before it was deleted) `user`'s
    own? The same rule as own_clause, asked of the database through `connection` (works outside a request)."""
    model = SimpleNamespace(**{k: literal(v) for k, v in values.items()})
    return connection.execute(select(literal(1)).where(own_clause(entity, user, model))).first() is not None


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
