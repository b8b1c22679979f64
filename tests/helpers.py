"""Client-side helpers for emulator and integration tests: the same HTTP a browser would send."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import requests

PASSWORD = "correct-horse-battery"


def auth_url(path: str) -> str:
    return f"http://{os.environ['FIREBASE_AUTH_EMULATOR_HOST']}/identitytoolkit.googleapis.com/v1/{path}?key=local-api-key"


def sign_in(email: str, password: str = PASSWORD) -> dict:
    """Firebase Auth's own REST sign-in (served by the Auth emulator locally)."""
    r = requests.post(auth_url("accounts:signInWithPassword"),
                      json={"email": email, "password": password, "returnSecureToken": True}, timeout=10)
    r.raise_for_status()
    return r.json()


def refresh(refresh_token: str) -> str:
    host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    r = requests.post(f"http://{host}/securetoken.googleapis.com/v1/token?key=local-api-key",
                      data={"grant_type": "refresh_token", "refresh_token": refresh_token}, timeout=10)
    r.raise_for_status()
    return r.json()["id_token"]


@dataclass
class User:
    email: str
    uid: str
    tenant_id: str
    role: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def refreshed(self) -> "User":
        self.token = refresh(self.refresh_token)
        return self


class Api:
    def __init__(self, base: str | None = None):
        self.base = base or os.environ["FRONT_DOOR_URL"]
        self.s = requests.Session()

    def request(self, method: str, path: str, user: User | None = None, token: str | None = None, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if user:
            headers.update(user.headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.s.request(method, self.base + path, headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def get(self, path, user=None, **kw):
        return self.request("GET", path, user, **kw)

    def post(self, path, user=None, **kw):
        return self.request("POST", path, user, **kw)

    def signup(self, email: str | None = None, company: str = "Acme", password: str = PASSWORD,
               display_name: str = "Test Founder") -> User:
        email = email or f"{uuid.uuid4().hex[:12]}@example.com"
        r = self.post("/api/auth/signup", json={"email": email, "password": password,
                                                "display_name": display_name, "company_name": company})
        assert r.status_code == 201, r.text
        body = r.json()
        tokens = sign_in(email, password)
        return User(email=email, uid=body["uid"], tenant_id=body["tenant_id"], role=body["role"],
                    token=tokens["idToken"], refresh_token=tokens["refreshToken"])
