"""Bundled data files under shared/engine/data, read once and cached."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_text(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")


@cache
def _json(name: str) -> dict:
    return json.loads(read_text(name))


def market_catalogue() -> dict:
    return _json("catalogue.json")


def stack_catalogue() -> dict:
    return _json("stack_catalogue.json")


def blocklist() -> dict:
    return _json("blocklist.json")


def entity_lexicon() -> dict:
    return _json("entities.json")["entities"]


def stack_component(component_id: str) -> dict | None:
    for layer, items in stack_catalogue()["layers"].items():
        for item in items:
            if item["id"] == component_id:
                return dict(item, layer=layer)
    return None
