"""Where refunds come from: requests, approvals and money by reason, market and category; each
market's pros' refund rates against the peer rule's auto-deny limit; the pros with the highest
rates, each a link to their requests in the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, FloatField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse

from accounts.models import Market, User
from leads.models import Lead
from refunds import policy
from refunds.analytics import svg
from refunds.analytics.figures import (
    Amount,
    Figure,
    Link,
    Page,
    Section,
    Table,
    money_text,
    share_text,
)
from refunds.analytics.period import Period
from refunds.choices import Reason, Status
from refunds.models import MarketPeerStats, RefundRequest
from refunds.services import params
from refunds.services.queries import peer_rates_by_market

# A request with a decision standing on it; approved when it has a credit (an approval, or a
# denial overturned on dispute; Undo deletes the credit of a decision taken back).
DECIDED = (Status.REVIEWED, Status.CREDITED, Status.DENIED, Status.DISPUTED)
BUCKET_POINTS = 5  # each bar of a market's histogram: 5 percentage points of refund rate
TOP_PROS = 10


def build(period: Period, now: datetime) -> Page:
    p = params()
    markets = market_rates(period, now, p)
    return Page(
        "Where refunds come from",
        [
            _by_reason(period),
            _by_market(period),
            _by_category(period),
            _limits(markets, p),
            *(_market(m, p) for m in markets),
            _top_pros(period, now, p, markets),
        ],
    )


# Requests, approvals and money


def breakdown(period: Period, *fields: str) -> list[dict]:
    """The period's requests grouped by `fields`: how many, decided, approved, credited."""
    return list(
        RefundRequest.objects.filter(
            period.requests(), submitted_at__gte=period.start, submitted_at__lt=period.end
        )
        .values(*fields)
        .annotate(
            requests=Count("id"),
            decided=Count("id", filter=Q(status__in=DECIDED)),
            approved=Count("id", filter=Q(credit__isnull=False)),
            credited=Sum("credit__amount"),
        )
        .order_by("-requests", *fields)
    )


COLUMNS = ["requests", "decided", "approved", "approval rate %", "credited ($)"]
NOTE = (
    "Requests submitted in the period. The approval rate is approved ÷ decided (a denial "
    "overturned on dispute counts as approved); credited is the money given back for them, "
    "posted or on its way."
)


def _row(label: str, group: dict) -> list:
    rate = round(100 * group["approved"] / group["decided"], 1) if group["decided"] else ""
    money = Amount(group["credited"])
    return [label, group["requests"], group["decided"], group["approved"], rate, money]


def _section(title: str, name: str, first: str, labelled: list[tuple[str, dict]]) -> Section:
    rows = [_row(label, group) for label, group in labelled]
    total = {
        key: sum((group[key] or 0) for _, group in labelled)
        for key in ("requests", "decided", "approved", "credited")
    }
    chart = ""
    if total["requests"]:
        chart = svg.hbars(
            f"Requests by {first}, with the share approved",
            [row[0] for row in rows],
            [row[1] for row in rows],
            x_label="Requests in the period · approved of those decided · credited",
            label_width=160,
            value_labels=[
                f"{row[1]} · {share_text(row[3], row[2])} approved · {money_text(row[5])}"
                if row[2]
                else f"{row[1]} · none decided"
                for row in rows
            ],
        )
    rows.append(_row("all", total))
    return Section(
        title,
        figures=[
            Figure("Requests", str(total["requests"])),
            Figure(
                "Approved",
                share_text(total["approved"], total["decided"]),
                f"{total['approved']} of {total['decided']} decided",
            ),
            Figure("Credited", money_text(total["credited"])),
        ]
        if first == "reason"
        else [],
        chart=chart,
        tables=[Table(name, title, [first, *COLUMNS], rows, note=NOTE)],
    )


def _by_reason(period: Period) -> Section:
    found = {group["reason"]: group for group in breakdown(period, "reason")}
    empty = {"requests": 0, "decided": 0, "approved": 0, "credited": None}
    labelled = [(reason.label, found.get(reason.value, empty)) for reason in Reason]
    labelled.sort(key=lambda pair: -pair[1]["requests"])  # stable: the policy's order on ties
    return _section("By reason", "by_reason", "reason", labelled)


def _by_market(period: Period) -> Section:
    labelled = [
        (group["market__name"] or "no market", group) for group in breakdown(period, "market__name")
    ]
    return _section("By market", "by_market", "market", labelled)


def _by_category(period: Period) -> Section:
    labelled = [
        (group["lead__category__name"], group)
        for group in breakdown(period, "lead__category__name")
    ]
    return _section("By category", "by_category", "category", labelled)


