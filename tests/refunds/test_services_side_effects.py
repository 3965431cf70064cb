"""What a decision sets off once committed: the credit, the notices, the emails; each once."""

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry
from accounts.templatetags.local_time import day
from leads.choices import PaymentMethod
from refunds import services
from refunds.choices import CreditStatus, DecisionKind, Reason, Status
from refunds.models import SandboxRefund
from refunds.policy import add_business_days
from tests.factories import LeadFactory, ProFactory, RefundRequestFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, disputed, run_on_commit, submitted


@pytest.fixture
def approve(rita, django_capture_on_commit_callbacks):
    def approve_request(request):
        run_on_commit(
            django_capture_on_commit_callbacks,
            services.approve,
            reviewer=rita,
            request_id=request.pk,
        )
        request.refresh_from_db()
        return request

    return approve_request


def test_approving_a_balance_lead_credits_the_balance_at_once(alice, approve):
    request = approve(submitted(alice))
    assert request.status == Status.CREDITED
    credit = request.credit
    assert (credit.status, credit.amount, credit.attempts) == (
        CreditStatus.POSTED,
        Decimal("24.50"),
        1,
    )
    assert credit.ledger_entry.kind == LedgerKind.REFUND
    assert credit.ledger_entry.amount == Decimal("24.50")
    assert alice.balance() == Decimal("24.50")


def test_approving_tells_the_pro_in_the_inbox_and_by_email(alice, approve):
    request = approve(submitted(alice, customer_name="Dana Whitfield"))
    message = InboxMessage.objects.get(recipient=alice)
    assert message.subject == "Refund approved: Dana Whitfield"
    assert "$24.50 has been added to your prepaid balance" in message.body
    assert request.decisions.get().notice == message
    assert message.emailed_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.test"]
    assert mail.outbox[0].subject == "Refund approved: Dana Whitfield"


def test_approving_a_card_lead_refunds_the_card_through_the_gateway(alice, approve):
    request = approve(submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("40.00")))
    assert request.status == Status.CREDITED
    refund = SandboxRefund.objects.get()
    assert refund.idempotency_key == f"refund-request-{request.pk}"
    assert refund.amount == Decimal("40.00")
    expected = add_business_days(timezone.localdate(), 5)
    assert refund.settles_on == expected
    credit = request.credit
    assert (credit.gateway_reference, credit.expected_on) == (f"sbx_{refund.pk}", expected)
    assert credit.ledger_entry is None
    assert alice.balance() == Decimal("0.00")
    body = InboxMessage.objects.get(recipient=alice).body
    assert "refunded to the card you paid with" in body
    assert f"expect it by {day(expected)}." in body


def test_card_settlement_follows_the_configured_business_days(alice, approve, settings):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "CARD_SETTLEMENT_BUSINESS_DAYS": 2}
    request = approve(submitted(alice, payment_method=PaymentMethod.CARD))
    assert request.credit.expected_on == add_business_days(timezone.localdate(), 2)


def test_posting_a_credit_twice_pays_once(alice, approve, django_capture_on_commit_callbacks):
    request = approve(submitted(alice))
    run_on_commit(django_capture_on_commit_callbacks, services.post_credit, request.credit.pk)
    run_on_commit(django_capture_on_commit_callbacks, services.post_credit, request.credit.pk)
    assert LedgerEntry.objects.filter(pro=alice).count() == 1
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1
    request.credit.refresh_from_db()
    assert request.credit.attempts == 1


def test_a_card_refund_posted_twice_reaches_the_gateway_once(
    alice, approve, django_capture_on_commit_callbacks
):
    request = approve(submitted(alice, payment_method=PaymentMethod.CARD))
    run_on_commit(django_capture_on_commit_callbacks, services.post_credit, request.credit.pk)
    assert SandboxRefund.objects.count() == 1


