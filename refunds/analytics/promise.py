"""Review promise: is every request decided within 24 hours, and how long do decisions take."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate

from refunds.analytics import svg
from refunds.analytics.figures import (
    Figure,
    Hours,
    Page,
    Section,
    Table,
    WholeMinutes,
    elapsed,
    hours_text,
    nearest_rank,
    percentile,
    share_text,
)
from refunds.analytics.period import Period
from refunds.choices import OPEN_STATUSES, Status
from refunds.models import (
    Decision,
    DecisionTimeRollup,
    Dispute,
    PromiseRollup,
    RefundRequest,
    RollupDay,
)
from refunds.services import params
from refunds.services.queries import AUTOMATIC_KINDS

PROMISE = timedelta(hours=24)
DAY = timedelta(days=1)
AGE_BUCKETS = [(0, 4), (4, 12), (12, 20), (20, 24), (24, None)]


def reviewed_where(q: Q, since: datetime) -> QuerySet[RefundRequest]:
    """The requests matching `q`, all submitted from `since` on, that a person had to decide:
    withdrawn requests and automatic decisions are left out, as in the queue's banner. A rule
    decides at submission, so only the rules' decisions from `since` on are looked at (an
    index holds them by time)."""
    by_rule = Decision.objects.filter(
        request=OuterRef("pk"), kind__in=AUTOMATIC_KINDS, decided_at__gte=since
    )
    return RefundRequest.objects.filter(q).exclude(status=Status.WITHDRAWN).exclude(Exists(by_rule))


def settled(now: datetime) -> Q:
    """Counted once the outcome is known: decided, or past the promise while still open."""
    return Q(decided_at__isnull=False) | Q(submitted_at__lte=now - PROMISE)


# What a day's counted requests add up to; the daily roll-ups store the same sums.
COUNTS = {
    "counted": Count("id"),
    "in_24": Count("id", filter=Q(decided_at__lte=F("submitted_at") + PROMISE)),
    "in_window": Count("id", filter=Q(decided_at__lte=F("due_at"))),
}
# Time to a decision, rounded down to the quarter hour (in minutes: 0, 15, 30, ...). The
# percentiles are read from a histogram of these: at most 96 values within the promise and a
# few beyond it per day, however many requests a day brings, where whole minutes gave
# hundreds a day. A decision at exactly 24 hours starts the 1,440 bucket, as at 24 h 14 min.
QUARTER_HOUR = 15
MINUTES_TO_DECIDE = WholeMinutes(elapsed("decided_at", "submitted_at"), step=QUARTER_HOUR)


def build(period: Period, now: datetime) -> Page:
    return Page(
        "Review promise", [_promise(period, now), _open_now(period, now), _disputes(period, now)]
    )


def _promise(period: Period, now: datetime) -> Section:
    hours = params().review_hours
    by_day, minutes = _promise_figures(period, now)
    zero = {"counted": 0, "in_24": 0, "in_window": 0}
    total = {key: sum(row[key] for row in by_day.values()) for key in zero}
    rows, shares = [], []
    for day in period.days:
        row = by_day.get(day, zero)
        share = round(100 * row["in_24"] / row["counted"], 1) if row["counted"] else None
        shares.append(share)
        rows.append(
            [
                day.isoformat(),
                row["counted"],
                row["in_24"],
                "" if share is None else share,
                row["in_window"],
            ]
        )
    median, p95 = _minutes(nearest_rank(minutes, 0.5)), _minutes(nearest_rank(minutes, 0.95))
    overall = share_text(total["in_24"], total["counted"])
    figures = [
        Figure(
            "Decided within 24 hours",
            overall,
            f"{total['in_24']} of {total['counted']} requests",
            level=""
            if not total["counted"]
            else ("ok" if total["in_24"] == total["counted"] else "warn"),
        ),
        Figure(
            f"Within the review window ({hours} h)",
            share_text(total["in_window"], total["counted"]),
            f"{total['in_window']} of {total['counted']}",
        ),
        Figure("Median time to a decision", hours_text(median)),
        Figure("95th percentile", hours_text(p95)),
    ]
    chart = svg.bars(
        "Share decided within 24 hours, by day of submission",
        [day.strftime("%b %-d") for day in period.days],
        shares,
        y_label="Decided within 24 h",
        x_label=f"Day submitted ({period.zone_name})",
        target=100,
    )
    return Section(
        "Decided within 24 hours",
        figures=figures,
        chart=chart,
        tables=[
            Table(
                "promise_by_day",
                "By day of submission",
                [
                    "day",
                    "requests",
                    "decided within 24 h",
                    "share %",
                    f"decided within the review window ({hours} h)",
                ],
                rows,
                note="Requests whose outcome is known (decided, or open past 24 hours); "
                "withdrawn requests and automatic decisions left out.",
            ),
            Table(
                "decision_time",
                "Time to a decision",
                ["requests decided", "median hours", "95th percentile hours"],
                [[sum(minutes.values()), _hours(median), _hours(p95)]],
                note="Nearest-rank percentiles of the time from submission to the first "
                "decision, rounded down to the quarter hour.",
            ),
        ],
    )


def _promise_figures(period: Period, now: datetime) -> tuple[dict[date, dict], dict[int, int]]:
    """Per day of the period, the counted requests and those decided in time; and the
    histogram of the time to a decision in quarter hours (its first minute -> requests).

    Days that have closed out (every request submitted on them decided or past 24 hours) are
    read from the daily roll-ups once built (refunds/analytics/rollups.py); the others, today
    and yesterday at least, are counted live from the requests. Both give the same figures.
    """
    rolled = rolled_up_days(period, now)
    live = [day for day in period.days if day not in rolled]
    by_day: dict[date, dict] = {}
    minutes: Counter[int] = Counter()
    if live:
        # One pass over the live days' counted requests (and the rules' decisions of those
        # days): each group says whether its requests were in time, and their quarter hour.
        since = datetime.combine(min(live), time.min, tzinfo=period.zone)
        requests = reviewed_where(period.requests() & _days_q(live, period.zone), since)
        flags = {
            "is_in_24": Q(decided_at__lte=F("submitted_at") + PROMISE),
            "is_in_window": Q(decided_at__lte=F("due_at")),
        }
        for row in (
            requests.filter(settled(now))
            .annotate(
                day=TruncDate("submitted_at", tzinfo=period.zone),
                minutes=MINUTES_TO_DECIDE,
                **{
                    name: ExpressionWrapper(q, output_field=BooleanField())
                    for name, q in flags.items()
                },
            )
            .values("day", "minutes", *flags)
            .annotate(n=Count("id"))
            .order_by()
        ):
            n = row["n"]
            if row["minutes"] is not None:  # decided
                minutes[row["minutes"]] += n
            counts = by_day.setdefault(row["day"], {"counted": 0, "in_24": 0, "in_window": 0})
            counts["counted"] += n
            counts["in_24"] += n if row["is_in_24"] else 0
            counts["in_window"] += n if row["is_in_window"] else 0
    if rolled:
        rollups = _rollup_filter(period, rolled)
        for row in (
            PromiseRollup.objects.filter(rollups)
            .values("day")
            .annotate(
                counted=Sum("requests"), in_24=Sum("within_24h"), in_window=Sum("within_window")
            )
            .order_by()
        ):
            by_day[row.pop("day")] = row
        for row in (
            DecisionTimeRollup.objects.filter(rollups)
            .values("minutes")
            .annotate(n=Sum("requests"))
            .order_by()
        ):
            minutes[row["minutes"]] += row["n"]
    return by_day, dict(minutes)


def rolled_up_days(period: Period, now: datetime) -> set[date]:
    """The period's days that have closed out at `now` and whose roll-ups were built since.

    None with a market chosen: the roll-ups count UTC days, and a market's page counts its own
    local days, live from its requests."""
    if period.market is not None:
        return set()
    built = RollupDay.objects.filter(day__gte=period.first, day__lte=period.last).values_list(
        "day", "built_at"
    )
    return {day for day, at in built if at >= closes_at(day) and closes_at(day) <= now}


def closes_at(day: date) -> datetime:
    """When every request submitted on `day` (UTC) is decided or past the 24-hour promise, so
    that the day's figures change only when a request of it changes."""
    return datetime.combine(day + DAY, time.min, tzinfo=UTC) + PROMISE


