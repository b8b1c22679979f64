"""Server-side validation of every field type, from the spec's field rules (`ENTITIES` in spec_data.py).

`validate(entity, data, partial=False)` returns Python values or raises ApiError(400, "invalid", ...) whose
details name each bad field with a sentence a person can act on. Referenced records must exist.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from sqlalchemy import func, select

from . import db
from .errors import ApiError
from .models import MODELS
from .security import get_visible
from .spec_data import ENTITIES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[0-9 ().-]{6,24}$")
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "owner_id")


class FieldError(ValueError):
    pass


def parse_datetime(value) -> datetime:
    """ISO 8601 ("Z" or an offset accepted) -> naive UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise FieldError("must be a date and time like 2030-01-31T14:30:00Z") from None
    else:
        raise FieldError("must be a date and time like 2030-01-31T14:30:00Z")
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is after the last representable moment
            raise FieldError("must be a date and time no later than 9999-12-31T23:59:59Z") from None
    return parsed.replace(microsecond=0)


def parse_date(value) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FieldError("must be a date like 2030-01-31")


MONEY_MAX = Decimal("9999999999.99")  # the column is Numeric(12, 2)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # a 32-bit INTEGER column (Postgres)


def parse_money(value) -> Decimal:
    """A number or string like 12.50 -> Decimal with two places; refuses NaN, Infinity, more than two decimals
    and amounts the column cannot hold (so "1e30" is a 400, not an error inside Decimal or the database)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise FieldError("must be an amount like 12.50")
    text = str(value).strip()
    if len(text) > 40:
        raise FieldError("must be an amount like 12.50")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FieldError("must be an amount like 12.50") from None
    if not amount.is_finite():
        raise FieldError("must be an amount like 12.50")
    if amount.copy_abs() > MONEY_MAX:  # copy_abs: abs() overflows the context on "1E999999999"
        raise FieldError(f"must be at most {MONEY_MAX:,} (and at least -{MONEY_MAX:,})")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise FieldError("may have at most two decimals")
    return amount.quantize(Decimal("0.01"))


def _integer(value) -> int:
    if isinstance(value, bool):
        raise FieldError("must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.match(r"^-?\d{1,18}$", value.strip()):
        number = int(value.strip())
    else:
        raise FieldError("must be a whole number")
    if not INT_MIN <= number <= INT_MAX:
        raise FieldError(f"must be between {INT_MIN} and {INT_MAX}")
    return number


DECIMAL_MAX = 1e15  # a FLOAT column holds more, but beyond this a number is a mistake or an attack
NUMBER_TEXT_MAX = 40


def _decimal(value) -> float:
    """A number (or numeric text of at most 40 characters) within ±DECIMAL_MAX -> float. An absurd exponent or
    length (10**400, "1e400", a thousand digits) is a FieldError naming the limit, never an OverflowError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError("must be a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > NUMBER_TEXT_MAX:
            raise FieldError(f"must be a number of at most {NUMBER_TEXT_MAX} characters")
        try:
            value = float(text)
        except ValueError:
            raise FieldError("must be a number") from None
    if isinstance(value, float) and value != value:
        raise FieldError("must be a number")
    if not -DECIMAL_MAX <= value <= DECIMAL_MAX:  # compares big ints exactly, and catches ±inf
        raise FieldError(f"must be between -{DECIMAL_MAX:.0f} and {DECIMAL_MAX:.0f}")
    return float(value)


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "on", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "off", "0", "no"):
        return False
    raise FieldError("must be true or false")


def _text(value) -> str:
    if not isinstance(value, str):
        raise FieldError("must be text")
    return value.strip()


def _bounds(field: dict, size, what: str) -> None:
    lo, hi = field.get("min"), field.get("max")
    if lo is not None and size < lo:
        raise FieldError(f"must be at least {lo:g}{what}")
    if hi is not None and size > hi:
        raise FieldError(f"must be at most {hi:g}{what}")