def test_the_gateway_itself_refunds_once_per_key(db):
    from refunds.gateway import SandboxGateway

    gateway = SandboxGateway()
    first = gateway.refund(idempotency_key="refund-request-7", amount=Decimal("10.00"))
    again = gateway.refund(idempotency_key="refund-request-7", amount=Decimal("10.00"))
    assert first == again
    assert SandboxRefund.objects.count() == 1


def test_denying_tells_the_pro_with_explanation_and_guidance_then_closes(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice, customer_name="Dana Whitfield")
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.deny,
        reviewer=rita,
        request_id=request.pk,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    message = InboxMessage.objects.get(recipient=alice)
    assert message.subject == "Refund denied: Dana Whitfield"
    assert EXPLANATION in message.body and GUIDANCE in message.body
    assert "dispute the decision from this message in your Inbox" in message.body
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Refund denied: Dana Whitfield"


def test_delivering_a_denial_twice_notifies_once(alice, rita, django_capture_on_commit_callbacks):
    request = submitted(alice)
    decision = run_on_commit(
        django_capture_on_commit_callbacks,
        services.deny,
        reviewer=rita,
        request_id=request.pk,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    run_on_commit(django_capture_on_commit_callbacks, services.deliver_denial, decision.pk)
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1
    assert request.events.filter(action="denial_sent").count() == 1


def test_emailing_a_notice_twice_sends_one_email(alice, django_capture_on_commit_callbacks):
    message = InboxMessage.objects.create(recipient=alice, subject="Hello", body="Body")
    services.email_notice(message.pk)
    services.email_notice(message.pk)
    assert len(mail.outbox) == 1
    assert "Read this message in your Inbox:" in mail.outbox[0].body


@pytest.fixture
def crowded_market(alice, market):
    """Five peers at a 10% refund rate, and alice with 10 leads and 3 requests already."""
    for _ in range(5):
        peer = ProFactory()
        leads = LeadFactory.create_batch(10, pro=peer)
        RefundRequestFactory(lead=leads[0])
    leads = LeadFactory.create_batch(10, pro=alice)
    for lead in leads[:3]:
        RefundRequestFactory(lead=lead)
    return leads


def test_an_automatic_denial_reaches_the_inbox_without_an_email(
    alice, crowded_market, django_capture_on_commit_callbacks
):
    request = run_on_commit(
        django_capture_on_commit_callbacks,
        services.submit_report,
        pro=alice,
        lead_id=crowded_market[5].pk,
        reason=Reason.WRONG_JOB,
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    assert request.decisions.get().kind == DecisionKind.AUTOMATIC
    message = InboxMessage.objects.get(recipient=alice)
    assert "denied automatically" in message.body
    assert message.emailed_at is None
    assert mail.outbox == []


def test_overturning_credits_the_pro_and_says_so(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    mail.outbox.clear()
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="The thread shows a roofing job.",
    )
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert alice.balance() == Decimal("24.50")
    latest = InboxMessage.objects.filter(recipient=alice).first()
    assert "reversed the earlier decision" in latest.body
    assert "The thread shows a roofing job." in latest.body
    assert len(mail.outbox) == 1


def test_upholding_sends_the_final_word(alice, rita, sam, django_capture_on_commit_callbacks):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    mail.outbox.clear()
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.uphold,
        agent=sam,
        request_id=request.pk,
        explanation="The customer asked for plumbing.",
        guidance="Keep your categories current.",
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    latest = InboxMessage.objects.filter(recipient=alice).first()
    assert latest.subject.startswith("Dispute reviewed: refund still denied")
    assert "The customer asked for plumbing." in latest.body
    assert "final" in latest.body
    assert len(mail.outbox) == 1
    assert request.decisions.count() == 2


def test_side_effects_wait_for_the_commit(alice, rita, django_capture_on_commit_callbacks):
    request = submitted(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        services.approve(reviewer=rita, request_id=request.pk)
    assert len(callbacks) == 1
    assert LedgerEntry.objects.count() == 0
    assert mail.outbox == []
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert request.credit.status == CreditStatus.PENDING
