"""A lead's conversation is kept exactly as written: reviewers judge reports on it."""

import pytest

from leads.models import AppendOnlyError, Message
from tests.factories import MessageFactory


def test_it_refuses_to_change_a_stored_message(lead):
    message = MessageFactory(lead=lead, body="We already hired someone, sorry.")
    message.body = "Sure, come over."
    with pytest.raises(AppendOnlyError):
        message.save()
    assert Message.objects.get(pk=message.pk).body == "We already hired someone, sorry."


def test_it_refuses_to_delete_a_message(lead):
    message = MessageFactory(lead=lead)
    with pytest.raises(AppendOnlyError):
        message.delete()
    assert Message.objects.filter(pk=message.pk).exists()


def test_it_still_adds_new_messages(lead):
    MessageFactory(lead=lead)
    MessageFactory(lead=lead)
    assert lead.messages.count() == 2
