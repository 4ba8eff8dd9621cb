"""Test data and the small steps many tests share: the seeds' caregiver and her events, an
API key and its header, a lead in nurture, a webhook endpoint, the outbox, one delivery pass,
a reason stored as an older store stored it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.tables import WebhookOutboxRow
from leadflow.adapters.webhooks.outbound import deliver_due
from leadflow.domain.events import Event, EventType
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.store.intake import event_hash
from leadflow.services.store.lifecycle import requalify_lead
from leadflow.services.store.ports import StoredEvent, UnitOfWork
from tests.fakes import START, Half

TIMEOUT_S = 0.3  # the test receiver's "timeout" answer holds the request longer than this

CAREGIVER: dict[str, Any] = {
    "lead_id": "SC-001",
    "lead_type": "patient",
    "first_name": "Dana",
    "last_name": "Example",
    "email": "dana.caregiver@example.com",
    "phone": "(617) 555-0142",
    "service_line": "dermatology",
    "postal_code": "02139",
    "state": "MA",
    "country": "US",
    "source": "google",
    "channel": "web_form",
    "consent_email": True,
    "consent_phone": True,
}
CAREGIVER_EVENTS = [
    {
        "event_id": "sc1-1",
        "lead_id": "SC-001",
        "type": "form_submitted",
        "occurred_at": "2026-03-05T10:00:00Z",
        "properties": {"form": "specialty-enquiry", "service_line": "dermatology"},
    },
    {
        "event_id": "sc1-2",
        "lead_id": "SC-001",
        "type": "content_downloaded",
        "occurred_at": "2026-03-05T11:00:00Z",
        "properties": {"asset": "dermatology-patient-guide", "topic": "dermatology"},
    },
    {
        "event_id": "sc1-3",
        "lead_id": "SC-001",
        "type": "page_viewed",
        "occurred_at": "2026-03-06T09:10:00Z",
        "properties": {"url": "https://northwind.example/schedule/dermatology"},
    },
]
NURTURE_LEAD = {**CAREGIVER, "consent_sms": True}
PHONE = "+16175550142"
EMAIL = "dana.caregiver@example.com"


def create_key(url: str, name: str, role: str) -> str:
    """An API key made with `leadflow apikey create` (its text)."""
    result = CliRunner().invoke(
        cli, ["apikey", "create", name, "--role", role, "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lf_")
    return key


def bearer(key: str) -> dict[str, str]:
    """The header that sends ``key``."""
    return {"Authorization": f"Bearer {key}"}


def nurture_lead(client: TestClient) -> None:
    """The caregiver after her first form: below MQL, so in nurture."""
    assert client.post("/v1/leads", json=NURTURE_LEAD).status_code == 201
    response = client.post("/v1/events?wait=decision", json=CAREGIVER_EVENTS[0])
    assert response.status_code == 201, response.text
    assert response.json()["leads"][0]["stage"] == "nurture"


def webhook_endpoint(app: App, url: str, at: datetime = START) -> tuple[str, str]:
    def work(store: Any) -> tuple[str, str]:
        endpoint, secret = store.outbox.add_endpoint(url, ["lead.stage_changed"], at)
        return endpoint.endpoint_id, secret

    return app.db.run(work)


def outbox(db: Database) -> list[Any]:
    with db.read() as session:
        table = WebhookOutboxRow.__table__
        return list(session.execute(select(table).order_by(table.c.id)).all())


def new_lead(client: TestClient) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201


def deliver(app: App, now: datetime, http: httpx.Client, **options: Any) -> Any:
    options.setdefault("rng", Half())
    options.setdefault("allow_private", True)
    options.setdefault("timeout_s", TIMEOUT_S)
    return deliver_due(app.db, now, http, 10, **options)


def store_legacy_reason(
    app: App, lead_id: str, event_id: str, *, kind: EventType, reason: str, at: datetime
) -> None:
    """Store ``kind`` with a free-text ``reason`` as stores did before reasons were codes
    (scanned at ingest, the lead re-decided), past the check that refuses it today."""
    event = Event(event_id, lead_id, kind, at, {"reason": reason})

    def work(store: UnitOfWork) -> None:
        ctx = app.context("user:legacy", "api")
        lead = store.leads.get_lead(lead_id)
        assert lead is not None
        scanned = ctx.scan_event(event, lead.profile)
        stored = StoredEvent(event, event_hash(event), ctx.source, ctx.actor, ctx.now, scanned)
        store.leads.add_events([stored])
        requalify_lead(store, lead, ctx.playbooks, ctx.now, ctx.actor, event_id=event_id)

    app.db.run(work)
