"""The Inbox: one message per decision, and Reply to dispute on a denial."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.choices import PaymentMethod
from refunds import services
from refunds.choices import DisputeStatus, Reason, Status
from refunds.models import Dispute
from tests.factories import InboxMessageFactory, LeadFactory

INBOX = reverse("inbox")


def message_url(message):
    return reverse("inbox_message", args=[message.pk])


def dispute_url(message):
    return reverse("dispute", args=[message.pk])


@pytest.fixture
def decide(rita, django_capture_on_commit_callbacks):
    """Submit a report of `lead` and let rita decide it; returns the decision's inbox message."""

    def decide_(lead, approve=False):
        request = services.submit_report(pro=lead.pro, lead_id=lead.pk, reason=Reason.WRONG_JOB)
        with django_capture_on_commit_callbacks(execute=True):
            if approve:
                decision = services.approve(reviewer=rita, request_id=request.pk)
            else:
                decision = services.deny(
                    reviewer=rita,
                    request_id=request.pk,
                    explanation="The request was for plumbing, which you offer.",
                    guidance="Remove categories you no longer serve.",
                )
        decision.refresh_from_db()
        return decision.notice

    return decide_


def test_it_requires_sign_in(client, db):
    assert client.get(INBOX).url.startswith(reverse("login"))


def test_it_lists_the_pros_messages_newest_first(client_for, alice, bob):
    old = InboxMessageFactory(
        recipient=alice, subject="Older news", created_at=timezone.now() - timedelta(days=2)
    )
    new = InboxMessageFactory(recipient=alice, subject="Newer news")
    InboxMessageFactory(recipient=bob, subject="For Bob only")
    response = client_for(alice).get(INBOX)
    assert list(response.context["page"]) == [new, old]
    assert "For Bob only" not in response.content.decode()


def test_it_marks_unread_messages(client_for, alice):
    InboxMessageFactory(recipient=alice, subject="Fresh")
    InboxMessageFactory(recipient=alice, subject="Seen", read_at=timezone.now())
    html = client_for(alice).get(INBOX).content.decode()
    assert html.count("inbox-item py-3 unread") == 1
    assert html.count('<span class="badge text-bg-primary">Unread</span>') == 1
    assert 'aria-label="1 unread"' in html


def test_opening_a_message_marks_it_read(client_for, alice):
    message = InboxMessageFactory(recipient=alice, subject="Hello", body="Line one\nLine two")
    response = client_for(alice).get(message_url(message))
    assert response.status_code == 200
    assert "Line one\nLine two" in response.content.decode()
    message.refresh_from_db()
    assert message.read_at is not None
    assert 'aria-label="1 unread"' not in response.content.decode()


def test_it_hides_another_pros_message(client_for, alice, bob):
    message = InboxMessageFactory(recipient=alice)
    assert client_for(bob).get(message_url(message)).status_code == 404
    message.refresh_from_db()
    assert message.read_at is None


def test_a_denial_offers_reply_to_dispute(client_for, lead, decide):
    notice = decide(lead)
    html = client_for(lead.pro).get(message_url(notice)).content.decode()
    assert "Refund denied" in html
    assert "The request was for plumbing, which you offer." in html
    assert "Remove categories you no longer serve." in html
    assert "Reply to dispute" in html
    assert f'action="{dispute_url(notice)}"' in html


def test_an_approval_offers_no_dispute(client_for, alice, decide):
    notice = decide(LeadFactory(pro=alice, payment_method=PaymentMethod.CARD), approve=True)
    html = client_for(alice).get(message_url(notice)).content.decode()
    assert "Refund approved" in html
    assert "is being refunded to the card you paid with" in html
    assert "Reply to dispute" not in html


