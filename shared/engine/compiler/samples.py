"""Sample values for generated tests: the very module the generated project ships as tests/sampling.py,
loaded from the package data so the compiler and the generated tests cannot disagree."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_PATH = Path(__file__).resolve().parent / "templates" / "static_files" / "tests" / "sampling.py"
_spec = importlib.util.spec_from_file_location("saas_factory_generated_sampling", _PATH)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

sample_value = _module.sample_value
sample_payload = _module.sample_payload
BASE_DAY = _module.BASE_DAY


def near_payload(entity: dict, variant: int = 0, today: date | None = None) -> dict:
    """`sample_payload` for a running app on the real clock: the sample date-times (from 2030-01-07, past a
    booking's horizon) move to a week from `today` (UTC), every one by the same amount, so their order and
    spacing stay (a start stays before its end, and variant n still lies n days after variant 0). Dates stay."""
    payload = sample_payload(entity, variant)
    shift = (today or datetime.now(UTC).date()) + timedelta(days=7) - BASE_DAY
    for f in entity["fields"]:
        value = payload.get(f["name"])
        if f["type"] == "datetime" and isinstance(value, str):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + shift
            payload[f["name"]] = moved.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if value.endswith("Z") else "")
    return payload
