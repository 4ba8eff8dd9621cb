"""Random grant / revoke / number change / enqueue / send sequences through the one send path.

The outbox is sent by :class:`~leadflow.services.sending.Sender` (what the worker runs) over
in-memory repositories. An independent model of the rules predicts exactly which queued
messages go at each send; the recording sink must see exactly those, so a message never goes
without an active consent for its channel and the lead's current contact point at send time
(and the gate is not trivially shut either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fakes import RecordingSink
from tests.fakes.store import FakeDatabase

from leadflow.adapters.messaging_sink import FileSink
from leadflow.domain.contact_rules import US_ZONES
from leadflow.domain.profile import LeadProfile
from leadflow.services.nurture_ports import NURTURE, NewMessage
from leadflow.services.sending import Location, Sender
from leadflow.services.store.ports import ConsentRecord, StoredLead

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 14:00 in New York, 09:00 in Honolulu
CHANNELS = ("email", "sms", "phone")
POINTS = {
    "email": ("pat@example.com", "pat@new.example"),
    "phone": ("+16175550142", "+16175550199"),
}
FOOTER = "\n\n--\nTo stop these emails"


def _kind(channel: str) -> str:
    return "email" if channel == "email" else "phone"


@dataclass
class World:
    """The lead in the fake store, the sender, and an independent model of the rules."""

    zones: frozenset[str] | None
    now: datetime = START
    db: FakeDatabase = field(default_factory=FakeDatabase)
    sink: RecordingSink = field(default_factory=RecordingSink)
    current: dict[str, int] = field(default_factory=lambda: {"email": 0, "phone": 0})
    paused: bool = False
    status: dict[tuple[str, str], str] = field(default_factory=dict)  # the model
    waiting: list[int] = field(default_factory=list)  # ids the model expects still queued

    def __post_init__(self) -> None:
        self.db.uow.leads.add_lead(StoredLead("L-1", "p", self._profile(), START, START))

    def _profile(self) -> LeadProfile:
        return LeadProfile("L-1", email=self.point("email"), phone=self.point("sms"))

    @property
    def sender(self) -> Sender:
        return Sender(self.db.run, self.sink, lambda _: Location(self.zones or frozenset()))

    def point(self, channel: str) -> str:
        kind = _kind(channel)
        return POINTS[kind][self.current[kind]]

    def change(self, kind: str) -> None:
        self.current[kind] = 1 - self.current[kind]
        lead = self.db.uow.leads.leads["L-1"]
        self.db.uow.leads.leads["L-1"] = replace(lead, profile=self._profile())

    def consent(self, channel: str, point: str, status: str) -> None:
        self.db.uow.leads.add_consent(
            ConsentRecord("L-1", channel, "marketing", point, status, self.now, "test", "form")
        )
        self.status[(channel, point)] = status

    def pause(self, paused: bool) -> None:
        self.paused = paused
        if paused:
            self.db.uow.nurture.add_sms_reply("L-1", self.point("sms"), "call me?", self.now)
        else:
            self.db.uow.nurture.clear_review("L-1")

    def enqueue(self, channel: str, body: str) -> int:
        self.db.uow.nurture.queue_message(
            NewMessage("L-1", NURTURE, channel, body, created_at=self.now, due_at=self.now)
        )
        row = self.db.uow.nurture.messages[-1]
        self.waiting.append(row.id)
        return row.id

    def in_hours(self, at: datetime | None = None) -> bool:
        names = self.zones or US_ZONES
        at = at or self.now
        return all(8 <= at.astimezone(ZoneInfo(z)).hour < 21 for z in names)

    def expected_sends(self) -> list[tuple[str, str, str]]:
        """What the model says goes now; the refused stay queued (waiting) or are dropped."""
        rows = {m.id: m for m in self.db.uow.nurture.messages}
        due = sorted(
            (i for i in self.waiting if rows[i].due_at <= self.now),
            key=lambda i: (rows[i].due_at, i),
        )
        sent = []
        for message_id in due:
            message = rows[message_id].message
            to = self.point(message.channel)
            if self.status.get((message.channel, to)) != "granted":
                self.waiting.remove(message_id)  # dropped: no consent or revoked
                continue
            if self.paused or (message.channel != "email" and not self.in_hours()):
                continue  # kept for later
            self.waiting.remove(message_id)
            sent.append((message.channel, to, message.body))
        return sent


channels = st.sampled_from(CHANNELS)
# Which contact point a grant or revocation names: mostly the current one, sometimes the other.
which = st.sampled_from(["current", "current", "current", "other"])
grants = st.tuples(st.just("grant"), channels, which)
revokes = st.tuples(st.just("revoke"), channels, which)
enqueues = st.tuples(st.just("enqueue"), channels)
sends = st.tuples(st.just("send"))
# Weighted towards grants, enqueues and sends so that many sequences do send something.
operations = st.one_of(
    grants,
    grants,
    grants,
    grants,
    enqueues,
    enqueues,
    sends,
    sends,
    revokes,
    st.tuples(st.just("change"), st.sampled_from(["email", "phone"])),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=180)),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24 * 60)),
    st.tuples(st.just("pause"), st.sampled_from([False, False, True])),
)
zone_sets = st.sampled_from(
    [
        None,
        frozenset({"America/New_York"}),
        frozenset({"America/New_York", "America/Los_Angeles"}),
        frozenset({"Pacific/Honolulu"}),
    ]
)


def _check_send(world: World) -> None:
    before = len(world.sink.sent)
    report = world.sender.send_due(world.now, 100)
    expected = world.expected_sends()
    got = [(c, to, body) for c, to, body, _ in world.sink.sent[before:]]
    assert [(c, to) for c, to, _ in got] == [(c, to) for c, to, _ in expected]
    for (channel, to, body), (_, _, wanted) in zip(got, expected, strict=True):
        assert body == wanted if channel != "email" else body.startswith(wanted + FOOTER)
        assert world.status[(channel, to)] == "granted"
        assert to == world.point(channel)
        assert not world.paused
        assert channel == "email" or world.in_hours()
    assert report.sent == len(expected)
    rows = {m.id: m for m in world.db.uow.nurture.messages}
    queued = sorted(i for i, m in rows.items() if m.status == "queued")
    assert queued == sorted(world.waiting)
    for message_id in world.waiting:  # a refusal waiting can cure: tried again later
        assert rows[message_id].due_at > world.now
        assert rows[message_id].lease_until is None


@SETTINGS
@given(zones=zone_sets, ops=st.lists(operations, min_size=20, max_size=60))
def test_nothing_is_sent_without_consent_for_the_channel_and_point_at_send_time(
    zones: frozenset[str] | None, ops: list[tuple[object, ...]]
) -> None:
    world = World(zones)
    enqueued = 0
    for op in ops:
        world.now += timedelta(seconds=1)
        match op:
            case ("grant" | "revoke") as verb, str(channel), str(named):
                kind = _kind(channel)
                index = world.current[kind] if named == "current" else 1 - world.current[kind]
                world.consent(
                    channel, POINTS[kind][index], "granted" if verb == "grant" else "revoked"
                )
            case ("change", str(kind)):
                world.change(kind)
            case ("enqueue", str(channel)):
                enqueued += 1
                before = len(world.sink.sent)
                world.enqueue(channel, f"body {enqueued}")
                assert len(world.sink.sent) == before  # intent only: nothing checked or sent
            case ("send",):
                _check_send(world)
            case ("advance", int(minutes)):
                world.now += timedelta(minutes=minutes)
            case ("pause", bool(paused)):
                world.pause(paused)
            case _:  # pragma: no cover
                raise AssertionError(op)


def _status(world: World, message_id: int) -> tuple[str, str | None]:
    row = world.db.uow.nurture.row(message_id)
    return row.status, row.reason


def test_revocation_between_enqueue_and_send_sends_nothing() -> None:
    world = World(frozenset({"America/New_York"}))
    world.consent("sms", world.point("sms"), "granted")
    message_id = world.enqueue("sms", "hello")
    world.now += timedelta(minutes=1)
    world.consent("sms", world.point("sms"), "revoked")
    world.now += timedelta(minutes=1)
    assert world.sender.send_due(world.now).skipped == 1
    assert _status(world, message_id) == ("skipped", "revoked")
    assert world.sink.sent == []


def test_a_grant_for_the_old_number_never_covers_the_new_one() -> None:
    world = World(frozenset({"America/New_York"}))
    old = world.point("sms")
    world.consent("sms", old, "granted")
    message_id = world.enqueue("sms", "hello")
    world.change("phone")
    world.now += timedelta(minutes=1)
    world.sender.send_due(world.now)
    assert _status(world, message_id) == ("skipped", "no_consent")
    assert world.sink.sent == []


def test_quiet_hours_defer_a_text_to_the_start_of_the_recipients_day() -> None:
    world = World(frozenset({"America/New_York"}), now=datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    world.consent("sms", world.point("sms"), "granted")
    message_id = world.enqueue("sms", "hello")
    assert world.sender.send_due(world.now).deferred == 1  # 22:00 in New York
    row = world.db.uow.nurture.row(message_id)
    assert (row.status, row.reason) == ("queued", "quiet_hours")
    assert row.due_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert world.sender.send_due(row.due_at - timedelta(seconds=1)).claimed == 0
    assert world.sender.send_due(row.due_at).sent == 1


def test_the_file_sink_gets_only_what_the_gate_allows(tmp_path: Path) -> None:
    world = World(frozenset({"America/New_York"}))
    world.consent("email", world.point("email"), "granted")
    for channel in ("email", "sms"):
        world.db.uow.nurture.queue_message(
            NewMessage("L-1", "notice", channel, "Hi ✓", created_at=world.now, due_at=world.now)
        )
    sink = FileSink(tmp_path / "out" / "messages.jsonl")
    Sender(world.db.run, sink, lambda _: Location(frozenset({"America/New_York"}))).send_due(
        world.now
    )
    lines = sink.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"channel": "email", "to": "pat@example.com", "body": "Hi ✓"}
    ]
