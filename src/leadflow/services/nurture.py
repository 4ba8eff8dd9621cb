"""Nurture tracks: who enters and leaves them, and when each step is due.

:func:`on_decision` runs in the unit of work that stores every decision (new events, sales
actions, bulk re-qualification), so an enrollment starts and ends with the stage change that
caused it, audited, or not at all. A lead enters a track when it *comes into* ``nurture``
(below MQL, or recycled from sales): a lead already in nurture is not enrolled again after
its track completed or it unsubscribed. It leaves when its stage is no longer ``nurture``
(``stage_changed``), or when an ``unsubscribed`` or ``consent_revoked`` event occurred at or
after it entered (``unsubscribed`` / ``consent_revoked``).

The worker turns due steps into queued messages and sends them through the consent gate
(``adapters/db/nurture.py``); the gate, not enrollment, decides whether anything goes.

Step delays are counted on the wall clock (UTC), including ``business`` delays: a playbook
has business hours per team, not per nurture track, and the quiet-hours gate already keeps
calls and texts inside the recipient's day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadflow.domain.calendar import BusinessHours, Sla
from leadflow.domain.contact_rules import DEFAULT_WINDOW, US_ZONES, Window, quiet_hours_ok
from leadflow.domain.decision import Decision
from leadflow.domain.events import Event, EventType
from leadflow.domain.nurture import entry_of, track_for
from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.services.nurture_ports import Enrollment, NurtureStore
from leadflow.services.store.ports import AuditEntry, UnitOfWork

__all__ = [
    "COMPLETED",
    "CONSENT_REVOKED",
    "STAGE_CHANGED",
    "UNSUBSCRIBED",
    "Enrollment",
    "NurtureStore",
    "leave_reason",
    "next_allowed",
    "on_decision",
    "paused_retry",
    "step_due_at",
]

ACTOR = "rule:nurture"
STAGE_CHANGED = "stage_changed"
UNSUBSCRIBED = "unsubscribed"
CONSENT_REVOKED = "consent_revoked"
COMPLETED = "completed"
RETRY_PAUSED = timedelta(minutes=15)
_ALWAYS_OPEN = BusinessHours.always_open()
_LEAVING_EVENTS = {
    EventType.UNSUBSCRIBED: UNSUBSCRIBED,
    EventType.CONSENT_REVOKED: CONSENT_REVOKED,
}


def step_due_at(delay: Sla, start: datetime) -> datetime:
    """When a step with ``delay`` is due after ``start`` (wall clock, even for ``business``)."""
    return replace(delay, business=False).due(start, _ALWAYS_OPEN)


def leave_reason(enrollment: Enrollment, stage: Stage, events: Sequence[Event]) -> str | None:
    """Why ``enrollment`` ends now, or ``None`` while the lead stays on its track."""
    if stage is not Stage.NURTURE:
        return STAGE_CHANGED
    for event in events:
        reason = _LEAVING_EVENTS.get(event.type)
        if reason is not None and event.occurred_at >= enrollment.entered_at:
            return reason
    return None


def on_decision(
    store: UnitOfWork,
    playbook: Playbook,
    decision: Decision,
    *,
    before: str | None,
    service_line: str | None,
    events: Sequence[Event],
    at: datetime,
    actor: str = ACTOR,
) -> Enrollment | None:
    """End or start the lead's enrollment after ``decision`` was stored; returns the active one.

    ``before`` is the stage before this decision (``None`` for a new lead).
    """
    lead_id = decision.lead_id
    if before != Stage.NURTURE.value and decision.stage is not Stage.NURTURE:
        return None  # enrollments live only while the lead is in nurture: nothing to do
    active = store.nurture.active_enrollment(lead_id)
    if active is not None:
        reason = leave_reason(active, decision.stage, events)
        if reason is None:
            return active
        store.nurture.end_enrollment(active.id, at, reason)
        store.audit.append(
            AuditEntry(
                at=at,
                actor=actor,
                action="nurture.left",
                entity="lead",
                entity_id=lead_id,
                before={"track": active.track, "step": active.next_step},
                after={"reason": reason},
                reason=reason,
                playbook_version=decision.playbook_version,
            )
        )
    if before == Stage.NURTURE.value:
        return None  # enrolled when it came into nurture, not again on every event
    track = track_for(playbook, decision.stage, decision.status, service_line)
    entry = entry_of(decision.stage, decision.status)
    if track is None or entry is None or not track.steps:
        return None
    enrollment = store.nurture.add_enrollment(
        Enrollment(
            id=0,
            lead_id=lead_id,
            playbook_id=playbook.id,
            track=track.id,
            entry=entry.value,
            entered_at=at,
            next_step=0,
            next_due_at=step_due_at(track.steps[0].delay, at),
        )
    )
    store.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action="nurture.entered",
            entity="lead",
            entity_id=lead_id,
            after={"track": track.id, "entry": entry.value},
            reason=decision.status,
            playbook_version=decision.playbook_version,
        )
    )
    return enrollment


def next_allowed(
    channel: str,
    now: datetime,
    zones: frozenset[str] | None,
    window: Window = DEFAULT_WINDOW,
) -> datetime:
    """The first instant after ``now`` at which ``channel`` may reach the recipient (the start
    of the window in one of its zones, within three days), else ``now`` + 15 minutes."""
    names = sorted(zones or US_ZONES)
    candidates: list[datetime] = []
    for name in names:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return now + RETRY_PAUSED
        local = now.astimezone(zone).date()
        for days in range(4):
            day = local + timedelta(days=days)
            start = datetime.combine(day, window[0], tzinfo=zone).astimezone(now.tzinfo)
            if start > now:
                candidates.append(start)
    for start in sorted(candidates):
        if quiet_hours_ok(channel, start, zones, window):
            return start
    return now + RETRY_PAUSED


def paused_retry(now: datetime) -> datetime:
    """When a message paused for review is tried again."""
    return now + RETRY_PAUSED
