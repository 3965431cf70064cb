"""The emails pros and staff receive: text and HTML, an absolute link to the right place (the
pro's Inbox message), the money and the date for a credit, the way to dispute a denial in the
Inbox, the recipient's time zone, and never an invitation to reply to the email."""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import InboxMessage
from leads.choices import PaymentMethod
from refunds import services, tasks
from refunds.choices import Reason
from refunds.policy import add_business_days
from tests.factories import RefundRequestFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, denied, run_on_commit, submitted

SITE = "https://refunds.example.test"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def in_chicago(alice):
    market = alice.pro_profile.market
    market.time_zone = "America/Chicago"
    market.save()
    return ZoneInfo("America/Chicago")


def parts(email) -> tuple[str, str]:
    """The plain-text body and the HTML alternative of one email."""
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return email.body, html


def links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"<>]+", text)


def assert_no_reply_wording(email) -> None:
    for part in (email.subject, *parts(email)):
        assert "reply" not in part.lower()


def assert_links_to(email, message: InboxMessage) -> None:
    path = reverse("inbox_message", args=[message.pk])
    for part in parts(email):
        assert f"{SITE}{path}" in links(part)


def the_message_page(client_for, email, pro) -> str:
    """Follow the email's link as the signed-in pro: the page it opens."""
    [url] = set(links(email.body))
    response = client_for(pro).get(urlsplit(url).path)
    assert response.status_code == 200
    return response.text


def approve(capture, reviewer, request):
    run_on_commit(capture, services.approve, reviewer=reviewer, request_id=request.pk)
    return InboxMessage.objects.get(recipient=request.pro)


def test_an_approval_to_the_balance_has_both_parts_the_amount_and_the_link(
    alice, rita, client_for, django_capture_on_commit_callbacks
):
    message = approve(django_capture_on_commit_callbacks, rita, submitted(alice))
    [email] = mail.outbox
    assert email.to == ["alice@example.test"]
    text, html = parts(email)
    for part in (text, html):
        assert "$24.50" in part
        assert "prepaid balance" in part
    assert "<table" not in html
    assert 'style="' in html  # inline styles: mail clients drop style sheets
    assert_links_to(email, message)
    assert_no_reply_wording(email)
    page = the_message_page(client_for, email, alice)
    assert message.subject in page


def test_a_card_refund_says_how_much_and_by_when(
    alice, rita, client_for, django_capture_on_commit_callbacks
):
    request = submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("1240.00"))
    message = approve(django_capture_on_commit_callbacks, rita, request)
    expected = add_business_days(timezone.localdate(), 5)
    on = f"{expected:%b} {expected.day}, {expected.year}"
    [email] = mail.outbox
    text, html = parts(email)
    assert "$1,240.00 is being refunded to the card you paid with" in text
    assert f"expect it by {on}." in text
    assert "$1,240.00" in html
    assert f"expected by <strong>{on}</strong>" in html
    assert_links_to(email, message)
    assert_no_reply_wording(email)
    assert message.subject in the_message_page(client_for, email, alice)


def test_a_denial_explains_and_sends_the_pro_to_dispute_it_in_the_inbox(
    alice, rita, client_for, django_capture_on_commit_callbacks
):
    denied(django_capture_on_commit_callbacks, alice, rita)
    message = InboxMessage.objects.get(recipient=alice)
    [email] = mail.outbox
    assert email.subject == "Refund denied: " + message.subject.split(": ", 1)[1]
    text, html = parts(email)
    for part in (text, html):
        assert EXPLANATION in part and GUIDANCE in part
        assert "dispute" in part.lower() and "Inbox" in part
    assert "To dispute this decision, open it in your Inbox" in text
    assert "Dispute it in your Inbox</a>" in html
    assert_links_to(email, message)
    assert_no_reply_wording(email)
    page = the_message_page(client_for, email, alice)
    assert EXPLANATION in page
    # The link opens the message with the dispute form under it.
    assert f'action="{reverse("dispute", args=[message.pk])}"' in page


def test_a_dispute_kept_is_final_and_offers_no_second_dispute(
    alice, rita, sam, client_for, django_capture_on_commit_callbacks
):
    request = denied(django_capture_on_commit_callbacks, alice, rita)
    services.open_dispute(pro=alice, request_id=request.pk, message="It was a roofing job.")
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.uphold,
        agent=sam,
        request_id=request.pk,
        explanation="The customer asked for a plumber.",
        guidance="Keep your categories up to date.",
    )
    email = mail.outbox[-1]
    message = InboxMessage.objects.filter(recipient=alice).first()  # the newest
    assert email.subject == message.subject
    assert email.subject.startswith("Dispute reviewed: refund still denied")
    text, html = parts(email)
    assert "This decision is final." in text
    assert "Dispute it in your Inbox" not in html
    assert "Read this message in your Inbox:" in text
    assert_links_to(email, message)
    assert_no_reply_wording(email)


def test_an_email_is_written_in_the_recipients_zone(
    alice, rita, in_chicago, django_capture_on_commit_callbacks
):
    message = approve(django_capture_on_commit_callbacks, rita, submitted(alice))
    sent = timezone.localtime(message.created_at, in_chicago)
    stamp = f"{sent:%b} {sent.day}, {sent:%-I:%M %p} {sent.tzname()}"
    text, html = parts(mail.outbox[0])
    assert f"sent {stamp}" in text
    assert f"Sent {stamp}." in html


def test_the_task_sends_a_notice_once_from_the_stored_message(alice):
    message = InboxMessage.objects.create(recipient=alice, subject="Hello", body="One.\n\nTwo.")
    tasks.email_notice(message.pk)
    tasks.email_notice(message.pk)
    [email] = mail.outbox
    text, html = parts(email)
    assert text.startswith("One.\n\nTwo.")
    assert '<p style="margin:0 0 12px;">One.</p>' in html
    assert_links_to(email, message)


def test_the_overdue_digest_is_multipart_with_absolute_links_to_the_request_pages(alice, rita):
    request = RefundRequestFactory(
        lead__pro=alice, reason=Reason.SPAM, due_at=timezone.now() - timedelta(hours=3)
    )
    assert tasks.sweep_overdue() == 1
    [email] = mail.outbox
    text, html = parts(email)
    url = f"{SITE}{reverse('admin:refunds_refundrequest_change', args=[request.pk])}"
    assert url in links(text) and url in links(html)
    for part in (text, html):
        assert "3 h overdue" in part
    assert_no_reply_wording(email)
