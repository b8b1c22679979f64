"""A small versioned migration runner.

`MIGRATIONS` is an ordered list of (version, name, upgrade(connection)). `migrate(engine)` applies, in one
transaction each, every version not yet recorded in the `schema_migrations` table. Version 1 creates the
schema of this generated project; a later change of the spec adds a new version with the ALTERs it needs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, select, text

from .db import Base
from .spec_data import OWNER_ROLE

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations", _meta,
    Column("version", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)


def _initial(conn) -> None:
    from . import capabilities, models  # noqa: F401  (every model registers itself on Base.metadata)

    capabilities.load_all()
    Base.metadata.create_all(conn)


def _accounts(conn) -> None:
    """Revocable sessions (users.session_version), the one-time owner claim and the sign-in throttle.

    A database created by version 1 of this file has none of them; one created since has them all already
    (version 1 creates the current schema), so every step checks first. An app that already has an owner
    counts as claimed: the claim token can then never make a second one.
    """
    from . import models

    if "session_version" not in {c["name"] for c in inspect(conn).get_columns("users")}:
        conn.execute(text("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1"))
    Base.metadata.create_all(conn, tables=[models.AuthOwnerClaim.__table__, models.AuthLoginFailure.__table__])
    claimed = conn.scalar(select(models.AuthOwnerClaim.__table__.c.id))
    owner = conn.scalar(select(models.User.__table__.c.id).where(models.User.__table__.c.role == OWNER_ROLE)
                        .order_by(models.User.__table__.c.id).limit(1))
    if claimed is None and owner is not None:
        conn.execute(models.AuthOwnerClaim.__table__.insert().values(
            id=1, user_id=owner, claimed_at=datetime.now(UTC).replace(tzinfo=None)))


def _invites(conn) -> None:
    """One-time sign-up invitations (the invite-only signup policy)."""
    from . import models

    Base.metadata.create_all(conn, tables=[models.AuthInvite.__table__])


MIGRATIONS = [
    (1, "initial schema", _initial),
    (2, "accounts: revocable sessions, owner claim, sign-in throttle", _accounts),
    (3, "accounts: sign-up invitations", _invites),
]


def migrate(engine) -> list[int]:
    """Apply pending migrations; returns the versions applied now."""
    _meta.create_all(engine)
    with engine.connect() as conn:
        done = set(conn.scalars(select(schema_migrations.c.version)))
    applied = []
    for version, name, upgrade in MIGRATIONS:
        if version in done:
            continue
        with engine.begin() as conn:
            upgrade(conn)
            conn.execute(schema_migrations.insert().values(
                version=version, name=name, applied_at=datetime.now(UTC).replace(tzinfo=None)))
        applied.append(version)
    return applied
