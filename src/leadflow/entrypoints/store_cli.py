"""``leadflow serve``, ``db``, ``requalify`` and ``audit``: the commands over the lead store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table

from leadflow.adapters.db.apikeys import ROLES, ApiKey
from leadflow.adapters.db.engine import shown_url
from leadflow.adapters.db.migrate import current_revision, head_revision, upgrade
from leadflow.adapters.db.read_view import ReadView
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.common import config_failed, fail, parse_as_of, stderr
from leadflow.entrypoints.decider_loop import start_decider
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.settings import Settings
from leadflow.errors import ConfigError, LeadflowError
from leadflow.services.store.audit import verify_chain
from leadflow.services.store.ports import AuditEntry
from leadflow.services.store.requalify import requalify_all

CHAIN_BROKEN = 1
T = TypeVar("T")

db_app = typer.Typer(help="Create and migrate the lead store's database.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="SQLite file or PostgreSQL URL (default: $LEADFLOW_DATABASE_URL or sqlite:///leadflow.db).",
    ),
]


def settings_or_exit(database_url: str | None) -> Settings:
    """The settings from the environment, with ``--database-url`` taking precedence."""
    try:
        settings = Settings()
    except ValidationError as exc:
        fields = ", ".join("LEADFLOW_" + str(e["loc"][0]).upper() for e in exc.errors())
        fail(stderr(), f"invalid setting(s): {fields}")
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


def open_app(database_url: str | None, *, migrate: bool) -> App:
    """The wired application; with ``migrate``, an empty database is created first."""
    settings = settings_or_exit(database_url)
    try:
        app = bootstrap(settings, migrate=migrate)
    except ConfigError as exc:
        config_failed(stderr(), exc)
    except Exception as exc:  # the driver's own errors: name the database, not the password
        fail(stderr(), f"cannot open {shown_url(settings.database_url)}: {type(exc).__name__}")
    at, head = current_revision(app.db.engine), head_revision()
    if at != head:
        fail(
            stderr(),
            f"the database is at schema {at or 'none'}, this release needs {head}: "
            "run `leadflow db upgrade` first",
        )
    return app


def write_store(
    database_url: str | None, work: Callable[[SqlUnitOfWork], T], *, migrate: bool = False
) -> T:
    """Open the store, run ``work`` in one unit of work, commit, and close the store."""
    app = open_app(database_url, migrate=migrate)
    try:
        return app.db.run(work)
    finally:
        app.db.dispose()


def read_store(database_url: str | None, read: Callable[[ReadView], T]) -> T:
    """Open the store, run ``read`` on the read side, and close the store."""
    app = open_app(database_url, migrate=False)
    try:
        with app.db.view() as view:
            return read(view)
    finally:
        app.db.dispose()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create the tables or migrate them to this release's schema."""
    settings = settings_or_exit(database_url)
    app = bootstrap(settings)
    before, after = upgrade(app.db.engine)
    where = shown_url(settings.database_url)
    if before == after:
        typer.echo(f"{where}: already at schema {after}")
    else:
        typer.echo(f"{where}: schema {before or 'none'} → {after}")
    app.db.dispose()


@db_app.command("prune")
def db_prune(
    key_days: Annotated[
        float, typer.Option(min=1, help="Delete idempotency keys older than this many days.")
    ] = 2,
    delivery_days: Annotated[
        float,
        typer.Option(min=7, help="Delete inbound webhook delivery ids older than this many days."),
    ] = 8,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete idempotency keys and webhook delivery ids past their retention (at least 24 h
    and 7 days), and sessions and failed sign-in counts a day after they ended; a lead's
    history, the audit log and the access log are never pruned."""
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> tuple[int, int, int, int]:
        keys, deliveries = store.retention.requests(
            now, timedelta(days=key_days), timedelta(days=delivery_days)
        )
        return keys, deliveries, *store.retention.sign_ins(now)

    keys, deliveries, sessions, counts = write_store(database_url, work)
    typer.echo(f"deleted {keys} idempotency keys and {deliveries} webhook delivery ids")
    typer.echo(f"deleted {sessions} ended sessions and {counts} failed sign-in counts")


@db_app.command("status")
def db_status(database_url: DatabaseUrl = None) -> None:
    """Show the database's schema revision and the one this release needs."""
    settings = settings_or_exit(database_url)
    app = bootstrap(settings)
    at, head = current_revision(app.db.engine), head_revision()
    state = "up to date" if at == head else "needs `leadflow db upgrade`"
    typer.echo(
        f"{shown_url(settings.database_url)}: schema {at or 'none'} (release {head}): {state}"
    )
    app.db.dispose()


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    database_url: DatabaseUrl = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    decider: Annotated[
        bool,
        typer.Option(
            "--decider/--no-decider",
            help="Decide appended events in this process too (off when `leadflow worker` "
            "processes do it).",
        ),
    ] = True,
) -> None:
    """Start the HTTP API and the dashboard (an empty database is created first)."""
    app = open_app(database_url, migrate=True)
    banner = (
        f"leadflow API on http://{host}:{port} (database {shown_url(app.settings.database_url)}); "
        f"OpenAPI at http://{host}:{port}/docs"
    )
    serve_app(app, host, port, log_level, banner, decider=decider)


