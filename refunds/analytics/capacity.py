"""Capacity: when requests arrive and when reviewers decide, who decides how many and how fast,
what the automatic rules take off the queue, and the reviewer time the promise needs."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from accounts.models import User
from refunds.analytics import svg
from refunds.analytics.figures import Figure, Page, Section, Table, elapsed, percentile, share_text
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, Outcome
from refunds.models import Decision, RefundEvent, RefundRequest
from refunds.policy import RULE_LABELS
from refunds.services.queries import AUTOMATIC_KINDS

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]  # ISO weekdays 1 to 7
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOURS = [f"{hour:02d}" for hour in range(24)]
PLAN_DAYS = 28
PEER_RULE = "Automatic denial: peer refund rate"


def build(period: Period, now: datetime) -> Page:
    return Page(
        "Capacity",
        [
            _arrivals(period),
            _decisions(period),
            _reviewers(period),
            _automatic(period),
            _reviewer_hours(period, now),
        ],
    )


# Hours of the week


def by_hour_of_week(queryset: QuerySet, field: str, zone: tzinfo) -> list[list[int]]:
    """Rows of `queryset` per weekday (Monday first) and hour in `zone`: 7 lists of 24 counts.

    Django's ISO weekday is 1 = Monday on every engine (SQLite's strftime and PostgreSQL's
    EXTRACT(DOW) differ; Django's functions hide that)."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    cells = (
        queryset.annotate(
            weekday=ExtractIsoWeekDay(field, tzinfo=zone), hour=ExtractHour(field, tzinfo=zone)
        )
        .values("weekday", "hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    for cell in cells:
        grid[cell["weekday"] - 1][cell["hour"]] = cell["n"]
    return grid


def arrivals(period: Period) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(
        period.requests(), submitted_at__gte=period.start, submitted_at__lt=period.end
    )


def reviewers_decisions(period: Period, start: datetime, end: datetime) -> QuerySet[Decision]:
    """Reviewers' standing decisions between `start` and `end`, each with `claimed_at`: when the
    reviewer last claimed the request before deciding it (None when decided without a claim)."""
    claim = (
        RefundEvent.objects.filter(
            request=OuterRef("request"),
            actor=OuterRef("decided_by"),
            action="claim",
            created_at__lte=OuterRef("decided_at"),
        )
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return (
        Decision.objects.standing()
        .filter(
            period.requests("request__"),
            kind=DecisionKind.REVIEW,
            decided_by__isnull=False,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .annotate(claimed_at=Subquery(claim))
    )


def _grid_table(name: str, title: str, grid: list[list[int]], note: str) -> Table:
    rows = [[day, *row, sum(row)] for day, row in zip(WEEKDAYS, grid, strict=True)]
    hourly = [sum(column) for column in zip(*grid, strict=True)]
    rows.append(["all days", *hourly, sum(hourly)])
    return Table(name, title, ["weekday", *HOURS, "total"], rows, note=note)


def _busiest(grid: list[list[int]]) -> Figure:
    value, day, hour = max((v, d, h) for d, row in enumerate(grid) for h, v in enumerate(row))
    if not value:
        return Figure("Busiest hour", "—")
    return Figure("Busiest hour", f"{WEEKDAYS[day]} {hour:02d}:00", f"{value} in the period")


def _arrivals(period: Period) -> Section:
    grid = by_hour_of_week(arrivals(period), "submitted_at", period.zone)
    total = sum(map(sum, grid))
    return Section(
        "Requests arriving, by hour of the week",
        figures=[Figure("Requests arrived", str(total)), _busiest(grid)],
        chart=svg.heatmap(
            "Requests arriving per hour of the week",
            WEEKDAYS,
            HOURS,
            grid,
            x_label=f"Hour of the day ({period.zone_name})",
            y_label="Weekday",
            unit="requests",
        ),
        tables=[
            _grid_table(
                "arrivals_by_hour",
                f"Requests arriving per weekday and hour ({period.zone_name})",
                grid,
                "Every request submitted in the period, whoever decided it.",
            )
        ],
        note=f"Hours and weekdays in {period.zone_name}. Each cell counts the period's requests "
        "submitted in that hour, on every such weekday of the period together.",
    )


def _decisions(period: Period) -> Section:
    decided = reviewers_decisions(period, period.start, period.end)
    grid = by_hour_of_week(decided, "decided_at", period.zone)
    total = sum(map(sum, grid))
    return Section(
        "Reviewers' decisions, by hour of the week",
        figures=[Figure("Decisions by reviewers", str(total)), _busiest(grid)],
        chart=svg.heatmap(
            "Reviewers' decisions per hour of the week",
            WEEKDAYS,
            HOURS,
            grid,
            x_label=f"Hour of the day ({period.zone_name})",
            y_label="Weekday",
            unit="decisions",
        ),
        tables=[
            _grid_table(
                "decisions_by_hour",
                f"Reviewers' decisions per weekday and hour ({period.zone_name})",
                grid,
                "Decisions a reviewer made in the period and did not undo; automatic decisions "
                "(made the moment a request arrives) and dispute answers left out.",
            )
        ],
    )


# Reviewers


def minutes(value: timedelta | None) -> float | str:
    return "" if value is None else round(value.total_seconds() / 60, 1)


def _reviewers(period: Period) -> Section:
    decided = reviewers_decisions(period, period.start, period.end)
    claimed = decided.filter(claimed_at__isnull=False)
    handling = elapsed("decided_at", "claimed_at")
    per_reviewer = list(
        decided.values("decided_by")
        .annotate(
            n=Count("id"),
            approved=Count("id", filter=Q(outcome=Outcome.APPROVED)),
            denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
        )
        .order_by("-n", "decided_by")
    )
    claims = dict(claimed.values_list("decided_by").annotate(n=Count("id")).order_by())
    people = User.objects.in_bulk([row["decided_by"] for row in per_reviewer])
    rows, labels, values, texts = [], [], [], []
    for row in per_reviewer:  # a handful of reviewers: one median each
        reviewer = people[row["decided_by"]]
        median = percentile(claimed.filter(decided_by=reviewer), handling, 0.5)
        name = reviewer.get_full_name() or reviewer.email
        rows.append(
            [
                name,
                row["n"],
                row["approved"],
                row["denied"],
                claims.get(reviewer.pk, 0),
                minutes(median),
            ]
        )
        labels.append(name)
        values.append(row["n"])
        texts.append(
            f"{row['n']} · " + (f"{minutes(median)} min" if median is not None else "no claims")
        )
    overall = percentile(claimed, handling, 0.5)
    total = sum(row["n"] for row in per_reviewer)
    if per_reviewer:
        rows.append(
            [
                "all reviewers",
                total,
                sum(r[2] for r in rows),
                sum(r[3] for r in rows),
                sum(r[4] for r in rows),
                minutes(overall),
            ]
        )
    return Section(
        "Decisions per reviewer",
        figures=[
            Figure("Reviewers deciding", str(len(per_reviewer))),
            Figure(
                "Median handling time",
                "—" if overall is None else f"{minutes(overall)} min",
                f"claim to decision, {sum(claims.values())} decisions after a claim",
            ),
        ],
        chart=svg.hbars(
            "Decisions per reviewer, with the median handling time",
            labels,
            values,
            x_label="Decisions in the period · median minutes from claim to decision",
            label_width=150,
            value_labels=texts,
        )
        if per_reviewer
        else "",
        tables=[
            Table(
                "reviewers",
                "Decisions per reviewer",
                [
                    "reviewer",
                    "decisions",
                    "approved",
                    "denied",
                    "decided after claiming",
                    "median minutes, claim to decision",
                ],
                rows,
                note="Handling time runs from the reviewer's last claim of the request to their "
                "decision; a decision made without claiming has none. Medians are nearest-rank.",
            )
        ],
    )


# Automatic decisions


def _decider(kind: str, rule: str) -> str:
    if kind == DecisionKind.AUTO_APPROVAL:
        return f"Automatic approval: {RULE_LABELS.get(rule, rule or 'no rule named')}"
    if kind == DecisionKind.AUTOMATIC:
        return PEER_RULE
    if kind == DecisionKind.DISPUTE:
        return "Support, answering a dispute"
    return "Reviewers"


def _automatic(period: Period) -> Section:
    grouped = (
        Decision.objects.standing()
        .filter(
            period.requests("request__"), decided_at__gte=period.start, decided_at__lt=period.end
        )
        .values("kind", "rule")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, int] = {}
    for row in grouped:
        who = _decider(row["kind"], row["rule"])
        counts[who] = counts.get(who, 0) + row["n"]
    rules = [_decider(DecisionKind.AUTO_APPROVAL, rule) for rule in RULE_LABELS] + [PEER_RULE]
    rules += sorted(k for k in counts if k.startswith("Automatic") and k not in rules)
    people = ["Reviewers", "Support, answering a dispute"]
    total = sum(counts.values())
    automatic = sum(counts.get(rule, 0) for rule in rules)

    def pct(n: int) -> float | str:
        return round(100 * n / total, 1) if total else ""

    rows = [[who, counts.get(who, 0), pct(counts.get(who, 0))] for who in rules + people]
    rows.append(["all decisions", total, pct(total)])
    return Section(
        "Automatic decisions, by rule",
        figures=[
            Figure(
                "Decided automatically",
                share_text(automatic, total),
                f"{automatic} of {total} decisions",
            )
        ],
        chart=svg.hbars(
            "Decisions by who or what made them",
            [row[0] for row in rows[:-1]],
            [row[1] for row in rows[:-1]],
            x_label="Decisions in the period · share of all decisions",
            label_width=160,
            value_labels=[f"{row[1]} · {share_text(row[1], total)}" for row in rows[:-1]],
        )
        if total
        else "",
        tables=[
            Table(
                "automatic_by_rule",
                "Decisions by who or what made them",
                ["decided by", "decisions", "share of all decisions %"],
                rows,
                note="Every decision made in the period that still stands (an undone one does "
                "not count).",
            )
        ],
    )


# What the promise needs


def _hours(minutes: float) -> str:
    """Reviewer-hours to one decimal, or two below a tenth (so a small need is not shown as 0)."""
    hours = minutes / 60
    return f"{hours:.1f}" if hours >= 0.1 or not hours else f"{hours:.2f}"


def _reviewer_hours(period: Period, now: datetime) -> Section:
    end = min(now, period.end)
    start = end - timedelta(days=PLAN_DAYS)
    arrived = RefundRequest.objects.filter(
        period.requests(), submitted_at__gte=start, submitted_at__lt=end
    )
    automatic = Decision.objects.standing().filter(request=OuterRef("pk"), kind__in=AUTOMATIC_KINDS)
    found = arrived.aggregate(n=Count("id"), automatic=Count("id", filter=Q(Exists(automatic))))
    n, auto = found["n"], found["automatic"]
    claimed = reviewers_decisions(period, start, end).filter(claimed_at__isnull=False)
    median = percentile(claimed, elapsed("decided_at", "claimed_at"), 0.5)
    handled = claimed.count() if median is not None else 0
    weekdays = by_hour_of_week(arrived, "submitted_at", period.zone)
    # The first of equally busy weekdays.
    busiest_count, busiest_day = max((sum(row), -day) for day, row in enumerate(weekdays))
    busiest_day = -busiest_day

    per_day = n / PLAN_DAYS
    people = (n - auto) / PLAN_DAYS
    auto_pct = 100 * auto / n if n else 0.0
    zone = period.zone
    span = f"{start.astimezone(zone):%b %-d %H:%M} – {end.astimezone(zone):%b %-d %H:%M} "
    span += period.zone_name
    rows = [
        ["requests arrived in 28 days", n, span],
        ["requests a day", round(per_day, 1), f"{n} ÷ {PLAN_DAYS}"],
        ["decided automatically %", round(auto_pct, 1), f"{auto} of {n}"],
        ["requests a day for people", round(people, 1), f"({n} − {auto}) ÷ {PLAN_DAYS}"],
    ]
    if not n:
        value, said = "0 min", "No requests arrived in the last 4 weeks: nobody is needed for them."
    elif median is None:
        value = "—"
        said = (
            f"{n} requests in {PLAN_DAYS} days = {per_day:.1f} a day; minus {auto_pct:.0f}% "
            f"decided automatically = {people:.1f} for people; no reviewer claimed a request "
            "before deciding it in those 4 weeks, so there is no handling time to multiply by."
        )
    else:
        handling = median.total_seconds() / 60
        needed = people * handling
        busy = busiest_count / 4 * (1 - auto / n) * handling
        value = f"{needed / 60:.1f} h" if needed >= 60 else f"{needed:.0f} min"
        said = (
            f"{n} requests in {PLAN_DAYS} days = {per_day:.1f} a day; minus {auto_pct:.0f}% "
            f"decided automatically = {people:.1f} for people; × {handling:.1f} min median "
            f"handling = {needed:.0f} min = {_hours(needed)} reviewer-hours a day. "
            f"On {DAY_NAMES[busiest_day]}s, the busiest weekday ({busiest_count} in 4 weeks = "
            f"{busiest_count / 4:.1f} a day): {_hours(busy)} reviewer-hours."
        )
        rows += [
            [
                "median handling minutes",
                round(handling, 1),
                f"claim to decision: the median of the {handled} decisions reviewers made "
                "after claiming, in the same 28 days",
            ],
            ["reviewer-minutes a day", round(needed), f"{people:.1f} × {handling:.1f}"],
            ["reviewer-hours a day", float(_hours(needed)), f"{needed:.0f} ÷ 60"],
            [
                f"reviewer-hours on {DAY_NAMES[busiest_day]}s (busiest)",
                float(_hours(busy)),
                f"{busiest_count} ÷ 4 × (1 − {auto_pct:.0f}%) × {handling:.1f} ÷ 60",
            ],
        ]
    return Section(
        "Reviewer time the promise needs",
        figures=[Figure("Reviewer time a day to keep the promise", value, said)],
        tables=[
            Table(
                "reviewer_hours",
                "How the reviewer-hours are worked out",
                ["step", "figure", "how"],
                rows,
            )
        ],
        note=f"From the 4 weeks up to the end of the period ({span}), with the market and "
        "category filters. Handling time is a person's attention on one request; breaks, "
        "disputes and spot checks come on top, so staff above it.",
    )
