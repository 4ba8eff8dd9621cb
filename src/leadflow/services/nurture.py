"""Nurture tracks: who enters and leaves them, and when each step is due.

:func:`on_decision` runs in the unit of work that stores every decision (new events, sales
actions, bulk re-qualification), so an enrollment starts and ends with the stage change that
caused it, audited, or not at all. A lead enters a track when it *comes into* ``nurture``
(below MQL, or recycled from sales): a lead already in nurture is not enrolled again after
its track completed or it opted out. It leaves when its stage is no longer ``nurture``
(``stage_changed``), or when every channel its remaining steps use was opted out since it
entered (``opted_out``): an SMS STOP ends the text steps only, an unsubscribe the email
steps only, and the other channels' steps go on (issue 18).

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
from leadflow.domain.events import Event
from leadflow.domain.nurture import channel_left, entry_of, opted_out_channels, track_for
from leadflow.domain.playbook import NurtureTrack, Playbook
from leadflow.domain.stages import Stage
from leadflow.services.nurture_ports import Enrollment, NurtureStore
from leadflow.services.store.ports import AuditEntry, UnitOfWork

__all__ = [
    "CHANNEL_OPTED_OUT",
    "COMPLETED",
    "OPTED_OUT",
    "STAGE_CHANGED",
    "Enrollment",
    "NurtureStore",
    "leave_reason",
    "left_entry",
    "next_allowed",
    "on_decision",
    "paused_retry",
    "step_due_at",
    "stops_every_channel",
]

ACTOR = "rule:nurture"
STAGE_CHANGED = "stage_changed"
OPTED_OUT = "opted_out"  # every channel the remaining steps use was opted out
CHANNEL_OPTED_OUT = "channel_opted_out"  # a step or message on a channel the lead opted out of
COMPLETED = "completed"
# Ended without stopping the messages already queued on channels still consented to.
_CHANNEL_SCOPED = frozenset({COMPLETED, OPTED_OUT})
RETRY_PAUSED = timedelta(minutes=15)
_ALWAYS_OPEN = BusinessHours.always_open()


def step_due_at(delay: Sla, start: datetime) -> datetime:
    """When a step with ``delay`` is due after ``start`` (wall clock, even for ``business``)."""
    return replace(delay, business=False).due(start, _ALWAYS_OPEN)


def leave_reason(
    enrollment: Enrollment, stage: Stage, events: Sequence[Event], track: NurtureTrack | None
) -> str | None:
    """Why ``enrollment`` on ``track`` ends now, or ``None`` while the lead stays on it: its
    stage changed, or no remaining step has a channel the lead has not opted out of since
    it entered. (A track that is gone is the worker's to end: ``track_missing``.)"""
    if stage is not Stage.NURTURE:
        return STAGE_CHANGED
    if track is None:
        return None
    stopped = opted_out_channels(events, enrollment.entered_at)
    if stopped and not channel_left(track, enrollment.next_step, stopped):
        return OPTED_OUT
    return None


def stops_every_channel(enrollment: Enrollment) -> bool:
    """Whether ``enrollment`` ended so that none of its queued messages may go (its stage
    changed, its track is gone, …). One that completed, or ended because the lead opted out
    of its remaining channels, leaves each queued message to the checks on its own channel;
    enrollments that ended ``unsubscribed`` or ``consent_revoked`` before issue 18 stop
    every channel, as they did then."""
    return enrollment.ended_at is not None and enrollment.end_reason not in _CHANNEL_SCOPED


def left_entry(
    enrollment: Enrollment,
    reason: str,
    *,
    at: datetime,
    actor: str,
    events: Sequence[Event] = (),
    playbook_version: str | None = None,
) -> AuditEntry:
    """The ``nurture.left`` audit record (track, step, reason, and for ``opted_out`` the
    channels opted out; never contact details)."""
    after: dict[str, object] = {"reason": reason}
    if reason == OPTED_OUT:
        after["channels"] = sorted(opted_out_channels(events, enrollment.entered_at))
    return AuditEntry(
        at=at,
        actor=actor,
        action="nurture.left",
        entity="lead",
        entity_id=enrollment.lead_id,
        before={"track": enrollment.track, "step": enrollment.next_step},
        after=after,
        reason=reason,
        playbook_version=playbook_version,
    )


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
        track = _track_of(playbook, active)
        reason = leave_reason(active, decision.stage, events, track)
        if reason is None:
            return active
        store.nurture.end_enrollment(active.id, at, reason)
        version = decision.playbook_version
        store.audit.append(
            left_entry(active, reason, at=at, actor=actor, events=events, playbook_version=version)
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


def _track_of(playbook: Playbook, enrollment: Enrollment) -> NurtureTrack | None:
    if playbook.id != enrollment.playbook_id:
        return None
    return next((t for t in playbook.tracks if t.id == enrollment.track), None)


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
