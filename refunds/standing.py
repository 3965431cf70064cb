"""A pro's standing against the peer refund-rate rule, in their words: the Credits page's
section (a chart and sentences) and the report form's warning before a request the rule would
deny. Every figure comes from services.peer_standing, the rule's own comparison, so nothing here
can say other than the rule decides."""

from __future__ import annotations

import math
from datetime import datetime

from accounts.models import User
from refunds import services
from refunds.analytics import svg


def _share(rate: float, leads: int) -> str:
    """A rate as a count out of the pro's own leads: "2 of 40", or "about 2 of 40"."""
    count = rate * leads
    whole = round(count)
    return f"{'' if math.isclose(count, whole, abs_tol=0.05) else 'about '}{whole} of {leads}"


def section(user: User, now: datetime) -> dict:
    """The Credits page's standing section, in words and as a chart, from the peer rule's own
    comparison (services.peer_standing), so it never says other than the rule decides."""
    s = services.peer_standing(user, now)
    c, days = s.current, s.window_days
    leads = f"{c.pro_leads} lead{'s' if c.pro_leads != 1 else ''}"
    if c.pro_leads:
        words = [f"You asked for refunds on {c.pro_requests} of {leads} in the last {days} days."]
    else:
        words = [f"You bought no leads in the last {days} days, so you have no refund rate yet."]
    easing = (
        f"That changes as you buy more leads and as older requests pass out of the {days}-day "
        "window."
    )
    if c.pro_leads < s.min_leads:
        state = "not_applied"
        if s.market_median is not None:
            words.append(f"Pros near you ask for refunds on {s.market_median:.0%} of their leads.")
        words.append(
            f"A high refund rate leads to automatic denials only from {s.min_leads} leads in "
            f"{days} days, so none of your requests is denied automatically for it now."
        )
    elif s.threshold is None:
        state = "not_applied"
        words.append(
            f"Fewer than {s.min_peers} other pros near you bought leads in that time: too few to "
            "compare with, so none of your requests is denied automatically for its rate."
        )
    else:
        words.append(f"Pros near you: {_share(s.market_median, c.pro_leads)}.")
        words.append(
            f"Above {s.allowed_requests} of {c.pro_leads}, requests are denied automatically."
        )
        if c.auto_deny:
            state = "above"
            words += [
                "You are above that now: a request you make now is denied automatically.",
                easing,
            ]
        elif s.next.auto_deny:
            state = "at"
            words += [
                "You are at that limit: your next request would be denied automatically.",
                easing,
            ]
        else:
            state = "within"
            words.append(
                f"You can ask for {s.room} more refund{'s' if s.room != 1 else ''} before that."
            )
    chart = None
    if c.pro_rate is not None and s.market_median is not None:
        limit = s.threshold if c.comparable else None
        chart = svg.limit_hbars(
            f"Refund rate, last {days} days",
            ["You", "Pros near you"],
            [c.pro_rate, s.market_median],
            value_labels=[
                f"{c.pro_rate:.0%} · {c.pro_requests} of {c.pro_leads}"
                + (" · above" if c.auto_deny else ""),
                f"{s.market_median:.0%} (median)",
            ],
            limit=limit,
            limit_label=f"Denied automatically above {s.allowed_requests} of {c.pro_leads} "
            f"({s.threshold:.0%})"
            if limit is not None
            else "",
            x_label="Refund requests per lead",
        )
    return {"standing": s, "state": state, "words": words, "chart": chart}


def auto_denial_warning(user: User, now: datetime) -> list[str] | None:
    """What the report form says when the request about to be sent would be denied
    automatically: the peer rule's verdict on it, counted as the submission will count it."""
    s = services.peer_standing(user, now)
    if not s.next.auto_deny:
        return None
    c = s.current
    return [
        f"You asked for refunds on {c.pro_requests} of your {c.pro_leads} leads in the last "
        f"{s.window_days} days; this request would make it {s.next.pro_requests}. Above "
        f"{s.allowed_requests} of {c.pro_leads}, requests are denied automatically "
        f"(pros near you: {_share(s.market_median, c.pro_leads)}).",
        "You can still send it. If it is denied, you can dispute the decision from your Inbox.",
    ]
