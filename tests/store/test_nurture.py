"""Nurture tracks and the message outbox, end to end, on SQLite and on PostgreSQL.

A specialty-clinic lead below MQL enters ``patient_education``; the worker turns its steps
into messages at the right times and sends them through the consent gate at send time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select
from typer.testing import CliRunner

from leadflow.adapters.db.tables import AuditRow, MessageRow
from leadflow.adapters.messaging_sink import FileSink, make_sink
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.entrypoints.webhook_cli import run_messages
from leadflow.services.nurture_ports import Enrollment
from leadflow.services.nurture_steps import step_due
from leadflow.services.routing.ports import Notice
from leadflow.services.sending import MAX_ATTEMPTS, lease_for
from tests.factories import (
    CAREGIVER,
    CAREGIVER_EVENTS,
    EMAIL,
    NURTURE_LEAD,
    PHONE,
    nurture_lead,
)
from tests.fakes import FakeClock, RecordingSink


def _enrollments(app: App, lead_id: str = "SC-001") -> list[Enrollment]:
    with app.db.unit_of_work() as store:
        return store.nurture.enrollments_of(lead_id)


def _messages(app: App) -> list[Any]:
    table = cast(Table, MessageRow.__table__)
    with app.db.read() as session:
        return list(session.execute(select(table).order_by(table.c.id)).all())


def _audit_actions(app: App) -> list[tuple[str, dict[str, Any] | None]]:
    with app.db.read() as session:
        rows = session.execute(select(AuditRow.action, AuditRow.after).order_by(AuditRow.seq))
        return [(action, after) for action, after in rows if action.startswith("nurture.")]


def _work(app: App, sink: Any) -> Any:
    return run_messages(app, app.clock(), sink, 20)


def _event(client: TestClient, event_id: str, kind: str, **props: Any) -> None:
    body = {"event_id": event_id, "lead_id": "SC-001", "type": kind, "properties": props}
    response = client.post("/v1/events?wait=decision", json=body)
    assert response.status_code == 201, response.text


def test_a_lead_below_mql_enters_patient_education_and_gets_each_step_on_time(
    client: TestClient, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    nurture_lead(client)
    [enrollment] = _enrollments(app)
    assert (enrollment.track, enrollment.entry, enrollment.next_step) == (
        "patient_education",
        "below_mql",
        0,
    )
    assert enrollment.next_due_at == clock.now + timedelta(hours=1)
    assert _audit_actions(app) == [
        ("nurture.entered", {"track": "patient_education", "entry": "below_mql"})
    ]
    out = tmp_path / "messages.jsonl"
    sink = make_sink(None, "care@northwind.example", out)

    clock.advance(minutes=59)
    assert _work(app, sink).queued == 0
    clock.advance(minutes=1)
    report = _work(app, sink)
    assert (report.queued, report.sent.sent) == (1, 1)
    [first] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert first["channel"] == "email"
    assert first["to"] == EMAIL
    assert first["subject"] == "A guide to your dermatology care options at Northwind Health"
    assert first["body"].startswith("Hello Dana,\n\nThank you for your interest")
    assert "{" not in first["body"]

    clock.advance(days=3, minutes=-1)
    assert _work(app, sink).queued == 0
    clock.advance(minutes=1)
    assert _work(app, sink).sent.sent == 1
    clock.advance(days=4)  # 2026-03-13T13:00Z is 09:00 in Boston: a text may go
    assert _work(app, sink).sent.sent == 1
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(m["channel"], m["to"]) for m in lines] == [
        ("email", EMAIL),
        ("email", EMAIL),
        ("sms", PHONE),
    ]
    assert lines[2]["body"].startswith("Northwind Health: questions about dermatology care?")
    [done] = _enrollments(app)
    assert (done.end_reason, done.next_due_at) == ("completed", None)
    rows = _messages(app)
    assert [(r.kind, r.step, r.template, r.status) for r in rows] == [
        ("nurture", 0, "care_guide", "sent"),
        ("nurture", 1, "what_to_expect", "sent"),
        ("nurture", 2, "check_in_sms", "sent"),
    ]
    assert [r.to_address for r in rows] == [EMAIL, EMAIL, PHONE]
    assert _work(app, sink).sent.claimed == 0  # nothing more


def test_a_text_due_at_22_local_waits_until_08_local(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # 21:00 in Boston on 15 March
    nurture_lead(client)
    sink = RecordingSink()
    clock.now = datetime(2026, 3, 23, 2, 0, tzinfo=UTC)  # the text's step: 22:00 in Boston
    report = _work(app, sink)
    assert report.queued == 3  # the worker catches up every step due
    assert [s[0] for s in sink.sent] == ["email", "email"]
    sms = _messages(app)[2]
    assert (sms.channel, sms.status, sms.reason) == ("sms", "queued", "quiet_hours")
    assert sms.due_at == datetime(2026, 3, 23, 12, 0, tzinfo=UTC)  # 08:00 EDT
    clock.now = datetime(2026, 3, 23, 11, 59, tzinfo=UTC)
    assert _work(app, sink).sent.claimed == 0
    clock.now = datetime(2026, 3, 23, 12, 0, tzinfo=UTC)
    assert _work(app, sink).sent.sent == 1
    assert sink.sent[-1][:2] == ("sms", PHONE)


def test_a_lead_that_becomes_mql_leaves_its_track_and_queued_steps_are_not_sent(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(hours=1)
    assert step_due(app.db.run, app.playbooks, clock.now) == 1  # queued, not yet sent
    for event in CAREGIVER_EVENTS[1:]:
        assert client.post("/v1/events?wait=decision", json=event).status_code == 201
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql"
    [enrollment] = _enrollments(app)
    assert enrollment.end_reason == "stage_changed"
    assert _audit_actions(app)[-1] == ("nurture.left", {"reason": "stage_changed"})
    sink = RecordingSink()
    report = app.sender(sink).send_due(clock.now)
    assert (report.claimed, report.skipped, sink.sent) == (1, 1, [])
    assert _messages(app)[0].reason == "left_nurture"


STEPS = (timedelta(hours=1), timedelta(days=3), timedelta(days=4))  # patient_education


def _walk(app: App, clock: FakeClock, sink: Any) -> None:
    """The worker just after each step's due time (the text's: 09:05 in Boston)."""
    for delay in STEPS:
        clock.advance(seconds=delay.total_seconds())
        _work(app, sink)


def test_an_sms_stop_ends_the_text_steps_only_and_the_emails_go_on(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(minutes=5)
    stop = client.post("/v1/sms/inbound", json={"from": PHONE, "body": "STOP"})
    assert stop.json() == {"lead_id": "SC-001", "action": "revoked"}
    [enrollment] = _enrollments(app)
    assert enrollment.active  # email consent holds: the emails go on
    sink = RecordingSink()
    assert _work(app, sink).sent.sent == 1  # the one STOP confirmation
    _walk(app, clock, sink)
    nurture = [(m.channel, m.step, m.status) for m in _messages(app) if m.kind == "nurture"]
    assert nurture == [("email", 0, "sent"), ("email", 1, "sent")]  # no text queued
    assert [s[:2] for s in sink.sent] == [("sms", PHONE), ("email", EMAIL), ("email", EMAIL)]
    assert "you're unsubscribed" in sink.sent[0][2]  # the one STOP confirmation
    [done] = _enrollments(app)
    assert done.end_reason == "opted_out"  # after the second email only a text was left
    assert _audit_actions(app)[-1] == ("nurture.left", {"reason": "opted_out", "channels": ["sms"]})


def test_unsubscribing_by_email_passes_over_the_emails_and_the_text_still_goes(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(minutes=5)
    _event(client, "unsub-1", "unsubscribed", channel="email")
    assert _enrollments(app)[0].active
    sink = RecordingSink()
    _walk(app, clock, sink)
    assert [s[:2] for s in sink.sent] == [("sms", PHONE)]
    assert [(m.channel, m.step, m.status) for m in _messages(app)] == [("sms", 2, "sent")]
    skipped = [after for action, after in _audit_actions(app) if action == "nurture.step_skipped"]
    assert skipped == [{"channel": "email"}, {"channel": "email"}]
    assert [e.end_reason for e in _enrollments(app)] == ["completed"]


def test_opting_out_of_every_channel_ends_the_track_and_it_does_not_start_again(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(minutes=5)
    _event(client, "unsub-1", "unsubscribed", channel="email")
    _event(client, "revoke-1", "consent_revoked", channel="sms")
    [enrollment] = _enrollments(app)
    assert enrollment.end_reason == "opted_out"
    assert _audit_actions(app)[-1] == (
        "nurture.left",
        {"reason": "opted_out", "channels": ["email", "sms"]},
    )
    _event(client, "view-1", "page_viewed", url="https://northwind.example/blog/skin")
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "nurture"
    assert [e.end_reason for e in _enrollments(app)] == ["opted_out"]  # not enrolled again
    clock.advance(days=10)
    assert _work(app, RecordingSink()).queued == 0


def test_a_revoked_consent_ends_only_its_channels_steps(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(minutes=5)
    _event(client, "revoke-1", "consent_revoked", channel="sms")
    assert [e.active for e in _enrollments(app)] == [True]
    sink = RecordingSink()
    _walk(app, clock, sink)
    assert [s[:2] for s in sink.sent] == [("email", EMAIL), ("email", EMAIL)]
    assert [e.end_reason for e in _enrollments(app)] == ["opted_out"]


def test_a_lead_recycled_by_sales_enters_recycled_patients(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    assert client.post("/v1/leads", json=NURTURE_LEAD).status_code == 201
    for event in CAREGIVER_EVENTS:
        assert client.post("/v1/events?wait=decision", json=event).status_code == 201
    clock.advance(hours=2)
    rejected = client.post("/v1/leads/SC-001/actions/reject", json={"reason": "no active need"})
    assert rejected.json()["decision"]["status"] == "Recycled from sales"
    active = [e for e in _enrollments(app) if e.active]
    assert [(e.track, e.entry) for e in active] == [("recycled_patients", "recycled")]
    assert active[0].next_due_at == clock.now + timedelta(days=7)
    clock.advance(days=7)
    sink = RecordingSink()
    _work(app, sink)
    assert [(s[0], s[3]) for s in sink.sent] == [("email", "We are here when you are ready")]


def test_staff_notices_go_to_their_address_without_the_lead_consent_gate(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    lead = {**CAREGIVER, "consent_email": None, "consent_phone": None}
    assert client.post("/v1/leads", json=lead).status_code == 201

    def add(store: Any) -> None:
        for to in ("ana@northwind.example", None):
            store.routing.add_notice(
                Notice(
                    "SC-001", "ana", to, "sla_reminder", "Lead due soon", "Call SC-001", clock.now
                )
            )

    app.db.run(add)
    clock.advance(hours=23)  # 23:00 UTC: staff email has no quiet hours
    sink = RecordingSink()
    report = app.sender(sink).send_due(clock.now)
    assert (report.sent, report.skipped) == (1, 1)
    assert sink.sent == [("email", "ana@northwind.example", "Call SC-001", "Lead due soon")]
    assert [(m.status, m.reason) for m in _messages(app)] == [
        ("sent", None),
        ("skipped", "no_contact_point"),
    ]


def test_a_stop_reply_revokes_sms_consent_at_once_and_the_queued_text_is_skipped(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.now = datetime(2026, 3, 13, 14, 0, tzinfo=UTC)  # every step due, 10:00 in Boston
    assert step_due(app.db.run, app.playbooks, clock.now) == 3
    stop = {"from": "(617) 555-0142", "body": " Stop. "}
    reply = client.post("/v1/sms/inbound", json=stop, headers={"Idempotency-Key": "SM1"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"lead_id": "SC-001", "action": "revoked"}
    again = client.post("/v1/sms/inbound", json=stop, headers={"Idempotency-Key": "SM1"})
    assert again.json() == reply.json()
    timeline = client.get("/v1/leads/SC-001").json()["timeline"]
    assert [e["type"] for e in timeline].count("unsubscribed") == 1  # redelivery: recorded once
    consents = client.get("/v1/leads/SC-001").json()["consents"]
    sms = [c for c in consents if c["channel"] == "sms"]
    assert sms[-1]["status"] == "revoked"
    assert sms[-1]["contact_point"] == PHONE
    sink = RecordingSink()
    app.sender(sink).send_due(clock.now)
    # email consent holds; the one text is the STOP confirmation (tests/store/test_unsubscribe.py)
    assert [s[:2] for s in sink.sent] == [("email", EMAIL), ("email", EMAIL), ("sms", PHONE)]
    assert "you're unsubscribed" in sink.sent[2][2]
    text = next(m for m in _messages(app) if m.channel == "sms" and m.kind == "nurture")
    assert (text.status, text.reason, text.to_address) == ("skipped", "revoked", None)


def test_an_unknown_number_is_404_and_free_text_pauses_sending(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    unknown = client.post("/v1/sms/inbound", json={"from": "+12125550100", "body": "STOP"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "lead_not_found"
    assert set(unknown.json()["error"]) >= {"code", "message", "problems"}
    nurture_lead(client)
    reply = client.post("/v1/sms/inbound", json={"from": PHONE, "body": "stop texting me"})
    assert reply.json() == {"lead_id": "SC-001", "action": "flagged_for_review"}
    clock.advance(hours=1)
    sink = RecordingSink()
    report = _work(app, sink)
    assert (report.sent.deferred, sink.sent) == (1, [])
    [message] = _messages(app)[1:]  # the reply kept for review, then the email
    assert (message.status, message.reason) == ("queued", "paused_for_review")
    assert message.due_at == clock.now + timedelta(minutes=15)


def test_two_workers_racing_never_send_the_same_message_twice(
    client: TestClient, make_app: Any, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)

    def add(store: Any) -> None:
        for n in range(24):
            store.routing.add_notice(
                Notice(
                    "SC-001",
                    "ana",
                    f"rep{n}@northwind.example",
                    "assigned",
                    "s",
                    f"b{n}",
                    clock.now,
                )
            )

    app.db.run(add)
    sink = RecordingSink(delay_s=0.01)
    apps = [make_app(), make_app()]
    errors: list[BaseException] = []

    def run(worker: App) -> None:
        try:
            while worker.sender(sink).send_due(clock.now, 3).claimed:
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    bodies = sorted(s[2] for s in sink.sent)
    assert bodies == sorted(f"b{n}" for n in range(24))  # each exactly once
    assert all(m.status == "sent" for m in _messages(app))


def test_a_failing_sink_is_retried_with_backoff_then_marked_failed(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(hours=1)
    sink = RecordingSink(fail_times=2)
    assert _work(app, sink).sent.retrying == 1
    [message] = _messages(app)
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.due_at == clock.now + timedelta(minutes=1)
    assert _work(app, sink).sent.claimed == 0
    clock.advance(minutes=1)
    assert _work(app, sink).sent.retrying == 1
    clock.advance(minutes=2)
    assert _work(app, sink).sent.sent == 1
    assert len(sink.sent) == 1

    broken = RecordingSink(fail_times=100)
    clock.advance(days=3)
    for _ in range(MAX_ATTEMPTS):
        _work(app, broken)
        clock.advance(hours=1)
    last = _messages(app)[-1]
    assert (last.status, last.attempts) == ("failed", MAX_ATTEMPTS)
    assert last.reason == "send failed (ConnectionError)"


def test_a_worker_killed_mid_send_loses_nothing(
    client: TestClient, app: App, clock: FakeClock
) -> None:
    nurture_lead(client)
    clock.advance(hours=1)
    step_due(app.db.run, app.playbooks, clock.now)

    class Killed(BaseException):
        pass

    class DyingSink:
        def send(
            self,
            channel: str,
            to: str,
            body: str,
            subject: str | None = None,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            raise Killed

    with pytest.raises(Killed):
        app.sender(DyingSink()).send_due(clock.now, 20)
    [message] = _messages(app)
    assert message.status == "queued"
    lease_end = clock.now + lease_for(20)
    assert message.lease_until == lease_end
    sink = RecordingSink()
    assert app.sender(sink).send_due(lease_end - timedelta(seconds=1)).claimed == 0
    assert app.sender(sink).send_due(lease_end).sent == 1
    assert len(sink.sent) == 1


def test_the_file_sink_is_the_default_for_email_texts_and_calls(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    sink = make_sink(None, "care@northwind.example", out)
    sink.send("phone", PHONE, "a call script")
    assert isinstance(sink.email, FileSink)
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "channel": "phone",
        "to": PHONE,
        "body": "a call script",
    }


def test_the_worker_reports_nurture_and_message_counts(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_MESSAGE_FILE", str(tmp_path / "messages.jsonl"))
    result = CliRunner().invoke(cli, ["worker", "--once", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "webhooks: 0 delivered, 0 to retry, 0 dead-lettered; nurture: 0 steps queued; "
        "messages: 0 sent, 0 skipped, 0 deferred, 0 to retry, 0 failed"
    )
