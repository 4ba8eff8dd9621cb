"""The definitions document's routing and nurture sections: who works a lead, and when.

Teams (hours, holidays, lead, assignment, members), queues with their SLAs, reminders and
reassignment, the routing rules, and the nurture tracks with their templates; rendered from
the compiled playbook by :mod:`leadflow.services.playbook_doc`, which also uses ``table``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time

from leadflow.domain.calendar import DAY_NAMES, BusinessHours
from leadflow.domain.conditions import Condition, describe
from leadflow.domain.lifecycle import RECYCLED
from leadflow.domain.nurture import placeholders
from leadflow.domain.playbook import (
    Assignment,
    NurtureEntry,
    NurtureTrack,
    Playbook,
    Queue,
    Team,
    Template,
)
from leadflow.domain.stages import STAGE_ORDER


def cell(text: object) -> str:
    """``text`` for a table cell: pipes escaped, newlines as spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table (pipes and newlines in cells escaped), then a blank line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _when(condition: Condition | None) -> str:
    return "" if condition is None else f" and {describe(condition)}"


def _clock(t: time) -> str:
    return "24:00" if t == time.max else f"{t:%H:%M}"


def _week(hours: BusinessHours) -> str:
    """E.g. ``Monday–Friday 08:00–18:00; Saturday–Sunday closed``."""
    groups: list[tuple[int, int, str]] = []
    for n, day in enumerate(hours.week):
        text = ", ".join(f"{_clock(a)}–{_clock(b)}" for a, b in day) or "closed"
        if groups and groups[-1][2] == text:
            groups[-1] = (groups[-1][0], n, text)
        else:
            groups.append((n, n, text))
    return "; ".join(
        DAY_NAMES[a] + (f"–{DAY_NAMES[b]}" if b > a else "") + f" {text}" for a, b, text in groups
    )


_STRATEGY = {
    Assignment.ROUND_ROBIN: "round robin — the available member whose last assignment is oldest",
    Assignment.LOAD_BALANCED: "load balanced — the available member with the fewest open leads",
}


def _team(team: Team) -> list[str]:
    lead = team.member(team.lead) if team.lead is not None else None
    holidays = ", ".join(d.isoformat() for d in sorted(team.hours.holidays)) or "none"
    lines = [
        f"### Team `{team.id}`: {team.label}",
        "",
        f"- Time zone: {team.hours.zone}",
        f"- Hours: {_week(team.hours)}",
        f"- Holidays (closed all day): {holidays}",
        "- Lead (SLA breaches are escalated to): "
        + (f"{lead.name} (`{lead.id}`)" if lead is not None else "none (no escalation)"),
        f"- Assignment: {_STRATEGY[team.assignment]}",
        "",
    ]
    return lines + table(
        ("Member", "Id", "Email", "Capacity (open leads)", "Days"),
        (
            (
                m.name,
                f"`{m.id}`",
                m.email or "—",
                "no limit" if m.capacity is None else m.capacity,
                "every open day"
                if m.days is None
                else ", ".join(DAY_NAMES[d] for d in sorted(m.days)),
            )
            for m in team.members
        ),
    )


def _teams(playbook: Playbook) -> list[str]:
    if not playbook.teams:
        return []
    lines = [
        "A lead routed to a queue is assigned to a member of the queue's team who is "
        "available: works that day (the member's days, the team's hours and holidays; a lead "
        "that arrives while the team is closed is assigned for its next open day), is not out "
        "of office and is below their capacity. When nobody is available the lead stays in "
        "the queue unassigned.",
        "",
    ]
    for team in playbook.teams:
        lines += _team(team)
    return lines


def _slas(queue: Queue) -> str:
    """Each stage's SLA with its band overrides, e.g. ``mql: 2 business hours (band high: …)``."""
    parts = []
    for stage in STAGE_ORDER:
        bands = [f"band {b}: {by[stage]}" for b, by in queue.band_sla.items() if stage in by]
        if stage not in queue.sla and not bands:
            continue
        text = f"{stage.value}: {queue.sla.get(stage, 'none')}"
        parts.append(text + (f" ({', '.join(bands)})" if bands else ""))
    return "; ".join(parts)


def _escalates(queue: Queue) -> bool:
    return bool(queue.team or queue.remind_before or queue.reassign_after)


def _queues(playbook: Playbook) -> list[str]:
    lines = ["### Queues and first-outreach SLAs", ""]
    if not any(_escalates(q) for q in playbook.queues):
        return lines + table(
            ("Queue", "Label", "Outreach", "SLA by stage"),
            ((f"`{q.id}`", q.label, q.outreach, _slas(q)) for q in playbook.queues),
        )
    return lines + table(
        ("Queue", "Label", "Team", "Outreach", "SLA by stage", "Reminder", "Reassigned"),
        (
            (
                f"`{q.id}`",
                q.label,
                "none" if q.team is None else f"`{q.team}`",
                q.outreach,
                _slas(q),
                "none" if q.remind_before is None else f"{q.remind_before} before due",
                "never" if q.reassign_after is None else f"{q.reassign_after} after a breach",
            )
            for q in playbook.queues
        ),
    )


