"""Browser tests: Playwright for Python driving Debian's Chromium against the local cloud.

Run inside the local cloud (it exports FRONT_DOOR_URL and the emulator hosts):
    FACTORY_FAULTS=enabled LOCALCLOUD_PORT_OFFSET=22000 STATE_DIR=$PWD/.local/web PYTHONPATH=. \\
        .venv/bin/python -m emulator.localcloud run -- .venv/bin/python -m pytest tests/browser -q

No browser is ever downloaded (`playwright install` is never run): the tests launch the system
Chromium (`apt-get install chromium`), and fail, not skip, when it is missing. On a failure every
open page is saved as a PNG under tests/browser/artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    """The system Chromium: CHROMIUM_PATH, else /usr/bin/chromium, else `chromium` on PATH."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("Chromium is missing: the browser tests drive Debian's Chromium. Install it with "
                "`apt-get install -y chromium` (never `playwright install`), or set CHROMIUM_PATH.",
                pytrace=False)


@pytest.fixture(scope="session")
def browser(cloud_env):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: .venv/bin/pip install playwright==1.65.2 "
                    "(and apt-get install chromium; never `playwright install`).", pytrace=False)
    path = chromium_path()
    # Chromium refuses some ports outright (6000 is X11's, ERR_UNSAFE_PORT); a port offset can land the
    # front door on one, so the local cloud's own ports are always allowed.
    ports = sorted({u.port for u in map(urlsplit, (os.environ.get("FRONT_DOOR_URL", ""),
                                                   os.environ.get("STRIPE_API_BASE", ""))) if u.port})
    args = CHROMIUM_ARGS + ([f"--explicitly-allowed-ports={','.join(map(str, ports))}"] if ports else [])
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


class Browsers:
    """Opens isolated browser contexts (one per user) and remembers their pages for screenshots."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.console: list[str] = []

    def new_page(self, width: int = 1280, height: int = 900, **kw):
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, base_url=self.base_url,
                                       accept_downloads=True, **kw)
        ctx.set_default_timeout(20_000)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("console", lambda m: m.type in ("error", "warning") and self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        return page

    def screenshot_all(self, name: str) -> list[Path]:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        saved = []
        for i, ctx in enumerate(self.contexts):
            for j, page in enumerate(ctx.pages):
                path = ARTIFACTS / f"{name}-{i}-{j}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
                except Exception as exc:  # noqa: BLE001 - a page that is gone has nothing to show
                    print(f"no screenshot of page {i}-{j}: {exc}")
        return saved

    def close(self):
        for ctx in self.contexts:
            try:
                ctx.close()
            except Exception as exc:  # noqa: BLE001 - closing is best effort
                print(f"browser context did not close: {exc}")


@pytest.fixture
def browsers(browser, front_door, request):
    b = Browsers(browser, front_door)
    yield b
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        saved = b.screenshot_all(name)
        print(f"\nscreenshots: {', '.join(str(p) for p in saved) or 'none'}")
        if b.console:
            print("browser console:\n  " + "\n  ".join(b.console[-30:]))
    b.close()
