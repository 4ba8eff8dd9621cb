"""Random grant / revoke / number change / enqueue / send sequences against the consent gate.

An independent model of the rules predicts exactly which queued messages go at each send;
the recording sink must see exactly those, so a message never goes without an active consent
for its channel and the lead's current contact point at send time (and the gate is not
trivially shut either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.adapters.messaging_sink import FileSink
from leadflow.domain.contact_rules import US_ZONES, ConsentFact
from leadflow.services.messaging import Message, MessageQueue, Recipient, send

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 14:00 in New York, 09:00 in Honolulu
CHANNELS = ("email", "sms", "phone")
POINTS = {
    "email": ("pat@example.com", "pat@new.example"),
    "phone": ("+16175550142", "+16175550199"),
}


def _kind(channel: str) -> str:
    return "email" if channel == "email" else "phone"


@dataclass
class RecordingSink:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, channel: str, to: str, body: str, subject: str | None = None) -> None:
        assert subject is None  # these messages have none
        self.sent.append((channel, to, body))


@dataclass
class World:
    """The lead as the store would hold it, plus an independent model of the rules."""

    zones: frozenset[str] | None
    now: datetime = START
    current: dict[str, int] = field(default_factory=lambda: {"email": 0, "phone": 0})
    paused: bool = False
    facts: list[ConsentFact] = field(default_factory=list)
    status: dict[tuple[str, str], str] = field(default_factory=dict)  # the model
    model_queue: list[Message] = field(default_factory=list)

    def point(self, channel: str) -> str:
        kind = _kind(channel)
        return POINTS[kind][self.current[kind]]

    def recipient(self, lead_id: str) -> Recipient:
        assert lead_id == "L-1"
        return Recipient(
            email=self.point("email"),
            phone=self.point("sms"),
            consents=tuple(self.facts),
            zones=self.zones,
            paused=self.paused,
        )

    def in_hours(self) -> bool:
        names = self.zones or US_ZONES
        return all(8 <= self.now.astimezone(ZoneInfo(z)).hour < 21 for z in names)

    def expected_sends(self) -> list[tuple[str, str, str]]:
        sent, kept = [], []
        for message in self.model_queue:
            to = self.point(message.channel)
            if self.status.get((message.channel, to)) != "granted":
                continue  # dropped: no consent or revoked
            if self.paused or (message.channel != "email" and not self.in_hours()):
                kept.append(message)
                continue
            sent.append((message.channel, to, message.body))
        self.model_queue = kept
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


@SETTINGS
@given(zones=zone_sets, ops=st.lists(operations, min_size=5, max_size=40))
def test_nothing_is_sent_without_consent_for_the_channel_and_point_at_send_time(
    zones: frozenset[str] | None, ops: list[tuple[object, ...]]
) -> None:
    world = World(zones)
    queue = MessageQueue()
    sink = RecordingSink()
    enqueued = 0
    for op in ops:
        world.now += timedelta(seconds=1)
        match op:
            case ("grant" | "revoke") as verb, str(channel), str(named):
                kind = _kind(channel)
                index = world.current[kind] if named == "current" else 1 - world.current[kind]
                point = POINTS[kind][index]
                status = "granted" if verb == "grant" else "revoked"
                world.facts.append(ConsentFact(channel, point, status, world.now))
                world.status[(channel, point)] = status
            case ("change", str(kind)):
                world.current[kind] = 1 - world.current[kind]
            case ("enqueue", str(channel)):
                enqueued += 1
                message = Message(f"M-{enqueued}", "L-1", channel, f"body {enqueued}")
                before = len(sink.sent)
                queue.enqueue(message)
                world.model_queue.append(message)
                assert len(sink.sent) == before  # intent only: nothing checked or sent
            case ("send",):
                before = len(sink.sent)
                results = queue.send_due(world.recipient, sink, lambda: world.now)
                expected = world.expected_sends()
                assert sink.sent[before:] == expected
                for channel, to, _ in sink.sent[before:]:
                    assert world.status[(channel, to)] == "granted"
                    assert to == world.point(channel)
                    assert not world.paused
                    assert channel == "email" or world.in_hours()
                assert all(r.to == world.point(r.message.channel) for r in results)
                assert sum(r.decision.allowed for r in results) == len(expected)
                assert queue.waiting == tuple(world.model_queue)
            case ("advance", int(minutes)):
                world.now += timedelta(minutes=minutes)
            case ("pause", bool(paused)):
                world.paused = paused
            case _:  # pragma: no cover
                raise AssertionError(op)


def test_revocation_between_enqueue_and_send_sends_nothing() -> None:
    world = World(frozenset({"America/New_York"}))
    queue, sink = MessageQueue(), RecordingSink()
    world.facts.append(ConsentFact("sms", world.point("sms"), "granted", world.now))
    queue.enqueue(Message("M-1", "L-1", "sms", "hello"))
    world.now += timedelta(minutes=1)
    world.facts.append(ConsentFact("sms", world.point("sms"), "revoked", world.now))
    world.now += timedelta(minutes=1)
    [result] = queue.send_due(world.recipient, sink, lambda: world.now)
    assert result.decision.reason == "revoked"
    assert sink.sent == []
    assert queue.waiting == ()


def test_a_grant_for_the_old_number_never_covers_the_new_one() -> None:
    world = World(frozenset({"America/New_York"}))
    queue, sink = MessageQueue(), RecordingSink()
    old = world.point("sms")
    world.facts.append(ConsentFact("sms", old, "granted", world.now))
    queue.enqueue(Message("M-1", "L-1", "sms", "hello"))
    world.current["phone"] = 1
    world.now += timedelta(minutes=1)
    [result] = queue.send_due(world.recipient, sink, lambda: world.now)
    assert result.to == world.point("sms") != old
    assert result.decision.reason == "no_consent"
    assert sink.sent == []


def test_the_file_sink_gets_only_what_the_gate_allows(tmp_path: Path) -> None:
    world = World(frozenset({"America/New_York"}))
    sink = FileSink(tmp_path / "out" / "messages.jsonl")
    world.facts.append(ConsentFact("email", world.point("email"), "granted", world.now))
    for channel in ("email", "sms"):
        send(
            Message(f"M-{channel}", "L-1", channel, "Hi ✓"),
            world.recipient,
            sink,
            lambda: world.now,
        )
    lines = sink.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"channel": "email", "to": "pat@example.com", "body": "Hi ✓"}
    ]