def serve_app(
    app: App, host: str, port: int, log_level: str, banner: str = "", *, decider: bool = True
) -> None:
    """Run the API and the dashboard over ``app`` until interrupted (with a decider thread
    for appended events unless ``decider`` is false); refuse to listen beyond this machine
    while leadflow is in open local mode (no users, no API keys)."""
    import uvicorn  # noqa: PLC0415 (only the serving commands need the server)

    from leadflow.entrypoints.api.app import create_app  # noqa: PLC0415
    from leadflow.entrypoints.api.deps import is_loopback  # noqa: PLC0415

    with app.db.view() as view:
        is_open = view.open_mode()
    if is_open and not is_loopback(host):
        app.db.dispose()
        fail(
            stderr(),
            f"refusing to listen on {host}: leadflow has no users and no API keys yet, so "
            "anyone who reaches it would act as an administrator. Create an account first "
            "(`leadflow user add EMAIL --role admin`) or listen on 127.0.0.1.",
        )
    if banner:
        say(stderr(), banner)

    halt = start_decider(app) if decider else None
    try:
        uvicorn.run(create_app(app), host=host, port=port, log_level=log_level)
    finally:
        if halt is not None:
            halt()
        app.db.dispose()


def requalify(
    as_of: Annotated[
        str | None, typer.Option(metavar="ISO-8601", help="Decide at this instant (default: now).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Leads per transaction.")
    ] = 500,
    database_url: DatabaseUrl = None,
) -> None:
    """Re-run the engine over every open lead (time decay, or a changed playbook) and show
    how many leads change stage, from what to what."""
    when = parse_as_of(as_of) or datetime.now(UTC)
    app = open_app(database_url, migrate=False)
    console = stderr()
    try:
        report = requalify_all(
            app.db.unit_of_work,
            app.playbooks,
            when,
            "cli:requalify",
            dry_run=dry_run,
            batch=batch_size,
        )
    except LeadflowError as exc:
        fail(console, str(exc))
    finally:
        app.db.dispose()
    table = Table(title=f"Stage changes at {when.isoformat()}" + (" (dry run)" if dry_run else ""))
    table.add_column("from")
    table.add_column("to")
    table.add_column("leads", justify="right")
    for (before, after), count in sorted(report.transitions.items(), key=lambda kv: -kv[1]):
        table.add_row(before or "(none)", after, str(count))
    if report.transitions:
        console.print(table)
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{report.leads} open leads re-qualified; {report.changed} {verb} stage")


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            metavar="HASH", help="The head hash recorded earlier (detects a cut-off tail)."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check every audit record's hash and link; exit 1 if a record was edited or deleted."""
    app = open_app(database_url, migrate=False)
    with app.db.view() as view:
        report = verify_chain(view.audit_chain())
    app.db.dispose()
    console = stderr()
    for problem in report.problems:
        say(console, f"audit: {problem}")
    if expect_head is not None and expect_head != report.head_hash:
        say(console, "audit: the head differs from the one expected (records cut off or replaced)")
        raise typer.Exit(CHAIN_BROKEN)
    if not report.ok:
        raise typer.Exit(CHAIN_BROKEN)
    typer.echo(f"audit chain intact: {report.count} records, head {report.head_hash}")


apikey_app = typer.Typer(
    help="API keys: once one exists, the API needs a key on every request.",
    no_args_is_help=True,
)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. `website-forms`.")],
    role: Annotated[
        str, typer.Option(help=f"One of: {', '.join(ROLES)}.", metavar="ROLE")
    ] = "marketing",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it once (only its hash is kept)."""
    if role not in ROLES:
        fail(stderr(), f"unknown role `{role}`; expected one of {', '.join(ROLES)}")
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> tuple[ApiKey, str]:
        key, text = store.keys.create(name, role, now)
        store.audit.append(
            AuditEntry(
                at=now,
                actor="cli:apikey",
                action="apikey.created",
                entity="api_key",
                entity_id=key.key_id,
                after={"name": name, "role": role},
            )
        )
        return key, text

    try:
        key, text = write_store(database_url, work, migrate=True)
    except ValueError as exc:
        fail(stderr(), str(exc))
    say(stderr(), f"API key {key.key_id} for `{name}` ({role}); shown once, keep it secret:")
    typer.echo(text)


@apikey_app.command("list")
def apikey_list(database_url: DatabaseUrl = None) -> None:
    """List keys (never their secrets)."""
    for key in read_store(database_url, lambda view: view.keys.all()):
        state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        typer.echo(f"{key.key_id}  {key.role:9}  {state:32}  {key.name}")


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `apikey list`).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key at once (rotate: create the new key first, then revoke the old)."""
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> ApiKey | None:
        key = store.keys.revoke(key_id, now)
        if key is not None:
            store.audit.append(
                AuditEntry(
                    at=now,
                    actor="cli:apikey",
                    action="apikey.revoked",
                    entity="api_key",
                    entity_id=key_id,
                )
            )
        return key

    key = write_store(database_url, work)
    if key is None:
        fail(stderr(), f"no API key with id `{key_id}`")
    typer.echo(f"revoked {key_id} ({key.name})")
