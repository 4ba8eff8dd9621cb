"""``leadflow lead …``: one lead's identity by hand (undoing a merge).

The same service as the API (``POST /v1/leads/{id}/unmerge``), in one unit of work, audited.
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadflow.entrypoints.common import fail, stderr
from leadflow.entrypoints.store_cli import DatabaseUrl, open_app
from leadflow.errors import LeadflowError
from leadflow.services.store.unmerge import Unmerged, unmerge_lead

ACTOR = "cli:unmerge"

lead_app = typer.Typer(help="One lead's identity: undo a merge.", no_args_is_help=True)


@lead_app.command("unmerge")
def unmerge_command(
    lead_id: Annotated[
        str, typer.Argument(metavar="LEAD_ID", help="The lead that was merged into another.")
    ],
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor", metavar="NAME", help="Who is acting, recorded as `user:NAME` in the audit."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Undo the merge of LEAD_ID: its own events, identities, consents and aliases go back
    to it, the lead it was merged into loses the fields the merge only filled in, and both
    are decided again (audited, `lead.unmerged`)."""
    app = open_app(database_url, migrate=False)
    who = f"user:{actor}" if actor else ACTOR
    try:
        done: Unmerged = app.db.run(
            lambda store: unmerge_lead(store, lead_id, app.context(who, "cli"))
        )
    except LeadflowError as exc:
        fail(stderr(), str(exc))
    finally:
        app.db.dispose()
    stages = ", ".join(f"{i} {o.decision.stage.value}" for i, o in done.outcomes.items())
    cleared = ", ".join(done.cleared_fields) or "none"
    typer.echo(
        f"{done.restored} is its own lead again (was merged into {done.survivor}); "
        f"fields cleared from {done.survivor}: {cleared}; stages: {stages}"
    )
