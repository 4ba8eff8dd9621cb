"""The KPI reports: funnel, acceptance, outreach and SLA, disqualifications, channel
quality, velocity and nurture engagement. Definitions: docs/reports.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from leadflow.domain.events import ENGAGEMENT_TYPES
from leadflow.services.reports.facts import (
    ALL_LABEL,
    FUNNEL_STAGES,
    NONE_LABEL,
    LeadFact,
    ReportFacts,
)
from leadflow.services.reports.reasons import NO_REASON, ReasonFact
from leadflow.services.reports.shape import Cell, Report
from leadflow.services.reports.stats import median, p90, ratio, rounded
from leadflow.services.routing.due import handoff_state

NO_SLA = "no SLA data yet"
VELOCITY_STAGES = ("new", "nurture", "mql", "sales_accepted", "sql", "opportunity")
_ENGAGEMENT = frozenset(t.value for t in ENGAGEMENT_TYPES)
_STEPS = tuple(zip(("lead", *FUNNEL_STAGES), FUNNEL_STAGES, strict=False))


def _groups(leads: list[LeadFact], dimension: str) -> list[tuple[str, list[LeadFact]]]:
    """Leads per value of ``dimension`` (most leads first, then by name), then ``(all)``."""
    found: dict[str, list[LeadFact]] = {}
    for lead in leads:
        found.setdefault(lead.dimensions.get(dimension) or NONE_LABEL, []).append(lead)
    ordered = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [*ordered, (ALL_LABEL, leads)]


def _report(facts: ReportFacts, name: str, title: str, rows: list[dict[str, Cell]]) -> Report:
    columns = tuple(rows[0]) if rows else ()
    return Report(name, title, facts.as_of, facts.filters, columns, rows)


def funnel(facts: ReportFacts, by: str = "channel") -> Report:
    """Leads that reached each funnel stage, and stage-to-stage conversion, per group."""
    rows: list[dict[str, Cell]] = []
    for label, leads in _groups(facts.leads, by):
        reached = {"lead": len(leads)} | {
            stage: sum(lead.reached(stage) for lead in leads) for stage in FUNNEL_STAGES
        }
        row: dict[str, Cell] = {"group": label, "leads": len(leads)}
        row |= {stage: reached[stage] for stage in FUNNEL_STAGES}
        row |= {f"{a}_to_{b}": ratio(reached[b], reached[a]) for a, b in _STEPS}
        rows.append(row)
    report = _report(facts, "funnel", f"Funnel by {by}", rows)
    return replace(report, by=by, summary=dict(rows[-1]))


class _Reasons:
    """Reasons counted by code (one row per code, whatever the source), with their labels."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sources: dict[str, set[str]] = {}
        self.labels: dict[str, set[str]] = {}

    def add(self, reason: ReasonFact | None, source: str) -> None:
        reason = reason or NO_REASON
        self.counts[reason.code] += 1
        self.sources.setdefault(reason.code, set()).add(source)
        self.labels.setdefault(reason.code, set()).add(reason.label)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def ranked(self) -> list[tuple[str, str, int]]:
        """``(code, label, count)``, most frequent first, ties by code; a code labelled
        differently by the leads' playbooks shows every label."""
        return [
            (code, " / ".join(sorted(self.labels[code])), count)
            for code, count in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]


def acceptance(facts: ReportFacts) -> Report:
    """Sales acceptance rate (first review of each lead) and the rejection reasons."""
    accepted = rejected = 0
    reasons = _Reasons()
    for lead in facts.leads:
        reviews = lead.events_of("sales_accepted", "sales_rejected")
        if reviews:
            if reviews[0].type == "sales_accepted":
                accepted += 1
            else:
                rejected += 1
        for review in reviews:
            if review.type == "sales_rejected":
                reasons.add(review.reason, review.type)
    total = reasons.total
    rows: list[dict[str, Cell]] = [
        {"reason": code, "label": label, "rejections": count, "share": ratio(count, total)}
        for code, label, count in reasons.ranked()
    ]
    report = _report(facts, "acceptance", "Sales acceptance and rejection reasons", rows)
    summary: dict[str, Cell] = {
        "mql_leads": sum(lead.reached("mql") for lead in facts.leads),
        "reviewed": accepted + rejected,
        "accepted": accepted,
        "rejected": rejected,
        "acceptance_rate": ratio(accepted, accepted + rejected),
        "rejection_events": total,
    }
    columns = ("reason", "label", "rejections", "share")
    return replace(report, columns=columns, summary=summary, notes=list(facts.notes))


