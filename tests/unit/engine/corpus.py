"""The idea corpus (tests/fixtures/ideas.json) for the stage-engine tests."""

from __future__ import annotations

import json
from pathlib import Path

IDEAS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "ideas.json"


def load_ideas() -> list[dict]:
    return json.loads(IDEAS_FILE.read_text(encoding="utf-8"))["ideas"]


def idea_by_id(idea_id: str) -> dict:
    return next(i for i in load_ideas() if i["id"] == idea_id)
