"""Heavy reads from a PostgreSQL read replica, when DATABASE_REPLICA_URL configures one.

Only what is marked goes to the replica::

    with using_replica():              # a block of reads
        rows = list(report_queryset)

    @replica_reads                      # a whole view, template and streamed body included
    def export_csv(request): ...

Inside the mark, reads use the `replica` alias; writes always use `default`, and so do reads
inside a transaction on `default` (they must see its own writes). Outside the mark everything
uses `default`, including objects that were read from the replica. Reviewers' pages and every
state change are never marked: a replica lags behind the primary by a moment, which a report
can afford and a decision cannot.

Without DATABASE_REPLICA_URL the router is not installed and the marks change nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"

_reading_from_replica = contextvars.ContextVar("reading_from_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def using_replica() -> Iterator[None]:
    """Reads inside go to the replica when there is one (also usable as a decorator)."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def replica_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a read-only view as heavy: its queries read from the replica.

    The session and the signed-in user are read from the primary first (a session made a
    moment ago may not have reached the replica yet). A TemplateResponse is rendered, and a
    streamed body produced, inside the mark, since Django would do both after the view returns.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None:
            getattr(user, "pk", None)  # evaluates the lazy user, and the session, on default
        with using_replica():
            response = view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()
        if response.streaming:
            response.streaming_content = _from_replica(response.streaming_content)
        return response

    return wrapped


def _from_replica(chunks: Iterable) -> Iterator:
    """Produce each chunk inside the mark, and nothing between them."""
    iterator = iter(chunks)
    while True:
        with using_replica():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model, **hints) -> str:
        if (
            _reading_from_replica.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases hold the same rows.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        # The replica follows the primary's schema; nothing is ever migrated on it.
        return False if db == REPLICA else None
