"""Move one tenant to its own named Firestore database ("shared first, isolate if needed").

    python -m infra.tenant_move TENANT_ID DATABASE [--yes]

The database must exist (Terraform: `isolated_tenant_databases`, docs/DEPLOY.md). The move runs in steps,
each recorded in the tenant's routing document (`tenants/{id}` in `(default)`, field `move`), and each safe
to run again, so an interrupted move is finished by running the same command:

1. refuse while any of the tenant's runs is not finished (a running stage writes the tenant's documents);
2. copy every document under `tenants/{id}` (the tenant document and every subcollection, at any depth)
   into the same path of the new database;
3. verify: the same paths and, document by document, the same content (a hash of its fields); a
   difference (a write landed during the copy) copies again, at most COPY_ROUNDS times, else it stops;
4. flip the routing (`database: DATABASE`, `move.flipped_at`); `shared.store.Tenant` follows it within
   `store.ROUTING_TTL_S`, so the tool waits longer than that;
5. documents of the old copy written after the flip (by a process that had not yet re-read the routing) are
   copied over when the new copy is older; then the old copy is deleted, leaving only the routing document.

Nothing is deleted before step 3 has passed and the routing names the new database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import clients, store  # noqa: E402
from shared.models.pipeline import TERMINAL  # noqa: E402

COPY_ROUNDS = 3
DATABASE_ID_RULE = "4-63 characters: lowercase letters, digits and '-', starting with a letter"


class MoveRefused(SystemExit):
    """The move cannot go on; the message says why and what to do. Nothing was lost."""


def _valid_database(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z][a-z0-9-]{2,61}[a-z0-9]", name))


def walk(doc_ref) -> dict[str, object]:
    """Every document at or under `doc_ref` (including ones without fields that only hold subcollections),
    by path relative to the database, with their snapshots (None for a document without fields)."""
    out: dict[str, object] = {}
    snap = doc_ref.get()
    out[doc_ref.path] = snap if snap.exists else None
    for col in doc_ref.collections():
        for child in col.list_documents():
            out.update(walk(child))
    return out


ROUTING_FIELDS = ("database", "move")  # the routing document's own fields, never copied


def fields(path: str, snap) -> dict:
    """A document's fields as copied: the tenant document without the routing fields."""
    data = snap.to_dict() or {}
    if path.count("/") == 1:  # tenants/{id}
        data = {k: v for k, v in data.items() if k not in ROUTING_FIELDS}
    return data


def content_hash(path: str, snap) -> str | None:
    if snap is None:
        return None
    return hashlib.sha256(json.dumps(fields(path, snap), sort_keys=True, default=repr).encode()).hexdigest()


def _doc(db, path: str):
    return db.document(path)


def active_runs(tenant: store.Tenant) -> list[str]:
    return [d.id for d in tenant.collection("pipelines").select(["status"]).stream()
            if (d.to_dict() or {}).get("status") not in TERMINAL]


def copy(src_docs: dict[str, object], dst_db, on_write: Callable[[str], None] = lambda _p: None) -> int:
    batch, n = dst_db.batch(), 0
    for path, snap in sorted(src_docs.items()):
        if snap is None:
            continue  # a document without fields exists only through its subcollections
        on_write(path)
        batch.set(_doc(dst_db, path), fields(path, snap))
        n += 1
        if n % 400 == 0:
            batch.commit()
            batch = dst_db.batch()
    batch.commit()
    return n


def differences(src_docs: dict, dst_docs: dict) -> list[str]:
    src = {p: content_hash(p, s) for p, s in src_docs.items() if s is not None}
    dst = {p: content_hash(p, s) for p, s in dst_docs.items() if s is not None}
    return sorted(p for p in src.keys() | dst.keys() if src.get(p) != dst.get(p))


