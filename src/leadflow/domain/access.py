"""Who may do what: roles, permissions and what each role sees of a lead — one table.

COMPLIANCE.md names five roles and the rule of minimum necessary. Everything that checks a
role — the API's dependencies, the dashboard's pages and buttons, the shaping of a lead's
record — reads :data:`PERMISSIONS` and :data:`LEAD_VIEWS` below, and ``docs/security.md``
prints them (``python -m leadflow.entrypoints.security_reference``), so the rule, the code
and the documentation cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The five roles (COMPLIANCE.md)."""

    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"
    INTAKE = "intake"
    ANALYST = "analyst"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)


class Permission(StrEnum):
    """Something a person or an integration may do."""

    LEADS_READ = "leads.read"
    LEADS_WRITE = "leads.write"
    LEADS_ACT = "leads.act"
    LEADS_ASSIGN = "leads.assign"
    SMS_REVIEW = "sms.review"
    REPORTS_READ = "reports.read"
    PLAYBOOKS_READ = "playbooks.read"
    TEAMS_READ = "teams.read"
    ACCESS_LOG_READ = "access_log.read"
    LEADS_UNMERGE = "leads.unmerge"


_A, _M, _S, _I, _N = Role.ADMIN, Role.MARKETING, Role.SALES, Role.INTAKE, Role.ANALYST

# The one table of actions. Admin may do everything; analysts see aggregates only.
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.LEADS_READ: frozenset({_A, _M, _S, _I}),
    Permission.LEADS_WRITE: frozenset({_A, _M, _S, _I}),
    Permission.LEADS_ACT: frozenset({_A, _S, _I}),
    Permission.LEADS_ASSIGN: frozenset({_A, _M, _S, _I}),
    Permission.SMS_REVIEW: frozenset({_A, _M, _I}),
    Permission.REPORTS_READ: frozenset({_A, _M, _S, _I, _N}),
    Permission.PLAYBOOKS_READ: frozenset({_A, _M, _S, _I, _N}),
    Permission.TEAMS_READ: frozenset({_A, _M, _S, _I, _N}),
    Permission.ACCESS_LOG_READ: frozenset({_A}),
    Permission.LEADS_UNMERGE: frozenset({_A}),
}

DESCRIPTIONS: dict[Permission, str] = {
    Permission.LEADS_READ: "list leads and read a lead's record (shaped by the view below)",
    Permission.LEADS_WRITE: "post leads, events, webhooks' leads and SMS replies",
    Permission.LEADS_ACT: "accept, reject, record discovery, schedule, disqualify, win, lose",
    Permission.LEADS_ASSIGN: "assign a lead to a team member, record absences",
    Permission.SMS_REVIEW: "clear a lead's SMS review pause",
    Permission.REPORTS_READ: "funnel and KPI reports (aggregates only)",
    Permission.PLAYBOOKS_READ: "the playbooks and their definitions documents",
    Permission.TEAMS_READ: "teams, their load and members' absences",
    Permission.ACCESS_LOG_READ: "who read a lead's record (`GET /v1/leads/{id}/access`)",
    Permission.LEADS_UNMERGE: "undo a merge of two leads (`POST /v1/leads/{id}/unmerge`)",
}


class TextView(StrEnum):
    """How free text (notes, form messages, rep notes, SMS replies) is shown."""

    RAW = "raw"  # as written
    REDACTED = "redacted"  # name, email, phone and clinical terms replaced by markers
    HIDDEN = "hidden"  # not shown at all


@dataclass(frozen=True)
class LeadView:
    """What a role that may read leads sees of a lead's record beyond its profile, decision,
    timeline, consents and routing (which every such role sees)."""

    free_text: TextView
    access_log: bool  # who read this record


# The one table of minimum necessary: how each role sees free text. Analysts read no lead
# records at all (they lack ``leads.read``): aggregates only.
LEAD_VIEWS: dict[Role, LeadView] = {
    _A: LeadView(TextView.RAW, access_log=True),
    _I: LeadView(TextView.RAW, access_log=False),
    _S: LeadView(TextView.REDACTED, access_log=False),
    _M: LeadView(TextView.REDACTED, access_log=False),
    _N: LeadView(TextView.HIDDEN, access_log=False),
}
_NOTHING = LeadView(TextView.HIDDEN, access_log=False)


def may(role: str, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission`` (an unknown role may do nothing)."""
    return role in PERMISSIONS[permission]


def lead_view(role: str) -> LeadView:
    """What ``role`` sees of a lead's record (an unknown role sees nothing)."""
    try:
        return LEAD_VIEWS[Role(role)]
    except ValueError:
        return _NOTHING


def allowed_roles(permission: Permission) -> list[str]:
    """The roles that may do ``permission``, in the order of :class:`Role`."""
    return [r.value for r in Role if r in PERMISSIONS[permission]]
