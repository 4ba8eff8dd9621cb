"""Form-capture confirmations (issue 18) on in-memory repositories: queued at once with email
consent, exactly once per capture, through the one send path's gate, and nothing without
consent, with the reason in the audit (ids only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes import RecordingSink
from tests.fakes.store import FakeDatabase

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import LeadProfile
from leadflow.services.nurture_ports import FORM_CONFIRMATION
from leadflow.services.routing.assign import ImportedClocks
from leadflow.services.sending import Location, Sender
from leadflow.services.store.intake import Context, record_events, upsert_lead

CLINIC = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # 10:00 in Boston
BOSTON = Location(frozenset({"America/New_York"}), "MA")
EMAIL, PHONE = "pat@example.com", "+16175550142"


def _ctx(at: datetime = NOW, playbook: Playbook = CLINIC, **options: Any) -> Context:
    def playbooks(name: str) -> Playbook:
        assert name == playbook.id
        return playbook

    return Context("test", "api", at, playbooks, PlaybookChoice((), playbook.id), **options)


def _lead(db: FakeDatabase, ctx: Context | None = None, **fields: Any) -> None:
    values: dict[str, Any] = {
        "lead_type": "patient",
        "first_name": "Pat",
        "email": EMAIL,
        "phone": PHONE,
        "service_line": "dermatology",
        "postal_code": "02139",
        "state": "MA",
        "country": "US",
        "consent_email": True,
        **fields,
    }
    profile = LeadProfile("L-1", **values)
    db.run(lambda uow: upsert_lead(uow, profile, ctx or _ctx()))


def _capture(
    db: FakeDatabase,
    *kinds: EventType,
    at: datetime = NOW,
    event_id: str = "form-1",
    ctx: Context | None = None,
) -> None:
    events = [
        Event(f"{event_id}-{n}" if n else event_id, "L-1", kind, at, {})
        for n, kind in enumerate(kinds or (EventType.FORM_SUBMITTED,))
    ]
    db.run(lambda uow: record_events(uow, events, ctx or _ctx()))


def _confirmations(db: FakeDatabase) -> list[Any]:
    return [m for m in db.uow.nurture.messages if m.message.kind == FORM_CONFIRMATION]


def _audit(db: FakeDatabase) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    return [
        (e.action, e.after, e.reason)
        for e in db.uow.audit.entries
        if e.action.startswith("confirmation.")
    ]


def _send(db: FakeDatabase, at: datetime = NOW) -> RecordingSink:
    sink = RecordingSink()
    Sender(db.run, sink, lambda _: BOSTON).send_due(at)
    return sink


def test_a_form_with_email_consent_is_confirmed_at_once_through_the_gate() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db)
    [queued] = _confirmations(db)
    assert (queued.message.channel, queued.message.template, queued.due_at) == (
        "email",
        "request_received",
        NOW,
    )
    assert queued.to_address is None  # addressed at send time, like every lead message
    assert _audit(db) == [
        (
            "confirmation.queued",
            {"events": ["form-1"], "template": "request_received", "channel": "email"},
            None,
        )
    ]
    sink = _send(db)
    [(channel, to, body, subject)] = sink.sent
    assert (channel, to, subject) == ("email", EMAIL, "We received your request")
    assert body.startswith("Hello Pat,\n\nThank you for contacting Northwind Health.")
    assert "dermatology" not in body  # no care area: minimum necessary
    assert "unsubscribe here: http://127.0.0.1:8000/u/" in body  # sent on marketing consent
    assert sink.headers[0] is not None
    assert queued.status == "sent"


def test_a_redelivered_form_is_not_confirmed_again() -> None:
    db = FakeDatabase()
    _lead(db)
    for _ in range(3):
        _capture(db)  # the same event id: a duplicate, stored once
    assert len(_confirmations(db)) == 1
    assert [action for action, _, _ in _audit(db)] == ["confirmation.queued"]


def test_captures_in_one_delivery_share_one_confirmation_and_a_later_form_gets_its_own() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db, EventType.FORM_SUBMITTED, EventType.APPOINTMENT_REQUESTED)
    assert len(_confirmations(db)) == 1
    assert _audit(db)[0][1] == {
        "events": ["form-1", "form-1-1"],
        "template": "request_received",
        "channel": "email",
    }
    later = NOW + timedelta(days=2)
    _capture(db, at=later, event_id="form-2", ctx=_ctx(later))
    assert len(_confirmations(db)) == 2


def test_without_email_consent_nothing_is_queued_and_the_audit_says_why() -> None:
    db = FakeDatabase()
    _lead(db, consent_email=None, consent_sms=True)
    _capture(db)
    assert _confirmations(db) == []
    assert _audit(db) == [
        (
            "confirmation.skipped",
            {"events": ["form-1"], "template": "request_received", "channel": "email"},
            "no_consent",
        )
    ]


def test_a_revoked_address_or_no_address_is_not_confirmed() -> None:
    revoked = FakeDatabase()
    _lead(revoked)
    unsubscribe = Event("unsub-1", "L-1", EventType.UNSUBSCRIBED, NOW, {"channel": "email"})
    revoked.run(lambda uow: record_events(uow, [unsubscribe], _ctx()))
    _capture(revoked, at=NOW + timedelta(minutes=1), ctx=_ctx(NOW + timedelta(minutes=1)))
    no_email = FakeDatabase()
    _lead(no_email, email=None)
    _capture(no_email)
    assert (_confirmations(revoked), _confirmations(no_email)) == ([], [])
    assert [reason for _, _, reason in _audit(revoked)] == ["revoked"]
    assert [reason for _, _, reason in _audit(no_email)] == ["no_contact_point"]


def test_consent_revoked_between_queue_and_send_means_nothing_is_sent() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db)
    later = NOW + timedelta(minutes=1)
    revoke = Event("rev-1", "L-1", EventType.CONSENT_REVOKED, later, {"channel": "email"})
    db.run(lambda uow: record_events(uow, [revoke], _ctx(later)))
    assert _send(db, later).sent == []
    [row] = _confirmations(db)
    assert (row.status, row.reason) == ("skipped", "revoked")


def test_an_old_capture_is_not_confirmed_and_a_late_confirmation_is_not_sent() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db, at=NOW - timedelta(hours=25))  # reported a day late
    assert _confirmations(db) == []
    assert [reason for _, _, reason in _audit(db)] == ["capture_too_old"]
    _capture(db, at=NOW - timedelta(hours=23), event_id="form-2")
    [queued] = _confirmations(db)
    assert queued.message.created_at == NOW - timedelta(hours=23)
    assert _send(db, NOW + timedelta(hours=2)).sent == []  # the worker was down for a day
    assert (queued.status, queued.reason) == ("skipped", "confirmation_too_late")


def test_other_events_imports_and_playbooks_without_a_confirmation_queue_nothing() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db, EventType.PAGE_VIEWED, EventType.WEBINAR_REGISTERED)  # not in the clinic's `on`
    imported = _ctx(imported=ImportedClocks(timedelta(hours=72)))
    _capture(db, event_id="form-imported", ctx=imported)  # history brought in by an import
    quiet = replace(CLINIC, confirmation=None)
    other = FakeDatabase()
    _lead(other, ctx=_ctx(playbook=quiet))
    _capture(other, ctx=_ctx(playbook=quiet))
    assert (_confirmations(db), _confirmations(other)) == ([], [])
    assert (_audit(db), _audit(other)) == ([], [])


def test_a_confirmation_whose_template_is_gone_is_recorded_not_sent() -> None:
    db = FakeDatabase()
    broken = replace(
        CLINIC, templates=tuple(t for t in CLINIC.templates if t.id != "request_received")
    )
    _lead(db, ctx=_ctx(playbook=broken))
    _capture(db, ctx=_ctx(playbook=broken))
    assert _confirmations(db) == []
    assert [reason for _, _, reason in _audit(db)] == ["template_missing"]


def test_the_audit_names_ids_only_never_the_lead_s_contact_details() -> None:
    db = FakeDatabase()
    _lead(db)
    _capture(db)
    _lead(db, consent_email=False, ctx=_ctx(NOW + timedelta(minutes=1)))
    _capture(
        db, at=NOW + timedelta(minutes=2), event_id="form-2", ctx=_ctx(NOW + timedelta(minutes=2))
    )
    assert [reason for _, _, reason in _audit(db)] == [None, "revoked"]
    text = repr([e for e in db.uow.audit.entries if e.action.startswith("confirmation.")])
    for value in (EMAIL, PHONE, "Pat", "dermatology", "02139"):
        assert value not in text
