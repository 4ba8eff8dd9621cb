"""Request bodies turned into domain objects by the same parsers as files, so an API lead and
a CSV row obey the same rules; every bad field is reported at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from leadflow.adapters.records import RecordWarning, parse_lead
from leadflow.adapters.records.events import event_parser
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.api.schemas import EventIn, LeadIn
from leadflow.errors import InvalidRecordError, RecordProblem
from leadflow.services.store.intake import new_id

SOURCE = "request"
_NOT_FIELDS = {"custom", "consent", "external_id"}


def lead_from_body(body: LeadIn) -> LeadProfile:
    """The posted lead as a profile, or :class:`InvalidRecordError` naming every bad field.

    Unlike a file row, an invalid email or phone is an error here: the sender can fix it.
    """
    record: dict[str, Any] = {
        k: v for k, v in body.model_dump(exclude=_NOT_FIELDS).items() if v is not None
    }
    record["lead_id"] = body.lead_id or new_id("lead")
    if body.created_at is not None:
        record["created_at"] = body.created_at.isoformat()
    for name in ("consent_email", "consent_sms", "consent_phone"):
        if name in record:
            record[name] = "true" if record[name] else "false"
    record.update({f"custom.{k}": v for k, v in body.custom.items()})
    problems: list[RecordProblem] = []
    profile = None
    for item in parse_lead(record, SOURCE):
        if isinstance(item, LeadProfile):
            profile = item
        else:
            problems.append(_as_error(item) if isinstance(item, RecordWarning) else item)
    if problems or profile is None:
        raise InvalidRecordError(problems)
    return profile


def _as_error(warning: RecordWarning) -> RecordProblem:
    """A file keeps a row without a bad email or phone; a request is sent back to be fixed."""
    problem = warning.problem
    message = problem.message.split("; kept the row")[0]
    return RecordProblem(problem.source, problem.row, problem.record_id, problem.field, message)


def event_record(body: EventIn, lead_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": body.event_id or new_id("evt"),
        "lead_id": lead_id or body.lead_id,
        "type": body.type,
        "occurred_at": body.occurred_at,
        "properties": body.properties,
    }


def events_from_records(
    records: Sequence[dict[str, Any]], now: datetime, future_skew_s: int
) -> list[Event]:
    """Parsed events, or :class:`InvalidRecordError` naming every bad field of every item.

    An event without ``occurred_at`` happened when the server received it (``now``).
    """
    records = [
        r if r.get("occurred_at") is not None else {**r, "occurred_at": now.isoformat()}
        for r in records
    ]
    parse = event_parser(SOURCE)
    latest = now + timedelta(seconds=future_skew_s)
    events: list[Event] = []
    problems: list[RecordProblem] = []
    for row, record in enumerate(records, start=1):
        for item in parse(row, record):
            if isinstance(item, Event):
                if item.occurred_at > latest:
                    problems.append(
                        RecordProblem(
                            SOURCE,
                            row,
                            item.event_id,
                            "occurred_at",
                            f"in the future (more than {future_skew_s} s after the server's clock)",
                        )
                    )
                events.append(item)
            else:
                problems.append(_as_error(item) if isinstance(item, RecordWarning) else item)
    if problems:
        raise InvalidRecordError(problems)
    return events
