"""Assigning a lead by hand in a real browser: the lead page's "Assign to" form changes the
owner, the SLA deadline stays, and the assignment history names who did it and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.settings import Settings
from tests.store.conftest import FakeClock
from tests.store.live import serve
from tests.store.test_api_lifecycle import CAREGIVER, CAREGIVER_EVENTS


@pytest.fixture(scope="module")
def routed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose only lead, the caregiver, is an MQL routed to Tomás (Friday noon UTC)."""
    folder = tmp_path_factory.mktemp("routing")
    settings = Settings(database_url=f"sqlite:///{folder / 'routing.db'}")
    app: App = bootstrap(settings, clock=FakeClock(), migrate=True)
    with serve(app) as url:
        assert httpx.post(f"{url}/v1/leads", json=CAREGIVER, timeout=30).status_code == 201
        for event in CAREGIVER_EVENTS:
            assert httpx.post(f"{url}/v1/events", json=event, timeout=30).status_code == 201
        yield url
    app.db.dispose()


def test_a_team_lead_reassigns_a_lead_from_its_page_and_sees_the_history(
    page: Page, routed_url: str, artifacts: Path
) -> None:
    page.goto(f"{routed_url}/leads/SC-001")
    expect(page.locator("#stage")).to_have_text("mql")
    expect(page.get_by_text("owner tomas")).to_be_visible()
    expect(page.locator("#sla-due")).to_have_text("(by 2026-03-06 22:00 UTC)")
    history = page.locator("#assignments tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("routed")

    page.get_by_label("You are").fill("Erin (team lead)")
    page.get_by_role("button", name="Set").click()
    owner = page.locator("section", has=page.get_by_role("heading", name="Owner"))
    expect(owner.get_by_label("Assign to")).to_have_value("tomas")
    owner.get_by_label("Assign to").select_option("erin")
    owner.get_by_label("Reason").fill("covering Friday")
    owner.get_by_role("button", name="Assign").click()

    expect(page.get_by_role("status")).to_have_text("Owner changed.")
    expect(page.get_by_text("owner erin")).to_be_visible()
    expect(page.locator("#sla-due")).to_have_text("(by 2026-03-06 22:00 UTC)")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("manual: covering Friday")
    expect(history.first).to_contain_text("Erin (team lead)")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
             .map(el => el.name)"""
    )
    assert unlabelled == []
    page.screenshot(path=artifacts / "6-assigned-by-hand.png", full_page=True)
