"""The backtest as ``DIR/index.html`` plus PNG charts beside it: no scripts, no CDN.

The page embeds the Markdown report's figures as HTML tables (escaped) and links the charts
by relative path, so the folder can be zipped or served as it is.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from leadflow.adapters.reports.charts import band_chart, sweep_chart, volume_chart
from leadflow.services.backtest import BacktestResult, to_record

_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem}
td{text-align:right}td:first-child{text-align:left}img{max-width:100%}"""
_COLUMNS = (
    ("entered", "entered"),
    ("volume_per_week", "per week"),
    ("reached_outcome", "reached outcome"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("lift", "lift"),
    ("median_days_to_outcome", "median days"),
    ("p90_days_to_outcome", "p90 days"),
)


def _cell(value: object) -> str:
    return "–" if value is None else html.escape(str(value))


def _table(title: str, rows: Sequence[dict[str, object]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in _COLUMNS)
    body = "".join(
        f"<tr><td>{_cell(row['name'])}</td>"
        + "".join(f"<td>{_cell(row[key])}</td>" for key, _ in _COLUMNS)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr><th>{html.escape(title)}</th>{head}</tr>{body}</table>"


def write_html_report(result: BacktestResult, directory: Path) -> list[Path]:
    """Write ``index.html`` and the charts into ``directory`` (created); returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    record = to_record(result)
    mql = next(m for m in result.per_stage if m.name == "mql")
    charts = [("mql_volume.png", "MQL volume per week"), ("bands.png", "Precision and recall")]
    volume_chart(mql, directory / charts[0][0])
    band_chart(result.per_band, directory / charts[1][0])
    if result.sweep is not None:
        charts.append(("sweep.png", "Threshold sweep"))
        sweep_chart(result.sweep, directory / "sweep.png")
    title = f"Backtest: {result.playbook.id} (version {result.playbook.version})"
    base = record["base_rate"]
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Outcome <b>{html.escape(result.outcome.label)}</b>; {record['n_outcomes']} of "
        f"{record['n_leads']} leads (base rate {_cell(base)}) over {record['weeks']} weeks, "
        f"from {_cell(record['from'])} to {_cell(record['as_of'])}.</p>",
        "<h2>Per stage</h2>",
        _table("stage", record["per_stage"]),
        "<h2>Per band</h2>",
        _table("band", record["per_band"]),
    ]
    sweep = record["sweep"]
    if sweep is not None:
        best = sweep["recommended"]
        text = (
            "No combination fits the capacity (or no capacity was given)."
            if best is None
            else f"Recommended: fit ≥ {best['fit_at_least']:g}, intent ≥ "
            f"{best['intent_at_least']:g} ({_cell(best['volume_per_week'])} per week, "
            f"precision {_cell(best['precision'])}, recall {_cell(best['recall'])})."
        )
        parts += ["<h2>Threshold sweep</h2>", f"<p>{html.escape(text)}</p>"]
    compare = record["compare"]
    if compare is not None:
        rows = "".join(
            f"<tr><td>{_cell(c['from'])}</td><td>{_cell(c['to'])}</td><td>{c['count']}</td>"
            f"<td>{_cell(', '.join(c['lead_ids']))}</td></tr>"
            for c in compare["changes"]
        )
        parts += [
            "<h2>Compared with another playbook</h2>",
            f"<p>{_cell(compare['playbook'])} → {_cell(compare['other'])}: "
            f"{compare['changed']} leads change stage.</p>",
            f"<table><tr><th>from</th><th>to</th><th>leads</th><th>lead ids</th></tr>{rows}"
            "</table>",
        ]
    parts += ["<h2>Charts</h2>"]
    parts += [f"<p><img src='{name}' alt='{html.escape(alt)}'></p>" for name, alt in charts]
    parts.append("</body></html>\n")
    index = directory / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return [index, *(directory / name for name, _ in charts)]
