"""``leadflow assign`` and ``leadflow team …``: routing by hand from the command line.

The same service functions as the API (``POST /v1/leads/{id}/assign``, ``GET /v1/teams``,
``POST /v1/members/{id}/absences``), each in one unit of work, audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.common import fail, load_playbook_or_exit, parse_as_of, stderr
from leadflow.entrypoints.store_cli import DatabaseUrl, open_app
from leadflow.errors import InvalidRecordError, LeadflowError
from leadflow.services.routing.invariant import route_problems
from leadflow.services.routing.people import (
    Assigned,
    assign_lead,
    record_absence,
    team_overview,
    teams_of,
)

ACTOR = "cli:routing"

team_app = typer.Typer(
    help="Routing teams: members, their load and who is out of office.", no_args_is_help=True
)

Actor = Annotated[
    str | None,
    typer.Option(
        "--actor", metavar="NAME", help="Who is acting, recorded as `user:NAME` in the audit log."
    ),
]


def _message(exc: LeadflowError) -> str:
    if isinstance(exc, InvalidRecordError):
        return "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
    return str(exc)


def _actor(name: str | None) -> str:
    return f"user:{name}" if name else ACTOR


def assign_command(
    lead_id: Annotated[str, typer.Argument(metavar="LEAD_ID", help="The lead to assign.")],
    member: Annotated[
        str, typer.Argument(metavar="MEMBER", help="A member id of the lead's queue's team.")
    ],
    reason: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Why (kept in the history as `manual: TEXT`)."),
    ] = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give a lead in a routed stage to MEMBER of its queue's team (audited, `lead.assigned`
    webhook); its running SLA clock follows."""
    app = open_app(database_url, migrate=False)
    try:
        done: Assigned = app.db.run(
            lambda store: assign_lead(
                store,
                app.playbooks,
                lead_id,
                member,
                actor=_actor(actor),
                at=app.clock(),
                reason=reason,
            )
        )
    except LeadflowError as exc:
        fail(stderr(), _message(exc))
    finally:
        app.db.dispose()
    route = done.route
    due = done.sla_due_at.isoformat() if done.sla_due_at else "no running SLA"
    verb = "assigned to" if done.changed else "already owned by"
    typer.echo(f"{route.lead_id} {verb} {route.owner} (queue {route.queue}; due {due})")


def _days(days: list[str] | None) -> str:
    return "every open day" if days is None else ", ".join(d[:3].title() for d in days)


@team_app.command("list")
def team_list(
    playbook: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only this playbook's teams (name or YAML file)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The teams (of every playbook in use, or one): members, capacity, working days, open
    leads and who is away until when."""
    console = stderr()
    chosen = [load_playbook_or_exit(console, playbook)] if playbook is not None else None
    app = open_app(database_url, migrate=False)
    try:
        with app.db.view() as view:
            playbooks = chosen or view.playbooks_in_use(app.playbooks)
            loads = view.open_loads()
            away = view.away_until(app.clock())
    finally:
        app.db.dispose()
    teams: list[dict[str, Any]] = [team_overview(p, t, loads, away) for p, t in teams_of(playbooks)]
    if not teams:
        fail(console, "no team is defined in " + (playbook or "the playbooks in use"))
    for pb in dict.fromkeys(t["playbook"] for t in teams):
        table = Table(title=f"{pb} teams", title_justify="left")
        for column in ("team", "member", "capacity", "days", "open leads", "away until"):
            table.add_column(
                column, justify="right" if column in {"capacity", "open leads"} else "left"
            )
        for team in (t for t in teams if t["playbook"] == pb):
            for n, m in enumerate(team["members"]):
                name = m["id"] + (" (lead)" if m["id"] == team["lead"] else "")
                table.add_row(
                    team["id"] if n == 0 else "",
                    name,
                    "—" if m["capacity"] is None else str(m["capacity"]),
                    _days(m["days"]),
                    str(m["open_leads"]),
                    m["away"].strftime("%Y-%m-%d %H:%M UTC") if m["away"] else "",
                )
        Console(width=120).print(table)


@team_app.command("away")
def team_away(
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="The member's id.")],
    *,
    starts: Annotated[
        datetime,
        typer.Option(
            "--from",
            metavar="ISO-8601",
            parser=parse_as_of,
            help="Out of office from (no offset = UTC).",
        ),
    ],
    until: Annotated[
        datetime,
        typer.Option(
            "--until", metavar="ISO-8601", parser=parse_as_of, help="Back at (no offset = UTC)."
        ),
    ],
    note: Annotated[str | None, typer.Option(metavar="TEXT", help="E.g. annual leave.")] = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record that MEMBER is out of office: no new leads are assigned to them from --from
    until --until (leads they hold stay theirs). Audited (`member.absent`)."""
    app = open_app(database_url, migrate=False)

    def work(store: SqlUnitOfWork) -> int:
        return record_absence(
            store,
            store.view.playbooks_in_use(app.playbooks),
            member,
            starts_at=starts,
            ends_at=until,
            note=note,
            actor=_actor(actor),
            at=app.clock(),
        )

    try:
        absence_id = app.db.run(work)
    except LeadflowError as exc:
        fail(stderr(), _message(exc))
    finally:
        app.db.dispose()
    typer.echo(
        f"absence {absence_id}: {member} away from {starts.isoformat()} until {until.isoformat()}"
    )


@team_app.command("check")
def team_check(database_url: DatabaseUrl = None) -> None:
    """Check the routing invariant for every open lead: owner in the team of its queue, at
    most one running SLA clock, on that queue with the SLA of the lead's stage and band.
    Prints each lead that breaks it (ids only) and exits 1 if any does."""
    app = open_app(database_url, migrate=False)
    try:
        with app.db.view() as view:
            leads = view.routed_leads()
    finally:
        app.db.dispose()
    broken = 0
    for lead in leads:
        playbook_id = lead.route.playbook_id if lead.route is not None else None
        problems = (
            route_problems(app.playbooks(playbook_id), lead)
            if playbook_id is not None
            else [f"{len(lead.running)} running clock(s) without a route"]
        )
        if problems:
            broken += 1
            typer.echo(f"{lead.lead_id}: " + "; ".join(problems))
    typer.echo(f"{len(leads)} routed leads checked; {broken} break the invariant")
    if broken:
        raise typer.Exit(1)
