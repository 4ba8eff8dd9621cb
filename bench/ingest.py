"""How fast does the HTTP API ingest events? A real uvicorn server in a subprocess, timed.

For each database (a SQLite file in a temporary directory; PostgreSQL in a scratch schema
that is created and dropped), each mode and each repeat, on a fresh database and server:

1. ``POST /v1/leads`` ``--leads`` leads (K connections at once);
2. ``POST /v1/events`` ``--events`` single events spread over those leads, from K concurrent
   connections: events/s and per-request latency (p50, p99);
3. the same number of events again in batches of ``--batch`` per request: events/s.

Modes (``--modes``):

- ``accepted``: the default API. Events are appended and answered ``202``; the server's
  decider thread (as in ``leadflow serve``) decides the queued leads. The bench samples the
  age of the oldest queued lead every 50 ms from its own connection, from the first event
  until the queue is empty again: ``lag p50/p99/max`` are over those samples. Every event's
  wait from acceptance to decision is at most the queue age when it was decided, so ``lag
  max`` bounds every event's lag (to the 50 ms of sampling). ``drain s``: how long after the
  last answer the queue was empty.
- ``worker``: as ``accepted``, but the server runs without a decider (``leadflow serve
  --no-decider``) and a ``leadflow worker`` process decides: the API and the decider no
  longer share one interpreter.
- ``wait``: ``?wait=decision`` on every request: each lead decided in its request (how every
  request worked before the queue existed), so there is no lag.

Every request carries an ``intake`` API key (``--auth key``, the production path; ``--auth
open`` posts in open local mode, as this bench did before keys existed).

Run against an older checkout (``PYTHONPATH=/path/to/old/src``) the same script measures
the baseline: without a decision queue every request decides in place, whatever the mode.

    .venv/bin/python bench/ingest.py --leads 200 --events 3000 --concurrency 8 --repeat 3

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
import threading
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
from sqlalchemy import create_engine, func, inspect, select, text

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.adapters.db.tables import Base
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings

PG_URL = os.environ.get(
    "LEADFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HERE = Path(__file__).resolve().parent
PAGES = ["schedule/dermatology", "insurance", "services/dermatology", "blog/skin-care", "home"]


def server_app() -> FastAPI:
    """The uvicorn factory: the API over ``LEADFLOW_DATABASE_URL`` (already migrated), with a
    decider thread as ``leadflow serve`` runs one (when this checkout has deciders)."""
    app = bootstrap(Settings())
    if os.environ.get("BENCH_DECIDER") == "process":  # a `leadflow worker` decides instead
        return create_app(app)
    try:
        from leadflow.entrypoints.decider_loop import start_decider  # noqa: PLC0415
    except ImportError:  # an older checkout: every request decides in place
        return create_app(app)
    start_decider(app)
    return create_app(app)


@dataclass(frozen=True)
class Figures:
    leads_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    batch_events_per_s: float
    errors: int
    lag_p50_s: float
    lag_p99_s: float
    lag_max_s: float
    drain_s: float


class QueueAge:
    """Samples the age of the oldest queued lead every 50 ms (none queued: 0) from its own
    connection, while the load runs and until the queue is empty."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.queue = Base.metadata.tables.get("decision_queue")
        if self.queue is not None and not inspect(self.engine).has_table("decision_queue"):
            self.queue = None  # an older schema: nothing is ever queued
        self.samples: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def age(self) -> float:
        if self.queue is None:
            return 0.0
        with self.engine.connect() as conn:
            oldest = conn.execute(select(func.min(self.queue.c.queued_at))).scalar()
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            self.samples.append(self.age())

    def __enter__(self) -> QueueAge:
        self.thread.start()
        return self

    def drain(self, timeout_s: float = 300) -> float:
        """Seconds until nothing is queued."""
        began = time.perf_counter()
        while self.age() > 0:
            if time.perf_counter() - began > timeout_s:
                raise RuntimeError(f"the decision queue did not drain in {timeout_s} s")
            time.sleep(0.05)
        return time.perf_counter() - began

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


# -- databases and the server ------------------------------------------------------------------
@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'leadflow.db'}"
        _migrate(url)
        yield url


