"""Fixtures for the stage-engine tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from shared.engine import EngineConfig  # noqa: E402
from shared.engine import preview  # noqa: E402

IDEAS_FILE = ROOT / "tests" / "fixtures" / "ideas.json"


def load_ideas() -> list[dict]:
    return json.loads(IDEAS_FILE.read_text(encoding="utf-8"))["ideas"]


def idea_by_id(idea_id: str) -> dict:
    return next(i for i in load_ideas() if i["id"] == idea_id)


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
