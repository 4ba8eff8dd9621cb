"""The backtest report as one JSON object or as Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from leadflow.services.backtest.metrics import GroupMetrics
from leadflow.services.backtest.run import BacktestResult
from leadflow.services.backtest.sweep import Sweep

_SHOWN_IDS = 20


def to_record(result: BacktestResult) -> dict[str, Any]:
    """base_rate, n_leads, n_outcomes, weeks, per_stage[], per_band[], sweep, compare."""
    totals = result.totals
    sweep: dict[str, Any] | None = None
    if result.sweep is not None:
        best = result.sweep.recommended
        sweep = {
            "capacity_per_week": result.sweep.capacity,
            "fast_tracked": result.sweep.fast_tracked,
            "grid": [t.to_record() for t in result.sweep.grid],
            "recommended": best.to_record() if best is not None else None,
        }
    base = totals.base_rate
    return {
        "playbook": {"id": result.playbook.id, "version": result.playbook.version},
        "outcome": result.outcome.label,
        "time_to_outcome_available": totals.timed,
        "from": totals.window.start.isoformat(),
        "as_of": totals.window.end.isoformat(),
        "n_leads": totals.n_leads,
        "n_outcomes": totals.n_outcomes,
        "base_rate": None if base is None else round(base, 4),
        "weeks": round(totals.window.weeks, 4),
        "per_stage": [m.to_record() for m in result.per_stage],
        "per_band": [m.to_record() for m in result.per_band],
        "sweep": sweep,
        "compare": result.comparison.to_record() if result.comparison is not None else None,
    }


def render_json(result: BacktestResult) -> str:
    """The report as indented JSON, ending with a newline."""
    return json.dumps(to_record(result), indent=2, ensure_ascii=False) + "\n"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(title: str, rows: Sequence[GroupMetrics]) -> list[str]:
    lines = [
        f"| {title} | entered | per week | reached outcome | precision | recall | lift "
        "| median days | p90 days |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        lines.append(
            f"| {m.name} | {m.entered} | {_num(m.per_week)} | {m.reached} "
            f"| {_pct(m.precision)} | {_pct(m.recall)} | {_num(m.lift, 2)} "
            f"| {_num(m.median_days)} | {_num(m.p90_days)} |"
        )
    return lines


def _sweep_lines(sweep: Sweep) -> list[str]:
    lines = ["", "## Threshold sweep (MQL)", ""]
    if sweep.capacity is None:
        lines.append("No `--capacity` given: no recommendation.")
    elif sweep.recommended is None:
        lines.append(f"No combination stays within {sweep.capacity:g} MQLs per week.")
    else:
        best = sweep.recommended
        lines.append(
            f"**Recommended** within {sweep.capacity:g} MQLs per week: fit ≥ "
            f"{best.fit_at_least:g}, intent ≥ {best.intent_at_least:g} — "
            f"{_num(best.mql.per_week)} per week, precision {_pct(best.mql.precision)}, "
            f"recall {_pct(best.mql.recall)}, lift {_num(best.mql.lift, 2)} "
            f"(version `{best.version}`)."
        )
    if sweep.fast_tracked:
        lines += [
            "",
            f"{sweep.fast_tracked} leads become MQL by a fast track at some point: "
            "no threshold changes those.",
        ]
    lines += [
        "",
        "| fit ≥ | intent ≥ | MQLs | per week | precision | recall | lift | within capacity |",
        "|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for t in sweep.grid:
        m = t.mql
        within = "" if sweep.capacity is None else ("yes" if m.per_week <= sweep.capacity else "")
        mark = " **←**" if t is sweep.recommended else ""
        lines.append(
            f"| {t.fit_at_least:g} | {t.intent_at_least:g} | {m.entered} | {_num(m.per_week)} "
            f"| {_pct(m.precision)} | {_pct(m.recall)} | {_num(m.lift, 2)} | {within}{mark} |"
        )
    return lines


def _compare_lines(result: BacktestResult) -> list[str]:
    comparison = result.comparison
    if comparison is None:
        return []
    changed = sum(len(c.lead_ids) for c in comparison.changes)
    lines = [
        "",
        "## Compared with another playbook",
        "",
        f"`{comparison.playbook}` → `{comparison.other}`, stages at "
        f"{comparison.as_of.isoformat()}: {changed} leads change stage, "
        f"{comparison.unchanged} do not.",
        "",
    ]
    if comparison.changes:
        lines += ["| from | to | leads | lead ids |", "|---|---|---:|---|"]
        for c in comparison.changes:
            ids = ", ".join(c.lead_ids[:_SHOWN_IDS])
            ids += ", …" if len(c.lead_ids) > _SHOWN_IDS else ""
            lines.append(f"| {c.before} | {c.after} | {len(c.lead_ids)} | {ids} |")
        lines.append("")
    lines += [
        "| stage | entered | → | per week | → | precision | → | recall | → |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mine, theirs in comparison.stages:
        lines.append(
            f"| {mine.name} | {mine.entered} | {theirs.entered} | {_num(mine.per_week)} "
            f"| {_num(theirs.per_week)} | {_pct(mine.precision)} | {_pct(theirs.precision)} "
            f"| {_pct(mine.recall)} | {_pct(theirs.recall)} |"
        )
    return lines


def render_markdown(result: BacktestResult) -> str:
    """A readable report: the totals, per stage, per band, then the sweep and comparison."""
    totals, playbook = result.totals, result.playbook
    timed = "" if totals.timed else " Time to outcome is unavailable (a column has no time)."
    lines = [
        f"# Backtest: {playbook.id} (version {playbook.version})",
        "",
        f"Outcome **{result.outcome.label}**; history from {totals.window.start.isoformat()} "
        f"to {totals.window.end.isoformat()} ({totals.window.weeks:.1f} weeks). "
        f"{totals.n_outcomes} of {totals.n_leads} leads reached the outcome "
        f"(base rate {_pct(totals.base_rate)}).{timed}",
        "",
        "Marketing stages are replayed from engagement, consent and profile only, with events "
        "before each lead's outcome (see docs/backtest.md).",
        "",
        "## Per stage",
        "",
        *_table("stage", result.per_stage),
        "",
        "## Per band",
        "",
        *_table("band", result.per_band),
    ]
    if result.sweep is not None:
        lines += _sweep_lines(result.sweep)
    lines += _compare_lines(result)
    return "\n".join(lines) + "\n"
