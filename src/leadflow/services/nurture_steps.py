"""The worker's first messaging job: turn each nurture step due into a queued message.

An enrollment is caught up to ``now`` in one go (every step whose time has come is queued)
and then scheduled for its next step, or ended: ``completed`` after its last step, or, with
an audit record, when the lead is gone, no longer in nurture, has opted out of every channel
its remaining steps use (``opted_out``), or its playbook, track or template has disappeared.
A step on a channel the lead opted out of since it entered is passed over, audited
(``nurture.step_skipped``), and the steps on other channels go on. Queuing is intent only:
:mod:`leadflow.services.sending` asks the consent gate when each message is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from leadflow.domain.events import Event
from leadflow.domain.nurture import (
    TEMPLATE_FIELDS,
    channel_left,
    opted_out_channels,
    render,
)
from leadflow.domain.playbook import NurtureTrack, Playbook, Template
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError
from leadflow.services.nurture import (
    CHANNEL_OPTED_OUT,
    COMPLETED,
    OPTED_OUT,
    STAGE_CHANGED,
    left_entry,
    step_due_at,
)
from leadflow.services.nurture_ports import NURTURE, Enrollment, NewMessage
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import (
    AuditEntry,
    PlaybookLookup,
    Runner,
    StoredLead,
    UnitOfWork,
)

ACTOR = "worker:nurture"


def step_due(run: Runner, playbooks: PlaybookLookup, now: datetime, limit: int = 50) -> int:
    """Queue the message of every nurture step due at ``now`` (up to ``limit`` enrollments,
    each caught up to ``now``, in one unit of work); returns how many messages were queued."""

    def batch(uow: UnitOfWork) -> int:
        due = uow.nurture.due_enrollments(now, limit)
        return sum(advance(uow, enrollment, playbooks, now) for enrollment in due)

    return run(batch)


def _end(
    uow: UnitOfWork,
    enrollment: Enrollment,
    now: datetime,
    reason: str,
    events: Sequence[Event] = (),
) -> int:
    uow.nurture.end_enrollment(enrollment.id, now, reason)
    if reason != COMPLETED:
        uow.audit.append(left_entry(enrollment, reason, at=now, actor=ACTOR, events=events))
    return 0


def _skip_step(
    uow: UnitOfWork, enrollment: Enrollment, step_no: int, channel: str, now: datetime
) -> None:
    """A step on a channel the lead opted out of: not queued, and the record says why."""
    uow.audit.append(
        AuditEntry(
            at=now,
            actor=ACTOR,
            action="nurture.step_skipped",
            entity="lead",
            entity_id=enrollment.lead_id,
            before={"track": enrollment.track, "step": step_no},
            after={"channel": channel},
            reason=CHANNEL_OPTED_OUT,
        )
    )


def _track(
    uow: UnitOfWork, enrollment: Enrollment, playbooks: PlaybookLookup
) -> tuple[StoredLead, Playbook, NurtureTrack] | str:
    """The lead, and the playbook and track it follows now, or why it cannot go on."""
    lead_id = enrollment.lead_id
    lead = uow.leads.get_lead(lead_id)
    if lead is None:
        return "lead_missing"
    decided = uow.leads.current_decision(lead_id)
    if decided is None or decided.stage != Stage.NURTURE.value:
        return STAGE_CHANGED
    try:
        playbook = playbooks(enrollment.playbook_id)
    except LeadflowError:
        return "playbook_missing"
    track = next((t for t in playbook.tracks if t.id == enrollment.track), None)
    return "track_missing" if track is None else (lead, playbook, track)


def advance(
    uow: UnitOfWork, enrollment: Enrollment, playbooks: PlaybookLookup, now: datetime
) -> int:
    """Queue each of the enrollment's steps due at ``now`` (a step on a channel the lead opted
    out of since it entered is passed over), then schedule the next or end; returns how many
    messages were queued."""
    found = _track(uow, enrollment, playbooks)
    if isinstance(found, str):
        return _end(uow, enrollment, now, found)
    lead, playbook, track = found
    events = uow.leads.events_of(lead.lead_id)
    profile = current_profile(lead, events)
    values = {name: getattr(profile, name) for name in TEMPLATE_FIELDS}
    stopped = opted_out_channels(events, enrollment.entered_at)
    step_no, due = enrollment.next_step, enrollment.next_due_at
    queued = 0
    while due is not None and due <= now and channel_left(track, step_no, stopped):
        step = track.steps[step_no]
        if step.channel in stopped:
            _skip_step(uow, enrollment, step_no, step.channel, now)
        else:
            template = playbook.template(step.template)
            if template is None:
                return queued + _end(uow, enrollment, now, "template_missing")
            message = _message(
                enrollment, template, values, step=step_no, channel=step.channel, now=now
            )
            uow.nurture.queue_message(message)
            queued += 1
        step_no += 1
        due = step_due_at(track.steps[step_no].delay, due) if step_no < len(track.steps) else None
    if due is None:
        _end(uow, enrollment, now, COMPLETED)
    elif not channel_left(track, step_no, stopped):
        _end(uow, enrollment, now, OPTED_OUT, events)
    else:
        uow.nurture.reschedule(enrollment.id, step_no, due)
    return queued


def _message(
    enrollment: Enrollment,
    template: Template,
    values: Mapping[str, str | None],
    *,
    step: int,
    channel: str,
    now: datetime,
) -> NewMessage:
    """The message of one step, rendered from the lead's current profile, due at once."""
    return NewMessage(
        lead_id=enrollment.lead_id,
        kind=NURTURE,
        channel=channel,
        subject=render(template.subject, values) if template.subject else None,
        body=render(template.body, values),
        created_at=now,
        due_at=now,
        template=template.id,
        enrollment_id=enrollment.id,
        step=step,
    )
