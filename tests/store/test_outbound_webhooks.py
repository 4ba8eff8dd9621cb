"""Outbound webhooks on stage change: a transactional outbox delivered at least once,
on SQLite and on PostgreSQL, to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import select as io_select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from leadflow.adapters.db.tables import WebhookEndpointRow, WebhookOutboxRow
from leadflow.adapters.webhooks import verify_webhook
from leadflow.adapters.webhooks.outbound import (
    BASE_DELAY_S,
    MAX_DELAY_S,
    deliver_due,
    lease_for,
    parse_retry_after,
    refused_target,
)
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.store.lifecycle import requalify_lead
from tests.factories import (
    CAREGIVER,
    CAREGIVER_EVENTS,
    TIMEOUT_S,
    deliver,
    new_lead,
    outbox,
    webhook_endpoint,
)
from tests.fakes import START, FakeClock, Half, Top
from tests.store.receiver import Receiver


# -- enqueue ------------------------------------------------------------------------------
def test_a_stage_change_queues_one_message_per_subscribed_enabled_endpoint(
    app: App, client: TestClient
) -> None:
    first, _ = webhook_endpoint(app, "https://hooks.example.com/a")
    second, _ = webhook_endpoint(app, "https://hooks.example.com/b")
    with app.db.unit_of_work() as store:
        store.session.execute(
            insert(WebhookEndpointRow),
            [
                {
                    "id": "ep_off",
                    "url": "https://hooks.example.com/off",
                    "secret": "whsec_AAAA",
                    "event_types": ["lead.stage_changed"],
                    "enabled": False,
                    "created_at": START,
                },
                {
                    "id": "ep_other",
                    "url": "https://hooks.example.com/other",
                    "secret": "whsec_AAAA",
                    "event_types": ["lead.created"],
                    "enabled": True,
                    "created_at": START,
                },
            ],
        )
        store.commit()

    new_lead(client)  # none → new: one stage change
    rows = outbox(app.db)
    assert sorted(r.endpoint_id for r in rows) == sorted([first, second])
    assert len({r.msg_id for r in rows}) == 2
    assert all(r.msg_id.startswith("msg_") for r in rows)
    assert rows[0].payload == rows[1].payload
    payload = rows[0].payload
    assert payload == {
        "type": "lead.stage_changed",
        "timestamp": START.isoformat(),
        "data": {
            "lead_id": "SC-001",
            "from_stage": None,
            "to_stage": payload["data"]["to_stage"],
            "status": payload["data"]["status"],
            "playbook": payload["data"]["playbook"],
            "reasons": payload["data"]["reasons"],
        },
    }
    assert set(payload["data"]["playbook"]) == {"id", "version"}
    assert all(isinstance(r, str) for r in payload["data"]["reasons"])
    text = json.dumps(payload)
    for contact in ("dana", "Example", "555", "example.com", "02139"):
        assert contact not in text  # no contact details leave through a webhook
    assert all(r.next_attempt_at == START and r.attempts == 0 and not r.dead for r in rows)

    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event)
    changes = [r.payload["data"] for r in outbox(app.db) if r.endpoint_id == first]
    assert changes[-1]["to_stage"] == "mql"
    assert [c["from_stage"] for c in changes[1:]] == [c["to_stage"] for c in changes[:-1]]


def test_a_rolled_back_stage_change_queues_nothing(app: App, client: TestClient) -> None:
    webhook_endpoint(app, "https://hooks.example.com/a")
    new_lead(client)
    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event)
    before = len(outbox(app.db))
    later = START + timedelta(days=180)  # months without engagement: the MQL decays
    with app.db.unit_of_work() as store:
        lead = store.leads.get_lead("SC-001")
        assert lead is not None
        result = requalify_lead(store, lead, app.playbooks, later, "test")
        assert result.changed
        inside = store.session.scalar(select(func.count()).select_from(WebhookOutboxRow))
        assert inside == before + 1  # queued in the same transaction...
        store.rollback()  # ...and gone with it
    assert len(outbox(app.db)) == before


def test_no_endpoint_means_no_message(app: App, client: TestClient) -> None:
    new_lead(client)
    assert outbox(app.db) == []


# -- delivery -----------------------------------------------------------------------------
def test_retries_follow_the_backoff_and_retry_after_then_deliver_signed(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id, secret = webhook_endpoint(app, receiver.url)
    new_lead(client)
    receiver.script = [(500, {}), ("timeout",), (429, {"Retry-After": "120"}), (204, {})]
    t0 = START

    report = deliver(app, t0, http)
    assert (report.claimed, report.retrying) == (1, 1)
    (row,) = outbox(app.db)
    assert row.next_attempt_at == t0 + timedelta(seconds=15)  # uniform(0, 30) → 15
    assert (row.attempts, row.last_status, row.last_error) == (1, 500, "HTTP 500")

    assert deliver(app, t0 + timedelta(seconds=14), http).claimed == 0  # not due yet
    deliver(app, t0 + timedelta(seconds=15), http)  # the receiver holds it: a timeout
    (row,) = outbox(app.db)
    assert row.next_attempt_at == t0 + timedelta(seconds=45)  # uniform(0, 60) → 30
    assert row.last_status is None
    assert row.last_error is not None
    assert row.last_error.startswith("timeout")

    deliver(app, t0 + timedelta(seconds=45), http)  # 429, Retry-After 120 > uniform(0,120)=60
    (row,) = outbox(app.db)
    assert row.next_attempt_at == t0 + timedelta(seconds=165)
    assert row.last_status == 429

    report = deliver(app, t0 + timedelta(seconds=165), http)
    assert report.delivered == 1
    (row,) = outbox(app.db)
    assert row.delivered_at == t0 + timedelta(seconds=165)
    assert (row.attempts, row.last_status, row.dead) == (4, 204, False)
    assert deliver(app, t0 + timedelta(days=1), http).claimed == 0  # delivered: never again

    assert len(receiver.received) == 4
    assert set(receiver.ids()) == {row.msg_id}  # the same webhook-id on every attempt
    sent_at = [0, 15, 45, 165]
    for (headers, body), offset in zip(receiver.received, sent_at, strict=True):
        now = t0 + timedelta(seconds=offset)
        assert headers["webhook-timestamp"] == str(int(now.timestamp()))
        assert headers["content-type"] == "application/json"
        assert verify_webhook(headers, body, [secret], now) == row.msg_id
        assert json.loads(body) == row.payload
    assert endpoint_id == row.endpoint_id


def test_retries_end_in_a_dead_letter_after_three_days_then_replay_delivers(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client, database_url: str
) -> None:
    webhook_endpoint(app, receiver.url)
    new_lead(client)
    receiver.default = (503, {})
    now, schedule = START, []
    while True:
        deliver(app, now, http, rng=Top())
        (row,) = outbox(app.db)
        if row.dead:
            break
        schedule.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    # uniform(0, ceiling) at its top: 30 s, 60 s, … doubling to the 6 h cap, and the last try
    # exactly three days after the message was written.
    assert schedule[:3] == [BASE_DELAY_S, 2 * BASE_DELAY_S, 4 * BASE_DELAY_S]
    assert max(schedule) == MAX_DELAY_S
    assert now == START + timedelta(days=3)
    assert row.dead_at == now
    assert row.attempts == len(schedule) + 1 == len(receiver.received)

    runner = CliRunner()
    dead = runner.invoke(cli, ["webhook", "dead", "--database-url", database_url])
    assert dead.exit_code == 0, dead.output
    assert row.msg_id in dead.output
    assert "HTTP 503" in dead.output

    receiver.default = (200, {})
    replayed = runner.invoke(cli, ["webhook", "replay", row.msg_id, "--database-url", database_url])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 message" in replayed.output
    # replay takes the CLI's real clock; deliver at a time after it
    (row,) = outbox(app.db)
    assert (row.dead, row.attempts) == (False, 0)
    assert deliver(app, row.next_attempt_at, http).delivered == 1
    assert receiver.ids()[-1] == row.msg_id
    assert outbox(app.db)[0].delivered_at is not None


def test_a_4xx_other_than_410_and_429_is_dead_at_once(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client
) -> None:
    webhook_endpoint(app, receiver.url)
    new_lead(client)
    receiver.script = [(400, {})]
    report = deliver(app, START, http)
    assert report.dead == 1
    (row,) = outbox(app.db)
    assert (row.dead, row.dead_at, row.last_status) == (True, START, 400)


def test_410_disables_the_endpoint(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    endpoint_id, _ = webhook_endpoint(app, receiver.url)
    new_lead(client)
    receiver.script = [(410, {})]
    assert deliver(app, START, http).dead == 1
    (row,) = outbox(app.db)
    assert (row.dead, row.last_status) == (True, 410)
    with app.db.read() as session:
        endpoint = session.get(WebhookEndpointRow, endpoint_id)
        assert endpoint is not None
        assert endpoint.enabled is False
        assert endpoint.disabled_reason is not None
        assert "410" in endpoint.disabled_reason
    for event in CAREGIVER_EVENTS:  # later stage changes queue nothing for it
        client.post("/v1/events?wait=decision", json=event)
    assert len(outbox(app.db)) == 1
    listed = CliRunner().invoke(
        cli, ["webhook", "list", "--database-url", app.settings.database_url]
    )
    assert f"{endpoint_id}  disabled (410 Gone" in listed.output
    assert "whsec_" not in listed.output

    enabled = CliRunner().invoke(
        cli, ["webhook", "enable", endpoint_id, "--database-url", app.settings.database_url]
    )
    assert enabled.exit_code == 0, enabled.output
    other = {**CAREGIVER, "lead_id": "SC-002", "email": "other@example.com", "phone": None}
    assert client.post("/v1/leads", json=other).status_code == 201
    assert len(outbox(app.db)) == 2  # an enabled endpoint gets stage changes again
    receiver.script = [(200, {})]
    assert deliver(app, START, http).delivered == 1


def test_after_a_410_the_rest_of_the_pass_sends_nothing_to_that_endpoint(
    app: App, receiver: Receiver, http: httpx.Client
) -> None:
    webhook_endpoint(app, receiver.url)
    with app.db.unit_of_work() as store:
        for n in range(3):
            store.outbox.enqueue("lead.stage_changed", {"type": "test", "n": n}, START)
        store.commit()
    receiver.script = [(410, {}), (200, {}), (200, {})]
    report = deliver(app, START, http)
    assert (report.claimed, report.delivered, report.dead) == (3, 0, 3)
    assert len(receiver.received) == 1  # only the request answered 410 was made
    rows = outbox(app.db)
    assert all(r.dead and r.delivered_at is None for r in rows)


def test_private_targets_are_refused_without_the_setting(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client
) -> None:
    webhook_endpoint(app, receiver.url)
    new_lead(client)
    report = deliver(app, START, http, allow_private=False)
    assert report.dead == 1
    (row,) = outbox(app.db)
    assert row.last_error is not None
    assert "non-public address (127.0.0.1)" in row.last_error
    assert receiver.received == []


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.4", True),
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:10.0.0.1", True),
        ("0.0.0.0", True),  # noqa: S104 (an address under test, not a bind)
        ("93.184.215.14", False),
        ("2606:4700::6810:84e5", False),
    ],
)
def test_target_addresses(address: str, refused: bool) -> None:
    def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example.com", 443)
        return [address]

    reason = refused_target("https://hooks.example.com/x", resolve)
    assert (reason is not None) == refused


def test_retry_after_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("120", START) == 120
    assert parse_retry_after("Fri, 06 Mar 2026 12:05:00 GMT", START) == 300
    assert parse_retry_after("Fri, 06 Mar 2026 11:00:00 GMT", START) == 0
    assert parse_retry_after("999999", START) == MAX_DELAY_S
    assert parse_retry_after("soon", START) is None
    assert parse_retry_after(None, START) is None


def test_the_worker_delivers_with_the_private_setting(
    app: App, client: TestClient, receiver: Receiver, database_url: str
) -> None:
    webhook_endpoint(app, receiver.url)
    new_lead(client)  # queued at START, long before the worker's real clock
    runner = CliRunner()
    refused = runner.invoke(cli, ["worker", "--once", "--database-url", database_url])
    assert refused.exit_code == 0, refused.output
    assert "0 delivered, 0 to retry, 1 dead-lettered" in refused.output
    assert receiver.received == []

    replay = runner.invoke(cli, ["webhook", "replay", "--all-dead", "--database-url", database_url])
    assert "replayed 1 message" in replay.output
    done = runner.invoke(
        cli,
        ["worker", "--once", "--database-url", database_url],
        env={"LEADFLOW_WEBHOOK_ALLOW_PRIVATE": "true"},
    )
    assert done.exit_code == 0, done.output
    assert "1 delivered" in done.output
    assert len(receiver.received) == 1


def test_cli_add_prints_the_secret_once_and_disable_dead_letters_pending_messages(
    app: App, client: TestClient, database_url: str
) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli, ["webhook", "add", "https://hooks.example.com/x", "--database-url", database_url]
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_")
    (endpoint_id,) = [w for w in added.output.split() if w.startswith("ep_")]
    listed = runner.invoke(cli, ["webhook", "list", "--database-url", database_url])
    assert endpoint_id in listed.output
    assert secret not in listed.output
    bad = runner.invoke(cli, ["webhook", "add", "ftp://x", "--database-url", database_url])
    assert bad.exit_code == 2

    new_lead(client)
    off = runner.invoke(cli, ["webhook", "disable", endpoint_id, "--database-url", database_url])
    assert off.exit_code == 0, off.output
    (row,) = outbox(app.db)
    assert (row.dead, row.last_error) == (True, "endpoint disabled")
    assert runner.invoke(cli, ["webhook", "disable", "ep_nope", "--database-url", database_url])
    again = runner.invoke(cli, ["webhook", "replay", row.msg_id, "--database-url", database_url])
    assert again.exit_code == 2  # a disabled endpoint's messages stay dead


# -- at least once, never twice at once -----------------------------------------------------
def test_two_workers_racing_never_send_the_same_message_twice(
    make_app: Callable[..., App], receiver: Receiver, database_url: str
) -> None:
    app = make_app()
    endpoint_id, _ = webhook_endpoint(app, receiver.url)
    with app.db.unit_of_work() as store:
        for n in range(40):
            store.outbox.enqueue("lead.stage_changed", {"type": "test", "n": n}, START)
        store.commit()
    receiver.delay_s = 0.005
    workers = [make_app(), make_app()]  # two engines: two connection pools, two "workers"
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(worker: App) -> None:
        try:
            barrier.wait(10)
            with httpx.Client() as http:
                while deliver_due(
                    worker.db, START, http, 3, rng=Half(), allow_private=True, timeout_s=5
                ).claimed:
                    pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    ids = receiver.ids()
    assert len(ids) == 40
    assert len(set(ids)) == 40
    rows = outbox(app.db)
    assert all(r.delivered_at == START and r.attempts == 1 for r in rows)
    assert {r.endpoint_id for r in rows} == {endpoint_id}


class KilledAfterSending(httpx.Client):
    """A worker that dies after the receiver answered, before the outcome is written."""

    def post(self, *args: Any, **kwargs: Any) -> httpx.Response:
        super().post(*args, **kwargs)
        raise KeyboardInterrupt


def test_a_worker_killed_after_sending_redelivers_with_the_same_id(
    app: App, client: TestClient, receiver: Receiver, http: httpx.Client
) -> None:
    webhook_endpoint(app, receiver.url)
    new_lead(client)
    with KilledAfterSending() as dying, pytest.raises(KeyboardInterrupt):
        deliver_due(app.db, START, dying, 1, allow_private=True, timeout_s=TIMEOUT_S)
    (row,) = outbox(app.db)
    assert row.delivered_at is None  # sent, but never marked
    lease_end = START + lease_for(1, TIMEOUT_S)
    assert row.next_attempt_at == lease_end  # leased: no other worker sends it meanwhile
    assert deliver(app, lease_end - timedelta(seconds=1), http).claimed == 0
    assert deliver(app, lease_end, http).delivered == 1
    assert receiver.ids() == [row.msg_id, row.msg_id]  # at least once, same webhook-id


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_loop_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    assert CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url]).exit_code == 0
    script = shutil.which("leadflow") or str(Path(sys.executable).with_name("leadflow"))
    worker = subprocess.Popen(  # noqa: S603 (our own command)
        [script, "worker", "--interval", "0.2", "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        ready, _, _ = io_select.select(
            [worker.stderr], [], [], 60
        )  # started (imports take a while)
        assert ready, "the worker printed nothing in 60 s"
        assert "worker started" in worker.stderr.readline()
        time.sleep(0.5)  # now waiting between passes
        assert worker.poll() is None
        worker.send_signal(signum)
        out, err = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert "worker stopped; webhooks: 0 delivered" in out
