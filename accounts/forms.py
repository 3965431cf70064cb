"""The sign-in forms of the site and of the back office, both with a throttle on failures.

After LOGIN_THROTTLE["FAILURES"] failed sign-ins for one email address from one IP address,
signing in with that address from there is paused for LOGIN_THROTTLE["MINUTES"], even with the
right password, so a password cannot be guessed by trying many. The counts live in Django's
cache: with several web processes it must be a shared one (CACHE_URL, see the README).
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


class LoginThrottle:
    """Failed sign-ins for one login from one address, counted in the cache."""

    def __init__(self, request: HttpRequest | None, username: str) -> None:
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        self.username = username.strip().lower()
        self.address = address
        # Hashed: the key must stay short and plain whatever the visitor typed.
        digest = hashlib.sha256(f"{self.username}|{address}".encode()).hexdigest()
        self.key = f"login-failures:{digest}"
        self.limit = settings.LOGIN_THROTTLE["FAILURES"]
        self.seconds = settings.LOGIN_THROTTLE["MINUTES"] * 60

    def paused(self) -> bool:
        return cache.get(self.key, 0) >= self.limit

    def failed(self) -> None:
        cache.add(self.key, 0, self.seconds)
        try:
            count = cache.incr(self.key)
        except ValueError:  # expired between add and incr
            count = 1
            cache.set(self.key, count, self.seconds)
        # The pause runs from the latest failure.
        cache.touch(self.key, self.seconds)
        if count == self.limit:
            # Logs carry no email addresses: a digest of the login typed tells the same login
            # paused from many addresses, and support can check it against a pro's address.
            login = hashlib.sha256(self.username.encode()).hexdigest()[:12]
            log.warning(
                "Sign-in paused for login %s from %s after %s failures",
                login,
                self.address,
                count,
            )

    def succeeded(self) -> None:
        cache.delete(self.key)


class ThrottledLoginMixin:
    """Refuses a paused login before checking the password; counts failures, forgets on success."""

    throttled_message = (
        "Too many failed sign-in attempts for this email address. For the account's safety, "
        "signing in is paused for %(minutes)d minutes; try again after that, or ask support "
        "to reset your password."
    )

    def clean(self):
        throttle = LoginThrottle(self.request, str(self.data.get("username", "")))
        if throttle.paused():
            raise ValidationError(
                self.throttled_message,
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
