"""Assigning a lead by hand in a real browser: the team lead signs in, the lead page's
"Assign to" form changes the owner, the SLA deadline stays, and the assignment history names
who did it (the signed-in person) and why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.settings import Settings
from tests.factories import CAREGIVER, CAREGIVER_EVENTS
from tests.fakes import FakeClock
from tests.store.live import serve
from tests.web.signin import Account, api_key, demo_accounts, sign_in, unlabelled_fields


@dataclass(frozen=True)
class Routed:
    url: str
    accounts: dict[str, Account]


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routed]:
    """A server whose only lead, the caregiver, is an MQL routed to Tomás (Friday noon UTC),
    with the demo's accounts (Erin Walsh, marketing, leads Tomás's team)."""
    folder = tmp_path_factory.mktemp("routing")
    settings = Settings(database_url=f"sqlite:///{folder / 'routing.db'}")
    app: App = bootstrap(settings, clock=FakeClock(), migrate=True)
    accounts = demo_accounts(app, folder)
    headers = {"Authorization": f"Bearer {api_key(app, 'browser-tests', 'intake')}"}
    with serve(app) as url:
        posted = httpx.post(f"{url}/v1/leads", json=CAREGIVER, headers=headers, timeout=30)
        assert posted.status_code == 201, posted.text
        for event in CAREGIVER_EVENTS:
            sent = httpx.post(
                f"{url}/v1/events?wait=decision", json=event, headers=headers, timeout=30
            )
            assert sent.status_code == 201, sent.text
        yield Routed(url, accounts)
    app.db.dispose()


def test_a_team_lead_reassigns_a_lead_from_its_page_and_sees_the_history(
    page: Page, routed: Routed, artifacts: Path
) -> None:
    routed_url, erin = routed.url, routed.accounts["marketing"]
    assert erin.name == "Erin Walsh"  # the patient marketing team's lead
    sign_in(page, routed_url, erin, "/leads/SC-001")
    expect(page).to_have_url(f"{routed_url}/leads/SC-001")
    expect(page.locator("#stage")).to_have_text("mql")
    expect(page.get_by_text("owner tomas")).to_be_visible()
    expect(page.locator("#sla-due")).to_have_text("(by 2026-03-06 22:00 UTC)")
    history = page.locator("#assignments tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("routed")

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
    expect(history.first).to_contain_text(erin.actor)
    assert unlabelled_fields(page) == []
    page.screenshot(path=artifacts / "6-assigned-by-hand.png", full_page=True)
