"""Sign-up, sign-in, sign-out and user management (API and pages).

The first user to sign up becomes the owner; later sign-ups get the spec's default role. The owner (a
role with manage_users) lists users, adds them and changes their roles.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from . import db
from .errors import ApiError
from .models import User
from .security import (
    csrf_token,
    current_user,
    hash_password,
    login_required,
    require_manage_users,
    sign_in,
    sign_out,
    verify_password,
)
from .spec_data import DEFAULT_ROLE, OWNER_ROLE, ROLES
from .validation import EMAIL

bp = Blueprint("auth", __name__)

MIN_PASSWORD = 8
MAX_PASSWORD = 200


def _credentials(data) -> tuple[str, str]:
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "Send a JSON object with email and password.")
    email = str(data.get("email") or "").strip().lower()
    password = data.get("password")
    errors = {}
    if not EMAIL.match(email):
        errors["email"] = "must be an email address like name@example.com"
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        errors["password"] = f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
    if errors:
        raise ApiError(400, "invalid", "Check the email and password.", errors)
    return email, password


def create_user(email: str, password: str, role: str | None = None) -> User:
    s = db.session()
    if s.scalar(select(User).where(User.email == email)) is not None:
        raise ApiError(409, "conflict", "An account with this email already exists; sign in instead.",
                       {"email": "is already registered"})
    if role is None:
        role = OWNER_ROLE if not s.scalar(select(func.count()).select_from(User)) else DEFAULT_ROLE
    if role not in ROLES:
        raise ApiError(400, "invalid", "Unknown role.", {"role": "must be one of: " + ", ".join(ROLES)})
    user = User(email=email, password_hash=hash_password(password), role=role)
    s.add(user)
    s.commit()
    return user


def authenticate(email: str, password: str) -> User:
    user = db.session().scalar(select(User).where(User.email == email))
    if user is None or not verify_password(user, password):
        raise ApiError(401, "bad_credentials", "That email and password do not match an account.")
    return user


def _me(user: User):
    return jsonify({"user": user.to_dict() if user else None, "csrf_token": csrf_token()})


@bp.post("/api/auth/signup")
def api_signup():
    email, password = _credentials(request.get_json(silent=True))
    user = create_user(email, password)
    sign_in(user)
    return _me(user), 201


@bp.post("/api/auth/login")
def api_login():
    email, password = _credentials(request.get_json(silent=True))
    sign_in(authenticate(email, password))
    return _me(current_user())


@bp.post("/api/auth/logout")
@login_required
def api_logout():
    sign_out()
    return "", 204


@bp.get("/api/auth/me")
def api_me():
    return _me(current_user())


@bp.get("/api/users")
@require_manage_users
def api_users():
    users = db.session().scalars(select(User).order_by(User.id)).all()
    return jsonify({"items": [u.to_dict() for u in users], "total": len(users)})


@bp.post("/api/users")
@require_manage_users
def api_add_user():
    data = request.get_json(silent=True)
    email, password = _credentials(data)
    role = data.get("role") or DEFAULT_ROLE
    return jsonify(create_user(email, password, role).to_dict()), 201


def change_role(user_id: int, role) -> User:
    s = db.session()
    user = s.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"No user with id {user_id}.")
    if role not in ROLES:
        raise ApiError(400, "invalid", "Unknown role.", {"role": "must be one of: " + ", ".join(ROLES)})
    owners = s.scalar(select(func.count()).select_from(User).where(User.role == OWNER_ROLE))
    if user.role == OWNER_ROLE and role != OWNER_ROLE and owners <= 1:
        raise ApiError(409, "conflict", "The app needs at least one owner; make someone else owner first.")
    user.role = role
    s.commit()
    return user


@bp.patch("/api/users/<int:user_id>")
@require_manage_users
def api_change_role(user_id: int):
    data = request.get_json(silent=True) or {}
    return jsonify(change_role(user_id, data.get("role")).to_dict())


# ------------------------------------------------------------------ pages


def _safe_next(target: str | None) -> str:
    safe = target and target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe else url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login_page():
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            sign_in(authenticate(*_credentials({"email": email, "password": request.form.get("password", "")})))
            return redirect(_safe_next(request.args.get("next")))
        except ApiError as err:
            errors = err.details or {"form": err.message}
    return render_template("auth.html", mode="login", errors=errors, email=email), 400 if errors else 200


@bp.route("/signup", methods=["GET", "POST"])
def signup_page():
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            creds = _credentials({"email": email, "password": request.form.get("password", "")})
            sign_in(create_user(*creds))
            return redirect(url_for("pages.home"))
        except ApiError as err:
            errors = err.details or {"form": err.message}
    return render_template("auth.html", mode="signup", errors=errors, email=email), 400 if errors else 200


@bp.post("/logout")
@login_required
def logout_page():
    sign_out()
    return redirect(url_for("auth.login_page"))


@bp.route("/users", methods=["GET", "POST"])
@require_manage_users
def users_page():
    errors = {}
    if request.method == "POST":
        try:
            if request.form.get("user_id"):
                change_role(int(request.form["user_id"]), request.form.get("role"))
            else:
                creds = _credentials({"email": request.form.get("email", ""),
                                      "password": request.form.get("password", "")})
                create_user(*creds, request.form.get("role") or DEFAULT_ROLE)
            return redirect(url_for("auth.users_page"))
        except (ApiError, ValueError) as err:
            errors = getattr(err, "details", None) or {"form": getattr(err, "message", "Check the form.")}
    users = db.session().scalars(select(User).order_by(User.id)).all()
    return render_template("users.html", users=users, roles=ROLES, errors=errors), 400 if errors else 200