def _days_q(days: list[date], zone: tzinfo) -> Q:
    """Submitted on one of `days` in `zone`, as one range per run of consecutive days."""
    q = Q()
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][-1] == DAY:
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        start = datetime.combine(run[0], time.min, tzinfo=zone)
        end = datetime.combine(run[-1] + DAY, time.min, tzinfo=zone)
        q |= Q(submitted_at__gte=start, submitted_at__lt=end)
    return q


def _rollup_filter(period: Period, days: set[date]) -> Q:
    q = Q(day__gte=min(days), day__lte=max(days))
    missing = [day for day in period.days if min(days) <= day <= max(days) and day not in days]
    if missing:
        q &= ~Q(day__in=missing)
    if period.market is None and period.category is None:
        return q & Q(total=True)
    q &= Q(total=False)
    if period.market is not None:
        q &= Q(market=period.market)
    if period.category is not None:
        q &= Q(category=period.category)
    return q


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _hours(value: timedelta | None) -> Hours | str:
    return "" if value is None else Hours(value.total_seconds() / 3600)


def _open_now(period: Period, now: datetime) -> Section:
    open_now = RefundRequest.objects.filter(period.requests(), status__in=OPEN_STATUSES)
    counts = {}
    for low, high in AGE_BUCKETS:
        q = Q(submitted_at__lte=now - timedelta(hours=low))
        if high is not None:
            q &= Q(submitted_at__gt=now - timedelta(hours=high))
        counts[f"b{low}"] = Count("id", filter=q)
    counts["overdue"] = Count("id", filter=Q(due_at__lt=now))
    found = open_now.aggregate(**counts)
    labels = [f"{low}–{high} h" if high else f"over {low} h" for low, high in AGE_BUCKETS]
    values = [found[f"b{low}"] for low, _ in AGE_BUCKETS]
    return Section(
        "Open requests now, by age",
        figures=[
            Figure("Open now", str(sum(values))),
            Figure(
                "Overdue now", str(found["overdue"]), level="late" if found["overdue"] else "ok"
            ),
        ],
        chart=svg.hbars(
            "Open requests by age", labels, values, x_label="Requests waiting", late_from=4
        ),
        tables=[
            Table(
                "open_by_age",
                "Open requests by age",
                ["age", "requests"],
                [list(r) for r in zip(labels, values, strict=True)],
            )
        ],
        note="Now, whatever the period; the market and category filters apply.",
    )


