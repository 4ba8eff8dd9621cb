"""``leadflow model train`` and ``leadflow model score``: a predictive conversion score.

Exit codes: 0 success; 2 unreadable files, unusable data (no rows, no such or non-binary
outcome column) and bad options.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadflow.entrypoints.common import fail, stderr
from leadflow.entrypoints.reporting import say
from leadflow.errors import LeadflowError

if TYPE_CHECKING:
    from leadflow.adapters.model import TrainResult

model_app = typer.Typer(
    help="Learn a conversion model from a CRM export and score leads with it.",
    no_args_is_help=True,
)


def _show(console: Console, result: TrainResult) -> None:
    summary = result.summary()
    say(console, f"{summary['model']} model, evaluated by {summary['evaluation']}")
    metrics = Table()
    metrics.add_column("figure")
    metrics.add_column("value", justify="right")
    rows = [
        ("leads", f"{result.n_rows}"),
        ("conversion rate", f"{summary['base_rate']:.1%}"),
        ("ROC AUC", f"{summary['roc_auc']:.3f}"),
        ("balanced cut-off", f"{summary['cutoff']:.3f}"),
        ("sensitivity (recall)", f"{summary['sensitivity']:.1%}"),
        ("specificity", f"{summary['specificity']:.1%}"),
        ("precision", f"{summary['precision']:.1%}"),
        ("conversion in top 10 %", f"{summary['top10_conversion']:.1%}"),
        ("conversion in top 20 %", f"{summary['top20_conversion']:.1%}"),
        ("conversion in top 30 %", f"{summary['top30_conversion']:.1%}"),
    ]
    for name, value in rows:
        metrics.add_row(name, value)
    console.print(metrics)
    say(console, f"used columns ({len(result.plan.used)}): " + ", ".join(result.plan.used))
    if result.plan.excluded:
        excluded = Table(title="excluded columns")
        excluded.add_column("column")
        excluded.add_column("reason")
        for name, reason in result.plan.excluded.items():
            excluded.add_row(name, reason, style="red" if "predicts" in reason else None)
        console.print(excluded)


@model_app.command("train")
def model_train(
    *,
    data: Annotated[Path, typer.Option(metavar="FILE.csv", help="Historical leads with outcome.")],
    outcome: Annotated[
        str, typer.Option(metavar="COLUMN", help="The 0/1 (yes/no, won/lost) outcome column.")
    ],
    time_column: Annotated[
        str | None,
        typer.Option(metavar="COLUMN", help="Evaluate on the latest 20 % of leads by this time."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="YAML: `roles: {col: role}`, `entry_time: [cols]`."),
    ] = None,
    entry_time_only: Annotated[
        bool,
        typer.Option("--entry-time-only", help="Use only the mapping's `entry_time` columns."),
    ] = False,
    keep_leaky: Annotated[
        bool,
        typer.Option("--keep-leaky", help="Keep columns the leakage guard would exclude."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="MODEL_DIR", help="Save the model here."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.png", help="Reliability plot (default: MODEL_DIR/reliability.png)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed of folds and models.")] = 0,
) -> None:
    """Learn a calibrated conversion model from any CRM export, with a leakage guard."""
    # Imported here, not at the top: pandas, scikit-learn and matplotlib take a second or
    # two to load, and no other command needs them.
    from leadflow.adapters.model import (  # noqa: PLC0415
        PLOT_FILE,
        ModelMapping,
        TrainOptions,
        load_model_mapping,
        reliability_plot,
        save_model,
        train,
    )

    try:
        columns = load_model_mapping(mapping) if mapping is not None else ModelMapping()
        options = TrainOptions(
            outcome=outcome,
            time_column=time_column,
            mapping=columns,
            entry_time_only=entry_time_only,
            keep_leaky=keep_leaky,
            seed=seed,
        )
        result = train(data, options)
        recorded = asdict(options)
        recorded["data"] = str(data)
        recorded["mapping_file"] = None if mapping is None else str(mapping)
        if output is not None:
            save_model(output, result, recorded)
        plot_path = plot or (output / PLOT_FILE if output is not None else None)
        if plot_path is not None:
            title = f"{result.model.name}, {result.evaluation}"
            reliability_plot(result.scores, result.outcome, plot_path, title)
    except (LeadflowError, OSError) as exc:
        fail(stderr(), str(exc))
    if as_json:
        typer.echo(json.dumps(result.summary(), ensure_ascii=False))
        return
    console = Console()
    _show(console, result)
    if output is not None:
        say(console, f"saved the model to {output}")
    if plot_path is not None:
        say(console, f"reliability plot: {plot_path}")


@model_app.command("score")
def model_score(
    *,
    model: Annotated[Path, typer.Option(metavar="MODEL_DIR", help="Made by `model train -o`.")],
    leads: Annotated[Path, typer.Option(metavar="FILE.csv", help="Leads to score.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE.csv", help="Write here, not stdout."),
    ] = None,
) -> None:
    """Add `predicted_conversion` (0-1) and `predicted_conversion_factors` to every lead."""
    from leadflow.adapters.model import load_model, score_leads, write_scored  # noqa: PLC0415

    console = Console(stderr=True)
    try:
        scored = score_leads(load_model(model), leads)
        text = write_scored(scored, output)
    except (LeadflowError, OSError) as exc:
        fail(stderr(), str(exc))
    if scored.absent_columns:
        absent = ", ".join(f"`{c}`" for c in scored.absent_columns)
        say(console, f"note: {leads} lacks model columns {absent}; scored them as missing")
    if text is not None:
        sys.stdout.write(text)
    else:
        say(console, f"scored {len(scored.table)} leads into {output}")
