"""Precision and recall of the clinical-text scanner on the labelled sets.

    .venv/bin/python bench/redaction.py                 # dev and held-out sets
    .venv/bin/python bench/redaction.py --show-misses   # what was missed or wrongly redacted

Prints, per set, for clinical terms and for the person's own details: labelled spans,
finds, recall, precision and the share of labelled characters replaced, and the scanner's
speed (characters per second over the set, median of 5 passes).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from leadflow.adapters.redaction.evaluate import evaluate, load_labelled
from leadflow.adapters.redaction.scanner import default_scanner

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "clinical_text"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("sets", nargs="*", default=["dev", "heldout"])
    args = parser.parse_args()
    started = time.perf_counter()
    scanner = default_scanner()
    print(f"vocabulary ready in {time.perf_counter() - started:.2f} s")
    for name in args.sets:
        records = load_labelled(DATA / f"{name}.jsonl")
        groups = evaluate(scanner, records)
        print(f"\n{name}: {len(records)} records")
        header = ("labelled", 8), ("finds", 6), ("recall", 7), ("precision", 9), ("covered", 8)
        print(f"  {'':9} " + " ".join(f"{name:>{width}}" for name, width in header))
        for group_name, g in groups.items():
            print(
                f"  {group_name:9} {g.labelled:8} {g.finds:6} {g.recall:7.3f} "
                f"{g.precision:9.3f} {g.covered:8.3f}"
            )
            if args.show_misses:
                print(f"    missed: {dict(g.missed.most_common(40))}")
                print(f"    wrong:  {dict(g.wrong.most_common(40))}")
        chars = sum(len(r.text) for r in records)
        passes = []
        for _ in range(5):
            t = time.perf_counter()
            for r in records:
                scanner.scan(r.text, r.identity)
            passes.append(time.perf_counter() - t)
        print(f"  speed: {chars / statistics.median(passes):,.0f} characters/s (median of 5)")


if __name__ == "__main__":
    main()
