"""The daily roll-ups the Review promise page reads for closed-out days, and how they are kept.

A day (UTC) closes out 24 hours after it ends: every request submitted on it is decided or past
the promise, so its figures no longer move with the clock, only when one of its requests
changes. `rebuild()` builds each day whole (its rows deleted and counted again from the
requests, with the page's own definitions in refunds/analytics/promise.py), so building a day
twice gives the same rows. Each day has its sums (PromiseRollup) and a histogram of the time
to a decision in quarter hours (DecisionTimeRollup: at most 96 rows within the promise, a few
beyond, whatever the day's volume), which the page's percentiles read. It runs from the
worker's schedule (refunds.tasks.rebuild_rollups) and from `manage.py rebuild_rollups --since`.

What it rebuilds: every closed-out day not built yet (the day that just closed out, or all of
history the first time), and every built day with a request that changed since the last build,
found in the requests' event history (every change of state through refunds/services writes an
event: a late decision, an undo, a withdrawal, a dispute's overturn or upholding). The page
counts live any day without a roll-up, so a missing or late build is slower, never wrong.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate

from refunds.analytics.promise import (
    COUNTS,
    DAY,
    MINUTES_TO_DECIDE,
    closes_at,
    reviewed_where,
    settled,
)
from refunds.models import (
    DecisionTimeRollup,
    PromiseRollup,
    RefundEvent,
    RefundRequest,
    RollupDay,
)

# Events are looked for from a little before the last build: a change whose transaction was
# still open when that build read the day is seen by the next one.
OVERLAP = timedelta(minutes=15)
# The first build reaches this far back at most (the pages' longest period).
HISTORY_DAYS = 400


def last_closed_day(now: datetime) -> date:
    """The latest day that has closed out at `now`."""
    day = now.astimezone(UTC).date()
    while closes_at(day) > now:
        day -= DAY
    return day


def rebuild(now: datetime, since: date | None = None) -> list[date]:
    """Build the roll-ups that are missing or out of date at `now`; with `since`, also every
    closed-out day from `since` on. Returns the days built."""
    through = last_closed_day(now)
    last = RollupDay.objects.aggregate(built_at=Max("built_at"), day=Max("day"))
    days: set[date] = set()
    if last["built_at"] is not None:
        days |= changed_days(last["built_at"] - OVERLAP, through)
    if since is None:
        if last["day"] is not None:
            since = last["day"] + DAY
        else:
            first = RefundRequest.objects.aggregate(at=Min("submitted_at"))["at"]
            oldest = through - timedelta(days=HISTORY_DAYS)
            since = max(first.astimezone(UTC).date(), oldest) if first else through + DAY
    day = since
    while day <= through:
        days.add(day)
        day += DAY
    for day in sorted(days):
        build_day(day, now)
    return sorted(days)


def changed_days(since: datetime, through: date) -> set[date]:
    """Closed-out days with a request whose history has an event from `since` on."""
    end = datetime.combine(through + DAY, time.min, tzinfo=UTC)
    return set(
        RefundEvent.objects.filter(created_at__gte=since, request__submitted_at__lt=end)
        .annotate(day=TruncDate("request__submitted_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )


def build_day(day: date, now: datetime) -> None:
    """Count `day` again from its requests: one row per market and category that had any and
    one for the whole day, each with its histogram of minutes to a decision. A day with no
    request keeps only its RollupDay."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    requests = reviewed_where(Q(submitted_at__gte=start, submitted_at__lt=start + DAY), start)
    keys = ("market", "lead__category")
    with transaction.atomic():
        marker, _ = RollupDay.objects.get_or_create(day=day, defaults={"built_at": now})
        # One build of a day at a time (the schedule and the command may meet).
        RollupDay.objects.select_for_update().filter(pk=marker.pk).get()
        PromiseRollup.objects.filter(day=day).delete()
        DecisionTimeRollup.objects.filter(day=day).delete()
        times = [
            DecisionTimeRollup(
                day=day,
                market_id=row["market"],
                category_id=row["lead__category"],
                minutes=row["minutes"],
                requests=row["n"],
            )
            for row in requests.filter(decided_at__isnull=False)
            .annotate(minutes=MINUTES_TO_DECIDE)
            .values(*keys, "minutes")
            .annotate(n=Count("id"))
            .order_by()
        ]
        decided: Counter[tuple] = Counter()
        whole_day: Counter[int] = Counter()
        for row in times:
            decided[(row.market_id, row.category_id)] += row.requests
            whole_day[row.minutes] += row.requests
        counts = [
            PromiseRollup(
                day=day,
                market_id=row["market"],
                category_id=row["lead__category"],
                requests=row["counted"],
                within_24h=row["in_24"],
                within_window=row["in_window"],
                decided=decided.get((row["market"], row["lead__category"]), 0),
            )
            for row in requests.filter(settled(now)).values(*keys).annotate(**COUNTS).order_by()
        ]
        if counts:
            # The day over every market and category: the pages' default view reads one row
            # per day and the day's histogram instead of every market's and category's.
            counts.append(
                PromiseRollup(
                    day=day,
                    total=True,
                    requests=sum(row.requests for row in counts),
                    within_24h=sum(row.within_24h for row in counts),
                    within_window=sum(row.within_window for row in counts),
                    decided=sum(decided.values()),
                )
            )
            times += [
                DecisionTimeRollup(day=day, total=True, minutes=minutes, requests=n)
                for minutes, n in sorted(whole_day.items())
            ]
        PromiseRollup.objects.bulk_create(counts)
        DecisionTimeRollup.objects.bulk_create(times)
        RollupDay.objects.filter(pk=marker.pk).update(built_at=now)
