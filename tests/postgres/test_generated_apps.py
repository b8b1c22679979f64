"""The Postgres tier: generated apps run their own tests, their acceptance criteria and the exploit gate on a real
PostgreSQL (tests/pg.py starts one per session), the way QA runs them (its sandbox, `qa_database_url`).

One app per capability whose rule the database must hold under concurrent writers — booking (no double booking
of a slot), ledger (a debt settled once), limit (at most N per period) and custody (at most N held). Their race
tests make RACERS (20) concurrent attempts, each on its own thread, test client and database connection, and
assert that the database holds exactly what the rule allows. (Vote's race tests run on SQLite only: each app here
costs 20-35 s, and the tier must stay within about 3 minutes of `make test`.)
"""

from __future__ import annotations

import pytest

from shared.engine.stages.qa import run_checks
from shared.engine.types import EngineConfig
from tests.unit.engine.capabilities import _ops_specs as S
from tests.unit.engine.capabilities.test_limit import yoga_bookings

# idea -> the race tests that must have run and passed on Postgres
APPS = {
    S.kiln_studio: ["test_concurrent_bookings_of_one_slot_store_one", "test_concurrent_moves_into_one_slot_store_one"],
    S.house_bills: ["test_concurrent_settlements_settle_a_debt_once", "test_concurrent_splits_of_one_charge_store_one"],
    yoga_bookings: ["test_concurrent_writers_never_go_over_the_limit"],
    S.tool_library: ["test_concurrent_check_outs_to_one_holder_never_pass_the_limit"],
}


def _databases(postgres) -> set[str]:
    import psycopg

    with psycopg.connect(host=str(postgres.socket_dir), port=postgres.port, user="postgres", dbname="postgres") as c:
        return {name for (name,) in c.execute("SELECT datname FROM pg_database")}


def _tables(postgres, database: str) -> set[str]:
    import psycopg

    with psycopg.connect(host=str(postgres.socket_dir), port=postgres.port, user="postgres", dbname=database) as c:
        return {name for (name,) in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.mark.parametrize("idea", list(APPS), ids=lambda f: f.__name__)
def test_generated_app_passes_its_tests_criteria_and_exploit_gate_on_postgres(postgres, idea):
    spec, files = S.compile_spec(idea())
    assert b"\nRACERS = 20\n" in files["tests/support.py"]
    name = f"app_{idea.__name__}"
    url = postgres.create_database(name)
    r = run_checks(files, EngineConfig(qa_timeout_s=240, qa_database_url=url))
    errors = [f for f in r["findings"] if f["severity"] == "error"]
    assert r["passed"], (errors, r["test_output_tail"][-3000:])
    assert r["tests"]["run"] > 40 and r["tests"]["skipped"] == 0, r["tests"]
    cap = spec.capabilities[0].id
    mine = {k.rsplit(".", 1)[-1]: v for k, v in r["test_results"].items() if k.startswith(f"tests.test_cap_{cap}.")}
    for race in APPS[idea]:
        assert mine.get(race) == "passed", (race, mine)
    criteria = [c for row in r["coverage"]["features"] for c in row["criteria"]]
    assert criteria and all(c["passed"] for c in criteria), criteria
    assert r["exploits"]["run"] >= 5 and r["exploits"]["failed"] == [], r["exploits"]
    # and it really was Postgres: the tests ran on copies of the migrated app database, the criteria and attacks
    # on copies of a template of their own, each scenario's copy dropped after it
    databases = {d for d in _databases(postgres) if d.startswith(name)}
    assert databases == {name, f"{name}_test", f"{name}_criteria"}, databases
    for database in databases:
        assert {"users", "alembic_version"} <= _tables(postgres, database), database
