"""The outbound webhooks' acceptance walk-through, against a real receiver on 127.0.0.1.

A receiver answering 500, a timeout, 429 with Retry-After and 410 gets the attempts exactly
at the times docs/webhooks.md documents (its formula and its example timeline); after the
410 an operator enables the endpoint and replays, and a 200 delivers the message under the
same webhook-id. Then a real ``leadflow worker`` process is killed (SIGKILL) while the
receiver is handling a request: a second worker delivers everything, and only the message in
flight at the kill arrives twice. Both run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.db.tables import WebhookEndpointRow
from leadflow.adapters.webhooks import verify_webhook
from leadflow.adapters.webhooks.outbound import TIMEOUT_S as WORKER_TIMEOUT_S
from leadflow.adapters.webhooks.outbound import deliver_due, lease_for
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from tests.factories import deliver, new_lead, outbox, webhook_endpoint
from tests.fakes import START
from tests.store.receiver import Receiver

# The receiver and the HTTP client come from the outbound webhook tests.

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


class Middle:
    """The backoff's RNG, made exact (the middle of the range); records each range asked."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return (a + b) / 2


def documented_ceiling(attempt: int) -> float:
    """docs/webhooks.md: after failed attempt n, uniform(0, min(6 h, 30 s × 2^(n-1)))."""
    return min(6 * 3600.0, 30.0 * 2.0 ** (attempt - 1))


