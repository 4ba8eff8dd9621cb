"""``leadflow import`` killed with SIGKILL at random points, then run again, loses and
duplicates nothing (COMPLIANCE.md), and the audit chain still verifies."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from leadflow.adapters.db.audit_log import audit_chain
from leadflow.adapters.db.engine import normalise_url
from leadflow.adapters.db.tables import (
    AuditRow,
    ConsentRow,
    DecisionQueueRow,
    DecisionRow,
    EventRow,
    IdentityRow,
    ImportRunRow,
    LeadRow,
)
from leadflow.services.store.audit import verify_chain

LEADS, EVENTS, SEED = 1200, 3600, 20260306  # generate() defaults: 2,000 and 6,000
KILLS = 3
BATCH = "250"


@dataclass(frozen=True)
class Generated:
    leads: Path
    events: Path
    identities: int
    consents: int


def generate(folder: Path, leads: int = 2000, events: int = 6000, seed: int = SEED) -> Generated:
    """A deterministic leads file and events file, with the store's counts worked out."""
    rng = random.Random(seed)
    identities = consents = 0
    lead_path, event_path = folder / "crash-leads.csv", folder / "crash-events.csv"
    lines = ["cardiology", "dermatology", "orthopedics", "pulmonology", "sleep_medicine"]
    with lead_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["lead_id", "lead_type", "first_name", "last_name", "email", "phone",
             "service_line", "postal_code", "state", "country", "source", "channel",
             "created_at", "consent_email", "consent_sms", "consent_phone"]
        )  # fmt: skip
        for i in range(leads):
            phone = f"617{rng.randint(200, 999)}{i:04d}" if rng.random() < 0.7 else ""
            email_yes, sms_yes = rng.random() < 0.6, rng.random() < 0.4
            identities += 1 + bool(phone)
            consents += email_yes + (sms_yes and bool(phone))
            writer.writerow(
                [f"CR-{i:05d}", "patient", f"First{i}", f"Last{i}", f"lead{i}@example.com",
                 phone, rng.choice(lines), "02139", rng.choice(["MA", "NH", "RI"]), "US",
                 "website", "web_form", f"2026-02-{1 + i % 27:02d}T09:00:00Z",
                 "yes" if email_yes else "no", "yes" if sms_yes else "", ""]
            )  # fmt: skip
    kinds = ["page_viewed", "content_downloaded", "email_opened", "form_submitted"]
    with event_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["event_id", "lead_id", "type", "occurred_at", "page_category", "asset", "channel"]
        )
        for j in range(events):
            kind = "consent_granted" if j % 50 == 0 else rng.choice(kinds)
            consents += kind == "consent_granted"
            category = (
                rng.choice(["scheduling", "blog", "service"]) if kind == "page_viewed" else ""
            )
            asset = "Sleep guide" if kind == "content_downloaded" else ""
            channel = "email" if kind == "consent_granted" else ""
            when = f"2026-03-{1 + j % 28:02d}T{j % 24:02d}:00:00Z"
            lead = f"CR-{rng.randrange(leads):05d}"
            writer.writerow([f"CE-{j:06d}", lead, kind, when, category, asset, channel])
    return Generated(lead_path, event_path, identities, consents)


def leadflow_command() -> list[str]:
    """The ``leadflow`` console script next to this Python (``-m`` has no ``__main__``)."""
    script = Path(sys.executable).with_name("leadflow")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from leadflow.entrypoints.cli import main; main()"]


def _plain_session(url: str) -> Session:
    # Not make_engine: its BEGIN IMMEDIATE would take SQLite's write lock while polling.
    return Session(create_engine(normalise_url(url)))


def _rows_done(url: str) -> int:
    with _plain_session(url) as session:
        done = session.scalars(select(ImportRunRow.rows_done)).all()
        bind = session.get_bind()
    bind.dispose()  # type: ignore[union-attr]
    return sum(done)


def _count(session: Session, column: object) -> int:
    return int(session.scalar(select(func.count()).select_from(column)) or 0)  # type: ignore[arg-type]


def test_an_import_killed_at_random_points_and_run_again_loses_and_duplicates_nothing(
    database_url: str, tmp_path: Path
) -> None:
    data = generate(tmp_path, LEADS, EVENTS)
    args = [*leadflow_command(), "import", str(data.leads), "--events", str(data.events)]
    args += ["--batch-size", BATCH]
    env = {**os.environ, "LEADFLOW_DATABASE_URL": database_url}
    rng = random.Random(SEED)
    kills = 0
    for _ in range(KILLS + 5):
        before = _rows_done(database_url)
        process = subprocess.Popen(  # noqa: S603 (our own command and arguments)
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path
        )
        deadline = time.monotonic() + 60
        while process.poll() is None and _rows_done(database_url) <= before:
            assert time.monotonic() < deadline, "the import never committed a batch"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        if process.poll() is not None:
            break  # it finished before the kill
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
        kills += 1
        if kills >= KILLS:
            break
    assert kills >= KILLS, "the import finished before it could be killed three times"
    final = subprocess.run(  # noqa: S603 (our own command and arguments)
        args, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
    )
    assert final.returncode == 0, final.stderr
    assert "resuming at row" in final.stderr or "already imported" in final.stderr

    with _plain_session(database_url) as session:
        assert _count(session, LeadRow) == LEADS
        assert _count(session, EventRow) == EVENTS
        assert _count(session, DecisionRow) == LEADS
        assert _count(session, DecisionQueueRow) == 0  # every touched lead decided
        assert _count(session, IdentityRow) == data.identities
        assert _count(session, ConsentRow) == data.consents
        distinct_events = session.scalar(select(func.count(func.distinct(EventRow.event_id))))
        assert distinct_events == EVENTS
        consent_keys = session.execute(
            select(
                ConsentRow.lead_id,
                ConsentRow.channel,
                ConsentRow.contact_point,
                ConsentRow.status,
                ConsentRow.event_id,
            )
        ).all()
        assert len(set(consent_keys)) == len(consent_keys)
        runs = session.scalars(select(ImportRunRow)).all()
        assert sorted(r.kind for r in runs) == ["events", "leads"]
        assert all(r.finished for r in runs)
        created = session.scalar(select(func.count()).where(AuditRow.action == "lead.created"))
        assert created == LEADS
        chain = verify_chain(audit_chain(session))
        bind = session.get_bind()
    bind.dispose()  # type: ignore[union-attr]
    assert chain.ok, chain.problems
