"""Signing in to the dashboard from a test: the demo's accounts, an API key, and the real
login form driven in the browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from playwright.sync_api import Page, expect

from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.demo_accounts import ACCOUNTS, ensure_demo_accounts

NAMES = {email: name for _, email, name in ACCOUNTS}
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
     .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
     .map(el => el.name)"""


class Account(NamedTuple):
    """One demo account: who signs in, with what, as whom."""

    role: str
    email: str
    password: str
    name: str

    @property
    def actor(self) -> str:
        """How history and the access log name this person."""
        return f"user:{self.email}"


def demo_accounts(app: App, folder: Path) -> dict[str, Account]:
    """One account per role (``ensure_demo_accounts``), by role."""
    made = ensure_demo_accounts(app, folder / "demo-accounts.txt")
    return {role: Account(role, email, password, NAMES[email]) for role, email, password in made}


def api_key(app: App, name: str, role: str) -> str:
    """A new API key's text (``lf_…``) for ``Authorization: Bearer``."""
    now = app.clock()
    _, text = app.db.run(lambda store: store.keys.create(name, role, now))
    return text


def sign_in(page: Page, base_url: str, account: Account, path: str = "/") -> None:
    """Open ``path``, be sent to the login form, sign in there as ``account`` and come back
    signed in (the header names the person and their role)."""
    page.goto(base_url + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-name")).to_have_text(account.name)
    expect(page.locator("#who-role")).to_have_text(account.role)


def nav_items(page: Page) -> list[str]:
    """The labels of the main nav's links, in order."""
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    return [text.strip() for text in links.all_inner_texts()]


def unlabelled_fields(page: Page) -> list[str]:
    """The names of the page's visible form fields that have no label."""
    found: list[str] = page.evaluate(UNLABELLED)
    return found
