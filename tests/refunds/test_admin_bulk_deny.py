"""Bulk deny: one shared explanation and guidance, still one decision and one event each."""

from django.contrib.messages import get_messages
from django.core import mail

from accounts.models import InboxMessage
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import Decision, DenialTemplate
from tests.factories import RefundRequestFactory
from tests.refunds.staff_flows import submitted

QUEUE = "/admin/refunds/refundrequest/"


def _post(client, requests, **extra):
    data = {"action": "bulk_deny", "_selected_action": [r.pk for r in requests], **extra}
    return client.post(QUEUE, data)


def test_it_asks_for_one_explanation_prefilled_from_a_template(client_for, alice, bob, rita):
    requests = [submitted(alice), submitted(bob)]
    response = _post(client_for(rita), requests)
    assert response.status_code == 200
    assert "Deny 2 requests" in response.text
    template = DenialTemplate.objects.get(reason=Reason.WRONG_JOB)
    assert f"\n{template.explanation}</textarea>" in response.text
    for request in requests:
        assert f'name="_selected_action" value="{request.pk}"' in response.text
    assert not Decision.objects.exists()


def test_applying_denies_each_with_its_own_decision_event_and_notice(
    client_for, alice, bob, rita, django_capture_on_commit_callbacks
):
    requests = [submitted(alice), submitted(bob)]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client_for(rita),
            requests,
            apply="1",
            explanation="Same customer, valid job.",
            guidance="Reply fast next time.",
        )
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [f"Denied 2 requests: #{requests[0].pk}, #{requests[1].pk}"]
    for request in requests:
        request.refresh_from_db()
        assert request.status == Status.DENIED
        decision = request.decisions.get()
        assert (decision.explanation, decision.decided_by) == ("Same customer, valid job.", rita)
        assert request.events.filter(action="deny").count() == 1
    assert InboxMessage.objects.count() == 2
    assert len(mail.outbox) == 2


def test_a_blank_explanation_denies_nothing(client_for, alice, rita):
    request = submitted(alice)
    response = _post(client_for(rita), [request], apply="1", explanation="", guidance="x")
    assert response.status_code == 200
    assert "This field is required." in response.text
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_requests_that_cannot_be_denied_are_reported(client_for, alice, rita, ralph):
    free = submitted(alice)
    held = submitted(alice)
    services.claim(reviewer=ralph, request_id=held.pk)
    response = _post(
        client_for(rita), [free, held], apply="1", explanation="Valid lead.", guidance="Call."
    )
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"#{held.pk} not denied: ralph@example.test is reviewing this request." in messages
    held.refresh_from_db()
    assert held.status == Status.IN_REVIEW


def test_support_cannot_run_the_bulk_deny(client_for, alice, sam):
    request = RefundRequestFactory(lead__pro=alice)
    response = _post(client_for(sam), [request], apply="1", explanation="Valid.", guidance="Call.")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert not Decision.objects.exists()
    # Support has no actions: the POST just shows the queue again.
    assert response.status_code == 200
    assert response.context["action_form"] is None
