"""The read replica: no alias and no change without DATABASE_REPLICA_URL; with it, a `replica`
alias and the router (tests/test_replica.py, run here in a second process with one set)."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, connections
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import Market
from config.db_router import REPLICA, replica_configured, replica_reads, using_replica

ROOT = Path(__file__).resolve().parent.parent

no_replica = pytest.mark.skipif(
    replica_configured(), reason="DATABASE_REPLICA_URL is set in this run's environment"
)


def settings_with(**env: str) -> subprocess.CompletedProcess:
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted(settings.DATABASES), getattr(settings, 'DATABASE_ROUTERS', []))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@no_replica
def test_without_a_replica_url_there_is_no_replica_and_no_router():
    assert list(settings.DATABASES) == ["default"]
    assert settings.DATABASE_ROUTERS == []
    assert REPLICA not in connections


@no_replica
@pytest.mark.django_db
def test_without_a_replica_the_marks_change_nothing(market):
    @replica_reads
    def heavy(request):
        return HttpResponse(",".join(m.name for m in Market.objects.all()))

    with CaptureQueriesContext(connection) as queries:
        with using_replica():
            assert Market.objects.count() == 1
        assert heavy(RequestFactory().get("/")).content == b"Austin, TX"
    assert len(queries) == 2


def test_a_replica_url_adds_the_alias_and_the_router():
    result = settings_with(
        DATABASE_URL="sqlite:///refunds.sqlite3",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/refunds",
    )
    assert result.returncode != 0
    assert "same engine as DATABASE_URL" in result.stderr

    result = settings_with(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/refunds",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/refunds",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['default', 'replica'] ['config.db_router.ReplicaRouter']"


def test_a_malformed_replica_url_stops_the_start():
    result = settings_with(DATABASE_REPLICA_URL="not a url")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL is not a database URL" in result.stderr


@no_replica
def test_the_routing_suite_passes_with_a_mirrored_replica():
    """tests/test_replica.py in a pytest of its own, with the replica set to the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    primary = env.get("DATABASE_URL", "")
    if primary.startswith("postgres"):
        # Its own test database, not the one this run is using.
        url = urlsplit(primary)
        primary = urlunsplit(url._replace(path=url.path.rstrip("/") + "_replica_check"))
        env["DATABASE_URL"] = primary
    else:
        primary = f"sqlite:///{ROOT / 'db.sqlite3'}"  # tests use an in-memory database instead
    env["DATABASE_REPLICA_URL"] = primary
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_replica.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
