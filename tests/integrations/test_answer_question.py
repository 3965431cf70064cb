"""The customer's answer to our question comes back through PUT /messages/{id} with
answers_question: stored as a thread message and linked to the question, decided or not."""

from datetime import timedelta

import pytest

from integrations.choices import Scope
from leads.models import Message
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import CustomerQuestion, RefundEvent
from tests.factories import LeadFactory
from tests.integrations.conftest import iso
from tests.refunds.staff_flows import run_on_commit


@pytest.fixture
def question(alice, rita):
    lead = LeadFactory(marketplace_id="L-1", pro=alice)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.HIRED_BEFORE_CONTACT)
    return services.ask_customer(reviewer=rita, request_id=request.pk)


def answer(question, **changes):
    return {
        "lead_id": "L-1",
        "sender": "customer",
        "body": "No, nobody else came. I still need it fixed.",
        "sent_at": iso(question.request.lead.received_at + timedelta(days=2)),
        "answers_question": question.pk,
    } | changes


def test_the_answer_is_stored_and_linked_to_its_question(issue_key, api, question):
    key = issue_key(Scope.MESSAGES_WRITE)

    response = api.put("/messages/M-answer", answer(question), key=key)

    assert response.status_code == 201
    assert response.json()["answers_question"] == question.pk
    message = Message.objects.get(marketplace_id="M-answer")
    question.refresh_from_db()
    assert question.answer == message
    assert message.body == "No, nobody else came. I still need it fixed."
    event = RefundEvent.objects.get(action="customer_answered")
    assert (event.actor, event.note) == (None, message.body)
    assert question.request.status == Status.SUBMITTED


def test_sending_the_answer_again_changes_nothing(api, question):
    api.put("/messages/M-answer", answer(question))

    response = api.put("/messages/M-answer", answer(question))

    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"
    assert Message.objects.filter(marketplace_id="M-answer").count() == 1


def test_an_answer_to_an_unknown_question_is_refused_and_nothing_stored(api, question):
    response = api.put("/messages/M-answer", answer(question, answers_question=question.pk + 99))

    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {
            "field": "answers_question",
            "message": f"No question {question.pk + 99} was asked about lead L-1: send the "
            "question_id of its refund.customer_question event.",
        }
    ]
    assert not Message.objects.filter(marketplace_id="M-answer").exists()
    question.refresh_from_db()
    assert question.answer is None


def test_an_answer_naming_another_lead_s_question_is_refused(api, alice, question):
    LeadFactory(marketplace_id="L-2", pro=alice)

    response = api.put("/messages/M-answer", answer(question, lead_id="L-2"))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["answers_question"]
    assert not Message.objects.filter(marketplace_id="M-answer").exists()


def test_only_the_customer_answers(api, question):
    response = api.put("/messages/M-answer", answer(question, sender="pro"))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "answers_question", "message": "Only a customer's message answers a question."}
    ]
    assert not Message.objects.filter(marketplace_id="M-answer").exists()


def test_a_question_is_answered_once(api, question):
    api.put("/messages/M-answer", answer(question))

    response = api.put("/messages/M-again", answer(question, body="Actually, yes."))

    assert response.status_code == 409
    assert response.json()["fields"] == ["answers_question"]
    assert "already has its answer (message M-answer)" in response.json()["detail"]
    assert not Message.objects.filter(marketplace_id="M-again").exists()


def test_a_stored_message_does_not_become_an_answer_later(api, question):
    api.put("/messages/M-1", answer(question, answers_question=None))

    response = api.put("/messages/M-1", answer(question))

    assert response.status_code == 409
    assert response.json()["fields"] == ["answers_question"]
    question.refresh_from_db()
    assert question.answer is None


def test_an_answer_after_the_decision_is_stored_shown_and_changes_nothing(
    api, client_for, question, rita, django_capture_on_commit_callbacks
):
    request = question.request
    run_on_commit(
        django_capture_on_commit_callbacks, services.approve, reviewer=rita, request_id=request.pk
    )
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    decided_at = request.decided_at
    late = answer(question, sent_at=iso(decided_at + timedelta(minutes=1)))

    response = api.put("/messages/M-late", late)

    assert response.status_code == 201
    request.refresh_from_db()
    assert (request.status, request.decided_at) == (Status.CREDITED, decided_at)
    assert request.decisions.count() == 1
    question = CustomerQuestion.objects.get(pk=question.pk)
    assert question.answer.marketplace_id == "M-late"
    assert question.answered_after_decision
    html = client_for(rita).get(f"/admin/refunds/refundrequest/{request.pk}/change/").text
    assert "No, nobody else came." in html
    assert "After the decision" in html


def test_the_api_schema_documents_answers_question(client):
    schema = client.get("/api/v1/openapi.json").json()
    field = schema["components"]["schemas"]["MessageIn"]["properties"]["answers_question"]
    assert "refund.customer_question" in field["description"]
