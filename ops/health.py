"""/health/live and /health/ready, on django-health-check.

live says the process answers and touches nothing else. ready runs every check a web process
needs to do its work: the database, the cache, every migration applied, the worker's broker
reachable, and a worker heartbeat younger than HEALTH_WORKER_STALE_SECONDS. Both are JSON, need
no sign-in and say nothing beyond each check's name, status and time taken; why a check failed
goes to the log (the "health_check" logger), not to whoever asked.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.brokers import get_broker
from health_check import checks
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from refunds import services


class InRequestThread(HealthCheck):
    """A check whose work, check(), runs in the request's own thread.

    django-health-check runs a synchronous check in a thread pool. Each pool thread would open
    a database connection of its own and keep it (Django closes connections at the end of a
    request, in the request's thread). Run thread-sensitive, the checks share the request's
    connection, and the tests' transaction.
    """

    name: ClassVar[str]

    async def run(self) -> None:
        await sync_to_async(self.check)()

    def check(self) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class Database(InRequestThread, checks.Database):
    """SELECT 1 on the default database (django-health-check's own check)."""

    name = "database"

    def check(self) -> None:
        checks.Database.run(self)


@dataclasses.dataclass
class Cache(checks.Cache):
    """A value written to the default cache and read back (django-health-check's own check)."""

    name = "cache"


@dataclasses.dataclass
class Migrations(InRequestThread):
    """Every migration on disk is recorded as applied in the database."""

    name = "migrations"
    alias: str = "default"

    def check(self) -> None:
        executor = MigrationExecutor(connections[self.alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            raise ServiceUnavailable(f"{len(plan)} migrations not applied")


@dataclasses.dataclass
class Broker(InRequestThread):
    """The broker django-q2 is configured with (Q_CLUSTER) answers.

    The ORM broker's ping() answers True without asking the database, so the queue's size is
    asked too: for the ORM broker that reads its table, for Redis it is one more round trip.
    """

    name = "broker"

    def check(self) -> None:
        try:
            broker = get_broker()
            answered = broker.ping()
            broker.queue_size()
        except Exception as error:
            reason = f"the broker is unreachable ({type(error).__name__})"
            raise ServiceUnavailable(reason) from error
        if not answered:
            raise ServiceUnavailable("the broker did not answer its ping")


@dataclasses.dataclass
class WorkerHeartbeat(InRequestThread):
    """A worker ran the heartbeat task (every minute) less than HEALTH_WORKER_STALE_SECONDS ago:
    its scheduler, its queue and at least one worker process are working."""

    name = "worker_heartbeat"

    def check(self) -> None:
        age = services.worker_heartbeat_age(timezone.now())
        if age is None:
            raise ServiceUnavailable("no worker has written a heartbeat yet")
        if age.total_seconds() > settings.HEALTH_WORKER_STALE_SECONDS:
            raise ServiceUnavailable(f"the last heartbeat is {age.total_seconds():.0f} s old")


class ReadyView(HealthCheckView):
    """Every check, at once; 200 when all pass, 503 (not django-health-check's 500) otherwise,
    always as JSON."""

    checks = (Database, Cache, Migrations, Broker, WorkerHeartbeat)

    async def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        # One after the other: they share the request's thread, so each time is the check's own.
        with self.get_executor() as executor:
            results = [await check.get_result(executor) for check in self.get_checks()]
        failing = any(result.error for result in results)
        answer = {
            "status": "failing" if failing else "ok",
            "checks": {
                result.check.name: {
                    "status": "failing" if result.error else "ok",
                    "seconds": round(result.time_taken, 4),
                }
                for result in results
            },
        }
        return JsonResponse(answer, status=503 if failing else 200)


@require_safe
@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


ready = ReadyView.as_view()

# The probes' addresses (a contract with the load balancer), as ops.middleware answers them.
PROBES = {"/health/live": live, "/health/ready": ready}
