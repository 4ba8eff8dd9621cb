"""Demo data: the ground truth a fill was built from — the latent qualities of channels,
campaigns and offers, and the counts each reached at every stage — so that reports and
back-tests run on the demo have known right answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from leadflow.services.demo.world import CAMPAIGNS, CHANNELS, OFFERS, DemoLead

COUNTED = ("mql", "sales_accepted", "sql", "opportunity", "won", "lost", "disqualified")


class Outcome(Protocol):
    """What a fill knows of one lead at the end."""

    lead: DemoLead
    stage: str
    reached: set[str]


def _counts() -> dict[str, int]:
    return {"leads": 0, **dict.fromkeys(COUNTED, 0)}


def ground_truth(
    leads: Iterable[Outcome],
    *,
    seed: int,
    start: datetime,
    end: datetime,
    reasons: Mapping[str, Mapping[str, int]],
    first_outreach_hours: list[float],
) -> dict[str, Any]:
    """Latent qualities, realised counts per channel, campaign, offer and playbook."""
    groups: dict[str, dict[str, dict[str, int]]] = {
        "channel": {},
        "campaign": {},
        "offer": {},
        "playbook": {},
        "lead_type": {},
    }
    final: Counter[str] = Counter()
    total = 0
    for st in leads:
        total += 1
        lead = st.lead
        keys = {
            "channel": lead.channel,
            "campaign": lead.campaign,
            "offer": lead.offer,
            "playbook": lead.playbook,
            "lead_type": lead.profile.lead_type or "",
        }
        final[st.stage] += 1
        for group, key in keys.items():
            counts = groups[group].setdefault(key, _counts())
            counts["leads"] += 1
            for stage in COUNTED:
                counts[stage] += stage in st.reached

    def rate(c: dict[str, int]) -> float | None:
        return round(c["sql"] / c["mql"], 4) if c["mql"] else None

    channels = {
        c.name: {
            "quality": c.quality,
            "engagement": c.engagement,
            "share": c.share,
            "counts": groups["channel"].get(c.name, _counts()),
            "mql_to_sql_rate": rate(groups["channel"].get(c.name, _counts())),
        }
        for c in CHANNELS
    }
    hours = sorted(first_outreach_hours)
    return {
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "leads": total,
        "counted_as": "a lead counts at a stage if its stage history ever entered it",
        "designed": {
            "channel_quality_order": [c.name for c in sorted(CHANNELS, key=lambda c: -c.quality)],
            "many_mqls_low_sql_rate": "paid_search",
            "few_mqls_high_sql_rate": "referral",
            "propensity": "0.55*channel + 0.25*campaign + 0.2*offer quality + N(0, 0.1)",
        },
        "channels": channels,
        "campaigns": {
            c.name: {"quality": c.quality, "counts": groups["campaign"].get(c.name, _counts())}
            for c in CAMPAIGNS
        },
        "offers": {
            o.name: {"quality": o.quality, "counts": groups["offer"].get(o.name, _counts())}
            for o in OFFERS
        },
        "playbooks": groups["playbook"],
        "lead_types": groups["lead_type"],
        "final_stages": dict(sorted(final.items())),
        "reasons": {k: dict(sorted(v.items())) for k, v in reasons.items()},
        "first_outreach_hours": {
            "count": len(hours),
            "median": round(hours[len(hours) // 2], 2) if hours else None,
            "max": round(hours[-1], 2) if hours else None,
        },
    }
