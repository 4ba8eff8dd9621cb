"""What the lead page's forms offer: the team to assign to, and the reason codes of the
lead's playbook for reject, disqualify and lose (the same lists the API checks against)."""

from __future__ import annotations

from typing import Any

from leadflow.domain.reasons import ReasonKind
from leadflow.entrypoints.api.deps import AppDep
from leadflow.errors import LeadflowError
from leadflow.services.routing.people import MAX_REASON


def assign_form(app: AppDep, playbook: str, route: dict[str, Any] | None) -> dict[str, Any] | None:
    """The "Assign to" form's choices while a routed stage holds the lead (else ``None``)."""
    if route is None or route["team"] is None:
        return None
    try:
        team = app.playbooks(playbook).team(route["team"])
    except LeadflowError:
        return None
    if team is None:
        return None
    members = [(m.id, m.name) for m in team.members]
    return {"team": team.label, "members": members, "owner": route["owner"], "max": MAX_REASON}


def reason_choices(app: AppDep, playbook: str) -> dict[str, list[tuple[str, str]]]:
    """Per action (``reject``, ``disqualify``, ``lose``): the playbook's codes with their
    labels, in the playbook's order. A playbook that cannot be loaded offers none (its
    leads cannot be re-decided either; the page says why when an action is tried)."""
    try:
        reasons = app.playbooks(playbook).reasons
    except LeadflowError:
        return {kind.value: [] for kind in ReasonKind}
    return {kind.value: [(r.code, r.label) for r in reasons.of(kind)] for kind in ReasonKind}
