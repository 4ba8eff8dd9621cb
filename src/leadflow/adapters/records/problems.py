"""Problems found while reading records: errors reject a row, warnings only drop a value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflow.errors import RecordProblem


@dataclass(frozen=True)
class RecordWarning:
    """A value dropped from a row that is still used (an invalid email or phone number).

    A separate type from :class:`~leadflow.errors.RecordProblem` (which rejects its row), so
    that a consumer cannot count a kept row as rejected by accident.
    """

    problem: RecordProblem

    def __str__(self) -> str:
        return f"warning: {self.problem}"


Finding = RecordProblem | RecordWarning


class FirstRows:
    """Where each id of a file was first seen, so that a repeated id can be rejected."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._rows: dict[str, int] = {}

    def problem(self, record_id: str | None, row: int) -> str | None:
        """Why ``record_id`` at ``row`` is not acceptable (missing or repeated), or ``None``."""
        if record_id is None:
            return "required, but empty"
        first = self._rows.setdefault(record_id, row)
        return None if first == row else f"duplicate {self.what} (first at row {first})"


def located(
    source: str,
    row: int,
    record_id: str | None,
    errors: list[tuple[str, str]],
    warnings: list[tuple[str, str]],
) -> list[Finding]:
    """The ``(field, message)`` errors and warnings of one row, located in ``source``."""
    found: list[Finding] = [RecordProblem(source, row, record_id, f, m) for f, m in errors]
    found += (RecordWarning(RecordProblem(source, row, record_id, f, m)) for f, m in warnings)
    return found


def finding_record(finding: Finding) -> dict[str, Any]:
    """A JSON-ready record of a problem or warning (one line of a ``--rejects`` file)."""
    warning = isinstance(finding, RecordWarning)
    problem = finding.problem if isinstance(finding, RecordWarning) else finding
    return {
        "source": problem.source,
        "row": problem.row,
        "record_id": problem.record_id,
        "field": problem.field,
        "severity": "warning" if warning else "error",
        "message": problem.message,
    }
