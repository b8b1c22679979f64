"""`py(value)`: a Python literal for JSON-like data, formatted deterministically (double quotes, wrapped at
100 columns, one item per line when it does not fit), for generated source files."""

from __future__ import annotations

import json

WIDTH = 100


def _flat(value) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_flat(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else (f"({inner},)" if len(value) == 1 else f"({inner})")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"py() cannot render {type(value).__name__}")


def _long_string(value: str, indent: int) -> str:
    """A long string as implicitly concatenated parts in parentheses, split after spaces."""
    room = max(40, WIDTH - indent - 8)
    parts, current = [], ""
    for word in value.split(" "):
        piece = word if not current else " " + word
        if current and len(json.dumps(current + piece, ensure_ascii=False)) > room:
            parts.append(current + " ")
            current = word
        else:
            current += piece
    parts.append(current)
    pad = " " * (indent + 4)
    return "(\n" + "\n".join(pad + json.dumps(p, ensure_ascii=False) for p in parts) + "\n" + " " * indent + ")"


def py(value, indent: int = 0) -> str:
    flat = _flat(value)
    if isinstance(value, str) and len(flat) + indent > WIDTH and " " in value:
        return _long_string(value, indent)
    if len(flat) + indent <= WIDTH or not isinstance(value, (list, dict)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, list):
        items = [pad + py(v, indent + 4) + "," for v in value]
        return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{_flat(k)}: {py(v, indent + 4).lstrip()}," for k, v in value.items()]
    return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
