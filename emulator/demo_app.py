"""`make demo`, last step: prove the generated app's capabilities on its running preview.

Claims the app as its owner with the claim link the deployment gave the founder, reads the app's own `/api/schema`, and for each capability
of a kind it knows sends the one request that shows the behaviour, printing request and answer — e.g. an
overlapping booking refused with 409. It talks HTTP to the preview like any client: a session cookie and
the CSRF token the app hands out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import requests

from shared.engine.compiler.samples import near_payload, sample_payload

PASSWORD = "demo-app-password-1"


class AppClient:
    """One signed-in user of the generated app."""

    def __init__(self, base: str, schema: dict, email: str, claim_token: str | None = None):
        """Sign in as `email`; with `claim_token`, claim the app as its owner first (POST /api/auth/claim)."""
        self.base = base.rstrip("/")
        self.schema = schema
        self.http = requests.Session()
        if claim_token is not None:
            r = self.http.post(f"{self.base}/api/auth/claim",
                               json={"token": claim_token, "email": email, "password": PASSWORD}, timeout=10)
        else:
            r = self.http.post(f"{self.base}/api/auth/login", json={"email": email, "password": PASSWORD},
                               timeout=10)
        r.raise_for_status()
        body = r.json()
        self.user, self.csrf = body["user"], body["csrf_token"]
        self.made: dict[str, int] = {}

    def call(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.http.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def entity(self, name: str) -> dict:
        return next(e for e in self.schema["entities"] if e["name"] == name)

    def make(self, name: str, **overrides) -> dict:
        ent = self.entity(name)
        variant = self.made.get(name, 0)
        self.made[name] = variant + 1
        payload = near_payload(ent, variant)  # sample times lie in 2030, past a booking's horizon: soon instead
        for f in ent["fields"]:
            if f["type"] == "reference" and f["name"] not in overrides and f["ref"] != name:
                payload[f["name"]] = self.make(f["ref"])["id"]
        payload.update(overrides)
        r = self.call("POST", f"/api/{ent['plural']}", json=payload)
        if r.status_code != 201:
            raise RuntimeError(f"creating a {name} answered {r.status_code}: {r.text[:200]}")
        return r.json()


def _err(r: requests.Response) -> str:
    try:
        e = r.json().get("error") or {}
        return f"{e.get('code')}: {e.get('message')}"
    except ValueError:
        return r.text[:120]


def _day() -> str:
    """A day two weeks ahead: inside any booking horizon, never in the past."""
    return (datetime.now(UTC) + timedelta(days=14)).date().isoformat()


def _booking(app: AppClient, cap: dict, say: Callable[[str], None]) -> bool:
    res = app.make(cap["resource"])
    ent = app.entity(cap["entity"])
    day = _day()
    first = app.make(cap["entity"], **{cap["resource_field"]: res["id"], cap["start_field"]: f"{day}T09:00:00Z",
                                      cap["end_field"]: f"{day}T12:00:00Z"})
    body = {**sample_payload(ent, 7), cap["resource_field"]: res["id"], cap["start_field"]: f"{day}T11:00:00Z",
            cap["end_field"]: f"{day}T13:00:00Z"}
    r = app.call("POST", f"/api/{ent['plural']}", json=body)
    say(f"POST /api/{ent['plural']} 11:00-13:00 on {cap['resource']} #{res['id']} (booked 09:00-12:00 as "
        f"#{first['id']}) -> {r.status_code} {_err(r)}")
    return r.status_code == 409


def _workflow(app: AppClient, cap: dict, say: Callable[[str], None]) -> bool:
    ent = app.entity(cap["entity"])
    row = app.make(cap["entity"])
    state = row.get(cap["state_field"]) or cap["initial"]
    legal = next((t for t in cap["transitions"] if state in t["from_states"]), None)
    if legal is None:
        return False
    actor = app if "owner" in legal["roles"] else app.as_role(legal["roles"][0])
    ok = actor.call("POST", f"/api/{cap['id']}/records/{row['id']}/{legal['name']}", json={})
    say(f"POST /api/{cap['id']}/records/{row['id']}/{legal['name']} as {actor.user['role']} -> {ok.status_code} "
        f"({ent['label']} now {ok.json()['record'].get(cap['state_field']) if ok.ok else '?'})")
    again = actor.call("POST", f"/api/{cap['id']}/records/{row['id']}/{legal['name']}", json={})
    say(f"POST the same transition again -> {again.status_code} {_err(again)}")
    return ok.status_code == 200 and again.status_code == 409


def _ledger(app: AppClient, cap: dict, say: Callable[[str], None]) -> bool:
    people = [app.make(cap["participant_entity"])["id"] for _ in range(3)]
    charge = app.make(cap["charge_entity"], **{cap["amount_field"]: "100.00"})
    r = app.call("POST", f"/api/{cap['id']}/charges/{charge['id']}/split",
                 json={"method": "equal", "payer_id": people[0], "participants": people})
    bal = app.call("GET", f"/api/{cap['id']}/balances").json()
    shown = ", ".join(f"#{p['participant_id']} {p['balance']}" for p in bal.get("participants", []))
    say(f"POST /api/{cap['id']}/charges/{charge['id']}/split (100.00 equally among 3) -> {r.status_code}; "
        f"balances {shown}; total {bal.get('total')}")
    return r.status_code == 201 and bal.get("total") == "0.00"


def _audit(app: AppClient, cap: dict, say: Callable[[str], None]) -> bool:
    r = app.call("GET", f"/api/{cap['id']}/verify")
    body = r.json() if r.ok else {}
    say(f"GET /api/{cap['id']}/verify -> {r.status_code} {body}")
    return r.ok and body.get("ok") is True


PROOFS: dict[str, Callable[[AppClient, dict, Callable[[str], None]], bool]] = {
    "booking": _booking, "workflow": _workflow, "ledger": _ledger, "audit_log": _audit,
}


def prove(preview_url: str, say: Callable[[str], None], claim_url: str, email: str = "founder@example.com") -> int:
    """Run every proof the app's capabilities allow; returns how many capabilities were proven."""
    token = parse_qs(urlsplit(claim_url).query).get("token", [""])[0]
    owner = AppClient(preview_url, {}, email, claim_token=token)
    anon_schema = requests.get(preview_url.rstrip("/") + "/api/schema", timeout=10)
    schema = owner.call("GET", "/api/schema").json()  # the schema is for signed-in users only
    owner.schema = schema
    users: dict[str, AppClient] = {}

    def as_role(role: str) -> AppClient:
        if role not in users:
            addr = f"{role}-{len(users) + 1}@example.com"
            r = owner.call("POST", "/api/users", json={"email": addr, "password": PASSWORD, "role": role})
            r.raise_for_status()
            users[role] = AppClient(preview_url, schema, addr)
            users[role].as_role = as_role
        return users[role]

    owner.as_role = as_role
    say(f"claimed the generated app with its claim link as {email} -> role {owner.user['role']} (signing up "
        "never makes an owner)")
    anon = requests.post(preview_url.rstrip("/") + f"/api/{schema['entities'][0]['plural']}", json={}, timeout=10)
    say(f"anonymous GET /api/schema -> {anon_schema.status_code} {_err(anon_schema)}; "
        f"anonymous POST /api/{schema['entities'][0]['plural']} -> {anon.status_code} {_err(anon)}")
    proven = 0
    # Proofs create rows, which an audit trail then records: verify the chain last.
    for cap in sorted(schema.get("capabilities", []), key=lambda c: c["kind"] == "audit_log"):
        proof = PROOFS.get(cap["kind"])
        if proof is None:
            continue
        try:
            ok = proof(owner, cap, say)
        except (requests.RequestException, RuntimeError, KeyError, ValueError) as exc:
            say(f"{cap['kind']} {cap['id']}: could not be shown ({type(exc).__name__}: {exc})")
            ok = False
        say(f"  -> {cap['kind']} ({cap['label']}): {'works' if ok else 'NOT shown'}")
        proven += ok
    return proven
