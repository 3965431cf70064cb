"""What a page is made of (charts, tables) and the database helpers its figures use."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import DurationField, ExpressionWrapper, F, Func, IntegerField, QuerySet
from django.utils.html import format_html

from accounts.money import money


@dataclass(frozen=True)
class Table:
    """Figures as rows: what the chart draws, for reading and for the CSV download."""

    name: str  # the CSV's name: ?csv=<name>
    title: str
    columns: list[str]
    rows: list[list]
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """One headline number."""

    label: str
    value: str
    note: str = ""
    level: str = ""  # ok / warn / late
    link: str = ""  # the list that shows what the number counts


class Link(str):
    """A table cell that is a link on the page and its plain text in the CSV."""

    url: str

    def __new__(cls, text: str, url: str) -> Link:
        cell = super().__new__(cls, text)
        cell.url = url
        return cell

    def __html__(self) -> str:
        return format_html('<a href="{}">{}</a>', self.url, str(self))


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    chart: str = ""  # server-rendered SVG (refunds.analytics.svg)
    tables: list[Table] = field(default_factory=list)
    note: str = ""


@dataclass
class Page:
    title: str
    sections: list[Section]

    def table(self, name: str) -> Table | None:
        for section in self.sections:
            for table in section.tables:
                if table.name == name:
                    return table
        return None


def elapsed(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


class _PercentileDisc(Func):
    """PostgreSQL's ordered-set aggregate: percentile_disc(p) WITHIN GROUP (ORDER BY expr)."""

    contains_aggregate = True
    template = "percentile_disc(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def percentile(queryset: QuerySet, expression, fraction: float) -> timedelta | None:
    """The `fraction` percentile of `expression` over `queryset`, computed by the database.

    The nearest-rank percentile (no interpolation), the same on both engines: PostgreSQL's
    percentile_disc, and on SQLite, which has no such aggregate, the value at rank
    ceil(fraction × n) read with ORDER BY and OFFSET (two small queries).
    """
    if connection.vendor == "postgresql":
        return queryset.aggregate(p=_PercentileDisc(expression, fraction=float(fraction)))["p"]
    count = queryset.count()
    if not count:
        return None
    rank = max(0, math.ceil(fraction * count) - 1)
    values = queryset.annotate(_v=expression).order_by("_v").values_list("_v", flat=True)
    return values[rank]


class WholeMinutes(Func):
    """A duration in whole minutes, rounded down, computed by the database: PostgreSQL's
    interval through its seconds, SQLite's (Django's integer microseconds) by integer
    division, so an exact 24 hours is 1,440 minutes on both. With `step`, rounded down to a
    multiple of `step` minutes (15: the quarter hour, so 24 hours is still a bucket's start)."""

    output_field = IntegerField()

    def __init__(self, expression, step: int = 1, **extra):
        super().__init__(expression, step=int(step), **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / (60 * %(step)s))::integer * %(step)s)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "((CAST(%(expressions)s AS INTEGER) / (60000000 * %(step)s)) * %(step)s)"
        return self.as_sql(compiler, connection, template=template, **extra)


def nearest_rank(histogram: dict[int, int], fraction: float) -> int | None:
    """The `fraction` percentile of a histogram (value -> how many), nearest rank as in
    percentile(): the value at rank ceil(fraction × n). The histogram is at most a few hundred
    counts the database has summed, never the rows themselves."""
    count = sum(histogram.values())
    if not count:
        return None
    rank = max(1, math.ceil(fraction * count))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the count")


def hours_text(value: timedelta | None) -> str:
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    return f"{hours:.1f} h"


def share_text(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def money_text(value: Decimal | None) -> str:
    """Money as the product writes it everywhere (accounts.money): $1,234.50."""
    return money(value)


class Amount(str):
    """A table cell of money: $1,234.50 on the page, the plain number 1234.50 in the CSV (whose
    column header names the currency). A string, as Link is: the template would write a number
    in its own way."""

    def __new__(cls, value: Decimal | int | str | None) -> Amount:
        return super().__new__(cls, str(Decimal(value or 0).quantize(Decimal("0.01"))))

    def __html__(self) -> str:
        return money(self)


class Hours(str):
    """A table cell of a duration in hours: "5.47 h" on the page, where a bare 5.47 would read as
    money, and the plain number 5.47 in the CSV (whose column header says hours)."""

    def __new__(cls, value: float) -> Hours:
        return super().__new__(cls, str(round(value, 2)))

    def __html__(self) -> str:
        return f"{self} h"
