"""A lead's thread: the lead's card, the chat, the attempts, and the ⋮ menu."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.choices import Channel, Outcome, Sender
from refunds import services
from refunds.choices import Status
from tests.factories import (
    ContactAttemptFactory,
    LeadFactory,
    MessageFactory,
    RefundRequestFactory,
)

# 14 since opening a thread records that the pro read it (one UPDATE).
MAX_QUERIES = 14


def url(lead):
    return reverse("lead_thread", args=[lead.pk])


def test_it_requires_sign_in(client, lead):
    response = client.get(url(lead))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_requires_owner(client_for, lead, bob):
    assert client_for(bob).get(url(lead)).status_code == 404


def test_it_returns_404_for_a_missing_lead(client_for, alice):
    assert client_for(alice).get(reverse("lead_thread", args=[999999])).status_code == 404


def test_it_sends_staff_to_the_admin(client_for, lead, rita):
    response = client_for(rita).get(url(lead))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_it_shows_the_leads_card(client_for, lead):
    response = client_for(lead.pro).get(url(lead))
    html = response.content.decode()
    assert lead.request_text in html
    assert lead.location in html
    assert lead.customer_phone in html
    assert lead.customer_email in html
    assert "$24.50" in html
    assert "paid with prepaid balance" in html
    deadline = services.report_deadline(lead)
    assert f"Report by {deadline:%b} {deadline.day}, {deadline.year}" in html


def test_it_shows_messages_and_attempts_in_time_order(client_for, lead):
    start = lead.received_at
    MessageFactory(
        lead=lead, sender=Sender.PRO, body="First, from me", sent_at=start + timedelta(minutes=5)
    )
    ContactAttemptFactory(
        lead=lead,
        channel=Channel.PHONE,
        outcome=Outcome.NO_ANSWER,
        note="rang twice",
        attempted_at=start + timedelta(minutes=30),
    )
    MessageFactory(
        lead=lead,
        sender=Sender.CUSTOMER,
        body="Second, from them",
        sent_at=start + timedelta(hours=1),
    )
    MessageFactory(
        lead=lead,
        sender=Sender.SYSTEM,
        body="Customer viewed your profile",
        sent_at=start + timedelta(hours=2),
    )
    page = client_for(lead.pro).get(url(lead)).content.decode()
    html = page[page.index('class="timeline"') :]  # the thread list repeats the last line
    mine = html.index("First, from me")
    call = html.index("rang twice")
    theirs = html.index("Second, from them")
    system = html.index("Customer viewed your profile")
    assert mine < call < theirs < system
    assert "bubble-row-pro" in html[html.rindex("bubble-row", 0, mine) - 20 : mine]
    assert "bubble-row-customer" in html[html.rindex("bubble-row", 0, theirs) - 20 : theirs]
    assert "bubble-row-system" in html[html.rindex("bubble-row", 0, system) - 20 : system]
    assert "Call · No answer" in html


def test_it_offers_report_in_the_menu_inside_the_window(client_for, lead):
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert 'aria-label="More options"' in html
    assert f'href="{reverse("report", args=[lead.pk])}"' in html
    assert "Reporting closed" not in html


def test_it_says_reporting_closed_past_the_window(client_for, alice):
    lead = LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=20))
    html = client_for(alice).get(url(lead)).content.decode()
    deadline = services.report_deadline(lead)
    assert f"Reporting closed on {deadline:%b} {deadline.day}, {deadline.year}" in html
    assert reverse("report", args=[lead.pk]) not in html


def test_it_shows_an_open_requests_status_and_withdraw(client_for, lead):
    request = RefundRequestFactory(lead=lead)
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "Refund requested — decision expected by" in html
    assert f"{request.due_at:%b} {request.due_at.day}, {request.due_at:%-I:%M %p} UTC" in html
    assert reverse("withdraw_request", args=[request.pk]) in html
    assert reverse("report", args=[lead.pk]) not in html
    assert 'data-status="submitted"' in html


def test_it_offers_no_withdraw_once_a_reviewer_has_claimed_it(client_for, lead, rita):
    request = RefundRequestFactory(lead=lead)
    services.claim(reviewer=rita, request_id=request.pk)
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "A reviewer is looking at it now." in html
    assert reverse("withdraw_request", args=[request.pk]) not in html


def test_it_shows_a_denial(client_for, lead, rita, django_capture_on_commit_callbacks):
    request = RefundRequestFactory(lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.deny(
            reviewer=rita, request_id=request.pk, explanation="Valid lead.", guidance="Call them."
        )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "Refund denied on" in html
    notice = request.decisions.get().notice
    assert reverse("inbox_message", args=[notice.pk]) in html


def test_it_shows_an_approval_credited_to_the_balance(
    client_for, lead, rita, django_capture_on_commit_callbacks
):
    request = RefundRequestFactory(lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=request.pk)
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "Refund approved — $24.50 added to your balance" in html


def test_it_shows_a_withdrawn_request(client_for, lead):
    request = RefundRequestFactory(lead=lead)
    services.withdraw(pro=lead.pro, request_id=request.pk)
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "You withdrew your refund request." in html
    assert reverse("report", args=[lead.pk]) not in html


def test_its_query_count_does_not_grow_with_the_conversation(
    client_for, lead, rita, django_assert_max_num_queries
):
    client = client_for(lead.pro)
    RefundRequestFactory(lead=lead)
    MessageFactory(lead=lead)
    with CaptureQueriesContext(connection) as few:
        client.get(url(lead))
    for n in range(30):
        MessageFactory(lead=lead, sender=Sender.CUSTOMER if n % 2 else Sender.PRO)
        ContactAttemptFactory(lead=lead, channel=Channel.PHONE, outcome=Outcome.VOICEMAIL)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url(lead))
    assert response.content.decode().count("Call · Left voicemail") == 30
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(url(lead))


@pytest.mark.parametrize("other_leads", [0, 25])
def test_the_threads_beside_it_do_not_add_queries(
    client_for, lead, other_leads, django_assert_max_num_queries
):
    for n in range(other_leads):
        MessageFactory(
            lead=LeadFactory(pro=lead.pro, received_at=timezone.now() - timedelta(hours=n))
        )
    client = client_for(lead.pro)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url(lead))
    assert response.status_code == 200


def test_it_shows_the_phone_number_readably_and_dials_the_stored_one(client_for, alice):
    lead = LeadFactory(pro=alice, customer_phone="+15125550142")
    html = client_for(alice).get(reverse("lead_thread", args=[lead.pk])).text
    assert 'href="tel:+15125550142"' in html
    # A US number in a US market: the national format, the stored E.164 form in the title.
    assert 'Call <span class="text-nowrap" title="+15125550142">(512) 555-0142</span>' in html
    assert "+15125550142</a>" not in html


def test_a_number_from_another_country_keeps_its_international_form(client_for, alice):
    lead = LeadFactory(pro=alice, customer_phone="+442079460958")
    html = client_for(alice).get(reverse("lead_thread", args=[lead.pk])).text
    assert '<span class="text-nowrap" title="+442079460958">+44 20 7946 0958</span>' in html


def test_its_day_headings_follow_the_pros_clock(client_for, alice):
    market = alice.pro_profile.market
    market.time_zone = "America/Chicago"
    market.save()
    lead = LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=3))
    evening = timezone.now().replace(hour=3, minute=30) - timedelta(days=2)  # 9:30 PM in Chicago
    MessageFactory(lead=lead, sender=Sender.CUSTOMER, body="Late one", sent_at=evening)
    MessageFactory(
        lead=lead, sender=Sender.PRO, body="Earlier", sent_at=evening - timedelta(hours=5)
    )
    client = client_for(alice)
    client.get(reverse("messages"))  # the zone is read once per session
    timeline = client.get(url(lead)).text.split('class="timeline"', 1)[1]
    # Both were written on the same day in Chicago, though not in UTC: one heading for them.
    between = timeline[timeline.index("Earlier") : timeline.index("Late one")]
    assert "Late one" in timeline and "day-divider" not in between
