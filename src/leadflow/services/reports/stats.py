"""Medians, the 90th percentile and safe ratios, exactly as docs/reports.md defines them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float | None:
    """``statistics.median``: the middle value, or the mean of the two middle values."""
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by the nearest-rank method: the smallest value such that at
    least 90 % of the values are less than or equal to it (``sorted[ceil(0.9 n) - 1]``).
    It is always one of the observed values; with fewer than 10 values it is the maximum."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 decimals; ``None`` when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
