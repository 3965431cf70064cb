from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.choices import Scope
from refunds import services
from refunds.choices import CreditStatus, Status
from tests.factories import LeadFactory, RefundRequestFactory


@pytest.fixture
def lead(alice):
    return LeadFactory(marketplace_id="L-1", pro=alice, price=Decimal("24.50"))


def test_it_says_when_a_lead_was_not_reported(api, lead):
    response = api.get("/leads/L-1/refund")

    assert response.status_code == 200
    body = response.json()
    assert body["lead_id"] == "L-1"
    assert body["refund"] is None
    assert body["reportable"] is True


def test_it_shows_a_submitted_request(api, lead, alice):
    services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job", details="Roof job.")

    body = api.get("/leads/L-1/refund").json()

    assert body["reportable"] is False
    assert body["refund"]["status"] == Status.SUBMITTED
    assert body["refund"]["reason"] == "wrong_job"
    assert body["refund"]["decision"] is None
    assert body["refund"]["credit"] is None


def test_it_shows_an_approval_and_its_credit(
    api, lead, alice, rita, django_capture_on_commit_callbacks
):
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job")
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=request.pk)

    refund = api.get("/leads/L-1/refund").json()["refund"]

    assert refund["decision"] == "approved"
    assert refund["status"] == Status.CREDITED
    assert refund["credit"]["amount"] == "24.50"
    assert refund["credit"]["status"] == CreditStatus.POSTED


def test_part_of_the_price_and_then_its_top_up_show_as_the_amount_refunded(
    api, lead, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job")
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_part(
            reviewer=rita, request_id=request.pk, share=50, reason="A quote was sent first."
        )
    credit = api.get("/leads/L-1/refund").json()["refund"]["credit"]
    assert (credit["amount"], credit["price"]) == ("12.25", "24.50")

    with django_capture_on_commit_callbacks(execute=True):
        services.open_dispute(pro=alice, request_id=request.pk, message="No quote was asked.")
    with django_capture_on_commit_callbacks(execute=True):
        services.overturn(agent=sam, request_id=request.pk, note="Fair.")
    credit = api.get("/leads/L-1/refund").json()["refund"]["credit"]
    assert (credit["amount"], credit["price"]) == ("24.50", "24.50")


def test_a_lead_past_its_window_is_not_reportable(api, alice):
    LeadFactory(marketplace_id="L-old", pro=alice, received_at=timezone.now() - timedelta(days=30))

    assert api.get("/leads/L-old/refund").json()["reportable"] is False


def test_a_request_in_any_state_is_shown(api, lead):
    RefundRequestFactory(lead=lead)

    assert api.get("/leads/L-1/refund").json()["refund"]["status_label"] == "Submitted"


def test_an_unknown_lead_is_not_found(api, db):
    response = api.get("/leads/L-404/refund")

    assert response.status_code == 404
    assert response.json()["detail"] == "No lead has this marketplace id."


def test_it_needs_the_status_scope(api, lead, issue_key):
    response = api.get("/leads/L-1/refund", key=issue_key(Scope.LEADS_WRITE))

    assert response.status_code == 403
