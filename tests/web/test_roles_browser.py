"""Each role in a real browser, signed in through the login form: the pages in its nav, how
a patient's clinical note reads (raw for intake and admin, redacted for sales and
marketing), who has the sales actions, analysts kept to the reports, and the admin's "Who
read this record" listing the earlier reads. Signing out ends the session on the server; a
wrong password is refused. Screenshots (``role-*.png``) are kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from leadflow.adapters.db.reader import lead_view
from leadflow.adapters.db.tables import LeadRow
from leadflow.entrypoints.api.deps import SESSION_COOKIE
from leadflow.entrypoints.bootstrap import App
from tests.web.signin import Account, nav_items, sign_in

ALL_PAGES = ["Pipeline", "Leads", "My queue", "Reports", "Playbooks"]
ANALYST_PAGES = ["Reports", "Playbooks"]
CLINICAL = "psoriasis"  # the demo's dermatology note also names methotrexate and Humira
NOTE_TERMS = {"psoriasis", "methotrexate", "humira"}
LOGIN = re.compile(r"/login\?next=")


@pytest.fixture(scope="module")
def clinical_lead(demo_app: App) -> str:
    """The first demo patient (by id) whose note names psoriasis and who still has sales
    actions open, so the Actions section shows for the roles that may act."""
    with demo_app.db.read() as session:
        rows = session.scalars(
            select(LeadRow)
            .where(LeadRow.lead_type == "patient", LeadRow.merged_into.is_(None))
            .order_by(LeadRow.id)
        ).all()
        for row in rows:
            if CLINICAL not in (row.profile.get("notes") or ""):
                continue
            view = lead_view(session, row.id, None)
            if (
                view
                and CLINICAL in (view["profile"].get("notes") or "")
                and view["allowed_actions"]
            ):
                return row.id
    pytest.fail(f"the demo has no open patient lead whose note names {CLINICAL}")


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z]+", text)}


def _actions(page: Page) -> Locator:
    return page.get_by_role("heading", name="Actions", exact=True)


def _access_log(page: Page) -> list[tuple[str, str, str, str]]:
    """(who, role, through, free text) of each row of "Who read this record"."""
    rows = page.locator("#access-log tbody tr")
    found = []
    for index in range(rows.count()):
        cells = [c.strip() for c in rows.nth(index).locator("td").all_inner_texts()]
        found.append((cells[1], cells[2], cells[3], cells[4]))
    return found


def _assert_nothing_clinical(page: Page, terms: set[str], role: str) -> None:
    """None of ``terms`` anywhere on the page: its text, its markup, its title."""
    text = page.locator("body").inner_text().lower()
    markup = page.content().lower()
    for term in sorted(terms):
        assert term not in text, f"{role} sees {term!r} on the page"
        assert term not in markup, f"{role} gets {term!r} in the page's HTML"


def test_each_role_sees_only_what_it_may_of_a_patients_clinical_note(
    new_page: Callable[[], Page],
    demo_url: str,
    accounts: dict[str, Account],
    clinical_lead: str,
    artifacts: Path,
) -> None:
    lead_path = f"/leads/{clinical_lead}"

    # Intake reads the note as the patient wrote it and may act on the lead.
    intake = new_page()
    sign_in(intake, demo_url, accounts["intake"], lead_path)
    expect(intake).to_have_url(demo_url + lead_path)
    assert nav_items(intake) == ALL_PAGES
    raw = intake.locator("#notes")
    expect(raw).to_contain_text(CLINICAL)
    expect(raw.locator(".marker")).to_have_count(0)
    expect(intake.locator("#redacted-note")).to_have_count(0)
    expect(_actions(intake)).to_be_visible()
    expect(intake.locator("#access-log")).to_have_count(0)  # the access log is the admin's
    raw_text = raw.inner_text()
    intake.screenshot(path=artifacts / "role-intake-lead.png", full_page=True)

    # Marketing reads the same note with markers in place of the clinical words, no actions.
    marketing = new_page()
    sign_in(marketing, demo_url, accounts["marketing"], lead_path)
    expect(marketing).to_have_url(demo_url + lead_path)
    assert nav_items(marketing) == ALL_PAGES
    redacted = marketing.locator("#notes")
    expect(marketing.locator("#redacted-note")).to_be_visible()
    expect(redacted.locator("span.marker", has_text="[condition]").first).to_be_visible()
    expect(redacted.locator("span.marker", has_text="[medication]").first).to_be_visible()
    hidden = _words(raw_text) - _words(redacted.inner_text())
    assert hidden >= NOTE_TERMS, (raw_text, redacted.inner_text())
    _assert_nothing_clinical(marketing, hidden, "marketing")
    expect(_actions(marketing)).to_have_count(0)
    for button in ("Accept", "Save discovery", "Disqualify"):
        expect(marketing.get_by_role("button", name=button, exact=True)).to_have_count(0)
    expect(marketing.locator("#access-log")).to_have_count(0)
    marketing.screenshot(path=artifacts / "role-marketing-lead.png", full_page=True)

    # Sales sees the markers too, and has the actions.
    sales = new_page()
    sign_in(sales, demo_url, accounts["sales"], lead_path)
    assert nav_items(sales) == ALL_PAGES
    expect(sales.locator("#redacted-note")).to_be_visible()
    expect(sales.locator("#notes span.marker", has_text="[condition]").first).to_be_visible()
    _assert_nothing_clinical(sales, hidden, "sales")
    expect(_actions(sales)).to_be_visible()
    expect(sales.locator("#access-log")).to_have_count(0)
    sales.screenshot(path=artifacts / "role-sales-lead.png", full_page=True)

    # Analysts land on the reports and may not open a lead (nor the lead list).
    analyst = new_page()
    sign_in(analyst, demo_url, accounts["analyst"], "/")
    expect(analyst).to_have_url(demo_url + "/reports")
    assert nav_items(analyst) == ANALYST_PAGES
    expect(analyst.locator("#report-table")).to_be_visible()
    analyst.screenshot(path=artifacts / "role-analyst-reports.png", full_page=True)
    for path in (lead_path, "/leads"):
        refused = analyst.goto(demo_url + path)
        assert refused is not None, path
        assert refused.status == 403, path
        expect(analyst.get_by_role("heading", name="Not for your role")).to_be_visible()
        expect(analyst.locator("#message")).to_contain_text("analyst")
        _assert_nothing_clinical(analyst, hidden, "analyst")
    analyst.screenshot(path=artifacts / "role-analyst-refused.png", full_page=True)

    # The admin reads the raw note, may act, and sees who read the record before.
    admin = new_page()
    sign_in(admin, demo_url, accounts["admin"], lead_path)
    assert nav_items(admin) == ALL_PAGES
    expect(admin.locator("#notes")).to_contain_text(CLINICAL)
    expect(admin.locator("#redacted-note")).to_have_count(0)
    expect(_actions(admin)).to_be_visible()
    expect(admin.get_by_role("heading", name="Who read this record")).to_be_visible()
    reads = {(who, role, free) for who, role, _, free in _access_log(admin)}
    assert (accounts["intake"].actor, "intake", "raw") in reads, reads
    assert (accounts["marketing"].actor, "marketing", "redacted") in reads, reads
    assert (accounts["sales"].actor, "sales", "redacted") in reads, reads
    assert (accounts["admin"].actor, "admin", "raw") in reads, reads
    assert not any(who == accounts["analyst"].actor for who, _, _ in reads), "refused, not read"
    admin.screenshot(path=artifacts / "role-admin-lead.png", full_page=True)


def test_signing_out_ends_the_session_on_the_server(
    page: Page, demo_url: str, accounts: dict[str, Account], artifacts: Path
) -> None:
    sign_in(page, demo_url, accounts["sales"], "/leads")
    expect(page).to_have_url(demo_url + "/leads")
    (kept,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    cookies = {SESSION_COOKIE: kept["value"]}
    # While signed in, the session reads the API too.
    assert httpx.get(f"{demo_url}/v1/leads", cookies=cookies, timeout=30).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(demo_url + "/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#who")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.screenshot(path=artifacts / "role-signed-out.png", full_page=True)
    page.goto(demo_url + "/leads")
    expect(page).to_have_url(demo_url + "/login?next=%2Fleads")

    # The old session's cookie, put back, opens nothing: the server ended the session.
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": kept["value"], "url": demo_url}])
    assert kept["value"] in [c["value"] for c in page.context.cookies()]
    for path in ("/leads", "/"):
        page.goto(demo_url + path)
        expect(page).to_have_url(LOGIN)
        expect(page.locator("#who")).to_have_count(0)
    assert httpx.get(f"{demo_url}/v1/leads", cookies=cookies, timeout=30).status_code == 401


def test_a_wrong_password_is_refused_and_the_right_one_then_signs_in(
    page: Page, demo_url: str, accounts: dict[str, Account], artifacts: Path
) -> None:
    intake = accounts["intake"]
    page.goto(demo_url + "/leads")
    expect(page).to_have_url(demo_url + "/login?next=%2Fleads")
    for email in (intake.email, "nobody@northwind.example"):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not-the-password-at-all")
        page.get_by_role("button", name="Sign in").click()
        # The same answer for a wrong password and an unknown account.
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        expect(page.locator("#who")).to_have_count(0)
        expect(page.get_by_label("Email")).to_have_value(email)
        expect(page.get_by_label("Password")).to_have_value("")
    page.screenshot(path=artifacts / "role-wrong-password.png", full_page=True)

    page.get_by_label("Email").fill(intake.email)
    page.get_by_label("Password").fill(intake.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(demo_url + "/leads")  # where they were going
    expect(page.locator("#who-name")).to_have_text(intake.name)
    expect(page.get_by_role("alert")).to_have_count(0)
