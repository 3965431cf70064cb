"""Support sees a credit that is not going through: its attempts and the provider's last error."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from leads.choices import PaymentMethod
from refunds import services, tasks
from refunds.choices import CreditStatus, Status
from refunds.gateway import GatewayError
from refunds.models import Credit, RefundEvent, SandboxRefund
from tests.refunds.staff_flows import submitted
from tests.refunds.test_tasks_credit_retries import FlakyGateway

CREDITS = "/admin/refunds/credit/"


def test_support_sees_attempts_and_the_last_error(client_for, alice, rita, sam):
    request = submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("40.00"))
    services.approve(reviewer=rita, request_id=request.pk)
    Credit.objects.filter(request=request).update(
        attempts=3, last_error="GatewayError: provider timed out after 30 s"
    )
    client = client_for(sam)

    listing = client.get(CREDITS).text
    assert '<td class="field-attempts">3</td>' in listing
    assert "GatewayError: provider timed out after 30 s" in listing

    page = client.get(f"/admin/refunds/refundrequest/{request.pk}/change/").text
    assert "GatewayError: provider timed out after 30 s" in page
    assert "Pending" in page


def test_nobody_edits_a_credit_by_hand(client_for, alice, rita, root):
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    credit = Credit.objects.get(request=request)
    response = client_for(root).get(f"{CREDITS}{credit.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.text


# Sending a credit the worker gave up on to the provider again


@pytest.fixture
def stuck_credit(settings, alice, rita, django_capture_on_commit_callbacks):
    """A card refund the provider refused until the worker gave up (two tries allowed here)."""
    settings.CREDIT_MAX_ATTEMPTS = 2
    settings.PAYMENT_GATEWAY = f"{FlakyGateway.__module__}.FlakyGateway"
    FlakyGateway.calls, FlakyGateway.failures = [], 2
    request = submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("40.00"))
    services.approve(reviewer=rita, request_id=request.pk)
    credit = Credit.objects.get(request=request)
    for _ in range(2):
        with pytest.raises(GatewayError):
            tasks.post_credit(credit.pk)
    tasks.post_credit(credit.pk)  # the third run gives up without calling the provider
    assert list(services.stuck_credits()) == [credit]
    assert len(FlakyGateway.calls) == 2
    return credit


def _retry(client, credits):
    data = {"action": "retry_payment", "_selected_action": [c.pk for c in credits], "index": 0}
    return client.post(CREDITS, data, follow=True)


def test_support_sends_a_stuck_credit_again_and_the_pro_is_paid_once(
    stuck_credit, client_for, sam, django_capture_on_commit_callbacks
):
    client = client_for(sam)
    assert f'value="{stuck_credit.pk}"' in client.get(CREDITS, {"stuck": "yes"}).text

    with django_capture_on_commit_callbacks(execute=True):
        response = _retry(client, [stuck_credit])

    assert (
        f"Sent 1 credit to the payment provider again: #{stuck_credit.pk}. The worker pays it "
        "and tells the pro." in response.text
    )
    stuck_credit.refresh_from_db()
    request = stuck_credit.request
    assert (stuck_credit.status, stuck_credit.attempts, stuck_credit.last_error) == (
        CreditStatus.POSTED,
        1,
        "",
    )
    assert request.status == Status.CREDITED
    assert SandboxRefund.objects.get().amount == Decimal("40.00")
    assert len(mail.outbox) == 1 and "Refund approved" in mail.outbox[0].subject
    retried = RefundEvent.objects.get(request=request, action="credit_retried")
    assert retried.actor == sam
    assert "after 2 failed attempts" in retried.note
    assert "provider timed out" in retried.note
    call_command("audit_refunds", stdout=StringIO())  # raises if the log does not replay
    assert list(services.stuck_credits()) == []


def test_a_credit_that_is_paid_or_still_retrying_is_not_sent_again(
    stuck_credit, client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    retrying = submitted(alice, payment_method=PaymentMethod.CARD)
    services.approve(reviewer=rita, request_id=retrying.pk)
    retrying_credit = Credit.objects.get(request=retrying)
    Credit.objects.filter(pk=stuck_credit.pk).update(status=CreditStatus.POSTED)
    events = RefundEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = _retry(client_for(sam), [stuck_credit, retrying_credit])

    assert f"Credit #{stuck_credit.pk} not sent: This credit has already been paid." in (
        response.text
    )
    assert (
        f"Credit #{retrying_credit.pk} not sent: This credit is still being retried "
        "automatically." in response.text
    )
    assert queued == []
    assert RefundEvent.objects.count() == events


def test_only_support_may_send_a_credit_again(stuck_credit, client_for, rita, sam):
    def choices(user):
        form = client_for(user).get(CREDITS).context["action_form"]
        return [] if form is None else [value for value, _ in form.fields["action"].choices]

    assert "retry_payment" in choices(sam)
    assert "retry_payment" not in choices(rita)
    response = _retry(client_for(rita), [stuck_credit])
    assert response.status_code == 200
    stuck_credit.refresh_from_db()
    assert stuck_credit.attempts == 2  # untouched
    with pytest.raises(services.RefundError, match="permission"):
        services.retry_credit(agent=rita, credit_id=stuck_credit.pk)
