"""The pro's writes to a lead's thread: messages sent and calls logged."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from leads.choices import AttemptSource, Channel, Outcome, Sender
from leads.models import ContactAttempt, Lead, Message


def _check_owner(pro: User, lead: Lead) -> None:
    if lead.pro_id != pro.pk:
        raise Lead.DoesNotExist


def send_message(*, pro: User, lead: Lead, body: str, now: datetime | None = None) -> Message:
    """Post the pro's message in the thread and count it as a contact attempt.

    Both rows are written in one transaction: the contact-effort assessment must never see a
    message without its attempt, or the reverse.
    """
    _check_owner(pro, lead)
    now = now or timezone.now()
    with transaction.atomic():
        message = Message.objects.create(lead=lead, sender=Sender.PRO, body=body, sent_at=now)
        ContactAttempt.objects.create(
            lead=lead,
            channel=Channel.MESSAGE,
            outcome=Outcome.DELIVERED,
            attempted_at=now,
            source=AttemptSource.MESSAGING,
        )
    return message


def log_call(
    *, pro: User, lead: Lead, outcome: str, note: str = "", now: datetime | None = None
) -> ContactAttempt:
    """Record a phone call the pro made to the customer, and how it went."""
    _check_owner(pro, lead)
    return ContactAttempt.objects.create(
        lead=lead,
        channel=Channel.PHONE,
        outcome=outcome,
        note=note,
        attempted_at=now or timezone.now(),
        source=AttemptSource.PRO,
    )


def mark_read(*, pro: User, lead: Lead, now: datetime | None = None) -> None:
    """Record that the pro opened the lead's thread: what the customer wrote so far is read."""
    _check_owner(pro, lead)
    lead.read_at = now or timezone.now()
    lead.save(update_fields=("read_at",))
