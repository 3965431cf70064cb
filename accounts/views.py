from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to where their work is."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("messages")
