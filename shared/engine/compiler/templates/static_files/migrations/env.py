"""Alembic's environment for this app: where the database is and what the models declare.

Three ways in, one database:
* `app.migrations.migrate(engine)` (the app at start, the tests) hands over its connection in
  `config.attributes["connection"]`, so the upgrade runs inside the caller's transaction;
* `flask db upgrade` (Flask-Migrate) runs inside the app, whose engine is `app.extensions["db_engine"]`;
* `alembic -c migrations/alembic.ini upgrade head` reads DATABASE_URL.
`--sql` (offline) renders the SQL for the URL's dialect without connecting. SQLite alters tables in batch mode
(copy and move), Postgres alters them in place; the revisions are written to work on both.
"""

from __future__ import annotations

import os

from alembic import context
from app.migrations import include_name, target_metadata
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

config = context.config
OPTIONS = {"compare_type": True, "render_as_batch": True, "include_name": include_name}


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL to the database to migrate (e.g. sqlite:///instance/app.db)")
    return url


def _app_engine():
    """The running app's engine under `flask db ...`; None outside an app context."""
    try:
        from flask import current_app

        return current_app.extensions["db_engine"]
    except (ImportError, RuntimeError, KeyError):
        return None


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata(), **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata(), literal_binds=True,
                      dialect_opts={"paramstyle": "named"}, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = _app_engine()
    owned = engine is None
    if owned:
        engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
