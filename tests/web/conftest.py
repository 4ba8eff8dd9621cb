"""Browser tests: Playwright driving Debian's Chromium (no browser download).

Chromium is found at ``LEADFLOW_CHROMIUM`` or ``/usr/bin/chromium``; without it these tests
skip with the reason, except under ``CI=true`` (``.ci/run`` installs it), where they fail.
Screenshots go to ``out/test-artifacts/`` (or ``LEADFLOW_ARTIFACTS``).

The dashboard needs a signed-in session once an account exists, so the demo fixtures create
the demo's accounts (one per role) before the server answers: a test signs in through the
real login form (``tests.web.signin.sign_in``). The demo fixtures are per module: each
module that asks for them gets its own demo database and server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.demo_cli import fill_demo
from leadflow.entrypoints.settings import Settings
from tests.store.live import serve
from tests.web.signin import Account, api_key, demo_accounts

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
TIMEOUT_MS = 15_000
DEMO_LEADS, DEMO_SEED = 300, 7


def _chromium() -> str | None:
    found = os.environ.get("LEADFLOW_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("LEADFLOW_ARTIFACTS", ROOT / "out" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        message = (
            "Debian's chromium is not installed (apt-get install chromium); "
            "`bash .ci/run` installs it"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Make a page in a browser context of its own (its own cookies: one person each)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        opened = context.new_page()
        opened.set_default_timeout(TIMEOUT_MS)
        return opened

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A demo database of 300 simulated leads (seed 7)."""
    folder = tmp_path_factory.mktemp("demo")
    app: App = bootstrap(Settings(database_url=f"sqlite:///{folder / 'demo.db'}"), migrate=True)
    fill_demo(app, DEMO_LEADS, DEMO_SEED, None)
    yield app
    app.db.dispose()


@pytest.fixture(scope="module")
def accounts(demo_app: App, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Account]:
    """The demo's accounts, one per role, by role."""
    return demo_accounts(demo_app, tmp_path_factory.mktemp("accounts"))


@pytest.fixture(scope="module")
def demo_url(demo_app: App, accounts: dict[str, Account]) -> Iterator[str]:
    """The demo served on a loopback port, its accounts made first (never open mode)."""
    with serve(demo_app) as url:
        yield url


@pytest.fixture(scope="module")
def api_headers(demo_app: App) -> dict[str, str]:
    """Headers that let httpx read the demo's API (an analyst's API key)."""
    return {"Authorization": f"Bearer {api_key(demo_app, 'browser-tests', 'analyst')}"}
