"""Access checks shared by the pro-facing views."""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers


def pro_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let only pros through. Stack it under @login_required.

    Reviewers and support work in the admin, so they are sent there; anyone else signed in
    gets a 404, which says nothing about what exists. A pro's pages show customers' names and
    contact details: no browser or proxy keeps a copy (Cache-Control: no-store).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_pro:
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)
            return response
        if user.is_staff:
            return redirect("admin:index")
        raise Http404("Not a pro")

    return wrapper
