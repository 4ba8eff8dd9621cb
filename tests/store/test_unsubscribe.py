"""Opting out, end to end on SQLite and PostgreSQL: the unsubscribe link and one-click headers
of every nurture email, the one STOP confirmation text, and clearing a review pause."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from leadflow.adapters.db.tables import AuditRow, EventRow, MessageRow
from leadflow.adapters.messaging_sink import make_sink
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.webhook_cli import run_messages
from leadflow.services.nurture_steps import step_due
from leadflow.services.routing.ports import Notice
from tests.factories import EMAIL, PHONE, nurture_lead
from tests.fakes import FakeClock, RecordingSink

LOCAL = "http://127.0.0.1"  # open local mode answers requests addressed to this machine only

_MESSAGES = cast(Table, MessageRow.__table__)
ONE_CLICK = "List-Unsubscribe=One-Click"
CONFIRMATION = (
    "Northwind Health: you're unsubscribed and will get no more texts. Reply HELP for help."
)


def _messages(app: App) -> list[Any]:
    with app.db.read() as session:
        return list(session.execute(select(_MESSAGES).order_by(_MESSAGES.c.id)).all())


def _event_count(app: App) -> int:
    with app.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(EventRow)) or 0)


def _sent_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _first_email(client: TestClient, app: App, clock: FakeClock, out: Path) -> dict[str, Any]:
    """The caregiver in nurture, and her first nurture email sent to the file sink."""
    nurture_lead(client)
    clock.advance(hours=1)
    report = run_messages(app, clock.now, make_sink(None, "care@northwind.example", out), 20)
    assert report.sent.sent == 1
    [email] = _sent_lines(out)
    return email


def _link(email: dict[str, Any]) -> str:
    """The path of the email's unsubscribe link (the footer's and the header's agree)."""
    url = email["headers"]["List-Unsubscribe"].strip("<>")
    assert email["body"].endswith(f"unsubscribe here: {url}\n")
    return urlsplit(url).path


