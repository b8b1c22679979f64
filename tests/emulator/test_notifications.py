"""Run notifications by email through the local cloud's real SMTP sink (emulator/mailsink.py): one mail per event
even when the event is processed again, and none for a member who turned them off."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from google.cloud import firestore

from emulator import faults
from shared import notify
from tests.helpers import Api, buy_credits, submit, wait_status


@pytest.fixture(scope="module")
def api(cloud_env):
    return Api()


def owner_with_credits(api: Api):
    owner = api.signup(company="Mail Co")
    faults.set_flag(owner.tenant_id, "passthrough")
    buy_credits(api, owner)
    return owner


def mails(to: str) -> list[dict]:
    r = requests.get(os.environ["MAIL_SINK_URL"] + "/messages", params={"to": to}, timeout=10)
    r.raise_for_status()
    return r.json()["messages"]


def marker(tenant_id: str, pid: str, timeout: float = 15.0) -> dict:
    """The notification marker of the run's factory_completed event, once written."""
    db = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    col = db.collection(f"tenants/{tenant_id}/pipelines/{pid}/notifications")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [d.to_dict() for d in col.stream() if d.get("type") == "factory_completed"]
        if done and done[0]["status"] != "sending":
            return done[0]
        time.sleep(0.1)
    raise AssertionError("no finished notification marker")


def test_a_completed_run_mails_its_owner_exactly_once_even_when_processed_again(api):
    owner = owner_with_credits(api)
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 30)
    assert marker(owner.tenant_id, pid)["status"] == "sent"
    # The event processed again, twice at once (a redelivery racing a retry): the marker lets nothing through.
    with ThreadPoolExecutor(2) as pool:
        again = list(pool.map(lambda _: notify.notify_run(owner.tenant_id, pid), range(2)))
    assert again == [0, 0]
    time.sleep(0.5)
    got = mails(owner.email)
    assert len(got) == 1, got
    assert got[0]["subject"] == "Your app is ready: Invoice tracker for freelancers"
    assert f"/#/pipelines/{pid}" in got[0]["text"] and got[0]["to"] == [owner.email]


def test_an_owner_who_turned_notifications_off_gets_none(api):
    owner = owner_with_credits(api)
    r = api.request("PATCH", "/api/me/settings", owner, json={"notify_email": False})
    assert r.status_code == 200
    pid = submit(api, owner)
    wait_status(owner.tenant_id, pid, "completed", 30)
    assert marker(owner.tenant_id, pid)["status"] == "opted_out"
    assert notify.notify_run(owner.tenant_id, pid) == 0
    time.sleep(0.5)
    assert mails(owner.email) == []
