"""Server-rendered pages of every entity: list (paging, sort, filter), detail with links to related records,
create, edit and delete-with-confirm. Same guards as the API (a read_own role sees only its own rows, in lists,
counts, pickers and related records); Jinja autoescaping escapes every value."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import func, select

from . import db
from .api import create_row, delete_row, get_row, query_rows, update_row
from .errors import ApiError
from .models import MODELS
from .security import can, current_user, login_required, owns_or_may, require_read, require_write, visible
from .spec_data import APP_NAME, ENTITIES

bp = Blueprint("pages", __name__)


def labels_for(entity_name: str, ids) -> dict[int, str]:
    """{id: display text} of rows of `entity_name` (for links to referenced records)."""
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    model = MODELS[entity_name]
    field = ENTITIES[entity_name]["display_field"]
    rows = db.session().execute(visible(select(model.id, getattr(model, field)).where(model.id.in_(ids)),
                                        entity_name)).all()
    return {rid: str(text) if text not in (None, "") else f"#{rid}" for rid, text in rows}


def reference_labels(entity_name: str, items: list[dict]) -> dict[str, dict[int, str]]:
    out = {}
    for f in ENTITIES[entity_name]["fields"]:
        if f["type"] == "reference":
            out[f["name"]] = labels_for(f["ref"], [item.get(f["name"]) for item in items])
    return out


def choices(entity_name: str) -> dict[str, list[tuple[int, str]]]:
    """Options for reference fields in forms (the first 200 rows of each referenced entity the user may see)."""
    out = {}
    for f in ENTITIES[entity_name]["fields"]:
        if f["type"] == "reference":
            model = MODELS[f["ref"]]
            col = getattr(model, ENTITIES[f["ref"]]["display_field"])
            rows = db.session().execute(visible(select(model.id, col.label("text")), f["ref"])
                                        .order_by(col).limit(200)).all()
            out[f["name"]] = [(r.id, str(r.text) if r.text not in (None, "") else f"#{r.id}") for r in rows]
    return out


def form_data(entity_name: str, form) -> dict:
    data = {}
    for f in ENTITIES[entity_name]["fields"]:
        if f["type"] == "boolean":
            data[f["name"]] = f["name"] in form
        elif f["name"] in form:
            data[f["name"]] = form.get(f["name"], "")
    return data


def input_value(field: dict, value) -> str:
    """A stored JSON value as an <input> value."""
    if value is None:
        return ""
    if field["type"] == "datetime":
        return str(value).rstrip("Z")[:16]
    return str(value)


@bp.get("/")
@login_required
def home():
    user = current_user()
    cards = []
    for name, meta in ENTITIES.items():
        if can(user, "read", name):
            count = db.session().scalar(select(func.count()).select_from(visible(select(MODELS[name].id), name)
                                                                         .subquery()))
            cards.append({"entity": meta, "count": count})
    return render_template("home.html", cards=cards, app_name=APP_NAME)


def _register(entity_name: str) -> None:
    meta = ENTITIES[entity_name]
    plural = meta["plural"]

    @require_read(entity_name)
    def list_page():
        try:
            found = query_rows(entity_name, request.args)
            problem = None
        except ApiError as err:
            found = query_rows(entity_name, {})
            problem = err
        items = [r.to_dict() for r in found["rows"]]
        pages = max(1, -(-found["total"] // found["per_page"]))
        return render_template("entity_list.html", entity=meta, items=items, found=found, pages=pages,
                               refs=reference_labels(entity_name, items), problem=problem,
                               may_write=can(current_user(), "write", entity_name)), 400 if problem else 200

    @require_read(entity_name)
    def detail_page(row_id: int):
        row = get_row(entity_name, row_id)
        item = row.to_dict()
        related = []
        for other, other_meta in ENTITIES.items():
            if not can(current_user(), "read", other):
                continue
            for f in other_meta["fields"]:
                if f["type"] == "reference" and f["ref"] == entity_name:
                    model = MODELS[other]
                    rows = db.session().scalars(visible(select(model).where(getattr(model, f["name"]) == row_id),
                                                        other).order_by(model.id).limit(50)).all()
                    related.append({"entity": other_meta, "field": f, "items": [r.to_dict() for r in rows]})
        return render_template("entity_detail.html", entity=meta, item=item, related=related,
                               refs=reference_labels(entity_name, [item]),
                               may_change=can(current_user(), "write", entity_name) and owns_or_may(current_user(),
                                                                                                    row))

    def _form(item_id=None, values=None, errors=None, status=200):
        return render_template("entity_form.html", entity=meta, item_id=item_id, values=values or {},
                               errors=errors or {}, choices=choices(entity_name), input_value=input_value), status

    @require_write(entity_name)
    def create_page():
        if request.method == "GET":
            return _form(values={f["name"]: f["default"] for f in meta["fields"] if f["default"] is not None})
        data = form_data(entity_name, request.form)
        try:
            row = create_row(entity_name, data)
        except ApiError as err:
            if err.status not in (400, 409):
                raise
            return _form(values=data, errors=err.details or {"form": err.message}, status=err.status)
        return redirect(url_for(f"pages.{entity_name}_detail", row_id=row.id))

    @require_write(entity_name)
    def edit_page(row_id: int):
        row = get_row(entity_name, row_id)
        if not owns_or_may(current_user(), row):
            raise ApiError(403, "forbidden", "You may change only the records you created.")
        if request.method == "GET":
            return _form(item_id=row_id, values=row.to_dict())
        data = form_data(entity_name, request.form)
        try:
            update_row(entity_name, row, data, partial=False)
        except ApiError as err:
            if err.status not in (400, 409):
                raise
            db.session().rollback()
            return _form(item_id=row_id, values=data, errors=err.details or {"form": err.message}, status=err.status)
        return redirect(url_for(f"pages.{entity_name}_detail", row_id=row_id))

    @require_write(entity_name)
    def delete_page(row_id: int):
        row = get_row(entity_name, row_id)
        if not owns_or_may(current_user(), row):
            raise ApiError(403, "forbidden", "You may delete only the records you created.")
        if request.method == "POST":
            try:
                delete_row(entity_name, row)
            except ApiError as err:
                if err.status != 409:
                    raise
                return render_template("entity_delete.html", entity=meta, item=row.to_dict(), problem=err), 409
            return redirect(url_for(f"pages.{entity_name}_list"))
        return render_template("entity_delete.html", entity=meta, item=row.to_dict(), problem=None)

    bp.add_url_rule(f"/{plural}", f"{entity_name}_list", list_page, methods=["GET"])
    bp.add_url_rule(f"/{plural}/new", f"{entity_name}_new", create_page, methods=["GET", "POST"])
    bp.add_url_rule(f"/{plural}/<int:row_id>", f"{entity_name}_detail", detail_page, methods=["GET"])
    bp.add_url_rule(f"/{plural}/<int:row_id>/edit", f"{entity_name}_edit", edit_page, methods=["GET", "POST"])
    bp.add_url_rule(f"/{plural}/<int:row_id>/delete", f"{entity_name}_delete", delete_page, methods=["GET", "POST"])


for _name in ENTITIES:
    _register(_name)
