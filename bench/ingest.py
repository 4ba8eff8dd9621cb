"""How fast does the HTTP API ingest events? A real uvicorn server in a subprocess, timed.

For each database (a SQLite file in a temporary directory; PostgreSQL in a scratch schema
that is created and dropped) and each repeat, on a fresh database and a fresh server:

1. ``POST /v1/leads`` ``--leads`` leads (K connections at once);
2. ``POST /v1/events`` ``--events`` single events spread over those leads, from K concurrent
   connections: events/s and per-request latency (p50, p99);
3. the same number of events again in batches of ``--batch`` per request: events/s.

Every stored event re-qualifies its lead in the same transaction, so the figures include
qualification, the decision, stage history and the audit chain. Medians across repeats.

    .venv/bin/python bench/ingest.py --leads 200 --events 5000 --concurrency 8 --repeat 3

The server runs ``python -m uvicorn --factory ingest:server_app`` (the factory below reads
``LEADFLOW_DATABASE_URL`` like ``leadflow serve`` would); the client is ``httpx.AsyncClient``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings

PG_URL = os.environ.get(
    "LEADFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HERE = Path(__file__).resolve().parent
PAGES = ["schedule/dermatology", "insurance", "services/dermatology", "blog/skin-care", "home"]


def server_app() -> FastAPI:
    """The uvicorn factory: the API over ``LEADFLOW_DATABASE_URL`` (already migrated)."""
    return create_app(bootstrap(Settings()))


@dataclass(frozen=True)
class Figures:
    leads_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    batch_events_per_s: float
    errors: int


# -- databases and the server ------------------------------------------------------------------
@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'leadflow.db'}"
        _migrate(url)
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    schema = f"lf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        _migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(url: str) -> Iterator[str]:
    """A uvicorn subprocess serving the API on ``url``; yields its base URL."""
    port = _free_port()
    # Throughput, not the limits: thousands of requests a second from one address and key
    # would meet the default rate limits (600 per key, 1,200 per address a minute).
    env = {
        **os.environ,
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_RATE_LIMIT": "off",
        "LEADFLOW_RATE_LIMIT_PER_ADDRESS": "off",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "ingest:server_app",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)  # noqa: S603 (our own interpreter and module)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # a subprocess gives no readiness signal to wait on
    raise RuntimeError("the server did not answer /healthz within 30 s")


# -- the load ------------------------------------------------------------------------------------
def _leads(count: int) -> list[dict[str, Any]]:
    return [
        {
            "lead_id": f"B-{n:06d}",
            "lead_type": "patient",
            "first_name": "Bench",
            "email": f"bench.{n}@example.com",
            "service_line": "dermatology",
            "state": "MA",
            "country": "US",
            "channel": "web_form",
            "consent_email": True,
        }
        for n in range(count)
    ]


def _events(leads: int, count: int, tag: str, rng: random.Random) -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(days=2)
    return [
        {
            "event_id": f"{tag}-{n}",
            "lead_id": f"B-{rng.randrange(leads):06d}",
            "type": "page_viewed",
            "occurred_at": (start + timedelta(seconds=n)).isoformat(),
            "properties": {"url": f"https://northwind.example/{rng.choice(PAGES)}"},
        }
        for n in range(count)
    ]


async def _drive(
    base_url: str, path: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float], int]:
    """POST every body from ``concurrency`` workers; (seconds, latencies in s, errors)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                began = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - began)
                if response.status_code >= 300:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return elapsed, latencies, errors


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_once(url: str, args: argparse.Namespace, repeat: int) -> Figures:
    rng = random.Random(repeat)
    with server(url) as base_url:
        leads_s, _, lead_errors = asyncio.run(
            _drive(base_url, "/v1/leads", _leads(args.leads), args.concurrency)
        )
        single = _events(args.leads, args.events, f"s{repeat}", rng)
        events_s, latencies, event_errors = asyncio.run(
            _drive(base_url, "/v1/events", single, args.concurrency)
        )
        batched = _events(args.leads, args.events, f"b{repeat}", rng)
        batches = [
            {"events": batched[i : i + args.batch]} for i in range(0, len(batched), args.batch)
        ]
        batch_s, _, batch_errors = asyncio.run(
            _drive(base_url, "/v1/events", batches, args.concurrency)
        )
    return Figures(
        leads_per_s=args.leads / leads_s,
        events_per_s=args.events / events_s,
        p50_ms=1000 * _percentile(latencies, 0.50),
        p99_ms=1000 * _percentile(latencies, 0.99),
        batch_events_per_s=args.events / batch_s,
        errors=lead_errors + event_errors + batch_errors,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100, help="events per batch request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    databases = {"sqlite": sqlite_database, "postgresql": postgres_database}
    chosen = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in databases]
    if unknown:
        parser.error(f"unknown database(s): {', '.join(unknown)}")

    print(
        f"leadflow ingest over HTTP: {args.leads} leads, {args.events} events, "
        f"{args.concurrency} connections, batches of {args.batch}, median of {args.repeat}"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    rows = []
    for name in chosen:
        runs = []
        for repeat in range(args.repeat):
            with databases[name]() as url:
                runs.append(run_once(url, args, repeat))
        rows.append((name, runs))

    header = (
        f"{'database':<11}{'leads/s':>9}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'batch ev/s':>12}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, runs in rows:

        def med(field: str, runs: list[Figures] = runs) -> float:
            return float(statistics.median(getattr(r, field) for r in runs))

        print(
            f"{name:<11}{med('leads_per_s'):>9.0f}{med('events_per_s'):>10.0f}"
            f"{med('p50_ms'):>9.1f}{med('p99_ms'):>9.1f}{med('batch_events_per_s'):>12.0f}"
            f"{sum(r.errors for r in runs):>8d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
