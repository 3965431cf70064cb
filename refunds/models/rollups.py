"""Daily roll-ups of the review promise: what the analytics pages read for closed-out days.

refunds/analytics/rollups.py writes them (manage.py rebuild_rollups, the worker's schedule);
nothing else does. A day is rebuilt whole, so building it twice gives the same rows.
"""

from django.db import models


class RollupDay(models.Model):
    """A UTC day whose roll-up rows were built, and when. A day with no request has this row
    and no figures; the pages compute any day without it live."""

    day = models.DateField(
        verbose_name="day",
        unique=True,
    )
    built_at = models.DateTimeField(
        verbose_name="built at",
    )

    class Meta:
        ordering = ("day",)
        verbose_name = "roll-up day"

    def __str__(self) -> str:
        return f"{self.day}"


class RollupKey(models.Model):
    """What a roll-up row counts: one UTC day of submissions, in one market and category or in
    all of them (`total`)."""

    day = models.DateField(
        verbose_name="day submitted",
    )
    market = models.ForeignKey(
        "accounts.Market",
        verbose_name="market",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    category = models.ForeignKey(
        "accounts.ServiceCategory",
        verbose_name="category",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    total = models.BooleanField(
        verbose_name="whole day",
        default=False,
        help_text="The day's sum over every market and category (market and category empty), "
        "what the pages read when neither is filtered.",
    )

    class Meta:
        abstract = True


class PromiseRollup(RollupKey):
    """One UTC day of submissions in one market and category, or in all of them (`total`): the
    requests a person decides (withdrawn requests and automatic decisions left out, as on the
    Review promise page) and how many were decided in time."""

    requests = models.PositiveIntegerField(
        verbose_name="requests counted",
        help_text="Decided, or open past 24 hours.",
    )
    within_24h = models.PositiveIntegerField(
        verbose_name="decided within 24 hours",
    )
    within_window = models.PositiveIntegerField(
        verbose_name="decided within the review window",
    )
    decided = models.PositiveIntegerField(
        verbose_name="decided",
    )

    class Meta:
        ordering = ("day", "id")
        verbose_name = "review promise roll-up"
        indexes = [
            models.Index(fields=["total", "day", "market", "category"], name="promise_rollup_day")
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.within_24h} of {self.requests} within 24 h"


class DecisionTimeRollup(RollupKey):
    """A histogram of time to a decision: how many of a day's requests in one market and
    category (or in all of them, `total`) took this quarter hour. Enough for the nearest-rank
    median and 95th percentile, rounded down to the quarter hour, over any set of days: at most
    96 rows a day within the promise (and a few beyond), however busy the day, so the pages
    read a bounded number of them."""

    minutes = models.IntegerField(
        verbose_name="minutes to a decision",
        help_text="Time from submission to the first decision, rounded down to the quarter "
        "hour, in minutes (0, 15, 30, ...).",
    )
    requests = models.PositiveIntegerField(
        verbose_name="requests",
    )

    class Meta:
        ordering = ("day", "minutes", "id")
        verbose_name = "decision time roll-up"
        indexes = [
            models.Index(
                fields=["total", "day", "market", "category", "minutes", "requests"],
                name="decision_time_rollup_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.requests} decided in {self.minutes} min"
