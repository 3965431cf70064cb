from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """The top bar's counters for a signed-in pro: unread inbox messages and the balance."""
    user = getattr(request, "user", None)
    # Staff (reviewers, support) never have the pro's top bar: no need to look up their roles.
    if user is None or not user.is_authenticated or user.is_staff or not user.is_pro:
        return {}
    return {
        "nav_unread_count": user.inbox_messages.filter(read_at__isnull=True).count(),
        "nav_balance": user.balance(),
    }
