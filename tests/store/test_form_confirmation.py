"""Form-capture confirmations on SQLite and PostgreSQL (issue 18, seed: "Send an email
confirmation if consented"): a form that arrives with email consent is confirmed at once,
exactly once however often it is delivered, through the send-time consent gate; without
consent nothing is queued and the audit says why, with ids only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select

from leadflow.adapters.db.tables import AuditRow, MessageRow
from leadflow.adapters.messaging_sink import make_sink
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.webhook_cli import run_messages
from tests.factories import CAREGIVER, EMAIL
from tests.fakes import FakeClock, RecordingSink
from tests.store.conftest import webhook_headers
from tests.store.live import serve

_MESSAGES = cast(Table, MessageRow.__table__)
FORM_EVENT = {
    "event_id": "form-1",
    "lead_id": "SC-001",
    "type": "form_submitted",
    "properties": {"form": "specialty-enquiry", "service_line": "dermatology"},
}
DELIVERY: dict[str, Any] = {
    "lead": {
        "external_id": "typeform-5521",
        "lead_type": "patient",
        "first_name": "Riley",
        "email": "riley@example.org",
        "service_line": "cardiology",
        "state": "MA",
        "postal_code": "02139",
        "country": "US",
        "consent_email": True,
    },
    "events": [
        {
            "type": "form_submitted",
            "occurred_at": "2026-03-06T11:58:00Z",
            "properties": {"form": "heart-check", "service_line": "cardiology"},
        }
    ],
}


def _confirmations(app: App) -> list[Any]:
    with app.db.read() as session:
        query = select(_MESSAGES).where(_MESSAGES.c.kind == "form_confirmation")
        return list(session.execute(query.order_by(_MESSAGES.c.id)).all())


def _audit(app: App) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    with app.db.read() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.after, AuditRow.reason).order_by(AuditRow.seq)
        )
        return [(a, after, why) for a, after, why in rows if a.startswith("confirmation.")]


def _form(client: TestClient, clock: FakeClock, event_id: str = "form-1") -> httpx.Response:
    body = {**FORM_EVENT, "event_id": event_id, "occurred_at": clock.now.isoformat()}
    return client.post("/v1/events?wait=decision", json=body)


def test_a_form_with_email_consent_is_confirmed_once_and_sent_with_a_way_out(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    assert _form(client, clock).status_code == 201
    again = _form(client, clock)  # the form tool retries: the same event
    assert (again.status_code, again.json()["duplicates"]) == (200, ["form-1"])
    [queued] = _confirmations(app)
    assert (queued.status, queued.channel, queued.template, queued.to_address) == (
        "queued",
        "email",
        "request_received",
        None,
    )
    assert _audit(app) == [
        (
            "confirmation.queued",
            {"events": ["form-1"], "template": "request_received", "channel": "email"},
            None,
        )
    ]
    out = tmp_path / "messages.jsonl"
    report = run_messages(app, clock.now, make_sink(None, "care@northwind.example", out), 20)
    assert report.sent.sent == 1
    [sent] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (sent["channel"], sent["to"], sent["subject"]) == (
        "email",
        EMAIL,
        "We received your request",
    )
    assert sent["body"].startswith("Hello Dana,\n\nThank you for contacting Northwind Health.")
    assert "dermatology" not in sent["body"]
    assert sent["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [done] = _confirmations(app)
    assert (done.status, done.to_address) == ("sent", EMAIL)


def test_without_email_consent_nothing_is_queued_and_the_audit_says_why(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    lead = {**CAREGIVER, "consent_email": None}
    assert client.post("/v1/leads", json=lead).status_code == 201
    assert _form(client, clock).status_code == 201
    assert _confirmations(app) == []
    assert _audit(app) == [
        (
            "confirmation.skipped",
            {"events": ["form-1"], "template": "request_received", "channel": "email"},
            "no_consent",
        )
    ]


def test_consent_revoked_before_the_worker_sends_means_nothing_goes(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    assert _form(client, clock).status_code == 201
    unsubscribe = {
        "event_id": "unsub-1",
        "lead_id": "SC-001",
        "type": "unsubscribed",
        "properties": {"channel": "email"},
    }
    assert client.post("/v1/events?wait=decision", json=unsubscribe).status_code == 201
    sink = RecordingSink()
    assert app.sender(sink).send_due(clock.now).skipped == 1
    assert sink.sent == []
    [row] = _confirmations(app)
    assert (row.status, row.reason) == ("skipped", "revoked")


def _delivery(clock: FakeClock, delivery_id: str) -> dict[str, Any]:
    body = json.dumps(DELIVERY).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers(delivery_id, stamp, body)
    return {
        "method": "POST",
        "url": "/v1/webhooks/forms?wait=decision",
        "content": body,
        "headers": headers,
    }


@pytest.fixture
def base_url(app: App) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_one_form_delivered_five_times_at_once_is_confirmed_once(
    app: App, clock: FakeClock, base_url: str
) -> None:
    calls = [_delivery(clock, f"msg_{n}") for n in range(5)]

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
            return await asyncio.gather(*(http.request(**call) for call in calls))

    answers = asyncio.run(send_all())
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["lead"]["lead_id"] for a in answers}) == 1
    [queued] = _confirmations(app)
    assert queued.status == "queued"
    assert [action for action, _, _ in _audit(app)] == ["confirmation.queued"]
    sink = RecordingSink()
    assert app.sender(sink).send_due(clock.now).sent == 1
    assert [(c, to, subject) for c, to, _, subject in sink.sent] == [
        ("email", "riley@example.org", "We received your request")
    ]