def move(tenant_id: str, database: str, *, say: Callable[[str], None] = print, wait_s: float | None = None,
         on_write: Callable[[str], None] = lambda _p: None, on_delete: Callable[[str], None] = lambda _p: None) -> dict:
    """Move `tenant_id` to `database`; returns the counts. `on_write`/`on_delete` are called before each
    document is written or deleted (tests interrupt the move there)."""
    if not _valid_database(database):
        raise MoveRefused(f"tenant_move: {database!r} is not a Firestore database id ({DATABASE_ID_RULE}).")
    store.Tenant(tenant_id)  # validates the id
    route_ref = store.routing_doc(tenant_id)
    route = route_ref.get().to_dict() or {}
    current = route.get("database") or clients.DEFAULT_DATABASE
    move_state = route.get("move") or {}
    wait_s = store.ROUTING_TTL_S + 1 if wait_s is None else wait_s
    source = move_state.get("from") or current
    if current == database and move_state.get("state") == "done":
        say(f"tenant {tenant_id} already lives in {database}; nothing to do")
        return {"copied": 0, "deleted": 0, "documents": None, "already": True}
    if current not in (database, source) or source == database:
        raise MoveRefused(f"tenant_move: tenant {tenant_id} lives in {current}; it cannot be moved to {database} "
                          f"from there (moves go from one database to another, and back to (default) is not "
                          f"built).")
    if database == clients.DEFAULT_DATABASE:
        raise MoveRefused("tenant_move: moving a tenant back to (default) is not built; nothing was changed.")
    src_db, dst_db = clients.firestore(source), clients.firestore(database)
    src_root = src_db.collection("tenants").document(tenant_id)
    dst_root = dst_db.collection("tenants").document(tenant_id)
    copied = 0

    if current == source:  # steps 1-4: not flipped yet
        busy = active_runs(store.Tenant(tenant_id, source))
        if busy:
            raise MoveRefused(f"tenant_move: tenant {tenant_id} has runs still going ({', '.join(busy[:5])}); "
                              "wait for them to finish or cancel them, then run the move again. Nothing was changed.")
        route_ref.set({"move": {"from": source, "to": database, "state": "copying"}}, merge=True)
        for round_ in range(1, COPY_ROUNDS + 1):
            src_docs = walk(src_root)
            copied += copy(src_docs, dst_db, on_write)
            diff = differences(walk(src_root), walk(dst_root))
            say(f"round {round_}: copied {copied} documents of tenant {tenant_id} to {database}; "
                f"{len(diff)} differ")
            if not diff:
                break
        else:
            raise MoveRefused(f"tenant_move: the copy of tenant {tenant_id} still differs after {COPY_ROUNDS} rounds "
                              f"({diff[:5]}); the tenant is being written to. Nothing was flipped or deleted; run "
                              "the move again when it is quiet.")
        count = sum(1 for s in src_docs.values() if s is not None)
        from google.cloud import firestore as gfs

        route_ref.set({"database": database, "move": {"from": source, "to": database, "state": "flipped",
                                                     "documents": count, "flipped_at": gfs.SERVER_TIMESTAMP}},
                      merge=True)
        say(f"verified {count} documents; routing of tenant {tenant_id} now names {database}")
    # Step 5: let every process re-read the routing, then carry late writes over and delete the old copy.
    time.sleep(wait_s)
    flipped_at = ((route_ref.get().to_dict() or {}).get("move") or {}).get("flipped_at")
    src_docs, dst_docs = walk(src_root), walk(dst_root)
    late = [p for p, s in src_docs.items() if s is not None and flipped_at and s.update_time > flipped_at
            and (dst_docs.get(p) is None or dst_docs[p].update_time < s.update_time)]
    if late:
        copy({p: src_docs[p] for p in late}, dst_db, on_write)
        say(f"carried over {len(late)} documents written to the old copy after the flip")
    deleted = 0
    for path in sorted(src_docs, key=lambda p: -p.count("/")):  # deepest first: the tenant document last
        if src_docs[path] is None:
            continue
        if source == clients.DEFAULT_DATABASE and path == src_root.path:
            continue  # the routing document stays; its tenant fields are dropped below
        on_delete(path)
        src_db.document(path).delete()
        deleted += 1
    if source == clients.DEFAULT_DATABASE:
        route = route_ref.get().to_dict() or {}
        route_ref.set({"database": database, "move": {**route.get("move", {}), "state": "done"}})
    else:
        route_ref.set({"move": {"state": "done"}}, merge=True)
    store.forget_routes()
    say(f"deleted {deleted} documents of the old copy in {source}; tenant {tenant_id} lives in {database}")
    return {"copied": copied, "deleted": deleted, "documents": ((route_ref.get().to_dict() or {}).get("move") or {}).get("documents"),
            "already": False}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tenant_id")
    ap.add_argument("database", help="the named database (created by Terraform beforehand)")
    ap.add_argument("--yes", action="store_true", help="do not ask")
    args = ap.parse_args(argv)
    if not args.yes and input(f"Move tenant {args.tenant_id} to database {args.database}? [y/N] ").lower() != "y":
        raise SystemExit("not moved")
    move(args.tenant_id, args.database)


if __name__ == "__main__":
    main()
