"""Opting out: unsubscribe links, the one STOP confirmation text.

- :class:`UnsubscribeLinks` signs the link and headers of each marketing email as it is sent,
  with ``LEADFLOW_UNSUBSCRIBE_SECRET`` or, when that is unset, a random key the store made
  for itself once (``uow.secret``), so a fresh install works and links stay valid across
  restarts and workers.
- :func:`unsubscribe_by_token` verifies a link and records an ``unsubscribed`` event for the
  address it was sent to, through the same intake as every other event.
- :func:`queue_stop_confirmation` and :func:`confirmation_verdict`: after a stop keyword, one
  text saying so, the only message sent without consent: within 5 minutes of the reply and at
  most once per number per 24 hours, or skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadflow.domain.events import Event, EventType
from leadflow.domain.unsubscribe import (
    TOKEN_TTL,
    Unsubscribe,
    email_footer,
    one_click_headers,
    sign_unsubscribe,
    token_lead,
    unsubscribe_url,
    verify_unsubscribe,
)
from leadflow.errors import UnsubscribeTokenError
from leadflow.services.nurture_ports import STOP_CONFIRMATION, NewMessage, QueuedMessage
from leadflow.services.store.consent import latest_status
from leadflow.services.store.intake import Context, new_id, record_events
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import UnitOfWork

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
UNSUBSCRIBE_KEY = "unsubscribe_hmac"
CONFIRM_WITHIN = timedelta(minutes=5)
CONFIRM_ONCE_PER = timedelta(hours=24)
TOO_LATE = "confirmation_too_late"
SENT_RECENTLY = "confirmation_sent_recently"


@dataclass(frozen=True)
class UnsubscribeLinks:
    """How links are made: the public base URL, and the configured secret (``None``: the
    store's own)."""

    base_url: str = DEFAULT_PUBLIC_URL
    secret: bytes | None = None

    def key(self, uow: UnitOfWork, now: datetime) -> bytes:
        return self.secret or uow.secret(UNSUBSCRIBE_KEY, now)

    def for_email(
        self, uow: UnitOfWork, lead_id: str, to: str, now: datetime
    ) -> tuple[str, Mapping[str, str]]:
        """The footer to append and the one-click headers for a marketing email to ``to``."""
        token = sign_unsubscribe(self.key(uow, now), lead_id, "email", to, now + TOKEN_TTL)
        url = unsubscribe_url(self.base_url, token)
        return email_footer(url), one_click_headers(url)


def _mailed_addresses(uow: UnitOfWork, lead_id: str) -> set[str]:
    """Where the lead's emails went (the outbox) and its current address: a link's candidates."""
    found = uow.nurture.mailed_addresses(lead_id)
    lead = uow.leads.get_lead(lead_id)
    if lead is not None:
        email = current_profile(lead, uow.leads.events_of(lead_id)).email
        if email:
            found.add(email)
    return found


def check_token(uow: UnitOfWork, links: UnsubscribeLinks, token: str, now: datetime) -> str:
    """Verify ``token`` (raises :class:`~leadflow.errors.UnsubscribeTokenError`); returns
    ``active`` or ``already`` (that address is unsubscribed already)."""
    done = _verify(uow, links, token, now)
    status = latest_status(uow.leads.consents_of(done.lead_id), done.channel, done.contact_point)
    return "already" if status == "revoked" else "active"


def _verify(uow: UnitOfWork, links: UnsubscribeLinks, token: str, now: datetime) -> Unsubscribe:
    lead_id = token_lead(token)
    if uow.leads.get_lead(lead_id) is None:
        raise UnsubscribeTokenError("bad_token", "the unsubscribe link is not valid")
    key = links.key(uow, now)
    return verify_unsubscribe(key, token, sorted(_mailed_addresses(uow, lead_id)), now)


def unsubscribe_by_token(uow: UnitOfWork, links: UnsubscribeLinks, token: str, ctx: Context) -> str:
    """Record the ``unsubscribed`` event a valid link asks for (once: ``already`` when that
    address was unsubscribed before); raises
    :class:`~leadflow.errors.UnsubscribeTokenError` and stores nothing otherwise."""
    done = _verify(uow, links, token, ctx.now)
    uow.leads.lock_lead(done.lead_id)
    status = latest_status(uow.leads.consents_of(done.lead_id), done.channel, done.contact_point)
    if status == "revoked":
        return "already"
    props = {"channel": done.channel, "contact_point": done.contact_point}
    event = Event(
        new_id("unsub"),
        done.lead_id,
        EventType.UNSUBSCRIBED,
        ctx.now,
        {**props, "method": "unsubscribe_link"},
    )
    record_events(uow, [event], ctx)
    return "unsubscribed"


# -- the STOP confirmation text -------------------------------------------------------------


def queue_stop_confirmation(
    uow: UnitOfWork, lead_id: str, number: str, body: str, replied_at: datetime
) -> None:
    """Queue the confirmation of a stop reply, due at once. ``created_at`` is the reply's
    time: the text goes within :data:`CONFIRM_WITHIN` of it or not at all."""
    uow.nurture.queue_message(
        NewMessage(
            lead_id=lead_id,
            kind=STOP_CONFIRMATION,
            channel="sms",
            body=body,
            created_at=replied_at,
            due_at=replied_at,
            to_address=number,
        )
    )


def confirmation_verdict(
    uow: UnitOfWork, message: QueuedMessage, now: datetime
) -> tuple[str | None, str]:
    """Where a stop confirmation goes and whether it may (``allowed``): to the number that
    replied, whatever its consent (now revoked) and the hour, if still within 5 minutes of
    the reply and no confirmation went to that number in the last 24 hours."""
    to = message.to_address
    if to is None:
        return None, "no_contact_point"
    if message.lead_id is not None:
        uow.leads.lock_lead(message.lead_id)  # two workers never both see "none sent yet"
    if now > message.created_at + CONFIRM_WITHIN:
        return to, TOO_LATE
    if uow.nurture.confirmation_sent(to, now - CONFIRM_ONCE_PER, other_than=message.id):
        return to, SENT_RECENTLY
    return to, "allowed"


def stop_confirmation_text(sender: str) -> str:
    """The confirmation: who, what happened, how to get help; nothing else."""
    return f"{sender}: you're unsubscribed and will get no more texts. Reply HELP for help."


def sender_name(configured: str | None, playbook_name: str) -> str:
    """The configured sender name, else the playbook's organisation (its name up to " — ")."""
    return configured or playbook_name.partition(" — ")[0].strip() or "leadflow"
