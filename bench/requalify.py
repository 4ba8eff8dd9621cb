"""Benchmark: `leadflow requalify` throughput over a store of N leads (SQLite and PostgreSQL).

Loads the synthetic leads and events of ``bench/qualify.py`` straight into the tables (with
a decision per lead at the generation instant), then re-qualifies every open lead 30 days
later, first with ``--dry-run`` (read and decide) and then writing (decisions, history rows,
audit records). Prints leads per second for each, medians over ``--repeat`` runs (each write
run starts from a fresh copy of the decisions, so each one changes the same leads).

    .venv/bin/python bench/requalify.py --leads 100000 --events-per-lead 10 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from leadflow.adapters.db.convert import profile_to_json
from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.adapters.db.tables import DecisionRow, EventRow, LeadRow
from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records import read_events, read_leads
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.services.qualification import group_by_lead
from leadflow.services.store.intake import event_hash
from leadflow.services.store.requalify import requalify_all
from qualify import AS_OF, generate  # bench/qualify.py: the same synthetic data

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 5_000


def load_store(url: str, leads: list[LeadProfile], events: dict[str, list[Event]]) -> None:
    playbook = load_playbook("specialty-clinic")
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for start in range(0, len(leads), BATCH):
            part = leads[start : start + BATCH]
            conn.execute(
                insert(LeadRow),
                [
                    {
                        "id": p.lead_id,
                        "playbook": playbook.id,
                        "lead_type": p.lead_type,
                        "source": p.source,
                        "profile": profile_to_json(p),
                        "created_at": p.created_at or AS_OF,
                        "received_at": AS_OF,
                        "merged_into": None,
                    }
                    for p in part
                ],
            )
            rows: list[dict[str, Any]] = []
            decisions: list[dict[str, Any]] = []
            for p in part:
                mine = events.get(p.lead_id, [])
                rows += [
                    {
                        "event_id": e.event_id,
                        "lead_id": e.lead_id,
                        "type": e.type.value,
                        "occurred_at": e.occurred_at,
                        "recorded_at": AS_OF,
                        "properties": dict(e.properties),
                        "content_hash": event_hash(e),
                        "source": "bench",
                        "actor": "bench",
                    }
                    for e in mine
                ]
                d = qualify(p, mine, playbook, AS_OF)
                decisions.append(
                    {
                        "lead_id": p.lead_id,
                        "stage": d.stage.value,
                        "status": d.status,
                        "band": d.band,
                        "fit_score": d.fit_score,
                        "intent_score": d.intent_score,
                        "queue": d.route.queue,
                        "owner": None,
                        "sla_due_at": None,
                        "playbook_id": d.playbook_id,
                        "playbook_version": d.playbook_version,
                        "decided_at": AS_OF,
                        "record": d.to_record(),
                    }
                )
            conn.execute(insert(EventRow), rows)
            conn.execute(insert(DecisionRow), decisions)
    engine.dispose()


def _snapshot(url: str, save: bool) -> None:
    """Keep the loaded decisions aside, or put them back (so every write run does the same)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if save:
            conn.execute(text("CREATE TABLE bench_decisions AS SELECT * FROM decisions"))
        else:
            for table in ("decisions", "stage_history", "audit_log", "audit_head"):
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
            conn.execute(text("INSERT INTO decisions SELECT * FROM bench_decisions"))
    engine.dispose()


def _time_requalify(url: str, *, dry_run: bool) -> tuple[float, int, int]:
    db = Database(make_engine(url))
    playbook = load_playbook("specialty-clinic")
    started = time.perf_counter()
    report = requalify_all(
        db.unit_of_work,
        lambda _name: playbook,
        AS_OF + timedelta(days=30),
        "bench",
        dry_run=dry_run,
    )
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, report.leads, report.changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events-per-lead", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        leads_path, events_path = generate(folder, args.leads, args.events_per_lead, args.seed)
        leads = [x for x in read_leads(leads_path) if isinstance(x, LeadProfile)]
        events = group_by_lead(x for x in read_events(events_path) if isinstance(x, Event))
        print(f"{len(leads):,} leads, {sum(map(len, events.values())):,} events")
        for database in args.databases.split(","):
            schema = None
            if database == "sqlite":
                url = f"sqlite:///{folder / 'bench.db'}"
            else:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(PG_URL)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            try:
                started = time.perf_counter()
                load_store(url, leads, events)
                _snapshot(url, save=True)
                print(f"{database}: loaded in {time.perf_counter() - started:.0f} s")
                for dry_run in (True, False):
                    rates, changed = [], 0
                    for _ in range(args.repeat):
                        if not dry_run:
                            _snapshot(url, save=False)
                        elapsed, count, changed = _time_requalify(url, dry_run=dry_run)
                        rates.append(count / elapsed)
                    label = "dry run" if dry_run else "write"
                    rate = statistics.median(rates)
                    print(
                        f"{database:10} requalify {label:8} {rate:8,.0f} leads/s "
                        f"(min {min(rates):,.0f}, max {max(rates):,.0f}; "
                        f"{count:,} open leads, {changed:,} change stage)"
                    )
            finally:
                if schema is not None:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
