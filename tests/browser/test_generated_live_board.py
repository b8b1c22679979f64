"""A generated app's live board in a real browser: a change made elsewhere appears on the open page, pushed
by server-sent events, with no polling and no reload. The app needs no local cloud (the browser fixture does): it compiles a spec (the café of
tests/unit/engine/capabilities/_caps2_specs.py) and runs the app with `python -m app` on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import free_port
from tests.unit.engine.capabilities import _caps2_specs as S

CLAIM_TOKEN = "browser-test-owner-claim-token"


@pytest.fixture
def app_url(tmp_path):
    _, files = S.compile_spec(S.cafe("live_board"))
    for name, data in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SECRET_KEY": "browser-test",
           "OWNER_CLAIM_TOKEN": CLAIM_TOKEN,
           "DATABASE_URL": f"sqlite:///{tmp_path}/app.db", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the generated app did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_new_ticket_appears_on_the_open_board_without_polling(app_url, browser):
    # The browser tier's one Chromium (tests/browser/conftest.py): a second sync_playwright in the same
    # process is refused by Playwright.
    ctx = browser.new_context(base_url=app_url)
    try:
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        signup = ctx.request.post("/api/auth/claim", data={"token": CLAIM_TOKEN, "email": "chef@example.com",
                                                            "password": "correct-horse-battery"})
        assert signup.status == 201, signup.text()
        csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
        page.goto("/kitchen_board/")
        page.wait_for_function("document.getElementById('kitchen_board-status').textContent.startsWith('Live')")
        later: list[str] = []
        page.on("request", lambda r: later.append(r.url))
        dish = ctx.request.post("/api/dishes", data={"name": "Soup", "price": "4.50"}, headers=csrf)
        assert dish.status == 201, dish.text()
        ticket = ctx.request.post("/api/tickets", headers=csrf,
                                  data={"table_name": "T7 <b>", "dish_id": dish.json()["id"], "status": "new"})
        assert ticket.status == 201, ticket.text()
        item = page.wait_for_selector(f'section[data-entity="ticket"] li[data-id="{ticket.json()["id"]}"]')
        assert item.inner_text() == "T7 <b>"  # set as text, not markup
        assert page.locator('section[data-entity="ticket"] li b').count() == 0
        time.sleep(1)
        assert later == [], later  # nothing was fetched after the page opened its one stream: no polling
    finally:
        ctx.close()
