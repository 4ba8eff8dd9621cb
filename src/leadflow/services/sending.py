"""Sending the message outbox through the consent gate: the one send path.

Queuing a message records intent only. :meth:`Sender.send_due` re-reads the lead when each
message goes (its current contact point, consents, candidate zones and review pause), asks
:func:`~leadflow.domain.contact_rules.may_send`, and only then calls the :class:`Sink`. The
address is the lead's current one at send time, never the one known when it was queued.

Sending is at least once and never twice at the same time: a short unit of work claims a
batch and leases it; each message is then re-checked and sent in a unit of work of its own
that locks the message and its lead, so a revocation either commits before the check (and
the message is refused) or waits until the send is recorded. A worker killed mid-batch loses
nothing: the lease ends and the message is claimed again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Protocol

from leadflow.domain.contact_rules import (
    FINAL_REASONS,
    QUIET_HOURS,
    Window,
    may_send,
    window_for,
)
from leadflow.domain.events import Event
from leadflow.domain.nurture import claims_in, opted_out_channels
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.services.confirmation import too_late
from leadflow.services.nurture import (
    CHANNEL_OPTED_OUT,
    next_allowed,
    paused_retry,
    stops_every_channel,
)
from leadflow.services.nurture_ports import (
    FORM_CONFIRMATION,
    NURTURE,
    STOP_CONFIRMATION,
    QueuedMessage,
)
from leadflow.services.optout import TOO_LATE, UnsubscribeLinks, confirmation_verdict
from leadflow.services.store.consent import consent_facts
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import Runner, UnitOfWork

EARLY_STAGE_CLAIM = "early_stage_claim"
LEFT_NURTURE = "left_nurture"
_MARKETING = frozenset({NURTURE, FORM_CONFIRMATION})  # to a lead with consent: a way out in each
MAX_ATTEMPTS = 5
SEND_TIMEOUT_S = 30.0
LEASE_MARGIN_S = 60.0
RETRY_BASE = timedelta(minutes=1)
_EARLY = {Stage.NEW.value, Stage.NURTURE.value}


class Sink(Protocol):
    """Where an allowed message goes (an email, SMS or voice provider; a file locally).

    ``subject`` is for email (``None`` for texts and calls); ``headers`` are extra email
    headers (the one-click ``List-Unsubscribe`` pair of a marketing email), given only when
    there are some. Raising means "not sent": the caller retries later.
    """

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Location:
    """Where a lead may be: its candidate IANA zones (empty: unknown) and US state."""

    zones: frozenset[str] = frozenset()
    state: str | None = None


Locate = Callable[[LeadProfile], Location]


@dataclass(frozen=True)
class SendReport:
    """What one :meth:`Sender.send_due` call did with the messages it claimed."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(SendReport))
        )


def lease_for(limit: int) -> timedelta:
    """How long claimed messages are held: every send of the batch timing out, plus margin."""
    return timedelta(seconds=LEASE_MARGIN_S + SEND_TIMEOUT_S * limit)


