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
