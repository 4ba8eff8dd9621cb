"""Request and response bodies of the routing endpoints: assignment, teams and absences."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from leadflow.entrypoints.api.schemas import AssignmentOut, RouteOut, Strict
from leadflow.services.routing.people import MAX_REASON


class AssignIn(Strict):
    """Give a routed lead to a member of its queue's team."""

    owner: str = Field(min_length=1, max_length=64, description="the member's id")
    reason: str | None = Field(
        None, max_length=MAX_REASON, description="why, kept in the history as `manual: …`"
    )


class AssignOut(BaseModel):
    """Where the lead is now and the history row the assignment added (``null`` when the
    member already owned it)."""

    lead_id: str
    changed: bool
    route: RouteOut
    assignment: AssignmentOut | None


class TeamMemberOut(BaseModel):
    id: str
    name: str
    email: str | None
    capacity: int | None = Field(description="most open leads at once; `null`: no limit")
    days: list[str] | None = Field(description="weekdays worked; `null`: every open day")
    open_leads: int
    away: datetime | None = Field(description="out of office until then; `null`: available")


class TeamOut(BaseModel):
    """A playbook's team: business hours, escalation lead, strategy and members."""

    playbook: str
    id: str
    label: str
    time_zone: str
    hours: dict[str, list[str]]
    holidays: list[str]
    lead: str | None
    assignment: str
    members: list[TeamMemberOut]


class AbsenceIn(Strict):
    """Out of office from ``starts_at`` until ``ends_at`` (both with a time zone offset)."""

    starts_at: datetime
    ends_at: datetime
    note: str | None = Field(None, max_length=500, examples=["annual leave"])


class AbsenceOut(BaseModel):
    id: int
    member_id: str
    starts_at: datetime
    ends_at: datetime
    note: str | None
    created_by: str
    created_at: datetime
