"""How fast is `leadflow qualify`? Synthetic leads and events, timed two ways.

(a) end to end: read the CSV files, qualify, write JSON Lines, through ``run_qualify`` (the
    function the ``leadflow qualify`` command calls), in-process;
(b) engine only: ``qualify()`` on leads and events parsed beforehand.
A third line shows reading and parsing alone, to show where the time goes. Every phase runs
with the cyclic garbage collector paused, as ``run_qualify`` runs.

    .venv/bin/python bench/qualify.py --leads 20000 --events-per-lead 10 --repeat 3

Deterministic for a seed (the output's SHA-256 is printed). Standard library + leadflow only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records import Finding, read_events, read_leads
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.entrypoints.qualify_run import QualifyInputs, cycle_collector_paused, run_qualify
from leadflow.services.qualification import group_by_lead

AS_OF = datetime(2026, 3, 6, 12, tzinfo=UTC)
CHUNK = 500  # leads whose events are interleaved in time order, as in a real event log

FIRST = ["Avery", "Morgan", "Riley", "Quinn", "Dana", "Sam", "Taylor", "Jordan", "Casey", "Drew"]
LAST = ["Sample", "Example", "Test", "Fictive", "Placeholder", "Mock", "Demo", "Dummy"]
SERVICE_LINES = ["cardiology", "dermatology", "orthopedics", "pulmonology", "sleep_medicine"]
STATES = [("MA", "02139"), ("MA", "01608"), ("NH", "03101"), ("RI", "02903"), ("NY", "10001")]
AREA_CODES = ["617", "508", "781", "603", "401"]  # numbers are unique per lead, never dialled
CHANNELS = ["web_form", "call", "scheduling_page", "referral", "organic_search", "email"]
URLS = ["/schedule/cardiology", "/insurance", "/services/orthopedics", "/blog/sleep-tips", "/"]
URLS += ["/careers/nursing", "/locations/cambridge", "/book/dermatology"]
LEAD_COLUMNS = ["lead_id", "lead_type", "first_name", "last_name", "email", "phone"]
LEAD_COLUMNS += ["service_line", "postal_code", "state", "country", "channel", "created_at"]
LEAD_COLUMNS += ["consent_email", "consent_sms", "consent_phone"]
EVENT_COLUMNS = ["event_id", "lead_id", "type", "occurred_at", "url", "service_line", "asset"]
EVENT_COLUMNS += ["duration_s", "channel", "reason", "need_confirmed", "eligibility_confirmed"]
EVENT_COLUMNS += ["next_step"]
ENGAGEMENT = ["page_viewed"] * 8 + ["email_opened"] * 3 + ["email_clicked", "content_downloaded"]
ENGAGEMENT += ["form_submitted", "call_inbound", "chat_started", "appointment_requested"]


def _yes(rng: random.Random, share: float) -> str:
    return "yes" if rng.random() < share else "no"


def _lead_row(rng: random.Random, n: int) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    state, postal = rng.choice(STATES)
    service = rng.choice([*SERVICE_LINES, "oncology"]) if rng.random() < 0.95 else ""
    created = AS_OF - timedelta(days=60, minutes=rng.randrange(60 * 24 * 30))
    return [
        f"L-{n:07d}",
        "patient",
        first,
        last,
        f"{first}.{last}{n}@example.com".lower() if rng.random() < 0.9 else "",
        f"({rng.choice(AREA_CODES)}) {200 + n // 10_000 % 800}-{n % 10_000:04d}"
        if rng.random() < 0.7
        else "",
        service,
        postal,
        state,
        "US",
        rng.choice(CHANNELS),
        created.isoformat(),
        _yes(rng, 0.8),
        _yes(rng, 0.3),
        _yes(rng, 0.4),
    ]


def _event_row(rng: random.Random, lead_id: str, n: int, sales: bool) -> list[str]:
    row = dict.fromkeys(EVENT_COLUMNS, "")
    when = AS_OF - timedelta(minutes=rng.randrange(60 * 24 * 60))
    kind = rng.choice(["sales_accepted", "discovery_completed", "sales_rejected"]) if sales else ""
    kind = kind or rng.choice(ENGAGEMENT)
    row.update(event_id=f"E-{n:09d}", lead_id=lead_id, type=kind, occurred_at=when.isoformat())
    if kind == "page_viewed":
        row["url"] = rng.choice(URLS)
    elif kind in ("form_submitted", "appointment_requested"):
        row["service_line"] = rng.choice(SERVICE_LINES)
    elif kind == "content_downloaded":
        row["asset"] = "Patient guide"
    elif kind == "call_inbound":
        row["duration_s"] = str(rng.randrange(10, 900))
    elif kind == "sales_rejected":
        row["reason"] = "not_ready"
    elif kind == "discovery_completed":
        row.update(need_confirmed=_yes(rng, 0.8), eligibility_confirmed=_yes(rng, 0.7))
        row["next_step"] = "appointment agreed" if rng.random() < 0.6 else ""
    return [row[c] for c in EVENT_COLUMNS]


def generate(folder: Path, leads: int, per_lead: int, seed: int) -> tuple[Path, Path]:
    """Write ``leads.csv`` and ``events.csv``; events are time-ordered within chunks of leads."""
    rng = random.Random(seed)
    leads_path, events_path = folder / "leads.csv", folder / "events.csv"
    with (
        leads_path.open("w", newline="", encoding="utf-8") as lead_file,
        events_path.open("w", newline="", encoding="utf-8") as event_file,
    ):
        lead_out, event_out = csv.writer(lead_file), csv.writer(event_file)
        lead_out.writerow(LEAD_COLUMNS)
        event_out.writerow(EVENT_COLUMNS)
        chunk: list[list[str]] = []
        event_number = 0
        for n in range(1, leads + 1):
            row = _lead_row(rng, n)
            lead_out.writerow(row)
            for _ in range(per_lead):
                event_number += 1
                chunk.append(_event_row(rng, row[0], event_number, rng.random() < 0.03))
            if n % CHUNK == 0 or n == leads:
                chunk.sort(key=lambda r: r[3])
                event_out.writerows(chunk)
                chunk.clear()
    return leads_path, events_path


class _Quiet:
    """A reporter that only counts findings (the synthetic data has a few bad phones)."""

    def __init__(self) -> None:
        self.findings = 0

    def finding(self, finding: Finding) -> None:
        del finding
        self.findings += 1

    def progress(self, phase: str, done: int) -> None:
        del phase, done


def _timed(runs: int, work: Callable[[], None]) -> list[float]:
    """Wall-clock seconds of each run, with the cyclic GC paused as ``run_qualify`` does."""
    seconds = []
    for _ in range(runs):
        with cycle_collector_paused():
            start = time.perf_counter()
            work()
            seconds.append(time.perf_counter() - start)
    return seconds


def _report(label: str, count: int, seconds: list[float], out: TextIO) -> None:
    rates = sorted(count / s for s in seconds)
    out.write(
        f"{label:<34} {statistics.median(rates):>9,.0f} leads/s "
        f"(min {rates[0]:,.0f}, max {rates[-1]:,.0f}; median {statistics.median(seconds):.2f} s)\n"
    )


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events-per-lead", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--playbook", default="specialty-clinic")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    out = sys.stdout
    playbook = load_playbook(args.playbook)
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        leads_path, events_path = generate(folder, args.leads, args.events_per_lead, args.seed)
        out.write(
            f"{args.leads:,} leads × {args.events_per_lead} events, playbook {playbook.id} "
            f"{playbook.version}, seed {args.seed}, Python {platform.python_version()}; "
            f"generated in {time.perf_counter() - start:.1f} s\n"
        )
        decisions = folder / "decisions.jsonl"
        inputs = QualifyInputs(playbook, leads_path, AS_OF, events_path)
        quiet = _Quiet()

        def end_to_end() -> None:
            with decisions.open("w", encoding="utf-8", newline="\n") as handle:
                run_qualify(inputs, handle, quiet)

        _report("(a) read + qualify + write", args.leads, _timed(args.repeat, end_to_end), out)
        digest = hashlib.sha256(decisions.read_bytes()).hexdigest()[:16]
        rss_end_to_end = _peak_rss_mb()

        parsed: dict[str, object] = {}

        def read_only() -> None:
            parsed["leads"] = [x for x in read_leads(leads_path) if isinstance(x, LeadProfile)]
            events = (x for x in read_events(events_path) if isinstance(x, Event))
            parsed["events"] = group_by_lead(events)

        _report("    read + parse only", args.leads, _timed(args.repeat, read_only), out)
        leads: list[LeadProfile] = parsed["leads"]  # type: ignore[assignment]
        by_lead: dict[str, list[Event]] = parsed["events"]  # type: ignore[assignment]

        def engine_only() -> None:
            for lead in leads:
                qualify(lead, by_lead.get(lead.lead_id, ()), playbook, AS_OF)

        _report("(b) engine only (pre-parsed)", args.leads, _timed(args.repeat, engine_only), out)
        out.write(
            f"findings per run: {quiet.findings // args.repeat:,}; output sha256 {digest}…\n"
            f"peak RSS: {rss_end_to_end:,.0f} MB after (a), "
            f"{_peak_rss_mb():,.0f} MB with every lead and event held in memory\n"
        )


if __name__ == "__main__":
    main()
