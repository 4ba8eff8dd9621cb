"""On the demo data, the reports equal direct SQL over the same database, and they show the
demo's designed ground truth (a channel with many MQLs but fewer SQLs)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text

from leadflow.adapters.db.engine import make_engine
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.demo_cli import fill_demo
from tests.store.report_queries import ACCEPTANCE_SQL, FUNNEL_SQL, REASONS_SQL

LOCAL = "http://127.0.0.1"  # open local mode answers requests addressed to this machine only

STAGES = ("leads", "mql", "sales_accepted", "sql", "opportunity", "won")


def test_reports_on_the_demo_data_equal_direct_sql(
    make_app: Callable[..., App], database_url: str
) -> None:
    app = make_app()
    fill_demo(app, 300, 11, None)
    with TestClient(create_app(app), base_url=LOCAL) as client:
        funnel = client.get("/v1/reports/funnel", params={"by": "channel"}).json()
        acceptance = client.get("/v1/reports/acceptance").json()
        quality = client.get("/v1/reports/channel-quality").json()
    engine = make_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    channel = "l.profile ->> 'channel'" if postgres else "json_extract(l.profile, '$.channel')"
    reason = "e.properties ->> 'reason'" if postgres else "json_extract(e.properties, '$.reason')"
    with engine.connect() as conn:
        expected = {
            row[0]: [int(v) for v in row[1:]]
            for row in conn.execute(text(FUNNEL_SQL.format(channel=channel)))
        }
        accepted, rejected = conn.execute(text(ACCEPTANCE_SQL)).one()
        reasons = dict(conn.execute(text(REASONS_SQL.format(reason=reason))).all())
    engine.dispose()

    by_channel = {
        row["group"]: [row[s] for s in STAGES] for row in funnel["rows"] if row["group"] != "(all)"
    }
    assert by_channel == expected
    assert sum(v[1] for v in expected.values()) > 20, "the demo should have MQLs"
    assert (acceptance["summary"]["accepted"], acceptance["summary"]["rejected"]) == (
        accepted,
        rejected,
    )
    assert {r["reason"]: r["rejections"] for r in acceptance["rows"]} == reasons
    quality_rows = {r["channel"]: r for r in quality["rows"]}
    for name, counts in expected.items():
        assert (quality_rows[name]["mqls"], quality_rows[name]["sqls"]) == (counts[1], counts[3])
