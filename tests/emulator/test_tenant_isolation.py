"""Shared first, isolate if needed: a tenant moved to its own named Firestore database (infra/tenant_move.py)
is read from there by the API, through the routing document in (default); the move survives interruption.
The Firestore emulator (1.19.9) serves named databases: the database id travels in every request."""

from __future__ import annotations

import uuid

import pytest

from emulator import faults
from infra import tenant_move
from shared import clients, store
from tests.helpers import IDEA, Api, buy_credits, submit, wait_status


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def tenant_with_a_finished_run(api: Api, company: str):
    owner = api.signup(company=company)
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed")
    return owner, pid


def new_database() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}"


def tenant_paths(database: str, tenant_id: str) -> set[str]:
    return {p for p, s in tenant_move.walk(clients.firestore(database).document(f"tenants/{tenant_id}")).items()
            if s is not None}


def assert_api_reads_the_run(api: Api, owner, pid: str) -> None:
    r = api.get("/api/factory/pipelines", owner)
    assert r.status_code == 200, r.text
    assert pid in [p["pipeline_id"] for p in r.json()["pipelines"]]
    r = api.get(f"/api/factory/pipelines/{pid}", owner)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text


def test_a_moved_tenant_is_read_from_its_own_database(api):
    owner, pid = tenant_with_a_finished_run(api, "Isolated Co")
    tid, db = owner.tenant_id, new_database()
    before = tenant_paths(clients.DEFAULT_DATABASE, tid)
    assert f"tenants/{tid}/pipelines/{pid}" in before and len(before) > 5

    out = tenant_move.move(tid, db, say=lambda _m: None)

    assert out["documents"] == len(before)
    assert tenant_paths(db, tid) == before  # every document, at the same path
    route = clients.firestore().document(f"tenants/{tid}").get().to_dict()
    assert set(route) == {"database", "move"} and route["database"] == db and route["move"]["state"] == "done"
    assert tenant_paths(clients.DEFAULT_DATABASE, tid) == {f"tenants/{tid}"}  # only the routing document is left
    store.forget_routes()
    assert store.Tenant(tid).database == db
    assert store.Runs(store.Tenant(tid)).pipeline(pid).status == "completed"
    # The API (its own processes, its own routing cache) reads the run, and the membership, from the new database.
    assert_api_reads_the_run(api, owner, pid)
    # Running the move again changes nothing.
    assert tenant_move.move(tid, db, say=lambda _m: None)["already"] is True


def test_an_interrupted_move_is_finished_by_running_it_again(api):
    owner, pid = tenant_with_a_finished_run(api, "Interrupted Co")
    tid, db = owner.tenant_id, new_database()
    before = tenant_paths(clients.DEFAULT_DATABASE, tid)
    calls = {"n": 0}

    def stop_at_third(_path: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Interrupted

    with pytest.raises(Interrupted):  # during the copy: nothing flipped, nothing deleted
        tenant_move.move(tid, db, say=lambda _m: None, on_write=stop_at_third)
    route = clients.firestore().document(f"tenants/{tid}").get().to_dict()
    assert "database" not in route and route["move"]["state"] == "copying"
    assert tenant_paths(clients.DEFAULT_DATABASE, tid) == before
    assert_api_reads_the_run(api, owner, pid)

    calls["n"] = 0
    with pytest.raises(Interrupted):  # during the deletion of the old copy: flipped, partly deleted
        tenant_move.move(tid, db, say=lambda _m: None, on_delete=stop_at_third, wait_s=0)
    route = clients.firestore().document(f"tenants/{tid}").get().to_dict()
    assert route["database"] == db and route["move"]["state"] == "flipped"
    left = tenant_paths(clients.DEFAULT_DATABASE, tid)
    assert f"tenants/{tid}" in left and 1 < len(left) < len(before)
    assert tenant_paths(db, tid) == before

    out = tenant_move.move(tid, db, say=lambda _m: None)
    assert out["deleted"] == len(left) - 1
    assert tenant_paths(clients.DEFAULT_DATABASE, tid) == {f"tenants/{tid}"}
    assert tenant_paths(db, tid) == before
    assert_api_reads_the_run(api, owner, pid)


def test_a_tenant_with_a_run_going_is_not_moved(api):
    owner = api.signup(company="Busy Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    pid = submit(api, owner, {**IDEA, "constraints": {"approval_gates": ["tech_stack"]}})
    wait_status(owner.tenant_id, pid, "awaiting_approval", 30)  # waiting for its owner: not finished
    with pytest.raises(tenant_move.MoveRefused, match="runs still going"):
        tenant_move.move(owner.tenant_id, new_database(), say=lambda _m: None)
    assert "move" not in (clients.firestore().document(f"tenants/{owner.tenant_id}").get().to_dict() or {})


def test_a_transaction_refuses_a_document_of_another_database(cloud_env):
    other = clients.firestore(new_database()).document(f"probe/{uuid.uuid4().hex}")
    tx = clients.firestore().transaction()
    with pytest.raises(clients.CrossDatabaseError):
        tx.set(other, {"x": 1})
    assert not other.get().exists
