"""Logging a phone call from a lead's thread."""

from django.urls import reverse

from leads.choices import AttemptSource, Channel, Outcome
from leads.models import ContactAttempt
from tests.factories import LeadFactory


def url(lead):
    return reverse("log_call", args=[lead.pk])


def test_it_logs_the_call_with_its_outcome_and_note(client_for, lead):
    response = client_for(lead.pro).post(
        url(lead), {"outcome": Outcome.VOICEMAIL, "note": " Said I'd try again Monday "}
    )
    assert response.status_code == 302
    attempt = ContactAttempt.objects.get(lead=lead)
    assert attempt.channel == Channel.PHONE
    assert attempt.outcome == Outcome.VOICEMAIL
    assert attempt.note == "Said I'd try again Monday"
    assert attempt.source == AttemptSource.PRO


def test_the_call_shows_in_the_thread(client_for, lead):
    client = client_for(lead.pro)
    response = client.post(url(lead), {"outcome": Outcome.NO_ANSWER}, follow=True)
    html = response.content.decode()
    assert "Call logged." in html
    assert "Call · No answer" in html


def test_it_rejects_an_outcome_that_is_not_a_calls(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"outcome": Outcome.DELIVERED})
    assert response.status_code == 200
    assert "Choose one of the listed call outcomes." in response.content.decode()
    assert "data-show-on-load" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_it_requires_an_outcome(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"note": "called"})
    assert response.status_code == 200
    assert "Choose how the call went." in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_it_refuses_a_call_to_a_lead_without_a_phone(client_for, alice):
    lead = LeadFactory(pro=alice, customer_phone="")
    response = client_for(alice).post(url(lead), {"outcome": Outcome.ANSWERED})
    assert response.status_code == 200
    assert "This lead has no phone number, so there is no call to log." in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_it_rejects_a_note_that_is_too_long(client_for, lead):
    response = client_for(lead.pro).post(
        url(lead), {"outcome": Outcome.ANSWERED, "note": "n" * 501}
    )
    assert response.status_code == 200
    assert not ContactAttempt.objects.exists()


def test_it_requires_owner(client_for, lead, bob):
    response = client_for(bob).post(url(lead), {"outcome": Outcome.ANSWERED})
    assert response.status_code == 404
    assert not ContactAttempt.objects.exists()


def test_it_rejects_get(client_for, lead):
    assert client_for(lead.pro).get(url(lead)).status_code == 405
