"""The main flows in a real browser: sign in as an intake coordinator, find an MQL, accept
it, complete discovery, see it become an SQL with the funnel updated and the history naming
who did it. Screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.web.signin import Account, nav_items, sign_in, unlabelled_fields

ALL_PAGES = ["Pipeline", "Leads", "My queue", "Reports", "Playbooks"]


def _funnel_sql(url: str, headers: dict[str, str]) -> int:
    response = httpx.get(
        f"{url}/v1/reports/funnel", params={"by": "channel"}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    (everyone,) = [row for row in response.json()["rows"] if row["group"] == "(all)"]
    return int(everyone["sql"])


def _sql_cell(page: Page) -> str:
    headers = [h.strip() for h in page.locator("#report-table thead th").all_inner_texts()]
    row = page.locator("#report-table tbody tr", has_text="(all)")
    return row.locator("td").nth(headers.index("sql")).inner_text().strip()


def test_a_rep_finds_an_mql_accepts_it_completes_discovery_and_it_becomes_an_sql(
    page: Page,
    demo_url: str,
    accounts: dict[str, Account],
    api_headers: dict[str, str],
    artifacts: Path,
) -> None:
    intake = accounts["intake"]
    sqls_before = _funnel_sql(demo_url, api_headers)
    sign_in(page, demo_url, intake, "/reports?report=funnel")
    expect(page).to_have_url(f"{demo_url}/reports?report=funnel")  # back where they asked
    expect(page.locator("#report-table")).to_be_visible()
    assert _sql_cell(page) == str(sqls_before)

    page.goto(demo_url + "/")
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    page.screenshot(path=artifacts / "1-pipeline.png", full_page=True)

    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_label("Stage").select_option("mql")
    page.get_by_label("Playbook").select_option("specialty-clinic")
    page.get_by_role("button", name="Filter").click()
    first = page.locator("table tbody tr td a").first
    expect(first).to_be_visible()
    first.click()
    expect(page.locator("#stage")).to_have_text("mql")
    expect(page.locator("#reasons li").first).to_be_visible()
    page.screenshot(path=artifacts / "2-mql-lead.png", full_page=True)

    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_have_text("Accepted.")
    expect(page.locator("#stage")).to_have_text("sales accepted")

    discovery = page.get_by_role("group", name="Discovery")
    discovery.get_by_label("Care or business need confirmed?").select_option("yes")
    discovery.get_by_label("Eligibility confirmed?").select_option("yes")
    discovery.get_by_label("Next step").fill("appointment agreed for next week")
    discovery.get_by_role("button", name="Save discovery").click()
    expect(page.get_by_role("status")).to_have_text("Discovery answers saved.")
    expect(page.locator("#stage")).to_have_text("sql")
    expect(page.locator("#status")).to_have_text("SQL-ready")
    history = page.locator("section", has=page.get_by_role("heading", name="Stage history"))
    expect(history.locator("tbody tr").first).to_contain_text(intake.actor)
    page.screenshot(path=artifacts / "3-became-sql.png", full_page=True)

    page.goto(f"{demo_url}/reports?report=funnel")
    assert _sql_cell(page) == str(sqls_before + 1)
    assert _funnel_sql(demo_url, api_headers) == sqls_before + 1
    page.screenshot(path=artifacts / "4-funnel.png", full_page=True)


def test_every_page_is_usable_with_the_keyboard_and_labelled(
    page: Page, demo_url: str, accounts: dict[str, Account], artifacts: Path
) -> None:
    admin = accounts["admin"]
    page.goto(demo_url + "/login")
    assert unlabelled_fields(page) == [], "/login"
    # Sign in with the keyboard alone: the email field has the focus, Tab to the password.
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(admin.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(admin.password)
    page.keyboard.press("Enter")
    expect(page.locator("#who-name")).to_have_text(admin.name)
    assert nav_items(page) == ALL_PAGES

    page.goto(demo_url + "/")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    for path in ("/", "/leads", "/queue", "/reports", "/playbooks", "/playbooks/specialty-clinic"):
        page.goto(demo_url + path)
        expect(page.locator("#who-role")).to_have_text("admin")  # signed in, not sent away
        assert unlabelled_fields(page) == [], path
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    page.goto(demo_url + "/queue")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 820, "the queue scrolls sideways on a tablet"
    page.screenshot(path=artifacts / "5-queue-tablet.png", full_page=True)
