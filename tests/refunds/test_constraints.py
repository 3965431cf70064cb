"""The database itself refuses what must never happen, whatever the code above it does."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django_fsm import TransitionNotAllowed

from refunds import services
from refunds.choices import Outcome, Status
from refunds.models import Credit, Decision, ImmutableError, RefundEvent, RefundRequest
from tests.factories import LeadFactory, RefundRequestFactory

pytestmark = pytest.mark.django_db


def test_a_lead_can_have_only_one_request(lead):
    RefundRequestFactory(lead=lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        RefundRequestFactory(lead=lead)
    assert RefundRequest.objects.filter(lead=lead).count() == 1


def test_a_request_can_have_only_one_credit(lead):
    request = RefundRequestFactory(lead=lead)
    Credit.objects.create(request=request, amount=lead.price, method=lead.payment_method)
    with pytest.raises(IntegrityError), transaction.atomic():
        Credit.objects.create(request=request, amount=lead.price, method=lead.payment_method)
    assert Credit.objects.filter(request=request).count() == 1


def test_a_credit_must_be_positive(lead):
    request = RefundRequestFactory(lead=lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        Credit.objects.create(request=request, amount=Decimal("0.00"), method="balance")


def test_a_lead_price_cannot_be_negative(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(pro=alice, price=Decimal("-1.00"))


def test_the_status_cannot_be_set_directly(lead):
    request = RefundRequestFactory(lead=lead)
    with pytest.raises(AttributeError):
        request.status = Status.CREDITED
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_a_transition_from_the_wrong_state_is_refused(lead):
    request = RefundRequestFactory(lead=lead)
    with pytest.raises(TransitionNotAllowed):
        request.mark_credited()
    with pytest.raises(TransitionNotAllowed):
        request.open_dispute()


def test_a_stale_copy_cannot_overwrite_a_newer_state(lead):
    """ConcurrentTransitionMixin: a second writer working from the old state is refused."""
    from django_fsm import ConcurrentTransition

    first = RefundRequest.objects.get(pk=RefundRequestFactory(lead=lead).pk)
    second = RefundRequest.objects.get(pk=first.pk)
    first.withdraw()
    first.save()
    second.withdraw()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        second.save()


def test_a_denial_needs_an_explanation_and_guidance(lead):
    request = RefundRequestFactory(lead=lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(request=request, outcome=Outcome.DENIED, explanation="Why")
    Decision.objects.create(request=request, outcome=Outcome.APPROVED)
    assert request.decisions.count() == 1


def test_events_are_never_changed_or_deleted(lead):
    request = RefundRequestFactory(lead=lead)
    event = RefundEvent.objects.create(request=request, action="submit", to_status="submitted")
    event.note = "rewritten"
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()
    event.refresh_from_db()
    assert event.note == ""


def test_a_lead_knows_its_report_deadline(lead, settings):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "REPORT_WINDOW_DAYS": 14}
    assert services.report_deadline(lead) == lead.received_at + timedelta(days=14)
    assert services.reportable(lead, lead.received_at + timedelta(days=14))
    assert not services.reportable(lead, lead.received_at + timedelta(days=14, seconds=1))
