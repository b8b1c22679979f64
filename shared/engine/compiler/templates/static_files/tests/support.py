"""AppTestCase: a fresh SQLite file and configuration per test, signed-in clients per role, and sample rows.

The Flask app is created once per test process (building the URL map and templates is most of the cost of
create_app) and, before every test, pointed at a new database file with its configuration restored; so a
test sees exactly what a freshly created app would show, provided capabilities keep their state in the
database (never in module globals or app.extensions).
"""

from __future__ import annotations

import shutil
import tempfile
import unittest

from app import create_app, db
from app.migrations import migrate
from app.spec_data import ENTITIES

from tests.sampling import sample_payload

PASSWORD = "correct-horse-battery"
_SHARED: dict = {}


def app_for(config: dict):
    """The process's app, configured with `config` and bound to its (new) database."""
    app = _SHARED.get("app")
    path = config["DATABASE_URL"].split(":///", 1)[1]
    if app is None:
        app = create_app(config)
        app.extensions["db_engine"].dispose()
        with open(path, "rb") as fh:  # the freshly migrated, empty database: copied for every later test
            _SHARED.update(app=app, config=dict(app.config), empty_db=fh.read())
        return app
    app.config.clear()
    app.config.update(_SHARED["config"])
    app.config.update(config)
    with open(path, "wb") as fh:
        fh.write(_SHARED["empty_db"])
    db.bind(app, config["DATABASE_URL"])
    if migrate(app.extensions["db_engine"]):
        raise AssertionError("the copied test database was not fully migrated")
    return app


class AppTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="app-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.app = app_for({
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{self.tmp}/test.db",
            "SECRET_KEY": "test",
            "UPLOAD_DIR": f"{self.tmp}/uploads",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        })
        self.addCleanup(self.app.extensions["db_engine"].dispose)
        self.anon = self.app.test_client()
        self._owner = None
        self._users = 0
        self._made: dict[str, int] = {}

    # ------------------------------------------------------------------ clients

    def _new_client(self, email: str, signup: bool):
        client = self.app.test_client()
        path = "/api/auth/signup" if signup else "/api/auth/login"
        response = client.post(path, json={"email": email, "password": PASSWORD})
        self.assertIn(response.status_code, (200, 201), response.get_data(as_text=True))
        body = response.get_json()
        client.user = body["user"]
        client.csrf = body["csrf_token"]
        return client

    def login(self, role: str = "owner"):
        """A NEW test client signed in as a NEW user with `role` (the first call creates the owner)."""
        self._users += 1
        if self._owner is None:
            self._owner = self._new_client(f"owner{self._users}@example.com", signup=True)
            self.assertEqual(self._owner.user["role"], "owner")
            if role == "owner":
                return self._owner
            self._users += 1
        email = f"{role}{self._users}@example.com"
        response = self.call(self._owner, "POST", "/api/users", json={"email": email, "password": PASSWORD,
                                                                       "role": role})
        self.assertEqual(response.status_code, 201, response.get_data(as_text=True))
        return self._new_client(email, signup=False)

    def owner(self):
        return self._owner or self.login("owner")

    def call(self, client, method: str, path: str, json=None, data=None, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        token = getattr(client, "csrf", None)
        if token:
            headers.setdefault("X-CSRF-Token", token)
        return client.open(path, method=method, json=json, data=data, headers=headers, **kw)

    # ------------------------------------------------------------------ data

    def sample(self, entity: str, variant: int = 0) -> dict:
        """A valid create payload for `entity` (reference fields are filled by make)."""
        return sample_payload(ENTITIES[entity], variant)

    def make(self, entity: str, client=None, _parents: tuple = (), **overrides) -> dict:
        """Create a row through the API (as the owner unless `client`), creating referenced rows first."""
        variant = self._made.get(entity, 0)
        self._made[entity] = variant + 1
        payload = self.sample(entity, variant)
        for field in ENTITIES[entity]["fields"]:
            if field["type"] != "reference" or field["name"] in overrides:
                continue
            if field["ref"] in _parents + (entity,) and not field["required"]:
                continue
            payload[field["name"]] = self.make(field["ref"], _parents=_parents + (entity,))["id"]
        payload.update(overrides)
        response = self.call(client or self.owner(), "POST", f"/api/{ENTITIES[entity]['plural']}", json=payload)
        self.assertEqual(response.status_code, 201, response.get_data(as_text=True))
        return response.get_json()

    def set_now(self, iso: str) -> None:
        self.app.config["NOW"] = iso
