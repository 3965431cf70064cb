"""Marketing → Messages: the pro's leads as conversation threads."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.choices import Sender
from tests.factories import LeadFactory, MessageFactory, RefundRequestFactory

URL = reverse("messages")
# Session, user, roles, the top bar's two counters, the page count and the page itself.
MAX_QUERIES = 8


def test_it_requires_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_sends_staff_to_the_admin(client_for, rita):
    response = client_for(rita).get(URL)
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_it_lists_the_pros_threads_newest_first(client_for, alice):
    older = LeadFactory(
        pro=alice, customer_name="Olivia Older", received_at=timezone.now() - timedelta(days=5)
    )
    newer = LeadFactory(
        pro=alice, customer_name="Nina Newer", received_at=timezone.now() - timedelta(hours=2)
    )
    response = client_for(alice).get(URL)
    assert response.status_code == 200
    assert list(response.context["threads"]) == [newer, older]
    html = response.content.decode()
    assert html.index("Nina Newer") < html.index("Olivia Older")


def test_it_shows_customer_category_and_last_message(client_for, lead):
    MessageFactory(lead=lead, sender=Sender.PRO, body="Hello, when suits you?")
    MessageFactory(
        lead=lead,
        sender=Sender.CUSTOMER,
        body="Tomorrow at nine works.",
        sent_at=lead.received_at + timedelta(hours=1),
    )
    response = client_for(lead.pro).get(URL)
    html = response.content.decode()
    assert lead.customer_name in html
    assert "Plumbing" in html
    assert "Tomorrow at nine works." in html
    assert "Hello, when suits you?" not in html


def test_it_never_shows_another_pros_leads(client_for, alice, bob):
    LeadFactory(pro=bob, customer_name="Bob's Customer")
    response = client_for(alice).get(URL)
    assert "Bob&#x27;s Customer" not in response.content.decode()
    assert response.context["threads"].paginator.count == 0


def test_it_shows_a_status_badge_when_a_request_exists(client_for, lead):
    RefundRequestFactory(lead=lead)
    response = client_for(lead.pro).get(URL)
    assert 'data-status="submitted"' in response.content.decode()
    assert "Refund submitted" in response.content.decode()


def test_it_paginates(client_for, alice):
    for n in range(25):
        LeadFactory(pro=alice, received_at=timezone.now() - timedelta(hours=n))
    client = client_for(alice)
    first = client.get(URL)
    second = client.get(URL, {"page": 2})
    assert len(first.context["threads"]) == 20
    assert len(second.context["threads"]) == 5
    assert "Page 2 of 2" in second.content.decode()


def _busy_leads(pro, count):
    for n in range(count):
        lead = LeadFactory(pro=pro, received_at=timezone.now() - timedelta(hours=n))
        MessageFactory(lead=lead)
        MessageFactory(lead=lead, sender=Sender.CUSTOMER)
        RefundRequestFactory(lead=lead)


def test_its_query_count_does_not_grow_with_leads(client_for, alice, django_assert_max_num_queries):
    client = client_for(alice)
    _busy_leads(alice, 1)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    _busy_leads(alice, 15)
    with django_assert_max_num_queries(len(few)):
        response = client.get(URL)
    assert response.content.decode().count('data-status="submitted"') == 16
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(URL)