@contextmanager
def postgres_database(base_url: str = PG_URL) -> Iterator[str]:
    """A scratch schema in the database of ``base_url``, migrated; dropped afterwards."""
    schema = f"lf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{base_url}?options=-csearch_path%3D{schema}"
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
def decider_process(url: str, where: str) -> Iterator[None]:
    """With ``where == "process"``: a ``leadflow worker`` deciding beside the server."""
    if where != "process":
        yield
        return
    command = [str(Path(sys.executable).with_name("leadflow")), "worker", "--database-url", url]
    process = subprocess.Popen(  # noqa: S603 (our own command)
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def server(url: str, decider: str = "thread") -> Iterator[str]:
    """A uvicorn subprocess serving the API on ``url``; yields its base URL."""
    port = _free_port()
    # Throughput, not the limits: thousands of requests a second from one address and key
    # would meet the default rate limits (600 per key, 1,200 per address a minute).
    env = {
        **os.environ,
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_RATE_LIMIT": "off",
        "LEADFLOW_RATE_LIMIT_PER_ADDRESS": "off",
        "BENCH_DECIDER": decider,
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


def api_key(url: str) -> str:
    """A new ``intake`` API key's text in the database of ``url`` (the production path:
    with a key the server leaves open local mode)."""
    app = bootstrap(Settings(database_url=url))
    now = app.clock()
    _, key = app.db.run(lambda store: store.keys.create("bench", "intake", now))
    app.db.dispose()
    return str(key)


async def _drive(
    base_url: str,
    path: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    headers: dict[str, str],
) -> tuple[float, list[float], int]:
    """POST every body from ``concurrency`` workers; (seconds, latencies in s, errors)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=120, headers=headers
    ) as client:

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


def run_once(url: str, args: argparse.Namespace, mode: str, repeat: int) -> Figures:
    rng = random.Random(repeat)
    path = "/v1/events?wait=decision" if mode == "wait" else "/v1/events"
    decider = "process" if mode == "worker" else "thread"
    headers = {"Authorization": f"Bearer {api_key(url)}"} if args.auth == "key" else {}
    with server(url, decider) as base_url, decider_process(url, decider), QueueAge(url) as queue:
        leads_s, _, lead_errors = asyncio.run(
            _drive(base_url, "/v1/leads", _leads(args.leads), args.concurrency, headers)
        )
        single = _events(args.leads, args.events, f"s{repeat}", rng)
        events_s, latencies, event_errors = asyncio.run(
            _drive(base_url, path, single, args.concurrency, headers)
        )
        drain_s = queue.drain()
        batched = _events(args.leads, args.events, f"b{repeat}", rng)
        batches = [
            {"events": batched[i : i + args.batch]} for i in range(0, len(batched), args.batch)
        ]
        batch_s, _, batch_errors = asyncio.run(
            _drive(base_url, path, batches, args.concurrency, headers)
        )
        queue.drain()
    lags = queue.samples or [0.0]
    return Figures(
        leads_per_s=args.leads / leads_s,
        events_per_s=args.events / events_s,
        p50_ms=1000 * _percentile(latencies, 0.50),
        p99_ms=1000 * _percentile(latencies, 0.99),
        batch_events_per_s=args.events / batch_s,
        errors=lead_errors + event_errors + batch_errors,
        lag_p50_s=_percentile(lags, 0.50),
        lag_p99_s=_percentile(lags, 0.99),
        lag_max_s=max(lags),
        drain_s=drain_s,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100, help="events per batch request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--auth",
        choices=["key", "open"],
        default="key",
        help="key: an intake API key on every request (production); open: open local mode",
    )
    parser.add_argument(
        "--modes", default="accepted,wait", help="accepted (202), worker (202), wait"
    )
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not modes or any(mode not in {"accepted", "worker", "wait"} for mode in modes):
        parser.error("--modes takes accepted, worker and/or wait")
    databases = {"sqlite": sqlite_database, "postgresql": postgres_database}
    chosen = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in databases]
    if unknown:
        parser.error(f"unknown database(s): {', '.join(unknown)}")

    print(
        f"leadflow ingest over HTTP: {args.leads} leads, {args.events} events, "
        f"{args.concurrency} connections, batches of {args.batch}, median of {args.repeat}, "
        f"auth {args.auth}"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    rows = []
    for name in chosen:
        for mode in modes:
            runs = []
            for repeat in range(args.repeat):
                with databases[name]() as url:
                    runs.append(run_once(url, args, mode, repeat))
            rows.append((name, mode, runs))

    header = (
        f"{'database':<11}{'mode':<9}{'leads/s':>8}{'events/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'batch ev/s':>11}{'lag p50':>8}{'lag p99':>8}{'lag max':>8}{'drain s':>8}"
        f"{'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, mode, runs in rows:

        def med(field: str, runs: list[Figures] = runs) -> float:
            return float(statistics.median(getattr(r, field) for r in runs))

        print(
            f"{name:<11}{mode:<9}{med('leads_per_s'):>8.0f}{med('events_per_s'):>9.0f}"
            f"{med('p50_ms'):>8.1f}{med('p99_ms'):>8.1f}{med('batch_events_per_s'):>11.0f}"
            f"{med('lag_p50_s'):>8.2f}{med('lag_p99_s'):>8.2f}{med('lag_max_s'):>8.2f}"
            f"{med('drain_s'):>8.2f}{sum(r.errors for r in runs):>7d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
