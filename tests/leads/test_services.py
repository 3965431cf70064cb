"""leads.services refuses to write to another pro's lead, whoever calls it."""

import pytest

from leads import services
from leads.choices import Outcome
from leads.models import ContactAttempt, Lead, Message


def test_send_message_requires_owner(lead, bob):
    with pytest.raises(Lead.DoesNotExist):
        services.send_message(pro=bob, lead=lead, body="Hi")
    assert not Message.objects.exists()
    assert not ContactAttempt.objects.exists()


def test_log_call_requires_owner(lead, bob):
    with pytest.raises(Lead.DoesNotExist):
        services.log_call(pro=bob, lead=lead, outcome=Outcome.ANSWERED)
    assert not ContactAttempt.objects.exists()
