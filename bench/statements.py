"""How many SQL statements does one ingest run? Counted, not timed: the figure a refactor of
the store must not grow (and the first thing a faster write path shrinks).

    .venv/bin/python bench/statements.py                 # SQLite in a temporary folder
    .venv/bin/python bench/statements.py --database-url postgresql+psycopg://…

For each operation — a new lead, the same lead posted again, one event, a batch of 20 events,
reading the lead — it prints the statements the API ran (SQLAlchemy's ``before_cursor_execute``
on the engine, through the real app in process), split into reads (``SELECT``, ``PRAGMA``) and
everything else (writes, ``BEGIN``, ``COMMIT``). The PostgreSQL URL must name a database (or
schema) that exists; it is migrated first.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings

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


def _event(n: int) -> dict[str, Any]:
    return {
        "event_id": f"E-{n}",
        "lead_id": "B-1",
        "type": "page_viewed",
        "occurred_at": f"2026-03-06T10:{n % 60:02d}:00Z",
        "properties": {"page_category": "service", "url": f"/derm/page-{n}"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
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

        def measure(name: str, call: Callable[[], Any]) -> None:
            counts.clear()
            answer = call()
            if answer.status_code >= 300:
                raise SystemExit(f"{name}: {answer.status_code} {answer.text}")
            print(f"{name:28} {counts['read']:5} {counts['write']:6} {sum(counts.values()):6}")

        with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
            print(f"{app.db.engine.dialect.name}: statements per operation")
            print(f"{'operation':28} {'reads':>5} {'writes':>6} {'total':>6}")
            measure("POST /v1/leads (new)", lambda: client.post("/v1/leads", json=LEAD))
            measure("POST /v1/leads (again)", lambda: client.post("/v1/leads", json=LEAD))
            measure("POST /v1/events (one)", lambda: client.post("/v1/events", json=_event(0)))
            batch = {"events": [_event(n) for n in range(1, 21)]}
            measure("POST /v1/events (20)", lambda: client.post("/v1/events", json=batch))
            measure("GET /v1/leads/{id}", lambda: client.get("/v1/leads/B-1"))
        app.db.dispose()


if __name__ == "__main__":
    main()
