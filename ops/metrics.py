"""/metrics: Prometheus's text format, for whoever holds METRICS_TOKEN.

Two parts. The process's own metrics come from django-prometheus (its middleware counts and
times requests by view, method and status; its database wrapper counts queries) and
prometheus-client (the process's CPU, memory, garbage collector). The work's metrics are
computed from the database at each scrape by RefundsCollector, in a fixed number of queries
that read only what is open (partial indexes) and a few tally rows, never the history, so the
scrape costs the same however much has been decided, and says the same whichever web process
answers it.

Under a server with several worker processes (gunicorn -w N) each process counts its own
requests; set PROMETHEUS_MULTIPROC_DIR and the scrape adds them all up (README, Operations).
"""

from __future__ import annotations

import hmac
import logging
import math
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_q.brokers import get_broker
from django_q.models import Failure
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from refunds import services

log = logging.getLogger(__name__)


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def age_seconds(since, now) -> float:
    """Seconds from `since` to `now`; 0 when there is nothing (no open request, no dispute)."""
    return 0.0 if since is None else max((now - since).total_seconds(), 0.0)


class RefundsCollector(Collector):
    """The work and the worker, read from the database at scrape time: seven queries.

    Open requests (count, oldest, overdue, due soon: one pass over the open requests' partial
    index), disputes waiting (count, oldest: the open disputes' partial index), credits needing
    a person (the pending credits' and top-ups' partial indexes), decisions by outcome and kind
    (the few rows of DecisionTally, which each decision's transaction raises: history is never
    counted), the worker's heartbeat, its queue (one query with the ORM broker, none with
    Redis) and its failed tasks (the worker's own history, which it prunes).
    """

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        work = services.open_work(now)
        yield gauge("refunds_open_requests", "Requests waiting for a decision.", work["open"])
        yield gauge(
            "refunds_oldest_open_request_age_seconds",
            "Time since the oldest open request was submitted (0 when none is open).",
            age_seconds(work["oldest"], now),
        )
        yield gauge(
            "refunds_overdue_requests",
            "Open requests past their decision time (REFUND_REVIEW_HOURS after submission).",
            work["overdue"],
        )
        yield gauge(
            "refunds_due_within_4h_requests",
            "Open requests not yet overdue whose decision is due within 4 hours.",
            work["due_soon"],
        )
        disputes = services.all_open_dispute_counts(now)
        yield gauge(
            "refunds_disputes_waiting",
            "Disputes waiting for support: of decisions and of credit reversals.",
            disputes["waiting"],
        )
        yield gauge(
            "refunds_oldest_dispute_age_seconds",
            "Time since the oldest waiting dispute (of a decision or a reversal) was opened "
            "(0 when none waits).",
            age_seconds(disputes["oldest"], now),
        )
        yield gauge(
            "refunds_credits_needing_person",
            "Credits whose tries are used up (REFUND_CREDIT_MAX_ATTEMPTS): support must act.",
            services.stuck_credits().count(),
        )
        decisions = CounterMetricFamily(
            "refunds_decisions",
            "Decisions recorded, by outcome and kind (undone ones included).",
            labels=("outcome", "kind"),
        )
        for (outcome, kind), count in sorted(services.decisions_by_outcome_and_kind().items()):
            decisions.add_metric((outcome, kind), count)
        yield decisions
        yield from self.worker(now)

    def worker(self, now) -> Iterator[Metric]:
        age = services.worker_heartbeat_age(now)
        yield gauge(
            "refunds_worker_heartbeat_age_seconds",
            "Time since a worker last ran its heartbeat task (every minute); +Inf if never.",
            math.inf if age is None else age.total_seconds(),
        )
        try:
            queued = get_broker().queue_size()
        except Exception:
            # The broker being down is /health/ready's to say; the rest of the scrape stands.
            log.warning("The worker's broker did not answer the metrics scrape", exc_info=True)
        else:
            yield gauge(
                "refunds_worker_queued_tasks", "Tasks waiting in the broker for a worker.", queued
            )
        yield gauge(
            "refunds_worker_failed_tasks",
            "Tasks whose last attempt failed, kept in the worker's history (Failed tasks).",
            Failure.objects.count(),
        )


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's with PROMETHEUS_MULTIPROC_DIR set."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def scrape() -> bytes:
    work = CollectorRegistry()
    work.register(RefundsCollector())
    return generate_latest(process_registry()) + generate_latest(work)


def authorised(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """The scrape. Without METRICS_TOKEN set there is no such page (404)."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: METRICS_TOKEN is not set.")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not authorised(request):
        response = HttpResponse(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format, which every Prometheus reads (prometheus-client's own server
    # answers with it too); CONTENT_TYPE_LATEST would announce version 1.0.0.
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
