"""Each change of a request, through the real services, announces its event with its data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refunds import services
from tests.factories import LeadFactory
from tests.refunds.staff_flows import (
    EXPLANATION,
    GUIDANCE,
    denied,
    disputed,
    run_on_commit,
    submitted,
)
from tests.webhooks.readme import readme_verifier
from webhooks import delivery as sending
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def steps(receiver) -> list[tuple[int, str, str]]:
    return [(b["sequence"], b["type"], b["data"]["status"]) for b in receiver.bodies()]


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_an_approval_announces_submitted_approved_credited_with_the_request_s_data(
    alice, rita, endpoint, receiver, capture
):
    with capture(execute=True):
        request = submitted(alice, price="31.00")
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
    assert steps(receiver) == [
        (1, "refund.submitted", "submitted"),
        (2, "refund.approved", "reviewed"),
        (3, "refund.credited", "credited"),
    ]
    for body in receiver.bodies():
        assert body["data"] == {
            "lead_id": request.lead.marketplace_id,
            "status": body["data"]["status"],
            "amount": "31.00",
            "method": "balance",
            "reason": "wrong_job",
        }
    verify = readme_verifier()
    assert all(
        verify(got.body, got.headers["Refunds-Signature"], endpoint.secret)
        for got in receiver.received
    )


def test_a_denial_is_announced_when_its_notice_goes_out(alice, rita, endpoint, receiver, capture):
    with capture(execute=True):
        denied(capture, alice, rita)
    assert steps(receiver) == [
        (1, "refund.submitted", "submitted"),
        (2, "refund.denied", "denied"),
    ]


def test_a_dispute_overturned_is_opened_resolved_approved_and_credited(
    alice, rita, sam, endpoint, receiver, capture
):
    with capture(execute=True):
        request = disputed(capture, alice, rita)
    run_on_commit(capture, services.overturn, agent=sam, request_id=request.pk, note="Fair point.")
    assert steps(receiver) == [
        (1, "refund.submitted", "submitted"),
        (2, "refund.denied", "denied"),
        (3, "dispute.opened", "disputed"),
        (4, "refund.approved", "reviewed"),
        (5, "dispute.resolved", "reviewed"),
        (6, "refund.credited", "credited"),
    ]
    assert receiver.bodies()[4]["data"]["resolution"] == "overturned"


def test_part_of_the_price_is_announced_with_the_part_and_a_top_up_with_the_whole(
    alice, rita, sam, endpoint, receiver, capture
):
    with capture(execute=True):
        request = submitted(alice, price="24.50")
    run_on_commit(
        capture,
        services.approve_part,
        reviewer=rita,
        request_id=request.pk,
        share=50,
        reason="The customer did ask for a quote first.",
    )
    with capture(execute=True):
        services.open_dispute(pro=alice, request_id=request.pk, message="They never answered.")
    run_on_commit(capture, services.overturn, agent=sam, request_id=request.pk, note="Fair.")
    amounts = [(b["type"], b["data"]["amount"]) for b in receiver.bodies()]
    assert amounts == [
        ("refund.submitted", "24.50"),
        ("refund.approved", "12.25"),
        ("refund.credited", "12.25"),
        ("dispute.opened", "24.50"),
        ("refund.approved", "24.50"),
        ("dispute.resolved", "24.50"),
        ("refund.credited", "24.50"),
    ]
    assert receiver.bodies()[-1]["data"]["top_up"] == "12.25"


def test_a_dispute_upheld_is_resolved_then_denied_again(
    alice, rita, sam, endpoint, receiver, capture
):
    with capture(execute=True):
        request = disputed(capture, alice, rita)
    run_on_commit(
        capture,
        services.uphold,
        agent=sam,
        request_id=request.pk,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    assert steps(receiver)[2:] == [
        (3, "dispute.opened", "disputed"),
        (4, "dispute.resolved", "reviewed"),
        (5, "refund.denied", "denied"),
    ]
    assert receiver.bodies()[3]["data"]["resolution"] == "upheld"


def test_an_automatic_approval_is_announced_like_a_reviewer_s(alice, endpoint, receiver, capture):
    LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=5))
    twin = LeadFactory(pro=alice, payment_method="card")
    with capture(execute=True):
        services.submit_report(pro=alice, lead_id=twin.pk, reason="duplicate")
    assert steps(receiver) == [
        (1, "refund.submitted", "submitted"),
        (2, "refund.approved", "reviewed"),
        (3, "refund.credited", "credited"),
    ]
    assert {b["data"]["method"] for b in receiver.bodies()} == {"card"}
    assert {b["data"]["reason"] for b in receiver.bodies()} == {"duplicate"}


# A reviewer's approval can be undone for REFUND_UNDO_SECONDS: it is announced after that.


@pytest.fixture
def undo_window(settings):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}


def test_a_reviewer_s_approval_is_sent_once_it_can_no_longer_be_undone(
    alice, rita, endpoint, receiver, capture, undo_window
):
    request = submitted(alice)
    now = timezone.now()
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk, now=now)
    approval = Delivery.objects.get(event__type=EventType.REFUND_APPROVED)
    assert approval.next_attempt_at == now + timedelta(seconds=60)
    assert sending.send_due(now=now + timedelta(seconds=59)) == 1  # the submission only
    assert steps(receiver) == [(1, "refund.submitted", "submitted")]
    sending.send_due(now=now + timedelta(seconds=60))
    assert steps(receiver)[1:] == [(2, "refund.approved", "reviewed")]


def test_an_undone_approval_is_never_announced(
    alice, rita, endpoint, receiver, capture, undo_window
):
    request = submitted(alice)
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
    services.undo(reviewer=rita, request_id=request.pk)
    assert not Event.objects.filter(type=EventType.REFUND_APPROVED).exists()
    assert sending.send_due(now=timezone.now() + timedelta(hours=1)) == 1
    assert [b["type"] for b in receiver.bodies()] == ["refund.submitted"]
    # Decided again: the receiver's sequence has no gap where the undone approval was.
    decision = run_on_commit(
        capture,
        services.deny,
        reviewer=rita,
        request_id=request.pk,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    run_on_commit(capture, services.release_decision, decision.pk)  # the undo time is over
    assert steps(receiver) == [(1, "refund.submitted", "submitted"), (2, "refund.denied", "denied")]
    assert not Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()


def test_asking_the_customer_sends_the_question_to_the_marketplace(
    alice, rita, endpoint, receiver, capture
):
    lead = LeadFactory(pro=alice)
    with capture(execute=True):
        request = services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job")
    question = run_on_commit(capture, services.ask_customer, reviewer=rita, request_id=request.pk)

    assert steps(receiver) == [
        (1, "refund.submitted", "submitted"),
        (2, "refund.customer_question", "submitted"),
    ]
    data = receiver.bodies()[1]["data"]
    assert (data["lead_id"], data["question_id"], data["question"]) == (
        lead.marketplace_id,
        question.pk,
        question.text,
    )
