"""The generated app's first Alembic revision, rendered at compile time from the models the project declares.

Every table of a generated app is declared once, as a SQLAlchemy model: the entities' in `app/models.py`, each
capability's in its own module. `initial_revision(files)` loads those modules from the rendered project (in a
throwaway directory, with `app.*` restored in `sys.modules` afterwards; no app is created, no database opened),
reads `Base.metadata` and renders it with Alembic's autogenerate renderer as explicit `op.create_table(...)` /
`op.create_index(...)` calls, in dependency order, so the revision creates exactly the schema the models
declare. DDL a model attaches to its table's `after_create` event (a Postgres exclusion constraint, a guard row)
is rendered as `op.execute(...)`, behind the same dialect condition; any other kind of listener is refused at
compile time, because the revision could not reproduce it.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

_LOCK = threading.Lock()
PACKAGE = "app"


class RevisionError(ValueError):
    """The models declare something the initial revision cannot reproduce (the message names it)."""


def _is_app_module(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def load_metadata(files: dict[str, bytes], render):
    """Import the project's models and capabilities from `files` and return `render(Base.metadata)`."""
    with _LOCK, tempfile.TemporaryDirectory(prefix="revision-") as root:
        for path, data in files.items():
            if path.startswith(PACKAGE + "/") and (path.endswith(".py") or path.endswith(".json")):
                target = Path(root, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        saved = {n: m for n, m in sys.modules.items() if _is_app_module(n)}
        for name in saved:
            del sys.modules[name]
        sys.path.insert(0, root)
        writes_bytecode = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        try:
            importlib.invalidate_caches()
            importlib.import_module(f"{PACKAGE}.models")
            importlib.import_module(f"{PACKAGE}.capabilities").load_all()
            return render(sys.modules[f"{PACKAGE}.db"].Base.metadata)
        finally:
            sys.dont_write_bytecode = writes_bytecode
            sys.path.remove(root)
            for name in [n for n in sys.modules if _is_app_module(n)]:
                del sys.modules[name]
            sys.modules.update(saved)
            sys.path_importer_cache.pop(root, None)


def _after_create(table) -> list[str]:
    """`op.execute(...)` lines for the DDL listeners on `table`'s after_create event."""
    from sqlalchemy.schema import DDL

    lines = []
    for listener in table.dispatch.after_create:
        if not isinstance(listener, DDL):
            raise RevisionError(
                f"table {table.name!r} has an after_create listener ({getattr(listener, '__name__', listener)!r}) "
                "that is not a DDL statement: the initial revision cannot reproduce it; attach a "
                "sqlalchemy.DDL(...) instead")
        cond = listener._ddl_if
        if cond is not None and (cond.callable_ is not None or cond.state is not None):
            raise RevisionError(f"table {table.name!r}: a DDL listener's condition must be a dialect name")
        statement = listener.statement % {"table": table.name, "fullname": table.fullname, "schema": ""}
        call = f"op.execute({statement!r})"
        dialect = cond.dialect if cond is not None else None
        if dialect is None:
            lines.append(call)
        else:
            names = [dialect] if isinstance(dialect, str) else sorted(dialect)
            lines.append(f"if op.get_context().dialect.name in {tuple(names)!r}:\n    {call}")
    return lines


def render_operations(metadata) -> tuple[str, str]:
    """(upgrade body, downgrade body): Python source, indented by four spaces, for `metadata`'s tables.

    Tables come in dependency order. Foreign keys in a cycle (a pair refers to its meet, a meet to its player, a
    player to a pair) cannot all be created with their tables on Postgres: there the tables are created without
    them and the keys added once every table exists (and dropped first on the way down); SQLite, which checks a
    key only when rows are written, keeps them inline."""
    from alembic.autogenerate import render_python_code
    from alembic.operations import ops
    from sqlalchemy.schema import ForeignKeyConstraint, sort_tables_and_constraints

    def render(op_list, downgrade: bool = False) -> str:
        wrapper = ops.DowngradeOps(ops=op_list) if downgrade else ops.UpgradeOps(ops=op_list)
        return _body(render_python_code(wrapper, render_as_batch=False))

    order, cyclic = [], []
    for table, fkcs in sort_tables_and_constraints(sorted(metadata.tables.values(), key=lambda t: t.name)):
        if table is None:
            cyclic = sorted(fkcs, key=lambda c: (c.table.name, [col.name for col in c.columns]))
        else:
            order.append(table)
    later = {id(c) for c in cyclic}
    up_lines: list[str] = []
    down_lines: list[str] = []
    for table in order:
        create = ops.CreateTableOp.from_table(table)
        indexes = [ops.CreateIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
        if any(isinstance(c, ForeignKeyConstraint) and id(c) in later for c in table.constraints):
            apart = ops.CreateTableOp(create.table_name, [c for c in create.columns if id(c) not in later],
                                      schema=create.schema, _namespace_metadata=create._namespace_metadata,
                                      _constraints_included=True, **create.kw)
            up_lines.append('    if op.get_context().dialect.name == "sqlite":')
            up_lines.append(textwrap.indent(render([create]), "    "))
            up_lines.append("    else:  # the keys in a cycle are added once every table exists")
            up_lines.append(textwrap.indent(render([apart]), "    "))
            if indexes:
                up_lines.append(render(indexes))
        else:
            up_lines.append(render([create, *indexes]))
        up_lines += [textwrap.indent(line, "    ") for line in _after_create(table)]
        drops = [ops.DropIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
        drops.append(ops.DropTableOp.from_table(table))
        down_lines.insert(0, render(drops, downgrade=True))
    if cyclic:
        up_lines.append('    if op.get_context().dialect.name != "sqlite":')
        up_lines.append(textwrap.indent(render([ops.CreateForeignKeyOp.from_constraint(c) for c in cyclic]), "    "))
        down_lines.insert(0, textwrap.indent(render([ops.DropConstraintOp.from_constraint(c) for c in cyclic],
                                                    downgrade=True), "    "))
        down_lines.insert(0, '    if op.get_context().dialect.name != "sqlite":')
    return "\n".join(up_lines), "\n".join(down_lines)


def _body(code: str) -> str:
    """Alembic's rendered code without its "### commands auto generated" comments."""
    lines = [line for line in code.splitlines() if line.strip() and not line.strip().startswith("# ###")]
    return "\n".join(lines)


def initial_revision(files: dict[str, bytes]) -> tuple[str, str]:
    """(upgrade body, downgrade body) of revision 0001 for the rendered project `files`."""
    return load_metadata(files, render_operations)


# ------------------------------------------------------------------------------------------ the next revision

#: A new NOT NULL column needs a value for the rows already there: the spec's default, else an empty value of its
#: type (by SQLAlchemy type class name, most specific first).
_EMPTY = (("Boolean", "false"), ("DateTime", "'1970-01-01 00:00:00'"), ("Date", "'1970-01-01'"),
          ("Integer", "0"), ("Numeric", "0"), ("Float", "0"), ("String", "''"), ("Text", "''"))


def _sql_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _spec_defaults(files: dict[str, bytes]) -> dict[tuple[str, str], object]:
    """(table, column) -> the spec's default (or an enum's first value) of each entity field."""
    import json

    raw = files.get(f"{PACKAGE}/spec.json")
    if not raw:
        return {}
    spec = json.loads(raw)
    out: dict[tuple[str, str], object] = {}
    for e in spec.get("entities") or []:
        for f in e.get("fields") or []:
            if f.get("default") is not None:
                out[(e["plural"], f["name"])] = f["default"]
            elif f.get("type") == "enum" and f.get("values"):
                out[(e["plural"], f["name"])] = f["values"][0]
    return out


def _backfill(column, table: str, defaults: dict) -> str | None:
    """The server default (SQL) a NOT NULL column gets when it is added to a table that may hold rows."""
    if column.nullable or column.primary_key or column.server_default is not None:
        return None
    if column.foreign_keys:
        raise RevisionError(
            f"{table}.{column.name} is a required link added to a table that may already hold rows, which have "
            "nothing to link to: add the link as optional (not required), fill it in, then make it required")
    if (table, column.name) in defaults:
        return _sql_literal(defaults[(table, column.name)])
    if column.default is not None and getattr(column.default, "is_scalar", False):
        return _sql_literal(column.default.arg)
    for cls in type(column.type).__mro__:
        for name, empty in _EMPTY:
            if cls.__name__ == name:
                return empty
    raise RevisionError(f"{table}.{column.name}: no empty value is known for a required column of type "
                        f"{column.type!r}; give the attribute a default")


def _with_default(column, table: str, defaults: dict):
    import sqlalchemy as sa

    col = column._copy()
    fill = _backfill(column, table, defaults)
    if fill is not None:
        col.server_default = sa.schema.DefaultClause(sa.text(fill))
    return col


def _type_key(column) -> str:
    return repr(column.type)


def _named(items) -> dict:
    return {c.name: c for c in items if c.name}


def diff_metadata(old, new, *, defaults: dict | None = None,
                  renames: dict[tuple[str, str], str] | None = None) -> tuple[list, list, list[str]]:
    """(upgrade ops, downgrade ops, what changed in words) from `old` to `new` MetaData.

    Tables and columns are compared by name (a rename the caller names in `renames` {(table, old column): new
    column} is an in-place rename that keeps the data), types by their repr, nullability, indexes, unique, CHECK and
    foreign-key constraints by name (db.NAMING_CONVENTION names every one). A new NOT NULL column gets a server
    default so rows already there survive (`_backfill`). Every change to an existing table is a batch operation, so
    SQLite (copy and move) and Postgres (in place) both apply it."""
    from alembic.operations import ops
    from sqlalchemy.schema import CheckConstraint, ForeignKeyConstraint, UniqueConstraint

    defaults = defaults or {}
    renames = dict(renames or {})
    up: list = []
    down: list = []
    said: list[str] = []
    old_t, new_t = old.tables, new.tables
    added = [t for t in new.sorted_tables if t.name not in old_t]
    removed = [t for t in old.sorted_tables if t.name not in new_t]
    for table in added:
        up.append(ops.CreateTableOp.from_table(table))
        up += [ops.CreateIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
        said.append(f"table {table.name} added")
    for table in sorted(new.sorted_tables, key=lambda t: t.name):
        if table.name not in old_t:
            continue
        before = old_t[table.name]
        t_up: list = []
        t_down: list = []
        gone = {c.name: c for c in before.columns if c.name not in table.columns}
        for (tname, was), now in sorted(renames.items()):
            if tname == table.name and was in gone and now in table.columns and now not in before.columns:
                del gone[was]
                t_up.append(ops.AlterColumnOp(table.name, was, modify_name=now,
                                              existing_type=before.columns[was].type,
                                              existing_nullable=before.columns[was].nullable))
                t_down.append(ops.AlterColumnOp(table.name, now, modify_name=was,
                                                existing_type=table.columns[now].type,
                                                existing_nullable=table.columns[now].nullable))
                said.append(f"{table.name}.{was} renamed to {now}")
        renamed_to = {op.modify_name for op in t_up if isinstance(op, ops.AlterColumnOp) and op.modify_name}
        for col in table.columns:
            if col.name in before.columns or col.name in renamed_to:
                continue
            t_up.append(ops.AddColumnOp(table.name, _with_default(col, table.name, defaults)))
            t_down.insert(0, ops.DropColumnOp.from_column_and_tablename(None, table.name, col._copy()))
            said.append(f"{table.name}.{col.name} added")
        for name, col in gone.items():
            t_up.append(ops.DropColumnOp.from_column_and_tablename(None, table.name, col._copy()))
            t_down.insert(0, ops.AddColumnOp(table.name, _with_default(col, table.name, {})))
            said.append(f"{table.name}.{name} removed")
        renamed_from = {now: was for (tname, was), now in renames.items() if tname == table.name and now in renamed_to}
        for col in table.columns:
            was = before.columns.get(renamed_from.get(col.name, col.name))
            if was is None or col.name not in before.columns and col.name not in renamed_to:
                continue
            kw_up, kw_down = {}, {}
            if _type_key(was) != _type_key(col):
                kw_up["type_"], kw_down["type_"] = col.type, was.type
            if was.nullable != col.nullable:
                kw_up["nullable"], kw_down["nullable"] = col.nullable, was.nullable
            if kw_up:
                fill = _backfill(col, table.name, defaults) if not col.nullable and was.nullable else None
                if fill is not None:  # rows with no value get the default before the column refuses NULL
                    t_up.append(ops.ExecuteSQLOp(f'UPDATE {table.name} SET "{col.name}" = {fill} '
                                                 f'WHERE "{col.name}" IS NULL'))
                t_up.append(ops.AlterColumnOp(table.name, col.name, existing_type=was.type,
                                              existing_nullable=was.nullable, modify_type=kw_up.get("type_"),
                                              modify_nullable=kw_up.get("nullable")))
                t_down.insert(0, ops.AlterColumnOp(table.name, col.name, existing_type=col.type,
                                                   existing_nullable=col.nullable, modify_type=kw_down.get("type_"),
                                                   modify_nullable=kw_down.get("nullable")))
                said.append(f"{table.name}.{col.name} changed")
        for kind, create, drop in ((CheckConstraint, ops.CreateCheckConstraintOp, ops.DropConstraintOp),
                                   (UniqueConstraint, ops.CreateUniqueConstraintOp, ops.DropConstraintOp),
                                   (ForeignKeyConstraint, ops.CreateForeignKeyOp, ops.DropConstraintOp)):
            a = _named(c for c in before.constraints if isinstance(c, kind))
            b = _named(c for c in table.constraints if isinstance(c, kind))
            for name in sorted(set(a) | set(b)):
                ca, cb = a.get(name), b.get(name)
                if ca is not None and cb is not None and _constraint_key(ca) == _constraint_key(cb):
                    continue
                if ca is not None and not (set(ca.columns.keys()) & set(gone)):  # a dropped column takes its own
                    t_up.insert(0, drop.from_constraint(ca))
                    t_down.append(create.from_constraint(ca))
                if cb is not None and not (set(cb.columns.keys()) - set(before.columns.keys()) - renamed_to):
                    t_up.append(create.from_constraint(cb))
                    t_down.insert(0, drop.from_constraint(cb))
                said.append(f"{table.name}: constraint {name} {'changed' if ca is not None and cb is not None else 'added' if cb is not None else 'removed'}")
        ia, ib = _named(before.indexes), _named(table.indexes)
        for name in sorted(set(ia) | set(ib)):
            xa, xb = ia.get(name), ib.get(name)
            if xa is not None and xb is not None and _index_key(xa) == _index_key(xb):
                continue
            if xa is not None:
                t_up.insert(0, ops.DropIndexOp.from_index(xa))
                t_down.append(ops.CreateIndexOp.from_index(xa))
            if xb is not None:
                t_up.append(ops.CreateIndexOp.from_index(xb))
                t_down.insert(0, ops.DropIndexOp.from_index(xb))
        if t_up:
            up.append(ops.ModifyTableOps(table.name, t_up))
            down.insert(0, ops.ModifyTableOps(table.name, t_down))
    for table in reversed(removed):
        up += [ops.DropIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
        up.append(ops.DropTableOp.from_table(table))
        said.append(f"table {table.name} removed")
    for table in removed:
        down.append(ops.CreateTableOp.from_table(table))
        down += [ops.CreateIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
    for table in reversed(added):
        down += [ops.DropIndexOp.from_index(i) for i in sorted(table.indexes, key=lambda i: i.name)]
        down.append(ops.DropTableOp.from_table(table))
    return up, down, said


def _constraint_key(c) -> str:
    from sqlalchemy.schema import CheckConstraint, ForeignKeyConstraint

    if isinstance(c, CheckConstraint):
        return str(c.sqltext)
    if isinstance(c, ForeignKeyConstraint):
        return repr(([col.name for col in c.columns], [e.target_fullname for e in c.elements]))
    return repr(sorted(col.name for col in c.columns))


def _index_key(i) -> str:
    return repr(([c.name for c in i.columns], bool(i.unique)))


def render_change(up_ops: list, down_ops: list) -> tuple[str, str]:
    """(upgrade body, downgrade body) of a change revision: batch operations, so SQLite can apply them."""
    from alembic.autogenerate import render_python_code
    from alembic.operations import ops

    def render(op_list, downgrade: bool) -> str:
        if not op_list:
            return "    pass"
        wrapper = ops.DowngradeOps(ops=op_list) if downgrade else ops.UpgradeOps(ops=op_list)
        return _body(render_python_code(wrapper, render_as_batch=True))

    return render(up_ops, False), render(down_ops, True)


def next_revision(old_files: dict[str, bytes], new_files: dict[str, bytes], *,
                  renames: dict[tuple[str, str], str] | None = None) -> tuple[str, str, list[str]] | None:
    """(upgrade body, downgrade body, changes in words) of the revision that takes a database made by the project
    `old_files` to the schema of `new_files`; None when the two declare the same schema."""
    old = load_metadata(old_files, lambda md: md)
    new = load_metadata(new_files, lambda md: md)
    up, down, said = diff_metadata(old, new, defaults=_spec_defaults(new_files), renames=renames)
    if not up:
        return None
    upgrade, downgrade = render_change(up, down)
    return upgrade, downgrade, said
