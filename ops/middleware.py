"""Answer the load balancer's probes before the rest of the middleware looks at them."""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest, HttpResponse

from ops.health import PROBES


class ProbeMiddleware:
    """GET and HEAD of /health/live and /health/ready, answered first in the stack.

    A load balancer calls each instance by its address over plain HTTP. Further down the stack
    the host check (ALLOWED_HOSTS) would refuse that Host header with a 400 and
    SECURE_SSL_REDIRECT would send the probe to HTTPS with a 301, so the instance would look
    down while it is fine. The probes read nothing from the request, set no cookie and build no
    URL, which is what those checks protect. Other methods go down the stack as usual (and are
    refused there). The probes are not counted in the request metrics either.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if iscoroutinefunction(probe):  # ready: django-health-check's view is asynchronous
            return async_to_sync(probe)(request)
        return probe(request)
