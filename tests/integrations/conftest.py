"""Keys and a client for the ingest API: alice's marketplace id is mp-alice."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.choices import Scope
from integrations.models import ApiKey, ProLink
from tests.factories import ServiceCategoryFactory


def iso(moment) -> str:
    return moment.replace(microsecond=0).isoformat()


@pytest.fixture
def issue_key(db):
    """issue_key(Scope.LEADS_WRITE, ...) → the raw key of a new API key with those scopes."""

    def issue(*scopes: Scope, name: str = "Marketplace") -> str:
        _, raw = ApiKey.issue(name, [s.value for s in scopes])
        return raw

    return issue


@pytest.fixture
def key(issue_key):
    """A key allowed everything."""
    return issue_key(*Scope)


@pytest.fixture
def alice_link(alice):
    return ProLink.objects.create(pro=alice, marketplace_pro_id="mp-alice")


@pytest.fixture
def plumbing(db):
    return ServiceCategoryFactory(name="Plumbing", slug="plumbing")


@pytest.fixture
def roofing(db):
    return ServiceCategoryFactory(name="Roofing", slug="roofing")


@pytest.fixture
def api(client, key):
    """Calls the API with the all-scopes key: api.put(path, body), api.get(path)."""

    class Api:
        def put(self, path, body, key=key, **extra):
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
            return client.put(
                f"/api/v1{path}",
                data=data,
                content_type="application/json",
                headers={"Authorization": f"Bearer {key}"} if key else {},
                **extra,
            )

        def get(self, path, key=key):
            return client.get(
                f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"} if key else {}
            )

    return Api()


@pytest.fixture
def lead_body(alice_link, plumbing):
    """A valid body for PUT /leads/{id}: alice's plumbing lead, received a day ago."""
    return {
        "pro_id": "mp-alice",
        "customer_name": "Dana Whitaker",
        "customer_phone": "(512) 555-0199",
        "customer_email": "Dana.Whitaker@Example.com",
        "category": "plumbing",
        "location": "Austin, TX 78704",
        "request_text": "The water heater pilot light keeps going out.",
        "price": "24.50",
        "payment_method": "balance",
        "received_at": iso(timezone.now() - timedelta(days=1)),
    }
