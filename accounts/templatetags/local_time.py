"""Dates and times written one way everywhere, in the reader's zone with its name.

Loaded as a builtin (settings.TEMPLATES), so every template has these:
    {{ request.due_at|when }}                      Dec 3, 2:05 PM CST   an instant
    {{ lead.received_at|when_in:market.time_zone }}  the same instant on another clock
    {{ credit.expected_on|day }}                   Dec 8, 2026          a day (or an instant's)
    {{ message.sent_at|clock }}                    2:05 PM CST          under a day's heading
`|date:"c"` stays for machine-readable attributes (<time datetime>, data-until).
Notices and emails, written by the worker for a reader elsewhere, call `when_in`/`day_in`.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import formats, timezone

from accounts.timezones import zone

register = template.Library()

FORMAT = "M j, g:i A T"
DAY_FORMAT = "M j, Y"
CLOCK_FORMAT = "g:i A T"


@register.filter
def when(value: datetime | None) -> str:
    if not value:
        return ""
    return formats.date_format(timezone.localtime(value), FORMAT)


@register.filter
def when_in(value: datetime | None, zone_name: str) -> str:
    if not value:
        return ""
    return formats.date_format(timezone.localtime(value, zone(zone_name)), FORMAT)


@register.filter
def day(value: date | datetime | None) -> str:
    """The day of a date, or of an instant on the reader's clock."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return formats.date_format(value, DAY_FORMAT)


def day_in(value: date | datetime | None, zone_name: str) -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value, zone(zone_name))
    return formats.date_format(value, DAY_FORMAT)


@register.filter
def clock(value: datetime | None) -> str:
    if not value:
        return ""
    return formats.date_format(timezone.localtime(value), CLOCK_FORMAT)


@register.filter
def elsewhere(value: datetime | None, zone_name: str) -> str:
    """The same instant on another clock, when that clock differs from the reader's:
    `{{ lead.received_at|elsewhere:market.time_zone }}` → "(8:05 AM CST there)"."""
    if not value:
        return ""
    there = zone(zone_name)
    here = timezone.localtime(value)
    local = timezone.localtime(value, there)
    if local.utcoffset() == here.utcoffset() and local.tzname() == here.tzname():
        return ""
    return f"({formats.date_format(local, 'g:i A T')} there)"
