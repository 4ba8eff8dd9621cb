"""``leadflow demo-data``: a deterministic simulated year with ground truth that holds."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.cli import app as cli
from leadflow.entrypoints.demo_cli import fill_demo
from leadflow.entrypoints.settings import Settings
from leadflow.services.demo import DemoSummary

END = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
STAGES = {
    "new",
    "nurture",
    "mql",
    "sales_accepted",
    "sql",
    "opportunity",
    "won",
    "lost",
    "disqualified",
}
COUNTED = ("mql", "sales_accepted", "sql", "opportunity", "won", "lost", "disqualified")

_EXPORT = (
    "SELECT id, playbook, lead_type, profile, created_at, received_at FROM leads ORDER BY id",
    "SELECT event_id, lead_id, type, occurred_at, recorded_at, properties, actor "
    "FROM events ORDER BY event_id",
    "SELECT lead_id, stage, status, band, fit_score, intent_score, queue, sla_due_at, "
    "decided_at, record FROM decisions ORDER BY lead_id",
    "SELECT lead_id, from_stage, to_stage, status, changed_at, actor, event_id "
    "FROM stage_history ORDER BY id",
    "SELECT lead_id, channel, contact_point, status, captured_at FROM consents ORDER BY id",
)


def _sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _fill(url: str, leads: int, seed: int) -> DemoSummary:
    app = bootstrap(Settings(database_url=url))
    try:
        return fill_demo(app, leads, seed, END)
    finally:
        app.db.dispose()


def _rows(url: str, sql: str) -> list[Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)))
    engine.dispose()
    return rows


def _digest(url: str) -> str:
    digest = hashlib.sha256()
    for sql in _EXPORT:
        for row in _rows(url, sql):
            digest.update(
                json.dumps([_plain(v) for v in row], sort_keys=True, default=str).encode()
            )
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(("{", "[")):
        return json.loads(value)  # SQLite hands JSON back as text
    return value


def _reached(url: str) -> dict[str, set[str]]:
    reached: dict[str, set[str]] = {}
    for lead_id, stage in _rows(url, "SELECT lead_id, to_stage FROM stage_history"):
        reached.setdefault(lead_id, set()).add(stage)
    return reached


def _channels(url: str) -> dict[str, str]:
    return {
        lead_id: _plain(profile)["channel"]
        for lead_id, profile in _rows(url, "SELECT id, profile FROM leads")
    }


def test_the_same_seed_fills_identical_leads_events_and_decisions(tmp_path: Path) -> None:
    first, second = _sqlite(tmp_path / "a.db"), _sqlite(tmp_path / "b.db")
    one, two = _fill(first, 300, 11), _fill(second, 300, 11)
    assert one.truth == two.truth
    assert _digest(first) == _digest(second)


def test_a_different_seed_fills_different_data(tmp_path: Path) -> None:
    first, second = _sqlite(tmp_path / "a.db"), _sqlite(tmp_path / "b.db")
    _fill(first, 60, 1)
    _fill(second, 60, 2)
    assert _digest(first) != _digest(second)


def test_the_demo_covers_every_playbook_lead_type_stage_and_reason(
    make_app: Callable[..., App], database_url: str
) -> None:
    summary = fill_demo(make_app(), 120, 7, END)
    assert set(summary.per_playbook) == {
        "specialty-clinic",
        "respiratory-program",
        "referral-partner",
        "healthtech-b2b",
    }
    types = {t for (t,) in _rows(database_url, "SELECT DISTINCT lead_type FROM leads")}
    assert types == {"patient", "referral_partner", "b2b"}
    reached = set().union(*_reached(database_url).values())
    assert reached == STAGES
    reasons = Counter(
        (kind, _plain(props).get("reason"))
        for kind, props in _rows(
            database_url,
            "SELECT type, properties FROM events "
            "WHERE type IN ('sales_rejected', 'disqualified', 'closed_lost')",
        )
    )
    kinds = {kind for kind, reason in reasons if reason}
    assert kinds == {"sales_rejected", "disqualified", "closed_lost"}
    hard_stops = {
        r
        for (r,) in _rows(
            database_url,
            "SELECT status FROM stage_history WHERE to_stage = 'disqualified'",
        )
    }
    assert any("out_of_coverage_area" in s for s in hard_stops)


def test_the_ground_truth_counts_equal_the_stage_history(
    make_app: Callable[..., App], database_url: str
) -> None:
    summary = fill_demo(make_app(), 120, 7, END)
    reached, channels = _reached(database_url), _channels(database_url)
    for channel, body in summary.truth["channels"].items():
        leads = [lead for lead, c in channels.items() if c == channel]
        expected = {"leads": len(leads)}
        for stage in COUNTED:
            expected[stage] = sum(stage in reached.get(lead, set()) for lead in leads)
        assert body["counts"] == expected, channel
    totals = dict(
        _rows(
            database_url,
            "SELECT to_stage, COUNT(DISTINCT lead_id) FROM stage_history GROUP BY to_stage",
        )
    )
    for stage in COUNTED:
        by_playbook = sum(c[stage] for c in summary.truth["playbooks"].values())
        assert by_playbook == totals.get(stage, 0), stage


def test_stage_history_is_spread_over_the_simulated_year(
    make_app: Callable[..., App], database_url: str
) -> None:
    fill_demo(make_app(), 120, 7, END)
    instants = [
        _instant(at) for (at,) in _rows(database_url, "SELECT changed_at FROM stage_history")
    ]
    assert len(set(instants)) > 200
    assert (max(instants) - min(instants)).days > 300
    assert max(instants) <= END
    recorded = [_instant(at) for (at,) in _rows(database_url, "SELECT recorded_at FROM events")]
    assert max(recorded) <= END
    assert (max(recorded) - min(recorded)).days > 300


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_paid_search_brings_many_mqls_and_referral_converts_them(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "demo.db")
    summary = _fill(url, 600, 7)
    reached, channels = _reached(url), _channels(url)

    def funnel(channel: str) -> tuple[int, float]:
        leads = [reached.get(lead, set()) for lead, c in channels.items() if c == channel]
        mqls = [stages for stages in leads if "mql" in stages]
        return len(mqls), sum("sql" in s for s in mqls) / max(1, len(mqls))

    paid_mqls, paid_rate = funnel("paid_search")
    referral_mqls, referral_rate = funnel("referral")
    assert paid_mqls > 2 * referral_mqls
    assert referral_rate > paid_rate + 0.25
    designed = summary.truth["designed"]
    assert designed["many_mqls_low_sql_rate"] == "paid_search"
    assert designed["few_mqls_high_sql_rate"] == "referral"
    assert designed["channel_quality_order"][0] == "referral"


def test_demo_data_refuses_a_database_with_leads_unless_forced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    truth = tmp_path / "truth.json"
    args = ["demo-data", "--leads", "20", "--end", "2026-03-06T12:00:00Z", "--database-url", url]
    runner = CliRunner()
    first = runner.invoke(cli, [*args, "--truth", str(truth)])
    assert first.exit_code == 0, first.output
    assert "per playbook:" in first.output
    assert json.loads(truth.read_text())["leads"] == 20
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "already holds 20 leads" in again.output
    assert "--force" in again.output
    forced = runner.invoke(cli, [*args, "--seed", "8", "--force"])
    assert forced.exit_code == 2
    assert "demo leads: their ids would collide" in forced.output
