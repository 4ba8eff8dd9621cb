"""How many SQL statements does one ingest run? Counted, not timed: the figure a refactor of
the store must not grow (and the first thing a faster write path shrinks).

    .venv/bin/python bench/statements.py                 # SQLite in a temporary folder
    .venv/bin/python bench/statements.py --database-url postgresql+psycopg://…

For each operation — a new lead, the same lead posted again, one event and a batch of 20
events appended (``202``) and then decided by a decider, the same with ``?wait=decision``,
reading the lead, and a decider's batch of ``--leads`` leads (per lead) — it prints the
statements the API or the decider ran (SQLAlchemy's ``before_cursor_execute``
on the engine, through the real app in process), split into reads (``SELECT``, ``PRAGMA``) and
everything else (writes, ``BEGIN``, ``COMMIT``). With a PostgreSQL URL it works in a scratch
schema of that database, created, migrated and dropped.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from ingest import postgres_database
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings
from leadflow.services.store.decider import DecideReport, decide_queued

LEAD = {
    "lead_id": "B-1",
    "lead_type": "patient",
    "first_name": "Dana",
    "last_name": "Example",
    "email": "dana.example@example.com",
    "phone": "+16175550142",
    "service_line": "dermatology",
    "state": "MA",
    "postal_code": "02139",
    "consent_email": True,
    "notes": "My psoriasis is back; methotrexate is not helping.",
}


def _event(n: int, lead_id: str = "B-1") -> dict[str, Any]:
    return {
        "event_id": f"E-{lead_id}-{n}",
        "lead_id": lead_id,
        "type": "page_viewed",
        "occurred_at": f"2026-03-06T10:{n % 60:02d}:00Z",
        "properties": {"page_category": "service", "url": f"/derm/page-{n}"},
    }


def _other_lead(n: int) -> dict[str, Any]:
    return {
        **LEAD,
        "lead_id": f"B-{n}",
        "email": f"other.{n}@example.com",
        "phone": None,
        "notes": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--leads", type=int, default=50, help="leads in the decider's batch")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.database_url and args.database_url.startswith("postgresql"):
            url = stack.enter_context(postgres_database(args.database_url))
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = args.database_url or f"sqlite:///{Path(folder) / 'count.db'}"
        app = bootstrap(
            Settings(database_url=url, rate_limit="off", rate_limit_per_address="off"),
            migrate=True,
        )
        counts: Counter[str] = Counter()

        @event.listens_for(app.db.engine, "before_cursor_execute")
        def _count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            word = statement.lstrip().split(" ", 1)[0].upper()
            counts["read" if word in {"SELECT", "PRAGMA"} else "write"] += 1

        def measure(name: str, call: Callable[[], Any], per: int = 1) -> None:
            counts.clear()
            answer = call()
            if getattr(answer, "status_code", 200) >= 300:
                raise SystemExit(f"{name}: {answer.status_code} {answer.text}")
            reads, writes = counts["read"] / per, counts["write"] / per
            print(f"{name:40} {reads:7.1f} {writes:7.1f} {reads + writes:7.1f}")

        def decide() -> DecideReport:
            return decide_queued(app.db.run, app.playbooks, app.clock)

        wait = "/v1/events?wait=decision"
        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            print(f"{app.db.engine.dialect.name}: statements per operation (per lead where noted)")
            print(f"{'operation':40} {'reads':>7} {'writes':>7} {'total':>7}")
            measure("POST /v1/leads (new)", lambda: client.post("/v1/leads", json=LEAD))
            measure("POST /v1/leads (again)", lambda: client.post("/v1/leads", json=LEAD))
            measure("POST /v1/events (one, 202)", lambda: client.post("/v1/events", json=_event(0)))
            measure("decider: that lead", decide)
            measure("POST ?wait=decision (one)", lambda: client.post(wait, json=_event(1)))
            batch = {"events": [_event(n) for n in range(2, 22)]}
            measure("POST /v1/events (20, 202)", lambda: client.post("/v1/events", json=batch))
            measure("decider: that lead", decide)
            batch = {"events": [_event(n) for n in range(22, 42)]}
            measure("POST ?wait=decision (20)", lambda: client.post(wait, json=batch))
            measure("GET /v1/leads/{id}", lambda: client.get("/v1/leads/B-1"))
            for n in range(2, args.leads + 2):
                client.post("/v1/leads", json=_other_lead(n))
                client.post("/v1/events", json=_event(0, f"B-{n}"))
            measure(f"decider: {args.leads} leads, per lead", decide, per=args.leads)
        app.db.dispose()


if __name__ == "__main__":
    main()
