"""Consent records from lead fields and consent events (per channel and contact point)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from leadflow.domain.contact_rules import ConsentFact
from leadflow.domain.events import CHANNELS, Event, EventType
from leadflow.domain.profile import LeadProfile
from leadflow.services.store.ports import ConsentRecord, UnitOfWork

EVIDENCE_KEYS = ("page_url", "user_agent", "ip_address", "text", "form")
_FLAG = {"email": "consent_email", "sms": "consent_sms", "phone": "consent_phone"}


def contact_point(profile: LeadProfile, channel: str) -> str | None:
    """The address a channel reaches: the email for email, the phone for sms and phone."""
    return profile.email if channel == "email" else profile.phone


def latest_status(consents: list[ConsentRecord], channel: str, point: str | None) -> str | None:
    """The status of the newest record for ``channel`` at exactly ``point``."""
    found = [c for c in consents if c.channel == channel and c.contact_point == point]
    return found[-1].status if found else None


def active_consent(consents: list[ConsentRecord], channel: str, point: str | None) -> bool:
    """Whether ``point`` may be contacted on ``channel``: consent follows the number."""
    return point is not None and latest_status(consents, channel, point) == "granted"


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


def consents_from_profile(
    store: UnitOfWork,
    lead_id: str,
    profile: LeadProfile,
    evidence: Mapping[str, Any],
    *,
    source: str,
    at: datetime,
) -> list[ConsentRecord]:
    """Records for the ``consent_*`` flags that differ from what is stored for that point."""
    stored = store.leads.consents_of(lead_id)
    added: list[ConsentRecord] = []
    for channel, field in _FLAG.items():
        flag = getattr(profile, field)
        point = contact_point(profile, channel)
        if flag is None or point is None:
            continue
        status = "granted" if flag else "revoked"
        if latest_status(stored, channel, point) == status:
            continue
        if not flag and latest_status(stored, channel, point) is None:
            continue  # "no" to a channel never asked before is not a revocation
        record = ConsentRecord(
            lead_id=lead_id,
            channel=channel,
            purpose=str(evidence.get("purpose") or "marketing"),
            contact_point=point,
            status=status,
            captured_at=at,
            source=source,
            method=str(evidence.get("method") or "form"),
            disclosure_version=_text(evidence.get("disclosure_version")),
            evidence={k: evidence[k] for k in EVIDENCE_KEYS if evidence.get(k) is not None},
            revoked_at=None if flag else at,
            revoked_how=None if flag else "lead_record",
        )
        store.leads.add_consent(record)
        added.append(record)
    return added


def consent_from_event(
    store: UnitOfWork, event: Event, profile: LeadProfile, source: str, at: datetime
) -> ConsentRecord | None:
    """The record a ``consent_granted``, ``consent_revoked`` or ``unsubscribed`` event makes."""
    channel = event.prop("channel")
    if channel not in CHANNELS:
        return None
    channel = str(channel)
    point = _text(event.prop("contact_point")) or contact_point(profile, channel)
    granted = event.type is EventType.CONSENT_GRANTED
    props = event.properties
    record = ConsentRecord(
        lead_id=event.lead_id,
        channel=channel,
        purpose=_text(props.get("purpose")) or "marketing",
        contact_point=point,
        status="granted" if granted else "revoked",
        captured_at=at,
        source=source,
        method=_text(props.get("method")) or event.type.value,
        disclosure_version=_text(props.get("disclosure_version")),
        evidence={k: props[k] for k in EVIDENCE_KEYS if props.get(k) is not None},
        revoked_at=None if granted else event.occurred_at,
        revoked_how=None if granted else event.type.value,
        event_id=event.event_id,
    )
    store.leads.add_consent(record)
    return record


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
