"""Support sees a credit that is not going through: its attempts and the provider's last error."""

from decimal import Decimal

from leads.choices import PaymentMethod
from refunds import services
from refunds.models import Credit
from tests.refunds.staff_flows import submitted

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