def _outreach_start(lead: LeadFact) -> datetime | None:
    return lead.first_entry("mql") or lead.first_entry("sql")


def _first_outreach(lead: LeadFact, start: datetime) -> datetime | None:
    return next(
        (e.occurred_at for e in lead.events_of("outreach_logged") if e.occurred_at >= start),
        None,
    )


def outreach(facts: ReportFacts) -> Report:
    """Hours from hand-off (first MQL, else first SQL) to the first outreach, and the SLA."""
    rows: list[dict[str, Cell]] = []
    any_sla = False
    for label, leads in _groups(facts.leads, "channel"):
        hours: list[float] = []
        started = 0
        sla: Counter[str] = Counter()
        for lead in leads:
            start = _outreach_start(lead)
            if start is None:
                continue
            started += 1
            first = _first_outreach(lead, start)
            if first is not None:
                hours.append((first - start).total_seconds() / 3600)
            state = handoff_state(lead.clocks, start, facts.as_of)
            if state is not None:
                sla[state] += 1
        any_sla = any_sla or bool(sla)
        rows.append(
            {
                "channel": label,
                "handed_off": started,
                "reached_out": len(hours),
                "awaiting_outreach": started - len(hours),
                "median_hours": rounded(median(hours)),
                "p90_hours": rounded(p90(hours)),
                "sla_leads": sum(sla.values()),
                "sla_met": sla["met"],
                "sla_missed": sla["missed"],
                "sla_pending": sla["pending"],
                "sla_compliance": ratio(sla["met"], sla["met"] + sla["missed"]),
            }
        )
    report = _report(facts, "outreach", "Time to first outreach and SLA compliance", rows)
    summary = dict(rows[-1])
    summary["sla_status"] = "measured" if any_sla else NO_SLA
    notes = [] if any_sla else [f"{NO_SLA}: no hand-off has an SLA clock"]
    return replace(report, summary=summary, notes=notes)


def disqualifications(facts: ReportFacts) -> Report:
    """Pareto of disqualification and loss reasons by code (a hard stop and a rep giving
    the same code are one row): count, share, cumulative share."""
    reasons = _Reasons()
    for lead in facts.leads:
        for event in lead.events_of("disqualified", "closed_lost"):
            reasons.add(event.reason, event.type)
        decision = lead.decision
        if (
            decision is not None
            and decision.stage == "disqualified"
            and not lead.events_of("disqualified")
        ):
            reasons.add(decision.disqualification_reason, "hard_stop")
    total = reasons.total
    rows: list[dict[str, Cell]] = []
    running = 0
    for code, label, count in reasons.ranked():
        running += count
        rows.append(
            {
                "reason": code,
                "label": label,
                "sources": "+".join(sorted(reasons.sources[code])),
                "count": count,
                "share": ratio(count, total),
                "cumulative_share": ratio(running, total),
            }
        )
    report = _report(facts, "disqualifications", "Disqualification and loss reasons", rows)
    columns = ("reason", "label", "sources", "count", "share", "cumulative_share")
    return replace(report, columns=columns, summary={"total": total}, notes=list(facts.notes))


