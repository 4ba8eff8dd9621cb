"""The one error tree of leadflow.

Every error leadflow raises on purpose derives from :class:`LeadflowError`. Messages name
files, rows, fields and rule ids, never a patient's or contact's values.
"""

from __future__ import annotations

from dataclasses import dataclass


class LeadflowError(Exception):
    """Base class of every error leadflow raises on purpose."""


@dataclass(frozen=True)
class PlaybookProblem:
    """One thing wrong with a playbook, located in its source file."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path + ': ' if self.path else ''}{self.message}"
        if self.suggestion:
            text += f" ({self.suggestion})"
        return text


class PlaybookError(LeadflowError):
    """A playbook could not be loaded; carries every problem found, each located."""

    def __init__(self, problems: list[PlaybookProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PlaybookNotFoundError(LeadflowError):
    """No shipped playbook has that name and no file exists at that path."""


@dataclass(frozen=True)
class RecordProblem:
    """One bad input row: which file, which row, which field, and what is wrong."""

    source: str
    row: int
    record_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        rid = f" ({self.record_id})" if self.record_id else ""
        fld = f" field `{self.field}`:" if self.field else ""
        return f"{self.source} row {self.row}{rid}:{fld} {self.message}"


class RecordError(LeadflowError):
    """A record cannot be used; carries the located problem."""

    def __init__(self, problem: RecordProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class InputFileError(LeadflowError):
    """A whole input file cannot be read (missing, wrong format, no header)."""


class ModelDataError(LeadflowError):
    """A data set cannot be used to train or apply a conversion model (no rows, no usable
    outcome column, no usable feature); the message names the file and the column."""


class WebhookSignatureError(LeadflowError):
    """An inbound webhook failed verification; ``code`` says why (no secret or signature is
    quoted)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class UnsubscribeTokenError(LeadflowError):
    """An unsubscribe link failed verification; ``code`` is ``bad_token`` or ``expired``
    (nothing about the lead is said)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class StoreError(LeadflowError):
    """The lead store refused a change; ``code`` names the kind, the message the record."""

    code = "store_error"


class LeadNotFoundError(StoreError):
    """No lead has that id (nor was merged under it)."""

    code = "lead_not_found"

    def __init__(self, lead_id: str) -> None:
        self.lead_id = lead_id
        super().__init__(f"no lead with id `{lead_id}`")


class EventConflictError(StoreError):
    """An event id is already stored with different content."""

    code = "event_conflict"

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"event `{event_id}` is already stored with different content; "
            "events are append-only, send a new event id"
        )


class ActionNotAllowedError(StoreError):
    """A sales action the lead's current stage does not allow."""

    code = "action_not_allowed"

    def __init__(self, lead_id: str, stage: str, action: str, allowed: list[str]) -> None:
        self.lead_id = lead_id
        self.stage = stage
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "none (the stage is final)"
        super().__init__(
            f"lead `{lead_id}` is at stage `{stage}`, which does not allow `{action}`; "
            f"allowed: {can}"
        )


class NotRoutedError(StoreError):
    """The lead is not in a routed stage (or its queue has no team), so it has no owner."""

    code = "not_routed"


class UnknownMemberError(StoreError):
    """An owner or absence names nobody on the team (or in the playbooks)."""

    code = "unknown_member"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class ConcurrentUpdateError(StoreError):
    """Another transaction changed the same rows first; the work can be retried."""

    code = "concurrent_update"


class InvalidRecordError(LeadflowError):
    """A request or file record has bad fields; ``problems`` names every one."""

    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
