"""Tasks on SQLAlchemy (the ``TaskStore`` port): work on a lead for whoever owns it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import LeadRouteRow, TaskRow
from leadflow.domain.tasks import label_of_task
from leadflow.services.routing.ports import Task

_TASKS = cast(Table, TaskRow.__table__)
_ROUTES = cast(Table, LeadRouteRow.__table__)
_FIELDS = [f.name for f in fields(Task)]


def task_of(row: Any) -> Task:
    """A ``tasks`` row as the port's :class:`Task`."""
    return Task(**{name: getattr(row, name) for name in _FIELDS})


class SqlTasks:
    """The tasks of leads, in one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_task(self, task: Task) -> Task:
        values = asdict(task)
        del values["id"]
        new_id = self.session.scalar(insert(_TASKS).values(**values).returning(_TASKS.c.id))
        return replace(task, id=int(new_id or 0))

    def get_task(self, task_id: int) -> Task | None:
        row = self.session.execute(
            select(_TASKS).where(_TASKS.c.id == task_id).with_for_update()
        ).first()
        return None if row is None else task_of(row)

    def open_tasks(self, lead_id: str) -> list[Task]:
        rows = self.session.execute(
            select(_TASKS)
            .where(_TASKS.c.lead_id == lead_id, _TASKS.c.status == "open")
            .order_by(_TASKS.c.due_at, _TASKS.c.id)
        )
        return [task_of(row) for row in rows]

    def close_task(self, task: Task, *, status: str, at: datetime, by: str, reason: str) -> Task:
        closed = replace(task, status=status, closed_at=at, closed_by=by, close_reason=reason)
        self.session.execute(
            update(_TASKS)
            .where(_TASKS.c.id == task.id)
            .values(status=status, closed_at=at, closed_by=by, close_reason=reason)
        )
        return closed


def task_list(
    session: Session,
    *,
    owners: Sequence[str] | None = None,
    lead_id: str | None = None,
    status: str | None = "open",
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Tasks with the lead's current owner and queue (a task is for whoever owns its lead),
    soonest due first; ``owners`` limits them to those members' leads."""
    query = (
        select(_TASKS, _ROUTES.c.owner, _ROUTES.c.queue)
        .join(_ROUTES, _ROUTES.c.lead_id == _TASKS.c.lead_id, isouter=True)
        .order_by(_TASKS.c.due_at, _TASKS.c.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(_TASKS.c.status == status)
    if lead_id is not None:
        query = query.where(_TASKS.c.lead_id == lead_id)
    if owners is not None:
        query = query.where(_ROUTES.c.owner.in_(list(owners)))
    return [
        asdict(task_of(row))
        | {"owner": row.owner, "queue": row.queue, "label": label_of_task(row.kind)}
        for row in session.execute(query)
    ]
