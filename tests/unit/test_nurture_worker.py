"""The worker's nurture and sending use cases, branch by branch, on in-memory repositories.

The same use cases run on SQLite and PostgreSQL in ``tests/store/test_nurture.py``; here each
rule is one small, fast case: catching up steps, ending an enrollment and why, each refusal
of the send-time gate, the STOP confirmation's limits, notices to members, backoff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.fakes import RecordingSink
from tests.fakes.store import FakeDatabase

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.profile import LeadProfile
from leadflow.errors import PlaybookNotFoundError
from leadflow.services.nurture_ports import NURTURE, STOP_CONFIRMATION, Enrollment, NewMessage
from leadflow.services.nurture_steps import step_due
from leadflow.services.optout import SENT_RECENTLY, TOO_LATE
from leadflow.services.sending import (
    EARLY_STAGE_CLAIM,
    LEFT_NURTURE,
    MAX_ATTEMPTS,
    Location,
    Sender,
)
from leadflow.services.store.ports import ConsentRecord, CurrentDecision, StoredLead

PLAYBOOK = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # 10:00 in Boston
BOSTON = Location(frozenset({"America/New_York"}), "MA")
EMAIL, PHONE = "pat@example.com", "+16175550142"


def _playbooks(name: str) -> object:
    if name != PLAYBOOK.id:
        raise PlaybookNotFoundError(f"no playbook {name}")
    return PLAYBOOK


def _world(stage: str = "nurture", *, track: str = "patient_education") -> FakeDatabase:
    """A lead in ``stage`` with email and SMS consent, enrolled on ``track`` due now."""
    db = FakeDatabase()
    leads = db.uow.leads
    profile = LeadProfile("L-1", first_name="Pat", email=EMAIL, phone=PHONE, service_line="sleep")
    leads.add_lead(StoredLead("L-1", PLAYBOOK.id, profile, NOW, NOW))
    leads.decisions["L-1"] = CurrentDecision(stage, {}, NOW)
    for channel, point in (("email", EMAIL), ("sms", PHONE)):
        leads.add_consent(
            ConsentRecord("L-1", channel, "marketing", point, "granted", NOW, "form", "checkbox")
        )
    db.uow.nurture.add_enrollment(
        Enrollment(0, "L-1", PLAYBOOK.id, track, "below_mql", NOW, 0, NOW)
    )
    return db


def _sender(db: FakeDatabase, sink: RecordingSink) -> Sender:
    return Sender(db.run, sink, lambda _: BOSTON)


def _queue(db: FakeDatabase, **fields: object) -> int:
    values: dict[str, object] = {
        "lead_id": "L-1",
        "kind": NURTURE,
        "channel": "sms",
        "body": "Hello",
        "created_at": NOW,
        "due_at": NOW,
    }
    db.uow.nurture.queue_message(NewMessage(**{**values, **fields}))  # type: ignore[arg-type]
    return db.uow.nurture.messages[-1].id


def _outcome(db: FakeDatabase, message_id: int) -> tuple[str, str | None]:
    row = db.uow.nurture.row(message_id)
    return row.status, row.reason


# -- stepping ----------------------------------------------------------------------------------


def test_a_due_step_is_queued_rendered_and_the_next_one_scheduled() -> None:
    db = _world()
    assert step_due(db.run, _playbooks, NOW) == 1
    [row] = db.uow.nurture.messages
    assert (row.message.kind, row.message.channel, row.message.template) == (
        NURTURE,
        "email",
        "care_guide",
    )
    assert row.message.subject == "A guide to your sleep care options at Northwind Health"
    assert row.message.body.startswith("Hello Pat,")
    assert row.to_address is None  # addressed at send time
    [enrollment] = db.uow.nurture.enrollments
    assert (enrollment.next_step, enrollment.next_due_at) == (1, NOW + timedelta(days=3))
    assert db.uow.audit.entries == []


def test_a_late_worker_catches_up_every_step_and_completes_the_track_quietly() -> None:
    db = _world()
    assert step_due(db.run, _playbooks, NOW + timedelta(days=30)) == 3
    assert [m.message.template for m in db.uow.nurture.messages] == [
        "care_guide",
        "what_to_expect",
        "check_in_sms",
    ]
    [enrollment] = db.uow.nurture.enrollments
    assert enrollment.end_reason == "completed"
    assert db.uow.audit.entries == []  # completing is not leaving


def test_nothing_is_queued_before_the_step_is_due() -> None:
    db = _world()
    assert step_due(db.run, _playbooks, NOW - timedelta(seconds=1)) == 0
    assert db.uow.nurture.messages == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("stage", "stage_changed"),
        ("lead", "lead_missing"),
        ("playbook", "playbook_missing"),
        ("track", "track_missing"),
    ],
)
def test_an_enrollment_that_cannot_go_on_ends_with_its_reason_audited(
    change: str, reason: str
) -> None:
    db = _world(track="no_such_track" if change == "track" else "patient_education")
    if change == "stage":
        db.uow.leads.decisions["L-1"] = CurrentDecision("mql", {}, NOW)
    elif change == "lead":
        del db.uow.leads.leads["L-1"]
    elif change == "playbook":
        enrollment = db.uow.nurture.enrollments[0]
        db.uow.nurture.enrollments[0] = Enrollment(
            enrollment.id, "L-1", "gone", enrollment.track, "below_mql", NOW, 0, NOW
        )
    assert step_due(db.run, _playbooks, NOW) == 0
    assert db.uow.nurture.messages == []
    assert db.uow.nurture.enrollments[0].end_reason == reason
    [entry] = db.uow.audit.entries
    assert (entry.action, entry.entity_id, entry.reason) == ("nurture.left", "L-1", reason)


def test_an_error_while_stepping_leaves_nothing_half_done() -> None:
    db = _world()

    def failing(name: str) -> object:
        raise RuntimeError("playbook store down")

    with pytest.raises(RuntimeError):
        step_due(db.run, failing, NOW)
    assert db.uow.nurture.messages == []
    assert db.uow.nurture.enrollments[0].next_step == 0


# -- sending -----------------------------------------------------------------------------------


def test_an_allowed_email_goes_to_the_current_address_with_a_way_out() -> None:
    db, sink = _world(), RecordingSink()
    message_id = _queue(db, channel="email", subject="Hi", body="Hello")
    report = _sender(db, sink).send_due(NOW)
    assert (report.claimed, report.sent) == (1, 1)
    [(channel, to, body, subject)] = sink.sent
    assert (channel, to, subject) == ("email", EMAIL, "Hi")
    assert "unsubscribe here: http://127.0.0.1:8000/u/" in body
    assert sink.headers[0] is not None
    assert sink.headers[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = db.uow.nurture.row(message_id)
    assert (row.status, row.to_address, row.sent_at, row.lease_until) == ("sent", EMAIL, NOW, None)


def test_a_text_without_consent_for_the_current_number_is_skipped_for_good() -> None:
    db, sink = _world(), RecordingSink()
    db.uow.leads.consents.clear()
    message_id = _queue(db)
    assert _sender(db, sink).send_due(NOW).skipped == 1
    assert _outcome(db, message_id) == ("skipped", "no_consent")
    assert _sender(db, sink).send_due(NOW + timedelta(days=1)).claimed == 0
    assert sink.sent == []


def test_a_text_at_night_waits_for_the_morning_in_the_leads_zone() -> None:
    db, sink = _world(), RecordingSink()
    night = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # 22:00 in Boston
    message_id = _queue(db, due_at=night)
    assert _sender(db, sink).send_due(night).deferred == 1
    row = db.uow.nurture.row(message_id)
    assert (row.status, row.reason) == ("queued", "quiet_hours")
    assert row.due_at == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # 08:00 in Boston
    assert sink.sent == []


def test_a_reply_awaiting_review_pauses_the_leads_texts_for_a_while() -> None:
    db, sink = _world(), RecordingSink()
    db.uow.nurture.add_sms_reply("L-1", PHONE, "is this covered?", NOW)
    message_id = _queue(db)
    assert _sender(db, sink).send_due(NOW).deferred == 1
    assert db.uow.nurture.row(message_id).due_at == NOW + timedelta(minutes=15)
    db.uow.nurture.clear_review("L-1")
    assert _sender(db, sink).send_due(NOW + timedelta(minutes=15)).sent == 1


def test_an_early_stage_lead_never_gets_a_pricing_or_eligibility_claim() -> None:
    db, sink = _world(), RecordingSink()
    message_id = _queue(db, body="Good news: you qualify for a first visit, covered by your plan.")
    assert _sender(db, sink).send_due(NOW).skipped == 1
    assert _outcome(db, message_id) == ("skipped", EARLY_STAGE_CLAIM)


def test_a_step_of_an_enrollment_that_ended_early_is_not_sent() -> None:
    db, sink = _world(), RecordingSink()
    enrollment = db.uow.nurture.enrollments[0]
    message_id = _queue(db, enrollment_id=enrollment.id)
    db.uow.nurture.end_enrollment(enrollment.id, NOW, "unsubscribed")
    assert _sender(db, sink).send_due(NOW).skipped == 1
    assert _outcome(db, message_id) == ("skipped", LEFT_NURTURE)


def test_a_failing_provider_backs_off_then_gives_up() -> None:
    db, sink = _world(), RecordingSink(fail_times=MAX_ATTEMPTS)
    message_id = _queue(db, channel="email")
    at, waits = NOW, []
    for _ in range(MAX_ATTEMPTS):
        report = _sender(db, sink).send_due(at)
        row = db.uow.nurture.row(message_id)
        if row.status == "failed":
            break
        assert report.retrying == 1
        waits.append(row.due_at - at)
        at = row.due_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    row = db.uow.nurture.row(message_id)
    assert (row.status, row.attempts, row.reason) == ("failed", 5, "send failed (ConnectionError)")


def test_a_message_whose_lease_another_worker_took_over_is_left_alone() -> None:
    db, sink = _world(), RecordingSink()
    message_id = _queue(db)
    sender = _sender(db, sink)
    ids = db.run(lambda uow: uow.nurture.claim_messages(NOW, 10, NOW + timedelta(minutes=1)))
    assert ids == [message_id]
    outcome = db.run(lambda uow: sender.send_one(uow, message_id, NOW + timedelta(hours=1), NOW))
    assert outcome == "lost"
    assert sink.sent == []


def test_a_notice_to_a_member_goes_to_the_stored_address_without_lead_consent() -> None:
    db, sink = _world(), RecordingSink()
    db.uow.leads.consents.clear()
    _queue(db, lead_id=None, channel="email", kind="sla_reminder", to_address="luis@example.org")
    assert _sender(db, sink).send_due(NOW).sent == 1
    assert [(c, to) for c, to, _, _ in sink.sent] == [("email", "luis@example.org")]
    assert sink.headers == [None]  # not marketing: no unsubscribe headers


def test_the_stop_confirmation_goes_once_within_five_minutes_even_after_revocation() -> None:
    db, sink = _world(), RecordingSink()
    db.uow.leads.consents.clear()
    night = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # quiet hours do not hold it back
    first = _queue(db, kind=STOP_CONFIRMATION, to_address=PHONE, created_at=night, due_at=night)
    late = _queue(db, kind=STOP_CONFIRMATION, to_address=PHONE, created_at=night, due_at=night)
    assert _sender(db, sink).send_due(night + timedelta(minutes=4)).sent == 1
    assert _outcome(db, first) == ("sent", None)
    assert _outcome(db, late) == ("skipped", SENT_RECENTLY)
    again = _queue(db, kind=STOP_CONFIRMATION, to_address="+16175550199", created_at=night)
    assert _sender(db, sink).send_due(night + timedelta(minutes=6)).skipped == 1
    assert _outcome(db, again) == ("skipped", TOO_LATE)
    assert [to for _, to, _, _ in sink.sent] == [PHONE]
