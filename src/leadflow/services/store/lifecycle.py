"""Re-qualify a stored lead: decide, store the decision, record a stage change and audit it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.domain.decision import Decision
from leadflow.domain.events import Event, EventType
from leadflow.domain.next_change import next_change
from leadflow.domain.normalise import normalise_profile
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import with_choice
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.reasons import is_reason_code
from leadflow.services.nurture import on_decision
from leadflow.services.routing.assign import ImportedClocks, route_decision
from leadflow.services.store.ports import (
    AuditEntry,
    PlaybookLookup,
    StageChange,
    StoredLead,
    UnitOfWork,
)


@dataclass(frozen=True)
class Requalified:
    """A lead's new decision and the stage it had before (``None`` for a new lead)."""

    decision: Decision
    before: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.decision.stage.value


def current_profile(lead: StoredLead, events: list[Event]) -> LeadProfile:
    """The first-known profile with every ``profile_updated`` event applied in order."""
    profile = lead.profile
    for event in sorted(events, key=Event.sort_key):
        if event.type is EventType.PROFILE_UPDATED:
            profile = profile.with_updates(event.properties)
    return profile


def service_line_read(playbook: Playbook, profile: LeadProfile) -> str | None:
    """The lead's service line as the decision read it (synonyms applied), for nurture."""
    read, _ = normalise_profile(profile, playbook.synonyms, playbook.reference)
    return read.service_line


def decide(lead: StoredLead, events: list[Event], playbook: Playbook, as_of: datetime) -> Decision:
    """The stored lead's decision at ``as_of``, saying how its playbook was chosen (the
    deployment's rule) and warning when the playbook is not written for its lead type."""
    decision = qualify(lead.profile, events, playbook, as_of)
    lead_type = current_profile(lead, events).lead_type
    return with_choice(decision, lead.chosen_by, lead_type, playbook)


def _why(decision: Decision) -> str:
    labels = [r.label for r in decision.reasons if r.points >= 0][:4]
    text = decision.status
    if decision.disqualification_reason:
        text += f" ({decision.disqualification_reason})"
    return text + (": " + "; ".join(labels) if labels else "")


def requalify_lead(
    store: UnitOfWork,
    lead: StoredLead,
    playbooks: PlaybookLookup,
    as_of: datetime,
    actor: str,
    *,
    event_id: str | None = None,
    imported: ImportedClocks | None = None,
) -> Requalified:
    """Decide ``lead`` at ``as_of`` from everything stored, within the caller's unit of work
    (``imported``: SLA clocks start from the lead's history, for ``leadflow import``)."""
    playbook = playbooks(lead.playbook)
    events = store.leads.events_of(lead.lead_id)
    decision = decide(lead, events, playbook, as_of)
    current = store.leads.current_decision(lead.lead_id)
    before = current.stage if current is not None else None
    decision = route_decision(
        store,
        playbook,
        decision,
        changed=before != decision.stage.value,
        events=events,
        at=as_of,
        actor=actor,
        routed_before=current is not None
        and bool((current.record.get("route") or {}).get("queue")),
        imported=imported,
    )
    result = Requalified(decision, before)
    after = next_change(lead.profile, events, playbook, decision, as_of)
    store_decision(store, result, as_of, actor, event_id=event_id, next_change_at=after)
    service_line = service_line_read(playbook, current_profile(lead, events))
    on_decision(
        store,
        playbook,
        decision,
        before=before,
        service_line=service_line,
        events=events,
        at=as_of,
        actor=actor,
    )
    return result


def store_decision(
    store: UnitOfWork,
    result: Requalified,
    as_of: datetime,
    actor: str,
    *,
    event_id: str | None = None,
    next_change_at: datetime | None = None,
) -> None:
    """Save the decision (and when time alone may change it); on a stage change add the
    history row and its audit record."""
    store.leads.save_decision(result.decision, as_of, next_change_at)
    record_stage_change(store, result, as_of, actor, event_id=event_id)


def record_stage_change(
    store: UnitOfWork,
    result: Requalified,
    as_of: datetime,
    actor: str,
    *,
    event_id: str | None = None,
) -> None:
    """On a stage change, the history row and its audit record (the decision saved apart)."""
    decision, before = result.decision, result.before
    lead_id = decision.lead_id
    if result.changed:
        record = decision.to_record()
        store.leads.add_stage_change(
            StageChange(
                lead_id=lead_id,
                from_stage=before,
                to_stage=decision.stage.value,
                status=decision.status,
                reasons=record["reasons"],
                playbook_id=decision.playbook_id,
                playbook_version=decision.playbook_version,
                changed_at=as_of,
                actor=actor,
                event_id=event_id,
            )
        )
        store.audit.append(
            AuditEntry(
                at=as_of,
                actor=actor,
                action="stage.changed",
                entity="lead",
                entity_id=lead_id,
                before={"stage": before},
                after={"stage": decision.stage.value, "status": decision.status},
                reason=_why(decision),
                playbook_version=decision.playbook_version,
            )
        )
        # Outbound webhooks: queued in this same transaction (transactional outbox), so a
        # rolled-back change sends nothing; only allow-listed fields, no contact details.
        store.outbox.enqueue(
            STAGE_CHANGED,
            stage_changed_payload(decision, before, record["reasons"], as_of),
            as_of,
        )


STAGE_CHANGED = "lead.stage_changed"


def public_status(decision: Decision) -> str:
    """The status without words a person typed: a lost or disqualified lead's reason is
    kept only when it is a reason code (``no_budget``), else the status is the stage's
    word ("Lost"), as webhooks carry no free text."""
    reason = decision.disqualification_reason
    if reason is None or is_reason_code(reason):
        return decision.status
    return decision.status.split(" – ", 1)[0]


def stage_changed_payload(
    decision: Decision, before: str | None, reasons: list[dict[str, Any]], at: datetime
) -> dict[str, Any]:
    """The ``lead.stage_changed`` webhook body: an allow-list (COMPLIANCE.md), rule ids only."""
    return {
        "type": STAGE_CHANGED,
        "timestamp": at.isoformat(),
        "data": {
            "lead_id": decision.lead_id,
            "from_stage": before,
            "to_stage": decision.stage.value,
            "status": public_status(decision),
            "playbook": {"id": decision.playbook_id, "version": decision.playbook_version},
            "reasons": [str(reason["rule"]) for reason in reasons],
        },
    }
