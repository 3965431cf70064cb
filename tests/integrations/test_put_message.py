from datetime import timedelta

import pytest

from leads.models import Message
from tests.factories import LeadFactory, RefundRequestFactory
from tests.integrations.conftest import iso


@pytest.fixture
def reported_lead(alice):
    """Alice's lead L-1, received two days ago; no refund request yet."""
    return LeadFactory(marketplace_id="L-1", pro=alice)


@pytest.fixture
def message_body(reported_lead):
    return {
        "lead_id": "L-1",
        "sender": "customer",
        "body": "  Are you free on Thursday morning?  ",
        "sent_at": iso(reported_lead.received_at + timedelta(minutes=5)),
    }


def test_it_adds_a_message_to_the_thread(api, message_body, reported_lead):
    response = api.put("/messages/M-1", message_body)

    assert response.status_code == 201
    assert response.json()["result"] == "created"
    message = Message.objects.get(marketplace_id="M-1")
    assert message.lead == reported_lead
    assert message.sender == "customer"
    assert message.body == "Are you free on Thursday morning?"


def test_replaying_a_message_changes_nothing(api, message_body):
    api.put("/messages/M-1", message_body)

    response = api.put("/messages/M-1", message_body)

    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"
    assert Message.objects.count() == 1


def test_a_stored_message_is_never_rewritten(api, message_body):
    api.put("/messages/M-1", message_body)

    response = api.put("/messages/M-1", message_body | {"body": "Actually, Friday."})

    assert response.status_code == 409
    assert response.json()["fields"] == ["body"]
    assert Message.objects.get(marketplace_id="M-1").body == "Are you free on Thursday morning?"


def test_a_stored_message_is_not_rewritten_during_review(api, message_body, reported_lead):
    api.put("/messages/M-1", message_body)
    RefundRequestFactory(lead=reported_lead)

    response = api.put("/messages/M-1", message_body | {"sender": "pro"})

    assert response.status_code == 409
    assert Message.objects.get(marketplace_id="M-1").sender == "customer"


def test_new_messages_still_arrive_during_review(api, message_body, reported_lead):
    RefundRequestFactory(lead=reported_lead)

    response = api.put("/messages/M-2", message_body)

    assert response.status_code == 201


def test_it_refuses_a_message_for_an_unknown_lead(api, message_body):
    response = api.put("/messages/M-1", message_body | {"lead_id": "L-404"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lead_id"
    assert not Message.objects.exists()


def test_it_refuses_a_message_older_than_its_lead(api, message_body, reported_lead):
    sent = iso(reported_lead.received_at - timedelta(hours=1))

    response = api.put("/messages/M-1", message_body | {"sent_at": sent})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sent_at"


def test_it_lists_every_invalid_field(api, message_body):
    response = api.put(
        "/messages/M-1", {"lead_id": "L-1", "sender": "robot", "body": "", "sent_at": 12}
    )

    assert response.status_code == 422
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["body", "sender", "sent_at"]
