"""The one error tree of leadflow, and how each error is answered over HTTP.

Every error leadflow raises on purpose derives from :class:`LeadflowError`. Messages name
files, rows, fields and rule ids, never a patient's or contact's values. Each class carries
its HTTP ``status`` and ``code``; the API's one handler answers any of them with the shared
shape ``{"error": {"code", "message", "problems", "allowed"?}}``, so a new error is answered
right by declaring its status here — nowhere else::

    LeadflowError                        500 internal_error
    ├── HttpError                        (its own status and code: a refused request)
    ├── PlaybookError, PlaybookNotFoundError, ConfigError, RecordError, InputFileError,
    │   ModelDataError
    ├── SourceMappingError               (a webhook source mapping file; at start-up)
    ├── WebhookSignatureError            401 webhook_<why>
    ├── UnsubscribeTokenError            (answered as a page: 400 bad_token, 410 expired)
    ├── AccountError, SsoError           (a person's account or sign-in; answered as pages)
    ├── BacktestInputError, DemoRetryError (command-line usage)
    ├── InvalidRecordError               422 invalid_record (every bad field a problem)
    └── StoreError                       409 store_error
        ├── LeadNotFoundError            404 lead_not_found
        ├── NotMergedError               409 not_merged (an unmerge of a lead not merged)
        ├── TaskNotFoundError            404 task_not_found
        ├── EventConflictError           409 event_conflict
        ├── ActionNotAllowedError        409 action_not_allowed (with ``allowed``)
        ├── ActionInputError             422 invalid_action (the field a problem; ``allowed``)
        ├── NotRoutedError               409 not_routed
        ├── UnknownMemberError           422 unknown_member (the field a problem)
        └── ConcurrentUpdateError        409 concurrent_update (``Retry-After: 1``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class LeadflowError(Exception):
    """Base class of every error leadflow raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    headers: dict[str, str] | None = None
    allowed: list[str] | None = None

    def http_problems(self) -> list[dict[str, Any]]:
        """The located problems an HTTP answer lists (none by default)."""
        return []

    def http_message(self) -> str:
        """The message an HTTP answer carries."""
        return str(self)

    def http_code(self) -> str:
        """The ``code`` an HTTP answer carries."""
        return self.code


class HttpError(LeadflowError):
    """A request refused with a status and code of its own (401, 403, 429 …)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: list[dict[str, Any]] | None = None,
        *,
        allowed: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems or []
        self.allowed, self.headers = allowed, headers

    def http_problems(self) -> list[dict[str, Any]]:
        return self.problems

    def http_message(self) -> str:
        return self.message


def invalid_field(field: str, message: str, code: str = "invalid_request") -> HttpError:
    """A 422 naming one bad field of a request."""
    return HttpError(
        422, code, "1 invalid field(s)", [{"field": field, "row": None, "message": message}]
    )


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


class ConfigError(LeadflowError):
    """The deployment file (``LEADFLOW_CONFIG``) could not be used; every problem, located."""

    def __init__(self, problems: list[PlaybookProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SourceMappingError(LeadflowError):
    """A webhook source mapping could not be loaded: every problem, each located in its file
    (line, column, key), like a playbook's."""

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
    quoted); the HTTP answer's code is ``webhook_<code>``."""

    status = 401

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)

    def http_code(self) -> str:
        return f"webhook_{self.code}"


class UnsubscribeTokenError(LeadflowError):
    """An unsubscribe link failed verification; ``code`` is ``bad_token`` or ``expired``
    (nothing about the lead is said)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class StoreError(LeadflowError):
    """The lead store refused a change; ``code`` names the kind, the message the record."""

    status = 409
    code = "store_error"


class LeadNotFoundError(StoreError):
    """No lead has that id (nor was merged under it)."""

    status = 404
    code = "lead_not_found"

    def __init__(self, lead_id: str) -> None:
        self.lead_id = lead_id
        super().__init__(f"no lead with id `{lead_id}`")


class NotMergedError(StoreError):
    """An unmerge of a lead that is not merged into another (or was merged before merges
    were recorded, schema 0008)."""

    status = 409
    code = "not_merged"

    def __init__(self, lead_id: str) -> None:
        self.lead_id = lead_id
        super().__init__(
            f"lead `{lead_id}` is not merged into another lead "
            "(or was merged before merges were recorded, schema 0008)"
        )


class TaskNotFoundError(StoreError):
    """No task has that id."""

    status = 404
    code = "task_not_found"

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        super().__init__(f"no task with id `{task_id}`")


class EventConflictError(StoreError):
    """An event id is already stored with different content."""

    status = 409
    code = "event_conflict"

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"event `{event_id}` is already stored with different content; "
            "events are append-only, send a new event id"
        )


class ActionNotAllowedError(StoreError):
    """A sales action the lead's current stage does not allow."""

    status = 409
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

    status = 409
    code = "not_routed"


class UnknownMemberError(StoreError):
    """An owner or absence names nobody on the team (or in the playbooks)."""

    status = 422
    code = "unknown_member"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)

    def http_problems(self) -> list[dict[str, Any]]:
        return [{"field": self.field, "row": None, "message": str(self)}]


class ActionInputError(StoreError):
    """A sales action without an input it needs (a reason, a discovery answer), or with a
    reason that is not a code its lead's playbook declares (``allowed``: the codes)."""

    status = 422
    code = "invalid_action"

    def __init__(self, field: str, message: str, *, allowed: list[str] | None = None) -> None:
        self.field = field
        self.allowed = allowed
        super().__init__(message)

    def http_problems(self) -> list[dict[str, Any]]:
        return [{"field": self.field, "row": None, "message": str(self)}]


class ConcurrentUpdateError(StoreError):
    """Another transaction changed the same rows first; the work can be retried."""

    status = 409
    code = "concurrent_update"
    headers = {"Retry-After": "1"}  # noqa: RUF012 (read only)


class InvalidRecordError(LeadflowError):
    """A request or file record has bad fields; ``problems`` names every one."""

    status = 422
    code = "invalid_record"

    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def http_problems(self) -> list[dict[str, Any]]:
        """The problems as the API lists them (``row`` is the item's number in a batch)."""
        return [{"field": p.field, "row": p.row, "message": p.message} for p in self.problems]

    def http_message(self) -> str:
        return f"{len(self.problems)} invalid field(s)"


class AccountError(LeadflowError):
    """An account command that cannot be done (unknown user, bad role, weak password)."""


class BacktestInputError(LeadflowError):
    """A backtest option that cannot be used (outcome, sweep or capacity); a usage error."""


class DemoRetryError(LeadflowError):
    """A unit of work of the demo fill was retried (another writer raced it)."""


class SsoError(LeadflowError):
    """Single sign-on failed; the message says at which step (never a token's content)."""
