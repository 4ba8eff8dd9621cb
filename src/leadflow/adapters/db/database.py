"""``Database``: the engine and the units of work opened on it.

:meth:`Database.run` retries a unit of work that lost a race (a unique key taken by a
concurrent transaction, or a serialization failure on PostgreSQL), so callers see either
their work committed once or a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from leadflow.adapters.db.engine import READ_ONLY
from leadflow.adapters.db.read_view import ReadView
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.errors import ConcurrentUpdateError

T = TypeVar("T")


class Database:
    """The engine and the units of work opened on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """A store whose work is rolled back unless committed; races become retryable errors."""
        with self._sessions() as session:
            store = SqlUnitOfWork(session)
            try:
                yield store
            except IntegrityError as exc:
                store.rollback()
                raise ConcurrentUpdateError(
                    "another request stored the same record first; retry the request"
                ) from exc
            except OperationalError as exc:
                store.rollback()
                if _is_serialization_failure(exc):
                    raise ConcurrentUpdateError("the database reported a conflict") from exc
                raise
            except BaseException:
                store.rollback()
                raise

    def run(self, work: Callable[[SqlUnitOfWork], T], attempts: int = 5) -> T:
        """Run ``work`` in a unit of work and commit, retrying a unit that lost a race."""
        for attempt in range(1, attempts + 1):
            try:
                with self.unit_of_work() as store:
                    result = work(store)
                    store.commit()
                    return result
            except ConcurrentUpdateError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (rolled back at the end: reads never write)."""
        with self._readers() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def view(self) -> Iterator[ReadView]:
        """The read side on one snapshot: what entry points read through (never a session)."""
        with self.read() as session:
            yield ReadView(session)

    def dispose(self) -> None:
        self.engine.dispose()


def _is_serialization_failure(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40001", "40P01"}
