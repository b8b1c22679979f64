"""Shared test helpers. Emulator and integration tiers run inside `python -m emulator.localcloud run`,
which starts one fresh local cloud per `make test` and exports its environment to pytest."""

from __future__ import annotations

import os
import socket
import uuid

import pytest


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cloud_env() -> dict[str, str]:
    """The running local cloud's environment; fails (never skips) when there is none."""
    if not os.environ.get("FRONT_DOOR_URL"):
        pytest.fail("no local cloud: run these tests with `make test` "
                    "(python -m emulator.localcloud run -- pytest ...)")
    return dict(os.environ)


@pytest.fixture(scope="session")
def front_door(cloud_env) -> str:
    return cloud_env["FRONT_DOOR_URL"]


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the session (tests/pg.py), stopped and removed at the end; without
    the server binaries the test fails under CI and is skipped elsewhere (see pg.start_for_tests)."""
    from tests import pg

    server = pg.start_for_tests(os.environ)
    yield server
    server.stop()
