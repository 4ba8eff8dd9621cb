"""Sales and intake actions: each becomes an event, allowed only at the stages that allow it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from leadflow.domain.events import DISCOVERY_ANSWERS, Event, EventType, PropertyValue
from leadflow.domain.stages import ALLOWED_ACTIONS, SalesAction, Stage
from leadflow.errors import ActionInputError, ActionNotAllowedError, LeadNotFoundError
from leadflow.services.store.intake import Context, EventsResult, new_id, record_events
from leadflow.services.store.ports import UnitOfWork
from leadflow.services.store.reasons import ACTION_REASONS, action_reason

ACTION_EVENTS: dict[SalesAction, EventType] = {
    SalesAction.ACCEPT: EventType.SALES_ACCEPTED,
    SalesAction.REJECT: EventType.SALES_REJECTED,
    SalesAction.DISCOVERY: EventType.DISCOVERY_COMPLETED,
    SalesAction.SCHEDULE: EventType.APPOINTMENT_SCHEDULED,
    SalesAction.DISQUALIFY: EventType.DISQUALIFIED,
    SalesAction.WIN: EventType.CLOSED_WON,
    SalesAction.LOSE: EventType.CLOSED_LOST,
}
# Actions that must say why (the seeds: "disqualify with a reason", rejection reasons),
# with a reason code the lead's playbook declares (services/store/reasons.py).
NEEDS_REASON = frozenset(ACTION_REASONS)


def check_inputs(action: SalesAction, properties: Mapping[str, PropertyValue]) -> None:
    """:class:`ActionInputError` when ``action`` lacks what it needs: a reason for reject,
    disqualify and lose; at least one answer for discovery (a form left at "Not asked"
    records nothing and must not move the lead)."""
    if action in NEEDS_REASON and not _given(properties.get("reason")):
        raise ActionInputError("reason", f"{action.value} needs a reason")
    if action is SalesAction.DISCOVERY and not any(
        _given(properties.get(name)) for name in (*DISCOVERY_ANSWERS, "no_timeline_reason")
    ):
        answers = ", ".join(f"`{name}`" for name in DISCOVERY_ANSWERS)
        raise ActionInputError(
            "discovery", f"discovery needs at least one answer ({answers}); nothing was saved"
        )


def _given(value: PropertyValue | None) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def allowed_actions(stage: Stage) -> list[str]:
    """The actions ``stage`` allows, in their declared order."""
    return [a.value for a in SalesAction if a in ALLOWED_ACTIONS[stage]]


def take_action(
    store: UnitOfWork,
    lead_id: str,
    action: SalesAction,
    properties: Mapping[str, PropertyValue],
    ctx: Context,
    *,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> EventsResult:
    """Record ``action`` on the lead as its event and re-qualify the lead.

    Raises :class:`ActionInputError` (a missing reason or discovery answer, a reason that
    is not a code the lead's playbook declares for the action), :class:`LeadNotFoundError`
    or :class:`ActionNotAllowedError` (with the actions the lead's current stage does
    allow) before anything is stored. A reason is stored as its code ("Not ready" →
    ``not_ready``); a ``note`` is kept beside it as free text. ``event_id`` names the
    event (a fresh random id when omitted), for callers that must be reproducible.
    """
    check_inputs(action, properties)
    lead = store.leads.get_lead(lead_id)
    if lead is None:
        raise LeadNotFoundError(lead_id)
    props = {k: v for k, v in properties.items() if v is not None}
    if action in ACTION_REASONS:
        props["reason"] = action_reason(ctx.playbooks(lead.playbook), action, props["reason"])
    store.leads.lock_lead(lead.lead_id)
    current = store.leads.current_decision(lead.lead_id)
    stage = Stage(current.stage) if current is not None else Stage.NEW
    if action not in ALLOWED_ACTIONS[stage]:
        raise ActionNotAllowedError(lead.lead_id, stage.value, action.value, allowed_actions(stage))
    event = Event(
        event_id or new_id("act"),
        lead.lead_id,
        ACTION_EVENTS[action],
        occurred_at or ctx.now,
        props,
    )
    return record_events(store, [event], ctx)
