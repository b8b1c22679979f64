"""A small versioned migration runner.

`MIGRATIONS` is an ordered list of (version, name, upgrade(connection)). `migrate(engine)` applies, in one
transaction each, every version not yet recorded in the `schema_migrations` table. Version 1 creates the
schema of this generated project; a later change of the spec adds a new version with the ALTERs it needs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select

from .db import Base

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


MIGRATIONS = [
    (1, "initial schema", _initial),
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
