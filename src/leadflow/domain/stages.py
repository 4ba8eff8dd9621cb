"""Stages, their order, the sales actions and which stage allows which action."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Machine names of the lifecycle stages (the contract in PRODUCT.md)."""

    NEW = "new"
    NURTURE = "nurture"
    MQL = "mql"
    SALES_ACCEPTED = "sales_accepted"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
TERMINAL_STAGES: frozenset[Stage] = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
OPEN_STAGES: frozenset[Stage] = frozenset(STAGE_ORDER) - TERMINAL_STAGES


class SalesAction(StrEnum):
    """What a rep or intake coordinator can do to a lead (each becomes an event)."""

    ACCEPT = "accept"
    REJECT = "reject"
    DISCOVERY = "discovery"
    SCHEDULE = "schedule"
    DISQUALIFY = "disqualify"
    WIN = "win"
    LOSE = "lose"


_WORKED = frozenset({Stage.SALES_ACCEPTED, Stage.SQL, Stage.OPPORTUNITY})

ALLOWED_ACTIONS: dict[Stage, frozenset[SalesAction]] = {
    Stage.NEW: frozenset({SalesAction.DISQUALIFY}),
    Stage.NURTURE: frozenset({SalesAction.DISCOVERY, SalesAction.DISQUALIFY}),
    Stage.MQL: frozenset(
        {SalesAction.ACCEPT, SalesAction.REJECT, SalesAction.DISCOVERY, SalesAction.DISQUALIFY}
    ),
    Stage.SALES_ACCEPTED: frozenset(
        {
            SalesAction.REJECT,
            SalesAction.DISCOVERY,
            SalesAction.SCHEDULE,
            SalesAction.DISQUALIFY,
            SalesAction.LOSE,
        }
    ),
    Stage.SQL: frozenset(
        {
            SalesAction.REJECT,
            SalesAction.DISCOVERY,
            SalesAction.SCHEDULE,
            SalesAction.DISQUALIFY,
            SalesAction.WIN,
            SalesAction.LOSE,
        }
    ),
    Stage.OPPORTUNITY: frozenset(
        {SalesAction.DISCOVERY, SalesAction.DISQUALIFY, SalesAction.WIN, SalesAction.LOSE}
    ),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset(),
    Stage.DISQUALIFIED: frozenset(),
}

# Every stage change the engine can make. Marketing stages move both ways (decay and
# recycling are real); sales facts move a lead forward or back to nurture; won and lost
# are final.
ALLOWED_TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.NEW: frozenset(OPEN_STAGES | TERMINAL_STAGES) - {Stage.NEW},
    Stage.NURTURE: frozenset(OPEN_STAGES | TERMINAL_STAGES) - {Stage.NURTURE, Stage.NEW},
    Stage.MQL: frozenset(OPEN_STAGES | TERMINAL_STAGES) - {Stage.MQL, Stage.NEW},
    Stage.SALES_ACCEPTED: frozenset(_WORKED | TERMINAL_STAGES | {Stage.NURTURE, Stage.MQL})
    - {Stage.SALES_ACCEPTED},
    Stage.SQL: frozenset(_WORKED | TERMINAL_STAGES | {Stage.NURTURE, Stage.MQL}) - {Stage.SQL},
    Stage.OPPORTUNITY: frozenset(TERMINAL_STAGES | {Stage.NURTURE, Stage.SQL}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset(),
    # Only a disqualification by a playbook hard stop is lifted (a corrected profile) or
    # overridden (a later sales fact); one recorded by sales is final.
    Stage.DISQUALIFIED: frozenset(STAGE_ORDER) - {Stage.DISQUALIFIED},
}


def can_transition(before: Stage, after: Stage) -> bool:
    """Whether the lifecycle allows a lead to move from ``before`` to ``after``."""
    return before == after or after in ALLOWED_TRANSITIONS[before]


# What to do next at each sales stage when the playbook does not say otherwise; the
# marketing stages take the next action of the lead's score band.
DEFAULT_STAGE_ACTIONS: dict[Stage, str] = {
    Stage.SALES_ACCEPTED: "Complete discovery",
    Stage.SQL: "Book the appointment or evaluation",
    Stage.OPPORTUNITY: "Record the outcome",
    Stage.WON: "No further outreach: won",
    Stage.LOST: "No further outreach: lost",
    Stage.DISQUALIFIED: "No further outreach: disqualified",
}
