"""The refund policy as code: pure functions over plain facts, no database, no clock.

Reviewers can read this file as the policy. Parameters come from settings.REFUND_POLICY and
are passed in, so each rule is tested at its edges without touching settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from accounts.money import money
from refunds.choices import REASONS_WITHOUT_CONTACT_EFFORT, Reason

MESSAGE = "message"
PHONE = "phone"
CHANNEL_LABELS = {MESSAGE: "in-app message", PHONE: "phone call"}


@dataclass(frozen=True)
class Params:
    report_window_days: int = 14
    review_hours: int = 24
    min_contact_attempts: int = 2
    min_hours_since_first_attempt: int = 24
    peer_window_days: int = 90
    peer_median_multiplier: Decimal = Decimal(2)
    peer_percentile: int = 90
    peer_min_leads: int = 10
    peer_min_peers: int = 5
    duplicate_window_days: int = 30
    claim_minutes: int = 30
    card_settlement_business_days: int = 5
    # A first reply within this many hours of the lead is what the help article calls replying
    # quickly; the reviewer's checklist marks a slower one.
    first_response_hours: int = 24
    dispute_hours: int = 48
    # Automatic approval (refunds/policy/rules.py): each rule on, suggest or off.
    auto_approve_modes: dict = field(
        default_factory=lambda: {
            "duplicate": "on",
            "outside_services": "on",
            "unreachable_contact": "suggest",
        }
    )
    auto_approve_max_price: Decimal = Decimal(100)
    auto_approve_per_pro_30d: int = 3
    auto_approve_sample_percent: int = 5
    undo_seconds: int = 60

    @classmethod
    def from_settings(cls, policy: dict) -> Params:
        return cls(
            report_window_days=policy["REPORT_WINDOW_DAYS"],
            review_hours=policy["REVIEW_HOURS"],
            min_contact_attempts=policy["MIN_CONTACT_ATTEMPTS"],
            min_hours_since_first_attempt=policy["MIN_HOURS_SINCE_FIRST_ATTEMPT"],
            peer_window_days=policy["PEER_WINDOW_DAYS"],
            peer_median_multiplier=Decimal(policy["PEER_MEDIAN_MULTIPLIER"]),
            peer_percentile=policy["PEER_PERCENTILE"],
            peer_min_leads=policy["PEER_MIN_LEADS"],
            peer_min_peers=policy["PEER_MIN_PEERS"],
            duplicate_window_days=policy["DUPLICATE_WINDOW_DAYS"],
            claim_minutes=policy["CLAIM_MINUTES"],
            card_settlement_business_days=policy["CARD_SETTLEMENT_BUSINESS_DAYS"],
            first_response_hours=policy["FIRST_RESPONSE_HOURS"],
            dispute_hours=policy["DISPUTE_HOURS"],
            auto_approve_modes=dict(policy["AUTO_APPROVE_MODES"]),
            auto_approve_max_price=Decimal(policy["AUTO_APPROVE_MAX_PRICE"]),
            auto_approve_per_pro_30d=policy["AUTO_APPROVE_PER_PRO_30D"],
            auto_approve_sample_percent=policy["AUTO_APPROVE_SAMPLE_PERCENT"],
            undo_seconds=policy["UNDO_SECONDS"],
        )


# The report window


def report_deadline(received_at: datetime, params: Params) -> datetime:
    return received_at + timedelta(days=params.report_window_days)


def window_open(received_at: datetime, now: datetime, params: Params) -> bool:
    """A lead may be reported up to and including the moment its window closes."""
    return now <= report_deadline(received_at, params)


def earliest_reportable_receipt(now: datetime, params: Params) -> datetime:
    """The oldest receipt whose window is still open at `now` (window_open, as a bound)."""
    return now - timedelta(days=params.report_window_days)


def review_due(submitted_at: datetime, params: Params) -> datetime:
    return submitted_at + timedelta(hours=params.review_hours)


def undo_until(decided_at: datetime, params: Params) -> datetime:
    """Until when a reviewer may take a decision back; its credit or notice waits till then."""
    return decided_at + timedelta(seconds=params.undo_seconds)


def dispute_due(opened_at: datetime, params: Params) -> datetime:
    """Support answers a pro's dispute within this long of the reply."""
    return opened_at + timedelta(hours=params.dispute_hours)