def test_replying_opens_a_dispute(client_for, lead, decide):
    notice = decide(lead)
    response = client_for(lead.pro).post(
        dispute_url(notice), {"message": "The customer wanted a roofer, see the chat."}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain == [(message_url(notice), 302)]
    dispute = Dispute.objects.get(request__lead=lead)
    assert dispute.message == "The customer wanted a roofer, see the chat."
    assert dispute.request.status == Status.DISPUTED
    today = timezone.now()
    assert f"Disputed on {today:%b} {today.day}, {today.year}" in html
    # The pro is told when to expect support's answer (REFUND_DISPUTE_HOURS after the reply).
    assert "Support will answer here in your Inbox by" in html
    assert "Reply to dispute" not in html


def test_it_allows_one_dispute_only(client_for, lead, decide):
    notice = decide(lead)
    client = client_for(lead.pro)
    client.post(dispute_url(notice), {"message": "First try."})
    response = client.post(dispute_url(notice), {"message": "Second try."}, follow=True)
    assert "You have already disputed this decision; support&#x27;s answer is final." in (
        response.content.decode()
    )
    assert Dispute.objects.get().message == "First try."


def test_it_refuses_to_dispute_an_approval(client_for, lead, decide):
    notice = decide(lead, approve=True)
    response = client_for(lead.pro).post(dispute_url(notice), {"message": "Why?"}, follow=True)
    assert (
        "Only a denial or a credit of part of the price can be disputed."
        in response.content.decode()
    )
    assert not Dispute.objects.exists()


def test_it_returns_404_for_a_message_about_no_decision(client_for, alice):
    message = InboxMessageFactory(recipient=alice)
    assert client_for(alice).post(dispute_url(message), {"message": "Hm"}).status_code == 404


def test_it_requires_a_reason_to_dispute(client_for, lead, decide):
    notice = decide(lead)
    response = client_for(lead.pro).post(dispute_url(notice), {"message": "   "})
    assert response.status_code == 200
    assert "Tell us why you think the decision is wrong." in response.content.decode()
    assert not Dispute.objects.exists()


def test_it_rejects_a_dispute_that_is_too_long(client_for, lead, decide):
    notice = decide(lead)
    limit = services.MAX_NOTE_LENGTH
    response = client_for(lead.pro).post(dispute_url(notice), {"message": "x" * (limit + 1)})
    assert response.status_code == 200
    assert f"Keep your reply to {limit} characters or fewer" in response.content.decode()
    assert not Dispute.objects.exists()


def test_another_pro_cannot_dispute(client_for, lead, bob, decide):
    notice = decide(lead)
    assert client_for(bob).post(dispute_url(notice), {"message": "Mine now"}).status_code == 404
    assert not Dispute.objects.exists()


def test_it_rejects_get_on_dispute(client_for, lead, decide):
    notice = decide(lead)
    assert client_for(lead.pro).get(dispute_url(notice)).status_code == 405


def test_the_inbox_then_shows_the_disputes_outcome(
    client_for, lead, decide, sam, django_capture_on_commit_callbacks
):
    notice = decide(lead)
    client = client_for(lead.pro)
    client.post(dispute_url(notice), {"message": "Please look again."})
    with django_capture_on_commit_callbacks(execute=True):
        services.uphold(
            agent=sam,
            request_id=notice.decision.request_id,
            explanation="The chat shows a plumbing job.",
            guidance="Report only leads outside your categories.",
        )
    inbox = client.get(INBOX).content.decode()
    assert "Dispute reviewed: refund still denied" in inbox
    original = client.get(message_url(notice)).content.decode()
    assert "Support reviewed your dispute and kept the decision." in original
    assert "Reply to dispute" not in original
    assert Dispute.objects.get().status == DisputeStatus.UPHELD


def test_its_query_count_does_not_grow_with_messages(
    client_for, alice, decide, django_assert_max_num_queries
):
    client = client_for(alice)
    decide(LeadFactory(pro=alice))
    with CaptureQueriesContext(connection) as few:
        client.get(INBOX)
    for _ in range(6):
        decide(LeadFactory(pro=alice))
        InboxMessageFactory(recipient=alice)
    with django_assert_max_num_queries(len(few)):
        response = client.get(INBOX)
    assert len(response.context["page"]) == 13
