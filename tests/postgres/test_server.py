"""The throwaway PostgreSQL server of the Postgres tier (tests/pg.py): its life cycle, and that it is never
silently skipped under CI."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from tests import pg


def _missing():
    raise pg.PostgresUnavailable("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install")


def test_missing_binaries_fail_under_ci(monkeypatch):
    monkeypatch.setattr(pg, "binaries", _missing)
    for ci in ("true", "1", "TRUE"):
        with pytest.raises(pytest.fail.Exception, match="cannot run under CI: .*not installed"):
            pg.start_for_tests({"CI": ci})


def test_missing_binaries_skip_on_a_developers_machine(monkeypatch):
    monkeypatch.setattr(pg, "binaries", _missing)
    for environ in ({}, {"CI": "false"}, {"CI": ""}):
        with pytest.raises(pytest.skip.Exception, match="apt-get install"):
            pg.start_for_tests(environ)


def test_a_server_starts_serves_fresh_databases_and_is_removed_when_stopped():
    server = pg.start_for_tests(os.environ)
    try:
        data = server.root / "data"
        if os.geteuid() == 0:  # initdb refuses root: the server runs as a system user
            assert data.stat().st_uid != 0
        url = server.create_database("fresh_one")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
        again = create_engine(server.create_database("fresh_one"))  # fresh: dropped and created again
        with again.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_tables WHERE tablename = 't'")) == 0
            assert conn.scalar(text("SHOW fsync")) == "off"
        again.dispose()
        tcp = create_engine(server.tcp_url("fresh_one"))  # the loopback port answers too
        with tcp.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
        tcp.dispose()
    finally:
        server.stop()
    assert not server.root.exists()
