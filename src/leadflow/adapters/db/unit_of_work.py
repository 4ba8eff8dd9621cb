"""The unit of work on SQLAlchemy: one :class:`SqlUnitOfWork` per transaction (opened by
:class:`~leadflow.adapters.db.database.Database`), composing the repositories that share its
session. Use cases see only the ``UnitOfWork`` port and its repositories' ports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadflow.adapters.db.access_log import SqlAccessLog
from leadflow.adapters.db.accounts import SqlAccounts
from leadflow.adapters.db.apikeys import SqlApiKeys
from leadflow.adapters.db.app_secrets import database_secret
from leadflow.adapters.db.audit_log import SqlAuditLog
from leadflow.adapters.db.decision_queue import SqlDecisionQueue
from leadflow.adapters.db.leads import SqlLeads
from leadflow.adapters.db.nurture import SqlNurture
from leadflow.adapters.db.outbox import SqlWebhookOutbox
from leadflow.adapters.db.prune import SqlRetention
from leadflow.adapters.db.read_view import ReadView
from leadflow.adapters.db.requests import SqlRequests
from leadflow.adapters.db.routing import SqlRouting
from leadflow.adapters.db.tasks import SqlTasks


class SqlUnitOfWork:
    """A unit of work over one SQLAlchemy session (the ``UnitOfWork`` port): its work is
    committed together by :meth:`commit` or not at all.

    ``session`` is for the adapters in this package only (imports, reports); nothing outside
    ``adapters/db`` uses it.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.leads = SqlLeads(session)
        self.audit = SqlAuditLog(session)
        self.routing = SqlRouting(session)
        self.tasks = SqlTasks(session)
        self.nurture = SqlNurture(session)
        self.pending = SqlDecisionQueue(session)
        self.outbox = SqlWebhookOutbox(session)
        self.requests = SqlRequests(session)
        self.access = SqlAccessLog(session)
        self.keys = SqlApiKeys(session)
        self.retention = SqlRetention(session)

    @property
    def accounts(self) -> SqlAccounts:
        """Accounts and sessions in this unit of work (audited in its chain)."""
        return SqlAccounts(self.session, self.audit)

    @property
    def view(self) -> ReadView:
        """The read side inside this transaction (sees its own uncommitted writes)."""
        return ReadView(self.session)

    def secret(self, name: str, now: datetime) -> bytes:
        """This database's own secret ``name`` (made once, the first time it is asked for)."""
        return database_secret(self.session, name, now)

    def commit(self) -> None:
        self.audit.write_head()
        self.session.commit()
        self.audit.forget()

    def rollback(self) -> None:
        self.session.rollback()
        self.audit.forget()

    def flush(self) -> None:
        self.audit.write_head()
        self.session.flush()
