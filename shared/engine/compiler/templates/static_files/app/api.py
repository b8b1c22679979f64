"""The CRUD API of every entity: /api/<plural> (list with paging, sort and filter; create) and
/api/<plural>/<id> (read, update, delete). Every route is guarded by the spec's roles; a role that reads an
entity only where its own (read_own) lists, counts and reads only those rows, and another's row is a 404."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from . import db
from .errors import ApiError
from .limits import ID_MAX
from .models import MODELS
from .security import current_user, get_visible, owns_or_may, require_read, require_write, role_of, visible
from .spec_data import ENTITIES
from .validation import FieldError, check_unique, parse_value, validate

bp = Blueprint("api", __name__)

MAX_PER_PAGE = 100
ID_TEXT = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true), and within 64 bits
PAGING_KEYS = ("page", "per_page", "sort")


def _int_arg(args, name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not ID_TEXT.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise ApiError(400, "invalid", f"{name} must be a whole number from {lo} to {hi}.", {name: "out of range"})
    return int(raw)


def query_rows(entity_name: str, args) -> dict:
    """Rows of `entity_name` the current user may see, for query args page, per_page, sort=<field>|-<field> and
    <field>=<value> filters (filters only narrow the visible rows; the total counts only those)."""
    model = MODELS[entity_name]
    fields = {f["name"]: f for f in ENTITIES[entity_name]["fields"]}
    page = _int_arg(args, "page", 1, 1, 100000)
    per_page = _int_arg(args, "per_page", 20, 1, MAX_PER_PAGE)
    query = visible(select(model), entity_name)
    errors: dict[str, str] = {}
    filters: dict[str, str] = {}
    for key in sorted(args):
        if key in PAGING_KEYS:
            continue
        raw = args.get(key)
        if key == "owner_id" or key in fields:
            if raw in (None, ""):
                continue
            field = fields.get(key, {"type": "reference", "ref": None, "name": key})
            if key == "owner_id" and (not ID_TEXT.fullmatch(raw) or int(raw) > ID_MAX):
                errors[key] = "must be the id of a user"
                continue
            try:
                value = parse_value(field, raw) if key != "owner_id" else int(raw)
            except FieldError as exc:
                errors[key] = str(exc)
                continue
            query = query.where(getattr(model, key) == value)
            filters[key] = raw
        else:
            errors[key] = "is not a filter; filter by one of: " + ", ".join(fields)
    sort = args.get("sort") or "-id"
    sort_field = sort.lstrip("-")
    if sort_field not in ("id", "created_at", "updated_at", *fields):
        errors["sort"] = "must be a field name, optionally with a leading - for descending"
    if errors:
        raise ApiError(400, "invalid", "The list query has problems: " + ", ".join(sorted(errors)) + ".", errors)
    column = getattr(model, sort_field)
    order = column.desc() if sort.startswith("-") else column.asc()
    total = db.session().scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session().scalars(query.order_by(order, model.id.desc() if sort.startswith("-") else model.id.asc())
                                .offset((page - 1) * per_page).limit(per_page)).all()
    return {"rows": rows, "page": page, "per_page": per_page, "total": total, "sort": sort, "filters": filters}


def get_row(entity_name: str, row_id: int):
    """The row, or 404 when it is missing or the current user may not see it (the same answer for both)."""
    row = get_visible(entity_name, row_id)
    if row is None:
        raise ApiError(404, "not_found", f"No {ENTITIES[entity_name]['label']} with id {row_id}.")
    return row


def check_may_change(row) -> None:
    if not owns_or_may(current_user(), row):
        raise ApiError(403, "forbidden", "You may change only the records you created.")


def referencing(entity_name: str, row_id: int) -> list[tuple[str, str, int]]:
    """(entity, field, count) of rows that reference this row."""
    out = []
    for other, meta in ENTITIES.items():
        for f in meta["fields"]:
            if f["type"] == "reference" and f["ref"] == entity_name:
                model = MODELS[other]
                n = db.session().scalar(select(func.count()).select_from(model)
                                        .where(getattr(model, f["name"]) == row_id))
                if n:
                    out.append((other, f["name"], n))
    return out


def staff_set(entity_name: str, values: dict, data, row=None) -> dict:
    """A field a rule reads (an induction passed, a fee paid) is set by staff: a role that changes only its own
    rows may not set it on a new row nor change it on one (403 staff_only); left out of a whole-row update (a form
    without the field) it keeps its value."""
    role = role_of(current_user())
    if role is None or role["scope"] == "all":
        return values
    for f in ENTITIES[entity_name]["fields"]:
        name = f["name"]
        if not f.get("staff_only") or name not in values:
            continue
        if row is not None and (not isinstance(data, dict) or name not in data):
            values = {k: v for k, v in values.items() if k != name}
            continue
        before = getattr(row, name) if row is not None else None
        if values[name] != before and not (row is None and values[name] in (None, False)):
            raise ApiError(403, "staff_only", f"Only staff may set {f['label']} on a "
                           f"{ENTITIES[entity_name]['label']}: a rule of this app depends on it. Ask the owner or "
                           "a manager to set it.", {name: "is set by staff"})
    return values


def create_row(entity_name: str, data):
    values = staff_set(entity_name, validate(entity_name, data), data)
    check_unique(entity_name, values)
    row = MODELS[entity_name](**values, owner_id=current_user().id)
    db.session().add(row)
    db.session().commit()
    return row


def update_row(entity_name: str, row, data, partial: bool = True):
    check_may_change(row)
    values = staff_set(entity_name, validate(entity_name, data, partial=partial), data, row)
    check_unique(entity_name, values, exclude_id=row.id, current=row)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = db.now()
    db.session().commit()
    return row


def delete_row(entity_name: str, row) -> None:
    check_may_change(row)
    refs = referencing(entity_name, row.id)
    if refs:
        used = ", ".join(f"{n} {ENTITIES[e]['label_plural'].lower()}" for e, _f, n in refs)
        raise ApiError(409, "conflict", f"This {ENTITIES[entity_name]['label']} is still used by {used}; "
                       "delete or change those first.", {e: f"{n} rows reference it" for e, _f, n in refs})
    db.session().delete(row)
    db.session().commit()


def _register(entity_name: str) -> None:
    plural = ENTITIES[entity_name]["plural"]

    @require_read(entity_name)
    def list_rows():
        found = query_rows(entity_name, request.args)
        return jsonify({"items": [r.to_dict() for r in found["rows"]], "page": found["page"],
                        "per_page": found["per_page"], "total": found["total"]})

    @require_write(entity_name)
    def create():
        return jsonify(create_row(entity_name, request.get_json(silent=True)).to_dict()), 201

    @require_read(entity_name)
    def read(row_id: int):
        return jsonify(get_row(entity_name, row_id).to_dict())

    @require_write(entity_name)
    def update(row_id: int):
        row = get_row(entity_name, row_id)
        return jsonify(update_row(entity_name, row, request.get_json(silent=True)).to_dict())

    @require_write(entity_name)
    def delete(row_id: int):
        delete_row(entity_name, get_row(entity_name, row_id))
        return "", 204

    bp.add_url_rule(f"/api/{plural}", f"{entity_name}_list", list_rows, methods=["GET"])
    bp.add_url_rule(f"/api/{plural}", f"{entity_name}_create", create, methods=["POST"])
    bp.add_url_rule(f"/api/{plural}/<int:row_id>", f"{entity_name}_read", read, methods=["GET"])
    bp.add_url_rule(f"/api/{plural}/<int:row_id>", f"{entity_name}_update", update, methods=["PATCH", "PUT"])
    bp.add_url_rule(f"/api/{plural}/<int:row_id>", f"{entity_name}_delete", delete, methods=["DELETE"])


for _name in ENTITIES:
    _register(_name)
