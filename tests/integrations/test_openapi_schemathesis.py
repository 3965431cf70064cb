"""schemathesis against the OpenAPI document the API serves, through Django's WSGI app.

Bounded and deterministic: a fixed number of derandomized examples per operation. It checks
that no input makes a server error and that every answer matches the documented schema.
"""

from datetime import UTC, datetime

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.models import ProLink
from tests.factories import LeadFactory

# Loaded at collection, like a client would: the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


@pytest.fixture
def documented_examples(alice, plumbing):
    """What the document's examples name: pro mp-pro-1001 (alice) and lead mp-lead-5001."""
    ProLink.objects.create(pro=alice, marketplace_pro_id="mp-pro-1001")
    LeadFactory(
        marketplace_id="mp-lead-5001",
        pro=alice,
        category=plumbing,
        received_at=datetime(2026, 1, 15, 14, 5, tzinfo=UTC),
    )


@pytest.fixture
def shared_connection():
    """Like Django's test client: the requests share the test's transaction, so the handler
    must not close the connection at the end of each one."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema(case, key, documented_examples, shared_connection):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
