"""Changing a built app: the compiler keeps the project's revisions and generates the next one from the two
versions' models (`compile_project(..., previous=...)`, `revision.next_revision`), and a database made by version N
keeps its rows when it is upgraded to N+1 (new fields defaulted) and when it is downgraded again."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shared.engine import planedit
from shared.engine.appspec import AppSpec
from shared.engine.compiler import compile_project, default_design
from shared.engine.compiler.revision import RevisionError

SPEC_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "specs" / "kiln_studio.json"


def edited(spec: AppSpec, *ops: dict) -> AppSpec:
    for op in ops:
        spec, _ = planedit.apply(spec, planedit.parse(op))
    return spec


def add(entity: str, **attribute) -> dict:
    return {"op": "add_attribute", "entity": entity, "attribute": attribute}


@pytest.fixture(scope="module")
def spec() -> AppSpec:
    return AppSpec.model_validate(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def v1(spec) -> dict[str, bytes]:
    return compile_project(spec, default_design(spec))


@pytest.fixture(scope="module")
def v2(spec, v1) -> dict[str, bytes]:
    changed = edited(spec, add("kiln", name="serial", type="text", required=True),
                     add("kiln", name="shelves", type="integer", required=True, default=4),
                     add("member", name="level", type="enum", values=["novice", "expert"], required=True))
    return compile_project(changed, default_design(changed), previous=v1)


def test_the_next_revision_chains_to_the_previous_head_and_keeps_it(v1, v2):
    assert v2["migrations/versions/0001_initial.py"] == v1["migrations/versions/0001_initial.py"]
    rev = v2["migrations/versions/0002_change.py"].decode()
    assert 'revision = "0002"' in rev and 'down_revision = "0001"' in rev
    assert "with op.batch_alter_table('kilns', schema=None) as batch_op:" in rev
    assert "sa.Column('serial', sa.String(length=200), server_default=sa.text(\"''\"), nullable=False)" in rev
    assert "sa.Column('shelves', sa.Integer(), server_default=sa.text('4'), nullable=False)" in rev
    assert "server_default=sa.text(\"'novice'\")" in rev and "create_check_constraint('ck_members_level'" in rev
    assert "batch_op.drop_column('serial')" in rev and "op.create_table" not in rev
    assert json.loads(v2["app/factory.json"])["revision"] == "0002"
    assert "REVISIONS = [\"0001\", \"0002\"]" in v2["tests/test_migrations.py"].decode()
    readme = v2["README.md"].decode()
    assert "## Migrations" in readme and "alembic -c migrations/alembic.ini upgrade head" in readme
    compile(rev, "0002_change.py", "exec")


def test_an_unchanged_schema_adds_no_revision(spec, v1):
    relabelled = spec.model_copy(update={"purpose": spec.purpose + " Now with more kilns."})
    again = compile_project(relabelled, default_design(relabelled), previous=v1)
    assert [p for p in again if p.startswith("migrations/versions/")] == ["migrations/versions/0001_initial.py"]
    assert json.loads(again["app/factory.json"])["revision"] == "0001"


def test_a_required_link_added_to_a_table_with_rows_is_refused(spec, v1):
    changed = edited(spec, add("kiln", name="keeper_id", type="reference", ref="member", required=True))
    with pytest.raises(RevisionError, match="required link"):
        compile_project(changed, default_design(changed), previous=v1)


def _write(files: dict[str, bytes], root: Path) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def _run(project: Path, db: Path, code: str) -> dict:
    """Run `code` in the generated project (its own `app` package, the factory's interpreter)."""
    script = textwrap.dedent('''
        import json, sys
        from alembic import command
        from sqlalchemy import create_engine
        from app.migrations import alembic_config, current_revision, migrate
        engine = create_engine(sys.argv[1])
        out = {}
        T = "'2030-01-01 00:00:00'"
    ''') + textwrap.dedent(code) + "\nprint(json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", script, f"sqlite:///{db}"], cwd=project, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_rows_made_at_version_n_survive_the_upgrade_with_new_fields_defaulted_and_the_downgrade(tmp_path, v1, v2):
    old, new, db = _write(v1, tmp_path / "v1"), _write(v2, tmp_path / "v2"), tmp_path / "app.db"
    made = _run(old, db, '''
        out["applied"] = migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO kilns (name, active, created_at, updated_at) VALUES "
                                  f"('Big kiln', 1, {T}, {T}), ('Small kiln', 0, {T}, {T})")
            conn.exec_driver_sql("INSERT INTO members (name, email, created_at, updated_at) VALUES "
                                  f"('Ada', 'ada@example.com', {T}, {T})")
    ''')
    assert made["applied"] == ["0001"]
    up = _run(new, db, '''
        out["applied"] = migrate(engine)
        with engine.connect() as conn:
            out["kilns"] = [list(r) for r in conn.exec_driver_sql(
                "SELECT name, active, serial, shelves FROM kilns ORDER BY id")]
            out["members"] = [list(r) for r in conn.exec_driver_sql("SELECT name, level FROM members")]
    ''')
    assert up["applied"] == ["0002"]
    assert up["kilns"] == [["Big kiln", 1, "", 4], ["Small kiln", 0, "", 4]]
    assert up["members"] == [["Ada", "novice"]]
    down = _run(new, db, '''
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
            out["at"] = current_revision(conn)
            out["columns"] = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(kilns)")]
            out["kilns"] = [r[0] for r in conn.exec_driver_sql("SELECT name FROM kilns ORDER BY id")]
    ''')
    assert down["at"] == "0001" and down["kilns"] == ["Big kiln", "Small kiln"]
    assert "serial" not in down["columns"] and "shelves" not in down["columns"]
    again = _run(old, db, 'out["applied"] = migrate(engine)')  # version N's app starts on it as before
    assert again["applied"] == []


