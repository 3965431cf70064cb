"""Support's list of credited requests whose conversation carried on afterwards: a customer
message after the credit that the pro answered, or a contact attempt answered after it."""

from datetime import timedelta

import pytest

from leads.choices import Channel, Outcome, Sender
from refunds import services
from tests.factories import ContactAttemptFactory
from tests.refunds.staff_flows import credited, say


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


QUEUE = "/admin/refunds/refundrequest/"
RESUMED = {"state": "credited", "resumed": "yes"}
HOME = "/admin/"


def listed(client) -> set[int]:
    response = client.get(QUEUE, RESUMED)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_a_customer_message_after_the_credit_answered_by_the_pro_is_flagged(
    capture, client_for, alice, rita, sam
):
    request = credited(capture, alice, rita)
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")
    quiet = credited(capture, alice, rita)

    client = client_for(sam)
    assert listed(client) == {request.pk}
    assert services.conversation_resumed(request)
    assert not services.conversation_resumed(quiet)

    home = client.get(HOME)
    tile = {t.label: t for s in home.context["sections"] for t in s.tiles}[
        "Conversation resumed after the credit"
    ]
    assert tile.count == 1
    assert client.get(tile.url).context["cl"].result_list[0].pk == request.pk


def test_a_contact_attempt_answered_after_the_credit_is_flagged(
    capture, client_for, alice, rita, sam
):
    request = credited(capture, alice, rita)
    ContactAttemptFactory(
        lead=request.lead,
        channel=Channel.PHONE,
        outcome=Outcome.ANSWERED,
        attempted_at=request.credit.posted_at + timedelta(hours=2),
    )
    unanswered = credited(capture, alice, rita)
    ContactAttemptFactory(
        lead=unanswered.lead,
        channel=Channel.PHONE,
        outcome=Outcome.NO_ANSWER,
        attempted_at=unanswered.credit.posted_at + timedelta(hours=2),
    )
    assert listed(client_for(sam)) == {request.pk}


def test_a_conversation_before_the_credit_is_not_flagged(capture, client_for, alice, rita, sam):
    request = credited(capture, alice, rita)
    say(request, Sender.CUSTOMER, -30)
    say(request, Sender.PRO, -20)
    ContactAttemptFactory(
        lead=request.lead,
        outcome=Outcome.ANSWERED,
        attempted_at=request.credit.posted_at - timedelta(minutes=10),
    )
    assert listed(client_for(sam)) == set()


def test_a_customer_message_without_a_reply_is_not_flagged(capture, client_for, alice, rita, sam):
    unanswered = credited(capture, alice, rita)
    say(unanswered, Sender.CUSTOMER, 60)
    # The pro wrote after the credit, but before the customer did: no reply to that message.
    pro_first = credited(capture, alice, rita)
    say(pro_first, Sender.PRO, 30)
    say(pro_first, Sender.CUSTOMER, 60)
    # The pro answered a customer message from before the credit.
    old_question = credited(capture, alice, rita)
    say(old_question, Sender.CUSTOMER, -5)
    say(old_question, Sender.PRO, 30)
    assert listed(client_for(sam)) == set()


def test_a_credit_older_than_the_window_is_not_read(capture, client_for, alice, rita, sam):
    request = credited(capture, alice, rita)
    request.credit.posted_at -= services.RESUMED_WINDOW + timedelta(days=1)
    request.credit.save(update_fields=("posted_at",))
    say(request, Sender.CUSTOMER, 60)
    say(request, Sender.PRO, 90)
    assert listed(client_for(sam)) == set()


def test_the_list_is_for_support_only(capture, client_for, alice, rita, sam, root):
    request = credited(capture, alice, rita)
    say(request, Sender.CUSTOMER, 60)
    say(request, Sender.PRO, 90)

    reviewer = client_for(rita)
    refused = reviewer.get(QUEUE, RESUMED)  # an unknown filter to them: the admin's "?e=1"
    assert refused.status_code == 302 and refused.url.endswith("?e=1")
    assert "Conversation resumed after the credit" not in reviewer.get(QUEUE).text
    assert "Conversation resumed after the credit" not in reviewer.get(HOME).text
    page = reviewer.get(f"{QUEUE}{request.pk}/change/").text
    assert "rq-card--resumed" not in page

    assert listed(client_for(root)) == {request.pk}
    support = client_for(sam)
    assert listed(support) == {request.pk}
    assert "Conversation resumed after the credit" in support.get(QUEUE).text


def test_the_request_page_highlights_what_came_after_the_credit(
    capture, client_for, alice, rita, sam
):
    request = credited(capture, alice, rita, messages=2)
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")

    page = client_for(sam).get(f"{QUEUE}{request.pk}/change/").text
    assert 'id="resumed-heading"' in page
    assert page.count("rq-msg--after-credit") == 2
    assert page.count("After the credit</span>") == 2
    assert "Credited $" in page
    highlighted = page.split("rq-msg--after-credit", 1)[1]
    assert "Can you still come on Tuesday?" in highlighted
    # The messages from before the credit are shown as they were.
    before = page.split("rq-marker--credit", 1)[0]
    assert "Message 0 from the pro" in before and "rq-msg--after-credit" not in before


@pytest.mark.parametrize("size", [2, 12])
def test_the_list_costs_the_same_queries_for_any_number_of_requests(
    size, capture, client_for, alice, bob, rita, sam, django_assert_max_num_queries
):
    for i in range(size):
        request = credited(capture, alice if i % 2 else bob, rita)
        say(request, Sender.CUSTOMER, 60)
        say(request, Sender.PRO, 90)
    client = client_for(sam)
    client.get(QUEUE, RESUMED)
    with django_assert_max_num_queries(12):
        assert len(listed(client)) == size
