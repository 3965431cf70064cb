"""Whose clock a page shows: a pro's market's zone, a staff member's own preference.

Instants (the report window, the review clock) never move; only how they are written does.
The middleware activates the reader's zone, so Django's date filters and the `when` filter
(accounts/templatetags/local_time.py) write times in it, with its abbreviation.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _known():
        raise ValidationError(
            "%(value)s is not an IANA time zone name, such as America/Chicago.",
            params={"value": value},
        )


def zone(name: str | None) -> ZoneInfo:
    """The named zone, or the site's (settings.TIME_ZONE) for an empty or unknown name."""
    if name and name in _known():
        return ZoneInfo(name)
    return ZoneInfo(settings.TIME_ZONE)


def zone_of(user) -> ZoneInfo:
    """The zone `user` reads times in: their own preference, else their market's, else the
    site's."""
    if getattr(user, "time_zone", ""):
        return zone(user.time_zone)
    profile = getattr(user, "pro_profile", None)
    market = getattr(profile, "market", None) if profile is not None else None
    return zone(market.time_zone if market is not None else None)


SESSION_KEY = "accounts:time_zone"


def remember_zone(sender, request, user, **kwargs) -> None:
    """At sign-in, note the reader's zone in the session: pages then cost no query for it.
    A changed market or preference shows from the next sign-in."""
    request.session[SESSION_KEY] = zone_of(user).key


class LocalTimeMiddleware:
    """Times on every page in the signed-in reader's zone (the site's for visitors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = request.session.get(SESSION_KEY)
            if name is None:  # a session from before zones: once, then kept
                name = request.session[SESSION_KEY] = zone_of(user).key
            timezone.activate(zone(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
