"""Credits: the balance, its history, and where each refund went."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import LedgerKind
from leads.choices import PaymentMethod
from refunds import services
from refunds.choices import Reason
from tests.factories import LeadFactory, LedgerEntryFactory

URL = reverse("credits")


def approve(lead, reviewer, capture, post=True):
    request = services.submit_report(pro=lead.pro, lead_id=lead.pk, reason=Reason.SPAM)
    with capture(execute=post):
        services.approve(reviewer=reviewer, request_id=request.pk)
    return request


def test_it_requires_sign_in(client, db):
    assert client.get(URL).url.startswith(reverse("login"))


def test_it_shows_the_balance_as_the_sum_of_the_ledger(client_for, alice):
    LedgerEntryFactory(pro=alice, kind=LedgerKind.TOP_UP, amount=Decimal("100.00"))
    LedgerEntryFactory(
        pro=alice, kind=LedgerKind.LEAD_PURCHASE, amount=Decimal("-24.50"), memo="Lead: Jane"
    )
    response = client_for(alice).get(URL)
    html = response.content.decode()
    assert response.context["balance"] == Decimal("75.50")
    assert 'data-testid="balance">$75.50<' in html
    assert "Balance top-up" in html
    assert "+$100.00" in html
    assert "Lead purchase" in html
    assert "−$24.50" in html
    assert "Lead: Jane" in html


def test_it_shows_a_balance_refund_with_its_lead(
    client_for, lead, rita, django_capture_on_commit_callbacks
):
    approve(lead, rita, django_capture_on_commit_callbacks)
    html = client_for(lead.pro).get(URL).content.decode()
    assert lead.customer_name in html
    assert "Added to balance" in html
    assert "+$24.50" in html
    assert "Refund credit" in html
    assert 'data-testid="balance">$24.50<' in html


def test_it_shows_a_card_refund_with_its_expected_date(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    lead = LeadFactory(pro=alice, payment_method=PaymentMethod.CARD, price=Decimal("31.00"))
    request = approve(lead, rita, django_capture_on_commit_callbacks)
    expected = request.credit.expected_on
    html = client_for(alice).get(URL).content.decode()
    assert "Refunding to card" in html
    assert f"Expected by {expected:%b} {expected.day}, {expected.year}" in html
    assert "+$31.00" in html
    assert 'data-testid="balance">$0.00<' in html


def test_it_shows_a_refund_still_being_processed(
    client_for, lead, rita, django_capture_on_commit_callbacks
):
    approve(lead, rita, django_capture_on_commit_callbacks, post=False)
    html = client_for(lead.pro).get(URL).content.decode()
    assert "Processing" in html
    assert lead.customer_name in html


def test_it_never_shows_another_pros_money(
    client_for, lead, bob, rita, django_capture_on_commit_callbacks
):
    approve(lead, rita, django_capture_on_commit_callbacks)
    LedgerEntryFactory(pro=lead.pro, amount=Decimal("500.00"), memo="Alice's top-up")
    response = client_for(bob).get(URL)
    html = response.content.decode()
    assert response.context["balance"] == Decimal("0.00")
    assert lead.customer_name not in html
    assert "Alice" not in html
    assert "No refunds yet." in html


def test_its_query_count_does_not_grow_with_history(
    client_for, alice, rita, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = client_for(alice)
    approve(LeadFactory(pro=alice), rita, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for method in [PaymentMethod.CARD, PaymentMethod.BALANCE] * 4:
        approve(
            LeadFactory(pro=alice, payment_method=method), rita, django_capture_on_commit_callbacks
        )
        LedgerEntryFactory(pro=alice)
    with django_assert_max_num_queries(len(few)):
        response = client.get(URL)
    assert len(response.context["refunds"]) == 9


def test_a_long_refund_history_is_paged(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    names = [f"Customer {i:02d}" for i in range(23)]
    for name in names:
        approve(
            LeadFactory(pro=alice, customer_name=name), rita, django_capture_on_commit_callbacks
        )
    client = client_for(alice)

    first = client.get(URL)
    assert len(first.context["refunds"]) == 20
    assert 'href="?refunds_page=2"' in first.text
    assert "Page 1 of 2" in first.text

    second = client.get(URL, {"refunds_page": 2})
    assert len(second.context["refunds"]) == 3
    shown = {credit.request.lead.customer_name for credit in second.context["refunds"]}
    assert shown == set(names[:3])  # the oldest come last

    # A page that does not exist shows the nearest one rather than an error.
    for bad in ["x", "999", "-1"]:
        assert client.get(URL, {"refunds_page": bad}).status_code == 200
