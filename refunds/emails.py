"""Every email the product sends: plain text with an HTML alternative, both from one template
pair (templates/emails/<name>.txt and .html), with absolute links built on settings.SITE_URL.

The HTML is simple on purpose: inline styles (mail clients drop style sheets), no tables for
layout, one column that reads on a phone. Times are written in the recipient's zone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone


def absolute(path: str) -> str:
    """A path of this site as a link that works from a mailbox: SITE_URL + path."""
    return f"{settings.SITE_URL}{path}"


def send(
    name: str, subject: str, context: dict, to: list[str], *, zone: ZoneInfo | None = None
) -> None:
    """Render emails/<name>.txt and .html with `context` (in `zone`, the recipient's) and send
    them as one multipart message."""
    with timezone.override(zone or ZoneInfo(settings.TIME_ZONE)):
        text = render_to_string(f"emails/{name}.txt", context)
        html = render_to_string(f"emails/{name}.html", context)
    email = EmailMultiAlternatives(subject, text, None, to)
    email.attach_alternative(html, "text/html")
    email.send()
