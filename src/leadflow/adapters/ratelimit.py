"""Rate limits with the ``limits`` library: a moving window per API key, per signed-in user
and per client address, counted in memory (one process) or in Redis (shared by every API
process)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

OFF = "off"


class RateLimiter:
    """``hit(kind, key)`` counts one request and says how long to wait when over a limit."""

    def __init__(self, per_principal: str, per_address: str, storage: str) -> None:
        self._limits = {
            "principal": _parsed(per_principal),
            "address": _parsed(per_address),
        }
        self._storage = storage_from_string(storage)
        self._limiter = MovingWindowRateLimiter(self._storage)

    def hit(self, kind: str, key: str) -> int | None:
        """Count a request of ``key`` (``kind`` is ``principal`` or ``address``); ``None``
        when it may go on, else the seconds until it may try again."""
        for item in self._limits[kind]:
            if not self._limiter.hit(item, kind, key):
                reset = self._limiter.get_window_stats(item, kind, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None

    def reset(self) -> None:
        """Forget every count (tests, and an operator's `leadflow` restart has the same)."""
        self._storage.reset()


def _parsed(text: str) -> list[RateLimitItem]:
    return [] if text.strip().lower() == OFF else parse_many(text)
