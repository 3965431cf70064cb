"""No event is sent twice at once: the worker's task, the sweep and two decisions racing.

Real PostgreSQL, real threads (tests/guarantees/test_races.py's `race`), a real receiver.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from refunds import services
from tests.guarantees.test_races import fresh, race
from tests.refunds.staff_flows import submitted
from webhooks import delivery as sending
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="races need row locks between connections (CI runs this file on PostgreSQL)",
    ),
]

RUNS = 20


def test_the_task_and_the_sweep_at_once_send_a_delivery_once(alice, receiver):
    submitted(alice)  # committed with no endpoint listening: an event without deliveries
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=EventType.values)
    event = Event.objects.get()
    for run in range(RUNS):
        now = timezone.now()
        delivery = Delivery.objects.create(
            endpoint=endpoint, event=event, next_attempt_at=now, retry_until=now + timedelta(days=1)
        )
        race(
            lambda pk=delivery.pk: sending.deliver(pk),
            lambda: sending.send_due(),
            lambda pk=delivery.pk: sending.deliver(pk),
        )
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1), run
        assert len(receiver.received) == run + 1, run
        delivery.delete()


def test_two_reviewers_approving_at_once_announce_one_approval(alice, rita, ralph, receiver):
    WebhookEndpoint.objects.create(url=receiver.url, events=[EventType.REFUND_APPROVED])
    for run in range(RUNS):
        request = submitted(alice)
        race(
            lambda r=request: services.approve(reviewer=fresh(rita), request_id=r.pk),
            lambda r=request: services.approve(reviewer=fresh(ralph), request_id=r.pk),
        )
        subject = f"refund_request:{request.pk}"
        events = list(Event.objects.filter(subject=subject).values_list("type", "sequence"))
        assert sorted(events) == [
            ("refund.approved", 2),
            ("refund.credited", 3),
            ("refund.submitted", 1),
        ], run
    approvals = [b for b in receiver.bodies() if b["type"] == "refund.approved"]
    assert len(approvals) == RUNS
    assert len({b["id"] for b in approvals}) == RUNS
