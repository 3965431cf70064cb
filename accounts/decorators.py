"""Access checks shared by the pro-facing views."""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect


def pro_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only pros through. Stack it under @login_required.

    Reviewers and support work in the admin, so they are sent there; anyone else signed in
    gets a 404, which says nothing about what exists.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_pro:
            return view(request, *args, **kwargs)
        if user.is_staff:
            return redirect("admin:index")
        raise Http404("Not a pro")

    return wrapper
