"""Stripe-style form decoding and per-endpoint parameter validation.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies with
bracketed keys (``metadata[k]=v``, ``line_items[0][price]=...``,
``expand[]=customer``).  ``parse_form`` turns the flat pairs into a tree of
dicts/strings; ``validate`` checks the tree against a small schema DSL,
converts scalars (ints, booleans) and refuses unknown parameters the way
Stripe does (400 ``parameter_unknown``).

Schema DSL
----------
* ``"str"`` / ``"int"`` / ``"bool"`` / ``"url"`` / ``"email"``
* ``"metadata"`` -- hash of string -> string ("" clears)
* ``"range"``    -- int or hash of gt/gte/lt/lte ints (the ``created`` filter)
* ``Enum(...)``  -- one of the given strings
* ``[sub]``      -- array of ``sub`` (indexed ``a[0]`` or appended ``a[]``)
* ``{...}``      -- hash with the given keys
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEG_RE = re.compile(r"\[([^\[\]]*)\]")
_INT_RE = re.compile(r"^-?\d+$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Enum:
    def __init__(self, *values: str) -> None:
        self.values = values

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Enum{self.values!r}"


class _Node(dict):
    """Intermediate hash node produced by the parser (distinguishes parsed
    hashes/arrays from leaf strings)."""


def parse_form(raw: str) -> dict:
    """Parse a Stripe form-encoded string into a nested tree.

    Leaves are strings; hashes and arrays are ``dict`` (arrays keep their
    numeric string keys until ``validate`` sees the schema)."""
    root: dict = _Node()
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:  # pragma: no cover - parse_qsl is lenient
        raise StripeError(400, f"Invalid request body: {exc}", save_idempotent=False) from None
    for key, value in pairs:
        m = _KEY_RE.match(key)
        if not m:
            raise StripeError(
                400,
                f"Invalid parameter name: {key}",
                param=key,
                save_idempotent=False,
            )
        path = [m.group(1)] + _SEG_RE.findall(m.group(2))
        cur = root
        for i, seg in enumerate(path):
            last = i == len(path) - 1
            if seg == "":
                # ``a[]`` appends a new element.
                seg = str(len(cur))
                if not last:
                    # ``a[][b]`` -- group consecutive keys into the current
                    # element unless the key already exists in it.
                    prev = str(len(cur) - 1)
                    nxt = path[i + 1]
                    if (
                        len(cur)
                        and isinstance(cur.get(prev), _Node)
                        and nxt not in cur[prev]
                    ):
                        seg = prev
            if last:
                if isinstance(cur.get(seg), _Node):
                    raise StripeError(
                        400,
                        f"Invalid parameter: {key} was given both as a value and as a hash",
                        param=key,
                        save_idempotent=False,
                    )
                cur[seg] = value
            else:
                nxt_node = cur.get(seg)
                if nxt_node is None:
                    nxt_node = _Node()
                    cur[seg] = nxt_node
                elif not isinstance(nxt_node, _Node):
                    if nxt_node == "":
                        # ``metadata=`` followed by ``metadata[a]=b``: treat the
                        # blank as superseded.
                        nxt_node = _Node()
                        cur[seg] = nxt_node
                    else:
                        raise StripeError(
                            400,
                            f"Invalid parameter: {key} was given both as a value and as a hash",
                            param=key,
                            save_idempotent=False,
                        )
                cur = nxt_node
    return root


def canonical_pairs(tree: Any, prefix: str = "") -> list:
    """Flatten a parsed tree back to sorted (key, value) pairs; used to
    fingerprint requests for idempotency."""
    out: list = []
    if isinstance(tree, dict):
        for k in sorted(tree):
            out.extend(canonical_pairs(tree[k], f"{prefix}[{k}]" if prefix else k))
    else:
        out.append((prefix, tree))
    return sorted(out)


def _path(prefix: str, key: Any) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def _invalid(path: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=path, save_idempotent=False)


def validate(tree: dict, schema: dict) -> dict:
    """Validate and convert a parsed parameter tree against ``schema``.

    Returns a new dict with converted values.  Blank strings are kept as
    ``""`` (Stripe's "unset" marker) for strings/hashes so handlers can tell
    "unset this" from "not given"."""
    return _validate_hash(tree, schema, "")


def _validate_hash(tree: Any, schema: dict, prefix: str) -> Any:
    if tree == "":
        return ""
    if not isinstance(tree, dict):
        raise _invalid(prefix, "Invalid hash")
    out: dict = {}
    for key, value in tree.items():
        p = _path(prefix, key)
        if key not in schema:
            raise StripeError(
                400,
                f"Received unknown parameter: {p}",
                code="parameter_unknown",
                param=p,
                save_idempotent=False,
            )
        out[key] = _validate_value(value, schema[key], p)
    return out


def _validate_value(value: Any, spec: Any, path: str) -> Any:
    if isinstance(spec, dict):
        return _validate_hash(value, spec, path)
    if isinstance(spec, list):
        if value == "":
            return []
        if not isinstance(value, dict):
            raise _invalid(path, "Invalid array")
        keys = list(value.keys())
        if not all(_INT_RE.match(k) for k in keys):
            raise _invalid(path, "Invalid array")
        return [
            _validate_value(value[k], spec[0], _path(path, k))
            for k in sorted(keys, key=int)
        ]
    if isinstance(spec, Enum):
        if not isinstance(value, str):
            raise _invalid(path, f"Invalid string: {_short(value)}")
        if value not in spec.values:
            raise _invalid(
                path,
                f"Invalid {path}: must be one of {_one_of(spec.values)}",
            )
        return value
    if spec == "metadata":
        if value == "":
            return ""
        if not isinstance(value, dict):
            raise _invalid(path, "Invalid hash")
        if len(value) > 50:
            raise _invalid(path, "You can specify up to 50 keys in metadata.")
        out = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise _invalid(_path(path, k), f"Invalid string: {_short(v)}")
            if len(k) > 40:
                raise _invalid(
                    _path(path, k),
                    "Metadata keys can have up to 40 characters.",
                )
            if len(v) > 500:
                raise _invalid(
                    _path(path, k),
                    "Metadata values can have up to 500 characters, but you passed in a value "
                    f"that is {len(v)} characters.",
                )
            out[k] = v
        return out
    if spec == "range":
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k not in ("gt", "gte", "lt", "lte"):
                    raise StripeError(
                        400,
                        f"Received unknown parameter: {_path(path, k)}",
                        code="parameter_unknown",
                        param=_path(path, k),
                        save_idempotent=False,
                    )
                out[k] = _to_int(v, _path(path, k))
            return out
        return _to_int(value, path)
    if not isinstance(value, str):
        raise _invalid(path, f"Invalid {spec}: expected a scalar value, got a hash")
    if spec == "str":
        return value
    if spec == "int":
        if value == "":
            return ""
        return _to_int(value, path)
    if spec == "bool":
        if value in ("true", "false"):
            return value == "true"
        raise _invalid(path, f"Invalid boolean: {value}")
    if spec == "url":
        if value == "":
            return ""
        if not re.match(r"^https?://[^\s]+$", value):
            raise _invalid(path, "Not a valid URL", "url_invalid")
        return value
    if spec == "email":
        if value == "":
            return ""
        if not _EMAIL_RE.match(value):
            raise _invalid(path, f"Invalid email address: {value}", "email_invalid")
        return value
    raise AssertionError(f"unknown schema spec {spec!r}")  # pragma: no cover


def _to_int(value: Any, path: str) -> int:
    if not isinstance(value, str) or not _INT_RE.match(value):
        raise _invalid(
            path, f"Invalid integer: {_short(value)}", "parameter_invalid_integer"
        )
    return int(value)


def _short(value: Any) -> str:
    s = value if isinstance(value, str) else repr(value)
    return s if len(s) <= 40 else s[:37] + "..."


def _one_of(values: tuple) -> str:
    vals = list(values)
    if len(vals) == 1:
        return vals[0]
    return ", ".join(vals[:-1]) + ", or " + vals[-1]