def parse_value(field: dict, value):
    """One field's value -> its Python value (no database checks); raises FieldError."""
    kind = field["type"]
    if kind in ("text", "long_text", "file"):
        text = _text(value)
        _bounds(field, len(text), " characters")
        limit = 200 if kind == "text" else 20000 if kind == "long_text" else 500
        if len(text) > limit:
            raise FieldError(f"must be at most {limit} characters")
        return text
    if kind == "email":
        text = _text(value).lower()
        if not EMAIL.match(text) or len(text) > 254:
            raise FieldError("must be an email address like name@example.com")
        return text
    if kind == "phone":
        text = _text(value)
        if not PHONE.match(text) or sum(ch.isdigit() for ch in text) < 6:
            raise FieldError("must be a phone number like +1 555 0100")
        return text
    if kind == "url":
        text = _text(value)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 500 or " " in text:
            raise FieldError("must be a web address starting with https://")
        return text
    if kind == "integer":
        number = _integer(value)
        _bounds(field, number, "")
        return number
    if kind == "decimal":
        number = _decimal(value)
        _bounds(field, number, "")
        return number
    if kind == "money":
        amount = parse_money(value)
        if field.get("min") is None and amount < 0:  # money is never negative unless the spec's min allows it
            raise FieldError("must not be negative")
        _bounds(field, amount, "")
        return amount
    if kind == "boolean":
        return _boolean(value)
    if kind == "date":
        return parse_date(value)
    if kind == "datetime":
        return parse_datetime(value)
    if kind == "enum":
        if value not in field["values"]:
            raise FieldError("must be one of: " + ", ".join(field["values"]))
        return value
    if kind == "reference":
        try:
            return _integer(value)
        except FieldError:
            raise FieldError(f"must be the id of a {ENTITIES[field['ref']]['label']}") from None
    raise FieldError(f"has an unknown type {kind!r}")


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def validate(entity_name: str, data, partial: bool = False) -> dict:
    """Check `data` for `entity_name`; returns {field: python value}. Raises ApiError 400 with details."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "Send a JSON object with the record's fields.")
    meta = ENTITIES[entity_name]
    fields = {f["name"]: f for f in meta["fields"]}
    errors: dict[str, str] = {}
    for key in data:
        if key not in fields:
            errors[key] = ("is set by the app and cannot be changed" if key in SYSTEM_FIELDS else
                           "is not a field of " + meta["label"] + "; fields: " + ", ".join(fields))
    out: dict = {}
    for name, field in fields.items():
        if name not in data:
            if partial:
                continue
            if field.get("default") is not None:
                out[name] = parse_value(field, field["default"])
            elif field["type"] == "boolean":
                out[name] = False
            elif field["required"]:
                errors[name] = "is required"
            else:
                out[name] = None
            continue
        value = data[name]
        if _missing(value) and field["type"] != "boolean":
            if field["required"]:
                errors[name] = "is required"
            else:
                out[name] = None
            continue
        try:
            out[name] = parse_value(field, value)
        except FieldError as exc:
            errors[name] = str(exc)
            continue
        if field["type"] == "reference" and get_visible(field["ref"], out[name]) is None:
            errors[name] = f"no {ENTITIES[field['ref']]['label']} with id {out[name]}"
    if errors:
        raise ApiError(400, "invalid", "Some fields need fixing: " + ", ".join(sorted(errors)) + ".", errors)
    return out


def check_unique(entity_name: str, values: dict, exclude_id: int | None = None, current=None) -> None:
    """Unique fields must not repeat another row's value, and a link (join) entity links each pair of records
    once (409 conflict with details). `current`: the row being updated (its stored values fill the pair)."""
    model = MODELS[entity_name]
    meta = ENTITIES[entity_name]
    for pair in meta.get("unique_together", []):
        both = {name: values[name] if name in values else getattr(current, name, None) for name in pair}
        if any(v is None for v in both.values()):
            continue
        query = select(func.count()).select_from(model).where(*(getattr(model, n) == v for n, v in both.items()))
        if exclude_id is not None:
            query = query.where(model.id != exclude_id)
        if db.session().scalar(query):
            first, second = (next(f for f in meta["fields"] if f["name"] == n) for n in pair)
            label_a, label_b = ENTITIES[first["ref"]]["label"], ENTITIES[second["ref"]]["label"]
            raise ApiError(409, "conflict", f"This {label_a.lower()} is already linked to this {label_b.lower()}; "
                           "open the existing link to change it.",
                           {pair[1]: f"is already linked to {label_a.lower()} {both[pair[0]]}"})
    taken: dict[str, str] = {}
    for field in ENTITIES[entity_name]["fields"]:
        name = field["name"]
        if not field["unique"] or values.get(name) is None:
            continue
        query = select(func.count()).select_from(model).where(getattr(model, name) == values[name])
        if exclude_id is not None:
            query = query.where(model.id != exclude_id)
        if db.session().scalar(query):
            taken[name] = "is already used by another " + ENTITIES[entity_name]["label"]
    if taken:
        raise ApiError(409, "conflict", "Another record already has this value.", taken)
