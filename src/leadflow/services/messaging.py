"""Sending messages through the consent gate: intent first, the checks at send time.

``enqueue`` only records that a message should go to a lead on a channel. ``send_due`` (and
``send`` for one message) re-read the lead through a :data:`RecipientLookup` at that moment
(its current contact points, consents, candidate zones and review pause), ask
:func:`~leadflow.domain.contact_rules.may_send`, and only then call the :class:`Sink`.
The address is the lead's current one at send time, never the one known at enqueue time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from leadflow.domain.contact_rules import (
    FINAL_REASONS,
    ConsentFact,
    SendDecision,
    Window,
    may_send,
    window_for,
)
from leadflow.services.store.ports import Clock, ConsentRecord


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


@dataclass(frozen=True, slots=True)
class Message:
    """An intent to reach a lead on a channel; the address is resolved at send time."""

    message_id: str
    lead_id: str
    channel: str  # "email" | "sms" | "phone"
    body: str
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the gate needs to know about a lead, read at send time."""

    email: str | None
    phone: str | None
    consents: tuple[ConsentFact, ...] = ()
    zones: frozenset[str] | None = None
    state: str | None = None
    paused: bool = False

    def contact_point(self, channel: str) -> str | None:
        """The email for email; the phone for sms and phone."""
        return self.email if channel == "email" else self.phone


RecipientLookup = Callable[[str], Recipient]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What became of one message at one attempt."""

    message: Message
    to: str | None
    decision: SendDecision
    at: datetime


def consent_facts(records: Iterable[ConsentRecord]) -> tuple[ConsentFact, ...]:
    """The gate's view of stored consent records.

    A grant counts from when it was captured; a revocation from the earlier of when it was
    captured and when the lead revoked.
    """
    facts: list[ConsentFact] = []
    for record in records:
        at = record.captured_at
        if record.status != "granted" and record.revoked_at is not None:
            at = min(at, record.revoked_at)
        facts.append(ConsentFact(record.channel, record.contact_point, record.status, at))
    return tuple(facts)


def send(
    message: Message,
    recipients: RecipientLookup,
    sink: Sink,
    clock: Clock,
    *,
    state_windows: Mapping[str, Window] | None = None,
) -> SendResult:
    """Re-read the lead, ask the gate, and call ``sink`` only when it allows the message."""
    now = clock()
    recipient = recipients(message.lead_id)
    to = recipient.contact_point(message.channel)
    decision = may_send(
        message.channel,
        to,
        recipient.consents,
        now,
        zones=recipient.zones,
        paused=recipient.paused,
        window=window_for(recipient.state, state_windows),
    )
    if decision.allowed and to is not None:
        sink.send(message.channel, to, message.body, message.subject)
    return SendResult(message, to, decision, now)


@dataclass
class MessageQueue:
    """Messages waiting to be sent, in order, in memory (the stored outbox, ``messages``, is
    sent by ``adapters/db/nurture.py`` with the same gate).

    A message the gate refuses for a reason waiting cannot cure (no contact point, no consent,
    revoked) is dropped; one refused for quiet hours or a review pause stays queued.
    """

    _waiting: list[Message] = field(default_factory=list)

    def enqueue(self, message: Message) -> None:
        """Record the intent only: nothing is checked or sent here."""
        self._waiting.append(message)

    @property
    def waiting(self) -> tuple[Message, ...]:
        return tuple(self._waiting)

    def send_due(
        self,
        recipients: RecipientLookup,
        sink: Sink,
        clock: Clock,
        *,
        state_windows: Mapping[str, Window] | None = None,
    ) -> list[SendResult]:
        """Try every waiting message now, each through the gate at its own send time."""
        results: list[SendResult] = []
        kept: list[Message] = []
        for message in self._waiting:
            result = send(message, recipients, sink, clock, state_windows=state_windows)
            results.append(result)
            if not result.decision.allowed and result.decision.reason not in FINAL_REASONS:
                kept.append(message)
        self._waiting = kept
        return results
