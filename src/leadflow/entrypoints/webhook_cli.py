"""``leadflow webhook …`` (outbound endpoints, dead letters, replay) and ``leadflow worker``.

The worker is the one background loop of a deployment. Each pass first re-decides the leads
whose decision time alone may have changed
(:func:`~leadflow.services.store.time_driven.redecide_due`: decay, recheck dates), then runs
the SLA checks
(:func:`~leadflow.services.routing.sla.run_due`: reminders, breaches, escalation,
reassignment), delivers due outbound webhooks, then queues due nurture steps and sends due
messages through the consent gate (:func:`run_messages`). SIGINT and SIGTERM stop it
cleanly after the message in hand (a message interrupted harder is redelivered later under
the same ``webhook-id``: delivery is at least once).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated
from urllib.parse import urlsplit

import httpx
import typer
from rich.console import Console

from leadflow.adapters.db.outbox import EVENT_TYPES, SqlWebhookOutbox
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.messaging_sink import make_sink
from leadflow.adapters.webhooks.outbound import TIMEOUT_S, DeliveryReport, deliver_due
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.common import fail, stderr
from leadflow.entrypoints.decider_loop import DEFAULT_EVERY_S, start_decider
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.store_cli import DatabaseUrl, open_app, read_store, write_store
from leadflow.services.nurture_steps import step_due
from leadflow.services.routing.sla import SlaReport, run_due
from leadflow.services.sending import SendReport, Sink
from leadflow.services.store.decider import DecideReport, decide_queued
from leadflow.services.store.ports import AuditEntry
from leadflow.services.store.time_driven import TimeReport, redecide_due

ACTOR = "cli:webhook"

webhook_app = typer.Typer(
    help="Outbound webhooks: endpoints, dead letters and replay (sent by `leadflow worker`).",
    no_args_is_help=True,
)


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST (http or https).")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            metavar="TYPE",
            help=f"Event type to send (repeatable; one of: {', '.join(EVENT_TYPES)}). "
            f"Default: {EVENT_TYPES[0]}.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an endpoint and print its signing secret once (keep it; it is not shown again)."""
    events = event or [EVENT_TYPES[0]]
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> tuple[str, str]:
        endpoint, secret = store.outbox.add_endpoint(url, events, now)
        store.audit.append(
            AuditEntry(
                at=now,
                actor=ACTOR,
                action="webhook.endpoint_added",
                entity="webhook_endpoint",
                entity_id=endpoint.endpoint_id,
                after={"host": urlsplit(url).hostname, "events": endpoint.event_types},
            )
        )
        return endpoint.endpoint_id, secret

    try:
        endpoint_id, secret = write_store(database_url, work, migrate=True)
    except ValueError as exc:
        fail(stderr(), str(exc))
    kinds = ", ".join(events)
    say(stderr(), f"webhook endpoint {endpoint_id} for {kinds}; signing secret, shown once:")
    typer.echo(secret)


@webhook_app.command("list")
def webhook_list(database_url: DatabaseUrl = None) -> None:
    """List endpoints: id, state, event types and URL (never their secrets)."""
    for endpoint in read_store(database_url, lambda view: view.webhooks.endpoints()):
        state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
        typer.echo(
            f"{endpoint.endpoint_id}  {state}  {','.join(endpoint.event_types)}  {endpoint.url}"
        )


def _switch_endpoint(
    database_url: str | None,
    endpoint_id: str,
    change: Callable[[SqlWebhookOutbox], bool],
    action: str,
) -> None:
    """Enable or disable an endpoint, audited; fails when no endpoint has that id."""
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> bool:
        done = change(store.outbox)
        if done:
            store.audit.append(
                AuditEntry(
                    at=now,
                    actor=ACTOR,
                    action=f"webhook.endpoint_{action}",
                    entity="webhook_endpoint",
                    entity_id=endpoint_id,
                )
            )
        return done

    if not write_store(database_url, work):
        fail(stderr(), f"no webhook endpoint with id `{endpoint_id}`")
    typer.echo(f"{action} {endpoint_id}")


