"""``leadflow import`` and ``leadflow export``: files into the lead store and handoff CSVs out.

``import`` reads leads (and events) with the same readers as ``qualify``, stores them in
committed batches that carry the run's checkpoint, and resumes a killed run where its last
batch committed. ``export`` writes one CSV row per surviving lead and audits the export.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from leadflow.adapters.db.access_log import RecordAccess
from leadflow.adapters.db.engine import DatabaseError
from leadflow.adapters.db.export import EXPORT_COLUMNS, ExportFilters
from leadflow.adapters.db.imports import SqlImportRun, run_id
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.records import Finding, RecordWarning
from leadflow.adapters.records.events import event_parser
from leadflow.adapters.records.leads import parse_lead
from leadflow.adapters.records.mapping import EVENT_CORE_FIELDS
from leadflow.adapters.records.presets import PRESETS, preset_text
from leadflow.adapters.records.problems import FirstRows
from leadflow.adapters.records.recode import Recoding
from leadflow.adapters.records.sources import RecordFile, iter_rows, open_records
from leadflow.domain.events import Event
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.common import config_failed, fail, stderr
from leadflow.entrypoints.import_setup import ImportSetup, import_setup
from leadflow.entrypoints.qualify_run import replacing
from leadflow.entrypoints.reporting import PROGRESS_MIN_BYTES, ConsoleReporter, say
from leadflow.entrypoints.settings import Settings
from leadflow.errors import (
    ConfigError,
    InputFileError,
    PlaybookError,
    PlaybookNotFoundError,
    RecordProblem,
)
from leadflow.services.store.decider import decide_queued
from leadflow.services.store.importing import DEFAULT_BATCH, ImportResult, import_rows
from leadflow.services.store.ports import AuditEntry

ROWS_REJECTED = 1
IMPORT_ACTOR = "cli:import"
EXPORT_ACTOR = "cli:export"
_Item = TypeVar("_Item", LeadProfile, Event)
_Parsed = LeadProfile | Event | Finding

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="SQLAlchemy URL of the lead store. Default: LEADFLOW_DATABASE_URL, else "
        "sqlite:///leadflow.db.",
    ),
]


# -- reading numbered rows ----------------------------------------------------------------
def _numbered(
    file: RecordFile, parse: Callable[[int, Mapping[str, object]], Iterable[_Parsed]]
) -> Iterator[tuple[int, _Parsed]]:
    for item in iter_rows(file):
        if isinstance(item, RecordProblem):
            yield item.row or 0, item
        else:
            row, record = item
            for parsed in parse(row, record):
                yield row, parsed


def _lead_parser(source: str) -> Callable[[int, Mapping[str, object]], list[_Parsed]]:
    """``parse_lead`` plus the file-wide check that a lead id is not repeated."""
    seen = FirstRows("lead id")

    def parse(row: int, record: Mapping[str, object]) -> list[_Parsed]:
        items: list[_Parsed] = list(parse_lead(record, source, row))
        lead_id = next(
            (i.lead_id for i in items if isinstance(i, LeadProfile)),
            next((i.record_id for i in items if isinstance(i, RecordProblem)), None),
        )
        why = seen.problem(lead_id, row) if lead_id is not None else None
        if why is None:
            return items
        repeated: list[_Parsed] = [RecordProblem(source, row, lead_id, "lead_id", why)]
        return repeated + [i for i in items if not isinstance(i, LeadProfile)]

    return parse


def numbered_leads(
    path: Path, mapping: Mapping[str, str], recode: Recoding | None = None
) -> Iterator[tuple[int, _Parsed]]:
    """``(row, lead or finding)`` in file order (the file is checked when this is called)."""
    file = open_records(path, mapping, ("lead_id",), recode)
    return _numbered(file, _lead_parser(file.name))


def numbered_events(
    path: Path, mapping: Mapping[str, str], recode: Recoding | None = None
) -> Iterator[tuple[int, _Parsed]]:
    """``(row, event or finding)`` in file order (the file is checked when this is called)."""
    file = open_records(path, mapping, EVENT_CORE_FIELDS, recode)
    return _numbered(file, event_parser(file.name))


class _Rows:
    """Passes findings to the reporter and counts the rows they reject."""

    def __init__(self, reporter: ConsoleReporter, leads_source: str) -> None:
        self.reporter = reporter
        self.leads_source = leads_source
        self.rejected: set[tuple[str, int]] = set()
        self.rejected_leads: dict[str, str] = {}  # lead id → where its rejected row was

    def finding(self, finding: Finding) -> None:
        if not isinstance(finding, RecordWarning):
            self.rejected.add((finding.source, finding.row or 0))
            if finding.source == self.leads_source and finding.record_id:
                where = f"{finding.source} row {finding.row}"
                self.rejected_leads.setdefault(finding.record_id, where)
        self.reporter.finding(finding)

    def keep(
        self, pairs: Iterable[tuple[int, _Parsed]], kind: type[_Item]
    ) -> Iterator[tuple[int, _Item]]:
        for row, item in pairs:
            if isinstance(item, kind):
                yield row, item
            elif isinstance(item, RecordProblem | RecordWarning):
                self.finding(item)


# -- progress -------------------------------------------------------------------------------
def _count_rows(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            lines += chunk.count(b"\n")
    return max(0, lines - 1) if path.suffix.lower() == ".csv" else lines


@contextmanager
def _progress(console: Console, path: Path, label: str) -> Iterator[Callable[[int], None]]:
    """A bar on stderr (a terminal and a large file only), moved to the last committed row."""
    try:
        big = path.stat().st_size >= PROGRESS_MIN_BYTES
    except OSError:
        big = False
    if not console.is_terminal or not big:
        yield lambda _row: None
        return
    bar = Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=_count_rows(path))
    with bar:
        yield lambda row: bar.update(task, completed=row)


# -- wiring ---------------------------------------------------------------------------------
def _settings(console: Console, database_url: str | None, **overrides: str | None) -> Settings:
    given: dict[str, Any] = {"database_url": database_url, **overrides}
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fail(console, f"settings: {exc.errors()[0]['msg']}")


def _open_app(console: Console, database_url: str | None, settings: Settings | None = None) -> App:
    settings = settings or _settings(console, database_url)
    try:
        return bootstrap(settings, migrate=True)
    except ConfigError as exc:
        config_failed(console, exc)
    except (DatabaseError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        fail(console, f"cannot open the lead store ({type(exc).__name__}: {first})")


@dataclass(frozen=True)
class _Job:
    kind: str
    path: Path
    mapping: Mapping[str, object]  # what names the run besides the file: see ImportSetup
    rows: Callable[[_Rows], Iterator[tuple[int, Any]]]
    recoding: Recoding


def _run_job(app: App, job: _Job, rows: _Rows, console: Console, batch_size: int) -> ImportResult:
    run = SqlImportRun(
        app.db, run_id(job.path, job.kind, job.mapping), job.kind, str(job.path), app.clock
    )
    state = run.state()
    name = job.path.name
    if state.finished:
        say(console, f"{name}: already imported ({state.rows_done} rows); nothing to do")
        return ImportResult(job.kind, state.rows_done, already_done=True)
    if state.rows_done:
        say(console, f"{name}: resuming at row {state.rows_done + 1}")
    source = f"import:{name}"
    label = f"Importing {job.kind}"
    with _progress(console, job.path, label) as moved:
        return import_rows(
            job.kind,
            job.rows(rows),
            run,
            lambda: app.context(IMPORT_ACTOR, source, imported=True, defer=True),
            source=name,
            batch_size=batch_size,
            refused=rows.finding,
            progress=moved,
            rejected_leads=rows.rejected_leads,
        )


def _decide_imported(app: App, console: Console, batch_size: int) -> None:
    """Decide each lead the import touched once, now that all its rows are stored (the rows
    queued them; a run stopped here decides them when run again, or a worker does)."""
    done = decide_queued(app.db.run, app.playbooks, app.clock, limit=min(batch_size, 500))
    if done.leads:
        say(console, f"decided {_plural(done.leads, 'lead')}: {done.changed} changed stage")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def import_summary(results: list[ImportResult], rejected: int) -> str:
    """``leads 13 created, 0 matched; events 47 stored, 0 duplicates; 0 rows rejected``."""
    parts = []
    for result in results:
        if result.kind == "leads":
            text = f"leads {result.leads_created} created, {result.leads_matched} matched"
        else:
            text = f"events {result.events_stored} stored, {result.events_duplicate} duplicates"
        if result.already_done:
            text += " (already imported)"
        elif result.resumed_at:
            text += f" (resumed after row {result.resumed_at})"
        parts.append(text)
    parts.append(f"{_plural(rejected, 'row')} rejected")
    return "; ".join(parts)


def _jobs(setup: ImportSetup, leads_file: Path, events: Path | None) -> list[_Job]:
    """The files to import, checked (type, header) before anything is stored."""
    columns = setup.columns
    numbered_leads(leads_file, columns.leads)
    if events is not None:
        numbered_events(events, columns.events)
    lead_codes = setup.recoding("leads")
    jobs = [
        _Job(
            "leads",
            leads_file,
            setup.run_key("leads"),
            lambda rows: rows.keep(
                numbered_leads(leads_file, columns.leads, lead_codes), LeadProfile
            ),
            lead_codes,
        )
    ]
    if events is not None:
        events_file, event_codes = events, setup.recoding("events")
        jobs.append(
            _Job(
                "events",
                events_file,
                setup.run_key("events"),
                lambda rows: rows.keep(
                    numbered_events(events_file, columns.events, event_codes), Event
                ),
                event_codes,
            )
        )
    return jobs


def _check_playbook(console: Console, app: App, playbook: str | None) -> None:
    if playbook is None:
        return
    try:
        app.playbooks(playbook)
    except (PlaybookNotFoundError, PlaybookError) as exc:
        app.db.dispose()
        fail(console, f"--playbook: {str(exc)[:300]}")


def _utc_notes(console: Console, jobs: list[_Job]) -> None:
    for job in jobs:
        count = job.recoding.naive_as_utc
        if count:
            say(
                console,
                f"{job.path.name}: {_plural(count, 'date-time')} without a UTC offset read as "
                "UTC; if the file used another zone, give --time-zone and import again",
            )


def import_command(
    leads_file: Annotated[
        Path, typer.Argument(metavar="LEADS_FILE", help="Leads: .csv or .jsonl.")
    ],
    *,
    events: Annotated[
        Path | None, typer.Option(metavar="EVENTS_FILE", help="Events: .csv or .jsonl.")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Column mapping (YAML or JSON) for CRM exports."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help=f"A shipped mapping for a CRM export: {', '.join(PRESETS)} "
            "(print one with `leadflow preset NAME`).",
        ),
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option(
            metavar="ZONE",
            help="IANA time zone of date-times without a UTC offset (e.g. America/New_York). "
            "Default: LEADFLOW_IMPORT_TIME_ZONE, else UTC; a preset requires one.",
        ),
    ] = None,
    playbook: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Playbook for leads that name none (default: the setting)."
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write every row problem here as JSON Lines."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, metavar="N", help="Rows per committed batch.")
    ] = DEFAULT_BATCH,
    database_url: DatabaseUrl = None,
) -> None:
    """Import leads (and events) into the lead store, exactly once and resumably.

    Each batch commits with the run's checkpoint; run the same command again after a crash
    and it resumes after the last committed row (a finished file is not read again). Exit
    code 0 when every row was stored, 1 when some rows were rejected (the good ones are
    stored), 2 when the files, options or database cannot be used.
    """
    console = stderr()
    settings = _settings(console, database_url)
    try:
        setup, zone_from = import_setup(
            mapping=mapping,
            preset=preset,
            zone_option=time_zone,
            zone_setting=settings.import_time_zone,
            playbook=playbook,
        )
        jobs = _jobs(setup, leads_file, events)
    except InputFileError as exc:
        fail(console, str(exc))
    app = _open_app(console, database_url, settings)
    _check_playbook(console, app, playbook)
    if playbook is not None:  # leads that name none: this playbook, not the deployment's rules
        app = replace(app, choice=PlaybookChoice(rules=(), default=playbook, source="--playbook"))
    note = setup.zone_note(zone_from)
    if note:
        say(console, note)
    results: list[ImportResult] = []
    try:
        with ExitStack() as stack:
            handle = stack.enter_context(replacing(rejects)) if rejects is not None else None
            rows = _Rows(ConsoleReporter(console, handle), leads_file.name)
            for job in jobs:
                results.append(_run_job(app, job, rows, console, batch_size))
            _decide_imported(app, console, batch_size)
    except (InputFileError, OSError) as exc:
        fail(console, str(exc))
    except DatabaseError as exc:
        fail(console, f"the lead store failed ({type(exc).__name__}); run the command again")
    finally:
        app.db.dispose()
    _utc_notes(console, jobs)
    say(console, import_summary(results, len(rows.rejected)))
    if rows.rejected:
        raise typer.Exit(ROWS_REJECTED)


def preset_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help=f"One of {', '.join(PRESETS)}.")],
) -> None:
    """Print a shipped CRM mapping (a preset) to copy and edit: `leadflow preset hubspot >
    my-mapping.yaml`, then `leadflow import FILE --mapping my-mapping.yaml`."""
    try:
        text = preset_text(name)
    except InputFileError as exc:
        fail(stderr(), str(exc))
    typer.echo(text, nl=False)


# -- export ---------------------------------------------------------------------------------
_FORMULA_START = ("=", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (numbers such as ``+1617…`` kept)."""
    if value.startswith(_FORMULA_START):
        return "'" + value
    if value[:1] in ("+", "-") and not value[1:].replace(".", "", 1).isdigit():
        return "'" + value
    return value


