"""The run document and the server-only documents beside it, as every run transaction reads and writes them.

A run is `tenants/{t}/pipelines/{p}`; its fencing fields live in `private/fence`, its server-only outputs in
`private/{claim,deploy}`, the spec under review in `plan/current`, its progress events in `events/`, one per
event (Firestore sustains about one write per second per document). Every module of `shared.runs` reads a run
with `_load` and writes it with `_update`, inside its own transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.store import now


class Events:
    """Numbered progress events written inside one transaction."""

    def __init__(self, tx, pref, seq: int):
        self.tx, self.pref, self.seq = tx, pref, seq

    def add(self, type_: str, **fields) -> None:
        self.seq += 1
        self.tx.set(self.pref.collection("events").document(f"{self.seq:06d}"),
                    {"type": type_, "seq": self.seq, "at": now(), **fields})


# Fencing fields: who may commit (claim_id), which dispatch is current (dispatch_id), which Pub/Sub
# message runs it (message_id), and who started the run (created_by). The dashboard listens to the
# pipeline document, so they live in a server-only document beside it, which firestore.rules deny;
# the state machine reads and writes both in the same transaction.
FENCE_FIELDS = ("claim_id", "dispatch_id", "message_id")


def fence_ref(pref):
    return pref.collection("private").document("fence")


# Server-only documents a stage may write beside its run (`Outcome.private`, by name), for what only some
# members may see: `claim` holds the owner claim link of the deployed app (deployment stage), which the API
# gives to the workspace owner and the run's starter (`claim_link`). The summary never carries it. `deploy`
# holds what a parked deployment needs when its build reports back (the Cloud Run service to apply and the
# owner claim token; shared/build_events.py, decision 0040).
PRIVATE_DOCS = ("claim", "deploy")


def plan_ref(pref):
    """The spec under review (server-only; shared/planreview.py): `plan/current`, its edits beside it."""
    return pref.collection("plan").document("current")


def private_ref(pref, name: str):
    if name not in PRIVATE_DOCS:
        raise ValueError(f"unknown private document {name!r}; expected one of {PRIVATE_DOCS}")
    return pref.collection("private").document(name)


def _load(tx, pref, snap) -> dict:
    """The pipeline document with its fence overlaid (read in the same transaction, before writes)."""
    p = snap.to_dict()
    fsnap = fence_ref(pref).get(transaction=tx)
    fence = fsnap.to_dict() if fsnap.exists else {}
    for stage, vals in (fence.get("stages") or {}).items():
        if stage in (p.get("stages") or {}):
            p["stages"][stage].update({k: v for k, v in vals.items() if k in FENCE_FIELDS})
    if fence.get("created_by"):
        p["created_by"] = fence["created_by"]
    return p


def _update(tx, pref, updates: dict) -> None:
    """`tx.update(pref, updates)`, with the fencing fields routed to the server-only fence document."""
    fence: dict = {}
    for key in [k for k in updates if k.startswith("stages.") and k.rsplit(".", 1)[-1] in FENCE_FIELDS]:
        _, stage, name = key.split(".")
        fence.setdefault(stage, {})[name] = updates.pop(key)
    if fence:
        tx.set(fence_ref(pref), {"stages": fence}, merge=True)
    tx.update(pref, updates)


def _ms(a: datetime | None, b: datetime | None) -> int | None:
    if not a or not b:
        return None
    return int((b - a).total_seconds() * 1000)


def artifact_doc_id(stage: str, name: str) -> str:
    return hashlib.sha1(f"{stage}/{name}".encode()).hexdigest()[:24]

