"""Dates and times written one way everywhere, in the reader's zone with its name.

Loaded as a builtin (settings.TEMPLATES), so every template has `when` and `when_in`:
    {{ request.due_at|when }}                      Dec 3, 2:05 PM CST
    {{ lead.received_at|when_in:market.time_zone }}  the same instant on another clock
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats, timezone

from accounts.timezones import zone

register = template.Library()

FORMAT = "M j, g:i A T"


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
