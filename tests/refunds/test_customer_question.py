"""Ask the customer: one templated question per request, announced to the marketplace in the
request's own transaction, offered to whoever may decide the request, and shown on the request
page with the customer's answer. Asking holds nothing: the clock runs and deciding is open."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import IntegrityError, transaction

from accounts.choices import Role
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import CustomerQuestion, RefundEvent
from tests.factories import MessageFactory, ProFactory
from tests.refunds.staff_flows import chatty_lead, run_on_commit
from webhooks.choices import EventType
from webhooks.models import Event

QUEUE = "/admin/refunds/refundrequest/"
ASKABLE = [Reason.HIRED_BEFORE_CONTACT, Reason.WRONG_JOB, Reason.INVALID_CONTACT]
NOT_ASKABLE = [Reason.DUPLICATE, Reason.SPAM]
CONVERSATION = '<h2 class="rq-h">Conversation'


def page_of(request) -> str:
    return f"{QUEUE}{request.pk}/change/"


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def reported(pro, reason=Reason.HIRED_BEFORE_CONTACT):
    lead = chatty_lead(pro)
    return services.submit_report(pro=pro, lead_id=lead.pk, reason=reason)


def question_events():
    return Event.objects.filter(type=EventType.REFUND_CUSTOMER_QUESTION)


# The service


@pytest.mark.parametrize("reason", ASKABLE)
def test_asking_records_the_reason_s_question_and_announces_it(alice, rita, reason):
    request = reported(alice, reason)

    question = services.ask_customer(reviewer=rita, request_id=request.pk)

    assert question.request == request
    assert question.asked_by == rita
    assert question.text == services.question_text(request)
    assert request.lead.category.name in question.text
    event = question_events().get()
    assert event.subject == f"refund_request:{request.pk}"
    assert event.data == {
        "lead_id": request.lead.marketplace_id,
        "status": "submitted",
        "amount": "24.50",
        "method": "balance",
        "reason": reason,
        "question_id": question.pk,
        "question": question.text,
    }
    log = RefundEvent.objects.get(request=request, action="ask_customer")
    assert (log.actor, log.from_status, log.to_status) == (rita, "submitted", "submitted")


def test_each_askable_reason_has_its_own_question(alice):
    texts = {services.question_text(reported(alice, reason)) for reason in ASKABLE}
    assert len(texts) == len(ASKABLE)


@pytest.mark.parametrize("reason", NOT_ASKABLE)
def test_the_customer_is_not_asked_about_other_reasons(alice, rita, reason):
    request = reported(alice, reason)

    with pytest.raises(services.RefundError, match="not asked about"):
        services.ask_customer(reviewer=rita, request_id=request.pk)

    assert not CustomerQuestion.objects.exists()
    assert not question_events().exists()


def test_one_question_per_request(alice, rita, ralph):
    request = reported(alice)
    services.ask_customer(reviewer=rita, request_id=request.pk)

    with pytest.raises(services.RefundError, match="one question per request"):
        services.ask_customer(reviewer=ralph, request_id=request.pk)

    assert CustomerQuestion.objects.count() == 1
    assert question_events().count() == 1


def test_the_database_holds_one_question_per_request(alice, rita):
    request = reported(alice)
    services.ask_customer(reviewer=rita, request_id=request.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerQuestion.objects.create(request=request, text="Again?", asked_by=rita)


def test_nothing_is_asked_or_announced_when_the_transaction_rolls_back(alice, rita):
    request = reported(alice)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.ask_customer(reviewer=rita, request_id=request.pk)
        raise RuntimeError("the page crashed after asking")

    assert not CustomerQuestion.objects.exists()
    assert not question_events().exists()
    assert not RefundEvent.objects.filter(action="ask_customer").exists()


def test_asking_takes_the_checks_of_deciding(alice, bob, rita, ralph, sam):
    request = reported(alice)
    services.claim(reviewer=ralph, request_id=request.pk)

    with pytest.raises(services.RefundError, match="is reviewing this request"):
        services.ask_customer(reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError, match="permission"):
        services.ask_customer(reviewer=bob, request_id=request.pk)

    assert not CustomerQuestion.objects.exists()
    assert services.ask_customer(reviewer=ralph, request_id=request.pk).asked_by == ralph


def test_a_decided_request_is_not_asked_about(alice, rita, capture):
    request = reported(alice)
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)

    with pytest.raises(services.RefundError, match="cannot be changed"):
        services.ask_customer(reviewer=rita, request_id=request.pk)

    assert not CustomerQuestion.objects.exists()


def test_asking_keeps_the_clock_and_the_decision_open(alice, rita, capture):
    request = reported(alice)
    due = request.due_at

    services.ask_customer(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert (request.status, request.due_at) == (Status.SUBMITTED, due)
    assert {"claim", "approve", "deny"} <= services.allowed_actions(request, rita)

    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.CREDITED


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


# The request page


def test_the_page_offers_the_question_it_would_send(client_for, alice, rita):
    request = reported(alice, Reason.WRONG_JOB)

    html = client_for(rita).get(page_of(request)).text

    assert 'name="transition" value="ask_customer"' in html
    assert services.question_text(request) in html
    assert "Asking does not stop the clock" in html
    assert "left</span>" in html


@pytest.mark.parametrize("reason", NOT_ASKABLE)
def test_the_page_does_not_offer_it_for_other_reasons(client_for, alice, rita, reason):
    request = reported(alice, reason)

    html = client_for(rita).get(page_of(request)).text

    assert 'value="ask_customer"' not in html


def test_the_page_does_not_offer_it_on_another_reviewer_s_claim(client_for, alice, rita, ralph):
    request = reported(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    client = client_for(rita)

    assert 'value="ask_customer"' not in client.get(page_of(request)).text
    response = client.post(page_of(request), {"transition": "ask_customer"})

    assert response.status_code == 302
    assert said(response) == [f"Ask the customer refused: {ralph} is reviewing this request."]
    assert not CustomerQuestion.objects.exists()


def test_asking_from_the_page_shows_the_question_on_top(client_for, alice, rita):
    request = reported(alice)
    client = client_for(rita)

    response = client.post(page_of(request), {"transition": "ask_customer"})

    assert response.status_code == 302
    assert response.url == page_of(request)
    assert "The marketplace sends the customer the question" in said(response)[0]
    html = client.get(page_of(request)).text
    assert 'value="ask_customer"' not in html
    assert "Asked the customer" in html
    assert "No answer yet" in html
    assert html.index("Asked the customer") < html.index(CONVERSATION)
    assert "decide on what is there" in html
    assert question_events().count() == 1


def test_a_second_ask_from_the_page_is_refused_clearly(client_for, alice, rita):
    request = reported(alice)
    client = client_for(rita)
    client.post(page_of(request), {"transition": "ask_customer"})

    response = client.post(page_of(request), {"transition": "ask_customer"})

    assert said(response)[-1:] == [
        "Ask the customer refused: The customer was already asked about this request: "
        "one question per request."
    ]
    assert CustomerQuestion.objects.count() == 1


def test_the_page_flags_the_answer_and_one_that_came_after_the_decision(
    client_for, alice, rita, capture
):
    request = reported(alice)
    question = services.ask_customer(reviewer=rita, request_id=request.pk)
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    answer = MessageFactory(
        lead=request.lead,
        sender="customer",
        body="Yes, my cousin did the job the day before.",
        sent_at=request.decided_at + timedelta(minutes=5),
    )
    services.record_answer(question, answer)

    html = client_for(rita).get(page_of(request)).text

    assert "Answered" in html
    assert html.index("Yes, my cousin did the job") < html.index(CONVERSATION)
    assert "After the decision" in html
    assert "changes nothing" in html
    assert "Answer to our question" in html
    assert "Asking does not stop the clock" not in html  # decided: no clock left


def test_a_pro_cannot_ask_through_the_request_page(client_for, alice, bob):
    request = reported(alice)

    response = client_for(bob).post(page_of(request), {"transition": "ask_customer"})

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert not CustomerQuestion.objects.exists()


def test_nobody_asks_about_their_own_request(market, alice):
    paula = ProFactory(email="paula@example.test", is_staff=True)
    paula.groups.add(Group.objects.get(name=Role.REVIEWER.value))
    request = reported(paula)

    with pytest.raises(services.RefundError, match="your own refund request"):
        services.ask_customer(reviewer=paula, request_id=request.pk)

    assert not CustomerQuestion.objects.exists()
    assert not services.can_ask(request, paula)
