"""A generated app's first revision on Postgres when its records refer to each other in a cycle (a pair names its
meet, a meet its player, a player its current pair): the tables are created first and the keys of the cycle added
once every table exists, so `upgrade` and `downgrade` both work, and the keys hold (SQLite keeps them inline)."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.engine.capabilities import _ops_specs as S


def chess_ladder() -> dict:
    ref = lambda name, target: S.f(name, "reference", ref=target)  # noqa: E731 - three fields alike
    pair = S.entity("pair", "pairs", [S.f("board", required=True), ref("meet_id", "meet")])
    meet = S.entity("meet", "meets", [S.f("title", required=True), ref("player_id", "player")])
    player = S.entity("player", "players", [S.f("name", required=True), ref("pair_id", "pair")])
    return S.build("Ladder", "A chess club pairs its players at meets.", [pair, meet, player],
                   [S.role("member", ["pair", "meet", "player"], ["pair", "meet", "player"])], [])


def test_records_in_a_cycle_migrate_up_and_down_on_postgres(postgres, tmp_path):
    _spec, files = S.compile_spec(chess_ladder())
    revision = files["migrations/versions/0001_initial.py"].decode()
    assert "op.create_foreign_key(op.f('fk_pairs_meet_id_meets')" in revision  # the cycle's keys come last
    for path, data in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", "tests.test_migrations"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0",
                               "TEST_DATABASE_URL": postgres.create_database("cycle")})
    assert proc.returncode == 0 and proc.stderr.rstrip().endswith("OK"), proc.stderr[-4000:]
    assert "skipped" not in proc.stderr, proc.stderr[-2000:]
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "development", "DATABASE_URL": postgres.create_database("cycle_cli")}
    for step in (["upgrade"], ["downgrade", "base"], ["upgrade"]):  # and back down and up again, as an operator would
        run = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *step], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, (step, run.stderr[-3000:])
