"""The dashboard's pages, server-rendered over the store (no browser; see tests/web)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.reasons import ReasonKind
from leadflow.entrypoints.cli import app as cli
from leadflow.services.accounts import User
from tests.factories import CAREGIVER, CAREGIVER_EVENTS


def _mql(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event)


def test_every_page_renders_with_the_lead_on_it(client: TestClient) -> None:
    _mql(client)
    for path, text in [
        ("/", "Dana Example"),
        ("/leads?stage=mql", "Dana Example"),
        ("/leads/SC-001", "Scheduling"),
        ("/queue", "Dana Example"),
        ("/playbooks", "specialty-clinic"),
        ("/playbooks/specialty-clinic", "MQL"),
    ]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert text.lower() in page.text.lower(), path
    assert client.get("/leads/nobody").status_code == 404
    assert client.get("/static/leadflow.css").status_code == 200


def test_a_rep_takes_the_lead_to_sql_with_html_forms(
    client: TestClient, sign_in: Callable[..., User]
) -> None:
    _mql(client)
    sign_in(client, "ana@northwind.example", "sales", "Ana Souza")
    page = client.get("/leads/SC-001")
    assert 'action="/leads/SC-001/actions/accept"' in page.text
    assert "Ana Souza" in page.text  # who is signed in
    token = client.cookies["leadflow_csrf"]
    accepted = client.post("/leads/SC-001/actions/accept", data={"csrf": token})
    assert accepted.status_code == 200
    assert "Accepted." in accepted.text
    done = client.post(
        "/leads/SC-001/actions/discovery",
        data={
            "csrf": token,
            "need_confirmed": "yes",
            "eligibility_confirmed": "yes",
            "next_step": "appointment agreed",
        },
    )
    assert 'id="stage">sql' in done.text
    history = client.get("/v1/leads/SC-001").json()["stage_history"]
    assert [h["actor"] for h in history[-2:]] == ["user:ana@northwind.example"] * 2


def test_forms_without_the_csrf_token_or_a_reason_change_nothing(client: TestClient) -> None:
    _mql(client)
    client.get("/leads/SC-001")
    forged = client.post("/leads/SC-001/actions/accept", data={"csrf": "forged"})
    assert forged.status_code == 403
    token = client.cookies["leadflow_csrf"]
    no_reason = client.post("/leads/SC-001/actions/reject", data={"csrf": token, "reason": ""})
    assert "reject needs a reason" in no_reason.text
    not_asked = client.post(
        "/leads/SC-001/actions/discovery",
        data={"csrf": token, "need_confirmed": "", "eligibility_confirmed": "", "timeline": ""},
    )
    assert "discovery needs at least one answer" in not_asked.text
    assert "Discovery answers saved" not in not_asked.text
    not_allowed = client.post("/leads/SC-001/actions/win", data={"csrf": token})
    assert "does not allow" in not_allowed.text
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql"


def test_the_reason_lists_are_the_playbooks_codes_with_labels_and_a_note_goes_with_one(
    client: TestClient, sign_in: Callable[..., User]
) -> None:
    _mql(client)
    sign_in(client, "ana@northwind.example", "sales", "Ana Souza")
    page = client.get("/leads/SC-001").text
    reasons = load_playbook("specialty-clinic").reasons
    for kind in (ReasonKind.REJECT, ReasonKind.DISQUALIFY):
        for reason in reasons.of(kind):
            assert f'<option value="{reason.code}">{reason.label}</option>' in page, reason
    assert 'aria-label="Reject"' in page
    assert "Reject note" in page
    assert "wrong_org_type" not in page  # the dashboard's own list is gone
    token = client.cookies["leadflow_csrf"]
    bogus = client.post(
        "/leads/SC-001/actions/disqualify", data={"csrf": token, "reason": "moved away"}
    )
    assert "not a disqualify reason code of playbook" in bogus.text
    assert "insurance_not_accepted" in bogus.text
    done = client.post(
        "/leads/SC-001/actions/reject",
        data={"csrf": token, "reason": "not_ready", "note": "call back in June"},
    )
    assert 'id="stage">nurture' in done.text
    timeline = client.get("/v1/leads/SC-001").json()["timeline"]
    (rejected,) = [e for e in timeline if e["type"] == "sales_rejected"]
    assert rejected["properties"] == {"reason": "not_ready", "note": "call back in June"}


def test_the_reports_page_shows_the_reasons_labels(client: TestClient) -> None:
    _mql(client)
    token_page = client.get("/leads/SC-001")
    assert token_page.status_code == 200
    token = client.cookies["leadflow_csrf"]
    client.post(
        "/leads/SC-001/actions/disqualify", data={"csrf": token, "reason": "Insurance not accepted"}
    )
    page = client.get("/reports", params={"report": "disqualifications"}).text
    assert "Insurance plan not accepted" in page
    assert "insurance_not_accepted" in page


def test_what_a_lead_sent_is_escaped_on_the_page(client: TestClient) -> None:
    client.post("/v1/leads", json={"lead_id": "X1", "first_name": "<script>alert(1)</script>"})
    page = client.get("/leads/X1")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_once_an_api_key_exists_the_dashboard_asks_people_to_sign_in(
    client: TestClient, database_url: str
) -> None:
    _mql(client)
    made = CliRunner().invoke(cli, ["apikey", "create", "crm", "--database-url", database_url])
    assert made.exit_code == 0
    for path in ("/", "/leads", "/leads/SC-001", "/queue", "/reports", "/playbooks"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path
        assert "Dana" not in answer.text
    assert "Sign in" in client.get("/").text


def test_the_reports_page_draws_every_report_and_links_its_csv(client: TestClient) -> None:
    _mql(client)
    for name in (
        "funnel",
        "acceptance",
        "outreach",
        "disqualifications",
        "channel-quality",
        "velocity",
        "nurture",
    ):
        page = client.get("/reports", params={"report": name})
        assert page.status_code == 200, name
        assert 'id="report-table"' in page.text
        assert f"/v1/reports/{name}?format=csv" in page.text
    by_source = client.get("/reports", params={"report": "funnel", "by": "source"})
    assert "Funnel by source" in by_source.text
    assert "google" in by_source.text


def test_a_nul_in_a_dashboard_id_or_filter_is_a_clear_422_on_both_databases(
    client: TestClient,
) -> None:
    _mql(client)
    for path, params in (
        ("/leads/SC%00-001", {}),
        ("/leads", {"playbook": "a\x00b"}),
        ("/leads", {"source": "\x00"}),
        ("/queue", {"queue": "x\x00"}),
        ("/", {"playbook": "\x00"}),
    ):
        answer = client.get(path, params=params)
        assert answer.status_code == 422, (path, params, answer.text)
