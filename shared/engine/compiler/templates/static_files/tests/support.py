"""AppTestCase: a fresh database and configuration per test, signed-in clients per role, and sample rows.

The Flask app is created once per test process (building the URL map, templates and compiled SQL is most of
the cost of a test) and, before every test, its database is replaced by the freshly migrated empty database
and its configuration restored; so a test sees exactly what a freshly created app would show, provided
capabilities keep their state in the database (never in module globals or app.extensions).

The database is a SQLite file, or, when `TEST_DATABASE_URL` names a Postgres database (the factory's Postgres
tier sets it), Postgres: that database is migrated once and every test runs on a copy of it made with
`CREATE DATABASE ... TEMPLATE` (the URL's role must be allowed to create databases).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
import unittest

from app import create_app
from app.spec_data import ENTITIES, ROLES

from tests.sampling import sample_payload

PASSWORD = "correct-horse-battery"
CLAIM_TOKEN = "test-owner-claim-token"  # the one-time token that makes the owner (OWNER_CLAIM_TOKEN)
# the app's clock in every test (set_now moves it): a fixed moment a few days before the sample dates of
# tests/sampling.py, so a sample booking or due date is always a little ahead, whatever the real date
NOW = "2030-01-01T08:00:00Z"
#: concurrent attempts in a race test (a double booking, a double settlement, the last places under a limit)
RACERS = 20
_SHARED: dict = {}


def _needs(entity: str, chain: tuple) -> bool:
    """Is `entity` one of `chain`, or does a row of it need (through required references) a row of one? Then an
    optional reference to it from the end of the chain is left empty: following it would loop, or make a second
    row of a kind the chain is making (maker -> its free slot -> the slot's pitch -> the pitch's maker)."""
    seen, todo = {entity}, [entity]
    while todo:
        name = todo.pop()
        if name in chain:
            return True
        for field in ENTITIES[name]["fields"]:
            if field["type"] == "reference" and field["required"] and field["ref"] not in seen:
                seen.add(field["ref"])
                todo.append(field["ref"])
    return False


def app_for(config: dict):
    """The process's app, configured with `config`, on a database freshly reset to the migrated empty schema.

    The database file lives in one directory per test process and is replaced (not edited) before every
    test, so the engine and its compiled-statement cache are kept while no row survives a test.
    """
    if os.environ.get("TEST_DATABASE_URL"):
        return _postgres_app_for(config, os.environ["TEST_DATABASE_URL"])
    app = _SHARED.get("app")
    if app is None:
        directory = tempfile.mkdtemp(prefix="app-tests-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = os.path.join(directory, "test.db")
        app = create_app(dict(config, DATABASE_URL=f"sqlite:///{path}"))
        app.extensions["db_engine"].dispose()
        with open(path, "rb") as fh:  # the freshly migrated, empty database
            _SHARED.update(app=app, path=path, config=dict(app.config), empty_db=fh.read())
        return app
    app.extensions["db_engine"].dispose()
    fresh = _SHARED["path"] + ".fresh"
    with open(fresh, "wb") as fh:
        fh.write(_SHARED["empty_db"])
    os.replace(fresh, _SHARED["path"])
    app.config.clear()
    app.config.update(_SHARED["config"])
    app.config.update({k: v for k, v in config.items() if k != "DATABASE_URL"})
    return app


def _postgres_app_for(config: dict, url: str):
    """app_for on Postgres: `url`'s database is migrated once and kept as the template; every test gets a new
    copy of it under the name `<database>_test` (the previous copy is dropped, its connections closed)."""
    from sqlalchemy import create_engine, make_url, text

    app = _SHARED.get("app")
    if app is None:
        template = make_url(url)
        admin = create_engine(template.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
        app = create_app(dict(config, DATABASE_URL=url))
        app.extensions["db_engine"].dispose()  # a template must have no connections when it is copied
        copy = template.set(database=f"{template.database}_test")
        _SHARED.update(app=app, admin=admin, template=template.database, copy=copy.database,
                       config=dict(app.config, DATABASE_URL=copy.render_as_string(hide_password=False)))
        atexit.register(admin.dispose)
    app.extensions["db_engine"].dispose()
    with _SHARED["admin"].connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_SHARED["copy"]}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{_SHARED["copy"]}" TEMPLATE "{_SHARED["template"]}"'))
    app.config.clear()
    app.config.update(_SHARED["config"])
    app.config.update({k: v for k, v in config.items() if k != "DATABASE_URL"})
    if "db_bound" not in _SHARED:  # the engine follows the copy from now on
        from app import db

        db.bind(app, _SHARED["config"]["DATABASE_URL"])
        _SHARED["db_bound"] = True
    return app


class AppTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="app-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.app = app_for({
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{self.tmp}/test.db",
            "SECRET_KEY": "test",
            "OWNER_CLAIM_TOKEN": CLAIM_TOKEN,
            "UPLOAD_DIR": f"{self.tmp}/uploads",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "NOW": NOW,
        })
        self.addCleanup(self.app.extensions["db_engine"].dispose)
        self.anon = self.app.test_client()
        self._owner = None
        self._users = 0
        self._made: dict[str, int] = {}

    # ------------------------------------------------------------------ clients

    def _new_client(self, email: str, claim: bool):
        client = self.app.test_client()
        if claim:
            response = client.post("/api/auth/claim", json={"token": CLAIM_TOKEN, "email": email, "password": PASSWORD})
        else:
            response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        self.assertIn(response.status_code, (200, 201), response.get_data(as_text=True))
        body = response.get_json()
        client.user = body["user"]
        client.csrf = body["csrf_token"]
        return client

    def login(self, role: str = "owner"):
        """A NEW test client signed in as a NEW user with `role` (the first call claims the app as its owner with
        the claim token; the owner adds everyone else)."""
        self._users += 1
        if self._owner is None:
            self._owner = self._new_client(f"owner{self._users}@example.com", claim=True)
            self.assertEqual(self._owner.user["role"], "owner")
            if role == "owner":
                return self._owner
            self._users += 1
        email = f"{role}{self._users}@example.com"
        response = self.call(self._owner, "POST", "/api/users", json={"email": email, "password": PASSWORD,
                                                                       "role": role})
        self.assertEqual(response.status_code, 201, response.get_data(as_text=True))
        return self._new_client(email, claim=False)

    def owner(self):
        return self._owner or self.login("owner")

    def twin(self, client):
        """Another NEW test client signed in as the same user as `client` (its own session and CSRF token)."""
        other = self.app.test_client()
        response = other.post("/api/auth/login", json={"email": client.user["email"], "password": PASSWORD})
        self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
        other.user, other.csrf = response.get_json()["user"], response.get_json()["csrf_token"]
        return other

    # ------------------------------------------------------------------ concurrency

    def at_once(self, calls: list) -> list:
        """Run every (client, method, path, json) at the same moment, each on its own thread; the responses, in
        the order of `calls`. Give each call its own client (see twin)."""
        responses: list = [None] * len(calls)
        gate = threading.Barrier(len(calls))

        def run(i: int) -> None:
            client, method, path, body = calls[i]
            gate.wait(30)
            responses[i] = self.call(client, method, path, json=body)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
        stack = threading.stack_size(1024 * 1024)  # small stacks: QA limits the process's address space
        try:
            for t in threads:
                t.start()
        finally:
            threading.stack_size(stack)
        for t in threads:
            t.join(60)
        self.assertTrue(all(r is not None for r in responses), "a concurrent request did not finish")
        return responses

    def slow_flushes(self, *models, seconds: float = 0.05) -> None:
        """Until the test ends, every flush that writes a row of `models` waits `seconds` after the hooks already
        registered (the capabilities' checks) and before its rows are written, as a busy server would: a check
        that is not serialised with the write lets every concurrent writer through."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        def slow(db, _context, _instances):
            if any(isinstance(o, models) for o in (*db.new, *db.dirty, *db.deleted)):
                time.sleep(seconds)

        event.listen(Session, "before_flush", slow)
        self.addCleanup(event.remove, Session, "before_flush", slow)

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

    def ready(self, entity: str, row_id: int, but: str | None = None) -> None:
        """Make a new `entity` row free to move through its workflow past every rule that holds a move back
        (tests/readiness.py): add the records a count asks for, set the yes/no or date a condition reads, tick its
        checklist, record it paid. As the owner. `but`: a capability whose own rule the caller is testing (its
        action is left out)."""
        from tests.readiness import READY

        boss = self.owner()
        for act in [a for a in READY if a["entity"] == entity and (but is None or a.get("of") != but)]:
            target = row_id
            if act["via"]:
                target = self.call(boss, "GET", f"/api/{ENTITIES[entity]['plural']}/{row_id}").get_json()[act["via"]]
            if act["do"] == "children":
                for _ in range(act["count"]):
                    self.make(act["child"], **{act["link"]: target})
            elif act["do"] == "set":
                r = self.call(boss, "PATCH", f"/api/{ENTITIES[act['target']]['plural']}/{target}",
                              json={act["field"]: act["value"]})
                self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
            elif act["do"] == "tick":
                for item in self.call(boss, "GET", f"/api/{act['checklist']}/{target}").get_json()["items"]:
                    r = self.call(boss, "PATCH", f"/api/{act['checklist']}/items/{item['id']}", json={"done": True})
                    self.assertEqual(r.status_code, 200, r.get_data(as_text=True))
            elif act["do"] == "pay":  # a payment Stripe confirmed (the payments tests prove the webhook itself)
                self.mark_paid(act["payments"], target, "active" if act.get("mode") == "subscription" else "paid")
            elif act["do"] == "move":  # the tested record moved through its workflow to the state the rule asks for
                for name, role in act["moves"]:
                    who = boss if role == "owner" else self.login(role)
                    r = self.call(who, "POST", f"/api/{act['flow']}/records/{target}/{name}")
                    self.assertEqual(r.status_code, 200, r.get_data(as_text=True))

    def mark_paid(self, payments: str, record_id: int, status: str = "paid") -> None:
        """Record a confirmed payment of a record for capability `payments`, as its verified webhook would."""
        from importlib import import_module

        from app import db

        module = import_module(f"app.capabilities.{payments}")
        with self.app.app_context():
            s = db.session()
            at = db.now()
            s.add(module.Payment(record_id=record_id, user_id=None, seller_id=None, mode=module.MODE, status=status,
                                 amount_cents=0, fee_cents=0, currency="usd", created_at=at, updated_at=at))
            s.commit()

    def make(self, entity: str, /, client=None, **overrides) -> dict:
        """Create a row through the API (as the owner unless `client`), creating referenced rows first.

        Field values go in `overrides`; a field named like a parameter (`client`, `entity`) works too.
        """
        if client is not None and not hasattr(client, "open"):  # a field called "client", not a test client
            overrides["client"], client = client, None
        return self._make(entity, client, overrides, ())

    def _make(self, entity: str, client, overrides: dict, parents: tuple) -> dict:
        variant = self._made.get(entity, 0)
        self._made[entity] = variant + 1
        payload = self.sample(entity, variant)
        for field in ENTITIES[entity]["fields"]:
            if field["type"] != "reference" or field["name"] in overrides:
                continue
            if not field["required"] and _needs(field["ref"], parents + (entity,)):
                continue  # an optional reference back up the chain (or to a row that needs one): leave it empty
            # a role that reads only its own rows links its own parent row (a keeper's inspection of its own hive)
            role = ROLES.get(getattr(client, "user", {}).get("role", ""), {}) if client is not None else {}
            own = field["ref"] in role.get("read_own", []) and field["ref"] in role.get("write", [])
            payload[field["name"]] = self._make(field["ref"], client if own else None, {}, parents + (entity,))["id"]
        if client is not None and ROLES.get(getattr(client, "user", {}).get("role", ""), {}).get("scope") != "all":
            for field in ENTITIES[entity]["fields"]:  # a rule's field is set by staff, not by this role
                if field.get("staff_only"):
                    payload.pop(field["name"], None)
        payload.update(overrides)
        response = self.call(client or self.owner(), "POST", f"/api/{ENTITIES[entity]['plural']}", json=payload)
        self.assertEqual(response.status_code, 201, response.get_data(as_text=True))
        return response.get_json()

    def set_owner(self, entity: str, row_id: int, user_id: int) -> None:
        """Make `user_id` the creator (owner_id) of a row, as if that user had created it."""
        from app import db
        from app.models import MODELS

        with self.app.app_context():
            s = db.session()
            s.get(MODELS[entity], row_id).owner_id = user_id
            s.commit()

    def set_now(self, iso: str) -> None:
        self.app.config["NOW"] = iso
