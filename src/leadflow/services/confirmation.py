"""Form-capture confirmations (issue 18; seed: "Send an email confirmation if consented").

A playbook's ``nurture.confirmation`` names a template and the capture events it answers
(``form_submitted`` unless it says otherwise). When :func:`confirm_captures` sees such an
event just stored (new: a re-delivered event is a duplicate and is not stored again), it
asks the consent gate about the lead's current email address at once: with active email
consent one confirmation is queued, due at once, in the unit of work that stores the event;
without, nothing is queued. Either way the audit says so (``confirmation.queued`` /
``confirmation.skipped`` with the reason), with event and template ids only.

Queuing is still intent only: the one send path (:mod:`leadflow.services.sending`) asks the
gate again when the email goes, so consent revoked in between stops it. A confirmation goes
within :data:`CONFIRM_WITHIN` of the capture or not at all (``confirmation_too_late``): a
form found in history, or a worker that was down for a day, does not thank anyone late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from leadflow.domain.contact_rules import FINAL_REASONS, may_send
from leadflow.domain.events import Event
from leadflow.domain.nurture import TEMPLATE_FIELDS, render
from leadflow.domain.playbook import Confirmation, Template
from leadflow.services.nurture_ports import FORM_CONFIRMATION, NewMessage, QueuedMessage
from leadflow.services.store.consent import consent_facts
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import AuditEntry, PlaybookLookup, StoredLead, UnitOfWork

CONFIRM_WITHIN = timedelta(hours=24)
TOO_OLD = "capture_too_old"
TEMPLATE_MISSING = "template_missing"


def confirm_captures(
    store: UnitOfWork,
    leads: Mapping[str, StoredLead],
    stored: Sequence[Event],
    playbooks: PlaybookLookup,
    *,
    now: datetime,
    actor: str,
) -> int:
    """Queue the confirmation each lead's form capture among the just ``stored`` events asks
    for (one per lead and call, whatever number of captures it carries); ``leads`` are the
    events' leads by id. Returns how many were queued."""
    queued = 0
    for lead_id, lead in leads.items():
        playbook = playbooks(lead.playbook)
        rule = playbook.confirmation
        if rule is None:
            continue
        captures = [e for e in stored if e.lead_id == lead_id and e.type in rule.on]
        if captures:
            template = playbook.template(rule.template)
            queued += _confirm(store, lead, rule, template, captures, now=now, actor=actor)
    return queued


def _confirm(
    store: UnitOfWork,
    lead: StoredLead,
    rule: Confirmation,
    template: Template | None,
    captures: list[Event],
    *,
    now: datetime,
    actor: str,
) -> int:
    """Queue one confirmation for ``captures``, or record why not; 1 when queued."""
    latest = max(captures, key=Event.sort_key)
    reason, values = _verdict(store, lead, latest, now)
    audit: dict[str, object] = {
        "events": sorted(e.event_id for e in captures),
        "template": rule.template,
    }
    if template is None or reason != "allowed":
        why = TEMPLATE_MISSING if template is None else reason
        skipped = _entry(
            "confirmation.skipped", lead.lead_id, audit, now=now, actor=actor, reason=why
        )
        store.audit.append(skipped)
        return 0
    store.nurture.queue_message(_message(lead, template, values, latest, now))
    store.audit.append(_entry("confirmation.queued", lead.lead_id, audit, now=now, actor=actor))
    return 1


def _verdict(
    store: UnitOfWork, lead: StoredLead, capture: Event, now: datetime
) -> tuple[str, dict[str, str | None]]:
    """``allowed``, or why no confirmation is queued (too old, or the gate refuses for a
    reason waiting cannot cure); and the lead's template fields."""
    profile = current_profile(lead, store.leads.events_of(lead.lead_id))
    values = {name: getattr(profile, name) for name in TEMPLATE_FIELDS}
    if capture.occurred_at < now - CONFIRM_WITHIN:
        return TOO_OLD, values
    facts = consent_facts(store.leads.consents_of(lead.lead_id))
    # Only what waiting cannot cure stops it here; a review pause is the send path's to apply.
    verdict = may_send("email", profile.email, facts, now, zones=None, paused=False)
    if not verdict.allowed and verdict.reason in FINAL_REASONS:
        return verdict.reason, values
    return "allowed", values


def _message(
    lead: StoredLead,
    template: Template,
    values: Mapping[str, str | None],
    capture: Event,
    now: datetime,
) -> NewMessage:
    """The confirmation email, due at once; ``created_at`` is the capture's time (it goes
    within :data:`CONFIRM_WITHIN` of it or not at all)."""
    return NewMessage(
        lead_id=lead.lead_id,
        kind=FORM_CONFIRMATION,
        channel="email",
        subject=render(template.subject, values) if template.subject else None,
        body=render(template.body, values),
        created_at=min(capture.occurred_at, now),
        due_at=now,
        template=template.id,
    )


def _entry(
    action: str,
    lead_id: str,
    after: dict[str, object],
    *,
    now: datetime,
    actor: str,
    reason: str | None = None,
) -> AuditEntry:
    """The audit record: the capture event ids and the template id, never contact details."""
    return AuditEntry(
        at=now,
        actor=actor,
        action=action,
        entity="lead",
        entity_id=lead_id,
        after={**after, "channel": "email"},
        reason=reason,
    )


def too_late(message: QueuedMessage, now: datetime) -> bool:
    """Whether a form confirmation can no longer go (the capture is a day old)."""
    return message.kind == FORM_CONFIRMATION and now > message.created_at + CONFIRM_WITHIN
