"""Browser tests: Playwright driving Debian's Chromium (no browser download).

Chromium is found at ``LEADFLOW_CHROMIUM`` or ``/usr/bin/chromium``; without it these tests
skip with the reason, except under ``CI=true`` (``.ci/run`` installs it), where they fail.
Screenshots go to ``out/test-artifacts/`` (or ``LEADFLOW_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

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
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
