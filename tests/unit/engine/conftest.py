"""Fixtures for the stage-engine tests."""

from __future__ import annotations

import pytest

from shared.engine import EngineConfig, preview


@pytest.fixture
def state_dir(tmp_path):
    """A state dir whose previews are all stopped after the test, whatever happened."""
    d = tmp_path / "state"
    d.mkdir()
    yield str(d)
    preview.stop_all(str(d))


@pytest.fixture
def config(state_dir):
    return EngineConfig(state_dir=state_dir, qa_timeout_s=60.0)
