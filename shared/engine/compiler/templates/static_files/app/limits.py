"""What a request may carry, checked before any route reads it, so that absurd input is a 4xx, never a 500.

* Ids in paths (`<int:...>` in every route, the CRUD API's, the pages' and every capability's) are whole
  numbers an id column can hold: ids are INTEGER columns, 32 bits on Postgres (SQLite's hold 64). A larger
  one is a 404, like any other missing record, instead of an overflow inside the database driver.
* A JSON body may nest at most MAX_DEPTH arrays/objects and may hold integers only within signed 64 bits;
  otherwise 400 with code `too_deep` or `invalid` naming the top-level field. The check runs in the app's
  JSON loader, which `request.get_json` uses, so it also covers deep input that would make the parser itself
  give up (RecursionError).
"""

from __future__ import annotations

import re

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .errors import ApiError

ID_MAX = 2**31 - 1  # the largest id an INTEGER column holds on Postgres
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32
_INT_DIGITS = 20  # longer integer literals are refused before Python converts them


def record_id(raw) -> int | None:
    """`raw` (query text or a JSON number) as a record id the database can hold (0..ID_MAX), else None. Text must
    be ASCII digits ("²".isdigit() is true, and int("²") fails); a larger number would overflow the driver."""
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,10}", raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        return None
    return raw if 0 <= raw <= ID_MAX else None


class IdConverter(IntegerConverter):
    """`<int:...>` limited to ids the database can hold (0..ID_MAX). A larger number is a 404 for every method
    (not werkzeug's 405 "method not allowed", which a failed conversion gives when another method's rule is
    tried first)."""

    def to_python(self, value: str) -> int:
        if len(value) > len(str(ID_MAX)) or int(value) > ID_MAX:
            raise NotFound()
        return super().to_python(value)


class _HugeInt:
    """An integer literal too long to convert (Python refuses more than 4300 digits; we refuse far fewer)."""

    def __init__(self, text: str):
        self.text = text


def _parse_int(text: str):
    return int(text) if len(text.lstrip("-")) <= _INT_DIGITS else _HugeInt(text)


def check_json(value) -> None:
    """ApiError(400) when `value` (parsed JSON) nests deeper than MAX_DEPTH or holds an integer outside 64 bits."""
    stack = [(value, 0, None)]
    while stack:
        item, depth, top = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ApiError(400, "too_deep", f"The JSON is nested more than {MAX_DEPTH} levels deep; send a "
                               "flatter object.", {top or "body": f"nested more than {MAX_DEPTH} levels"})
            children = item.items() if isinstance(item, dict) else ((top, v) for v in item)
            for key, child in children:
                stack.append((child, depth + 1, top if depth else key))
        elif isinstance(item, _HugeInt) or (isinstance(item, int) and not isinstance(item, bool)
                                             and not INT_MIN <= item <= INT_MAX):
            field = str(top) if top is not None else "body"
            raise ApiError(400, "invalid", f"{field} holds a number too large for any field; send a smaller one.",
                           {field: f"must be a whole number between {INT_MIN} and {INT_MAX}"})


class LimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing (400) bodies nested deeper than MAX_DEPTH or with out-of-range integers."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_int", _parse_int)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ApiError(400, "too_deep", f"The JSON is nested more than {MAX_DEPTH} levels deep; send a flatter "
                           "object.", {"body": f"nested more than {MAX_DEPTH} levels"}) from None
        check_json(value)
        return value


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: bounded ids in paths, the limited JSON loader."""
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = LimitedJSONProvider
    app.json = LimitedJSONProvider(app)
