"""Shared fixtures: a synthetic CRM export for the conversion-model tests."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

SYNTHETIC_ROWS = 400


def write_synthetic_export(path: Path, rows: int = SYNTHETIC_ROWS, seed: int = 7) -> Path:
    """A deterministic CRM export with signal, traps and two planted leaks.

    - ``source`` and ``minutes`` carry the real signal; ``source`` mixes ``Google`` and
      ``google`` and has ``Select`` for "not answered";
    - ``lead_ref`` is an id, ``region`` is constant;
    - ``close_reason`` is filled in after the outcome (it alone predicts it);
    - ``signed_by`` is only filled in for converted leads (its missingness predicts it);
    - ``created_at`` orders the leads in time.
    """
    rng = np.random.default_rng(seed)
    sources = rng.choice(["Google", "google", "Referral", "Event", "Select"], size=rows)
    minutes = rng.gamma(2.0, 300.0, size=rows).round()
    visits = rng.poisson(3, size=rows)
    referral = np.array([s == "Referral" for s in sources])
    logit = -1.0 + 1.6 * referral + 1.4 * (minutes - minutes.mean()) / minutes.std()
    converted = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    noise = rng.random(rows)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "lead_ref",
                "region",
                "source",
                "minutes",
                "visits",
                "close_reason",
                "signed_by",
                "created_at",
                "converted",
            ]
        )
        for i in range(rows):
            won = bool(converted[i]) != (noise[i] < 0.03)
            reason = "contract signed" if won else rng.choice(["no budget", "no answer"])
            signed = rng.choice(["Ann", "Bob", "Cy"]) if converted[i] else ""
            writer.writerow(
                [
                    f"R{i:05d}",
                    "North",
                    f"  {sources[i]} ",
                    f"{minutes[i]:.0f}",
                    "" if i % 17 == 0 else str(visits[i]),
                    reason,
                    signed,
                    (start + timedelta(hours=6 * i)).isoformat(),
                    "1" if converted[i] else "0",
                ]
            )
    return path


@pytest.fixture(scope="session")
def synthetic_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic export as a CSV file (shared, read-only)."""
    folder = tmp_path_factory.mktemp("model")
    return write_synthetic_export(folder / "export.csv")
