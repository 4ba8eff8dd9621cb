"""Routes, assignments, member claims, absences, SLA clocks and notices in SQL.

A mixin of :class:`~leadflow.adapters.db.store.SqlUnitOfWork` (the ``RoutingStore`` port).
Claiming a member locks that member's ``team_members`` row: on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, trying the next-best member when a concurrent transaction holds
the best one, so two assignments never read the same member's load and both pick them. On
SQLite, writing transactions already run one at a time (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadflow.adapters.db.chunks import in_chunks
from leadflow.adapters.db.tables import (
    AssignmentRow,
    DecisionRow,
    LeadRouteRow,
    MemberAbsenceRow,
    MessageRow,
    SlaClockRow,
    TeamMemberRow,
)
from leadflow.domain.decision import Route
from leadflow.domain.playbook import Assignment
from leadflow.services.routing.assign import member_rank
from leadflow.services.routing.invariant import RoutedLead
from leadflow.services.routing.ports import AssignmentChange, LeadRoute, Notice, SlaClock

_ROUTES = cast(Table, LeadRouteRow.__table__)
_MEMBERS = cast(Table, TeamMemberRow.__table__)
_CLOCKS = cast(Table, SlaClockRow.__table__)
_ABSENCES = cast(Table, MemberAbsenceRow.__table__)
_HISTORY = cast(Table, AssignmentRow.__table__)
_DECISIONS = cast(Table, DecisionRow.__table__)
_MESSAGES = cast(Table, MessageRow.__table__)
_CLOCK_FIELDS = [f.name for f in fields(SlaClock)]
_ROUTE_FIELDS = [f.name for f in fields(LeadRoute)]
_CLAIM_ROUNDS = 200  # ~8 s at most waiting for concurrent claims of the best members


def _clock(row: Any) -> SlaClock:
    values = {name: getattr(row, name) for name in _CLOCK_FIELDS}
    return SlaClock(**{**values, "purpose": values["purpose"] or "first_outreach"})


class SqlRouting:
    """The ``RoutingStore`` port on the unit of work's session (``uow.routing``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # -- routes and history ---------------------------------------------------------------
    def route_of(self, lead_id: str) -> LeadRoute | None:
        row = self.session.execute(select(_ROUTES).where(_ROUTES.c.lead_id == lead_id)).first()
        return None if row is None else LeadRoute(**{n: getattr(row, n) for n in _ROUTE_FIELDS})

    def save_route(self, route: LeadRoute) -> None:
        values = asdict(route)
        done = self.session.execute(
            update(_ROUTES).where(_ROUTES.c.lead_id == route.lead_id).values(**values)
        )
        if not cast(Any, done).rowcount:
            self.session.execute(insert(_ROUTES).values(**values))

    def routes_many(self, lead_ids: Sequence[str]) -> dict[str, Route]:
        """Open routes of ``lead_ids`` with the due time of their running clock, if any."""
        running = (
            select(_CLOCKS.c.lead_id, func.max(_CLOCKS.c.due_at).label("due_at"))
            .where(
                _CLOCKS.c.lead_id.in_(lead_ids),
                _CLOCKS.c.stopped_at.is_(None),
                _CLOCKS.c.closed_at.is_(None),
            )
            .group_by(_CLOCKS.c.lead_id)
            .subquery()
        )
        query = (
            select(_ROUTES.c.lead_id, _ROUTES.c.queue, _ROUTES.c.owner, running.c.due_at)
            .outerjoin(running, running.c.lead_id == _ROUTES.c.lead_id)
            .where(_ROUTES.c.lead_id.in_(lead_ids), _ROUTES.c.open.is_(True))
        )
        return {
            row.lead_id: Route(row.queue, row.owner, row.due_at)
            for row in self.session.execute(query)
        }

    def add_assignment(self, change: AssignmentChange) -> None:
        self.session.execute(insert(_HISTORY).values(**asdict(change)))

    # -- members ----------------------------------------------------------------------------
    def _ensure_members(self, team_id: str, member_ids: Sequence[str]) -> None:
        known = set(
            self.session.scalars(
                select(_MEMBERS.c.member_id).where(
                    _MEMBERS.c.team_id == team_id, _MEMBERS.c.member_id.in_(member_ids)
                )
            )
        )
        rows = [
            {"team_id": team_id, "member_id": m, "assigned_total": 0}
            for m in member_ids
            if m not in known
        ]
        if not rows:
            return
        maker = pg_insert if self.dialect == "postgresql" else sqlite_insert
        self.session.execute(maker(_MEMBERS).values(rows).on_conflict_do_nothing())

    def open_loads(self, team_id: str, member_ids: Sequence[str]) -> dict[str, int]:
        """Open leads held by each of ``member_ids`` in ``team_id``."""
        query = (
            select(_ROUTES.c.owner, func.count())
            .where(
                _ROUTES.c.team_id == team_id,
                _ROUTES.c.open.is_(True),
                _ROUTES.c.owner.in_(member_ids),
            )
            .group_by(_ROUTES.c.owner)
        )
        counts: dict[str, int] = {row[0]: row[1] for row in self.session.execute(query)}
        return {m: counts.get(m, 0) for m in member_ids}

    def _standing(
        self,
        team_id: str,
        ids: Sequence[str],
        capacity: dict[str, int | None],
        strategy: Assignment,
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Members under their cap, best first, each with its rank (committed data)."""
        order = {member: n for n, member in enumerate(ids)}
        state = {
            row.member_id: row
            for row in self.session.execute(
                select(_MEMBERS).where(_MEMBERS.c.team_id == team_id, _MEMBERS.c.member_id.in_(ids))
            )
        }
        loads = self.open_loads(team_id, ids)
        ranked = []
        for member in ids:
            cap = capacity[member]
            if cap is not None and loads[member] >= cap:
                continue
            row = state[member]
            rank = member_rank(
                strategy, loads[member], row.last_assigned_at, row.assigned_total, order[member]
            )
            ranked.append((rank, member))
        return sorted(ranked)

    def pick_member(
        self,
        team_id: str,
        candidates: Sequence[tuple[str, int | None]],
        strategy: Assignment,
        at: datetime,
    ) -> str | None:
        if not candidates:
            return None
        ids = [member for member, _ in candidates]
        capacity = dict(candidates)
        self._ensure_members(team_id, ids)
        if self.dialect != "postgresql":  # writers take turns: the best member is free
            standing = self._standing(team_id, ids, capacity, strategy)
            return self._claim(team_id, standing[0][1], at) if standing else None
        # Members as good as the best (same load; same turn in the rotation) are equally
        # right: claim any of them that no concurrent transaction holds. When all are held,
        # wait a moment and rank again, so every lead still goes to a best member.
        width = 1 if strategy is Assignment.LOAD_BALANCED else 2
        for attempt in range(_CLAIM_ROUNDS):
            standing = self._standing(team_id, ids, capacity, strategy)
            if not standing:
                return None  # everyone is at capacity
            best = standing[0][0][:width]
            for rank, member in standing:
                if rank[:width] != best:
                    break
                savepoint = self.session.begin_nested()
                if self._locked_best(team_id, member, ids, capacity, strategy, width):
                    self._claim(team_id, member, at)
                    savepoint.commit()
                    return member
                savepoint.rollback()  # releases the row lock taken after the savepoint
            time.sleep(min(0.05, 0.002 * (attempt + 1)))
        return None

    def _locked_best(  # noqa: PLR0917 (the claim's whole context)
        self,
        team_id: str,
        member: str,
        ids: Sequence[str],
        capacity: dict[str, int | None],
        strategy: Assignment,
        width: int,
    ) -> bool:
        """Lock ``member``'s row unless another transaction holds it, then check that under
        the lock (its load is now stable) it is still among the best."""
        locked = self.session.execute(
            select(_MEMBERS.c.member_id)
            .where(_MEMBERS.c.team_id == team_id, _MEMBERS.c.member_id == member)
            .with_for_update(skip_locked=True)
        ).first()
        if locked is None:
            return False
        again = {m: r[:width] for r, m in self._standing(team_id, ids, capacity, strategy)}
        return member in again and again[member] == min(again.values())

    def _claim(self, team_id: str, member: str, at: datetime) -> str:
        self.session.execute(
            update(_MEMBERS)
            .where(_MEMBERS.c.team_id == team_id, _MEMBERS.c.member_id == member)
            .values(last_assigned_at=at, assigned_total=_MEMBERS.c.assigned_total + 1)
        )
        return member

    def absent_members(self, member_ids: Sequence[str], at: datetime) -> set[str]:
        query = select(_ABSENCES.c.member_id).where(
            _ABSENCES.c.member_id.in_(member_ids),
            _ABSENCES.c.starts_at <= at,
            _ABSENCES.c.ends_at > at,
        )
        return set(self.session.scalars(query))

    # -- SLA clocks ---------------------------------------------------------------------------
    def running_clock(self, lead_id: str) -> SlaClock | None:
        row = self.session.execute(
            select(_CLOCKS)
            .where(
                _CLOCKS.c.lead_id == lead_id,
                _CLOCKS.c.stopped_at.is_(None),
                _CLOCKS.c.closed_at.is_(None),
            )
            .order_by(_CLOCKS.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _clock(row)

    def save_clock(self, clock: SlaClock) -> SlaClock:
        values = asdict(clock)
        del values["id"]
        if clock.id:
            self.session.execute(update(_CLOCKS).where(_CLOCKS.c.id == clock.id).values(**values))
            return clock
        new_id = self.session.scalar(insert(_CLOCKS).values(**values).returning(_CLOCKS.c.id))
        return replace(clock, id=int(new_id or 0))

    def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Up to ``limit`` clocks with something due at ``now``, locked for this transaction
        (PostgreSQL skips the ones another worker holds)."""
        query = (
            select(_CLOCKS)
            .where(_CLOCKS.c.next_check_at.is_not(None), _CLOCKS.c.next_check_at <= now)
            .order_by(_CLOCKS.c.next_check_at, _CLOCKS.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_clock(row) for row in self.session.execute(query)]

    def unassigned_routes(self, limit: int) -> list[LeadRoute]:
        """Open routes in a team's queue that nobody holds yet (nobody was free), oldest first."""
        query = (
            select(_ROUTES)
            .where(
                _ROUTES.c.open.is_(True),
                _ROUTES.c.owner.is_(None),
                _ROUTES.c.team_id.is_not(None),
            )
            .order_by(_ROUTES.c.updated_at, _ROUTES.c.lead_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [
            LeadRoute(**{n: getattr(row, n) for n in _ROUTE_FIELDS})
            for row in self.session.execute(query)
        ]

    def set_decision_route(self, lead_id: str, owner: str | None, due: datetime | None) -> None:
        row = self.session.execute(
            select(_DECISIONS.c.record).where(_DECISIONS.c.lead_id == lead_id)
        ).first()
        if row is None:
            return
        record = dict(row.record)
        record["route"] = {
            **record.get("route", {}),
            "owner": owner,
            "sla_due_at": due.isoformat() if due is not None else None,
        }
        self.session.execute(
            update(_DECISIONS)
            .where(_DECISIONS.c.lead_id == lead_id)
            .values(owner=owner, sla_due_at=due, record=record)
        )

    def add_absence(
        self,
        member_id: str,
        *,
        starts_at: datetime,
        ends_at: datetime,
        note: str | None,
        by: str,
        at: datetime,
    ) -> int:
        new_id = self.session.scalar(
            insert(_ABSENCES)
            .values(
                member_id=member_id,
                starts_at=starts_at,
                ends_at=ends_at,
                note=note,
                created_by=by,
                created_at=at,
            )
            .returning(_ABSENCES.c.id)
        )
        return int(new_id or 0)

    # -- notices ------------------------------------------------------------------------------
    def add_notice(self, notice: Notice) -> None:
        self.session.execute(
            insert(_MESSAGES).values(
                msg_id="msg_" + secrets.token_hex(12),
                lead_id=notice.lead_id,
                member_id=notice.member_id,
                kind=notice.kind,
                channel="email",
                subject=notice.subject,
                body=notice.body,
                to_address=notice.to_address,
                created_at=notice.at,
                due_at=notice.at,
                status="queued",
                attempts=0,
            )
        )


def routed_leads(session: Session) -> list[RoutedLead]:
    """Every lead with an open route or a running clock, as the invariant reads it."""
    routes = {
        row.lead_id: LeadRoute(**{n: getattr(row, n) for n in _ROUTE_FIELDS})
        for row in session.execute(select(_ROUTES).where(_ROUTES.c.open.is_(True)))
    }
    running: dict[str, list[SlaClock]] = {}
    for row in session.execute(
        select(_CLOCKS).where(_CLOCKS.c.stopped_at.is_(None), _CLOCKS.c.closed_at.is_(None))
    ):
        running.setdefault(row.lead_id, []).append(_clock(row))
    ids = sorted(routes.keys() | running.keys())
    decisions = {
        row.lead_id: row
        for chunk in in_chunks(ids)
        for row in session.execute(
            select(
                _DECISIONS.c.lead_id,
                _DECISIONS.c.stage,
                _DECISIONS.c.band,
                _DECISIONS.c.status,
                _DECISIONS.c.queue,
                _DECISIONS.c.owner,
            ).where(_DECISIONS.c.lead_id.in_(chunk))
        )
    }
    return [
        RoutedLead(
            lead_id=lead_id,
            route=routes.get(lead_id),
            running=running.get(lead_id, []),
            stage=getattr(decisions.get(lead_id), "stage", None),
            band=getattr(decisions.get(lead_id), "band", None),
            decision_queue=getattr(decisions.get(lead_id), "queue", None),
            decision_owner=getattr(decisions.get(lead_id), "owner", None),
            status=getattr(decisions.get(lead_id), "status", None),
        )
        for lead_id in ids
    ]