def _stages(console: Console, stages: list[str] | None) -> tuple[str, ...]:
    known = [s.value for s in Stage]
    for stage in stages or []:
        if stage not in known:
            fail(console, f"--stage `{stage[:40]}`: expected one of {', '.join(known)}")
    return tuple(dict.fromkeys(stages or []))


EXPORT_WHAT = "handoff export (leadflow export)"


def export_command(
    *,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE.csv", help="Write the CSV here.")
    ],
    stage: Annotated[
        list[str] | None,
        typer.Option(metavar="STAGE", help="Only leads at this stage (repeat for several)."),
    ] = None,
    playbook: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only leads of this playbook.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export one CSV row per lead with its decision and what a rep needs to follow it up.

    Every export is recorded in the audit log (who, when, the file name, rows and filters).
    """
    console = stderr()
    filters = ExportFilters(_stages(console, stage), playbook)
    app = _open_app(console, database_url)
    exported: list[str] = []
    try:
        with replacing(output) as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            with app.db.view() as view:
                for row in view.export_rows(filters):
                    writer.writerow({k: _cell(v) for k, v in row.items()})
                    exported.append(row["lead_id"])
            now = app.clock()
            entry = AuditEntry(
                at=now,
                actor=EXPORT_ACTOR,
                action="data.exported",
                entity="export",
                entity_id=output.name,
                after={"rows": len(exported), "filters": filters.as_json()},
            )
            reads = [
                RecordAccess(lead, now, EXPORT_ACTOR, "admin", "export", EXPORT_WHAT, "raw")
                for lead in exported
            ]

            def record(store: SqlUnitOfWork) -> None:
                store.audit.append(entry)
                store.access.record(reads)

            app.db.run(record)
    except OSError as exc:
        fail(console, str(exc))
    except DatabaseError as exc:
        fail(console, f"the lead store failed ({type(exc).__name__})")
    finally:
        app.db.dispose()
    say(console, f"exported {_plural(len(exported), 'lead')} to {output.name}")
