"""Reason codes at the store's door: a rejection, disqualification or loss is stored with a
code its lead's playbook declares for that kind (docs/playbooks.md, ``reasons``).

What a person typed is matched case- and spacing-insensitively and stored as the code
("Not ready" → ``not_ready``); anything else is refused, naming the allowed codes and never
the value sent (it may be a patient's details). Actions (API, dashboard, demo), posted
events, webhooks and imports all pass here, so one reason is never stored two ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from leadflow.domain.events import Event, PropertyValue
from leadflow.domain.playbook import Playbook
from leadflow.domain.reasons import REASON_EVENTS, ReasonKind
from leadflow.domain.stages import SalesAction
from leadflow.errors import ActionInputError, InvalidRecordError, RecordProblem
from leadflow.services.store.ports import PlaybookLookup, StoredLead

# The actions that must say why, and the kind of reason each takes.
ACTION_REASONS: Mapping[SalesAction, ReasonKind] = MappingProxyType(
    {
        SalesAction.REJECT: ReasonKind.REJECT,
        SalesAction.DISQUALIFY: ReasonKind.DISQUALIFY,
        SalesAction.LOSE: ReasonKind.LOSE,
    }
)
REASON_FIELD = "properties.reason"


def unknown_reason(playbook: Playbook, kind: ReasonKind) -> str:
    """Why a reason was refused: the codes the playbook allows for ``kind``."""
    codes = ", ".join(f"`{code}`" for code in playbook.reasons.codes(kind))
    return (
        f"not a {kind.value} reason code of playbook `{playbook.id}` (case and spacing do not "
        f"matter); allowed: {codes}"
    )


def reason_code(playbook: Playbook, kind: ReasonKind, value: PropertyValue) -> str | None:
    """The declared code of ``kind`` that ``value`` names, or ``None``."""
    if not isinstance(value, str):
        return None
    found = playbook.reasons.match(kind, value)
    return None if found is None else found.code


def action_reason(playbook: Playbook, action: SalesAction, value: PropertyValue) -> str:
    """The code an action's ``reason`` names; :class:`ActionInputError` on ``reason``,
    with the allowed codes, when it names none."""
    kind = ACTION_REASONS[action]
    code = reason_code(playbook, kind, value)
    if code is None:
        allowed = playbook.reasons.codes(kind)
        raise ActionInputError("reason", unknown_reason(playbook, kind), allowed=allowed)
    return code


def event_reason(playbook: Playbook, event: Event) -> Event | str:
    """The event with its reason as a declared code (unchanged when it has no reason to
    check), or why its reason is refused. An event without a reason is kept: history
    brought in may lack one (the reports count it as no reason given)."""
    kind = REASON_EVENTS.get(event.type)
    value = event.prop("reason")
    if kind is None or value is None:
        return event
    code = reason_code(playbook, kind, value)
    if code is None:
        return unknown_reason(playbook, kind)
    if code == value:
        return event
    return replace(event, properties=MappingProxyType({**event.properties, "reason": code}))


def events_with_codes(
    events: Sequence[Event],
    leads: Mapping[str, StoredLead],
    playbooks: PlaybookLookup,
    source: str,
) -> list[Event]:
    """``events`` with every reason stored as its code; :class:`InvalidRecordError` naming
    each event (``row``: its place in ``events``) whose reason is not declared."""
    checked: list[Event] = []
    problems: list[RecordProblem] = []
    for row, event in enumerate(events, start=1):
        if event.type not in REASON_EVENTS:
            checked.append(event)
            continue
        outcome = event_reason(playbooks(leads[event.lead_id].playbook), event)
        if isinstance(outcome, str):
            problems.append(RecordProblem(source, row, event.event_id, REASON_FIELD, outcome))
        else:
            checked.append(outcome)
    if problems:
        raise InvalidRecordError(problems)
    return checked
