"""`python -m bench.outside`: generated apps attacked from outside, as an attacker would (issue 18's "tried from
outside").

Separate from QA's exploit gate (`shared/engine/exploits/`): nothing here is shared with it but the planner and
the compiler that build the apps. Each idea in `bench/outside_ideas.json` (written for this battery, not in the
corpus or the held-out set) is planned, compiled and started as its README says for a server (gunicorn, a random
`SECRET_KEY`, a one-time `OWNER_CLAIM_TOKEN`, its own SQLite file), then attacked over real HTTP by an anonymous
visitor, by people the owner invited (or who signed up, where the app takes sign-ups) and by concurrent clients.
An attack that works is a finding; a step that could not be set up is reported apart and is not a pass.

Prints every finding and writes `bench/outside_results.json`; `run()` returns the summary `bench/run.py` reports.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.engine.compiler.samples import near_payload, sample_payload  # noqa: E402 - after the path is set

IDEAS = ROOT / "bench" / "outside_ideas.json"
OUT = ROOT / "bench" / "outside_results.json"
PASSWORD = "outside-attack-pass-1"
EVIL = "evil.example"
REFUSED = (401, 403, 404)


class Finding(Exception):
    """An attack worked."""


class Client:
    """A browser-like visitor: keeps its cookies, sends the session's CSRF token on writes unless told not to."""

    def __init__(self, base: str):
        self.base, self.http, self.csrf, self.user = base, requests.Session(), None, None

    def call(self, method: str, path: str, csrf: bool = True, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        r = self.http.request(method, self.base + path, headers=headers, timeout=60, allow_redirects=False, **kw)
        if r.headers.get("Content-Type", "").startswith("application/json"):
            body = r.json() if r.content else None
            if isinstance(body, dict) and body.get("csrf_token"):
                self.csrf = body["csrf_token"]
                self.user = body.get("user") or self.user
        return r

    def login(self, email: str, password: str = PASSWORD) -> requests.Response:
        r = self.call("POST", "/api/auth/login", json={"email": email, "password": password})
        if r.status_code == 200:
            self.call("GET", "/api/auth/me")
        return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(idea: dict, where: Path):
    from shared.engine.compiler import compile_project
    from shared.engine.planner import plan_builtin
    from shared.engine.stages import uiux_design

    spec = plan_builtin(idea)
    design = uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))
    for rel, data in compile_project(spec, design).items():
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        (where / rel).write_bytes(data)
    return spec


def app_env(where: Path, **extra) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(where), "HOME": str(where),
           "DATABASE_URL": f"sqlite:///{where / 'data' / 'app.db'}"}
    env.update(extra)
    return env


