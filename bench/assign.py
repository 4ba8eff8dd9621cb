"""Parallel assignment: leads routed per second by W workers, and each member's share.

Each worker has its own engine (its own connection pool) and routes its share of the leads
to the `healthtech-b2b` team (load-balanced, caps lifted) and the `referral-partner` team
(round robin), one lead per transaction, as the API and the worker do. Prints, per
database and strategy, the median wall time over the repeats, leads per second, and the
per-member counts of the last run with their spread (max - min; it should be ≤ 1).

    .venv/bin/python bench/assign.py --leads 600 --workers 4 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.adapters.db.tables import LeadRouteRow
from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.decision import Decision, Route
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.services.routing.assign import route_decision
from leadflow.services.store.ports import StoredLead

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AT = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # a Friday, 10:00 in Boston
CASES = (("healthtech-b2b", "b2b_sales"), ("referral-partner", "referral_coordinators"))


def _uncapped(playbook: Playbook) -> Playbook:
    teams = tuple(
        replace(t, members=tuple(replace(m, capacity=None) for m in t.members))
        for t in playbook.teams
    )
    return replace(playbook, teams=teams)


def _decision(lead_id: str, playbook: Playbook, queue: str) -> Decision:
    return Decision(
        lead_id, Stage.MQL, "MQL", 50.0, 50.0, "mid", (), (), None, "call",
        Route(queue=queue), playbook.id, playbook.version,
    )  # fmt: skip


def _run(
    url: str, playbook: Playbook, queue: str, leads: int, workers: int
) -> tuple[float, Counter[str | None]]:
    setup = Database(make_engine(url))
    tag = uuid.uuid4().hex[:6]
    ids = [f"{tag}-{n:05d}" for n in range(leads)]
    with setup.unit_of_work() as store:
        for lead_id in ids:
            profile = LeadProfile(lead_id=lead_id, playbook=playbook.id)
            store.leads.add_lead(StoredLead(lead_id, playbook.id, profile, AT, AT))
        store.commit()
    dbs = [Database(make_engine(url)) for _ in range(workers)]
    barrier = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def work(db: Database, mine: list[str]) -> None:
        try:
            barrier.wait(30)
            for lead_id in mine:
                decision = _decision(lead_id, playbook, queue)
                db.run(
                    lambda store, d=decision: route_decision(
                        store, playbook, d, changed=True, events=[], at=AT, actor="bench"
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(db, ids[w::workers])) for w, db in enumerate(dbs)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(30)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    with setup.read() as session:
        owners = session.scalars(
            select(LeadRouteRow.owner).where(LeadRouteRow.lead_id.in_(ids))
        ).all()
    for db in [setup, *dbs]:
        db.dispose()
    return elapsed, Counter(owners)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"{args.leads} leads, {args.workers} workers, median of {args.repeat}")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            schema = None
            if database == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'assign.db'}"
            else:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(PG_URL)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            try:
                for name, queue in CASES:
                    playbook = _uncapped(load_playbook(name))
                    times, counts = [], Counter[str | None]()
                    for _ in range(args.repeat):
                        elapsed, counts = _run(url, playbook, queue, args.leads, args.workers)
                        times.append(elapsed)
                    median = statistics.median(times)
                    spread = max(counts.values()) - min(counts.values())
                    shares = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))
                    print(
                        f"{database:10} {playbook.teams[0].assignment.value:13} "
                        f"{median:6.2f} s  {args.leads / median:7.1f} leads/s  "
                        f"spread {spread}  ({shares})"
                    )
            finally:
                if schema is not None:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
