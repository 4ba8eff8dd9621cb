"""Hand-written fakes for tests: a clock the test moves, a message sink that records, the
backoff's random numbers made exact. Fakes over mocks (STYLE.md): each is a small class
with the port's methods."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = field(default=START)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingSink:
    sent: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    headers: list[Mapping[str, str] | None] = field(default_factory=list)
    fail_times: int = 0
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self.lock:
            if self.fail_times:
                self.fail_times -= 1
                raise ConnectionError("provider down")
            self.sent.append((channel, to, body, subject))
            self.headers.append(headers)


class Half:
    """The backoff's RNG, made exact: always the middle of the range."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


class Top:
    """Always the top of the range (the slowest schedule)."""

    def uniform(self, a: float, b: float) -> float:
        return b
