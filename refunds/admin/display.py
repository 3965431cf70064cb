"""How the back office writes things: durations, percentages, the review clock, state badges
and the assessment's verdicts. One escaping helper, html(), for every cell and fragment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape as escape_html
from typing import Any

from django.utils.safestring import SafeData, SafeString

from accounts.money import money
from refunds import services
from refunds.choices import OPEN_STATUSES, STATUS_COLOURS, Reason, Status
from refunds.models import Dispute, RefundRequest
from refunds.policy import Assessment, RuleVerdict

# The queue is dense: the full label is the cell's tooltip.
REASON_SHORT = {
    Reason.WRONG_JOB: "Wrong job",
    Reason.INVALID_CONTACT: "Bad contact info",
    Reason.DUPLICATE: "Duplicate",
    Reason.HIRED_BEFORE_CONTACT: "Hired before contact",
    Reason.SPAM: "Spam / fraud",
}


def html(template: str, *args: Any) -> SafeString:
    """format_html's escaping, without the lazy-string wrappers that made it the queue's
    largest single cost (about a dozen calls per row)."""
    return SafeString(
        template.format(*(a if isinstance(a, SafeData) else escape_html(str(a)) for a in args))
    )


def duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m"


def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return duration(timedelta(hours=value))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def count(n: int, noun: str) -> str:
    """'1 attempt', '3 attempts'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Clock:
    """How much time a request has left before its decision is due."""

    text: str
    level: str  # ok, warn, late: the colour of the chip


def clock(due_at: datetime, now: datetime, warn_within: timedelta) -> Clock:
    """Time left until `due_at` (or how late it is), amber once `warn_within` or less is left."""
    left = due_at - now
    if left < timedelta(0):
        return Clock(f"{duration(left)} overdue", "late")
    return Clock(f"{duration(left)} left", "warn" if left <= warn_within else "ok")


def review_clock(request: RefundRequest, now: datetime) -> Clock | None:
    """None once the request is decided: there is no clock to show any more. Amber exactly
    when the request counts as due soon (services.DUE_SOON) on the home page, the queue's
    deadline filter and the metrics."""
    if request.status not in OPEN_STATUSES:
        return None
    return clock(request.due_at, now, services.DUE_SOON)


def dispute_clock(dispute: Dispute, now: datetime) -> Clock | None:
    """None once support has answered; amber in the last quarter of REFUND_DISPUTE_HOURS."""
    if not dispute.is_open:
        return None
    return clock(dispute.due_at, now, timedelta(hours=services.params().dispute_hours) / 4)


def clock_chip(value: Clock | None, done: str) -> SafeString:
    """The coloured time-left chip, or `done` once there is no clock."""
    if value is None:
        return html('<span class="rq-muted">{}</span>', done)
    return html('<span class="rq-chip rq-chip--{}">{}</span>', value.level, value.text)


def status_badge(status: str) -> SafeString:
    # The enum's label: get_FOO_display() rebuilds the field's choices on every call.
    state = Status(status)
    return html('<span class="rq-badge rq-badge--{}">{}</span>', STATUS_COLOURS[state], state.label)


def contact_effort_verdict(assessment: Assessment | None) -> tuple[str, str, list[str]]:
    """(short text, level, what is missing) from the stored assessment."""
    if assessment is None:
        return "—", "muted", []
    if not assessment.contact_effort_matters:
        return "Not needed", "muted", ["Contact effort does not matter for this reason."]
    effort = assessment.contact_effort
    if effort.meets_policy:
        return "Meets policy", "ok", []
    gaps = []
    if not effort.enough_attempts:
        gaps.append(count(effort.attempts, "attempt"))
    unused = set(effort.channels_available) - set(effort.channels_used)
    gaps += [f"no {'call' if channel == 'phone' else 'message'}" for channel in sorted(unused)]
    if not effort.waited_long_enough:
        gaps.append("too soon")
    return "Short: " + ", ".join(gaps), "warn", effort.missing


def refund_rate_verdict(assessment: Assessment | None) -> tuple[str, str]:
    """(short text, level): the pro's refund rate against the market's limit."""
    if assessment is None:
        return "—", "muted"
    peers = assessment.peers
    rate = percent(peers.pro_rate)
    if not peers.comparable:
        return f"{rate} · no comparison", "muted"
    limit = percent(peers.threshold)
    if peers.auto_deny:
        return f"{rate} · over {limit}", "late"
    return f"{rate} · limit {limit}", "ok"


FACT_LABELS = {
    "earlier_leads": "Earlier leads, same customer",
    "category": "Lead's category",
    "category_offered": "Category on the pro's profile",
    "phone_valid": "Phone number valid",
    "phone_outcomes": "Phone attempts ended",
    "email_given": "Email address given",
    "email_valid": "Email address valid",
    "customer_wrote": "Customer wrote in the thread",
    "price": "Price",
    "auto_approvals_30d": "Pro's automatic approvals, last 30 days",
}


def fact_rows(facts: dict) -> list[tuple[str, str]]:
    """The facts a rule used, as (label, value) lines a reviewer reads."""

    def shown(key: str, value: Any) -> str:
        if value is None:
            return "unknown"
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, list):
            if key == "earlier_leads":
                return ", ".join(f"#{v}" for v in value) or "none"
            return ", ".join(str(v).replace("_", " ") for v in value) or "none"
        if key == "price":
            return money(value)
        return str(value)

    return [(FACT_LABELS.get(key, key), shown(key, value)) for key, value in facts.items()]


@dataclass(frozen=True)
class RuleView:
    """The automatic-approval rule's verdict on a request, as the request page shows it."""

    verdict: RuleVerdict
    state: str  # what happened, in a word or three
    level: str  # ok / warn / muted: the badge's colour
    facts: list[tuple[str, str]]


def rule_view(verdict: RuleVerdict | None) -> RuleView | None:
    if verdict is None:
        return None
    if verdict.applied:
        state, level = "approved automatically", "ok"
    elif verdict.suggested:
        state, level = "suggests approving", "ok"
    elif verdict.held_by:
        state, level = "matched, held for a person", "warn"
    else:
        state, level = "does not apply", "muted"
    return RuleView(verdict, state, level, fact_rows(verdict.facts))


def rule_chip(assessment: Assessment | None) -> SafeString:
    """The queue's hint that a rule would approve (suggest-only) or matched but was held."""
    verdict = assessment.rule if assessment else None
    if verdict is None or not (verdict.suggested or verdict.held_by):
        return html("")
    text = "Rule suggests approving" if verdict.suggested else "Rule matched, held"
    return html(
        '<br><span class="rq-chip rq-chip--{}" title="{}">{}</span>',
        "ok" if verdict.suggested else "warn",
        verdict.held_by or verdict.why,
        text,
    )
