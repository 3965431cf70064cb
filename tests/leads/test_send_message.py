"""Sending a message from a lead's thread."""

from django.urls import reverse

from leads.choices import AttemptSource, Channel, Outcome, Sender
from leads.forms import MAX_MESSAGE_LENGTH
from leads.models import ContactAttempt, Message


def url(lead):
    return reverse("send_message", args=[lead.pk])


def test_it_stores_the_message_and_counts_it_as_an_attempt(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"body": "  Hi! Free tomorrow at 9?  "})
    assert response.status_code == 302
    assert response.url == reverse("lead_thread", args=[lead.pk]) + "#latest"
    message = Message.objects.get(lead=lead)
    assert message.sender == Sender.PRO
    assert message.body == "Hi! Free tomorrow at 9?"
    attempt = ContactAttempt.objects.get(lead=lead)
    assert attempt.channel == Channel.MESSAGE
    assert attempt.outcome == Outcome.DELIVERED
    assert attempt.source == AttemptSource.MESSAGING
    assert attempt.attempted_at == message.sent_at


def test_the_message_shows_in_the_thread(client_for, lead):
    client = client_for(lead.pro)
    client.post(url(lead), {"body": "On my way"})
    html = client.get(reverse("lead_thread", args=[lead.pk])).content.decode()
    assert "On my way" in html
    assert "bubble-row-pro" in html


def test_it_rejects_get(client_for, lead):
    assert client_for(lead.pro).get(url(lead)).status_code == 405


def test_it_rejects_an_empty_message(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"body": "   "})
    assert response.status_code == 200
    assert "Write something before sending." in response.content.decode()
    assert not Message.objects.exists()
    assert not ContactAttempt.objects.exists()


def test_it_rejects_a_message_that_is_too_long(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"body": "x" * (MAX_MESSAGE_LENGTH + 1)})
    assert response.status_code == 200
    assert f"Keep messages to {MAX_MESSAGE_LENGTH} characters or fewer" in response.content.decode()
    assert not Message.objects.exists()


def test_it_requires_owner(client_for, lead, bob):
    response = client_for(bob).post(url(lead), {"body": "Hello from Bob"})
    assert response.status_code == 404
    assert not Message.objects.exists()
    assert not ContactAttempt.objects.exists()


def test_it_sends_staff_to_the_admin(client_for, lead, rita):
    response = client_for(rita).post(url(lead), {"body": "Hello"})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert not Message.objects.exists()
