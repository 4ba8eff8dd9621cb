"""Nurture by channel (issue 18): an opt-out ends only its own channel's steps, on in-memory
repositories, through the same intake, worker and send path as the store tests.

The specialty clinic's ``patient_education`` track: an email an hour after entry, another
three days later, a text four days after that. The lead consented to email and SMS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes import RecordingSink
from tests.fakes.store import FakeDatabase

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import LeadProfile
from leadflow.services.nurture_steps import step_due
from leadflow.services.sending import Location, Sender
from leadflow.services.store.intake import Context, record_events, upsert_lead

PLAYBOOK = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # 10:00 in Boston
BOSTON = Location(frozenset({"America/New_York"}), "MA")
EMAIL, PHONE = "pat@example.com", "+16175550142"
STEP_1, STEP_2, STEP_3 = (NOW + timedelta(hours=h) for h in (1, 1 + 72, 1 + 72 + 96))


def _playbooks(name: str) -> Playbook:
    assert name == PLAYBOOK.id
    return PLAYBOOK


def _ctx(at: datetime) -> Context:
    return Context("test", "api", at, _playbooks, PlaybookChoice((), PLAYBOOK.id))


def _record(db: FakeDatabase, at: datetime, kind: EventType, **props: Any) -> None:
    event = Event(f"{kind.value}-{at.isoformat()}", "L-1", kind, at, props)
    db.run(lambda uow: record_events(uow, [event], _ctx(at)))


def _enrolled() -> FakeDatabase:
    """A patient lead after its first form: below MQL, on ``patient_education``."""
    db = FakeDatabase()
    profile = LeadProfile(
        "L-1",
        lead_type="patient",
        first_name="Pat",
        email=EMAIL,
        phone=PHONE,
        service_line="dermatology",
        postal_code="02139",
        state="MA",
        country="US",
        consent_email=True,
        consent_sms=True,
    )
    db.run(lambda uow: upsert_lead(uow, profile, _ctx(NOW)))
    _record(db, NOW, EventType.FORM_SUBMITTED, form="specialty-enquiry")
    [enrollment] = db.uow.nurture.enrollments
    assert (enrollment.track, enrollment.active) == ("patient_education", True)
    confirmation = RecordingSink()  # the form's confirmation goes first, at once
    assert _sender(db, confirmation).send_due(NOW).sent == 1
    assert [subject for _, _, _, subject in confirmation.sent] == ["We received your request"]
    return db


def _sender(db: FakeDatabase, sink: RecordingSink) -> Sender:
    return Sender(db.run, sink, lambda _: BOSTON)


def _pass(db: FakeDatabase, at: datetime, sink: RecordingSink) -> None:
    """One worker pass: due steps queued, due messages sent."""
    step_due(db.run, _playbooks, at)
    _sender(db, sink).send_due(at)


def test_an_sms_stop_ends_the_text_steps_only_and_the_emails_go_on() -> None:
    db, sink = _enrolled(), RecordingSink()
    _record(db, NOW + timedelta(minutes=5), EventType.UNSUBSCRIBED, channel="sms")
    [enrollment] = db.uow.nurture.enrollments
    assert enrollment.active  # the emails still have somewhere to go
    for at in (STEP_1, STEP_2):
        _pass(db, at, sink)
    assert [(channel, to) for channel, to, _, _ in sink.sent] == [("email", EMAIL)] * 2
    [enrollment] = db.uow.nurture.enrollments
    assert enrollment.end_reason == "opted_out"  # only the text was left: nothing to send
    left = db.uow.audit.entries[-1]
    assert (left.action, left.reason, left.after) == (
        "nurture.left",
        "opted_out",
        {"reason": "opted_out", "channels": ["sms"]},
    )
    _pass(db, STEP_3, sink)
    assert len(sink.sent) == 2
    nurture = [m.message.channel for m in db.uow.nurture.messages if m.message.kind == "nurture"]
    assert nurture == ["email", "email"]


def test_an_email_unsubscribe_passes_over_the_emails_and_the_text_still_goes() -> None:
    db, sink = _enrolled(), RecordingSink()
    _record(db, NOW + timedelta(minutes=5), EventType.UNSUBSCRIBED, channel="email")
    for at in (STEP_1, STEP_2, STEP_3):
        _pass(db, at, sink)
    assert [(channel, to) for channel, to, _, _ in sink.sent] == [("sms", PHONE)]
    skipped = [e for e in db.uow.audit.entries if e.action == "nurture.step_skipped"]
    assert [(e.before, e.after, e.reason) for e in skipped] == [
        ({"track": "patient_education", "step": step}, {"channel": "email"}, "channel_opted_out")
        for step in (0, 1)
    ]
    assert db.uow.nurture.enrollments[0].end_reason == "completed"


def test_opting_out_of_every_channel_left_ends_the_enrollment_at_once() -> None:
    db, sink = _enrolled(), RecordingSink()
    _record(db, NOW + timedelta(minutes=5), EventType.CONSENT_REVOKED, channel="email")
    assert db.uow.nurture.enrollments[0].active
    _record(db, NOW + timedelta(minutes=6), EventType.UNSUBSCRIBED, channel="sms")
    [enrollment] = db.uow.nurture.enrollments
    assert (enrollment.end_reason, enrollment.ended_at) == (
        "opted_out",
        NOW + timedelta(minutes=6),
    )
    left = db.uow.audit.entries[-1]
    assert left.after == {"reason": "opted_out", "channels": ["email", "sms"]}
    for at in (STEP_1, STEP_2, STEP_3):
        _pass(db, at, sink)
    assert [m.message.kind for m in db.uow.nurture.messages] == ["form_confirmation"]
    assert sink.sent == []


def test_an_email_already_queued_still_goes_after_a_stop_ends_the_enrollment() -> None:
    db, sink = _enrolled(), RecordingSink()
    for at in (STEP_1, STEP_2):
        sink.fail_times = 1 if at == STEP_2 else 0  # the second email waits for a retry
        _pass(db, at, sink)
    waiting = db.uow.nurture.messages[-1]
    assert (waiting.message.channel, waiting.status) == ("email", "queued")
    _record(db, STEP_2 + timedelta(seconds=30), EventType.UNSUBSCRIBED, channel="sms")
    assert db.uow.nurture.enrollments[0].end_reason == "opted_out"
    _pass(db, STEP_2 + timedelta(minutes=1), sink)
    assert (waiting.status, waiting.to_address) == ("sent", EMAIL)  # email consent holds
    assert [channel for channel, _, _, _ in sink.sent] == ["email", "email"]


def test_a_queued_text_is_not_sent_after_a_stop_even_to_a_new_consented_number() -> None:
    db, sink = _enrolled(), RecordingSink()
    night = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # 22:00 in Boston, after every step
    _pass(db, night, sink)  # the emails go; the text waits for the morning
    text = db.uow.nurture.messages[-1]
    assert (text.message.channel, text.status, text.reason) == ("sms", "queued", "quiet_hours")
    _record(db, night + timedelta(minutes=1), EventType.UNSUBSCRIBED, channel="sms")
    new_number = "+16175550199"
    _record(db, night + timedelta(minutes=2), EventType.PROFILE_UPDATED, phone=new_number)
    _record(db, night + timedelta(minutes=3), EventType.CONSENT_GRANTED, channel="sms")
    _pass(db, datetime(2026, 3, 12, 12, 0, tzinfo=UTC), sink)  # 08:00 in Boston
    assert (text.status, text.reason) == ("skipped", "channel_opted_out")
    assert [channel for channel, _, _, _ in sink.sent] == ["email", "email"]


def test_a_lead_record_saying_no_to_texts_ends_the_text_steps_too() -> None:
    db, sink = _enrolled(), RecordingSink()
    later = NOW + timedelta(minutes=5)
    profile = LeadProfile("L-1", lead_type="patient", email=EMAIL, phone=PHONE, consent_sms=False)
    db.run(lambda uow: upsert_lead(uow, profile, _ctx(later)))
    assert db.uow.nurture.enrollments[0].active
    for at in (STEP_1, STEP_2, STEP_3):
        _pass(db, at, sink)
    assert [channel for channel, _, _, _ in sink.sent] == ["email", "email"]
    assert db.uow.nurture.enrollments[0].end_reason == "opted_out"
