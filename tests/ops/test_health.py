"""/health/live and /health/ready: what a load balancer and a deploy ask, with no sign-in.

Failures are real ones: a migration the database does not have, a cache server that is not
there, a broker that does not answer, a worker that stopped writing its heartbeat.
"""

from __future__ import annotations

import pydoc
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from refunds import services, tasks
from refunds.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

LIVE = "/health/live"
READY = "/health/ready"
CHECKS = {"database", "cache", "migrations", "broker", "worker_heartbeat"}
# Nowhere listens on port 1 of this machine: a connection is refused at once.
NOWHERE = "redis://127.0.0.1:1"


def failing(response) -> set[str]:
    return {name for name, check in response.json()["checks"].items() if check["status"] != "ok"}


@pytest.fixture
def heartbeat():
    """A worker ran the heartbeat task just now."""
    tasks.worker_heartbeat()


def test_the_addresses_are_the_contract():
    assert reverse("health_live") == LIVE
    assert reverse("health_ready") == READY


def test_live_answers_without_asking_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(LIVE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_passes_when_every_check_does(client, heartbeat):
    response = client.get(READY)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        # The answer holds a status and a time, nothing else.
        assert set(check) == {"status", "seconds"}
        assert check["status"] == "ok"
        assert 0 <= check["seconds"] < 5


def test_ready_fails_before_any_worker_has_written_a_heartbeat(client):
    response = client.get(READY)
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert failing(response) == {"worker_heartbeat"}


def test_ready_fails_once_the_heartbeat_is_older_than_the_setting(client, settings):
    stale = timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS)
    services.record_heartbeat(now=timezone.now() - stale + timedelta(seconds=10))
    assert client.get(READY).status_code == 200

    services.record_heartbeat(now=timezone.now() - stale - timedelta(seconds=1))
    response = client.get(READY)
    assert response.status_code == 503
    assert failing(response) == {"worker_heartbeat"}

    settings.HEALTH_WORKER_STALE_SECONDS = 600
    assert client.get(READY).status_code == 200


def test_the_scheduled_heartbeat_writes_what_ready_reads(client):
    schedule = Schedule.objects.get(name="refunds: worker heartbeat")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
    assert callable(pydoc.locate(schedule.func))
    assert client.get(READY).status_code == 503

    before = timezone.now()
    async_task(schedule.func)  # the queue runs synchronously under the tests, as the worker would
    assert WorkerHeartbeat.objects.get().beat_at >= before
    assert client.get(READY).status_code == 200

    # Beating again updates the one row.
    tasks.worker_heartbeat()
    assert WorkerHeartbeat.objects.count() == 1


def test_ready_fails_when_a_migration_is_not_applied(client, heartbeat):
    # The newest: a plan only sees an unapplied migration with nothing applied after it.
    (latest,) = MigrationLoader(connection).graph.leaf_nodes("refunds")
    MigrationRecorder(connection).record_unapplied(*latest)
    response = client.get(READY)
    assert response.status_code == 503
    assert failing(response) == {"migrations"}


def test_ready_fails_when_the_cache_server_is_unreachable(client, heartbeat, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": NOWHERE}
    }
    response = client.get(READY)
    assert response.status_code == 503
    assert failing(response) == {"cache"}


def test_ready_fails_when_the_configured_broker_does_not_answer(client, heartbeat, monkeypatch):
    # django-q2 reads Q_CLUSTER once, into Conf: a Redis broker where no Redis listens.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", NOWHERE)
    response = client.get(READY)
    assert response.status_code == 503
    assert failing(response) == {"broker"}


def test_a_failure_says_no_more_than_its_status(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": NOWHERE}
    }
    body = client.get(READY).content.decode()
    assert "127.0.0.1" not in body and "redis" not in body.lower()
    assert "heartbeat yet" not in body


@pytest.mark.parametrize("path", [LIVE, READY])
def test_a_load_balancer_calling_an_instance_by_address_over_http_gets_the_answer(
    path, heartbeat, settings
):
    # Production: HTTPS only, one host name. The probe comes by IP address, over plain HTTP.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["refunds.example.com"]
    probe = Client(HTTP_HOST="10.0.3.7:8000")
    assert probe.get(path).status_code == 200
    assert probe.head(path).status_code == 200
    # Everything else still is refused that way, or sent to HTTPS.
    assert probe.get(reverse("login")).status_code == 400
    assert Client(HTTP_HOST="refunds.example.com").get(reverse("login")).status_code == 301


@pytest.mark.parametrize("path", [LIVE, READY])
def test_the_probes_take_no_post(client, path, heartbeat):
    assert client.post(path).status_code == 405
    assert Client(enforce_csrf_checks=True).post(path).status_code == 403
