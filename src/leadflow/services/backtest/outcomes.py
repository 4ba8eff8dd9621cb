"""The outcome a backtest scores against, and the instant each lead reached it.

- ``sql``: the lead's own sales history reached SQL. Precisely: at some sales or intake
  event instant ``t`` (``SALES_TYPES``), the engine, given every event up to ``t``, puts the
  lead in ``sql``, ``opportunity`` or ``won``; the outcome instant is the first such ``t``.
  A lead that passed through SQL and was later lost still counts.
- ``won``: a ``closed_won`` event; the instant is the first one.
- any other word: a lead column (a custom field) whose value is truthy (``1``, ``true``,
  ``yes``, ``won``, ``converted``, case-insensitive). A column carries no time, so the
  outcome instant is the lead's last event (or its ``created_at``) and time to outcome is
  unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.events import SALES_TYPES, Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage
from leadflow.errors import BacktestInputError

TRUTHY = frozenset({"1", "true", "yes", "y", "won", "converted"})
SQL_OR_BEYOND = frozenset({Stage.SQL, Stage.OPPORTUNITY, Stage.WON})


@dataclass(frozen=True)
class OutcomeSpec:
    """``sql``, ``won`` or the name of a lead column."""

    kind: str  # "sql", "won" or "column"
    column: str | None = None

    @property
    def label(self) -> str:
        """How reports name the outcome."""
        return self.column if self.column is not None else self.kind

    @property
    def timed(self) -> bool:
        """Whether the outcome has its own instant (a column does not)."""
        return self.column is None


def parse_outcome(text: str) -> OutcomeSpec:
    """``sql``, ``won`` or a column name (letters, digits, ``_``, ``.``, ``-``)."""
    word = text.strip()
    if word.lower() in ("sql", "won"):
        return OutcomeSpec(word.lower())
    if not word or not all(c.isalnum() or c in "_.-" for c in word):
        raise BacktestInputError(f"--outcome: expected sql, won or a column name, got `{text}`")
    return OutcomeSpec("column", word.removeprefix("custom."))


@dataclass(frozen=True)
class OutcomeHit:
    """When the lead reached the outcome; ``timed`` is false for a column outcome."""

    at: datetime
    timed: bool


def _sql_instant(
    profile: LeadProfile, events: Sequence[Event], playbook: Playbook, as_of: datetime
) -> datetime | None:
    instants = sorted({e.occurred_at for e in events if e.type in SALES_TYPES})
    for instant in instants:
        if instant > as_of:
            break
        if qualify(profile, events, playbook, instant).stage in SQL_OR_BEYOND:
            return instant
    return None


def find_outcome(
    spec: OutcomeSpec,
    profile: LeadProfile,
    events: Sequence[Event],
    playbook: Playbook,
    as_of: datetime,
) -> OutcomeHit | None:
    """The instant ``profile`` reached the outcome at or before ``as_of``, or ``None``."""
    if spec.kind == "won":
        won = [e.occurred_at for e in events if e.type is EventType.CLOSED_WON]
        first = min((t for t in won if t <= as_of), default=None)
        return OutcomeHit(first, True) if first is not None else None
    if spec.kind == "sql":
        instant = _sql_instant(profile, events, playbook, as_of)
        return OutcomeHit(instant, True) if instant is not None else None
    value = profile.value(spec.column or "")
    if value is None or str(value).strip().lower() not in TRUTHY:
        return None
    times = [e.occurred_at for e in events if e.occurred_at <= as_of]
    return OutcomeHit(max(times, default=profile.created_at) or as_of, False)
