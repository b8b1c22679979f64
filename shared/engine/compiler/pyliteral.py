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


def py(value, indent: int = 0) -> str:
    flat = _flat(value)
    if len(flat) + indent <= WIDTH or not isinstance(value, (list, dict)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, list):
        items = [pad + py(v, indent + 4) + "," for v in value]
        return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{_flat(k)}: {py(v, indent + 4 + len(_flat(k)) + 2).lstrip()}," for k, v in value.items()]
    return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
