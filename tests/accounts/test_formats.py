"""One voice: money, days and clock times are written by one formatter each, on pages and in
what the worker writes."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import timezone

from accounts.models import Market
from accounts.money import money, money_change
from accounts.templatetags.local_time import clock, day, day_in


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("24.5"), "$24.50"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-3"), "−$3.00"),
        (0, "$0.00"),
        (None, "$0.00"),
        ("40.00", "$40.00"),
    ],
)
def test_money_always_has_its_sign_and_two_decimals(value, shown):
    assert money(value) == shown


def test_a_change_of_balance_is_always_signed():
    assert money_change(Decimal("24.50")) == "+$24.50"
    assert money_change(Decimal("-24.50")) == "−$24.50"


def test_the_filters_are_on_every_template_without_loading():
    html = Template("{{ a|money }} {{ b|money_change }} {{ c|money }}").render(
        Context({"a": Decimal("24.5"), "b": Decimal("-3"), "c": None})
    )
    assert html == "$24.50 −$3.00 "


def test_an_unknown_currency_is_named_by_its_code():
    assert money(Decimal("5"), "EUR") == "EUR\u00a05.00"


@pytest.mark.django_db
def test_markets_in_the_us_are_in_dollars_and_others_are_refused_until_supported():
    austin = Market(name="Austin, TX", country_code="US", time_zone="America/Chicago")
    austin.full_clean()
    assert austin.currency == "USD"
    with pytest.raises(ValidationError) as error:
        Market(name="Toronto, ON", country_code="CA", time_zone="America/Toronto").full_clean()
    assert "country_code" in error.value.message_dict


def test_days_and_clock_times_are_written_in_the_readers_zone():
    # 03:30 UTC on Dec 4 is still Dec 3 in Chicago.
    instant = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)
    with timezone.override(ZoneInfo("America/Chicago")):
        assert day(instant) == "Dec 3, 2026"
        assert clock(instant) == "9:30 PM CST"
    assert day_in(instant, "UTC") == "Dec 4, 2026"
    assert day(date(2026, 12, 8)) == "Dec 8, 2026"
    assert day(None) == clock(None) == ""