# Each market's pros against the peer rule's limit


@dataclass(frozen=True)
class MarketRates:
    """A market's refund rate per pro, as the peer rule sees them, and the limit over them."""

    market: Market
    rates: dict[str, float]  # pro id -> requests ÷ leads over the window
    since: datetime
    counted_at: datetime
    snapshot: bool  # from MarketPeerStats, or counted for this page
    limit: float | None  # None: too few pros to compare

    @property
    def above(self) -> list[int]:
        if self.limit is None:
            return []
        return [int(pro) for pro, rate in self.rates.items() if rate > self.limit]

    @property
    def source(self) -> str:
        if self.snapshot:
            return f"snapshot of {self.counted_at:%b %-d %H:%M} UTC"
        return "counted now (no snapshot yet)"


def market_rates(period: Period, now: datetime, p: policy.Params) -> list[MarketRates]:
    """Each market's rates from its MarketPeerStats snapshot, or, for a market without one, from
    a grouped count over the peer window; markets with no pro holding leads are left out."""
    markets = [period.market] if period.market else list(Market.objects.order_by("name"))
    stats = {s.market_id: s for s in MarketPeerStats.objects.filter(market__in=markets)}
    since = now - timedelta(days=p.peer_window_days)
    missing = [m.pk for m in markets if m.pk not in stats]
    live = peer_rates_by_market(since, missing) if missing else {}
    found = []
    for market in markets:  # a handful of markets
        if market.pk in stats:
            s = stats[market.pk]
            rates, start, at = s.rates, s.computed_at - timedelta(days=s.window_days), s.computed_at
        else:
            rates, start, at = live.get(market.pk, {}), since, now
        if rates:
            limit = policy.peer_limit(list(rates.values()), p)
            found.append(MarketRates(market, rates, start, at, market.pk in stats, limit))
    return found


def judged(pro_ids: list[int], since: datetime, p: policy.Params) -> int:
    """How many of these pros bought enough leads since `since` for the rule to judge them."""
    if not pro_ids:
        return 0
    return (
        Lead.objects.filter(pro_id__in=pro_ids, received_at__gte=since)
        .values("pro_id")
        .annotate(n=Count("id"))
        .filter(n__gte=p.peer_min_leads)
        .count()
    )


def percent(rate: float | None) -> float | str:
    return "" if rate is None else round(100 * rate, 1)


def _limits(markets: list[MarketRates], p: policy.Params) -> Section:
    rows = []
    for m in markets:
        values = list(m.rates.values())
        above = m.above
        rows.append(
            [
                m.market.name,
                len(values),
                percent(policy.median(values)),
                percent(policy.percentile(values, p.peer_percentile)),
                percent(m.limit),
                len(above),
                judged(above, m.since, p),
                m.source,
            ]
        )
    return Section(
        "Pros' refund rates against the auto-deny limit",
        figures=[
            Figure("Pros above their market's limit", str(sum(row[5] for row in rows))),
            Figure(
                f"Of whom with {p.peer_min_leads}+ leads",
                str(sum(row[6] for row in rows)),
                "their next report is denied automatically",
            ),
        ],
        tables=[
            Table(
                "peer_limits",
                "Refund-rate limits by market",
                [
                    "market",
                    "pros with leads",
                    "median rate %",
                    f"{p.peer_percentile}th percentile %",
                    "auto-deny limit %",
                    "pros above it",
                    f"of whom with {p.peer_min_leads}+ leads",
                    "counted",
                ],
                rows,
                note=_rule_note(p),
            )
        ],
        note="As the peer rule sees them now: each pro's requests ÷ leads over the last "
        f"{p.peer_window_days} days, across all their categories, so the period's dates and the "
        "category filter do not apply here.",
    )


def _rule_note(p: policy.Params) -> str:
    return (
        f"The limit is max({p.peer_median_multiplier:g} × the median, the {p.peer_percentile}th "
        f"percentile) of the market's rates, drawn only with {p.peer_min_peers}+ pros. The rule "
        "compares a pro with the others, without themselves, so each pro's own limit differs "
        f"slightly; pros with fewer than {p.peer_min_leads} leads are never denied by it."
    )


