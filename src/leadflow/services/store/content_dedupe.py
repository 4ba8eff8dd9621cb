"""Content-based deduplication of webhook events that carry no id of their own.

A form tool that re-sends a submission under a new delivery id (or a person who submits the
same form twice) sends the same content again, sometimes with another time. An event
without an id of its own whose lead, type and properties (text compared without case or
extra spaces; the source's volatile properties left out) match an event of the same lead
within the window is a copy: it is not stored, and the answer names the event it repeats.
Events with their own ids (a call's id, a sender's event id) are never merged this way: two
real calls of the same length are two calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from leadflow.domain.events import Event
from leadflow.services.store.ports import UnitOfWork


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def content_key(event: Event, lead_id: str, ignore: Collection[str] = ()) -> str:
    """A hash of what an event says about its lead: type and normalised properties, without
    its id, its time or the properties in ``ignore``."""
    properties = {k: _normal(v) for k, v in event.properties.items() if k not in ignore}
    body = json.dumps(
        {"lead_id": lead_id, "type": event.type.value, "properties": properties},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ContentCopies:
    """The events to store, and each copy's id with the id of the event it repeats."""

    kept: list[Event] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)


def drop_recent_copies(
    store: UnitOfWork,
    events: Sequence[Event],
    *,
    keyed: Collection[str],
    window: timedelta,
    ignore: Collection[str] = (),
) -> ContentCopies:
    """``events`` without the copies among those whose ids are in ``keyed`` (ids made from
    content); a copy repeats a stored event of the same lead, or an earlier one of
    ``events``, whose time is at most ``window`` away. A zero window keeps everything."""
    result = ContentCopies()
    timelines: dict[str, list[Event]] = {}
    for event in events:
        lead = store.leads.get_lead(event.lead_id) if event.event_id in keyed else None
        if lead is None or window <= timedelta(0):
            result.kept.append(event)  # an unknown lead is reported when the events are stored
            continue
        timeline = timelines.get(lead.lead_id)
        if timeline is None:
            timeline = timelines[lead.lead_id] = list(store.leads.events_of(lead.lead_id))
        key = content_key(event, lead.lead_id, ignore)
        repeated = next(
            (
                other.event_id
                for other in timeline
                if other.type == event.type
                and other.event_id != event.event_id
                and abs(other.occurred_at - event.occurred_at) <= window
                and content_key(other, lead.lead_id, ignore) == key
            ),
            None,
        )
        if repeated is None:
            result.kept.append(event)
            timeline.append(event)
        else:
            result.copies[event.event_id] = repeated
    return result
