from datetime import timedelta

import pytest

from leads.models import ContactAttempt
from tests.factories import LeadFactory, RefundRequestFactory
from tests.integrations.conftest import iso


@pytest.fixture
def lead(alice):
    return LeadFactory(marketplace_id="L-1", pro=alice)


@pytest.fixture
def attempt_body(lead):
    return {
        "lead_id": "L-1",
        "channel": "phone",
        "outcome": "no_answer",
        "attempted_at": iso(lead.received_at + timedelta(hours=1)),
        "source": "telephony",
        "note": "Rang six times.",
    }


def test_it_logs_a_contact_attempt(api, attempt_body, lead):
    response = api.put("/attempts/C-1", attempt_body)

    assert response.status_code == 201
    attempt = ContactAttempt.objects.get(marketplace_id="C-1")
    assert attempt.lead == lead
    assert (attempt.channel, attempt.outcome, attempt.source) == ("phone", "no_answer", "telephony")


def test_replaying_an_attempt_changes_nothing(api, attempt_body):
    api.put("/attempts/C-1", attempt_body)

    response = api.put("/attempts/C-1", attempt_body)

    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"
    assert ContactAttempt.objects.count() == 1


def test_an_attempt_can_be_corrected_before_a_refund_request(api, attempt_body):
    api.put("/attempts/C-1", attempt_body)

    response = api.put("/attempts/C-1", attempt_body | {"outcome": "voicemail"})

    assert response.status_code == 200
    assert response.json()["changed"] == ["outcome"]
    assert ContactAttempt.objects.get(marketplace_id="C-1").outcome == "voicemail"


def test_an_attempt_is_frozen_once_the_lead_is_reported(api, attempt_body, lead):
    api.put("/attempts/C-1", attempt_body)
    RefundRequestFactory(lead=lead)

    response = api.put("/attempts/C-1", attempt_body | {"outcome": "answered"})

    assert response.status_code == 409
    assert "refund" in response.json()["detail"]
    assert ContactAttempt.objects.get(marketplace_id="C-1").outcome == "no_answer"


def test_new_attempts_still_arrive_after_a_report(api, attempt_body, lead):
    RefundRequestFactory(lead=lead)

    assert api.put("/attempts/C-2", attempt_body).status_code == 201


def test_an_attempt_never_moves_to_another_lead(api, attempt_body, alice):
    LeadFactory(marketplace_id="L-2", pro=alice)
    api.put("/attempts/C-1", attempt_body)

    response = api.put("/attempts/C-1", attempt_body | {"lead_id": "L-2"})

    assert response.status_code == 409
    assert ContactAttempt.objects.get(marketplace_id="C-1").lead.marketplace_id == "L-1"


def test_the_source_must_match_the_channel(api, attempt_body):
    response = api.put("/attempts/C-1", attempt_body | {"source": "messaging"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "channel", "message": "messaging logs in-app messages only"}
    ]


def test_it_refuses_an_attempt_before_the_lead_arrived(api, attempt_body, lead):
    at = iso(lead.received_at - timedelta(days=1))

    response = api.put("/attempts/C-1", attempt_body | {"attempted_at": at})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attempted_at"
    assert not ContactAttempt.objects.exists()


def test_it_refuses_attempts_logged_by_the_pro(api, attempt_body):
    response = api.put("/attempts/C-1", attempt_body | {"source": "pro", "outcome": "maybe"})

    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == ["outcome", "source"]