def channel_quality(facts: ReportFacts) -> Report:
    """Per channel: MQL volume against the MQL→SQL rate; flags many MQLs but few SQLs."""
    groups = _groups(facts.leads, "channel")
    total_mqls = sum(lead.reached("mql") for lead in facts.leads)
    total_sqls = sum(lead.reached("sql") for lead in facts.leads)
    overall = ratio(total_sqls, total_mqls)
    with_mqls = [leads for label, leads in groups[:-1] if any(x.reached("mql") for x in leads)]
    average = total_mqls / len(with_mqls) if with_mqls else 0.0
    rows: list[dict[str, Cell]] = []
    for label, leads in groups:
        mqls = sum(lead.reached("mql") for lead in leads)
        sqls = sum(lead.reached("sql") for lead in leads)
        rate = ratio(sqls, mqls)
        low = rate is not None and overall is not None and rate < overall
        flag = None if label == ALL_LABEL else bool(mqls > average and low)
        rows.append(
            {
                "channel": label,
                "leads": len(leads),
                "mqls": mqls,
                "sqls": sqls,
                "mql_to_sql": rate,
                "mql_share": ratio(mqls, total_mqls),
                "many_mqls_few_sqls": flag,
            }
        )
    report = _report(facts, "channel-quality", "Channel quality: MQL volume vs MQL→SQL", rows)
    summary: dict[str, Cell] = {
        "mqls": total_mqls,
        "sqls": total_sqls,
        "mql_to_sql": overall,
        "average_mqls_per_channel": rounded(average),
    }
    return replace(report, summary=summary)


def velocity(facts: ReportFacts) -> Report:
    """Days spent in each stage: closed intervals only; open ones are counted apart."""
    closed: dict[str, list[float]] = {stage: [] for stage in VELOCITY_STAGES}
    still_open: Counter[str] = Counter()
    for lead in facts.leads:
        for entry, after in zip(lead.history, [*lead.history[1:], None], strict=True):
            if entry.to_stage not in closed:
                continue
            if after is None:
                still_open[entry.to_stage] += 1
            else:
                days = (after.changed_at - entry.changed_at).total_seconds() / 86400
                closed[entry.to_stage].append(days)
    rows: list[dict[str, Cell]] = [
        {
            "stage": stage,
            "intervals": len(values),
            "median_days": rounded(median(values), 3),
            "p90_days": rounded(p90(values), 3),
            "open_now": still_open[stage],
        }
        for stage, values in closed.items()
    ]
    report = _report(facts, "velocity", "Days in each stage", rows)
    notes = ["open intervals (the lead is still in the stage) are excluded; see open_now"]
    return replace(report, notes=notes)


def _after(lead: LeadFact, start: datetime, types: Iterable[str]) -> bool:
    wanted = set(types)
    return any(e.type in wanted and e.occurred_at > start for e in lead.events)


def _reengaged(lead: LeadFact) -> bool:
    stages = [h.to_stage for h in lead.history]
    first = stages.index("nurture")
    return "mql" in stages[first + 1 :]


def nurture(facts: ReportFacts) -> Report:
    """Leads that entered nurture: engagement afterwards and re-engagement to MQL."""
    rows: list[dict[str, Cell]] = []
    for label, leads in _groups(facts.leads, "channel"):
        entered = opened = clicked = engaged = back = 0
        for lead in leads:
            start = lead.first_entry("nurture")
            if start is None:
                continue
            entered += 1
            opened += _after(lead, start, ["email_opened"])
            clicked += _after(lead, start, ["email_clicked"])
            engaged += _after(lead, start, _ENGAGEMENT)
            back += _reengaged(lead)
        rows.append(
            {
                "channel": label,
                "entered_nurture": entered,
                "opened": opened,
                "opened_share": ratio(opened, entered),
                "clicked": clicked,
                "clicked_share": ratio(clicked, entered),
                "engaged": engaged,
                "engaged_share": ratio(engaged, entered),
                "reengaged_mql": back,
                "reengaged_share": ratio(back, entered),
            }
        )
    report = _report(facts, "nurture", "Nurture engagement", rows)
    return replace(report, summary=dict(rows[-1]))


REPORTS: dict[str, Callable[[ReportFacts], Report]] = {
    "funnel": funnel,
    "acceptance": acceptance,
    "outreach": outreach,
    "disqualifications": disqualifications,
    "channel-quality": channel_quality,
    "velocity": velocity,
    "nurture": nurture,
}


def build_report(name: str, facts: ReportFacts, by: str | None = None) -> Report:
    """The report called ``name`` (``by`` is the funnel's dimension, default ``channel``)."""
    if name == "funnel":
        return funnel(facts, by or "channel")
    return REPORTS[name](facts)
