"""Support reverses a credit whose conversation resumed afterwards: through the request page,
with an explanation, as a debit on the pro's balance the pro reads about in their Inbox; once."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.choices import LedgerKind, Role
from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod, Sender
from refunds import services
from refunds.choices import Status
from refunds.models import CreditReversal, Dispute, RefundEvent, RefundRequest, SandboxRefund
from tests.factories import ProFactory, StaffFactory
from tests.refunds.staff_flows import chatty_lead, credited, resumed, say

WHY = "The customer booked the job with you two days after the refund; the lead was good."


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def page(request) -> str:
    return f"/admin/refunds/refundrequest/{request.pk}/change/"


def reverse(capture, request, agent, explanation=WHY):
    with capture(execute=True):
        return services.reverse_credit(agent=agent, request_id=request.pk, explanation=explanation)


def test_support_reverses_a_credit_on_the_request_page(
    capture, client_for, alice, rita, sam, mailoutbox
):
    request = resumed(capture, alice, rita)
    assert alice.balance() == Decimal("24.50")
    client = client_for(sam)
    shown = client.get(page(request)).text
    assert 'value="reverse_credit"' in shown
    assert "Reverse the credit…" in shown

    # The explanation is required: the panel comes back with the error and nothing moved.
    empty = client.post(
        page(request), {"transition": "reverse_credit", "reverse_credit-explanation": " "}
    )
    assert empty.status_code == 400
    assert "This field is required." in empty.text
    assert not CreditReversal.objects.exists()

    with capture(execute=True):
        done = client.post(
            page(request), {"transition": "reverse_credit", "reverse_credit-explanation": WHY}
        )
    assert done.status_code == 302
    after = client.get(done.url).text
    assert "Reversed the credit of request" in after

    reversal = CreditReversal.objects.get(credit__request=request)
    assert (reversal.amount, reversal.reversed_by, reversal.explanation) == (
        Decimal("24.50"),
        sam,
        WHY,
    )
    assert reversal.ledger_entry.amount == Decimal("-24.50")
    assert reversal.ledger_entry.kind == LedgerKind.ADJUSTMENT
    assert alice.balance() == Decimal("0.00")
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    event = RefundEvent.objects.filter(request=request).latest("created_at", "id")
    assert (event.action, event.actor, event.note) == ("reverse_credit", sam, WHY)
    assert (event.from_status, event.to_status) == (Status.CREDITED, Status.CREDITED)

    # Off support's list; the page shows the reversal and offers it no more.
    listing = client.get("/admin/refunds/refundrequest/", {"state": "credited", "resumed": "yes"})
    assert list(listing.context["cl"].result_list) == []
    again = client.get(page(request)).text
    assert "−$24.50" in again and WHY in again
    assert 'value="reverse_credit"' not in again

    # The pro reads it in their Inbox, and by email.
    pro = client_for(alice)
    inbox = pro.get("/inbox/").text
    assert f"Refund reversed: {request.lead.customer_name}" in inbox
    message = InboxMessage.objects.get(credit_reversal=reversal)
    text = pro.get(f"/inbox/{message.pk}/").text
    assert "$24.50 has been taken back from your prepaid balance." in text
    assert WHY in text
    assert [m.subject for m in mailoutbox][-1] == message.subject
    credits = pro.get("/credits/").text
    assert "−$24.50" in credits
    assert "taken back from your balance" in credits

    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "consistent" in out.getvalue()


def test_a_card_refund_is_reversed_on_the_balance_never_on_the_card(capture, alice, rita, sam):
    request = resumed(capture, alice, rita, payment_method=PaymentMethod.CARD)
    assert SandboxRefund.objects.count() == 1
    reverse(capture, request, sam)
    assert SandboxRefund.objects.count() == 1  # no charge, no second refund
    assert alice.balance() == Decimal("-24.50")
    message = InboxMessage.objects.get(credit_reversal__credit__request=request)
    assert "The refund to your card stays where it is" in message.body
    call_command("audit_refunds", stdout=StringIO())


def test_the_marketplace_is_told_of_the_reversal(capture, alice, rita, sam):
    from webhooks.models import Event

    request = resumed(capture, alice, rita, payment_method=PaymentMethod.CARD)
    reverse(capture, request, sam)
    event = Event.objects.get(type="refund.reversed")
    assert event.data["lead_id"] == request.lead.marketplace_id
    assert event.data["reversed_amount"] == "24.50" and event.data["status"] == "credited"
    with pytest.raises(services.RefundError):
        reverse(capture, request, sam)
    assert Event.objects.filter(type="refund.reversed").count() == 1


def test_reversing_twice_is_refused_and_the_database_refuses_a_second(
    capture, alice, rita, sam, sue
):
    request = resumed(capture, alice, rita)
    reversal = reverse(capture, request, sam)
    with pytest.raises(services.RefundError, match="already been reversed"):
        reverse(capture, request, sue)
    assert LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.ADJUSTMENT).count() == 1
    assert RefundEvent.objects.filter(request=request, action="reverse_credit").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditReversal.objects.create(
            credit=reversal.credit,
            amount=reversal.amount,
            explanation="again",
            reversed_by=sue,
            ledger_entry=LedgerEntry.objects.create(
                pro=alice, kind=LedgerKind.ADJUSTMENT, amount=Decimal("-24.50")
            ),
        )


def test_only_a_resumed_conversation_is_reversed(capture, client_for, alice, rita, sam):
    quiet = credited(capture, alice, rita)
    assert 'value="reverse_credit"' not in client_for(sam).get(page(quiet)).text
    with pytest.raises(services.RefundError, match="conversation resumed"):
        reverse(capture, quiet, sam)
    assert not CreditReversal.objects.exists()


def test_who_may_not_reverse(capture, client_for, alice, rita, sam):
    request = resumed(capture, alice, rita)
    # A reviewer has no such button and the service refuses them.
    assert 'value="reverse_credit"' not in client_for(rita).get(page(request)).text
    with pytest.raises(services.RefundError, match="permission"):
        reverse(capture, request, rita)
    refused = client_for(rita).post(
        page(request), {"transition": "reverse_credit", "reverse_credit-explanation": WHY}
    )
    assert refused.status_code in (302, 400)
    # Support on their own request, made as a pro.
    paula = ProFactory(email="paula@example.test", is_staff=True)
    paula.groups.add(Group.objects.get(name=Role.SUPPORT.value))
    own = resumed(capture, paula, rita)
    assert 'value="reverse_credit"' not in client_for(paula).get(page(own)).text
    with pytest.raises(services.RefundError, match="your own refund request"):
        reverse(capture, own, paula)
    with pytest.raises(services.RefundError, match="Explain"):
        reverse(capture, request, sam, explanation="  ")
    assert not CreditReversal.objects.exists()
    assert alice.balance() == Decimal("24.50")


def test_the_audit_finds_a_reversal_that_does_not_balance(capture, alice, rita, sam):
    request = resumed(capture, alice, rita)
    reversal = reverse(capture, request, sam)
    call_command("audit_refunds", stdout=StringIO())
    LedgerEntry.objects.filter(pk=reversal.ledger_entry_id).update(amount=Decimal("-20.00"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "ledger shows $4.50 for the reversed credit, not $0.00" in out.getvalue()


def partly_credited(capture, pro, reviewer):
    """$12.25 of a $24.50 lead credited, and the conversation resumed after it."""
    lead = chatty_lead(pro, price=Decimal("24.50"))
    request = services.submit_report(pro=pro, lead_id=lead.pk, reason="wrong_job")
    with capture(execute=True):
        services.approve_part(
            reviewer=reviewer, request_id=request.pk, share=50, reason="A quote went out first."
        )
    request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
    assert request.status == Status.CREDITED
    return request


def test_a_topped_up_credit_is_reversed_whole_and_the_audit_balances(capture, alice, rita, sam):
    request = partly_credited(capture, alice, rita)
    with capture(execute=True):
        services.open_dispute(pro=alice, request_id=request.pk, message="They never replied.")
    with capture(execute=True):
        services.overturn(agent=sam, request_id=request.pk, note="Fair: pay the rest.")
    request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
    assert request.credit.total == Decimal("24.50")
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")
    other = StaffFactory(roles=[Role.SUPPORT])
    reversal = reverse(capture, request, other)
    assert reversal.amount == Decimal("24.50")
    assert alice.ledger_entries.aggregate(total=Sum("amount"))["total"] == Decimal("0.00")
    call_command("audit_refunds", stdout=StringIO())


def test_a_reversed_partial_credit_can_no_longer_be_disputed(capture, alice, rita, sam):
    request = partly_credited(capture, alice, rita)
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")
    reverse(capture, request, sam)
    with pytest.raises(services.RefundError, match="can be disputed"):
        services.open_dispute(pro=alice, request_id=request.pk, message="Give it back.")
    assert not Dispute.objects.filter(request=request).exists()