def test_a_renamed_attribute_keeps_its_data(tmp_path, spec, v1):
    changed = edited(spec, {"op": "rename_attribute", "entity": "kiln", "name": "location", "to": "room"})
    v2 = compile_project(changed, default_design(changed), previous=v1, renames={("kilns", "location"): "room"})
    rev = v2["migrations/versions/0002_change.py"].decode()
    assert "new_column_name='room'" in rev and "drop_column" not in rev
    old, new, db = _write(v1, tmp_path / "v1"), _write(v2, tmp_path / "v2"), tmp_path / "app.db"
    _run(old, db, '''
        migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO kilns (name, location, active, created_at, updated_at) VALUES "
                                  f"('Big kiln', 'Shed', 1, {T}, {T})")
    ''')
    up = _run(new, db, '''
        migrate(engine)
        with engine.connect() as conn:
            out["rows"] = [list(r) for r in conn.exec_driver_sql("SELECT name, room FROM kilns")]
    ''')
    assert up["rows"] == [["Big kiln", "Shed"]]


def test_a_preview_database_is_copied_consistently_and_a_missing_one_is_reported(tmp_path):
    import sqlite3

    from shared.engine.preview import copy_database

    src = tmp_path / "live.db"
    live = sqlite3.connect(src)  # still open, as a running preview's is
    live.execute("CREATE TABLE t (x INTEGER)")
    live.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    live.commit()
    try:
        assert copy_database(src, tmp_path / "copy" / "app.db") is True
    finally:
        live.close()
    copied = sqlite3.connect(tmp_path / "copy" / "app.db")
    assert copied.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    copied.close()
    assert copy_database(tmp_path / "gone.db", tmp_path / "other.db") is False


