"""Valid sample values for every field type (standard library only).

Used by tests/support.py at test time and by the factory's compiler when it writes test code, so both
agree. `variant` makes values differ (unique fields stay unique).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

BASE_DAY = date(2030, 1, 7)


def _clip_text(text: str, field: dict) -> str:
    lo = int(field.get("min") or 0)
    hi = int(field.get("max") or (200 if field["type"] == "text" else 2000))
    if len(text) < lo:
        text = text + "x" * (lo - len(text))
    return text[-hi:] if len(text) > hi else text


def _number(field: dict, variant: int, step: float) -> float:
    lo, hi = field.get("min"), field.get("max")
    if field.get("sample_small") is not None:  # a limit sums this field: small amounts, so rows of one parent fit
        small = field["sample_small"]
        return small * 2 if variant % 2 and (hi is None or small * 2 <= hi) else small
    if lo is None and hi is None:
        return 10 + variant * step
    if lo is None:
        lo = min(0, hi)
    if hi is None:
        hi = lo + 1000
    span = hi - lo
    return lo + ((span / 2 + variant * step) % span if span else 0)


def sample_value(field: dict, variant: int = 0, position: int = 0):
    """A valid JSON value for `field` (a field dict from spec_data.ENTITIES); `position` orders datetimes."""
    if "sample" in field:  # a capability manages this field: a new row can only have this value
        return field["sample"]
    kind = field["type"]
    n = variant + 1
    if kind == "text":
        return _clip_text(f"{field['label']} {n}", field)
    if kind == "long_text":
        return _clip_text(f"Notes on {field['label'].lower()} number {n}.", field)
    if kind == "integer":
        return int(round(_number(field, variant, 1)))
    if kind == "decimal":
        return round(_number(field, variant, 0.5), 2)
    if kind == "money":
        return f"{_number(field, variant, 1.25):.2f}"
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "date":
        return (BASE_DAY + timedelta(days=variant)).isoformat()
    if kind == "datetime":
        start = datetime(BASE_DAY.year, BASE_DAY.month, BASE_DAY.day, 9) + timedelta(days=variant, hours=position)
        return start.isoformat() + "Z"
    if kind == "enum":
        return field["values"][variant % len(field["values"])]
    if kind == "email":
        return f"person{n}@example.com"
    if kind == "phone":
        return f"+1 555 01{n % 100:02d}"
    if kind == "url":
        return f"https://example.com/{field['name']}/{n}"
    if kind == "file":
        return f"files/{field['name']}-{n}.pdf"
    raise ValueError(f"no sample for field type {kind!r}")


def sample_payload(entity: dict, variant: int = 0) -> dict:
    """A valid create payload for `entity` (an ENTITIES value), reference fields left out."""
    out = {}
    position = 0
    for field in entity["fields"]:
        if field["type"] == "reference":
            continue
        out[field["name"]] = sample_value(field, variant, position)
        after = out.get(field.get("after") or "")
        if field["type"] == "datetime" and "after_minutes" in field and isinstance(after, str):
            # a booking of a stated length: its end is that long after its start
            start = datetime.fromisoformat(after.removesuffix("Z"))
            out[field["name"]] = (start + timedelta(minutes=field["after_minutes"])).isoformat() + "Z"
        if field["type"] == "datetime":
            position += 2
    return out
