"""In-memory tasks (the ``TaskStore`` port)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from leadflow.services.routing.ports import Task


@dataclass
class FakeTasks:
    """Tasks in a list, as ``SqlTasks`` keeps them in ``tasks``."""

    tasks: list[Task] = field(default_factory=list)

    def add_task(self, task: Task) -> Task:
        stored = replace(task, id=len(self.tasks) + 1)
        self.tasks.append(stored)
        return stored

    def get_task(self, task_id: int) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def open_tasks(self, lead_id: str) -> list[Task]:
        found = [t for t in self.tasks if t.lead_id == lead_id and t.status == "open"]
        return sorted(found, key=lambda t: (t.due_at, t.id))

    def close_task(self, task: Task, *, status: str, at: datetime, by: str, reason: str) -> Task:
        closed = replace(task, status=status, closed_at=at, closed_by=by, close_reason=reason)
        self.tasks = [closed if t.id == task.id else t for t in self.tasks]
        return closed
