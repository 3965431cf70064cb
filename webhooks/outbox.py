"""The outbox: events written in the transaction of the change they announce.

Callers (refunds.services) hold a lock that serialises the changes of one subject, which
keeps its sequence numbers in order. The deliveries are sent once the transaction commits;
a crash before that leaves them due, and the scheduled sweep (webhooks.delivery.send_due)
sends them.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from webhooks.choices import DeliveryStatus
from webhooks.delivery import RETRY_FOR, enqueue_delivery
from webhooks.models import Delivery, Event, WebhookEndpoint


def publish(
    event_type: str,
    *,
    subject: str,
    data: dict,
    at: datetime | None = None,
    not_before: datetime | None = None,
) -> Event:
    """Record an event and a delivery to every active endpoint that subscribed to its type.

    `not_before` holds the deliveries back until then (a decision that can still be undone).
    """
    at = at or timezone.now()
    last = Event.objects.filter(subject=subject).aggregate(last=Max("sequence"))["last"]
    event = Event.objects.create(
        type=event_type, subject=subject, sequence=(last or 0) + 1, data=data, created_at=at
    )
    due = not_before or at
    deliveries = Delivery.objects.bulk_create(
        Delivery(endpoint=endpoint, event=event, next_attempt_at=due, retry_until=due + RETRY_FOR)
        for endpoint in WebhookEndpoint.objects.filter(active=True)
        if endpoint.wants(event_type)
    )
    if deliveries and not_before is None:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: [enqueue_delivery(pk) for pk in ids])
    return event


def withdraw(event_type: str, *, subject: str) -> int:
    """Take back the subject's latest event of this type if nothing of it has gone out (its
    change was undone); returns how many events were dropped (0 or 1)."""
    event = Event.objects.filter(type=event_type, subject=subject).order_by("-sequence").first()
    if event is None:
        return 0
    deliveries = list(Delivery.objects.select_for_update().filter(event=event))
    if any(d.attempts or d.status != DeliveryStatus.PENDING for d in deliveries):
        return 0
    event.delete()
    return 1