# Reasons


# Part of the price a reviewer (or support, overturning) may approve instead of all of it.
PARTIAL_SHARES = (25, 50, 75, 100)
CENT = Decimal("0.01")


def share_of_price(price: Decimal, percent: int) -> Decimal:
    """`percent` of the lead's price to the cent, half a cent rounded up (25 % of $24.50 is
    $6.125, so $6.13): the rounding a pro would do by hand."""
    return (price * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def partial_refusal(amount: Decimal, price: Decimal, reason: str, currency: str = "") -> str:
    """Why `amount` cannot be approved of a lead costing `price` (empty when it can).

    More than nothing, no more than the price, whole cents; a reason whenever it is less than
    the price, since the pro is owed an explanation for the part kept back.
    """
    if amount != amount.quantize(CENT):
        return "Give the amount in whole cents."
    if amount <= 0:
        return "The amount must be more than $0.00."
    if amount > price:
        return f"The amount cannot be more than the lead's price, {money(price, currency)}."
    if amount < price and not reason.strip():
        return "Tell the pro why only part of the price is refunded."
    return ""


def is_eligible_reason(value: str) -> bool:
    return value in Reason.values


def contact_effort_matters(reason: str) -> bool:
    return reason not in REASONS_WITHOUT_CONTACT_EFFORT


def not_eligible_cases(params: Params) -> tuple[str, ...]:
    """What the policy does not refund, shown to pros before they ask."""
    return (
        "The customer did not answer your messages or calls.",
        "The customer hired another pro through our platform.",
        "You changed your mind, or did not follow up.",
        "The customer turned down your quote, but the request was genuine.",
        "The request was accurate and in your service area and categories.",
        f"More than {params.report_window_days} days have passed since you received the lead.",
    )


# Good-faith contact effort


@dataclass(frozen=True)
class Attempt:
    channel: str
    at: datetime


@dataclass
class ContactEffort:
    """How hard the pro tried to reach the customer, against the policy."""

    attempts: int
    channels_used: list[str]
    channels_available: list[str]
    hours_since_first: float | None
    enough_attempts: bool
    all_channels_used: bool
    waited_long_enough: bool
    missing: list[str] = field(default_factory=list)

    @property
    def meets_policy(self) -> bool:
        return self.enough_attempts and self.all_channels_used and self.waited_long_enough


def assess_contact_effort(
    attempts: Iterable[Attempt],
    available_channels: Iterable[str],
    now: datetime,
    params: Params,
) -> ContactEffort:
    """Count the attempts made before `now`, the channels used, and the time since the first."""
    made = sorted((a for a in attempts if a.at <= now), key=lambda a: a.at)
    available = sorted(set(available_channels) | {MESSAGE})
    used = sorted({a.channel for a in made} & set(available))
    hours = (now - made[0].at).total_seconds() / 3600 if made else None

    enough = len(made) >= params.min_contact_attempts
    all_used = set(used) == set(available)
    waited = hours is not None and hours >= params.min_hours_since_first_attempt

    missing = []
    if not enough:
        missing.append(
            f"Make at least {params.min_contact_attempts} contact attempts ({len(made)} so far)."
        )
    for channel in available:
        if channel not in used:
            missing.append(f"Try the customer by {CHANNEL_LABELS.get(channel, channel)}.")
    if not waited:
        missing.append(
            f"Give the customer at least {params.min_hours_since_first_attempt} hours "
            "after your first attempt."
        )
    return ContactEffort(
        attempts=len(made),
        channels_used=used,
        channels_available=available,
        hours_since_first=round(hours, 1) if hours is not None else None,
        enough_attempts=enough,
        all_channels_used=all_used,
        waited_long_enough=waited,
        missing=missing,
    )


# Peer refund rate


def refund_rate(requests: int, leads: int) -> float | None:
    """Requests per lead over the peer window; None when the pro bought no leads."""
    if leads <= 0:
        return None
    return requests / leads


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], pct: int) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' method)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def peer_limit(peer_rates: Sequence[float], params: Params) -> float | None:
    """The refund rate above which the rule auto-denies: max(k × median, pXX) of the peers'
    rates; None when there are too few peers for the figures to mean anything."""
    if len(peer_rates) < params.peer_min_peers:
        return None
    return max(
        float(params.peer_median_multiplier) * median(peer_rates),
        percentile(peer_rates, params.peer_percentile),
    )


