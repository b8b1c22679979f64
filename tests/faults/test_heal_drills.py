"""The fault drills of issue 23 (a local cloud that heals, money and accounts reconciled):

1. Firestore killed right after a paid checkout, before its next export: the founder's tenant,
   membership and billing are gone, yet they sign in (their workspace is rolled forward from the
   Auth record) and the Stripe reconciler gives their paid credits back, once.
2. The Auth emulator killed: the accounts exported before the kill are kept.
3. The functions host killed (its 14 children left holding their ports): healed within 30 s, every
   function answering from a new process, none of the old ones left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.faults import drill
from tests.helpers import Api, buy_credits, sign_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def wait_for(what: str, check, timeout: float, every: float = 0.25):
    t0 = time.monotonic()
    while True:
        got = check()
        if got:
            return got, time.monotonic() - t0
        assert time.monotonic() - t0 < timeout, f"{what} not within {timeout:.0f}s"
        time.sleep(every)


def localcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator.localcloud", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_firestore_killed_right_after_a_paid_checkout_founder_signs_in_and_credits_come_back(api, report):
    # Right after an export, hold the supervisor (it takes the exports), so nothing written next is exported.
    since = time.time()
    wait_for("a Firestore export", lambda: (drill.state().get("last_export_at") or 0) > since, 60, 0.1)
    supervisor = drill.state()["supervisor"]["pgid"]
    os.killpg(supervisor, signal.SIGSTOP)
    try:
        founder = api.signup(company="Lost And Found Co")
        credits = buy_credits(api, founder)
        assert credits == 10
        old = drill.signal_service("firestore", signal.SIGKILL)
        killed = time.monotonic()
    finally:
        os.killpg(supervisor, signal.SIGCONT)
    drill.wait_restarted("firestore", old, 90)
    # The restore lost the workspace: the founder signs in and gets it back.
    me, _ = wait_for("GET /api/me answering", lambda: (r := api.get("/api/me", founder, timeout=15)).status_code != 503
                     and r, 60, 0.5)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["tenant"]["id"] == founder.tenant_id and body["role"] == "owner"
    assert sorted(body.get("restored") or []) == ["billing", "member", "tenant"], body
    again = api.get("/api/me", founder)
    assert again.status_code == 200 and "restored" not in again.json(), "a second sign-in restores nothing"
    # Signing up again with the same email rolls nothing forward twice and is not refused.
    r = api.post("/api/auth/signup", json={"email": founder.email, "password": "correct-horse-battery",
                                           "display_name": "Test Founder", "company_name": "Lost And Found Co"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_exists", r.text
    # The reconciler (every 5 s locally) finds the paid session without a grant and grants it, once.
    _, restored_s = wait_for("credits restored by the Stripe reconciler",
                             lambda: api.get("/api/billing", founder).json()["credits"] == 10, 60, 0.5)
    time.sleep(6)  # one more reconciler pass
    billing = api.get("/api/billing", founder).json()
    assert billing["credits"] == 10, billing
    from google.cloud import firestore

    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    grants = [g.to_dict() for g in db.collection(f"tenants/{founder.tenant_id}/grants").stream(timeout=10)]
    assert len(grants) == 1 and grants[0]["event_id"].startswith("evt_reconcile_"), grants
    report(f"drill firestore_kill_after_checkout: founder signed in with the workspace rolled forward; "
           f"10 paid credits restored by the Stripe reconciler {time.monotonic() - killed:.1f}s after the kill "
           f"({restored_s:.1f}s after sign-in), one grant, by the reconciler's event")


def test_signup_again_after_a_lost_workspace_says_sign_in_and_sign_in_restores_it(api):
    """Signing up again is not signed in and checks no password: it restores nothing and reveals no id (409
    email_exists says to sign in); signing in (GET /api/me) rolls the workspace forward."""
    since = time.time()
    wait_for("a Firestore export", lambda: (drill.state().get("last_export_at") or 0) > since, 60, 0.1)
    supervisor = drill.state()["supervisor"]["pgid"]
    os.killpg(supervisor, signal.SIGSTOP)
    try:
        founder = api.signup(company="Signup Again Co")
        old = drill.signal_service("firestore", signal.SIGKILL)
    finally:
        os.killpg(supervisor, signal.SIGCONT)
    drill.wait_restarted("firestore", old, 90)
    body = {"email": founder.email, "password": "correct-horse-battery", "display_name": "Test Founder",
            "company_name": "Signup Again Co"}
    got, _ = wait_for("signup answering", lambda: (x := api.post("/api/auth/signup", json=body)).status_code != 503
                      and [x], 60, 0.5)  # a list: a 409 Response is falsy
    r = got[0]
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_exists", r.text
    assert founder.uid not in r.text and founder.tenant_id not in r.text and "sign in" in r.text
    me = api.get("/api/me", founder)
    assert me.status_code == 200 and me.json()["role"] == "owner" and me.json()["tenant"]["id"] == founder.tenant_id
    assert sorted(me.json().get("restored") or []) == ["billing", "member", "tenant"], me.json()


def test_auth_killed_keeps_the_exported_accounts(api, report):
    user = api.signup(company="Kept Accounts Co")
    export = Path(os.environ["STATE_DIR"]) / "data" / "auth" / "accounts.json"
    _, exported_s = wait_for("the account in the Auth export",
                             lambda: export.exists() and user.uid in export.read_text(), 60)
    old = drill.signal_service("auth", signal.SIGKILL)
    killed = time.monotonic()
    back_s = drill.wait_restarted("auth", old, 60)
    tokens, _ = wait_for("sign-in", lambda: _try_sign_in(user.email), 30)
    assert tokens["localId"] == user.uid
    me = api.get("/api/me", token=tokens["idToken"])
    assert me.status_code == 200 and me.json()["tenant"]["id"] == user.tenant_id, me.text
    report(f"drill auth_kill: account exported {exported_s:.1f}s after signup kept across the kill; auth back in "
           f"{back_s:.1f}s, sign-in and /api/me 200 {time.monotonic() - killed:.1f}s after the kill")


def _try_sign_in(email: str):
    try:
        return sign_in(email)
    except requests.RequestException:
        return None


def test_functions_host_killed_heals_within_30s_leaving_no_old_process(api, report):
    svc = drill.state()["services"]["functions"]
    old_children = {f["pid"] for f in drill.functions_info().values() if f.get("pid")}
    os.kill(svc["pid"], signal.SIGKILL)  # the host alone: its children keep their ports
    killed = time.monotonic()
    _, healed_s = wait_for("`localcloud status` exiting 0", lambda: localcloud("status").returncode == 0, 30, 0.5)
    assert healed_s < 30
    assert drill.state()["services"]["functions"]["pid"] != svc["pid"]
    alive = [pid for pid in old_children if Path(f"/proc/{pid}").exists()
             and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"old function processes left behind: {alive}"
    assert api.get("/api/billing/plans").status_code in (200, 401)
    report(f"drill functions_host_kill: 14 orphaned children killed with their group; `make status` 0 again "
           f"{healed_s:.1f}s after the kill ({time.monotonic() - killed:.1f}s)")


def test_status_fails_for_a_frozen_tasks_emulator(report):
    pgid = drill.state()["services"]["tasks"]["pgid"]
    os.killpg(pgid, signal.SIGSTOP)
    try:
        p = localcloud("status")
    finally:
        os.killpg(pgid, signal.SIGCONT)
    assert p.returncode == 1, p.stdout
    line = next(x for x in p.stdout.splitlines() if x.strip().startswith("tasks"))
    assert "NOT ANSWERING" in line, p.stdout
    wait_for("status 0 again", lambda: localcloud("status").returncode == 0, 30, 0.5)
