"""Logs: one JSON object per line in production, text in development (LOG_FORMAT), and every
line with the id of the request it belongs to.

The id is the proxy's X-Request-ID when TRUST_PROXY_HEADERS is on and the value is well formed,
else a new one; the response sends it back in X-Request-ID. A task queued while a request is
served carries the request's id in its package to the worker (django-q2's signals, connected by
carry_request_ids_into_tasks), so the lines of a credit join those of its approval. A task with
no request behind it (a scheduled sweep) gets an id of its own, which the tasks it queues carry.

This module is imported by the logging configuration, before the apps are ready: it imports no
model.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as PlainJsonFormatter

HEADER = "X-Request-ID"
# Room for a UUID with or without dashes and for the ids proxies make; nothing that could
# break a log line or a header.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Mail servers repeat the address in their refusals, which the worker logs with the failed task,
# and a database repeats the value a unique constraint refused: no address reaches the logs.
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

access_log = logging.getLogger("refunds.access")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What the log lines of the current request or task share."""

    request_id: str
    request: HttpRequest | None = None


_context: ContextVar[Context | None] = ContextVar("log_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    context = _context.get()
    return context.request_id if context else None


@contextmanager
def bound(request_id: str, request: HttpRequest | None = None) -> Iterator[None]:
    """Log lines written inside carry `request_id` (and the request's user and path)."""
    token = _context.set(Context(request_id, request))
    try:
        yield
    finally:
        _context.reset(token)


def incoming_request_id(request: HttpRequest) -> str | None:
    """The proxy's id for this request, if the proxy is trusted and the id well formed."""
    if not settings.TRUST_PROXY_HEADERS:
        # Without a proxy that sets it, the header is whatever the visitor chose to send.
        return None
    value = request.headers.get(HEADER, "")
    return value if WELL_FORMED_ID.fullmatch(value) else None


class RequestLogMiddleware:
    """Gives each request its id, and writes one access line when the request is answered.

    First in MIDDLEWARE, so the id is bound before any other middleware logs and the duration
    covers them all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_request_id(request) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        with bound(request_id, request):
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response[HEADER] = request_id
            access_log.info(
                "%s %s %s %s ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        return response


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    # request.user is lazy: loading it here would query the database from inside logging, so
    # the user is named once the request has looked at who it is (every signed-in page does).
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class RequestContextFilter(logging.Filter):
    """Puts the request id on every record, and the user and path while a request is served.

    The path is without its query string: a search in the back office can hold a name.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        request = context.request if context else None
        if context is None and isinstance(getattr(record, "request", None), HttpRequest):
            # Django logs a 4xx answer once the middleware has returned it, with the request.
            request = record.request  # type: ignore[attr-defined]
        request_id = context.request_id if context else getattr(request, "request_id", None)
        if request_id is not None and getattr(record, "request_id", None) is None:
            record.request_id = request_id
        if request is not None:
            record.path = request.path
            record.user_id = _user_id(request)
        return True


def redact(line: str) -> str:
    return EMAIL_ADDRESS.sub("[email]", line)


class JsonFormatter(PlainJsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, then what the record
    carries: user_id and path during a request, method, status and duration_ms on the access
    line, exc_info with a traceback."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "request_id"],
            rename_fields={"levelname": "level", "name": "logger"},
            # A default only to put the time first; the record's time replaces it.
            defaults={"time": None},
            timestamp="time",
            # Django puts the request on its records (django.request, django.server): its repr
            # holds the query string.
            reserved_attrs=[*RESERVED_ATTRS, "request"],
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class TextFormatter(logging.Formatter):
    """A line for a person at a terminal: time, level, logger, [request id], message."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            defaults={"request_id": "-"},
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# The worker: tasks carry the id of the request (or task) that queued them.

_task_tokens = threading.local()


def carry_request_ids_into_tasks() -> None:
    """Connect django-q2's signals (refunds.apps). The id travels in the task package itself,
    beside func and args, so the tasks' names, arguments and results stay as they were."""
    from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

    pre_enqueue.connect(_stamp_task, dispatch_uid="config.logs.stamp_task")
    pre_execute.connect(_enter_task, dispatch_uid="config.logs.enter_task")
    post_execute_in_worker.connect(_leave_task, dispatch_uid="config.logs.leave_task")


def _stamp_task(sender: Any, task: dict, **kwargs: Any) -> None:
    request_id = current_request_id()
    if request_id is not None:
        task.setdefault("request_id", request_id)


def _enter_task(sender: Any, func: Any, task: dict, **kwargs: Any) -> None:
    token = _context.set(Context(task.get("request_id") or new_request_id()))
    # A stack, not one token: with Q_SYNC a task runs inside the request, and a task it queues
    # runs inside it.
    _tokens().append(token)


def _leave_task(sender: Any, func: Any, task: dict, **kwargs: Any) -> None:
    if task.get("success") is False:
        # The monitor's line has the traceback but runs in another process, without the id.
        last_line = str(task.get("result", "")).rstrip().rsplit("\n", 1)[-1]
        log.warning("Task %s failed: %s", task.get("func"), last_line)
    tokens = _tokens()
    if tokens:
        _context.reset(tokens.pop())


def _tokens() -> list[Token]:
    if not hasattr(_task_tokens, "stack"):
        _task_tokens.stack = []
    return _task_tokens.stack
