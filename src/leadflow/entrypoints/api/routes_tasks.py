"""Tasks on leads: the list per owner, a rep's new task, done and dismissed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.domain.tasks import DISMISS_REASONS, TaskKind
from leadflow.entrypoints.api.deps import AppDep, IdempotencyKey, ReadLeads, Route
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.routes_leads import ERRORS, LeadId
from leadflow.entrypoints.api.schemas import Strict
from leadflow.services.routing.tasks import add_task, close_task

router = APIRouter(tags=["tasks"])
TaskId = Annotated[int, Path(ge=1, le=2**62, description="the task's id")]


class TaskIn(Strict):
    """A rep's task on the lead, for whoever owns the lead."""

    kind: TaskKind
    due_at: datetime = Field(description="when it is due, with a time zone offset")


_CODES = ", ".join(f"`{code}`" for code in DISMISS_REASONS)


class DismissIn(Strict):
    """Why the task is dismissed: a code, never free text."""

    reason: str = Field(
        min_length=1,
        max_length=40,
        description="one of " + ", ".join(f"`{c}`" for c in DISMISS_REASONS),
    )


class TaskOut(BaseModel):
    """A task: ids, kind and times only (no lead data)."""

    id: int
    lead_id: str
    kind: str
    label: str
    due_at: datetime
    overdue: bool
    status: str
    owner: str | None = Field(description="the lead's owner now: tasks follow the lead")
    queue: str | None
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None


def _out(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    overdue = row["status"] == "open" and row["due_at"] <= now
    return TaskOut.model_validate(row | {"overdue": overdue}).model_dump(mode="json")


@router.get("/v1/tasks", response_model=list[TaskOut], responses=ERRORS, summary="Tasks")
def get_tasks(
    app: AppDep,
    _who: ReadLeads,
    owner: Annotated[str | None, Query(max_length=64, description="a member's id")] = None,
    lead_id: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[Literal["open", "done", "dismissed"], Query()] = "open",
) -> Any:
    """Tasks, soonest due first (at most 500): open ones by default, of one owner's leads
    or one lead. `overdue` is true for an open task past its due time."""
    with app.db.view() as view:
        rows = view.tasks(owners=None if owner is None else [owner], lead_id=lead_id, status=status)
    now = app.clock()
    return [_out(row, now) for row in rows]


def _one(store: SqlUnitOfWork, task_id: int, now: datetime) -> dict[str, Any]:
    (row,) = [r for r in store.view.tasks(status=None) if r["id"] == task_id]
    return _out(row, now)


@router.post(
    "/v1/leads/{lead_id}/tasks",
    status_code=201,
    response_model=TaskOut,
    responses=ERRORS,
    summary="Add a task on a lead",
)
def post_task(
    lead_id: LeadId, body: TaskIn, app: AppDep, who: Route, key: IdempotencyKey = None
) -> Any:
    """A callback, an appointment to book, a recheck … due at `due_at`, for whoever owns the
    lead. Audited (`task.created`). 404 `lead_not_found`."""

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        now = app.clock()
        task = add_task(store, lead_id, body.kind.value, body.due_at, actor=who.actor, at=now)
        return 201, _one(store, task.id, now)

    scope = f"{who.actor}|POST /v1/leads/{lead_id}/tasks"
    response: JSONResponse = run_idempotent(app, key, scope, body.model_dump_json(), work)
    return response


@router.post(
    "/v1/tasks/{task_id}/done", response_model=TaskOut, responses=ERRORS, summary="Task done"
)
def post_done(task_id: TaskId, app: AppDep, who: Route) -> Any:
    """Mark the task done (audited `task.done`); a closed task is returned as it is.
    404 `task_not_found`."""

    def work(store: SqlUnitOfWork) -> dict[str, Any]:
        now = app.clock()
        close_task(store, task_id, done=True, reason=None, actor=who.actor, at=now)
        return _one(store, task_id, now)

    return app.db.run(work)


@router.post(
    "/v1/tasks/{task_id}/dismiss",
    response_model=TaskOut,
    responses=ERRORS,
    summary="Dismiss a task",
)
def post_dismiss(task_id: TaskId, body: DismissIn, app: AppDep, who: Route) -> Any:
    """Dismiss the task with a reason code (audited `task.dismissed`); a closed task is
    returned as it is. 404 `task_not_found`."""

    def work(store: SqlUnitOfWork) -> dict[str, Any]:
        now = app.clock()
        close_task(store, task_id, done=False, reason=body.reason, actor=who.actor, at=now)
        return _one(store, task_id, now)

    return app.db.run(work)
