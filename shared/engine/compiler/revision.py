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