def test_an_app_built_before_users_had_a_phone_gains_the_column_and_keeps_its_users(tmp_path, spec, v1):
    """A preview built when accounts had only a login email: the next build adds users.phone (optional) in a new
    revision, so its users and their sign-in survive, each with no phone until they give one."""
    old = dict(v1)
    old["app/models.py"] = b"\n".join(line for line in v1["app/models.py"].split(b"\n")
                                      if b"phone: orm.Mapped[str | None] = orm.mapped_column(sa.String(16)" not in line)
    initial = v1["migrations/versions/0001_initial.py"].decode()
    users = initial[initial.index("op.create_table('users'"):]
    users = users[:users.index("sa.Column('phone', sa.String(length=16), nullable=True),")]
    old["migrations/versions/0001_initial.py"] = initial.replace(
        users + "sa.Column('phone', sa.String(length=16), nullable=True),\n    ", users, 1).encode()
    assert b"'phone', sa.String(length=16)" not in old["migrations/versions/0001_initial.py"]
    new = compile_project(spec, default_design(spec), previous=old)
    rev = new["migrations/versions/0002_change.py"].decode()
    assert "with op.batch_alter_table('users', schema=None) as batch_op:" in rev
    assert "sa.Column('phone', sa.String(length=16), nullable=True)" in rev
    db = tmp_path / "app.db"
    _run(_write(old, tmp_path / "v1"), db, '''
        migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO users (email, password_hash, role, created_at, session_version) "
                                 f"VALUES ('ada@example.com', 'x', 'owner', {T}, 1)")
    ''')
    up = _run(_write(new, tmp_path / "v2"), db, '''
        out["applied"] = migrate(engine)
        with engine.connect() as conn:
            out["users"] = [list(r) for r in conn.exec_driver_sql("SELECT email, role, phone FROM users")]
    ''')
    assert up == {"applied": ["0002"], "users": [["ada@example.com", "owner", None]]}


def test_a_retyped_attribute_keeps_its_values_and_a_removed_one_goes_with_the_rest_of_the_row_kept(tmp_path, spec,
                                                                                                  v1):
    """Version N+1 retypes kilns.max_temperature (integer -> decimal) and drops kilns.notes (an attribute the new
    spec no longer has): the rows made at N keep their names and temperatures, the dropped column is gone, and
    the downgrade brings the column back (empty) with the temperatures whole numbers again."""
    changed = edited(spec, {"op": "retype_attribute", "entity": "kiln", "name": "max_temperature",
                            "type": "decimal"})
    raw = json.loads(changed.model_dump_json())
    kiln = next(e for e in raw["entities"] if e["name"] == "kiln")
    kiln["fields"] = [f for f in kiln["fields"] if f["name"] != "notes"]
    changed = AppSpec.model_validate(raw)
    v2 = compile_project(changed, default_design(changed), previous=v1)
    rev = v2["migrations/versions/0002_change.py"].decode()
    assert "drop_column('notes')" in rev and "alter_column('max_temperature'" in rev, rev
    old, new, db = _write(v1, tmp_path / "v1"), _write(v2, tmp_path / "v2"), tmp_path / "app.db"
    _run(old, db, '''
        migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO kilns (name, max_temperature, notes, active, created_at, updated_at) "
                                 f"VALUES ('Big kiln', 1280, 'Vent at 600', 1, {T}, {T})")
    ''')
    up = _run(new, db, '''
        out["applied"] = migrate(engine)
        with engine.connect() as conn:
            out["rows"] = [list(r) for r in conn.exec_driver_sql("SELECT name, max_temperature FROM kilns")]
            out["columns"] = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(kilns)")]
            out["type"] = [r[2] for r in conn.exec_driver_sql("PRAGMA table_info(kilns)") if r[1] == "max_temperature"]
    ''')
    assert up["applied"] == ["0002"]
    assert up["rows"] == [["Big kiln", 1280]] and "notes" not in up["columns"]
    assert up["type"] and up["type"][0].upper().startswith("NUMERIC"), up["type"]
    down = _run(new, db, '''
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
            out["rows"] = [list(r) for r in conn.exec_driver_sql("SELECT name, max_temperature, notes FROM kilns")]
    ''')
    assert down["rows"] == [["Big kiln", 1280, None]]
