"""Benchmark: the worker's time-driven pass against re-deciding the whole store.

Loads the synthetic store of ``bench/requalify.py`` (N leads with their events and a
decision each), runs ``requalify`` once so that every open lead gets its next instant of
change (``decisions.next_change_at``), then picks the instant T by which 1 % of the open
leads are due (``--due-share``) and measures, at T:

- the worker's pass (``redecide_due``): leads it read and re-decided, leads per second,
  seconds; then a second pass at T, which must read nothing;
- the old way, in the same run: ``requalify`` of every open lead at T (what had to run for
  decay to show before), seconds and leads per second.

Prints medians over ``--repeat`` runs (each from the same snapshot of the store).

    .venv/bin/python bench/time_driven.py --leads 100000 --events-per-lead 10 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.tables import DecisionRow
from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records import read_events, read_leads
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.services.qualification import group_by_lead
from leadflow.services.store.requalify import requalify_all
from leadflow.services.store.time_driven import redecide_due
from qualify import AS_OF, generate  # bench/qualify.py: the synthetic data
from requalify import PG_URL, load_store  # bench/requalify.py: the same store

TABLES = ("decisions", "stage_history", "audit_log", "audit_head", "lead_routes", "sla_clocks")


def _snapshot(url: str, save: bool) -> None:
    """Keep the scheduled store aside, or put it back, so every run starts the same."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            if save:
                conn.execute(text(f"CREATE TABLE bench_{table} AS SELECT * FROM {table}"))  # noqa: S608
            else:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
                conn.execute(text(f"INSERT INTO {table} SELECT * FROM bench_{table}"))  # noqa: S608
    engine.dispose()


def _due_instant(url: str, share: float) -> tuple[datetime, int]:
    """The instant by which ``share`` of the scheduled leads are due, and how many are."""
    engine = make_engine(url)
    with engine.connect() as conn:
        scheduled = select(DecisionRow.next_change_at).where(
            DecisionRow.next_change_at.is_not(None)
        )
        total = int(conn.scalar(select(func.count()).select_from(scheduled.subquery())) or 0)
        offset = max(int(total * share) - 1, 0)
        at = conn.scalar(scheduled.order_by(DecisionRow.next_change_at).offset(offset).limit(1))
    engine.dispose()
    return at, total


def _one_run(url: str, at: datetime) -> dict[str, float]:
    playbook = load_playbook("specialty-clinic")
    db = Database(make_engine(url))
    started = time.perf_counter()
    first = redecide_due(db.run, lambda _name: playbook, at)
    worker_s = time.perf_counter() - started
    again = redecide_due(db.run, lambda _name: playbook, at).decided
    db.dispose()
    _snapshot(url, save=False)
    db = Database(make_engine(url))
    started = time.perf_counter()
    full = requalify_all(db.unit_of_work, lambda _name: playbook, at, "bench")
    full_s = time.perf_counter() - started
    db.dispose()
    _snapshot(url, save=False)
    return {
        "read": first.decided,
        "changed": first.changed,
        "worker_s": worker_s,
        "again": again,
        "full_leads": full.leads,
        "full_s": full_s,
    }


def _bench(url: str, database: str, args: argparse.Namespace, loaded: tuple) -> None:
    leads, events = loaded
    started = time.perf_counter()
    load_store(url, leads, events)
    db = Database(make_engine(url))
    playbook = load_playbook("specialty-clinic")
    requalify_all(db.unit_of_work, lambda _name: playbook, AS_OF, "bench")  # schedules each lead
    db.dispose()
    _snapshot(url, save=True)
    at, scheduled = _due_instant(url, args.due_share)
    print(
        f"{database}: loaded and scheduled in {time.perf_counter() - started:.0f} s; "
        f"{scheduled:,} open leads scheduled; T = AS_OF + {at - AS_OF}"
    )
    runs = [_one_run(url, at) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"{database:10} worker pass: read {med['read']:,.0f} leads "
        f"({med['read'] / max(scheduled, 1):.1%}), {med['changed']:,.0f} changed stage, "
        f"{med['worker_s']:.2f} s = {med['read'] / med['worker_s']:,.0f} leads/s; "
        f"second pass read {med['again']:,.0f}"
    )
    print(
        f"{database:10} requalify all: {med['full_leads']:,.0f} leads in {med['full_s']:.2f} s "
        f"= {med['full_leads'] / med['full_s']:,.0f} leads/s; "
        f"the pass takes {med['worker_s'] / med['full_s']:.1%} of its time"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events-per-lead", type=int, default=10)
    parser.add_argument("--due-share", type=float, default=0.01)
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
                _bench(url, database, args, (leads, events))
            finally:
                if schema is not None:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
