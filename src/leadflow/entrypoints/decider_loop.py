"""The decider loop that ``leadflow serve`` and ``leadflow worker`` run in a thread: leads
whose events were appended (``202 Accepted``) decided within a fraction of a second.

Errors are logged by type and lead-free (never a personal value) and the loop goes on after
a pause: a unit of work that failed was rolled back, so its leads are still queued.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from leadflow.entrypoints.bootstrap import App
from leadflow.services.store.decider import DecideReport, decide_queued

log = logging.getLogger("leadflow.decider")

DEFAULT_EVERY_S = 0.2
# units of work per round before the loop looks at the stop flag again
_ROUND = 20


def decide_round(app: App) -> DecideReport:
    """Decide what waits now (at most a round of units of work)."""
    return decide_queued(app.db.run, app.playbooks, app.clock, max_batches=_ROUND)


def run_decider(
    app: App,
    stop: threading.Event,
    every_s: float = DEFAULT_EVERY_S,
    heard: Callable[[DecideReport], None] = lambda _report: None,
) -> None:
    """Decide queued leads until ``stop`` is set, waiting ``every_s`` when none waits."""
    while not stop.is_set():
        try:
            done = decide_round(app)
        except Exception as exc:  # the unit was rolled back: its leads wait for the next round
            log.error("decider round failed: %s", type(exc).__name__)
            stop.wait(max(every_s, 1.0))
            continue
        if done.leads:
            heard(done)
        if done.batches < _ROUND:
            stop.wait(every_s)


def start_decider(
    app: App,
    every_s: float = DEFAULT_EVERY_S,
    heard: Callable[[DecideReport], None] = lambda _report: None,
) -> Callable[[], None]:
    """Run :func:`run_decider` in a daemon thread; returns what stops it (and waits)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_decider,
        args=(app, stop, every_s, heard),
        name="leadflow-decider",
        daemon=True,
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt
