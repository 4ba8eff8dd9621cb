"""Random grant / revoke / unsubscribe / number change / enqueue / advance / send sequences
against the real message outbox (``messages`` in SQLite, sent by the worker's ``send_due``).

An independent model of the rules predicts which queued messages go at each send. Whatever
the sequence, nothing is sent without an active consent for the channel and the lead's
current contact point at send time, and a revocation between enqueue and send (not followed
by a new grant) means the message is never sent.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, select

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.adapters.db.tables import MessageRow
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.domain.events import Event, EventType
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.settings import Settings
from leadflow.services.store.intake import record_events, upsert_lead

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 14:00 in Boston
BOSTON = ZoneInfo("America/New_York")
EMAILS = ("pat@example.com", "pat@new.example")
PHONES = ("+16175550142", "+16175550199")
CHANNELS = ("email", "sms", "phone")
_MESSAGES = cast(Table, MessageRow.__table__)


@cache
def _template() -> Path:
    """A migrated SQLite database, copied for each example (migrating is the slow part)."""
    folder = tempfile.mkdtemp(prefix="lf-outbox-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@dataclass
class Recorder:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if channel == "email":  # every email here is a nurture (marketing) one: a way out
            body, _, footer = body.partition("\n\n--\n")
            url = footer.rsplit(" ", 1)[-1].strip()
            assert url.startswith("http://127.0.0.1:8000/u/")
            assert headers == {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        else:
            assert headers is None
        self.sent.append((channel, to, body))


@dataclass
class Model:
    """What the rules say, kept apart from leadflow's code."""

    now: datetime = START
    current: dict[str, int] = field(default_factory=lambda: {"email": 0, "phone": 0})
    status: dict[tuple[str, str], str] = field(default_factory=dict)
    queue: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # body → channel, due
    revoked_since_enqueue: set[str] = field(default_factory=set)

    def point(self, channel: str) -> str:
        return (
            EMAILS[self.current["email"]] if channel == "email" else PHONES[self.current["phone"]]
        )

    def in_hours(self) -> bool:
        return 8 <= self.now.astimezone(BOSTON).hour < 21

    def next_morning(self) -> datetime:
        local = self.now.astimezone(BOSTON)
        for days in range(3):
            start = datetime.combine(local.date() + timedelta(days=days), datetime.min.time())
            start = start.replace(hour=8, tzinfo=BOSTON).astimezone(UTC)
            if start > self.now:
                return start
        raise AssertionError("no morning")  # pragma: no cover

    def expected(self) -> list[tuple[str, str, str]]:
        sent = []
        for body, (channel, due) in sorted(self.queue.items(), key=lambda kv: kv[1][1]):
            if due > self.now:
                continue
            to = self.point(channel)
            if self.status.get((channel, to)) != "granted":
                del self.queue[body]  # dropped: waiting cannot cure it
            elif channel != "email" and not self.in_hours():
                self.queue[body] = (channel, self.next_morning())
            else:
                del self.queue[body]
                sent.append((channel, to, body))
        return sent


def _event(app: App, kind: EventType, props: dict[str, Any]) -> None:
    def work(store: SqlUnitOfWork) -> None:
        ctx = app.context("test", "test")
        event = Event(f"e-{ctx.now.timestamp()}-{kind.value}", "L-1", kind, ctx.now, props)
        record_events(store, [event], ctx)

    app.db.run(work)


def _enqueue(app: App, channel: str, body: str, at: datetime) -> None:
    def work(store: SqlUnitOfWork) -> None:
        store.session.execute(
            insert(_MESSAGES).values(
                msg_id=f"msg_{body}",
                lead_id="L-1",
                kind="nurture",
                channel=channel,
                body=body,
                created_at=at,
                due_at=at,
                status="queued",
                attempts=0,
            )
        )

    app.db.run(work)


channels = st.sampled_from(CHANNELS)
_ARGS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "grant": st.tuples(st.just("grant"), channels),
    "revoke": st.tuples(st.just("revoke"), channels),
    "unsubscribe": st.tuples(st.just("unsubscribe"), channels),
    "enqueue": st.tuples(st.just("enqueue"), channels),
    "send": st.tuples(st.just("send")),
    "change": st.tuples(st.just("change"), st.sampled_from(["email", "phone"])),
    "advance": st.tuples(st.just("advance"), st.integers(min_value=1, max_value=180)),
    "wait": st.tuples(st.just("advance"), st.integers(min_value=60, max_value=24 * 60)),
}
# Weighted towards grants, enqueues and sends so that many sequences do send something.
_KINDS = (
    ["grant"] * 4
    + ["enqueue"] * 4
    + ["send"] * 4
    + [
        "revoke",
        "unsubscribe",
        "change",
        "advance",
        "wait",
    ]
)
operations = st.sampled_from(_KINDS).flatmap(_ARGS.__getitem__)


