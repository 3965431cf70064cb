"""The assessment stored at submission, as the lines of the request page's checklist."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from accounts.templatetags.local_time import day
from refunds import services
from refunds.admin.display import (
    contact_effort_verdict,
    count,
    hours,
    percent,
    refund_rate_verdict,
)
from refunds.choices import Reason
from refunds.models import RefundRequest
from refunds.policy import CHANNEL_LABELS


@dataclass(frozen=True)
class Line:
    """One fact a reviewer reads at a glance.

    `state` is ok / warn / bad / info; `relevant` marks the facts that bear on the reason given.
    """

    label: str
    state: str
    detail: str
    relevant: bool = False
    missing: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


def checklist(request: RefundRequest) -> list[Line]:
    a = request.assessed
    if a is None:
        return []
    p = services.params()
    reason = request.reason
    lead = request.lead
    lines = [
        Line(
            "Reported within the window",
            "ok" if a.window_open else "bad",
            f"The lead was {hours(a.lead_age_hours)} old when reported; "
            f"reporting closes {day(a.deadline)}",
        )
    ]

    text, level, missing = contact_effort_verdict(a)
    effort = a.contact_effort
    channels = " and ".join(CHANNEL_LABELS.get(c, c) for c in effort.channels_used) or "no channel"
    lines.append(
        Line(
            "Good-faith contact effort",
            {"ok": "ok", "warn": "warn"}.get(level, "info"),
            f"{count(effort.attempts, 'attempt')} by {channels}; the first "
            f"{hours(effort.hours_since_first)} before the report"
            if a.contact_effort_matters
            else "Not needed for this reason",
            missing=missing if level == "warn" else [],
        )
    )

    peers = a.peers
    rate_text, rate_level = refund_rate_verdict(a)
    lines.append(
        Line(
            f"Refund rate {rate_text}",
            {"ok": "ok", "late": "bad"}.get(rate_level, "info"),
            f"{count(peers.pro_requests, 'request')} on {count(peers.pro_leads, 'lead')}; "
            f"market of {peers.peers} pros: median {percent(peers.market_median)}, "
            f"limit {percent(peers.threshold)}"
            if peers.comparable
            else peers.why,
        )
    )

    duplicates = a.duplicate_lead_ids
    lines.append(
        Line(
            "Duplicate candidates",
            "warn" if duplicates else "info",
            "Same phone or email, same pro, within the duplicate window"
            if duplicates
            else "None: no other lead with this phone or email for this pro",
            relevant=reason == Reason.DUPLICATE,
            links=[
                (f"Lead #{pk}", reverse("admin:leads_lead_change", args=[pk])) for pk in duplicates
            ],
        )
    )

    for label, value, missing_text in (
        ("Phone number looks valid", a.phone_valid, "No phone number given"),
        ("Email address looks valid", a.email_valid, "No email address given"),
    ):
        lines.append(
            Line(
                label,
                "info" if value is None else ("ok" if value else "bad"),
                missing_text if value is None else ("Yes" if value else "No"),
                relevant=reason == Reason.INVALID_CONTACT,
            )
        )

    lines.append(
        Line(
            "Category offered by the pro",
            "ok" if a.category_offered else "bad",
            f"{lead.category} is {'' if a.category_offered else 'not '}on the pro's profile",
            relevant=reason == Reason.WRONG_JOB,
        )
    )
    lines.append(
        Line(
            "In the pro's service area",
            "ok" if a.in_service_area else "bad",
            f"{lead.location}",
            relevant=reason == Reason.WRONG_JOB,
        )
    )
    first = a.first_response_hours
    lines.append(
        Line(
            "First response",
            "info" if first is None else ("ok" if first <= p.first_response_hours else "warn"),
            "The pro never replied or called"
            if first is None
            else f"{hours(first)} after the lead arrived",
            relevant=reason == Reason.HIRED_BEFORE_CONTACT,
        )
    )
    return lines
