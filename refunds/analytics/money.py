"""Money: what was credited each week, to balances and to cards, what changed after the
decision (top-ups after a dispute, reversals after the conversation resumed), and the credits
not done yet."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, DecimalField, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.urls import reverse

from leads.choices import PaymentMethod
from refunds import services
from refunds.analytics import svg
from refunds.analytics.figures import Figure, Page, Section, Table, money_text, share_text
from refunds.analytics.period import Period
from refunds.choices import CreditStatus
from refunds.models import Credit, CreditReversal, CreditTopUp

# Wide enough for any total: the credit's own field holds one amount (8 digits), and SQLite's
# decimal converter would refuse a sum with more digits than the field it reads.
TOTAL = DecimalField(max_digits=14, decimal_places=2)
METHODS = (PaymentMethod.BALANCE, PaymentMethod.CARD)


def credited(period: Period) -> QuerySet[Credit]:
    """Credits paid (posted to the balance, or accepted by the card's payment provider) in the
    period."""
    return Credit.objects.filter(
        period.requests("request__"),
        status=CreditStatus.POSTED,
        posted_at__gte=period.start,
        posted_at__lt=period.end,
    )


def by_method() -> dict:
    """Count and amount per payment method, as conditional aggregates."""
    counts = {}
    for method in METHODS:
        paid = Q(method=method)
        counts[f"{method}_n"] = Count("id", filter=paid)
        counts[f"{method}_amount"] = Sum("amount", filter=paid, output_field=TOTAL)
    return counts


def weeks(period: Period) -> list[date]:
    """The Mondays of the ISO weeks the period touches, first to last."""
    monday = period.first - timedelta(days=period.first.weekday())
    return [monday + timedelta(weeks=n) for n in range((period.last - monday).days // 7 + 1)]


def _credits(n: int) -> str:
    return f"{n} credit" if n == 1 else f"{n} credits"


def credits_list(**query: str) -> str:
    return f"{reverse('admin:refunds_credit_changelist')}?{urlencode(query)}"


def build(period: Period, now: datetime) -> Page:
    return Page(
        "Money",
        [
            _per_week(period),
            _balance_and_card(period),
            _after_the_decision(period),
            _not_done(period, now),
        ],
    )


def _per_week(period: Period) -> Section:
    found = {
        row["week"].date(): row
        for row in credited(period)
        .annotate(week=TruncWeek("posted_at", tzinfo=period.zone))
        .values("week")
        .annotate(**by_method())
        .order_by("week")
    }
    rows, series = [], {method: [] for method in METHODS}
    for monday in weeks(period):
        row = found.get(monday, {})
        cells = [monday.isoformat()]
        total = 0
        for method in METHODS:
            amount = row.get(f"{method}_amount") or 0
            series[method].append(amount)
            cells += [row.get(f"{method}_n", 0), money_text(amount)]
            total += amount
        rows.append([*cells, money_text(total)])
    chart = svg.stacked_bars(
        "Credited per week, to balances and to cards",
        [f"{monday:%b %-d}" for monday in weeks(period)],
        [(method.label, series[method]) for method in METHODS],
        y_label="Credited ($)",
        x_label=f"Week starting (Monday, {period.zone_name})",
    )
    columns = ["week starting"]
    for method in METHODS:
        columns += [f"{method.label.lower()} credits", f"{method.label.lower()} amount"]
    return Section(
        "Credited per week",
        chart=chart,
        note="Credits paid in the period, by the ISO week they were paid in (a card refund once "
        "the payment provider accepted it). The first and last weeks count only the days in "
        "the period.",
        tables=[Table("credited_by_week", "Credited per week", [*columns, "total"], rows)],
    )


def _balance_and_card(period: Period) -> Section:
    found = credited(period).aggregate(**by_method())
    paid = {method: (found[f"{method}_n"], found[f"{method}_amount"] or 0) for method in METHODS}
    count = sum(n for n, _ in paid.values())
    total = sum(amount for _, amount in paid.values())

    def row(label: str, n: int, amount) -> list:
        share = round(100 * amount / total, 1) if total else ""
        return [label, n, money_text(amount), share, money_text(amount / n) if n else ""]

    figures = [Figure("Credited in the period", money_text(total), _credits(count))]
    for method, (n, amount) in paid.items():
        note = f"{share_text(amount, total)} of the amount, {_credits(n)}"
        figures.append(Figure(f"To {method.label.lower()}s", money_text(amount), note))
    return Section(
        "Balance versus card",
        figures=figures,
        note="Each credit goes back the way the lead was paid for: a prepaid balance at once, a "
        "card through the payment provider.",
        tables=[
            Table(
                "credited_by_method",
                "Credited, balance versus card",
                ["paid back to", "credits", "amount", "share of amount %", "average credit"],
                [*(row(m.label, *paid[m]) for m in METHODS), row("All", count, total)],
            )
        ],
    )


def topped_up(period: Period) -> QuerySet[CreditTopUp]:
    """Top-ups paid in the period: the rest of a partial credit, after support overturned it."""
    return CreditTopUp.objects.filter(
        period.requests("credit__request__"),
        status=CreditStatus.POSTED,
        posted_at__gte=period.start,
        posted_at__lt=period.end,
    )


def reversed_(period: Period) -> QuerySet[CreditReversal]:
    """Credits support reversed in the period (taken back from the pro's balance)."""
    return CreditReversal.objects.filter(
        period.requests("credit__request__"),
        reversed_at__gte=period.start,
        reversed_at__lt=period.end,
    )


def _after_the_decision(period: Period) -> Section:
    totals = {"n": Count("id"), "amount": Sum("amount", output_field=TOTAL)}
    week = {"week": TruncWeek("posted_at", tzinfo=period.zone)}
    ups = {
        row["week"].date(): row
        for row in topped_up(period).annotate(**week).values("week").annotate(**totals)
    }
    week = {"week": TruncWeek("reversed_at", tzinfo=period.zone)}
    downs = {
        row["week"].date(): row
        for row in reversed_(period).annotate(**week).values("week").annotate(**totals)
    }
    paid = credited(period).aggregate(**totals)
    rows, sums = [], {"up_n": 0, "up": 0, "down_n": 0, "down": 0}
    for monday in weeks(period):
        up, down = ups.get(monday, {}), downs.get(monday, {})
        up_n, up_amount = up.get("n", 0), up.get("amount") or 0
        down_n, down_amount = down.get("n", 0), down.get("amount") or 0
        sums = {
            "up_n": sums["up_n"] + up_n,
            "up": sums["up"] + up_amount,
            "down_n": sums["down_n"] + down_n,
            "down": sums["down"] + down_amount,
        }
        rows.append(
            [
                monday.isoformat(),
                up_n,
                money_text(up_amount),
                down_n,
                money_text(down_amount),
                money_text(up_amount - down_amount),
            ]
        )
    credited_amount = paid["amount"] or 0
    net = credited_amount + sums["up"] - sums["down"]

    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    return Section(
        "Topped up and reversed",
        figures=[
            Figure(
                "Topped up after a dispute",
                money_text(sums["up"]),
                count(sums["up_n"], "top-up", "top-ups"),
                link=credits_list(after="topped_up"),
            ),
            Figure(
                "Reversed after the conversation resumed",
                money_text(sums["down"]),
                count(sums["down_n"], "reversal", "reversals"),
                link=credits_list(after="reversed"),
            ),
            Figure(
                "Net refunded in the period",
                money_text(net),
                f"{money_text(credited_amount)} credited, plus top-ups, less reversals",
            ),
        ],
        note="What changed after the first payment: the rest of a partial credit paid when "
        "support overturned it (to the balance or the card it went to, by the week it was paid), "
        "and credits support took back from the pro's balance because the conversation went on "
        "after them (by the week of the reversal). The tables above count first payments only.",
        tables=[
            Table(
                "top_ups_and_reversals_by_week",
                "Topped up and reversed per week",
                [
                    "week starting",
                    "top-ups",
                    "top-up amount",
                    "reversals",
                    "reversed amount",
                    "net change",
                ],
                rows,
            )
        ],
    )


def _not_done(period: Period, now: datetime) -> Section:
    today = now.date()
    totals = {"n": Count("id"), "amount": Sum("amount", output_field=TOTAL)}
    mine = period.requests("request__")
    settling = (
        services.settling_card_refunds(today)
        .filter(mine)
        .aggregate(**totals, last=Max("expected_on"))
    )
    retrying = (
        services.retrying_credits().filter(mine, method=PaymentMethod.CARD).aggregate(**totals)
    )
    stuck = services.stuck_credits().filter(mine).aggregate(**totals)
    lists = {
        "settling": credits_list(payment="settling"),
        "retrying": credits_list(payment="retrying", method__exact=PaymentMethod.CARD),
        "stuck": credits_list(stuck="yes"),
    }
    last = f", all by {settling['last']:%b %-d}" if settling["last"] else ""
    return Section(
        "Credits not done yet",
        figures=[
            Figure(
                "Card refunds on their way",
                str(settling["n"]),
                f"{money_text(settling['amount'])}{last}",
                link=lists["settling"],
            ),
            Figure(
                "Card refunds failing, being retried",
                str(retrying["n"]),
                money_text(retrying["amount"]),
                level="warn" if retrying["n"] else "",
                link=lists["retrying"],
            ),
            Figure(
                "Credits needing a person",
                str(stuck["n"]),
                money_text(stuck["amount"]),
                level="late" if stuck["n"] else "ok",
                link=lists["stuck"],
            ),
        ],
        note="Now, whatever the dates; the market and category filters apply here, but the "
        "Credits list each number opens shows every market and category.",
        tables=[
            Table(
                "credits_not_done",
                "Credits not done yet",
                ["state", "credits", "amount"],
                [
                    [
                        "Card refund accepted by the provider, not on the card yet",
                        settling["n"],
                        money_text(settling["amount"]),
                    ],
                    [
                        "Card refund failed, the worker is retrying",
                        retrying["n"],
                        money_text(retrying["amount"]),
                    ],
                    [
                        f"Given up after {settings.CREDIT_MAX_ATTEMPTS} attempts: needs a person",
                        stuck["n"],
                        money_text(stuck["amount"]),
                    ],
                ],
            )
        ],
    )
