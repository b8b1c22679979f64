"""Firestore layout and the tenant-scoped store.

Every tenant-owned document lives under `tenants/{tenantId}/...`. `Tenant(tenant_id)` is the only
way to reach them: the id is required and checked, so a missing id can never mean "all tenants",
and nothing here offers a query across tenants. Global, server-only documents (users, signup
records, the invitation index, processed Stripe events) have their own named helpers.

Shared first, isolate if needed: a tenant lives in the `(default)` database unless its routing document,
`tenants/{tenantId}` in `(default)`, names another (`database: "tenant-acme"`); then `Tenant` reaches that
named database, where the same layout and the same rules apply. `infra/tenant_move.py` moves a tenant and
flips the routing; docs/DEPLOY.md ("Moving a tenant to its own database") is the runbook.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, datetime

from shared.clients import DEFAULT_DATABASE, firestore

_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# Any id a client names (path segments, body fields): Firestore refuses `__x__`, `.`, `..` and
# slashes with an exception, so every id is checked against this before it reaches a reference.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_RESERVED = re.compile(r"^__.*__$")


def valid_id(value: object, *, min_len: int = 1, max_len: int = 128) -> bool:
    """True when `value` can name a document we created: letters, digits, '_' and '-', not `__x__`."""
    return (isinstance(value, str) and min_len <= len(value) <= max_len and bool(_CLIENT_ID.match(value))
            and not _RESERVED.match(value))


def now() -> datetime:
    return datetime.now(UTC)


def email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def new_id(prefix: str = "") -> str:
    import secrets

    return prefix + secrets.token_hex(10)


# How long a process trusts a tenant's routing before reading it again. infra/tenant_move.py waits longer
# than this after flipping a tenant's routing before it touches the old copy.
ROUTING_TTL_S = 5.0
_routes: dict[str, tuple[float, str]] = {}
_routes_lock = threading.Lock()


def routing_doc(tenant_id: str):
    """`tenants/{tenantId}` in `(default)`: its `database` field names the database the tenant lives in."""
    return firestore().collection("tenants").document(tenant_id)


def database_of(tenant_id: str) -> str:
    """The database a tenant lives in (`(default)` unless it was moved), cached for ROUTING_TTL_S."""
    now_s = time.monotonic()
    with _routes_lock:
        hit = _routes.get(tenant_id)
    if hit and hit[0] > now_s:
        return hit[1]
    snap = routing_doc(tenant_id).get(field_paths=["database"])
    database = (snap.to_dict() or {}).get("database") or DEFAULT_DATABASE
    with _routes_lock:
        _routes[tenant_id] = (now_s + ROUTING_TTL_S, database)
    return database


def forget_routes() -> None:
    with _routes_lock:
        _routes.clear()


class Tenant:
    """One tenant's slice of the database: of `(default)`, or of its own database once it was moved."""

    __slots__ = ("_database", "tenant_id")

    def __init__(self, tenant_id: str, database: str | None = None):
        if not isinstance(tenant_id, str) or not _ID.match(tenant_id) or _RESERVED.match(tenant_id):
            raise ValueError("a valid tenant id is required; there is no cross-tenant access")
        self.tenant_id = tenant_id
        self._database = database  # None: looked up from the routing document when first needed

    @property
    def database(self) -> str:
        if self._database is None:
            self._database = database_of(self.tenant_id)
        return self._database

    @property
    def db(self):
        """The client of the tenant's database: a transaction on the tenant's documents starts here."""
        return firestore(self.database)

    @property
    def ref(self):
        return self.db.collection("tenants").document(self.tenant_id)

    def doc(self, *path: str):
        ref = self.ref
        if len(path) % 2:
            raise ValueError("a document path has an even number of segments")
        for i in range(0, len(path), 2):
            ref = ref.collection(path[i]).document(path[i + 1])
        return ref

    def collection(self, *path: str):
        if len(path) % 2 == 0:
            raise ValueError("a collection path has an odd number of segments")
        ref = self.ref.collection(path[0])
        for i in range(1, len(path), 2):
            ref = ref.document(path[i]).collection(path[i + 1])
        return ref

    # Named documents.
    def member(self, uid: str):
        return self.doc("members", uid)

    def invitation(self, email: str):
        return self.doc("invitations", email_key(email))

    def billing(self):
        return self.doc("billing", "state")

    def pipeline(self, pipeline_id: str):
        return self.doc("pipelines", pipeline_id)


# Global, server-only documents (denied to clients by firestore.rules).
def user_doc(uid: str):
    return firestore().collection("users").document(uid)


def signup_doc(email: str):
    return firestore().collection("signups").document(email_key(email))


def invitation_index(email: str):
    return firestore().collection("invitation_index").document(email_key(email))


class Runs:
    """Typed reads of one tenant's runs and ideas (the stored models of shared.models.pipeline).

    Reads only: every change to a run is a transaction in shared/runs/. A run's fencing
    fields are not part of `Pipeline`; they live in `fence(pipeline_id)`, which firestore.rules deny."""

    __slots__ = ("tenant",)

    def __init__(self, tenant: Tenant):
        self.tenant = tenant

    def pipeline(self, pipeline_id: str):
        from shared.models.pipeline import Pipeline

        if not valid_id(pipeline_id):
            return None
        snap = self.tenant.pipeline(pipeline_id).get()
        return Pipeline.model_validate(snap.to_dict()) if snap.exists else None

    def idea(self, idea_id: str):
        from shared.models.pipeline import Idea

        if not valid_id(idea_id):
            return None
        snap = self.tenant.doc("ideas", idea_id).get()
        return Idea.model_validate(snap.to_dict()) if snap.exists else None

    def fence(self, pipeline_id: str):
        return self.tenant.pipeline(pipeline_id).collection("private").document("fence")