@SETTINGS
@given(ops=st.lists(operations, min_size=5, max_size=30))
def test_the_outbox_never_sends_without_consent_at_send_time(ops: list[tuple[Any, ...]]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="lf-outbox-"))
    shutil.copy(_template(), folder / "db.sqlite")
    model = Model()
    app = bootstrap(
        Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}"), clock=lambda: model.now
    )
    try:
        _run(app, model, ops)
    finally:
        app.db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _run(app: App, model: Model, ops: list[tuple[Any, ...]]) -> None:
    profile = LeadProfile(
        lead_id="L-1", first_name="Pat", email=EMAILS[0], phone=PHONES[0], state="MA"
    )
    app.db.run(lambda store: upsert_lead(store, profile, app.context("test", "test")))
    sink = Recorder()
    enqueued = 0
    for op in ops:
        model.now += timedelta(seconds=1)
        match op:
            case ("grant" | "revoke" | "unsubscribe") as verb, str(channel):
                _consent(app, model, verb, channel)
            case ("change", str(kind)):
                model.current[kind] = 1 - model.current[kind]
                field_name = "email" if kind == "email" else "phone"
                _event(app, EventType.PROFILE_UPDATED, {field_name: model.point(field_name)})
            case ("enqueue", str(channel)):
                enqueued += 1
                body = f"m{enqueued}"
                before = len(sink.sent)
                _enqueue(app, channel, body, model.now)
                model.queue[body] = (channel, model.now)
                assert len(sink.sent) == before  # intent only
            case ("send",):
                _send(app, model, sink)
            case ("advance", int(minutes)):
                model.now += timedelta(minutes=minutes)
            case _:  # pragma: no cover
                raise AssertionError(op)


def _consent(app: App, model: Model, verb: str, channel: str) -> None:
    """A grant, revocation or unsubscribe, in the store and in the model."""
    kind = {
        "grant": EventType.CONSENT_GRANTED,
        "revoke": EventType.CONSENT_REVOKED,
        "unsubscribe": EventType.UNSUBSCRIBED,
    }[verb]
    _event(app, kind, {"channel": channel})
    point = model.point(channel)
    model.status[(channel, point)] = "granted" if verb == "grant" else "revoked"
    for body, (queued_channel, _) in model.queue.items():
        if queued_channel == channel and model.point(channel) == point:
            if verb == "grant":
                model.revoked_since_enqueue.discard(body)
            else:
                model.revoked_since_enqueue.add(body)


def _send(app: App, model: Model, sink: Recorder) -> None:
    """A send pass: exactly what the model expects goes out, never without consent."""
    before = len(sink.sent)
    report = app.sender(sink).send_due(model.now, 100)
    got = sink.sent[before:]
    expected = model.expected()
    assert sorted(got) == sorted(expected)
    assert report.sent == len(expected)
    for channel, to, body in got:
        assert model.status[(channel, to)] == "granted"
        assert to == model.point(channel)
        assert channel == "email" or model.in_hours()
        assert body not in model.revoked_since_enqueue
    _check_rows(app, model)


def _check_rows(app: App, model: Model) -> None:
    """The stored outbox agrees with the model: what is still queued, and why others are not."""
    with app.db.read() as session:
        rows = session.execute(select(_MESSAGES)).all()
    assert {r.body for r in rows if r.status == "queued"} == set(model.queue)
    for row in rows:
        if row.status == "sent":
            assert row.to_address is not None
        elif row.status == "skipped":
            assert row.reason in {"no_consent", "revoked"}
        elif row.status == "queued" and row.reason is not None:
            assert row.reason == "quiet_hours"
            assert row.due_at == model.queue[row.body][1]


def test_a_revocation_between_enqueue_and_send_sends_nothing() -> None:
    folder = Path(tempfile.mkdtemp(prefix="lf-outbox-"))
    shutil.copy(_template(), folder / "db.sqlite")
    model = Model()
    app = bootstrap(
        Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}"), clock=lambda: model.now
    )
    try:
        ops: list[tuple[Any, ...]] = [
            ("grant", "sms"),
            ("grant", "email"),
            ("enqueue", "sms"),
            ("enqueue", "email"),
            ("revoke", "sms"),
            ("unsubscribe", "email"),
            ("send",),
        ]
        _run(app, model, ops)
        with app.db.read() as session:
            rows = session.execute(select(_MESSAGES.c.status, _MESSAGES.c.reason)).all()
        assert sorted(tuple(r) for r in rows) == [("skipped", "revoked"), ("skipped", "revoked")]
    finally:
        app.db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
