"""How the back office writes things: durations, percentages, the review clock, state badges
and the assessment's verdicts. One escaping helper, html(), for every cell and fragment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape as escape_html
from typing import Any

from django.utils.safestring import SafeData, SafeString

from refunds import services
from refunds.choices import OPEN_STATUSES, STATUS_COLOURS, Reason, Status
from refunds.models import Dispute, RefundRequest
from refunds.policy import Assessment

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


def clock(due_at: datetime, now: datetime, allowed: timedelta) -> Clock:
    """Time left until `due_at` (or how late it is), amber in the last quarter of `allowed`."""
    left = due_at - now
    if left < timedelta(0):
        return Clock(f"{duration(left)} overdue", "late")
    return Clock(f"{duration(left)} left", "warn" if left < allowed / 4 else "ok")


def review_clock(request: RefundRequest, now: datetime) -> Clock | None:
    """None once the request is decided: there is no clock to show any more."""
    if request.status not in OPEN_STATUSES:
        return None
    return clock(request.due_at, now, timedelta(hours=services.params().review_hours))


def dispute_clock(dispute: Dispute, now: datetime) -> Clock | None:
    """None once support has answered."""
    if not dispute.is_open:
        return None
    return clock(dispute.due_at, now, timedelta(hours=services.params().dispute_hours))


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
