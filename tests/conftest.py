"""Personas built once per test: alice owns the lead, bob is another pro in her market,
rita and ralph review, sam and sue are support, root is a superuser."""

import importlib
import io
import json
import logging

import pytest
from django.core.cache import cache

from accounts.choices import Role
from config.logs import JsonFormatter, RequestContextFilter
from tests.factories import (
    PASSWORD,
    LeadFactory,
    MarketFactory,
    ProFactory,
    StaffFactory,
    UserFactory,
)


@pytest.fixture
def market(db):
    return MarketFactory()


@pytest.fixture
def alice(market):
    return ProFactory(email="alice@example.test", profile__business_name="Alice Plumbing")


@pytest.fixture
def bob(market):
    return ProFactory(email="bob@example.test", profile__business_name="Bob's Pipes")


@pytest.fixture
def rita(db):
    return StaffFactory(email="rita@example.test", roles=[Role.REVIEWER])


@pytest.fixture
def ralph(db):
    return StaffFactory(email="ralph@example.test", roles=[Role.REVIEWER])


@pytest.fixture
def sam(db):
    return StaffFactory(email="sam@example.test", roles=[Role.SUPPORT])


@pytest.fixture
def sue(db):
    return StaffFactory(email="sue@example.test", roles=[Role.SUPPORT])


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.test", is_staff=True, is_superuser=True)


@pytest.fixture
def lead(alice):
    """A lead alice received three days ago, paid from her balance."""
    return LeadFactory(pro=alice)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def client_for(client):
    """Sign a persona in on the test client: client_for(alice).get(...)."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _empty_cache():
    """The cache outlives a test (the sign-in throttle's counts are in it): start each empty."""
    cache.clear()


@pytest.fixture(autouse=True)
def migration_data(request):
    """Roles, permissions and denial templates, made again for transactional tests.

    Transactional tests (the browser, concurrency, the load generator) flush every table
    afterwards, including what the data migration made, and serialized_rollback cannot restore
    it once Playwright's event loop has run on the thread. This puts the rows back before each
    such test, through the migration's own code.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    migration = importlib.import_module("refunds.migrations.0002_roles_and_denial_templates")
    migration.create_roles_and_templates(apps, None)
    later = importlib.import_module("refunds.migrations.0008_support_retries_credits")
    later.grant_retry_to_support(apps, None)
    spot_checks = importlib.import_module("refunds.migrations.0010_auto_approval")
    spot_checks.grant_spot_checks(apps, None)
    analytics = importlib.import_module("refunds.migrations.0013_analytics_permission")
    analytics.grant_analytics(apps, None)
    reversal_disputes = importlib.import_module("refunds.migrations.0022_reversal_dispute")
    reversal_disputes.grant_reversal_disputes(apps, None)


@pytest.fixture
def log_lines():
    """What the site's log handler (settings.LOGGING) writes, as parsed JSON lines: call it for
    the lines so far. JSON whatever LOG_FORMAT the suite runs with."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert any(isinstance(f, RequestContextFilter) for f in handler.filters)
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)
    handler.setFormatter(formatter)
