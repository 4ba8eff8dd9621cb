"""Service results as response bodies."""

from __future__ import annotations

from typing import Any

from leadflow.services.redaction import AS_WRITTEN, Redactor
from leadflow.services.store.intake import EventsResult, LeadResult
from leadflow.services.store.lifecycle import Requalified


def stage_summary(
    lead_id: str, outcome: Requalified, shown: Redactor = AS_WRITTEN
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "previous_stage": outcome.before,
        "stage": outcome.decision.stage.value,
        "status": shown.text(outcome.decision.status),
        "stage_changed": outcome.changed,
    }


def lead_written(result: LeadResult, shown: Redactor = AS_WRITTEN) -> dict[str, Any]:
    return {
        "lead_id": result.lead_id,
        "created": result.created,
        "merged_leads": result.merged,
        "changed_fields": result.changed_fields,
        "kept_fields": result.kept_fields,
        "related_leads": [
            {"lead_id": lead_id, "relation": relation}
            for lead_id, relation in sorted(result.related.items())
        ],
        **_decided(result.outcome, shown),
    }


def _decided(outcome: Requalified | None, shown: Redactor) -> dict[str, Any]:
    """The new decision, or (queued for a decider) ``queued`` and no decision yet."""
    if outcome is None:
        return {"previous_stage": None, "stage_changed": None, "decision": None, "queued": True}
    return {
        "previous_stage": outcome.before,
        "stage_changed": outcome.changed,
        "decision": shown.decision(outcome.decision.to_record()),
    }


def events_written(result: EventsResult, shown: Redactor = AS_WRITTEN) -> dict[str, Any]:
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "leads": [stage_summary(lead_id, o, shown) for lead_id, o in result.leads.items()],
        "queued": result.queued,
    }