def buckets(rates: list[float], limit: float | None) -> tuple[list[str], list[int]]:
    """Counts of rates per 5-point bucket, from 0% to past the largest rate and the limit."""
    largest = max([*rates, limit or 0.0])
    # Whole percentage points first, so 15% falls in 15–20% despite binary fractions.
    n = min(100 // BUCKET_POINTS, max(6, int(round(100 * largest, 6) // BUCKET_POINTS) + 1))
    counts = [0] * n
    for rate in rates:
        counts[min(n - 1, int(round(100 * rate, 6) // BUCKET_POINTS))] += 1
    labels = [f"{BUCKET_POINTS * i}–{BUCKET_POINTS * (i + 1)}%" for i in range(n)]
    if n == 100 // BUCKET_POINTS:
        labels[-1] = f"{100 - BUCKET_POINTS}% or more"
    return labels, counts


def _market(m: MarketRates, p: policy.Params) -> Section:
    values = list(m.rates.values())
    labels, counts = buckets(values, m.limit)
    above = m.above
    limit = "" if m.limit is None else f"{100 * m.limit:.1f}%"
    return Section(
        f"Refund rates of pros in {m.market.name}",
        figures=[
            Figure("Pros with leads", str(len(values))),
            Figure("Median rate", f"{100 * policy.median(values):.1f}%"),
            Figure(
                "Auto-deny limit",
                limit or "—",
                "" if limit else f"fewer than {p.peer_min_peers} pros: no comparison",
            ),
            Figure(
                "Pros above it",
                str(len(above)),
                f"{judged(above, m.since, p)} with {p.peer_min_leads}+ leads",
                level="warn" if above else "",
            ),
        ],
        chart=svg.histogram(
            f"Pros in {m.market.name} by refund rate",
            labels,
            counts,
            x_label=f"Refund rate, requests ÷ leads over {p.peer_window_days} days",
            y_label="Pros",
            marker=None if m.limit is None else 100 * m.limit / BUCKET_POINTS,
            marker_label=f"auto-deny above {limit}",
        ),
        tables=[
            Table(
                f"rates_market_{m.market.pk}",
                f"Pros in {m.market.name} by refund rate ({m.source})",
                ["refund rate", "pros"],
                [list(row) for row in zip(labels, counts, strict=True)],
            )
        ],
    )


# The pros with the highest rates


def top_pros(market: Market | None, since: datetime, p: policy.Params) -> QuerySet:
    """The pros (of `market`, or of every market) with the highest refund rates since `since`,
    among those with enough leads for the rule to judge them and at least one request."""
    requests = (
        RefundRequest.objects.filter(pro=OuterRef("pk"), submitted_at__gte=since)
        .order_by()
        .values("pro")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        User.objects.filter(
            Q(pro_profile__market=market) if market else Q(pro_profile__isnull=False)
        )
        .annotate(leads_n=Count("leads", filter=Q(leads__received_at__gte=since)))
        .filter(leads_n__gte=p.peer_min_leads)
        .annotate(requests_n=Coalesce(Subquery(requests), Value(0)))
        .filter(requests_n__gt=0)
        .annotate(rate=Cast("requests_n", FloatField()) / Cast("leads_n", FloatField()))
        .order_by("-rate", "-requests_n", "email")
        .values(
            "pk",
            "email",
            "pro_profile__business_name",
            "pro_profile__market_id",
            "pro_profile__market__name",
            "leads_n",
            "requests_n",
            "rate",
        )[:TOP_PROS]
    )


def queue_url(email: str) -> str:
    """The queue, every state, searched for the pro's email (it has no pro filter)."""
    changelist = reverse("admin:refunds_refundrequest_changelist")
    return f"{changelist}?{urlencode({'q': email, 'state': 'all'})}"


def _top_pros(period: Period, now: datetime, p: policy.Params, markets: list[MarketRates]):
    limits = {m.market.pk: m.limit for m in markets}
    since = now - timedelta(days=p.peer_window_days)
    rows = []
    for pro in top_pros(period.market, since, p):
        limit = limits.get(pro["pro_profile__market_id"])
        rows.append(
            [
                Link(pro["pro_profile__business_name"] or pro["email"], queue_url(pro["email"])),
                pro["email"],
                pro["pro_profile__market__name"],
                pro["leads_n"],
                pro["requests_n"],
                percent(pro["rate"]),
                percent(limit),
                "" if limit is None else ("yes" if pro["rate"] > limit else "no"),
            ]
        )
    return Section(
        f"The {TOP_PROS} pros with the highest refund rates",
        tables=[
            Table(
                "top_pros",
                f"Highest refund rates over the last {p.peer_window_days} days",
                [
                    "pro",
                    "email",
                    "market",
                    "leads",
                    "requests",
                    "refund rate %",
                    "market limit %",
                    "above the limit",
                ],
                rows,
                note=f"Counted now over the last {p.peer_window_days} days, for pros with "
                f"{p.peer_min_leads}+ leads (fewer cannot be compared) and a request; each name "
                "opens their requests in the queue. The market limit is the one drawn above.",
            )
        ],
    )