def _disputes(period: Period, now: datetime) -> Section:
    hours = params().dispute_hours
    disputes = Dispute.objects.filter(
        period.requests("request__"), opened_at__gte=period.start, opened_at__lt=period.end
    )
    answered = Q(resolution__isnull=False)
    settled = answered | Q(due_at__lte=now)
    # The answer's time looked up per dispute (its primary key), not joined: a join reads every
    # decision ever made.
    in_time = Exists(
        Decision.objects.filter(pk=OuterRef("resolution_id"), decided_at__lte=OuterRef("due_at"))
    )
    found = disputes.aggregate(
        opened=Count("id"),
        answered=Count("id", filter=answered),
        settled=Count("id", filter=settled),
        in_time=Count("id", filter=in_time),
    )
    took = elapsed("resolution__decided_at", "opened_at")
    median = percentile(disputes.filter(answered), took, 0.5)
    return Section(
        "Disputes",
        figures=[
            Figure(
                f"Answered within {hours} hours",
                share_text(found["in_time"], found["settled"]),
                f"{found['in_time']} of {found['settled']} whose answer is due",
            ),
            Figure("Median time to answer", hours_text(median)),
            Figure("Opened in the period", str(found["opened"])),
        ],
        tables=[
            Table(
                "disputes",
                "Disputes opened in the period",
                [
                    "opened",
                    "answered",
                    f"answered within {hours} h",
                    "due or answered",
                    "median hours to answer",
                ],
                [
                    [
                        found["opened"],
                        found["answered"],
                        found["in_time"],
                        found["settled"],
                        _hours(median),
                    ]
                ],
            )
        ],
    )
