import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.choices import Scope
from integrations.models import ApiKey
from leads.models import Lead


def test_only_a_hash_of_the_key_is_stored(issue_key):
    raw = issue_key(Scope.LEADS_WRITE)

    key = ApiKey.objects.get()
    assert raw.startswith("lrk_") and len(raw) > 40
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(v) for v in ApiKey.objects.values().get().values()}
    assert raw.startswith(key.prefix)


def test_it_refuses_a_call_without_a_key(api, lead_body):
    response = api.put("/leads/L-1", lead_body, key=None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not Lead.objects.exists()


@pytest.mark.parametrize("bad", ["lrk_not-a-real-key", "nonsense", "lrk_" + "x" * 300])
def test_it_refuses_an_unknown_key(api, lead_body, bad):
    response = api.put("/leads/L-1", lead_body, key=bad)

    assert response.status_code == 401
    assert not Lead.objects.exists()


def test_it_refuses_another_auth_scheme(client, key, lead_body):
    response = client.put(
        "/api/v1/leads/L-1",
        data=lead_body,
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )

    assert response.status_code == 401


def test_it_refuses_a_revoked_key(api, lead_body, key):
    ApiKey.objects.get().revoke()

    response = api.put("/leads/L-1", lead_body, key=key)

    assert response.status_code == 401
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/leads/L-1", Scope.LEADS_WRITE),
        ("/messages/M-1", Scope.MESSAGES_WRITE),
        ("/attempts/C-1", Scope.ATTEMPTS_WRITE),
    ],
)
def test_each_write_needs_its_scope(api, issue_key, lead_body, path, scope):
    others = [s for s in Scope if s != scope]

    response = api.put(path, lead_body, key=issue_key(*others))

    assert response.status_code == 403
    assert scope.value in response.json()["detail"]
    assert not Lead.objects.exists()


def test_a_key_with_the_scope_is_let_in(api, issue_key, lead_body):
    response = api.put("/leads/L-1", lead_body, key=issue_key(Scope.LEADS_WRITE))

    assert response.status_code == 201


def test_the_key_is_checked_before_the_body(api, lead_body):
    response = api.put("/leads/L-1", {"junk": True}, key="lrk_wrong")

    assert response.status_code == 401


def test_a_call_records_when_the_key_was_last_used(api, lead_body):
    api.put("/leads/L-1", lead_body)

    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(seconds=5)


def test_last_use_is_written_at_most_once_a_minute(api, lead_body):
    api.put("/leads/L-1", lead_body)
    first = ApiKey.objects.get().last_used_at

    api.put("/leads/L-1", lead_body)

    assert ApiKey.objects.get().last_used_at == first