_CLOCK = (
    "An SLA clock starts when a lead enters a stage its queue has an SLA for (the SLA of the "
    "lead's band first), counted in the team's business hours; a queue without a team assigns "
    "nobody and counts around the clock. Logging outreach (`outreach_logged`) stops the clock."
)
_ESCALATION = (
    "The owner is reminded when the Reminder time is left before the due time. At the due "
    "time the breach is recorded, the team lead is notified and a `lead.sla_breached` webhook "
    "is sent; the Reassigned time after the due time, the lead goes to another available "
    "member with a fresh clock."
)


def routing_section(playbook: Playbook) -> list[str]:
    """Teams, queues with their SLAs, and the routing rules."""
    lines = ["## Routing", ""]
    if not playbook.queues:
        return [*lines, "No queues: leads are not routed by this playbook.", ""]
    clock = _CLOCK
    if any(_escalates(q) for q in playbook.queues):
        clock += " " + _ESCALATION
    lines += [*_teams(playbook), *_queues(playbook), clock, ""]
    lines += ["### Routing rules (first match wins)", ""]
    for n, rule in enumerate(playbook.routes, start=1):
        stages = ", ".join(s.value for s in STAGE_ORDER if s in rule.stages)
        bands = f" in band {', '.join(sorted(rule.bands))}" if rule.bands else ""
        lines.append(f"{n}. Stage {stages}{bands}{_when(rule.condition)} → `{rule.queue}`")
    return [*lines, ""]


_ENTRY = {
    NurtureEntry.BELOW_MQL: "below MQL (in nurture without having been with sales)",
    NurtureEntry.RECYCLED: f'recycled (status "{RECYCLED}")',
}


def _track(track: NurtureTrack) -> list[str]:
    services = " or ".join(sorted(track.service_lines)) if track.service_lines else "any"
    entry = "; ".join(_ENTRY[e] for e in NurtureEntry if e in track.entry)
    lines = [
        f"### Track `{track.id}`: {track.label}",
        "",
        f"Entry: {entry}. Service lines: {services}.",
        "",
    ]
    return lines + table(
        ("Step", "Waits after the previous step", "Channel", "Template"),
        (
            (n, step.delay, step.channel, f"`{step.template}`")
            for n, step in enumerate(track.steps, start=1)
        ),
    )


def nurture_section(playbook: Playbook) -> list[str]:
    """The form confirmation, the nurture tracks, their steps, and the templates they send."""
    lines = ["## Nurture", ""]
    if not playbook.tracks:
        lines += ["No nurture tracks: leads in nurture get no automated messages.", ""]
    else:
        lines += [
            "A lead enters the first track whose entry and service lines match when its stage "
            "becomes `nurture`; each step waits its delay after the previous one. It leaves on "
            "any stage change. An opt-out (an unsubscribe, an SMS STOP, a revoked consent) ends "
            "only the steps on its own channel; the other channels' steps go on, and the lead "
            "leaves once no remaining step has a channel it has not opted out of. Consent, a "
            "valid contact point and calling hours (08:00–21:00 the recipient's local time) are "
            "checked when each step is sent. Templates never carry pricing or eligibility "
            "claims.",
            "",
        ]
        for track in playbook.tracks:
            lines += _track(track)
    lines += _confirmation(playbook)
    if not playbook.templates:
        return lines
    lines += ["### Templates", ""]
    return lines + table(
        ("Template", "Subject (email)", "Fields"),
        (
            (
                f"`{t.id}`",
                t.subject or "—",
                ", ".join(f"`{{{f}}}`" for f in _fields(t)) or "none",
            )
            for t in playbook.templates
        ),
    )


def _confirmation(playbook: Playbook) -> list[str]:
    """What a form capture gets at once (the seeds' "send an email confirmation if
    consented")."""
    rule = playbook.confirmation
    if rule is None:
        return ["No form confirmation: a form capture gets no message at once.", ""]
    events = ", ".join(f"`{e.value}`" for e in sorted(rule.on))
    return [
        "### Form confirmation",
        "",
        f"A form capture ({events}) gets the template `{rule.template}` by email at once when "
        "the lead has consented to email at that address, and consent is checked again when "
        "it is sent: one per delivery, within 24 hours of the capture, never for imported "
        "history. Without consent nothing is queued, and the audit records why.",
        "",
    ]


def _fields(template: Template) -> list[str]:
    """The placeholders ``template`` fills, in alphabetical order."""
    texts = filter(None, (template.subject, template.body))
    return sorted({name for text in texts for name in placeholders(text)})
