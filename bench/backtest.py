"""How fast is `leadflow backtest`? The synthetic history of bench/qualify.py, replayed.

Times, in-process and with the cyclic collector paused (as the command runs): the replay and
metrics for the playbook's own thresholds, then a 9 × 9 threshold sweep on the same replay.
Reading the files is timed apart (it is the readers' cost, shared with ``qualify``).

    .venv/bin/python bench/backtest.py --leads 20000 --events-per-lead 10

Standard library + leadflow only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records import read_events, read_leads
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.qualify_run import cycle_collector_paused
from leadflow.services.backtest import (
    BacktestRequest,
    parse_outcome,
    parse_sweep,
    render_json,
    run_backtest,
)
from qualify import generate  # bench/qualify.py: the same synthetic leads and events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--events-per-lead", type=int, default=10)
    parser.add_argument("--playbook", default="specialty-clinic")
    parser.add_argument("--outcome", default="sql")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    playbook = load_playbook(args.playbook)
    out = sys.stdout
    with tempfile.TemporaryDirectory() as folder, cycle_collector_paused():
        leads_path, events_path = generate(
            Path(folder), args.leads, args.events_per_lead, args.seed
        )
        started = time.perf_counter()
        leads = [x for x in read_leads(leads_path) if isinstance(x, LeadProfile)]
        events = [x for x in read_events(events_path) if isinstance(x, Event)]
        read_s = time.perf_counter() - started
        request = BacktestRequest(playbook, parse_outcome(args.outcome))
        started = time.perf_counter()
        result = run_backtest(request, leads, events)
        replay_s = time.perf_counter() - started
        sweep = parse_sweep("mql.fit=20:60:5,mql.intent=10:50:5")
        swept = BacktestRequest(playbook, parse_outcome(args.outcome), sweep=sweep, capacity=40)
        started = time.perf_counter()
        render_json(run_backtest(swept, leads, events))
        sweep_s = time.perf_counter() - started
    n = len(leads)
    out.write(f"{n} leads, {len(events)} events, {result.totals.n_outcomes} outcomes\n")
    out.write(f"read:                {read_s:6.2f} s  {n / read_s:8,.0f} leads/s\n")
    out.write(f"replay + metrics:    {replay_s:6.2f} s  {n / replay_s:8,.0f} leads/s\n")
    out.write(f"same + 81-pair sweep:{sweep_s:6.2f} s  {n / sweep_s:8,.0f} leads/s\n")


if __name__ == "__main__":
    main()
