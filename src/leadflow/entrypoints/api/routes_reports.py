"""``/v1/reports/…``: the KPI reports as JSON or CSV (every role may read them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from leadflow.entrypoints.api.deps import AppDep, ReadReports
from leadflow.entrypoints.api.schemas import ErrorOut
from leadflow.errors import invalid_field
from leadflow.services.reports import Report, ReportFilters, build_report, to_csv

router = APIRouter(prefix="/v1/reports", tags=["reports"])
TEXT = r"^[^\x00]*$"
Dimension = Literal["source", "channel", "campaign", "offer", "service_line", "lead_type", "month"]
Format = Literal["json", "csv"]
Value = str | int | float | bool | None


class FiltersOut(BaseModel):
    created_from: str | None
    created_to: str | None
    playbook: str | None


class ReportOut(BaseModel):
    """Every report: headline numbers in `summary`, the table in `rows` (what CSV holds)."""

    report: str
    title: str
    by: str | None
    as_of: str
    filters: FiltersOut
    summary: dict[str, Value]
    columns: list[str]
    notes: list[str]


class FunnelRow(BaseModel):
    group: str
    leads: int
    mql: int
    sales_accepted: int
    sql: int
    opportunity: int
    won: int
    lead_to_mql: float | None
    mql_to_sales_accepted: float | None
    sales_accepted_to_sql: float | None
    sql_to_opportunity: float | None
    opportunity_to_won: float | None


class ReasonRow(BaseModel):
    reason: str
    rejections: int
    share: float | None


class OutreachRow(BaseModel):
    channel: str
    handed_off: int
    reached_out: int
    awaiting_outreach: int
    median_hours: float | None
    p90_hours: float | None
    sla_leads: int
    sla_met: int
    sla_missed: int
    sla_pending: int
    sla_compliance: float | None


class ParetoRow(BaseModel):
    reason: str
    sources: str
    count: int
    share: float | None
    cumulative_share: float | None


class ChannelQualityRow(BaseModel):
    channel: str
    leads: int
    mqls: int
    sqls: int
    mql_to_sql: float | None
    mql_share: float | None
    many_mqls_few_sqls: bool | None


class VelocityRow(BaseModel):
    stage: str
    intervals: int
    median_days: float | None
    p90_days: float | None
    open_now: int


class NurtureRow(BaseModel):
    channel: str
    entered_nurture: int
    opened: int
    opened_share: float | None
    clicked: int
    clicked_share: float | None
    engaged: int
    engaged_share: float | None
    reengaged_mql: int
    reengaged_share: float | None


class FunnelOut(ReportOut):
    rows: list[FunnelRow]


class AcceptanceOut(ReportOut):
    rows: list[ReasonRow]


class OutreachOut(ReportOut):
    rows: list[OutreachRow]


class DisqualificationsOut(ReportOut):
    rows: list[ParetoRow]


class ChannelQualityOut(ReportOut):
    rows: list[ChannelQualityRow]


class VelocityOut(ReportOut):
    rows: list[VelocityRow]


class NurtureOut(ReportOut):
    rows: list[NurtureRow]


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report as JSON, or with `format=csv` its rows as CSV",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    401: {"model": ErrorOut, "description": "an API key is required, or it is unknown"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
    422: {"model": ErrorOut, "description": "invalid request; every bad field is named"},
}
CreatedFrom = Annotated[
    datetime | None, Query(description="leads created at or after this instant (with offset)")
]
CreatedTo = Annotated[
    datetime | None, Query(description="leads created before this instant (with offset)")
]
Playbook = Annotated[
    str | None, Query(max_length=100, pattern=TEXT, description="only this playbook's leads")
]
FormatQuery = Annotated[Format, Query(description="`json` (default) or `csv` (the rows)")]


def _answer(
    app: AppDep,
    name: str,
    fmt: Format,
    created_from: datetime | None,
    created_to: datetime | None,
    playbook: str | None,
    by: str | None = None,
) -> Any:
    for field, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise invalid_field(field, "needs a time zone offset, e.g. Z")
    filters = ReportFilters(created_from, created_to, playbook)
    with app.db.view() as view:
        facts = view.report_facts(filters, app.clock(), app.redactor(raw=False))
    report: Report = build_report(name, facts, by)
    if fmt == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8")
    return {**report.to_json()}


@router.get("/funnel", response_model=FunnelOut, responses=RESPONSES, summary="Funnel")
def funnel(
    app: AppDep,
    _who: ReadReports,
    by: Annotated[Dimension, Query(description="group leads by this")] = "channel",
    format: FormatQuery = "json",  # noqa: A002 (the query parameter's public name)
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Leads that reached MQL, sales accepted, SQL, opportunity and won, with the
    stage-to-stage conversion, per group (source, channel, campaign, offer, service line,
    lead type or month of creation) and for all leads."""
    return _answer(app, "funnel", format, created_from, created_to, playbook, by)


@router.get(
    "/acceptance", response_model=AcceptanceOut, responses=RESPONSES, summary="Sales acceptance"
)
def acceptance(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Sales acceptance rate (each lead's first review) and the rejection reasons."""
    return _answer(app, "acceptance", format, created_from, created_to, playbook)


@router.get(
    "/outreach", response_model=OutreachOut, responses=RESPONSES, summary="Time to outreach"
)
def outreach(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Hours from hand-off (first MQL, else first SQL) to the first `outreach_logged`
    (median, p90) and SLA compliance, per channel; says "no SLA data yet" without SLAs."""
    return _answer(app, "outreach", format, created_from, created_to, playbook)


@router.get(
    "/disqualifications",
    response_model=DisqualificationsOut,
    responses=RESPONSES,
    summary="Disqualification reasons (Pareto)",
)
def disqualifications(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Reasons of `disqualified` and `closed_lost` events and of hard stops: count, share
    and cumulative share, most frequent first."""
    return _answer(app, "disqualifications", format, created_from, created_to, playbook)


@router.get(
    "/channel-quality",
    response_model=ChannelQualityOut,
    responses=RESPONSES,
    summary="Channel quality",
)
def channel_quality(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Per channel: MQL volume against the MQL→SQL rate, flagging channels with many MQLs
    but a lower rate than overall."""
    return _answer(app, "channel-quality", format, created_from, created_to, playbook)


@router.get("/velocity", response_model=VelocityOut, responses=RESPONSES, summary="Velocity")
def velocity(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Days spent in each stage (median, p90) over closed intervals; open ones counted."""
    return _answer(app, "velocity", format, created_from, created_to, playbook)


@router.get(
    "/nurture", response_model=NurtureOut, responses=RESPONSES, summary="Nurture engagement"
)
def nurture(
    app: AppDep,
    _who: ReadReports,
    format: FormatQuery = "json",  # noqa: A002
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> Any:
    """Leads that entered nurture: share that opened, clicked or engaged afterwards, and
    share re-engaged to MQL, per channel."""
    return _answer(app, "nurture", format, created_from, created_to, playbook)