def documented_example() -> list[tuple[int, float, str]]:
    """The "Example timeline" table of docs/webhooks.md: (attempt, seconds after the message
    was written, answer) for each row."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("#### Example timeline", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (\d\d):(\d\d):(\d\d) \| ([^|]+) \|", section, re.M)
    assert rows, "docs/webhooks.md has no example timeline table"
    start = int(rows[0][1]) * 3600 + int(rows[0][2]) * 60 + int(rows[0][3])
    return [
        (int(n), float(int(h) * 3600 + int(m) * 60 + int(s) - start), answer.strip())
        for n, h, m, s, answer in rows
    ]


# -- 500, timeout, 429 + Retry-After, 410; enable, replay, 200 ---------------------------------
def test_500_timeout_429_410_then_enable_replay_and_200_at_the_documented_times(
    app: App,
    client: TestClient,
    receiver: Receiver,
    http: httpx.Client,
    database_url: str,
) -> None:
    example = documented_example()
    assert [answer for _, _, answer in example] == [
        "`500`",
        "timeout",
        "`429`, `Retry-After: 90`",
        "`410`",
    ]
    retry_after_s = 90.0

    # The documented formula, with the draws at the middle of their range: when each attempt
    # is due, in seconds after the message was written.
    expected = [0.0]
    for attempt, retry_after in [(1, None), (2, None), (3, retry_after_s)]:
        delay = documented_ceiling(attempt) / 2
        if retry_after is not None:
            delay = max(delay, retry_after)
        expected.append(expected[-1] + delay)
    assert expected == [0.0, 15.0, 45.0, 135.0]
    assert [at for _, at, _ in example] == expected  # the doc's example follows its formula
    assert [n for n, _, _ in example] == [1, 2, 3, 4]

    endpoint_id, secret = webhook_endpoint(app, receiver.url)
    new_lead(client)  # one stage change, written at START
    (row,) = outbox(app.db)
    assert (row.created_at, row.next_attempt_at) == (START, START)
    msg_id = row.msg_id
    receiver.script = [
        (500, {}),
        ("timeout",),
        (429, {"Retry-After": str(int(retry_after_s))}),
        (410, {}),
    ]
    rng = Middle()
    at = [START + timedelta(seconds=s) for s in expected]

    # 1: 500 → retried after uniform(0, 30 s)
    assert deliver(app, at[0], http, rng=rng).retrying == 1
    (row,) = outbox(app.db)
    assert (row.attempts, row.last_status, row.last_error) == (1, 500, "HTTP 500")
    assert row.next_attempt_at == at[1]

    # 2: a timeout (no answer) → retried after uniform(0, 1 min)
    assert deliver(app, at[1] - timedelta(seconds=1), http, rng=rng).claimed == 0
    assert deliver(app, at[1], http, rng=rng).retrying == 1
    (row,) = outbox(app.db)
    assert (row.attempts, row.last_status) == (2, None)
    assert row.last_error is not None
    assert row.last_error.startswith("timeout")
    assert row.next_attempt_at == at[2]

    # 3: 429 with Retry-After: 90 → 90 s, longer than the draw uniform(0, 2 min) = 60 s
    assert deliver(app, at[2] - timedelta(seconds=1), http, rng=rng).claimed == 0
    assert deliver(app, at[2], http, rng=rng).retrying == 1
    (row,) = outbox(app.db)
    assert (row.attempts, row.last_status, row.last_error) == (3, 429, "HTTP 429")
    assert row.next_attempt_at == at[3]
    assert rng.ranges == [(0.0, 30.0), (0.0, 60.0), (0.0, 120.0)]  # the documented ceilings

    # 4: 410 → the endpoint is disabled and the message is a dead letter
    assert deliver(app, at[3] - timedelta(seconds=1), http, rng=rng).claimed == 0
    report = deliver(app, at[3], http, rng=rng)
    assert (report.claimed, report.dead, report.delivered) == (1, 1, 0)
    (row,) = outbox(app.db)
    assert (row.dead, row.dead_at, row.attempts, row.last_status) == (True, at[3], 4, 410)
    assert row.delivered_at is None
    assert rng.ranges == [(0.0, 30.0), (0.0, 60.0), (0.0, 120.0)]  # no backoff after a 410
    with app.db.read() as session:
        endpoint = session.get(WebhookEndpointRow, endpoint_id)
        assert endpoint is not None
        assert endpoint.enabled is False
        assert endpoint.disabled_reason == f"410 Gone at {at[3].isoformat()}"
    assert deliver(app, at[3] + timedelta(days=1), http, rng=rng).claimed == 0  # nothing more

    # The attempts arrived exactly then: the same id, a fresh timestamp, valid signatures.
    assert len(receiver.received) == 4
    assert receiver.ids() == [msg_id] * 4
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # the same bytes on every attempt
    for (headers, body), when in zip(receiver.received, at, strict=True):
        assert headers["webhook-timestamp"] == str(int(when.timestamp()))
        assert verify_webhook(headers, body, [secret], when) == msg_id

    # The operator: sees the dead letter, cannot replay it while the endpoint is disabled,
    # enables the endpoint and replays.
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*args, "--database-url", database_url])
        assert result.exit_code == 0, result.output
        return result.output

    assert f"{endpoint_id}  disabled (410 Gone" in run("webhook", "list")
    dead = run("webhook", "dead")
    assert msg_id in dead
    assert "attempts=4  status=410" in dead
    refused = runner.invoke(cli, ["webhook", "replay", msg_id, "--database-url", database_url])
    assert refused.exit_code == 2  # a disabled endpoint's dead letter stays dead
    assert outbox(app.db)[0].dead is True

    assert run("webhook", "enable", endpoint_id).strip() == f"enabled {endpoint_id}"
    assert f"{endpoint_id}  enabled" in run("webhook", "list")
    before = datetime.now(UTC)
    assert "replayed 1 message" in run("webhook", "replay", msg_id)
    after = datetime.now(UTC)
    (row,) = outbox(app.db)
    replayed_at = row.next_attempt_at  # the CLI's real clock: due at once
    assert before <= replayed_at <= after
    assert (row.dead, row.dead_at, row.attempts) == (False, None, 0)
    assert row.retry_until == replayed_at + timedelta(days=3)  # a fresh three-day window
    assert row.msg_id == msg_id
    assert "0 dead letters" in run("webhook", "dead")

    # The receiver answers 200 now: delivered once more, same webhook-id, signed.
    receiver.default = (200, {})
    report = deliver(app, replayed_at, http, rng=rng)
    assert (report.claimed, report.delivered) == (1, 1)
    (row,) = outbox(app.db)
    assert (row.delivered_at, row.attempts, row.last_status, row.dead) == (
        replayed_at,
        1,
        200,
        False,
    )
    assert deliver(app, replayed_at + timedelta(days=4), http, rng=rng).claimed == 0
    assert len(receiver.received) == 5
    assert receiver.ids() == [msg_id] * 5
    headers, body = receiver.received[-1]
    assert body in bodies
    assert headers["webhook-timestamp"] == str(int(replayed_at.timestamp()))
    assert verify_webhook(headers, body, [secret], replayed_at) == msg_id
    assert rng.ranges == [(0.0, 30.0), (0.0, 60.0), (0.0, 120.0)]


# -- a worker process killed mid-delivery loses nothing ----------------------------------------
def _worker(url: str, *options: str) -> subprocess.Popen[str]:
    script = shutil.which("leadflow") or str(Path(sys.executable).with_name("leadflow"))
    return subprocess.Popen(  # noqa: S603 (our own command)
        [script, "worker", *options, "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LEADFLOW_WEBHOOK_ALLOW_PRIVATE": "1"},
    )


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_worker_killed_mid_delivery_loses_nothing(
    make_app: Callable[..., App], receiver: Receiver, http: httpx.Client, database_url: str
) -> None:
    app = make_app()
    endpoint_id, secret = webhook_endpoint(app, receiver.url)
    queued_at = datetime.now(UTC)  # the worker runs on the real clock
    with app.db.unit_of_work() as store:
        for n in range(30):
            store.outbox.enqueue("lead.stage_changed", {"type": "test", "n": n}, queued_at)
        store.commit()
    all_ids = {r.msg_id for r in outbox(app.db)}
    assert len(all_ids) == 30
    batch = 10
    receiver.delay_s = 0.3  # a slow receiver: the worker is mid-delivery most of the time
    # The fourth request gets no answer for seconds: the worker is surely mid-delivery when
    # it is killed, however slow the machine is.
    receiver.script = [(200, {}), (200, {}), (200, {}), ("timeout",)]

    started = datetime.now(UTC)
    worker = _worker(database_url, "--interval", "0.2", "--batch", str(batch))
    try:
        # The fourth request has reached the receiver, which is holding it: kill the worker.
        _wait_for(lambda: len(receiver.received) >= 4, 30, "the worker's fourth request")
        worker.kill()
        killed = datetime.now(UTC)
        worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == -9  # SIGKILL: no clean-up ran
    receiver.delay_s = 0.0  # from now on the receiver answers 200 at once
    sent_before_kill = receiver.ids()
    assert len(sent_before_kill) == 4

    rows = {r.msg_id: r for r in outbox(app.db)}
    delivered = {m for m, r in rows.items() if r.delivered_at is not None}
    in_flight = set(sent_before_kill) - delivered
    assert delivered == set(sent_before_kill[:3])  # answered and recorded before the kill
    assert in_flight == {sent_before_kill[3]}  # sent, never answered: not marked delivered
    # The rest of the killed worker's batch is leased: held back until the lease ends.
    lease = lease_for(batch, WORKER_TIMEOUT_S)
    leased = {m for m, r in rows.items() if r.delivered_at is None and r.attempts == 1}
    assert in_flight <= leased
    assert len(leased) == batch - 3
    for m in leased:
        assert started + lease <= rows[m].next_attempt_at <= killed + lease
    untouched = all_ids - delivered - leased
    assert len(untouched) == 30 - batch
    assert all(rows[m].attempts == 0 and rows[m].next_attempt_at == queued_at for m in untouched)
    assert not any(r.dead for r in rows.values())

    # A second worker right away sends what nobody holds, not the leased messages.
    second = _worker(database_url, "--once")
    out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    assert "20 delivered, 0 to retry, 0 dead-lettered" in out
    assert set(receiver.ids()[4:]) == untouched
    assert len(receiver.ids()) == 4 + len(untouched)

    # Once the lease ends, the leased messages go out (in-process, at a clock past the lease).
    (lease_end,) = {rows[m].next_attempt_at for m in leased}  # one claim, one lease
    assert lease_end > datetime.now(UTC)  # no real worker would have sent them yet
    early = deliver_due(
        app.db, lease_end - timedelta(seconds=1), http, 50, allow_private=True, timeout_s=5
    )
    assert early.claimed == 0
    report = deliver_due(app.db, lease_end, http, 50, allow_private=True, timeout_s=5)
    assert (report.claimed, report.delivered, report.retrying, report.dead) == (
        len(leased),
        len(leased),
        0,
        0,
    )

    # Every message arrived, every row is delivered, nothing is dead; only the message in
    # flight at the kill arrived twice (same webhook-id, valid signature each time).
    received = receiver.ids()
    assert set(received) == all_ids
    counts = Counter(received)
    assert {m for m, c in counts.items() if c > 1} == in_flight
    assert all(c <= 2 for c in counts.values())
    assert len(received) == 30 + len(in_flight)
    rows = {r.msg_id: r for r in outbox(app.db)}
    assert all(r.delivered_at is not None and not r.dead for r in rows.values())
    assert {r.endpoint_id for r in rows.values()} == {endpoint_id}
    # A claim counts as an attempt: the killed worker's leased batch was claimed twice.
    assert all(rows[m].attempts == (2 if m in leased else 1) for m in all_ids)
    for headers, body in receiver.received:
        when = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        assert verify_webhook(headers, body, [secret], when) == headers["webhook-id"]
