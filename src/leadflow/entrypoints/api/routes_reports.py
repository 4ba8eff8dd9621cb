"""``/v1/reports/…``: the KPI reports as JSON or CSV (every role may read them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

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


_CODE = (
    "the reason code of the lead's playbook; a reason stored before codes that names none "
    "keeps its own text, scanned and normalised (`(none)`: no reason given)"
)
_LABEL = "the playbook's label for the code, or `other: …` for a reason it does not declare"


class ReasonRow(BaseModel):
    reason: str = Field(description=_CODE)
    label: str = Field(description=_LABEL)
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
    reason: str = Field(description=_CODE)
    label: str = Field(description=_LABEL)
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


@dataclass(frozen=True)
class ReportQuery:
    """What every report is asked with: the answer's format and the leads it counts."""

    format: Format
    filters: ReportFilters


def report_query(
    format: FormatQuery = "json",  # noqa: A002 (the query parameter's public name)
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    playbook: Playbook = None,
) -> ReportQuery:
    for field, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise invalid_field(field, "needs a time zone offset, e.g. Z")
    return ReportQuery(format, ReportFilters(created_from, created_to, playbook))


Asked = Annotated[ReportQuery, Depends(report_query)]


def _answer(app: AppDep, name: str, asked: ReportQuery, by: str | None = None) -> Any:
    with app.db.view() as view:
        facts = view.report_facts(asked.filters, app.clock(), app.report_reasons())
    report: Report = build_report(name, facts, by)
    if asked.format == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8")
    return {**report.to_json()}


@router.get("/funnel", response_model=FunnelOut, responses=RESPONSES, summary="Funnel")
def funnel(
    app: AppDep,
    _who: ReadReports,
    asked: Asked,
    by: Annotated[Dimension, Query(description="group leads by this")] = "channel",
) -> Any:
    """Leads that reached MQL, sales accepted, SQL, opportunity and won, with the
    stage-to-stage conversion, per group (source, channel, campaign, offer, service line,
    lead type or month of creation) and for all leads."""
    return _answer(app, "funnel", asked, by)


@dataclass(frozen=True)
class _Listed:
    """A report asked with the common query only: its path is its name."""

    name: str
    model: type[ReportOut]
    summary: str
    description: str


# One row per report; the funnel (grouped `by`) has its own route above.
REPORTS = (
    _Listed(
        "acceptance",
        AcceptanceOut,
        "Sales acceptance",
        "Sales acceptance rate (each lead's first review) and the rejection reasons.",
    ),
    _Listed(
        "outreach",
        OutreachOut,
        "Time to outreach",
        "Hours from hand-off (first MQL, else first SQL) to the first `outreach_logged` "
        '(median, p90) and SLA compliance, per channel; says "no SLA data yet" without SLAs.',
    ),
    _Listed(
        "disqualifications",
        DisqualificationsOut,
        "Disqualification reasons (Pareto)",
        "Reasons of `disqualified` and `closed_lost` events and of hard stops: count, share "
        "and cumulative share, most frequent first.",
    ),
    _Listed(
        "channel-quality",
        ChannelQualityOut,
        "Channel quality",
        "Per channel: MQL volume against the MQL→SQL rate, flagging channels with many MQLs "
        "but a lower rate than overall.",
    ),
    _Listed(
        "velocity",
        VelocityOut,
        "Velocity",
        "Days spent in each stage (median, p90) over closed intervals; open ones counted.",
    ),
    _Listed(
        "nurture",
        NurtureOut,
        "Nurture engagement",
        "Leads that entered nurture: share that opened, clicked or engaged afterwards, and "
        "share re-engaged to MQL, per channel.",
    ),
)


def _route(name: str) -> Callable[..., Any]:
    def read(app: AppDep, _who: ReadReports, asked: Asked) -> Any:
        return _answer(app, name, asked)

    return read


for _report in REPORTS:
    router.add_api_route(
        f"/{_report.name}",
        _route(_report.name),
        methods=["GET"],
        name=_report.name.replace("-", "_"),
        response_model=_report.model,
        responses=RESPONSES,
        summary=_report.summary,
        description=_report.description,
    )
