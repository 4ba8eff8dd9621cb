"""The ``import_runs`` table: each file import's checkpoint, committed with its batches.

A run is named by the SHA-256 of the file's bytes, the kind of rows (``leads`` or
``events``) and the column mapping used, so the same file imported again finds its run, and
a changed file (or mapping) starts a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.tables import ImportRunRow
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.services.store.importing import RunState
from leadflow.services.store.ports import Clock, UnitOfWork

T = TypeVar("T")
_CHUNK = 1 << 20


def run_id(path: Path, kind: str, mapping: Mapping[str, object]) -> str:
    """The run's id: SHA-256 over the file's bytes, the kind and the mapping (as JSON)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    digest.update(b"\0" + kind.encode() + b"\0")
    digest.update(json.dumps(dict(mapping), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def run_state(session: Session, run: str) -> RunState:
    """The checkpoint of run ``run`` (row 0, not finished, when it never committed)."""
    row = session.get(ImportRunRow, run)
    return RunState() if row is None else RunState(row.rows_done, row.finished)


def save_progress(
    store: SqlUnitOfWork,
    run: str,
    *,
    kind: str,
    path: str,
    rows_done: int,
    finished: bool,
    at: datetime,
) -> None:
    """Record the checkpoint in ``store``'s transaction (committed with the batch's rows).

    On PostgreSQL the run's row is locked first, so two processes importing the same file
    take turns; a checkpoint never moves backwards.
    """
    query = select(ImportRunRow).where(ImportRunRow.id == run)
    if store.dialect == "postgresql":
        query = query.with_for_update()
    row = store.session.scalar(query)
    if row is None:
        store.session.add(
            ImportRunRow(
                id=run,
                kind=kind,
                path=path,
                rows_done=rows_done,
                finished=finished,
                started_at=at,
                updated_at=at,
            )
        )
    else:
        row.rows_done = max(row.rows_done, rows_done)
        row.finished = row.finished or finished
        row.path = path
        row.updated_at = at
    store.session.flush()


def list_runs(session: Session) -> list[ImportRunRow]:
    """Every run, oldest first."""
    return list(
        session.scalars(select(ImportRunRow).order_by(ImportRunRow.started_at, ImportRunRow.id))
    )


class SqlImportRun:
    """The ``ImportRun`` port for one file: batches commit through :meth:`Database.run`."""

    def __init__(self, db: Database, run: str, kind: str, path: str, clock: Clock) -> None:
        self.db = db
        self.id = run
        self.kind = kind
        self.path = path
        self.clock = clock

    def state(self) -> RunState:
        with self.db.read() as session:
            return run_state(session, self.id)

    def batch(self, work: Callable[[UnitOfWork], T], rows_done: int, finished: bool) -> T:
        def unit(store: SqlUnitOfWork) -> T:
            result = work(store)
            save_progress(
                store,
                self.id,
                kind=self.kind,
                path=self.path,
                rows_done=rows_done,
                finished=finished,
                at=self.clock(),
            )
            return result

        return self.db.run(unit)
