"""Review promise: is every request decided within 24 hours, and how long do decisions take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from refunds.analytics import svg
from refunds.analytics.figures import (
    Figure,
    Page,
    Section,
    Table,
    elapsed,
    hours_text,
    percentile,
    share_text,
)
from refunds.analytics.period import Period
from refunds.choices import OPEN_STATUSES, Status
from refunds.models import Dispute, RefundRequest
from refunds.services import params
from refunds.services.queries import AUTOMATIC_KINDS

PROMISE = timedelta(hours=24)
AGE_BUCKETS = [(0, 4), (4, 12), (12, 20), (20, 24), (24, None)]


def reviewed(period: Period):
    """Requests submitted in the period that a person had to decide: withdrawn requests and
    automatic decisions are left out, as in the queue's banner."""
    return (
        RefundRequest.objects.filter(
            period.requests(), submitted_at__gte=period.start, submitted_at__lt=period.end
        )
        .exclude(status=Status.WITHDRAWN)
        .exclude(decisions__kind__in=AUTOMATIC_KINDS)
    )


def build(period: Period, now: datetime) -> Page:
    return Page(
        "Review promise", [_promise(period, now), _open_now(period, now), _disputes(period, now)]
    )


def _promise(period: Period, now: datetime) -> Section:
    hours = params().review_hours
    # Counted once the outcome is known: decided, or past the promise while still open.
    settled = Q(decided_at__isnull=False) | Q(submitted_at__lte=now - PROMISE)
    in_24 = Q(decided_at__lte=F("submitted_at") + PROMISE)
    in_window = Q(decided_at__lte=F("due_at"))
    base = reviewed(period).filter(settled)
    by_day = {
        row["day"]: row
        for row in base.annotate(day=TruncDate("submitted_at", tzinfo=UTC))
        .values("day")
        .annotate(
            counted=Count("id"),
            in_24=Count("id", filter=in_24),
            in_window=Count("id", filter=in_window),
        )
        .order_by("day")
    }
    total = base.aggregate(
        counted=Count("id"),
        in_24=Count("id", filter=in_24),
        in_window=Count("id", filter=in_window),
    )
    rows, shares = [], []
    for day in period.days:
        row = by_day.get(day, {"counted": 0, "in_24": 0, "in_window": 0})
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
    decided = reviewed(period).filter(decided_at__isnull=False)
    took = elapsed("decided_at", "submitted_at")
    median, p95 = percentile(decided, took, 0.5), percentile(decided, took, 0.95)
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
        x_label="Day submitted (UTC)",
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
                [[decided.count(), _hours(median), _hours(p95)]],
            ),
        ],
    )


def _hours(value: timedelta | None):
    return "" if value is None else round(value.total_seconds() / 3600, 2)


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
    found = disputes.aggregate(
        opened=Count("id"),
        answered=Count("id", filter=answered),
        settled=Count("id", filter=settled),
        in_time=Count("id", filter=answered & Q(resolution__decided_at__lte=F("due_at"))),
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