@webhook_app.command("disable")
def webhook_disable(
    endpoint_id: Annotated[str, typer.Argument(metavar="ID", help="The endpoint's id.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Disable an endpoint: nothing more is queued or sent to it; its pending messages become
    dead letters."""
    now = datetime.now(UTC)
    _switch_endpoint(
        database_url,
        endpoint_id,
        lambda outbox: outbox.disable(endpoint_id, "disabled from the CLI", now),
        "disabled",
    )


@webhook_app.command("enable")
def webhook_enable(
    endpoint_id: Annotated[str, typer.Argument(metavar="ID", help="The endpoint's id.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Enable an endpoint again (after a 410 or `disable`); replay its dead letters to resend
    them."""
    _switch_endpoint(
        database_url, endpoint_id, lambda outbox: outbox.enable(endpoint_id), "enabled"
    )


@webhook_app.command("dead")
def webhook_dead(database_url: DatabaseUrl = None) -> None:
    """List dead letters: messages that are not retried any more (`webhook replay` sends them
    again)."""
    letters = read_store(database_url, lambda view: view.webhooks.dead_letters())
    for letter in letters:
        when = letter.dead_at.isoformat() if letter.dead_at else "-"
        typer.echo(
            f"{letter.msg_id}  {letter.endpoint_id}  {letter.event_type}  "
            f"attempts={letter.attempts}  status={letter.last_status or '-'}  {when}  "
            f"{letter.last_error or ''}".rstrip()
        )
    say(stderr(), f"{len(letters)} dead letter{'s' if len(letters) != 1 else ''}")


@webhook_app.command("replay")
def webhook_replay(
    msg_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="The dead letter's message id (msg_…).")
    ] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="Replay every dead letter of enabled endpoints.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue a dead letter (or all) again under the same message id, with a fresh 3-day
    retry window; the worker sends it."""
    if (msg_id is None) == (not all_dead):
        fail(stderr(), "give a message id or --all-dead (not both)")
    now = datetime.now(UTC)

    def work(store: SqlUnitOfWork) -> list[str]:
        ids = store.outbox.replay(msg_id, now)
        for replayed in ids:
            store.audit.append(
                AuditEntry(
                    at=now,
                    actor=ACTOR,
                    action="webhook.replayed",
                    entity="webhook_message",
                    entity_id=replayed,
                )
            )
        return ids

    ids = write_store(database_url, work)
    if msg_id is not None and not ids:
        fail(stderr(), f"no dead letter `{msg_id}` of an enabled endpoint")
    typer.echo(f"replayed {len(ids)} message{'s' if len(ids) != 1 else ''}")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT or SIGTERM (main thread only); the old handlers come back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def work_once(app: App, client: httpx.Client, stop: threading.Event, batch: int) -> DeliveryReport:
    """One pass of the worker: deliver due webhooks, batch after batch, until none is due."""
    total = DeliveryReport()
    while not stop.is_set():
        report = deliver_due(
            app.db,
            app.clock(),
            client,
            batch,
            allow_private=app.settings.webhook_allow_private,
        )
        total = DeliveryReport(
            total.claimed + report.claimed,
            total.delivered + report.delivered,
            total.retrying + report.retrying,
            total.dead + report.dead,
        )
        if report.claimed < batch:
            break
    return total


@dataclass(frozen=True)
class MessagesReport:
    """What :func:`run_messages` did: nurture steps queued, and the messages sent or not."""

    queued: int = 0
    sent: SendReport = field(default_factory=SendReport)

    def __add__(self, other: MessagesReport) -> MessagesReport:
        return MessagesReport(self.queued + other.queued, self.sent + other.sent)

    @property
    def busy(self) -> bool:
        return bool(self.queued or self.sent.claimed)


def run_messages(app: App, now: datetime, sink: Sink, batch: int) -> MessagesReport:
    """Queue every nurture step due at ``now``, then send the messages due (batch after
    batch until fewer than ``batch`` are claimed), each through the consent gate."""
    queued = 0
    while True:
        done = step_due(app.db.run, app.playbooks, now, batch)
        queued += done
        if done < batch:
            break
    sent, sender = SendReport(), app.sender(sink)
    while True:
        report = sender.send_due(now, batch)
        sent += report
        if report.claimed < batch:
            break
    return MessagesReport(queued, sent)


def message_sink(app: App) -> Sink:
    """The sink the settings ask for: SMTP for email when set, else the local file."""
    settings = app.settings
    return make_sink(settings.smtp_url, settings.mail_from, Path(settings.message_file))


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over what is due, then exit.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, metavar="S", help="Seconds between passes.")
    ] = 5.0,
    batch: Annotated[
        int, typer.Option(min=1, max=1000, metavar="N", help="Messages claimed at a time.")
    ] = 20,
    decide_every: Annotated[
        float,
        typer.Option(
            min=0.01, max=60, metavar="S", help="Seconds between looks at appended events."
        ),
    ] = DEFAULT_EVERY_S,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the background worker: appended events decided (a decider thread, looking every
    `--decide-every` seconds), leads whose decision time alone has changed (decay, a
    recheck date) re-decided, SLA checks (reminders, breaches, escalation, reassignment),
    due outbound webhooks (at least once, with retries), due nurture steps and messages
    through the consent gate, until SIGINT or SIGTERM."""
    app = open_app(database_url, migrate=False)
    console = stderr()
    say(console, f"worker started: a pass every {interval:g} s" if not once else "worker: one pass")
    decided = _Decided()
    halt = None if once else start_decider(app, decide_every, decided.add)
    stop = threading.Event()
    total = DeliveryReport()
    messages = MessagesReport()
    clocks = SlaReport()
    timed = TimeReport()
    sink = message_sink(app)
    try:
        with (
            _stop_on_signals(stop),
            httpx.Client(follow_redirects=False, timeout=TIMEOUT_S) as client,
        ):
            while True:
                if once:
                    decided.add(decide_queued(app.db.run, app.playbooks, app.clock))
                _redecide(app, console, timed)
                checked = run_due(app.db.run, app.playbooks, app.clock(), batch)
                clocks += checked
                if checked != SlaReport():
                    say(console, _sla_summary(checked))
                report = work_once(app, client, stop, batch)
                total = DeliveryReport(
                    total.claimed + report.claimed,
                    total.delivered + report.delivered,
                    total.retrying + report.retrying,
                    total.dead + report.dead,
                )
                if report.claimed:
                    say(console, _summary(report))
                if not stop.is_set():
                    done = run_messages(app, app.clock(), sink, batch)
                    messages += done
                    if done.busy:
                        say(console, _messages_summary(done))
                if once or stop.wait(interval):
                    break
    finally:
        if halt is not None:
            halt()
        app.db.dispose()
    summary = f"{_summary(total)}; {_messages_summary(messages)}; {_sla_summary(clocks)}"
    summary += f"; {_time_summary(timed)}; {decided.summary()}"
    typer.echo(summary if once else f"worker stopped; {summary}")


@dataclass
class _Decided:
    """What the decider did over the worker's run (added to from its thread)."""

    leads: int = 0
    changed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, report: DecideReport) -> None:
        with self.lock:
            self.leads += report.leads
            self.changed += report.changed

    def summary(self) -> str:
        return f"decided: {self.leads} leads with appended events, {self.changed} changed stage"


def _redecide(app: App, console: Console, total: TimeReport) -> None:
    """Re-decide the leads whose time has come (batches of 200), adding to ``total``."""
    done = redecide_due(app.db.run, app.playbooks, app.clock())
    total.decided += done.decided
    total.changed += done.changed
    if done.decided:
        say(console, _time_summary(done))


def _time_summary(report: TimeReport) -> str:
    return f"time: {report.decided} leads re-decided, {report.changed} changed stage"


def _messages_summary(report: MessagesReport) -> str:
    sent = report.sent
    return (
        f"nurture: {report.queued} steps queued; messages: {sent.sent} sent, "
        f"{sent.skipped} skipped, {sent.deferred} deferred, {sent.retrying} to retry, "
        f"{sent.failed} failed"
    )


def _sla_summary(report: SlaReport) -> str:
    return (
        f"sla: {report.reminded} reminded, {report.breached} breached, "
        f"{report.escalated} escalated, {report.reassigned} reassigned, "
        f"{report.assigned} waiting leads assigned"
    )


def _summary(report: DeliveryReport) -> str:
    return (
        f"webhooks: {report.delivered} delivered, {report.retrying} to retry, "
        f"{report.dead} dead-lettered"
    )
