"""Deliveries against a real receiver on 127.0.0.1: signed, retried with backoff, in order,
never for a change that rolled back, once after a worker lost its task."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from refunds import services
from tests.refunds.staff_flows import run_on_commit, submitted
from tests.webhooks.readme import readme_verifier
from webhooks import delivery as sending
from webhooks import tasks
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Event, WebhookEndpoint

pytestmark = pytest.mark.django_db


def approve(capture, rita, request):
    return run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)


def test_each_delivery_is_signed_so_the_readme_check_accepts_it(
    alice, rita, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = submitted(alice)
    verify = readme_verifier()
    [got] = receiver.received
    assert got.path == "/hooks"
    assert got.headers["Content-Type"] == "application/json"
    header = got.headers["Refunds-Signature"]
    assert verify(got.body, header, endpoint.secret)
    # Another secret, a changed body or an old timestamp is refused.
    assert not verify(got.body, header, "whsec_someone-else")
    assert not verify(got.body.replace(b"submitted", b"credited"), header, endpoint.secret)
    old = sending.signature(endpoint.secret, got.body, int(timezone.now().timestamp()) - 3600)
    assert not verify(got.body, old, endpoint.secret)
    [body] = receiver.bodies()
    event = Event.objects.get()
    assert body == {
        "id": event.public_id,
        "type": "refund.submitted",
        "created": body["created"],
        "sequence": 1,
        "data": {
            "lead_id": request.lead.marketplace_id,
            "status": "submitted",
            "amount": str(request.lead.price),
            "method": request.lead.payment_method,
            "reason": "wrong_job",
        },
    }
    assert body["created"].startswith(event.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_failed_delivery_is_retried_with_backoff_until_the_receiver_answers(
    alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("pending", 500, 1)
    first = delivery.last_attempt_at
    assert delivery.next_attempt_at == first + timedelta(seconds=30)

    assert sending.send_due(now=first + timedelta(seconds=29)) == 0
    assert len(receiver.received) == 1
    assert sending.send_due(now=first + timedelta(seconds=30)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("pending", 503, 2)
    assert delivery.next_attempt_at == delivery.last_attempt_at + timedelta(minutes=1)

    sending.send_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("succeeded", 200, 3)
    assert delivery.next_attempt_at is None
    # The same event each time: a receiver recognises a repeat by its id.
    assert len({body["id"] for body in receiver.bodies()}) == 1
    assert sending.send_due(now=first + timedelta(hours=2)) == 0
    assert len(receiver.received) == 3


def test_the_wait_doubles_up_to_an_hour():
    waits = [sending.backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=1)


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(
    alice, endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.response_code is None
    assert "Timeout" in delivery.last_error
    receiver.delay = 0
    sending.send_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_after_a_day_of_failures_the_delivery_is_marked_failed(
    alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.then = 500
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    delivery = Delivery.objects.get()
    assert delivery.retry_until == delivery.event.created_at + timedelta(hours=24)
    # The last wait before the day is over ends exactly at its end: one last try there.
    sending.send_due(now=delivery.retry_until - timedelta(seconds=10))
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == delivery.retry_until
    sending.send_due(now=delivery.retry_until)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert sending.send_due(now=delivery.retry_until + timedelta(days=1)) == 0


def test_a_decision_that_rolls_back_sends_nothing(
    alice, rita, receiver, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    WebhookEndpoint.objects.create(url=receiver.url, events=EventType.values)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.approve(reviewer=rita, request_id=request.pk)
        raise RuntimeError("the database refused a later write")
    assert not Event.objects.filter(type=EventType.REFUND_APPROVED).exists()
    assert Delivery.objects.count() == 0
    assert sending.send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert receiver.received == []


def test_a_worker_that_lost_the_task_after_commit_still_sends_once(
    alice, rita, receiver, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    WebhookEndpoint.objects.create(url=receiver.url, events=[EventType.REFUND_APPROVED])
    # Committed, but the worker died before it ran what the commit queued.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.approve(reviewer=rita, request_id=request.pk)
    assert queued and receiver.received == []
    assert Delivery.objects.get().status == DeliveryStatus.PENDING

    # The scheduled sweep finds it due.
    assert tasks.send_due() == 1
    assert tasks.send_due() == 0
    # The lost task turns up after all: it finds the delivery done.
    for callback in queued:
        callback()
    assert sending.send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert [body["type"] for body in receiver.bodies()] == ["refund.approved"]
    assert Delivery.objects.get().attempts == 1


def test_a_delivery_being_sent_is_not_claimed_twice(alice, endpoint, receiver):
    submitted(alice)  # on_commit not run: the delivery is due
    delivery = Delivery.objects.get()
    now = timezone.now()
    assert sending.claim(delivery.pk, now)
    assert not sending.claim(delivery.pk, now)
    assert not sending.deliver(delivery.pk, now=now)
    assert receiver.received == []


def test_a_request_s_events_reach_an_endpoint_in_sequence_order(
    alice, rita, endpoint, receiver, second_receiver, django_capture_on_commit_callbacks
):
    other = WebhookEndpoint.objects.create(url=second_receiver.url, events=EventType.values)
    receiver.script = [500]  # the first endpoint fails the submission once
    with django_capture_on_commit_callbacks(execute=True):
        request = submitted(alice)
    approve(django_capture_on_commit_callbacks, rita, request)
    # The approval and the credit wait behind the submission for the first endpoint only.
    assert [b["sequence"] for b in receiver.bodies()] == [1]
    assert [b["type"] for b in second_receiver.bodies()] == [
        "refund.submitted",
        "refund.approved",
        "refund.credited",
    ]
    waiting = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING)
    assert waiting.count() == 3
    assert sending.send_due(now=timezone.now() + timedelta(minutes=1)) == 1

    assert [(b["sequence"], b["type"]) for b in receiver.bodies()] == [
        (1, "refund.submitted"),
        (1, "refund.submitted"),
        (2, "refund.approved"),
        (3, "refund.credited"),
    ]
    assert not Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()
    assert other.deliveries.count() == 3


def test_an_endpoint_made_inactive_is_sent_nothing_until_it_is_active_again(
    alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [500]
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    delivery = Delivery.objects.get()
    WebhookEndpoint.objects.update(active=False)
    assert sending.send_due(now=delivery.next_attempt_at) == 0
    assert len(receiver.received) == 1
    WebhookEndpoint.objects.update(active=True)
    assert sending.send_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_an_inactive_or_unsubscribed_endpoint_is_sent_nothing(
    alice, receiver, second_receiver, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(url=receiver.url, events=EventType.values, active=False)
    WebhookEndpoint.objects.create(url=second_receiver.url, events=[EventType.REFUND_CREDITED])
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    assert Event.objects.count() == 1  # the outbox keeps it all the same
    assert Delivery.objects.count() == 0
    assert receiver.received == second_receiver.received == []


def test_the_sweep_runs_every_minute():
    schedule = Schedule.objects.get(name="webhooks: send due deliveries")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "webhooks.tasks.send_due",
        Schedule.MINUTES,
        1,
        -1,
    )