@dataclass(frozen=True)
class _Target:
    """Where a message goes and the gate's verdict (``reason`` ``allowed`` to send)."""

    to: str | None
    reason: str
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Sender:
    """Sends the outbox: units of work from ``run``, allowed messages to ``sink``.

    ``locate`` tells where a lead may be (its quiet hours); ``links`` signs the unsubscribe
    footer and one-click headers every ``nurture`` email gets; ``state_windows`` are calling
    windows stricter than the default, per US state.
    """

    run: Runner
    sink: Sink
    locate: Locate
    links: UnsubscribeLinks = field(default_factory=UnsubscribeLinks)
    state_windows: Mapping[str, Window] | None = None

    def send_due(self, now: datetime, limit: int = 20) -> SendReport:
        """Send up to ``limit`` queued messages due at ``now``, each through the gate on its
        own unit of work."""
        lease_until = now + lease_for(limit)
        ids = self.run(lambda uow: uow.nurture.claim_messages(now, limit, lease_until))
        counts = dict.fromkeys(("sent", "skipped", "deferred", "retrying", "failed"), 0)
        for message_id in ids:

            def work(uow: UnitOfWork, message_id: int = message_id) -> str:
                return self.send_one(uow, message_id, lease_until, now)

            outcome = self.run(work, attempts=1)  # never retried: the sink may have been called
            if outcome in counts:
                counts[outcome] += 1
        return SendReport(len(ids), **counts)

    def send_one(
        self, uow: UnitOfWork, message_id: int, lease_until: datetime, now: datetime
    ) -> str:
        """Check and send one claimed message; returns the outcome (``lost``: not ours any
        more)."""
        message = uow.nurture.locked_message(message_id)
        if message is None or message.status != "queued" or message.lease_until != lease_until:
            return "lost"  # sent or re-claimed by another worker after our lease ended
        target = self._target(uow, message, now)
        if target.reason != "allowed":
            if target.retry_at is not None:
                uow.nurture.message_deferred(message_id, target.retry_at, target.reason)
                return "deferred"
            uow.nurture.message_skipped(message_id, target.reason)
            return "skipped"
        assert target.to is not None  # noqa: S101 (allowed implies an address)
        try:
            self._deliver(uow, message, target.to, now)
        except Exception as exc:  # any failure of the sink: not sent, tried again later
            attempts = message.attempts + 1
            error = f"send failed ({type(exc).__name__})"[:60]
            final = attempts >= MAX_ATTEMPTS
            retry_at = None if final else now + RETRY_BASE * 2 ** (attempts - 1)
            uow.nurture.message_failed(message_id, attempts, error, retry_at)
            return "failed" if final else "retrying"
        uow.nurture.message_sent(message_id, target.to, now)
        return "sent"

    def _deliver(self, uow: UnitOfWork, message: QueuedMessage, to: str, now: datetime) -> None:
        if message.kind in _MARKETING and message.channel == "email" and message.lead_id:
            # sent on the lead's marketing consent: a way out in every one
            footer, headers = self.links.for_email(uow, message.lead_id, to, now)
            self.sink.send(
                message.channel, to, message.body + footer, message.subject, headers=headers
            )
        else:
            self.sink.send(message.channel, to, message.body, message.subject)

    def _target(self, uow: UnitOfWork, message: QueuedMessage, now: datetime) -> _Target:
        if message.member_id is not None or message.lead_id is None:
            # A notice to a team member: to the address stored with it, no lead consent.
            to = message.to_address
            return _Target(to, "allowed" if to else "no_contact_point")
        if message.kind == STOP_CONFIRMATION:
            # The one message sent without consent (now revoked), outside calling hours too.
            return _Target(*confirmation_verdict(uow, message, now))
        if too_late(message, now):  # a form confirmation a day after the form: not at all
            return _Target(None, TOO_LATE)
        return self._lead_target(uow, message, message.lead_id, now)

    def _lead_target(
        self, uow: UnitOfWork, message: QueuedMessage, lead_id: str, now: datetime
    ) -> _Target:
        """The lead's current address for the channel and the gate's answer, read now."""
        lead = uow.leads.get_lead(lead_id)
        if lead is None:
            return _Target(None, "no_contact_point")
        uow.leads.lock_lead(lead.lead_id)  # a concurrent revocation waits, or came first
        events = uow.leads.events_of(lead.lead_id)
        profile = current_profile(lead, events)
        to = profile.email if message.channel == "email" else profile.phone
        where = self.locate(profile)
        zones = where.zones or None
        window = window_for(where.state, self.state_windows)
        verdict = may_send(
            message.channel,
            to,
            consent_facts(uow.leads.consents_of(lead.lead_id)),
            now,
            zones=zones,
            paused=uow.nurture.review_pending(lead.lead_id),
            window=window,
        )
        if not verdict.allowed and verdict.reason in FINAL_REASONS:
            return _Target(to, verdict.reason)
        decided = uow.leads.current_decision(lead.lead_id)
        text = " ".join(filter(None, (message.subject, message.body)))
        if (decided is None or decided.stage in _EARLY) and claims_in(text):
            return _Target(to, EARLY_STAGE_CLAIM)
        refused = _enrollment_refusal(uow, message, events)
        if refused is not None:
            return _Target(to, refused)
        if not verdict.allowed:
            if verdict.reason == QUIET_HOURS:
                retry = next_allowed(message.channel, now, zones, window)
                return _Target(to, verdict.reason, retry)
            return _Target(to, verdict.reason, paused_retry(now))
        return _Target(to, "allowed")


def _enrollment_refusal(uow: UnitOfWork, message: QueuedMessage, events: list[Event]) -> str | None:
    """Why a nurture step's message may not go, from its enrollment: the lead opted out of
    the message's channel since it entered (``channel_opted_out``), or the enrollment ended
    so that nothing of it goes (``left_nurture``); ``None`` when neither."""
    if message.enrollment_id is None:
        return None
    enrollment = uow.nurture.enrollment(message.enrollment_id)
    if enrollment is None:
        return None
    if message.channel in opted_out_channels(events, enrollment.entered_at):
        return CHANNEL_OPTED_OUT
    return LEFT_NURTURE if stops_every_channel(enrollment) else None
