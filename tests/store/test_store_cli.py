"""`leadflow db`, `requalify`, `audit verify` and `serve`, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from leadflow.adapters.db.engine import make_engine
from leadflow.entrypoints.cli import app as cli
from tests.factories import CAREGIVER, CAREGIVER_EVENTS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _caregiver_mql(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    for event in CAREGIVER_EVENTS:
        assert client.post("/v1/events?wait=decision", json=event).status_code == 201


def _history(url: str) -> list[tuple[str | None, str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT from_stage, to_stage, actor FROM stage_history ORDER BY id")
        ).all()
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


def test_requalify_dry_run_shows_decay_changes_and_writes_nothing(
    client: TestClient, runner: CliRunner, database_url: str
) -> None:
    _caregiver_mql(client)
    before = _history(database_url)
    later = "2026-09-01T00:00:00Z"  # months without engagement: intent decays
    result = runner.invoke(
        cli, ["requalify", "--dry-run", "--as-of", later, "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "1 open leads re-qualified; 1 would change stage" in result.output
    assert "mql" in result.output
    assert _history(database_url) == before

    result = runner.invoke(cli, ["requalify", "--as-of", later, "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "1 changed stage" in result.output
    assert _history(database_url)[-1] == ("mql", "nurture", "cli:requalify")
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "nurture"

    again = runner.invoke(cli, ["requalify", "--as-of", later, "--database-url", database_url])
    assert "0 changed stage" in again.output
    assert len(_history(database_url)) == len(before) + 1


def test_audit_verify_passes_then_detects_an_edited_and_a_deleted_record(
    client: TestClient, runner: CliRunner, database_url: str
) -> None:
    _caregiver_mql(client)
    client.post("/v1/leads/SC-001/actions/accept", json={}, headers={"X-Actor": "ana"})
    ok = runner.invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert ok.exit_code == 0, ok.output
    assert "audit chain intact" in ok.output
    head = ok.output.split("head ")[1].split()[0]

    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"))
    edited = runner.invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert edited.exit_code == 1
    assert "record 2: content does not match its hash" in edited.output

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'api' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    deleted = runner.invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert deleted.exit_code == 1
    assert "expected record 3 next" in deleted.output

    with engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 3"))
    engine.dispose()
    assert last >= 4
    cut = runner.invoke(
        cli, ["audit", "verify", "--expect-head", head, "--database-url", database_url]
    )
    assert cut.exit_code == 1
    assert "head differs" in cut.output


def test_db_upgrade_creates_the_schema_and_status_reports_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    status = runner.invoke(cli, ["db", "status", "--database-url", url])
    assert "schema none" in status.output
    assert "needs `leadflow db upgrade`" in status.output
    up = runner.invoke(cli, ["db", "upgrade", "--database-url", url])
    assert up.exit_code == 0, up.output
    assert "schema none → 0009" in up.output
    again = runner.invoke(cli, ["db", "upgrade", "--database-url", url])
    assert "already at schema 0009" in again.output
    refused = runner.invoke(
        cli, ["requalify", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]
    )
    assert refused.exit_code == 2
    assert "run `leadflow db upgrade` first" in refused.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_creates_an_empty_database_and_answers_over_http(tmp_path: Path) -> None:
    script = shutil.which("leadflow") or str(Path(sys.executable).with_name("leadflow"))
    port = _free_port()
    env = {**os.environ, "LEADFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    server = subprocess.Popen(  # noqa: S603 (our own command)
        [script, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        assert health.json()["schema_revision"] == "0009"
        created = httpx.post(f"http://127.0.0.1:{port}/v1/leads", json=CAREGIVER, timeout=10)
        assert created.status_code == 201
    finally:
        server.terminate()
        server.communicate(timeout=20)


def test_db_prune_deletes_only_keys_and_deliveries_past_their_retention(
    client: TestClient, runner: CliRunner, database_url: str
) -> None:
    for n in range(2):  # recorded at the fixture clock's time, months before today
        response = client.post(
            "/v1/leads", json={"lead_id": f"K{n}"}, headers={"Idempotency-Key": f"key-{n}"}
        )
        assert response.status_code == 201
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE idempotency_keys SET created_at = :now WHERE key LIKE '%key-1'"),
            {
                "now": datetime.now(UTC).replace(tzinfo=None)
                if "sqlite" in database_url
                else datetime.now(UTC)
            },
        )
    refused = runner.invoke(
        cli, ["db", "prune", "--delivery-days", "3", "--database-url", database_url]
    )
    assert refused.exit_code != 0
    pruned = runner.invoke(cli, ["db", "prune", "--database-url", database_url])
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 1 idempotency keys and 0 webhook delivery ids" in pruned.output
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT key FROM idempotency_keys")).scalars().all()
        leads = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
    engine.dispose()
    assert [k.split("|")[-1] for k in kept] == ["key-1"]
    assert leads == 2
