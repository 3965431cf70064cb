"""The pro withdraws a request that nobody has decided yet."""

from django.urls import reverse

from refunds import services
from refunds.choices import Reason, Status
from refunds.models import RefundEvent


def submit(lead):
    return services.submit_report(pro=lead.pro, lead_id=lead.pk, reason=Reason.WRONG_JOB)


def url(request):
    return reverse("withdraw_request", args=[request.pk])


def test_it_withdraws_a_submitted_request(client_for, lead):
    request = submit(lead)
    response = client_for(lead.pro).post(url(request), follow=True)
    assert response.redirect_chain == [(reverse("lead_thread", args=[lead.pk]), 302)]
    assert "You withdrew your refund request." in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    event = RefundEvent.objects.filter(request=request).last()
    assert (event.action, event.actor) == ("withdraw", lead.pro)


def test_it_refuses_once_a_reviewer_is_on_it(client_for, lead, rita):
    request = submit(lead)
    services.claim(reviewer=rita, request_id=request.pk)
    response = client_for(lead.pro).post(url(request), follow=True)
    assert (
        "A reviewer is already looking at this request, so it can no longer be withdrawn."
        in response.content.decode()
    )
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_it_refuses_after_a_decision(client_for, lead, rita, django_capture_on_commit_callbacks):
    request = submit(lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.deny(reviewer=rita, request_id=request.pk, explanation="Valid.", guidance="Call.")
    response = client_for(lead.pro).post(url(request), follow=True)
    assert "This request is denied and cannot be changed that way." in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.DENIED


def test_it_refuses_to_withdraw_twice(client_for, lead):
    request = submit(lead)
    client = client_for(lead.pro)
    client.post(url(request))
    response = client.post(url(request), follow=True)
    assert "This request is withdrawn and cannot be changed that way." in response.content.decode()
    assert RefundEvent.objects.filter(request=request, action="withdraw").count() == 1


def test_it_requires_owner(client_for, lead, bob):
    request = submit(lead)
    assert client_for(bob).post(url(request)).status_code == 404
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_it_rejects_get(client_for, lead):
    request = submit(lead)
    assert client_for(lead.pro).get(url(request)).status_code == 405
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
