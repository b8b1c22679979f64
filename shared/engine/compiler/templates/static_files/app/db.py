"""Database access: the declarative Base, the per-request Session and the app's clock.

`DATABASE_URL` selects the database: a SQLite file locally and in tests, Postgres (Cloud SQL) in
production. One Session per request, closed at teardown; commits are explicit.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: Names for the constraints a model leaves unnamed, so a later Alembic revision can alter or drop them by name
#: (on SQLite too, where batch mode rebuilds a table and finds its constraints only by name).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def init_app(app: Flask) -> None:
    bind(app, app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def bind(app: Flask, url: str) -> None:
    """Point the app at the database `url` (disposing of the previous engine, if any)."""
    old = app.extensions.get("db_engine")
    if old is not None:
        old.dispose()
    kwargs: dict = {}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        fast = bool(app.config.get("TESTING"))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if fast:
                cur.execute("PRAGMA synchronous=OFF")
            cur.close()

    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = sessionmaker(engine, expire_on_commit=False)


def engine():
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The request's Session (created on first use, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def _close_session(_exc=None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def now() -> datetime:
    """The current time, UTC and naive; `app.config["NOW"]` (an ISO string) fixes it for tests."""
    fixed = current_app.config.get("NOW")
    if fixed:
        value = datetime.fromisoformat(str(fixed).replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def iso_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def number(value) -> float | None:
    return None if value is None else float(value)
