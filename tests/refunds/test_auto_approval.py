"""Automatic approval of clear-cut requests, from the pro's report through the worker to the
credit, the Inbox, the request page, the queue and the spot-check list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import InboxMessage, LedgerEntry
from leads.choices import Channel, Outcome, Sender
from refunds import services
from refunds.choices import CreditStatus, DecisionKind, Reason, Status
from refunds.management.commands.audit_refunds import problems_of
from refunds.models import RefundEvent, RefundRequest, SpotCheck
from tests.factories import (
    ContactAttemptFactory,
    LeadFactory,
    MessageFactory,
    ProFactory,
    ServiceCategoryFactory,
)
from tests.refunds.staff_flows import run_on_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(settings):
    """Change REFUND_POLICY entries for one test: policy(AUTO_APPROVE_SAMPLE_PERCENT=100)."""

    def change(**values):
        settings.REFUND_POLICY = {**settings.REFUND_POLICY, **values}

    return change


def twins(pro, **kwargs):
    """Two leads from the same customer sold to `pro`: the earlier one, and the one reported."""
    first = LeadFactory(pro=pro, received_at=timezone.now() - timedelta(days=6), **kwargs)
    second = LeadFactory(pro=pro, customer_phone=first.customer_phone, **kwargs)
    return first, second


def report(capture, pro, lead, reason):
    return run_on_commit(capture, services.submit_report, pro=pro, lead_id=lead.pk, reason=reason)


def test_a_duplicate_is_approved_and_credited_with_no_reviewer(
    alice, django_capture_on_commit_callbacks
):
    first, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    decision = request.decisions.get()
    assert decision.kind == DecisionKind.AUTO_APPROVAL
    assert decision.decided_by is None
    assert decision.rule == "duplicate"
    assert decision.facts["earlier_leads"] == [first.pk]
    assert f"lead #{first.pk}" in decision.explanation
    # The same credit, ledger and log as a reviewer's approval.
    assert request.credit.status == CreditStatus.POSTED
    assert LedgerEntry.objects.get(pro=alice).amount == lead.price
    actions = list(request.events.order_by("created_at", "id").values_list("action", flat=True))
    assert actions == ["submit", "auto_approve", "credit_posted"]
    assert list(problems_of(RefundRequest.objects.get(pk=request.pk))) == []
    notice = InboxMessage.objects.get(recipient=alice)
    assert "approved automatically" in notice.body
    assert decision.explanation in notice.body
    assert len(mail.outbox) == 1


def test_a_wrong_job_outside_the_pros_services_is_approved(
    alice, django_capture_on_commit_callbacks
):
    lead = LeadFactory(pro=alice, category=ServiceCategoryFactory(name="Roofing"))
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.WRONG_JOB)
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert request.decisions.get().rule == "outside_services"
    assert "Roofing" in request.decisions.get().explanation


def test_a_wrong_job_in_the_pros_services_waits_for_a_person(
    alice, django_capture_on_commit_callbacks
):
    lead = LeadFactory(pro=alice)  # the factory picks a category the pro offers
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.WRONG_JOB)
    assert request.status == Status.SUBMITTED
    assert not request.decisions.exists()


def unreachable_lead(pro):
    lead = LeadFactory(pro=pro, customer_email="")
    for outcome in (Outcome.WRONG_NUMBER, Outcome.DISCONNECTED):
        ContactAttemptFactory(lead=lead, channel=Channel.PHONE, outcome=outcome)
    return lead


def test_unreachable_contact_is_only_suggested_by_default(
    alice, rita, client_for, django_capture_on_commit_callbacks
):
    lead = unreachable_lead(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.INVALID_CONTACT)
    assert request.status == Status.SUBMITTED
    assert request.assessed.rule.suggested
    client = client_for(rita)
    page = client.get(reverse("admin:refunds_refundrequest_change", args=[request.pk]))
    assert "Automatic rule: Unreachable contact" in page.text
    assert "suggests approving" in page.text
    queue = client.get(reverse("admin:refunds_refundrequest_changelist"))
    assert "Rule suggests approving" in queue.text


def test_unreachable_contact_is_approved_when_switched_on(
    alice, policy, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_MODES={"unreachable_contact": "on"})
    lead = unreachable_lead(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.INVALID_CONTACT)
    request.refresh_from_db()
    assert request.status == Status.CREDITED


def test_a_customer_who_wrote_is_never_unreachable(
    alice, policy, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_MODES={"unreachable_contact": "on"})
    lead = unreachable_lead(alice)
    MessageFactory(lead=lead, sender=Sender.CUSTOMER, sent_at=timezone.now() - timedelta(days=1))
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.INVALID_CONTACT)
    assert request.status == Status.SUBMITTED


def test_a_refunded_earlier_lead_is_not_a_duplicate(
    alice, rita, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first, second = twins(alice)
    report(capture, alice, first, Reason.WRONG_JOB)  # waits for a person
    services.approve(reviewer=rita, request_id=first.refund_request.pk)
    request = report(capture, alice, second, Reason.DUPLICATE)
    assert request.status == Status.SUBMITTED
    assert not request.assessed.rule.applies


def _reviewer():
    from accounts.choices import Role
    from tests.factories import StaffFactory

    return StaffFactory(roles=[Role.REVIEWER])


def test_a_switched_off_rule_leaves_it_to_a_person(
    alice, policy, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_MODES={"duplicate": "off"})
    _, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    assert request.status == Status.SUBMITTED
    assert request.assessed.rule is None


def test_no_automatic_approval_above_the_price_cap(
    alice, policy, rita, client_for, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_MAX_PRICE=Decimal("20"))
    _, lead = twins(alice, price=Decimal("24.50"))
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    assert request.status == Status.SUBMITTED
    page = client_for(rita).get(reverse("admin:refunds_refundrequest_change", args=[request.pk]))
    assert "Held for a person" in page.text
    assert "above $20" in page.text


def test_a_pros_automatic_approvals_are_capped_over_30_days(
    alice, policy, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_PER_PRO_30D=2)
    statuses = []
    for _ in range(3):
        _, lead = twins(alice)
        request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
        statuses.append(RefundRequest.objects.get(pk=request.pk).status)
    assert statuses == [Status.CREDITED, Status.CREDITED, Status.SUBMITTED]


def test_the_peer_refund_rate_denial_comes_first(alice, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    for _ in range(5):
        LeadFactory(pro=ProFactory())  # quiet peers in alice's market
    for _ in range(10):
        lead = LeadFactory(pro=alice)
        report(capture, alice, lead, Reason.SPAM)  # a refund rate far above her peers'
    _, lead = twins(alice)
    request = report(capture, alice, lead, Reason.DUPLICATE)
    request.refresh_from_db()
    assert request.status == Status.DENIED
    assert request.decisions.get().kind == DecisionKind.AUTOMATIC


def test_the_pro_is_told_on_the_page_it_was_approved_automatically(
    alice, client_for, django_capture_on_commit_callbacks
):
    _, lead = twins(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            reverse("report", args=[lead.pk]), {"reason": Reason.DUPLICATE}, follow=True
        )
    assert "approved automatically" in response.text
    thread = client_for(alice).get(reverse("lead_thread", args=[lead.pk]))
    assert "Refund approved automatically" in thread.text


# Spot checks


def test_a_sampled_approval_lands_in_the_spot_check_list(
    alice, rita, policy, client_for, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_SAMPLE_PERCENT=100)
    _, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    check = SpotCheck.objects.get(decision__request=request)
    client = client_for(rita)
    listing = client.get(reverse("admin:refunds_spotcheck_changelist"))
    assert f"#{request.pk}" in listing.text and "Waiting" in listing.text
    url = reverse("admin:refunds_spotcheck_change", args=[check.pk])
    page = client.get(url)
    assert "Spot check of the automatic approval" in page.text
    response = client.post(url, {"verdict": "agree", "note": ""})
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.agreed is True and check.checked_by == rita
    # No money moved and the story of the request did not change.
    assert RefundRequest.objects.get(pk=request.pk).status == Status.CREDITED
    assert RefundEvent.objects.filter(request=request).count() == 3


def test_disagreeing_needs_a_note_and_changes_no_money(
    alice, rita, policy, client_for, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_SAMPLE_PERCENT=100)
    _, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    check = SpotCheck.objects.get(decision__request=request)
    client = client_for(rita)
    url = reverse("admin:refunds_spotcheck_change", args=[check.pk])
    refused = client.post(url, {"verdict": "disagree", "note": " "}, follow=True)
    assert "Say what the rule got wrong" in refused.text
    check.refresh_from_db()
    assert check.is_waiting
    client.post(url, {"verdict": "disagree", "note": "The earlier lead was another job."})
    check.refresh_from_db()
    assert check.agreed is False
    again = client.post(url, {"verdict": "agree"}, follow=True)
    assert "already checked" in again.text
    check.refresh_from_db()
    assert check.agreed is False
    assert RefundRequest.objects.get(pk=request.pk).credit.status == CreditStatus.POSTED


def test_support_sees_spot_checks_but_does_not_mark_them(
    alice, sam, policy, client_for, django_capture_on_commit_callbacks
):
    policy(AUTO_APPROVE_SAMPLE_PERCENT=100)
    _, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    check = SpotCheck.objects.get(decision__request=request)
    client = client_for(sam)
    url = reverse("admin:refunds_spotcheck_change", args=[check.pk])
    assert "Reviewers mark spot checks" in client.get(url).text
    client.post(url, {"verdict": "agree"})
    check.refresh_from_db()
    assert check.is_waiting


def test_no_sample_at_zero_percent(alice, policy, django_capture_on_commit_callbacks):
    policy(AUTO_APPROVE_SAMPLE_PERCENT=0)
    _, lead = twins(alice)
    report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    assert not SpotCheck.objects.exists()


def test_an_automatic_approval_is_disputed_and_overturned_only_the_usual_way(
    alice, sam, client_for, django_capture_on_commit_callbacks
):
    """Support cannot edit an automatic approval: the request page offers no action on it."""
    _, lead = twins(alice)
    request = report(django_capture_on_commit_callbacks, alice, lead, Reason.DUPLICATE)
    assert services.allowed_actions(RefundRequest.objects.get(pk=request.pk), sam) == set()