@dataclass
class PeerComparison:
    """The pro's refund rate against the other pros of the same market."""

    pro_requests: int
    pro_leads: int
    pro_rate: float | None
    peers: int
    market_median: float | None
    market_percentile: float | None
    threshold: float | None
    comparable: bool
    auto_deny: bool
    why: str


def compare_with_peers(
    pro_requests: int,
    pro_leads: int,
    peer_rates: Sequence[float],
    params: Params,
) -> PeerComparison:
    """Auto-deny when the pro's rate is above max(k × market median, market pXX).

    Only with enough leads for the pro and enough peers for the market figures to mean anything.
    """
    rate = refund_rate(pro_requests, pro_leads)
    comparison = PeerComparison(
        pro_requests=pro_requests,
        pro_leads=pro_leads,
        pro_rate=rate,
        peers=len(peer_rates),
        market_median=None,
        market_percentile=None,
        threshold=None,
        comparable=False,
        auto_deny=False,
        why="",
    )
    if pro_leads < params.peer_min_leads:
        comparison.why = f"Too few leads to compare (fewer than {params.peer_min_leads})."
        return comparison
    if len(peer_rates) < params.peer_min_peers:
        comparison.why = (
            f"Too few peers in the market to compare (fewer than {params.peer_min_peers})."
        )
        return comparison
    comparison.comparable = True
    comparison.market_median = median(peer_rates)
    comparison.market_percentile = percentile(peer_rates, params.peer_percentile)
    comparison.threshold = peer_limit(peer_rates, params)
    comparison.auto_deny = rate is not None and rate > comparison.threshold
    relation = "above" if comparison.auto_deny else "within"
    comparison.why = (
        f"Refund rate {rate:.0%} is {relation} this market's limit of {comparison.threshold:.0%}."
    )
    return comparison


def requests_within_limit(leads: int, threshold: float) -> int:
    """The most requests out of `leads` whose rate is not above `threshold`: the count the rule
    allows, found with the rule's own comparison so it never disagrees by a rounding."""
    if leads <= 0:
        return 0
    allowed = math.floor(threshold * leads)
    while refund_rate(allowed + 1, leads) <= threshold:
        allowed += 1
    while allowed > 0 and refund_rate(allowed, leads) > threshold:
        allowed -= 1
    return allowed


@dataclass(frozen=True)
class Standing:
    """Where a pro stands against the peer rule: the comparison of the requests made so far,
    and the one a report submitted now would meet (counting it, as the submission does)."""

    current: PeerComparison
    next: PeerComparison
    # The market's figures, also when the pro has too few leads for the rule to apply to them.
    market_median: float | None
    threshold: float | None
    # The most requests out of the pro's leads that stay within the limit; None without one.
    allowed_requests: int | None
    window_days: int
    min_leads: int
    min_peers: int

    @property
    def room(self) -> int | None:
        """Requests the pro may still make before the next one is denied automatically."""
        if not self.current.comparable or self.allowed_requests is None:
            return None
        return max(0, self.allowed_requests - self.current.pro_requests)


def standing(
    pro_requests: int, pro_leads: int, peer_rates: Sequence[float], params: Params
) -> Standing:
    """The pro's refund rate against the market's, through compare_with_peers as the
    submission calls it: `next` is exactly what a report submitted now would be judged by."""
    threshold = peer_limit(peer_rates, params)
    return Standing(
        current=compare_with_peers(pro_requests, pro_leads, peer_rates, params),
        next=compare_with_peers(pro_requests + 1, pro_leads, peer_rates, params),
        market_median=median(peer_rates) if threshold is not None else None,
        threshold=threshold,
        allowed_requests=(
            requests_within_limit(pro_leads, threshold) if threshold is not None else None
        ),
        window_days=params.peer_window_days,
        min_leads=params.peer_min_leads,
        min_peers=params.peer_min_peers,
    )


