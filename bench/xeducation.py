"""How good is `leadflow model train` on a real CRM export? The X Education leads, two runs.

(1) defaults, no mapping: the leakage guard alone must find the sales-filled columns;
(2) ``--entry-time-only`` with ``bench/xeducation_entry_time.yaml``: only what is known
    when a lead comes in.

Each run prints the cross-validated ROC AUC (stratified 5-fold, out-of-fold scores),
sensitivity and specificity at the balanced cut-off, conversion in the top 30 % of scores,
the model chosen, and every excluded column with its reason.

    .venv/bin/python bench/xeducation.py            # from the repository root

The data lives outside the repository (``../shared/data/xeducation/``); without it the
bench says so and exits 0. Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from leadflow.adapters.model import TrainOptions, TrainResult, load_model_mapping, train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "xeducation" / "xeducation_leads.csv"
MAPPING = ROOT / "bench" / "xeducation_entry_time.yaml"


def _report(title: str, command: str, result: TrainResult, seconds: float) -> None:
    m = result.metrics
    print(f"== {title}")
    print(f"   {command}")
    print(
        f"   {result.evaluation}: ROC AUC {m.roc_auc:.3f}; cut-off {m.cutoff:.3f}: "
        f"sensitivity {m.sensitivity:.3f}, specificity {m.specificity:.3f}; "
        f"top 30 % conversion {m.top30_conversion:.3f} (base rate {m.base_rate:.3f}); "
        f"model {result.model.name} (folds: {', '.join(result.choices)}); {seconds:.0f} s"
    )
    print(f"   used ({len(result.plan.used)}): {', '.join(result.plan.used)}")
    print("   excluded:")
    for column, reason in result.plan.excluded.items():
        print(f"     - {column}: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"{args.data} is absent: nothing to measure (the real data is not in the repo).")
        return
    base = f"leadflow model train --data {args.data} --outcome Converted --seed {args.seed}"
    runs = [
        ("run 1: defaults, leakage guard only", base, TrainOptions("Converted", seed=args.seed)),
        (
            "run 2: entry-time columns only",
            f"{base} --mapping {MAPPING.relative_to(ROOT)} --entry-time-only",
            TrainOptions(
                "Converted",
                mapping=load_model_mapping(MAPPING),
                entry_time_only=True,
                seed=args.seed,
            ),
        ),
    ]
    for title, command, options in runs:
        start = time.perf_counter()
        result = train(args.data, options)
        _report(title, command, result, time.perf_counter() - start)


if __name__ == "__main__":
    main()
