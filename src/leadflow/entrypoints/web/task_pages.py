"""The dashboard's task forms: add a task on a lead, mark one done, dismiss one with a
reason code (the same services as ``/v1/tasks``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response

from leadflow.entrypoints.api.deps import AppDep
from leadflow.entrypoints.web.pages import Assign, LeadId, failed
from leadflow.entrypoints.web.render import CsrfChecked
from leadflow.errors import LeadflowError
from leadflow.services.routing.tasks import add_task, close_task

router = APIRouter(include_in_schema=False)
TaskId = Annotated[int, Path(ge=1, le=2**62)]
Back = Annotated[str, Form(max_length=200, pattern=r"^/(queue|leads/[^\x00]*)$")]


@router.post("/leads/{lead_id}/tasks")
def new_task(
    app: AppDep,
    who: Assign,
    _csrf: CsrfChecked,
    lead_id: LeadId,
    kind: Annotated[str, Form(max_length=30)],
    due: Annotated[str, Form(max_length=40)],
) -> Response:
    """A rep's task on the lead, due at the date and time given (UTC when no offset)."""
    back = f"/leads/{quote(lead_id)}"
    try:
        due_at = datetime.fromisoformat(due)
    except ValueError:
        return failed(back, "The task needs a due date and time.")
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    try:
        app.db.run(
            lambda store: add_task(store, lead_id, kind, due_at, actor=who.actor, at=app.clock())
        )
    except LeadflowError as exc:
        return failed(back, str(exc))
    return RedirectResponse(f"{back}?done=task_added", 303)


@router.post("/tasks/{task_id}/done")
def task_done(
    app: AppDep, who: Assign, _csrf: CsrfChecked, task_id: TaskId, back: Back = "/queue"
) -> Response:
    try:
        app.db.run(
            lambda store: close_task(
                store, task_id, done=True, reason=None, actor=who.actor, at=app.clock()
            )
        )
    except LeadflowError as exc:
        return failed(back, str(exc))
    return RedirectResponse(f"{back}?done=task_done", 303)


@router.post("/tasks/{task_id}/dismiss")
def task_dismiss(
    app: AppDep,
    who: Assign,
    _csrf: CsrfChecked,
    task_id: TaskId,
    reason: Annotated[str, Form(max_length=40)],
    back: Back = "/queue",
) -> Response:
    try:
        app.db.run(
            lambda store: close_task(
                store, task_id, done=False, reason=reason, actor=who.actor, at=app.clock()
            )
        )
    except LeadflowError as exc:
        return failed(back, str(exc))
    return RedirectResponse(f"{back}?done=task_dismissed", 303)