# Contact details


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def phone_looks_valid(phone: str) -> bool | None:
    """None when there is no phone number; otherwise whether it has a plausible digit count."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return 10 <= len(digits) <= 15 and len(set(digits[-7:])) > 1


def email_looks_valid(email: str) -> bool | None:
    if not email:
        return None
    return bool(_EMAIL.match(email))


# The whole assessment stored with a request

# Bumped whenever the stored shape changes; from_json refuses a version it does not know, so a
# renamed field fails loudly instead of reading as missing.
ASSESSMENT_VERSION = 2


@dataclass
class Assessment:
    """What the policy made of a report when it was submitted, stored with the request."""

    reason: str
    window_open: bool
    report_deadline: str
    lead_age_hours: float
    contact_effort: ContactEffort
    contact_effort_matters: bool
    peers: PeerComparison
    duplicate_lead_ids: list[int]
    phone_valid: bool | None
    email_valid: bool | None
    category_offered: bool
    in_service_area: bool
    first_response_hours: float | None
    # The automatic-approval rule's verdict on this report (rules.py), when a rule speaks.
    rule: RuleVerdict | None = None
    version: int = ASSESSMENT_VERSION

    def as_json(self) -> dict:
        data = asdict(self)
        data["contact_effort"]["meets_policy"] = self.contact_effort.meets_policy
        return data

    @classmethod
    def from_json(cls, data: dict) -> Assessment | None:
        """The stored assessment, typed; None when none was stored.

        Raises ValueError for an unknown version and TypeError for a missing or unknown field.
        """
        if not data:
            return None
        data = dict(data)
        # Requests stored before the version was written have the first version's shape;
        # the second added the rule's verdict.
        version = data.pop("version", 1)
        if version not in (1, ASSESSMENT_VERSION):
            raise ValueError(f"Unknown assessment version {version!r}")
        effort = {k: v for k, v in data.pop("contact_effort").items() if k != "meets_policy"}
        return cls(
            contact_effort=ContactEffort(**effort),
            peers=PeerComparison(**data.pop("peers")),
            rule=RuleVerdict.from_json(data.pop("rule", None)),
            **data,
        )

    @property
    def deadline(self) -> datetime:
        return datetime.fromisoformat(self.report_deadline)


def assess(
    *,
    reason: str,
    received_at: datetime,
    now: datetime,
    attempts: Iterable[Attempt],
    available_channels: Iterable[str],
    pro_requests: int,
    pro_leads: int,
    peer_rates: Sequence[float],
    duplicate_lead_ids: Sequence[int],
    phone: str,
    email: str,
    category_offered: bool,
    in_service_area: bool,
    first_response_at: datetime | None,
    params: Params,
) -> Assessment:
    first_response = (
        round((first_response_at - received_at).total_seconds() / 3600, 1)
        if first_response_at is not None
        else None
    )
    return Assessment(
        reason=reason,
        window_open=window_open(received_at, now, params),
        report_deadline=report_deadline(received_at, params).isoformat(),
        lead_age_hours=round((now - received_at).total_seconds() / 3600, 1),
        contact_effort=assess_contact_effort(attempts, available_channels, now, params),
        contact_effort_matters=contact_effort_matters(reason),
        peers=compare_with_peers(pro_requests, pro_leads, peer_rates, params),
        duplicate_lead_ids=sorted(duplicate_lead_ids),
        phone_valid=phone_looks_valid(phone),
        email_valid=email_looks_valid(email),
        category_offered=category_offered,
        in_service_area=in_service_area,
        first_response_hours=first_response,
    )


def add_business_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


# Automatic approval of clear-cut requests lives in rules.py, imported last: it reads Params.
from refunds.policy.rules import (  # noqa: E402
    RULE_LABELS,
    ReportFacts,
    RuleVerdict,
    automatic_approval,
    duplicate_rule,
    outside_services_rule,
    unreachable_contact_rule,
)

__all__ = [
    "RULE_LABELS",
    "ReportFacts",
    "RuleVerdict",
    "automatic_approval",
    "duplicate_rule",
    "outside_services_rule",
    "unreachable_contact_rule",
]