def start(where: Path, claim_token: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = app_env(where, SECRET_KEY=secrets.token_hex(32), OWNER_CLAIM_TOKEN=claim_token)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--threads", "24", "--timeout", "0", "app:create_app()"], cwd=where, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(where / "server.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the app did not start: {(where / 'server.log').read_text()[-1500:]}")


def at_once(n: int, work) -> list:
    out: list = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        try:
            out[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - a crashed attempt is an answer too
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


class Battery:
    """The attacks on one running app. `findings`: attacks that worked; `unrun`: steps that could not be set up."""

    def __init__(self, spec, base: str, where: Path, claim_token: str):
        self.spec, self.base, self.where, self.claim_token = spec, base, where, claim_token
        self.findings: list[str] = []
        self.unrun: list[str] = []
        self.tried: list[str] = []
        self.people: dict[str, list[Client]] = {}
        self._n = 0

    # ------------------------------------------------------------------ helpers

    def client(self) -> Client:
        return Client(self.base)

    def check(self, name: str, fn) -> None:
        self.tried.append(name)
        try:
            fn()
        except Finding as f:
            self.findings.append(f"{name}: {f}")
        except Exception as exc:  # noqa: BLE001 - a step we could not set up: reported, never a pass
            self.unrun.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")

    def expect(self, r: requests.Response, allowed, what: str) -> None:
        if r.status_code >= 500 or r.status_code not in allowed:
            raise Finding(f"{what}: got {r.status_code} {r.text[:160]!r}")

    def person(self, role: str, k: int = 0) -> Client:
        """The k-th person with `role`: invited by the owner and signed up through the invitation."""
        have = self.people.setdefault(role, [])
        while len(have) <= k:
            self._n += 1
            email = f"{role}{self._n}@outside.example"
            c = self.client()
            if role == "owner":
                r = self.owner.call("POST", "/api/users", json={"email": email, "password": PASSWORD, "role": role})
                if r.status_code != 201:
                    raise RuntimeError(f"the owner could not add an owner: {r.status_code} {r.text[:200]}")
                c.login(email)
            else:
                inv = self.owner.call("POST", "/api/invites", json={"email": email, "role": role})
                if inv.status_code != 201:
                    raise RuntimeError(f"the owner could not invite a {role}: {inv.status_code} {inv.text[:200]}")
                r = c.call("POST", "/api/auth/signup", json={"email": email, "password": PASSWORD,
                                                             "invite": inv.json()["token"]})
                if r.status_code != 201:
                    raise RuntimeError(f"the invitation did not sign up a {role}: {r.status_code} {r.text[:200]}")
                c.call("GET", "/api/auth/me")
            have.append(c)
        return have[k]

    def entity(self, name: str):
        return self.spec.entity(name)

    def make(self, client: Client, ent, variant: int = 0, extra: dict | None = None) -> dict | None:
        """A row of `ent` made by `client` (parents made by the owner first); None when the client may not."""
        edict = json.loads(ent.model_dump_json())
        body = near_payload(edict, variant)  # on the real clock: inside any booking's horizon
        for f in ent.fields:
            if f.type == "reference":
                parent = self.make(self.owner, self.entity(f.ref), variant) if f.ref != ent.name else None
                if parent is not None:
                    body[f.name] = parent["id"]
        body.update(extra or {})
        for _ in range(4):
            r = client.call("POST", f"/api/{ent.plural}", json=body)
            if r.status_code == 201:
                return r.json()
            details = ((r.json() or {}).get("error") or {}).get("details") if r.headers.get(
                "Content-Type", "").startswith("application/json") else None
            if r.status_code in (400, 403) and details and (r.status_code == 400 or (
                    (r.json().get("error") or {}).get("code") == "staff_only")):  # a field the app or staff sets
                for k in details:
                    body.pop(k, None)
                continue
            return None
        return None

    # ------------------------------------------------------------------ the attacks

    def run(self) -> None:
        self.check("secret_key_required", self.secret_key_required)
        self.check("owner_by_race", self.owner_by_race)
        self.owner = self.client()
        r = self.owner.call("POST", "/api/auth/claim", json={"token": self.claim_token,
                                                             "email": "founder@outside.example",
                                                             "password": PASSWORD})
        if r.status_code != 201:
            self.unrun.append(f"claim: the real claim link failed: {r.status_code} {r.text[:200]}")
            return
        self.check("claim_twice", self.claim_twice)
        self.check("open_redirect", self.open_redirect)
        self.check("session_replay", self.session_replay)
        self.check("enumeration", self.enumeration)
        self.check("password_guessing", self.password_guessing)
        self.check("schema_anonymous", self.schema_anonymous)
        self.check("signup_policy", self.signup_policy)
        self.check("anonymous_records", self.anonymous_records)
        self.check("role_sweep", self.role_sweep)
        self.check("idor", self.idor)
        self.check("mass_assignment", self.mass_assignment)
        self.check("csrf", self.csrf)
        self.check("odd_input", self.odd_input)
        for cap in self.spec.capabilities:
            if cap.kind == "booking":
                self.check(f"double_booking:{cap.id}", lambda cap=cap: self.double_booking(cap))
            if cap.kind == "ratings":
                self.check(f"rate_own:{cap.id}", lambda cap=cap: self.rate_own(cap))
            if cap.kind == "custody" and cap.max_held:
                self.check(f"custody_limit:{cap.id}", lambda cap=cap: self.custody_limit(cap))
            if cap.kind == "workflow":
                self.check(f"edit_after_leaving_draft:{cap.id}", lambda cap=cap: self.workflow_frozen(cap))

    def secret_key_required(self) -> None:
        env = app_env(self.where)
        p = subprocess.run([sys.executable, "-c", "from app import create_app; create_app()"], cwd=self.where,
                           env=env, capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            raise Finding("the app started without SECRET_KEY and without APP_ENV=development")

    def owner_by_race(self) -> None:
        def signup(i):
            return self.client().call("POST", "/api/auth/signup", json={
                "email": f"early{i}@outside.example", "password": PASSWORD, "role": "owner"}).status_code

        def claim(i):
            return self.client().call("POST", "/api/auth/claim", json={
                "token": f"guess-{i}", "email": f"claim{i}@outside.example", "password": PASSWORD}).status_code

        codes = at_once(10, signup) + at_once(10, claim)
        if any(isinstance(c, int) and 200 <= c < 300 and c != 202 for c in codes):
            raise Finding(f"a first-come sign-up or a guessed claim was accepted: {codes}")
        for i in range(10):
            c = self.client()
            if c.login(f"early{i}@outside.example").status_code == 200 and (c.user or {}).get("role") == "owner":
                raise Finding(f"early{i} became the owner by signing up first")

    def claim_twice(self) -> None:
        r = self.client().call("POST", "/api/auth/claim", json={"token": self.claim_token,
                                                                "email": "second@outside.example",
                                                                "password": PASSWORD})
        self.expect(r, (403, 409, 410), "the claim link worked a second time")

    def open_redirect(self) -> None:
        for target in ("/%09/evil.example/phish", "//evil.example", "https://evil.example/", "/%5Cevil.example",
                       "/\\evil.example", "/\r/evil.example", "/%0D/evil.example"):
            c = self.client()
            c.call("GET", "/api/auth/me")
            r = c.call("POST", f"/login?next={target}", data={"email": "founder@outside.example",
                                                              "password": PASSWORD, "csrf_token": c.csrf or ""})
            if r.status_code >= 500:
                raise Finding(f"next={target!r} gives {r.status_code}")
            loc = r.headers.get("Location", "")
            if EVIL in loc.replace("\\", "/"):
                raise Finding(f"next={target!r} redirects to {loc!r}")

    def session_replay(self) -> None:
        c = self.person("owner", 1)  # logging out ends every session of the account: not the founder's
        stolen = dict(c.http.cookies)
        self.expect(c.call("POST", "/api/auth/logout"), (204, 200), "logout")
        thief = self.client()
        thief.http.cookies.update(stolen)
        r = thief.call("GET", "/api/users")
        if r.status_code == 200:
            raise Finding("a session cookie copied before logout still reads the user list")
        self.people["owner"].pop(1)

    def enumeration(self) -> None:
        if self.spec.signup.policy == "public":
            known = self.client().call("POST", "/api/auth/signup", json={"email": "founder@outside.example",
                                                                         "password": "another-pass-99"})
            new = self.client().call("POST", "/api/auth/signup", json={"email": "brandnew@outside.example",
                                                                       "password": "another-pass-99"})
            if (known.status_code, known.text) != (new.status_code, new.text):
                raise Finding(f"sign-up answers differ for a known email ({known.status_code}) and a new one "
                              f"({new.status_code})")

        def timed(email):
            out = []
            for _ in range(4):
                t = time.perf_counter()
                self.client().call("POST", "/api/auth/login", json={"email": email, "password": "wrong-pass-1"})
                out.append(time.perf_counter() - t)
            return statistics.median(out)

        known_t, unknown_t = timed("founder@outside.example"), timed("nobody-here@outside.example")
        ratio = max(known_t, unknown_t) / max(1e-6, min(known_t, unknown_t))
        if ratio > 4:
            raise Finding(f"sign-in takes {known_t * 1000:.0f} ms for a known email and {unknown_t * 1000:.0f} ms "
                          f"for an unknown one")

    def password_guessing(self) -> None:
        email = self.person("owner", 0).user["email"]  # an account of its own to guess at
        codes = [self.client().call("POST", "/api/auth/login", json={"email": email, "password": f"guess-{i}-x"})
                 .status_code for i in range(14)]
        if 429 not in codes:
            raise Finding(f"14 wrong passwords for one account were never throttled: {codes}")

    def schema_anonymous(self) -> None:
        self.expect(self.client().call("GET", "/api/schema"), (401, 403), "the API schema is open to anonymous "
                                                                         "visitors")

    def signup_policy(self) -> None:
        c = self.client()
        r = c.call("POST", "/api/auth/signup", json={"email": "walkin@outside.example", "password": PASSWORD})
        if self.spec.signup.policy == "invite":
            self.expect(r, (403,), "an invite-only app took a sign-up without an invitation")
            if c.login("walkin@outside.example").status_code == 200:
                raise Finding("an invite-only app made an account without an invitation")
        else:
            c.login("walkin@outside.example")
            if (c.user or {}).get("role") != self.spec.signup.role:
                raise Finding(f"a sign-up got role {(c.user or {}).get('role')!r}")
        forged = self.client().call("POST", "/api/auth/signup", json={"email": "x@outside.example",
                                                                      "password": PASSWORD, "invite": "A" * 43})
        self.expect(forged, (403,), "a guessed invitation token made an account")
        nobody = self.client()
        nobody.call("GET", "/api/auth/me")
        self.expect(nobody.call("POST", "/api/invites", json={"email": "friend@outside.example", "role": "owner"}),
                    (401, 403), "an anonymous visitor made an invitation")

    def anonymous_records(self) -> None:
        row = {}
        for ent in self.spec.entities:
            made = self.make(self.owner, ent)
            row[ent.name] = made
            anon = self.client()
            anon.call("GET", "/api/auth/me")
            self.expect(anon.call("GET", f"/api/{ent.plural}"), (401, 403), f"anonymous list of {ent.plural}")
            if made:
                self.expect(anon.call("GET", f"/api/{ent.plural}/{made['id']}"), REFUSED,
                            f"anonymous read of a {ent.name}")
                self.expect(anon.call("DELETE", f"/api/{ent.plural}/{made['id']}"), (401, 403, 404),
                            f"anonymous delete of a {ent.name}")
        self.owner_rows = row

    def role_sweep(self) -> None:
        for role in self.spec.roles:
            if role.manage_users:
                continue
            c = self.person(role.name)
            self.expect(c.call("GET", "/api/users"), (401, 403), f"a {role.name} listed the users")
            self.expect(c.call("POST", "/api/invites", json={"email": "pal@outside.example", "role": "owner"}),
                        (401, 403), f"a {role.name} invited an owner")
            self.expect(c.call("PATCH", f"/api/users/{c.user['id']}", json={"role": "owner"}), (401, 403),
                        f"a {role.name} made themself owner")
            for ent in self.spec.entities:
                if ent.name not in role.read and ent.name not in role.write:
                    self.expect(c.call("GET", f"/api/{ent.plural}"), (403, 404), f"a {role.name} listed "
                                                                                   f"{ent.plural}")
                if ent.name not in role.write:
                    made = self.make(c, ent)
                    if made is not None:
                        raise Finding(f"a {role.name} (no write right) created a {ent.name}")
                    owner_row = getattr(self, "owner_rows", {}).get(ent.name)
                    if owner_row:
                        self.expect(c.call("DELETE", f"/api/{ent.plural}/{owner_row['id']}"), (403, 404),
                                    f"a {role.name} (no write right) deleted the owner's {ent.name}")

    def idor(self) -> None:
        for role in self.spec.roles:
            if role.manage_users:
                continue
            a, b = self.person(role.name, 0), self.person(role.name, 1)
            for ent in self.spec.entities:
                if ent.name not in role.write:
                    continue
                row = self.make(a, ent, variant=3)
                if row is None:
                    continue
                path = f"/api/{ent.plural}/{row['id']}"
                if ent.name in role.read_own:
                    self.expect(b.call("GET", path), (403, 404), f"{role.name} B read {role.name} A's {ent.name}")
                    listed = b.call("GET", f"/api/{ent.plural}").json().get("items", [])
                    if any(i.get("id") == row["id"] for i in listed):
                        raise Finding(f"{role.name} B's list of {ent.plural} shows A's row")
                if role.scope == "own":
                    text = next((f.name for f in ent.fields if f.type in ("text", "long_text")), None)
                    if text:
                        self.expect(b.call("PATCH", path, json={text: "changed by B"}), (403, 404, 409),
                                    f"{role.name} B changed A's {ent.name}")
                    self.expect(b.call("DELETE", path), (403, 404, 409), f"{role.name} B deleted A's {ent.name}")

    def mass_assignment(self) -> None:
        role = next((r for r in self.spec.roles if not r.manage_users and r.write), None)
        if role is None:
            return
        c = self.person(role.name)
        for ent in self.spec.entities:
            if ent.name not in role.write:
                continue
            row = self.make(c, ent, variant=5, extra={"owner_id": self.owner.user["id"], "id": 987654,
                                                      "created_at": "2001-01-01T00:00:00Z", "role": "owner"})
            if row is None:
                continue
            if row.get("id") == 987654 or row.get("owner_id") not in (None, c.user["id"]) \
                    or str(row.get("created_at", "")).startswith("2001"):
                raise Finding(f"a {role.name} set id, owner_id or created_at of a new {ent.name}: {row}")

    def csrf(self) -> None:
        ent = self.spec.entities[0]

        r = self.owner.call("POST", f"/api/{ent.plural}", csrf=False,
                            json=sample_payload(json.loads(ent.model_dump_json()), 7))
        self.expect(r, (400, 403), "a write without the CSRF token")
        self.expect(self.owner.call("POST", "/api/auth/password", csrf=False,
                                    json={"current_password": PASSWORD, "new_password": "csrf-changed-99"}),
                    (400, 403), "a password change without the CSRF token")

    def odd_input(self) -> None:
        ent = self.spec.entities[0]
        self.expect(self.owner.call("GET", f"/api/{ent.plural}/{'9' * 20}"), (400, 404), "a 20-digit id")
        deep = "[" * 100000 + "]" * 100000
        self.expect(self.owner.call("POST", f"/api/{ent.plural}", data=deep,
                                    headers={"Content-Type": "application/json"}), (400, 413, 422),
                    "JSON nested 100,000 deep")
        self.expect(self.owner.call("POST", f"/api/{ent.plural}", data=b"{" + b" " * (12 * 1024 * 1024) + b"}",
                                    headers={"Content-Type": "application/json"}), (400, 413), "a 12 MB body")
        for e in self.spec.entities:
            for f in e.fields:
                if f.type in ("money", "decimal", "integer"):
                    for bad in ("1e400", "NaN", 10 ** 400, "-Infinity"):

                        body = {**sample_payload(json.loads(e.model_dump_json()), 8), f.name: bad}
                        r = self.owner.call("POST", f"/api/{e.plural}", json=body)
                        self.expect(r, (400, 422), f"{f.name} = {str(bad)[:20]} on a {e.name}")

    def double_booking(self, cap) -> None:
        ent, res = self.entity(cap.entity), self.entity(cap.resource)
        resource = self.make(self.owner, res, variant=11)
        if resource is None:
            raise RuntimeError("the owner could not make a resource to book")
        writer = next((r.name for r in self.spec.roles if not r.manage_users and cap.entity in r.write), "owner")
        clients = [self.person(writer, k) if writer != "owner" else self.owner for k in range(3)]
        day = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        start, end = f"{day}T10:00:00Z", f"{day}T11:00:00Z"
        extra = {cap.resource_field: resource["id"], cap.start_field: start, cap.end_field: end}

        def book(i):
            return self.make(clients[i % len(clients)], ent, variant=20 + i, extra=extra)

        made = [m for m in at_once(12, book) if isinstance(m, dict)]
        if len(made) > 1:
            raise Finding(f"12 concurrent bookings of one slot stored {len(made)}")
        if not made:
            raise RuntimeError("no booking of the free slot was accepted")
        far = self.make(clients[0], ent, variant=40, extra={cap.resource_field: resource["id"],
                                                            cap.start_field: f"{day}T12:00:00Z",
                                                            cap.end_field: "9999-01-01T10:00:00Z"})
        if far is not None:
            raise Finding(f"a booking from {day} to 9999 was stored")

    def rate_own(self, cap) -> None:
        ent = self.entity(cap.entity)
        rater = next((r for r in self.spec.roles if not r.manage_users and cap.entity in r.write), None)
        if rater is None:
            return
        c = self.person(rater.name, 2)
        row = self.make(c, ent, variant=30)
        if row is None:
            return
        routes = [r["path"] for r in c.call("GET", "/api/schema").json()["routes"]
                  if r["method"] == "PUT" and r["path"].endswith("/rating") and f"/{ent.plural}/" in r["path"]]
        for path in routes:
            r = c.call("PUT", path.replace("<int:record_id>", str(row["id"])), json={"stars": 5})
            if 200 <= r.status_code < 300:
                raise Finding(f"a {rater.name} rated their own {ent.name}")

    def routes(self, method: str, ending: str) -> list[str]:
        return [r["path"] for r in self.owner.call("GET", "/api/schema").json()["routes"]
                if r["method"] == method and r["path"].startswith("/api/") and r["path"].endswith(ending)]

    def custody_limit(self, cap) -> None:
        routes = self.routes("POST", "/checkout")
        holder_role = next((r.name for r in self.spec.roles
                            if not r.manage_users and r.name in (cap.checkout_roles or [r.name])), "owner")
        c = self.person(holder_role, 2)
        body = {}
        if cap.holder_entity:
            holder = self.make(self.owner, self.entity(cap.holder_entity), variant=49)
            if holder is None:
                raise RuntimeError(f"the owner could not make a {cap.holder_entity}")
            body = {"holder_id": holder["id"]}
        items = [i for i in (self.make(self.owner, self.entity(cap.item_entity), variant=50 + k)
                             for k in range(cap.max_held + 4)) if i]
        if not routes or len(items) <= cap.max_held:
            raise RuntimeError("no check-out route or items to borrow")

        def borrow(i):
            return c.call("POST", re.sub(r"<[^>]+>", str(items[i]["id"]), routes[0]), json=body).status_code

        codes = at_once(len(items), borrow)
        ok = [x for x in codes if isinstance(x, int) and 200 <= x < 300]
        if not ok:
            raise RuntimeError(f"no check-out was accepted: {codes}")
        if len(ok) > cap.max_held:
            raise Finding(f"{len(items)} concurrent check-outs by one holder gave them {len(ok)} items "
                          f"(at most {cap.max_held})")

    def workflow_frozen(self, cap) -> None:
        from shared.engine.capabilities.workflow import editable

        ent = self.entity(cap.entity)
        leave = next((t for t in cap.transitions if set(t.from_states) & set(editable(cap))
                      and t.to not in editable(cap)), None)
        if leave is None:
            return
        row = self.make(self.owner, ent, variant=60)
        if row is None:
            raise RuntimeError(f"the owner could not make a {ent.name}")
        path = next(p for p in self.routes("POST", "") if p.startswith(f"/api/{cap.id}/records/"))
        path = re.sub(r"<int:[^>]+>", str(row["id"]), path).replace("<name>", leave.name)
        moved = self.owner.call("POST", path, json={})
        if moved.status_code >= 300:
            raise RuntimeError(f"the owner could not make the transition {leave.name}: {moved.status_code}")
        field = next((f for f in ent.fields if f.name != cap.state_field and f.type in ("money", "decimal",
                                                                                        "integer", "text")), None)
        if field is None:
            return
        value = {"money": "4000.00", "decimal": 4000, "integer": 4000}.get(field.type, "changed after approval")
        r = self.owner.call("PATCH", f"/api/{ent.plural}/{row['id']}", json={field.name: value})
        if 200 <= r.status_code < 300:
            raise Finding(f"a {ent.name} in state {leave.to!r} had its {field.name} changed to {value!r}")


def attack(idea: dict, keep: bool = False) -> dict:
    where = Path(tempfile.mkdtemp(prefix=f"outside-{idea['id']}-"))
    spec = build(idea, where)
    token = secrets.token_urlsafe(32)
    proc, base = start(where, token)
    try:
        b = Battery(spec, base, where, token)
        b.run()
    finally:
        proc.terminate()
        proc.wait(30)
    return {"idea": idea["id"], "signup": spec.signup.policy, "capabilities": sorted({c.kind for c in
                                                                                       spec.capabilities}),
            "tried": b.tried, "findings": b.findings, "unrun": b.unrun, "where": str(where) if keep else None}


def run() -> dict:
    ideas = json.loads(IDEAS.read_text("utf-8"))["ideas"]
    apps = [attack(i) for i in ideas]
    summary = {"apps": len(apps), "apps_exploitable": sum(1 for a in apps if a["findings"]),
               "attacks_tried": sum(len(a["tried"]) for a in apps),
               "findings": sum(len(a["findings"]) for a in apps),
               "steps_not_run": sum(len(a["unrun"]) for a in apps), "details": apps}
    OUT.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return summary


def main() -> int:
    out = run()
    for a in out["details"]:
        print(f"{a['idea']} ({a['signup']}; {', '.join(a['capabilities'])}): {len(a['tried'])} attacks, "
              f"{len(a['findings'])} worked, {len(a['unrun'])} not run")
        for f in a["findings"]:
            print("  EXPLOIT", f)
        for u in a["unrun"]:
            print("  not run", u)
    print(f"{out['apps_exploitable']} of {out['apps']} apps exploitable; {out['findings']} attacks worked of "
          f"{out['attacks_tried']} tried; {out['steps_not_run']} could not be set up")
    return 1 if out["apps_exploitable"] else 0


if __name__ == "__main__":
    sys.exit(main())
