"""The people side of routing: assignment by hand, out-of-office, and the teams overview.

Shared by the API, the dashboard and the CLI, so that each calls one function. Assignment
goes through :func:`~leadflow.services.routing.sla.assign_by_hand` (history row, audit
record and ``lead.assigned`` webhook in the caller's unit of work); an absence is audited as
``member.absent``. Nothing here names a lead's details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from leadflow.domain.calendar import DAY_NAMES, BusinessHours
from leadflow.domain.playbook import Playbook, Team
from leadflow.errors import (
    InvalidRecordError,
    LeadNotFoundError,
    RecordProblem,
    UnknownMemberError,
)
from leadflow.services.routing.ports import LeadRoute
from leadflow.services.routing.sla import assign_by_hand
from leadflow.services.store.ports import AuditEntry, PlaybookLookup, UnitOfWork

MANUAL = "manual: "
MAX_REASON = 500  # a manual assignment's reason, kept in the history as `manual: …`
ABSENT = "member.absent"


@dataclass(frozen=True)
class Assigned:
    """Where an assigned lead is now, its running clock's due time, and whether it moved."""

    route: LeadRoute
    sla_due_at: datetime | None
    changed: bool


def _problem(field: str, message: str, record_id: str | None = None) -> InvalidRecordError:
    return InvalidRecordError([RecordProblem("request", 1, record_id, field, message)])


def assign_lead(
    store: UnitOfWork,
    playbooks: PlaybookLookup,
    lead_id: str,
    member_id: str,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
) -> Assigned:
    """Give the lead (following merges) to ``member_id`` of its queue's team.

    Raises :class:`LeadNotFoundError`, ``NotRoutedError`` (not in a routed stage) or
    ``UnknownMemberError`` (``owner`` is not on the team); a reason longer than
    :data:`MAX_REASON` characters is an invalid ``reason``.
    """
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise _problem("reason", f"at most {MAX_REASON} characters", lead_id)
    lead = store.leads.get_lead(lead_id)
    if lead is None:
        raise LeadNotFoundError(lead_id)
    store.leads.lock_lead(lead.lead_id)
    route = store.routing.route_of(lead.lead_id)
    before = route.owner if route is not None else None
    playbook = playbooks(lead.playbook)  # the name or file the lead was posted under
    moved = assign_by_hand(
        store, playbook, lead.lead_id, member_id, actor=actor, at=at, reason=reason
    )
    clock = store.routing.running_clock(lead.lead_id)
    return Assigned(moved, clock.due_at if clock is not None else None, before != moved.owner)


def teams_of(playbooks: Iterable[Playbook]) -> list[tuple[Playbook, Team]]:
    """Every team of ``playbooks``, in their order."""
    return [(playbook, team) for playbook in playbooks for team in playbook.teams]


def check_member(playbooks: Iterable[Playbook], member_id: str, field: str) -> None:
    """Raise :class:`UnknownMemberError` naming ``field`` unless some team has the member."""
    if any(team.member(member_id) for _, team in teams_of(playbooks)):
        return
    raise UnknownMemberError(
        field, f"`{member_id}` is not a member of any team of the playbooks in use"
    )


def record_absence(
    store: UnitOfWork,
    playbooks: Sequence[Playbook],
    member_id: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None,
    actor: str,
    at: datetime,
) -> int:
    """Record that ``member_id`` is out of office in ``[starts_at, ends_at)`` (no new leads
    are assigned to them then); audited. Returns the absence's id."""
    check_member(playbooks, member_id, "member_id")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _problem(name, "needs a time zone offset, e.g. Z")
    if ends_at <= starts_at:
        raise _problem("ends_at", "must be after starts_at")
    note = (note or "").strip() or None
    absence_id = store.routing.add_absence(
        member_id, starts_at=starts_at, ends_at=ends_at, note=note, by=actor, at=at
    )
    store.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action=ABSENT,
            entity="member",
            entity_id=member_id,
            after={
                "absence_id": absence_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
            reason=note,
        )
    )
    return absence_id


def _clock(t: time) -> str:
    return "24:00" if t == time.max else f"{t:%H:%M}"


def hours_by_day(hours: BusinessHours) -> dict[str, list[str]]:
    """The weekly opening hours as the playbook writes them: ``{"monday": ["08:00-18:00"]}``
    (closed days left out)."""
    return {
        name.lower(): [f"{_clock(a)}-{_clock(b)}" for a, b in day]
        for name, day in zip(DAY_NAMES, hours.week, strict=True)
        if day
    }


def team_overview(
    playbook: Playbook,
    team: Team,
    loads: Mapping[tuple[str, str], int],
    away: Mapping[str, datetime],
) -> dict[str, Any]:
    """One team as the API and the CLI show it: hours, lead, strategy and each member's
    capacity, working days, open leads (``loads`` by team and member) and absence end."""
    return {
        "playbook": playbook.id,
        "id": team.id,
        "label": team.label,
        "time_zone": team.hours.zone,
        "hours": hours_by_day(team.hours),
        "holidays": sorted(d.isoformat() for d in team.hours.holidays),
        "lead": team.lead,
        "assignment": team.assignment.value,
        "members": [
            {
                "id": m.id,
                "name": m.name,
                "email": m.email,
                "capacity": m.capacity,
                "days": None if m.days is None else [DAY_NAMES[d].lower() for d in sorted(m.days)],
                "open_leads": loads.get((team.id, m.id), 0),
                "away": away.get(m.id),
            }
            for m in team.members
        ],
    }
