"""Reading a lead's record as a role may see it — the one path for the API, the dashboard
and exports: free text raw or redacted by the role's :class:`~leadflow.domain.access.LeadView`,
and every read written to the access log before the record is returned."""

from __future__ import annotations

from typing import Any

from leadflow.adapters.db.access_log import RecordAccess
from leadflow.domain.access import TextView
from leadflow.entrypoints.api.deps import Principal
from leadflow.entrypoints.bootstrap import App


def read_lead_record(
    app: App, who: Principal, lead_id: str, channel: str, what: str
) -> dict[str, Any] | None:
    """The lead's record shaped for ``who`` (``None`` when there is no such lead)."""
    scanner = None if who.view.free_text is TextView.RAW else app.scanner
    with app.db.view() as snapshot:
        view = snapshot.lead(lead_id, scanner)
    if view is None:
        return None
    access = RecordAccess(
        view["lead_id"], app.clock(), who.actor, who.role, channel, what, view["free_text"]
    )
    app.db.run(lambda store: store.access.record([access]))
    return view
