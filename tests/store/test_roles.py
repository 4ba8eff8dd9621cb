"""Roles as one policy: every route declares what it needs, each role gets exactly what the
table in leadflow.domain.access allows, free text is raw only for intake and admin, and every
read of a lead's record is in the access log."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.db.tables import EventRow, LeadRow, WebhookOutboxRow
from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.domain.access import PERMISSIONS, Role
from leadflow.domain.events import EventType
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.entrypoints.security_reference import (
    OPEN_ROUTES,
    render_security_reference,
    route_permissions,
)
from leadflow.errors import PlaybookError
from leadflow.services.accounts import User
from tests.factories import bearer, create_key, store_legacy_reason
from tests.fakes import START

ROOT = Path(__file__).resolve().parents[2]
NOTE = (
    "Dana here, my psoriasis is back and methotrexate is not helping; "
    "asking about Humira. Call 617.555.0142"
)
PATIENT = {
    "lead_id": "P-1",
    "lead_type": "patient",
    "first_name": "Dana",
    "last_name": "Whitfield",
    "email": "dana.w@example.com",
    "phone": "+16175550142",
    "service_line": "dermatology",
    "state": "MA",
    "postal_code": "02139",
    "notes": NOTE,
    "consent_email": True,
}
CLINICAL = ("psoriasis", "methotrexate", "Humira", "617.555.0142")


def _patient(client: TestClient) -> None:
    assert client.post("/v1/leads", json=PATIENT).status_code == 201
    message = {
        "event_id": "E-1",
        "lead_id": "P-1",
        "type": "form_submitted",
        "occurred_at": "2026-03-06T11:00:00Z",
        "properties": {"url": "https://northwind.example/derm/psoriasis", "message": NOTE},
    }
    assert client.post("/v1/events?wait=decision", json=message).status_code == 201


def test_every_route_declares_a_permission_or_why_it_needs_none(app: App) -> None:
    for method, path, permission in route_permissions(create_app(app)):
        if permission is None and not path.startswith("/static"):
            assert path in OPEN_ROUTES, f"{method} {path} checks no role and is not listed"


def test_docs_security_md_prints_the_policy_and_the_routes_as_enforced(app: App) -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert render_security_reference(create_app(app)) in text, (
        "docs/security.md is out of date: python -m leadflow.entrypoints.security_reference"
    )


def test_each_roles_key_is_refused_exactly_where_the_table_says(
    client: TestClient, database_url: str, app: App
) -> None:
    keys = {role: create_key(database_url, f"k-{role.value}", role.value) for role in Role}
    checked = 0
    for method, path, permission in route_permissions(create_app(app)):
        if permission is None or not path.startswith("/v1/"):
            continue
        url = path.replace("{lead_id}", "nobody").replace("{member_id}", "nobody")
        url = url.replace("{action}", "accept")
        for role, key in keys.items():
            answer = client.request(method, url, headers=bearer(key))
            allowed = role in PERMISSIONS[permission]
            assert (answer.status_code == 403) != allowed, (role, method, path, answer.text)
            assert answer.status_code < 500
            checked += 1
    assert checked >= 5 * 20


def test_marketing_and_sales_see_markers_where_intake_and_admin_see_the_words(
    client: TestClient, database_url: str
) -> None:
    _patient(client)
    keys = {role: create_key(database_url, role, role) for role in ("marketing", "sales", "intake")}
    keys["admin"] = create_key(database_url, "root", "admin")
    for role, key in keys.items():
        lead = client.get("/v1/leads/P-1", headers=bearer(key)).json()
        notes = lead["profile"]["notes"]
        (form,) = [e for e in lead["timeline"] if e["type"] == "form_submitted"]
        raw = role in ("intake", "admin")
        assert lead["free_text"] == ("raw" if raw else "redacted")
        assert lead["profile"]["first_name"] == "Dana"  # contact fields are not free text
        url = form["properties"]["url"]
        assert url.endswith("/derm/psoriasis" if raw else "/derm/[condition]")
        if raw:
            assert notes == NOTE
            assert form["properties"]["message"] == NOTE
        else:
            assert notes == (
                "[name] here, my [condition] is back and [medication] is not helping; "
                "asking about [medication]. Call [phone]"
            )
            assert form["properties"]["message"] == notes
            assert not any(word in str(lead["profile"]) for word in CLINICAL)
    analyst = create_key(database_url, "bi", "analyst")
    assert client.get("/v1/leads/P-1", headers=bearer(analyst)).status_code == 403
    assert client.get("/v1/reports/funnel", headers=bearer(analyst)).status_code == 200


def test_free_text_is_scanned_at_ingest_and_the_redacted_copy_kept_beside_it(
    client: TestClient, app: App
) -> None:
    _patient(client)
    with app.db.read() as session:
        lead = session.get(LeadRow, "P-1")
        assert lead is not None
        event = session.query(EventRow).filter_by(event_id="E-1").one()
        profile, redacted, event_redacted = lead.profile, lead.redacted, event.redacted
    assert profile["notes"] == NOTE  # the raw text stays for intake and admin
    assert redacted is not None
    assert "[condition]" in redacted["notes"]
    assert event_redacted is not None
    assert set(event_redacted) == {"message", "url"}


def test_every_read_of_a_record_is_logged_and_admins_can_list_who_read_it(
    client: TestClient, database_url: str, sign_in: Callable[..., User], tmp_path: Path
) -> None:
    _patient(client)
    marketing = create_key(database_url, "mkt", "marketing")
    admin = create_key(database_url, "root", "admin")
    assert client.get("/v1/leads/P-1", headers=bearer(marketing)).status_code == 200
    sign_in(client, "priya@northwind.example", "intake")
    assert client.get("/leads/P-1").status_code == 200
    exported = CliRunner().invoke(
        cli, ["export", "-o", str(tmp_path / "x.csv"), "--database-url", database_url]
    )
    assert exported.exit_code == 0, exported.output
    rows = csv.DictReader((tmp_path / "x.csv").read_text().splitlines())
    assert [r["lead_id"] for r in rows] == ["P-1"]

    log = client.get("/v1/leads/P-1/access", headers=bearer(admin))
    assert log.status_code == 200
    items = log.json()["items"]
    seen = [(i["actor"], i["role"], i["channel"], i["free_text"]) for i in items]
    assert seen == [
        ("cli:export", "admin", "export", "raw"),
        ("user:priya@northwind.example", "intake", "dashboard", "raw"),
        ("key:mkt", "marketing", "api", "redacted"),
    ]
    assert client.get("/v1/leads/P-1/access", headers=bearer(marketing)).status_code == 403
    assert client.get("/v1/leads/nobody/access", headers=bearer(admin)).status_code == 404


def test_an_admin_sees_the_access_log_on_the_lead_page_and_others_do_not(
    client: TestClient, sign_in: Callable[..., User]
) -> None:
    _patient(client)
    sign_in(client, "ops@northwind.example", "admin")
    page = client.get("/leads/P-1").text
    assert 'id="access-log"' in page
    assert "user:ops@northwind.example" in page
    client.cookies.clear()
    sign_in(client, "erin@northwind.example", "marketing")
    page = client.get("/leads/P-1").text
    assert 'id="access-log"' not in page
    assert not any(word in page for word in CLINICAL)
    assert "[condition]" in page
    assert 'action="/leads/P-1/actions/accept"' not in page  # marketing takes no sales action


@pytest.mark.parametrize(
    ("role", "pages", "refused"),
    [
        ("analyst", ["/reports", "/playbooks"], ["/leads", "/queue", "/leads/P-1"]),
        ("marketing", ["/", "/leads", "/queue", "/reports", "/leads/P-1"], []),
    ],
)
def test_the_dashboard_shows_a_role_only_its_pages(
    client: TestClient,
    sign_in: Callable[..., User],
    role: str,
    pages: list[str],
    refused: list[str],
) -> None:
    _patient(client)
    sign_in(client, f"{role}@northwind.example", role)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == (303 if role == "analyst" else 200)
    for path in pages:
        assert client.get(path).status_code == 200, path
    for path in refused:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Not for your role" in answer.text
    nav = client.get("/reports").text.split('aria-label="Main"')[1].split("</nav>")[0]
    assert ('href="/leads"' in nav) == (role != "analyst")


def test_a_lead_cannot_name_a_playbook_by_a_path(client: TestClient) -> None:
    for name in ("/etc/hostname", "../../etc/passwd", "specialty-clinic.yaml"):
        answer = client.post("/v1/leads", json={"lead_id": "X", "playbook": name})
        assert answer.status_code == 422, name
        (problem,) = answer.json()["error"]["problems"]
        assert problem["field"] == "playbook"
        assert "never given by a path" in problem["message"]
    unknown = client.post("/v1/leads", json={"lead_id": "X", "playbook": "no-such"})
    assert unknown.status_code == 422
    assert "known: healthtech-b2b" in unknown.json()["error"]["problems"][0]["message"]


def test_a_nurture_template_cannot_reference_the_notes_or_a_custom_field() -> None:
    shipped = (ROOT / "src" / "leadflow" / "playbooks" / "specialty-clinic.yaml").read_text()
    for field in ("notes", "custom.diagnosis"):
        text = shipped.replace("Hello {first_name},", f"Hello {{first_name}}, about {{{field}}}")
        with pytest.raises(PlaybookError) as refused:
            load_playbook_text(text, "clinic.yaml")
        assert f"`{{{field}}}`, not a template field" in str(refused.value)


def test_outbound_webhooks_carry_no_free_text(client: TestClient, app: App) -> None:
    app.db.run(
        lambda store: store.outbox.add_endpoint(
            "https://hooks.example.com/x", ["lead.stage_changed"], START
        )
    )
    _patient(client)
    with app.db.read() as session:
        payloads = [row.payload for row in session.query(WebhookOutboxRow)]
    assert payloads, "the new lead's stage change was queued"
    sent = str(payloads)
    assert not any(word in sent for word in (*CLINICAL, "Dana", "dana.w@"))


TYPED = "newly diagnosed with lupus, on methotrexate"
TYPED_WORDS = ("lupus", "methotrexate")


def _hooked(app: App) -> None:
    app.db.run(
        lambda store: store.outbox.add_endpoint(
            "https://hooks.example.com/y", ["lead.stage_changed"], START
        )
    )


def _sent(app: App) -> str:
    with app.db.read() as session:
        return str([row.payload for row in session.query(WebhookOutboxRow)])


def test_a_note_typed_beside_the_reason_code_reaches_no_one_below_intake_nor_reports_nor_webhooks(
    client: TestClient, database_url: str, app: App
) -> None:
    _hooked(app)
    _patient(client)
    intake = create_key(database_url, "desk", "intake")
    marketing = create_key(database_url, "mkt", "marketing")
    analyst = create_key(database_url, "bi", "analyst")
    done = client.post(
        "/v1/leads/P-1/actions/disqualify",
        json={"reason": "Insurance not accepted", "note": TYPED},
        headers=bearer(intake),
    )
    assert done.status_code == 200, done.text
    as_intake = client.get("/v1/leads/P-1", headers=bearer(intake)).json()
    (stored,) = [e for e in as_intake["timeline"] if e["type"] == "disqualified"]
    assert stored["properties"] == {"reason": "insurance_not_accepted", "note": TYPED}

    lead = client.get("/v1/leads/P-1", headers=bearer(marketing)).json()
    for part in ("decision", "stage_history", "timeline"):
        assert not any(w in str(lead[part]) for w in TYPED_WORDS), part
    (shown,) = [e for e in lead["timeline"] if e["type"] == "disqualified"]
    assert shown["properties"]["note"] == "newly diagnosed with [condition], on [medication]"
    assert lead["decision"]["status"] == "Disqualified – insurance_not_accepted"
    listed = client.get("/v1/leads", headers=bearer(marketing)).json()["items"]
    assert not any(w in str(listed) for w in TYPED_WORDS)
    report = client.get(
        "/v1/reports/disqualifications", params={"format": "csv"}, headers=bearer(analyst)
    )
    assert report.status_code == 200
    assert "insurance_not_accepted,Insurance plan not accepted,disqualified,1," in report.text
    assert not any(w in report.text for w in TYPED_WORDS)
    sent = _sent(app)
    assert not any(w in sent for w in TYPED_WORDS)
    assert "'status': 'Disqualified – insurance_not_accepted'" in sent


def test_reasons_typed_in_an_older_store_reach_no_one_below_intake_nor_reports_nor_webhooks(
    client: TestClient, database_url: str, app: App
) -> None:
    _hooked(app)
    _patient(client)
    intake = create_key(database_url, "desk", "intake")
    marketing = create_key(database_url, "mkt", "marketing")
    analyst = create_key(database_url, "bi", "analyst")
    at = START.replace(hour=11, minute=20)
    store_legacy_reason(app, "P-1", "E-old", kind=EventType.DISQUALIFIED, reason=TYPED, at=at)
    as_intake = client.get("/v1/leads/P-1", headers=bearer(intake)).json()
    assert "lupus" in as_intake["decision"]["status"]  # intake reads the reason as typed

    lead = client.get("/v1/leads/P-1", headers=bearer(marketing)).json()
    for part in ("decision", "stage_history", "timeline"):
        assert not any(w in str(lead[part]) for w in TYPED_WORDS), part
    assert lead["decision"]["status"] == (
        "Disqualified – newly diagnosed with [condition], on [medication]"
    )
    listed = client.get("/v1/leads", headers=bearer(marketing)).json()["items"]
    assert not any(w in str(listed) for w in TYPED_WORDS)
    again = client.post(
        "/v1/events?wait=decision",
        json={
            "event_id": "E-2",
            "lead_id": "P-1",
            "type": "email_opened",
            "occurred_at": "2026-03-06T11:30:00Z",
        },
        headers=bearer(marketing),
    )
    assert again.status_code == 201
    assert not any(w in again.text for w in TYPED_WORDS)
    report = client.get(
        "/v1/reports/disqualifications", params={"format": "csv"}, headers=bearer(analyst)
    )
    assert report.status_code == 200
    assert "[condition]" in report.text
    assert "other: newly_diagnosed_with_[condition]" in report.text
    assert not any(w in report.text for w in TYPED_WORDS)
    sent = _sent(app)
    assert not any(w in sent for w in TYPED_WORDS)
    assert "'status': 'Disqualified'" in sent


def test_a_forms_question_used_as_a_field_name_is_free_text_too(
    client: TestClient, database_url: str
) -> None:
    _patient(client)
    asked = {
        "event_id": "E-3",
        "lead_id": "P-1",
        "type": "form_submitted",
        "occurred_at": "2026-03-06T11:10:00Z",
        "properties": {"Are you on Humira for psoriasis?": True, "hiv_positive": False},
    }
    assert client.post("/v1/events?wait=decision", json=asked).status_code == 201
    consented = {
        **PATIENT,
        "consent_sms": True,
        "consent": {"page_url": "https://northwind.example/derm/psoriasis-biologics"},
    }
    assert client.post("/v1/leads", json=consented).status_code == 200
    marketing = create_key(database_url, "mkt", "marketing")
    lead = client.get("/v1/leads/P-1", headers=bearer(marketing)).json()
    (form,) = [e for e in lead["timeline"] if e["event_id"] == "E-3"]
    assert form["properties"] == {
        "Are you on [medication] for [condition]?": True,
        "[condition]_positive": False,
    }
    assert "psoriasis" not in str(lead["consents"])
    assert any("[condition]" in str(c["evidence"]) for c in lead["consents"])
