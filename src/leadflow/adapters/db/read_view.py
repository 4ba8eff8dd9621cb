"""The read side: what the API, the dashboard and the commands read, on one snapshot.

:meth:`Database.view() <leadflow.adapters.db.database.Database.view>` opens a read-only
session and hands out a :class:`ReadView` over it; a unit of work has one too
(``uow.view``), for reads inside a transaction. Entry points read only through it: no
session, no SQL outside ``adapters/db``. The queries themselves live with their concept
(``reader``, ``reports``, ``export``, ``access_log``, ``accounts``, ``audit_log``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from leadflow.adapters.db import reader
from leadflow.adapters.db.access_log import MAX_LISTED, accesses_of
from leadflow.adapters.db.accounts import SqlAccounts, open_mode
from leadflow.adapters.db.apikeys import SqlApiKeys
from leadflow.adapters.db.audit_log import audit_chain
from leadflow.adapters.db.export import ExportFilters, export_rows
from leadflow.adapters.db.outbox import SqlWebhookOutbox
from leadflow.adapters.db.reports import read_report_facts
from leadflow.adapters.db.routing import routed_leads
from leadflow.adapters.db.tables import LeadRow
from leadflow.adapters.db.tasks import task_list
from leadflow.domain.playbook import Playbook
from leadflow.services.redaction import TextScanner
from leadflow.services.reports import ReportFacts, ReportFilters
from leadflow.services.reports.reasons import ReasonReader
from leadflow.services.routing.invariant import RoutedLead
from leadflow.services.store.audit import ChainedEntry


class ReadView:
    """Read-only queries on one session (one consistent snapshot)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- the store itself ----------------------------------------------------------------
    def ping(self) -> None:
        """Raises when the database does not answer."""
        self._session.execute(text("SELECT 1"))

    def lead_count(self, id_prefix: str = "") -> int:
        """Stored leads (merged ones included), or those whose id starts with ``id_prefix``."""
        query = select(func.count()).select_from(LeadRow)
        if id_prefix:
            query = query.where(LeadRow.id.startswith(id_prefix, autoescape=True))
        return int(self._session.scalar(query) or 0)

    def audit_chain(self) -> Iterator[ChainedEntry]:
        return audit_chain(self._session)

    # -- people and keys -----------------------------------------------------------------
    def open_mode(self) -> bool:
        return open_mode(self._session)

    @property
    def accounts(self) -> SqlAccounts:
        """Users and sign-in sessions (read here; changes go through a unit of work)."""
        return SqlAccounts(self._session)

    @property
    def keys(self) -> SqlApiKeys:
        return SqlApiKeys(self._session)

    @property
    def webhooks(self) -> SqlWebhookOutbox:
        """Outbound webhook endpoints and dead letters."""
        return SqlWebhookOutbox(self._session)

    # -- leads ---------------------------------------------------------------------------
    def lead(self, lead_id: str, scanner: TextScanner | None = None) -> dict[str, Any] | None:
        """One lead with timeline, history, consents and route (``reader.lead_view``)."""
        return reader.lead_view(self._session, lead_id, scanner)

    def lead_and_aliases(self, lead_id: str) -> list[str] | None:
        return reader.lead_and_aliases(self._session, lead_id)

    def leads(
        self, filters: reader.LeadFilters, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of leads, newest first, and the cursor of the next page."""
        return reader.list_leads(self._session, filters, cursor, limit)

    def names_of(self, lead_ids: list[str]) -> dict[str, str]:
        return reader.names_of(self._session, lead_ids)

    def stage_counts(self, playbook: str | None = None) -> dict[str, int]:
        return reader.stage_counts(self._session, playbook)

    def accesses_of(self, lead_ids: list[str], limit: int = MAX_LISTED) -> list[dict[str, Any]]:
        return accesses_of(self._session, lead_ids, limit)

    def export_rows(self, filters: ExportFilters) -> Iterator[dict[str, str]]:
        return export_rows(self._session, filters)

    def report_facts(
        self, filters: ReportFilters, as_of: datetime, reasons: ReasonReader
    ) -> ReportFacts:
        return read_report_facts(self._session, filters, as_of, reasons)

    # -- routing -------------------------------------------------------------------------
    def open_route(self, lead_id: str) -> dict[str, Any] | None:
        return reader.open_route(self._session, lead_id)

    def assignment_history(self, lead_id: str) -> list[dict[str, Any]]:
        return reader.assignment_history(self._session, lead_id)

    def work_queue(
        self, owner: str | None = None, queue: str | None = None
    ) -> list[dict[str, Any]]:
        return reader.work_queue(self._session, owner=owner, queue=queue)

    def tasks(
        self,
        *,
        owners: Sequence[str] | None = None,
        lead_id: str | None = None,
        status: str | None = "open",
    ) -> list[dict[str, Any]]:
        """Tasks (open ones by default) with their lead's current owner, soonest first."""
        return task_list(self._session, owners=owners, lead_id=lead_id, status=status)

    def open_loads(self) -> dict[tuple[str, str], int]:
        return reader.open_loads(self._session)

    def away_until(self, at: datetime) -> dict[str, datetime]:
        return reader.away_until(self._session, at)

    def absences_of(self, member_id: str) -> list[dict[str, Any]]:
        return reader.absences_of(self._session, member_id)

    def playbooks_in_use(self, load: Callable[[str], Playbook]) -> list[Playbook]:
        return reader.playbooks_in_use(self._session, load)

    def routed_leads(self) -> list[RoutedLead]:
        """Every lead with an open route or a running clock (the routing invariant's input)."""
        return routed_leads(self._session)
