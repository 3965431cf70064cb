"""The sign-in forms of the site and of the back office, both with a throttle on failures.

Two limits, counted in Django's cache (with several web processes it must be a shared one:
CACHE_URL, see the README):

- after LOGIN_THROTTLE["FAILURES"] failed sign-ins for one email address from one IP address,
  signing in with that address from there is paused for LOGIN_THROTTLE["MINUTES"], even with
  the right password, so a password cannot be guessed by trying many;
- after LOGIN_THROTTLE["IP_FAILURES"] failed sign-ins from one IP address, whatever the email
  addresses, every sign-in from there is paused as long, so a few common passwords cannot be
  tried against many accounts (password spraying).
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

log = logging.getLogger(__name__)


def client_address(request: HttpRequest | None) -> str:
    """The visitor's IP address: the connection's, or behind a trusted proxy the one the proxy
    put last in X-Forwarded-For (the address it saw; anything before it the visitor could have
    written)."""
    if request is None:
        return ""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.META.get("REMOTE_ADDR", "")


def _digest(text: str) -> str:
    # Hashed: a key must stay short and plain whatever the visitor typed.
    return hashlib.sha256(text.encode()).hexdigest()


class Counter:
    """Failures under one cache key, forgotten LOGIN_THROTTLE["MINUTES"] after the latest."""

    def __init__(self, key: str, limit: int, seconds: int) -> None:
        self.key, self.limit, self.seconds = key, limit, seconds

    def reached(self) -> bool:
        return cache.get(self.key, 0) >= self.limit

    def add(self) -> int:
        cache.add(self.key, 0, self.seconds)
        try:
            count = cache.incr(self.key)
        except ValueError:  # expired between add and incr
            count = 1
            cache.set(self.key, count, self.seconds)
        # The pause runs from the latest failure.
        cache.touch(self.key, self.seconds)
        return count


class LoginThrottle:
    """Failed sign-ins for one login from one address, and from that address for any login."""

    def __init__(self, request: HttpRequest | None, username: str) -> None:
        self.username = username.strip().lower()
        self.address = client_address(request)
        seconds = settings.LOGIN_THROTTLE["MINUTES"] * 60
        self.login = Counter(
            f"login-failures:{_digest(f'{self.username}|{self.address}')}",
            settings.LOGIN_THROTTLE["FAILURES"],
            seconds,
        )
        self.from_address = Counter(
            f"login-failures-ip:{_digest(self.address)}",
            settings.LOGIN_THROTTLE["IP_FAILURES"],
            seconds,
        )

    def paused(self) -> bool:
        return self.login.reached() or self.from_address.reached()

    def paused_address(self) -> bool:
        return self.from_address.reached()

    def failed(self) -> None:
        count = self.login.add()
        from_address = self.from_address.add()
        if count == self.login.limit:
            # Logs carry no email addresses: a digest of the login typed tells the same login
            # paused from many addresses, and support can check it against a pro's address.
            login = _digest(self.username)[:12]
            log.warning(
                "Sign-in paused for login %s from %s after %s failures",
                login,
                self.address,
                count,
            )
        if from_address == self.from_address.limit:
            log.warning(
                "Sign-in paused for every login from %s after %s failures",
                self.address,
                from_address,
            )

    def succeeded(self) -> None:
        # Only the login's count: one good account signing in now and then must not let an
        # address go on trying others.
        cache.delete(self.login.key)


class ThrottledLoginMixin:
    """Refuses a paused login before checking the password; counts failures, forgets on success."""

    throttled_message = (
        "Too many failed sign-in attempts for this email address. For the account's safety, "
        "signing in is paused for %(minutes)d minutes; try again after that, or ask support "
        "to reset your password."
    )

    address_throttled_message = (
        "Too many failed sign-in attempts from your network. For the safety of every account, "
        "signing in from here is paused for %(minutes)d minutes; try again after that."
    )

    def clean(self):
        throttle = LoginThrottle(self.request, str(self.data.get("username", "")))
        if throttle.paused():
            raise ValidationError(
                self.address_throttled_message
                if throttle.paused_address()
                else self.throttled_message,
                code="throttled",
                params={"minutes": settings.LOGIN_THROTTLE["MINUTES"]},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.failed()
            raise
        if self.user_cache is not None:
            throttle.succeeded()
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The site's sign-in page (pros, reviewers and support)."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The back office's own sign-in page."""
