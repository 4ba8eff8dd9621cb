"""Backtest a playbook against historical outcomes (``leadflow backtest``).

Pure Python over the domain: ``outcomes`` (what counts and when), ``replay`` (each lead's
marketing history, without the outcome), ``metrics`` (per stage and band), ``sweep``
(thresholds within a capacity), ``compare`` (two playbooks), ``render`` (JSON, Markdown)
and ``run`` (the use case).
"""

from leadflow.errors import BacktestInputError
from leadflow.services.backtest.outcomes import OutcomeSpec, parse_outcome
from leadflow.services.backtest.render import render_json, render_markdown, to_record
from leadflow.services.backtest.run import BacktestRequest, BacktestResult, run_backtest
from leadflow.services.backtest.sweep import parse_capacity, parse_sweep, swept_playbook

__all__ = [
    "BacktestInputError",
    "BacktestRequest",
    "BacktestResult",
    "OutcomeSpec",
    "parse_capacity",
    "parse_outcome",
    "parse_sweep",
    "render_json",
    "render_markdown",
    "run_backtest",
    "swept_playbook",
    "to_record",
]
