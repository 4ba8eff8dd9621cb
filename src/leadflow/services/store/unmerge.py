"""Undoing a merge: the absorbed lead gets back exactly the rows its merge moved (events,
identities, consents, aliases), the survivor loses the fields the merge only filled in from
it, and both are decided again, audited (ids and field names only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.errors import LeadNotFoundError, NotMergedError
from leadflow.services.store.ingest import Context, profile_event
from leadflow.services.store.lifecycle import Requalified, current_profile, requalify_lead
from leadflow.services.store.ports import AuditEntry, MergeRecord, StoredLead, UnitOfWork


@dataclass(frozen=True)
class Unmerged:
    """Both leads after an unmerge, with their new decisions."""

    survivor: str
    restored: str
    cleared_fields: list[str]
    outcomes: dict[str, Requalified]


def _value(profile: LeadProfile, name: str) -> Any:
    if name.startswith("custom."):
        return profile.custom.get(name.removeprefix("custom."))
    return getattr(profile, name, None)


def _filled_fields(events: list[Event], lead: StoredLead, fill_event: str | None) -> list[str]:
    """The fields the merge's fill event added that the survivor still has unchanged (a
    value the fill put back from the survivor's own past is not one of them)."""
    fill = next((e for e in events if e.event_id == fill_event), None)
    if fill is None:
        return []
    without = current_profile(lead, [e for e in events if e.event_id != fill_event])
    now = current_profile(lead, events)
    return sorted(
        name
        for name, value in fill.properties.items()
        if _value(without, name) is None and _value(now, name) == value
    )


def _stored(store: UnitOfWork, lead_id: str) -> StoredLead:
    """The lead (or the lead it was merged into since)."""
    lead = store.leads.get_lead(lead_id)
    if lead is None:
        raise LeadNotFoundError(lead_id)
    return lead


def unmerge_lead(store: UnitOfWork, lead_id: str, ctx: Context) -> Unmerged:
    """Undo the standing merge of ``lead_id`` into another lead. Raises
    :class:`LeadNotFoundError` for an unknown id and :class:`NotMergedError` for a lead
    that is not merged (or whose merge predates recorded merges, schema 0008)."""
    record: MergeRecord | None = store.leads.unmerge(lead_id, ctx.now)
    if record is None:
        if store.leads.get_lead(lead_id) is None:
            raise LeadNotFoundError(lead_id)
        raise NotMergedError(lead_id)
    survivor = _stored(store, record.survivor)
    restored = _stored(store, record.absorbed)
    store.leads.lock_lead(survivor.lead_id)
    events = store.leads.events_of(survivor.lead_id)
    cleared = _filled_fields(events, survivor, record.fill_event)
    event_id = None
    if cleared:
        here = current_profile(survivor, events)
        # named after the fill event, so that it sorts after it within the same instant
        event_id = profile_event(
            store,
            survivor.lead_id,
            dict.fromkeys(cleared),
            ctx,
            here,
            event_id=f"{record.fill_event}-unmerged",
        )
    store.audit.append(
        AuditEntry(
            at=ctx.now,
            actor=ctx.actor,
            action="lead.unmerged",
            entity="lead",
            entity_id=survivor.lead_id,
            before={"lead_id": survivor.lead_id},
            after={"lead_id": restored.lead_id, "cleared": cleared, "event_id": event_id},
            reason="merge undone",
        )
    )
    outcomes = {
        lead.lead_id: requalify_lead(
            store, lead, ctx.playbooks, ctx.now, ctx.actor, event_id=event_id
        )
        for lead in (survivor, restored)
    }
    return Unmerged(survivor.lead_id, restored.lead_id, cleared, outcomes)
