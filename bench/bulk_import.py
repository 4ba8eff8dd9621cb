"""How fast does ``leadflow import`` load a CRM-sized export? The real command, timed.

Synthetic leads and events (the generator of ``bench/qualify.py``: events time-ordered within
chunks of leads, so one lead's events fall in several batches, as in a real export) are
written once; then, for each database and repeat, on a fresh database (a SQLite file in a
temporary directory; PostgreSQL in a scratch schema), ``leadflow import LEADS --events
EVENTS`` runs as a subprocess and its wall time is taken, deciding included. Medians of the
repeats: leads/s and events/s over the whole run.

    .venv/bin/python bench/bulk_import.py --leads 5000 --events-per-lead 5 --repeat 3

Run with ``PYTHONPATH=/path/to/old/src`` to measure an older checkout the same way.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest import postgres_database, sqlite_database
from qualify import generate


def import_once(url: str, leads: Path, events: Path, batch: int) -> float:
    """Seconds ``leadflow import`` took, deciding included; raises if it failed."""
    command = [
        str(Path(sys.executable).with_name("leadflow")),
        "import",
        str(leads),
        "--events",
        str(events),
        "--batch-size",
        str(batch),
        "--database-url",
        url,
    ]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"leadflow import failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--events-per-lead", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="--batch-size of the import")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    databases = {"sqlite": sqlite_database, "postgresql": postgres_database}
    chosen = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in databases]
    if unknown:
        parser.error(f"unknown database(s): {', '.join(unknown)}")
    events = args.leads * args.events_per_lead
    print(
        f"leadflow import: {args.leads} leads, {events} events, batches of {args.batch}, "
        f"median of {args.repeat}"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    header = f"{'database':<11}{'seconds':>9}{'leads/s':>9}{'events/s':>10}   runs (s)"
    lines = []
    with tempfile.TemporaryDirectory(prefix="leadflow-import-bench-") as tmp:
        leads_path, events_path = generate(Path(tmp), args.leads, args.events_per_lead, args.seed)
        for name in chosen:
            runs = []
            for _ in range(args.repeat):
                with databases[name]() as url:
                    runs.append(import_once(url, leads_path, events_path, args.batch))
            median = statistics.median(runs)
            lines.append(
                f"{name:<11}{median:>9.1f}{args.leads / median:>9.0f}{events / median:>10.0f}"
                f"   {', '.join(f'{r:.1f}' for r in runs)}"
            )
    print(header)
    print("-" * len(header))
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