def test_a_nurture_email_carries_a_signed_link_in_its_footer_and_one_click_headers(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    email = _first_email(client, app, clock, tmp_path / "m.jsonl")
    assert email["to"] == EMAIL
    assert email["body"].startswith("Hello Dana,")
    headers = email["headers"]
    assert headers["List-Unsubscribe-Post"] == ONE_CLICK
    url = headers["List-Unsubscribe"]
    assert url.startswith("<http://127.0.0.1:8000/u/")
    assert url.endswith(">")
    assert (
        "\n\n--\nTo stop these emails, unsubscribe here: http://127.0.0.1:8000/u/"
        in (email["body"])
    )
    assert EMAIL not in url
    assert "dana" not in url.casefold()
    # the stored message keeps the rendered template; the link is made at send time
    assert "/u/" not in _messages(app)[0].body


def test_the_link_uses_the_public_url_and_configured_secret(
    make_app: Any, clock: FakeClock, tmp_path: Path
) -> None:
    app = make_app(public_url="https://care.northwind.example/", unsubscribe_secret="s" * 32)
    with TestClient(create_app(app), base_url=LOCAL) as client:
        email = _first_email(client, app, clock, tmp_path / "m.jsonl")
        url = email["headers"]["List-Unsubscribe"].strip("<>")
        assert url.startswith("https://care.northwind.example/u/")
        assert client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"}).is_success
    other = make_app(unsubscribe_secret="t" * 32)  # another key: the same link is not valid
    with TestClient(create_app(other), base_url=LOCAL) as client:
        assert client.get(urlsplit(url).path).status_code == 400


def test_one_click_unsubscribes_and_the_next_nurture_email_is_skipped_as_revoked(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    out = tmp_path / "m.jsonl"
    link = _link(_first_email(client, app, clock, out))
    clock.advance(days=1)
    done = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert done.headers["cache-control"] == "no-store"
    lead = client.get("/v1/leads/SC-001").json()
    [unsubscribed] = [e for e in lead["timeline"] if e["type"] == "unsubscribed"]
    assert unsubscribed["properties"]["channel"] == "email"
    email_consents = [c for c in lead["consents"] if c["channel"] == "email"]
    assert (email_consents[-1]["status"], email_consents[-1]["contact_point"]) == (
        "revoked",
        EMAIL,
    )
    events = _event_count(app)
    again = client.post(link, data={"List-Unsubscribe": "One-Click"})  # a second click
    assert again.status_code == 200
    assert _event_count(app) == events  # recorded once

    # the track ended on unsubscribing; a nurture email still queued is refused at send time
    def queue(store: Any) -> None:
        store.session.execute(
            _MESSAGES.insert().values(
                msg_id="msg_after",
                lead_id="SC-001",
                kind="nurture",
                channel="email",
                subject="s",
                body="b",
                created_at=clock.now,
                due_at=clock.now,
                status="queued",
                attempts=0,
            )
        )

    app.db.run(queue)
    sink = RecordingSink()
    report = app.sender(sink).send_due(clock.now)
    assert (report.skipped, sink.sent) == (1, [])
    last = _messages(app)[-1]
    assert (last.msg_id, last.status, last.reason) == ("msg_after", "skipped", "revoked")


def test_a_tampered_link_is_400_and_stores_nothing(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    link = _link(_first_email(client, app, clock, tmp_path / "m.jsonl"))
    payload, mac = link.removeprefix("/u/").split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    events = _event_count(app)
    for bad in (f"/u/{payload}.{flipped}", "/u/not-a-token", f"/u/{payload}x.{mac}"):
        response = client.post(bad, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, bad
        assert "not valid" in response.text
        assert client.get(bad).status_code == 400
    assert _event_count(app) == events
    consents = client.get("/v1/leads/SC-001").json()["consents"]
    assert all(c["status"] == "granted" for c in consents if c["channel"] == "email")


def test_an_expired_link_is_410_and_stores_nothing(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    link = _link(_first_email(client, app, clock, tmp_path / "m.jsonl"))
    clock.advance(days=31)
    assert client.get(link).status_code == 200  # valid at least 30 days after sending
    clock.advance(days=60)  # 91 days: past the 90-day expiry
    events = _event_count(app)
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 410
    assert "expired" in response.text
    assert client.get(link).status_code == 410
    assert _event_count(app) == events


def test_the_page_asks_with_one_button_and_reveals_nothing_about_the_lead(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    link = _link(_first_email(client, app, clock, tmp_path / "m.jsonl"))
    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for detail in ("Dana", "dana", EMAIL, PHONE, "SC-001", "Caregiver"):
        assert detail not in text
    assert "<script" not in text.casefold()
    assert text.count("<form") == 1
    assert text.count("<button") == 1
    assert f'<form method="post" action="{link}">' in text
    assert 'name="List-Unsubscribe" value="One-Click"' in text
    timeline = client.get("/v1/leads/SC-001").json()["timeline"]
    assert "unsubscribed" not in [e["type"] for e in timeline]  # a GET (a scanner) changes nothing


def test_staff_notices_get_no_unsubscribe_link(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    app.db.run(
        lambda store: store.routing.add_notice(
            Notice(
                "SC-001", "ana", "ana@northwind.example", "sla_breach", "Late", "Call", clock.now
            )
        )
    )
    sink = RecordingSink()
    app.sender(sink).send_due(clock.now)
    assert sink.sent == [("email", "ana@northwind.example", "Call", "Late")]
    assert sink.headers == [None]


def test_stop_sends_one_confirmation_despite_revoked_consent_and_not_again_within_a_day(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.now = datetime(2026, 3, 7, 2, 30, tzinfo=UTC)  # 21:30 in Boston: quiet hours
    stop = client.post("/v1/sms/inbound", json={"from": PHONE, "body": "STOP"})
    assert stop.json() == {"lead_id": "SC-001", "action": "revoked"}
    clock.advance(minutes=1)
    sink = RecordingSink()
    assert app.sender(sink).send_due(clock.now).sent == 1
    assert sink.sent == [("sms", PHONE, CONFIRMATION, None)]
    sms = [c for c in client.get("/v1/leads/SC-001").json()["consents"] if c["channel"] == "sms"]
    assert sms[-1]["status"] == "revoked"  # sent although consent is revoked

    clock.advance(hours=3)
    again = client.post("/v1/sms/inbound", json={"from": PHONE, "body": "stop"})
    assert again.json()["action"] == "revoked"
    assert app.sender(sink).send_due(clock.now).skipped == 1
    assert len(sink.sent) == 1  # none within 24 h of the first
    confirmations = [m for m in _messages(app) if m.kind == "stop_confirmation"]
    assert [(m.status, m.reason, m.to_address) for m in confirmations] == [
        ("sent", None, PHONE),
        ("skipped", "confirmation_sent_recently", PHONE),
    ]

    clock.advance(hours=22)  # 25 h after the first: a new STOP may be confirmed again
    client.post("/v1/sms/inbound", json={"from": PHONE, "body": "Unsubscribe"})
    assert app.sender(sink).send_due(clock.now).sent == 1
    assert [s[2] for s in sink.sent] == [CONFIRMATION, CONFIRMATION]


def test_a_confirmation_that_cannot_go_within_5_minutes_is_skipped(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    client.post("/v1/sms/inbound", json={"from": PHONE, "body": "quit"})
    clock.advance(minutes=5, seconds=1)  # the worker was down
    sink = RecordingSink()
    report = app.sender(sink).send_due(clock.now)
    assert (report.skipped, sink.sent) == (1, [])
    [confirmation] = [m for m in _messages(app) if m.kind == "stop_confirmation"]
    assert (confirmation.status, confirmation.reason) == ("skipped", "confirmation_too_late")


def test_the_sender_name_setting_names_the_confirmation(make_app: Any, clock: FakeClock) -> None:
    app = make_app(sms_sender_name="Northwind Care Line")
    with TestClient(create_app(app), base_url=LOCAL) as client:
        nurture_lead(client)
        client.post("/v1/sms/inbound", json={"from": PHONE, "body": "cancel"})
    sink = RecordingSink()
    app.sender(sink).send_due(clock.now)
    assert [s[2] for s in sink.sent] == [
        "Northwind Care Line: you're unsubscribed and will get no more texts. Reply HELP for help."
    ]


def test_reviewing_replies_clears_the_pause_and_the_queued_text_goes(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.now = datetime(2026, 3, 13, 14, 0, tzinfo=UTC)  # every step due, 10:00 in Boston
    assert step_due(app.db.run, app.playbooks, clock.now) == 3
    reply = client.post("/v1/sms/inbound", json={"from": PHONE, "body": "who is this?"})
    assert reply.json()["action"] == "flagged_for_review"
    sink = RecordingSink()
    assert app.sender(sink).send_due(clock.now).deferred == 3
    assert sink.sent == []

    missing = client.post("/v1/leads/NOPE/sms-review")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "lead_not_found"
    reviewed = client.post("/v1/leads/SC-001/sms-review", headers={"X-Actor": "ines"})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json() == {"lead_id": "SC-001", "reviewed": 1}
    nothing = client.post("/v1/leads/SC-001/sms-review")
    assert nothing.status_code == 409
    assert nothing.json()["error"]["code"] == "nothing_to_review"
    with app.db.read() as session:
        audit = session.execute(
            select(AuditRow.action, AuditRow.actor, AuditRow.entity_id).where(
                AuditRow.action == "sms.reviewed"
            )
        ).all()
    assert [tuple(a) for a in audit] == [("sms.reviewed", "user:ines", "SC-001")]
    [kept] = [m for m in _messages(app) if m.kind == "sms_reply"]
    assert kept.status == "reviewed"

    clock.advance(minutes=15)  # the paused messages' retry
    report = app.sender(sink).send_due(clock.now)
    assert report.sent == 3
    assert [s[:2] for s in sink.sent] == [("email", EMAIL), ("email", EMAIL), ("sms", PHONE)]


def test_only_admin_intake_and_marketing_may_clear_a_review(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    client.post("/v1/sms/inbound", json={"from": PHONE, "body": "maybe later"})
    keys = app.db.run(
        lambda store: {
            role: store.keys.create(f"k-{role}", role, clock.now)[1]
            for role in ("sales", "analyst", "marketing")
        }
    )
    for role in ("sales", "analyst"):
        denied = client.post(
            "/v1/leads/SC-001/sms-review", headers={"Authorization": f"Bearer {keys[role]}"}
        )
        assert denied.status_code == 403, role
    allowed = client.post(
        "/v1/leads/SC-001/sms-review", headers={"Authorization": f"Bearer {keys['marketing']}"}
    )
    assert allowed.status_code == 200
    assert client.post("/v1/leads/SC-001/sms-review").status_code == 401


def test_the_link_needs_no_api_key_once_keys_protect_the_api(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    link = _link(_first_email(client, app, clock, tmp_path / "m.jsonl"))
    app.db.run(lambda store: store.keys.create("crm", "sales", clock.now))
    assert client.get("/v1/leads/SC-001").status_code == 401
    assert client.get(link).status_code == 200
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.db.read() as session:
        actors = session.scalars(
            select(AuditRow.actor).where(AuditRow.action.like("consent.%"))
        ).all()
    assert "link:unsubscribe" in actors
