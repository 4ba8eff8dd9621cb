"""Mapping between rows and domain objects (explicit, no ORM magic in the domain)."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any

from leadflow.adapters.db.tables import ConsentRow, EventRow, LeadRow
from leadflow.domain.events import Event, EventType
from leadflow.domain.profile import CONSENT_FIELDS, TEXT_FIELDS, LeadProfile
from leadflow.services.store.ports import ConsentRecord, StoredLead


def profile_to_json(profile: LeadProfile) -> dict[str, Any]:
    """The profile's known fields as JSON (``lead_id`` is the row's key)."""
    data: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *CONSENT_FIELDS):
        value = getattr(profile, name)
        if value is not None:
            data[name] = value
    if profile.created_at is not None:
        data["created_at"] = profile.created_at.isoformat()
    if profile.custom:
        data["custom"] = dict(profile.custom)
    return data


# The deployment rule that chose a lead's playbook, kept beside its profile (never a field).
CHOSEN_BY = "_chosen_by"


def lead_json(lead: StoredLead) -> dict[str, Any]:
    """What a lead row's ``profile`` column holds: the profile and the rule that chose
    the playbook, if one did."""
    data = profile_to_json(lead.profile)
    if lead.chosen_by is not None:
        data[CHOSEN_BY] = lead.chosen_by
    return data


def chosen_by(data: dict[str, Any]) -> str | None:
    """The rule that chose the playbook, from a lead row's ``profile`` column."""
    found = data.get(CHOSEN_BY)
    return str(found) if found is not None else None


def profile_from_json(lead_id: str, data: dict[str, Any]) -> LeadProfile:
    fields = {k: v for k, v in data.items() if k not in {"custom", "created_at", CHOSEN_BY}}
    created = data.get("created_at")
    return LeadProfile(
        lead_id=lead_id,
        created_at=datetime.fromisoformat(created) if created else None,
        custom=MappingProxyType(dict(data.get("custom") or {})),
        **fields,
    )


def lead_from_row(row: LeadRow) -> StoredLead:
    return StoredLead(
        lead_id=row.id,
        playbook=row.playbook,
        profile=profile_from_json(row.id, row.profile),
        created_at=row.created_at,
        received_at=row.received_at,
        chosen_by=chosen_by(row.profile),
    )


def event_from_row(row: EventRow, properties: dict[str, Any] | None = None) -> Event:
    """The event of ``row`` (with ``properties`` instead of the stored ones, if given)."""
    props = row.properties if properties is None else properties
    return Event(
        row.event_id,
        row.lead_id,
        EventType(row.type),
        row.occurred_at,
        MappingProxyType(props) if props else MappingProxyType({}),
    )


def consent_from_row(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        lead_id=row.lead_id,
        channel=row.channel,
        purpose=row.purpose,
        contact_point=row.contact_point,
        status=row.status,
        captured_at=row.captured_at,
        source=row.source,
        method=row.method,
        disclosure_version=row.disclosure_version,
        evidence=row.evidence,
        revoked_at=row.revoked_at,
        revoked_how=row.revoked_how,
        event_id=row.event_id,
    )
