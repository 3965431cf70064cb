"""The filters every analytics page takes from its URL: a date range, a market, a category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from accounts import timezones
from accounts.models import Market, ServiceCategory

PRESETS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "custom": "Custom"}
MAX_DAYS = 400


class PeriodForm(forms.Form):
    range = forms.ChoiceField(label="Period", choices=list(PRESETS.items()), required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    market = forms.ModelChoiceField(
        label="Market",
        queryset=Market.objects.order_by("name"),
        required=False,
        empty_label="All markets",
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=ServiceCategory.objects.order_by("name"),
        required=False,
        empty_label="All categories",
    )

    def clean(self):
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError("Choose both dates of a custom period.")
            if start > end:
                raise forms.ValidationError("The period must start before it ends.")
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        return data


def counting_zone(market: Market | None) -> tzinfo:
    """The zone the days and hours are counted in: the market's, or UTC for all markets."""
    return UTC if market is None else timezones.zone(market.time_zone)


@dataclass(frozen=True)
class Period:
    """Whole days, first to last inclusive, and the market and category to count.

    The days are the market's local days when a market is chosen (its time zone, Markets →
    time zone), otherwise UTC days: every bucket a page draws (days, weeks, hours) follows.
    """

    first: date
    last: date
    market: Market | None = None
    category: ServiceCategory | None = None
    preset: str = "30"

    @property
    def zone(self) -> tzinfo:
        return counting_zone(self.market)

    @property
    def zone_name(self) -> str:
        """The zone as the pages name it: "UTC", or the market's IANA name."""
        return "UTC" if self.market is None else str(self.zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The moment after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        return f"{self.first:%b %-d, %Y} – {self.last:%b %-d, %Y} ({self.zone_name} days)"

    def requests(self, prefix: str = "") -> Q:
        """The market and category filters, for a queryset reaching RefundRequest by `prefix`."""
        q = Q()
        if self.market is not None:
            q &= Q(**{f"{prefix}market": self.market})
        if self.category is not None:
            q &= Q(**{f"{prefix}lead__category": self.category})
        return q

    def query(self, **extra: str) -> str:
        """This period as a URL query string (shared links, CSV downloads)."""
        params = {"range": self.preset}
        if self.preset == "custom":
            params |= {"start": self.first.isoformat(), "end": self.last.isoformat()}
        if self.market is not None:
            params["market"] = str(self.market.pk)
        if self.category is not None:
            params["category"] = str(self.category.pk)
        return urlencode(params | extra)


def period_from(data, now: datetime) -> tuple[Period, PeriodForm]:
    """The period the URL asks for; bad input falls back to the last 30 days (the form says why).

    A preset ends today: the market's today when a market is chosen, otherwise UTC's."""
    form = PeriodForm(data or None, initial={"range": "30"})
    preset = "30"
    if form.is_bound and form.is_valid():
        cleaned = form.cleaned_data
        preset = cleaned.get("range") or "30"
        market, category = cleaned.get("market"), cleaned.get("category")
        if preset == "custom":
            return Period(cleaned["start"], cleaned["end"], market, category, "custom"), form
        days = int(preset)
        today = now.astimezone(counting_zone(market)).date()
        return Period(today - timedelta(days=days - 1), today, market, category, preset), form
    today = now.astimezone(UTC).date()
    return Period(today - timedelta(days=29), today, preset=preset), form
