"""Sending events: one signed POST per delivery, retried with backoff for a day.

A delivery is claimed with a conditional update before it is sent, so the task queued at
commit, the sweep and Send again never send it twice at once; the claim lasts a little longer
than the request's timeout, after which a send that crashed half-way is tried again.
Events of one subject reach an endpoint in sequence order: a delivery waits while an earlier
one of its subject to the same endpoint is pending.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Event

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Refunds-Signature"
# A failed delivery is tried again for this long after it was due, then marked failed.
RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# How many due deliveries one run of the sweep queues.
SWEEP_BATCH = 200


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min … at most an hour."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def body(event: Event) -> bytes:
    """The JSON a receiver gets, byte for byte as it was signed."""
    payload = {
        "id": event.public_id,
        "type": event.type,
        "created": event.created_at,
        "sequence": event.sequence,
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature(secret: str, raw_body: bytes, timestamp: int) -> str:
    """The Refunds-Signature header: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<body>">."""
    signed = f"{timestamp}.".encode() + raw_body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def enqueue_delivery(delivery_id: int, now: datetime | None = None) -> None:
    """Queue one delivery for the worker; `now` only to move the clock (the sweep's own)."""
    # Failures are the delivery's own business (its backoff), not the queue's: no ack_failure.
    async_task("webhooks.tasks.deliver", delivery_id, *([now] if now else []), group="deliver")


def waiting_behind_earlier() -> Exists:
    """True for a delivery whose endpoint still has an earlier event of its subject pending."""
    return Exists(
        Delivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"),
            event__subject=OuterRef("event__subject"),
            event__sequence__lt=OuterRef("event__sequence"),
            status=DeliveryStatus.PENDING,
        )
    )


def due(now: datetime) -> QuerySet[Delivery]:
    """Deliveries to send now, oldest event first; an inactive endpoint's wait."""
    return (
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True
        )
        .exclude(waiting_behind_earlier())
        .order_by("event_id", "pk")
    )


def claim(delivery_id: int, now: datetime) -> bool:
    """Take the delivery for one try, if it is due and nobody else has it."""
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=now + lease,
        )
    )


def deliver(delivery_id: int, now: datetime | None = None) -> bool:
    """Send one delivery if it is due and its turn; returns whether it was tried."""
    clock, now = now, now or timezone.now()
    if not due(now).filter(pk=delivery_id).exists() or not claim(delivery_id, now):
        return False
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    raw = body(delivery.event)
    code, error = post(delivery.endpoint.url, raw, delivery.endpoint.secret)
    succeeded = code is not None and 200 <= code < 300
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        delivery.response_code = code
        delivery.last_error = error[:500]
        if succeeded:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
        elif now >= delivery.retry_until:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = min(now + backoff(delivery.attempts), delivery.retry_until)
        delivery.save(update_fields=("status", "response_code", "last_error", "next_attempt_at"))
    log.info(
        "Webhook delivery %s (event %s) to endpoint %s: %s after %s attempts",
        delivery.pk,
        delivery.event.public_id,
        delivery.endpoint_id,
        delivery.status if code is None else f"{delivery.status}, HTTP {code}",
        delivery.attempts,
    )
    if delivery.status != DeliveryStatus.PENDING:
        # The next event of the subject to this endpoint was waiting for this one.
        following = due(now).filter(
            endpoint_id=delivery.endpoint_id, event__subject=delivery.event.subject
        )
        for pk in following.values_list("pk", flat=True)[:1]:
            enqueue_delivery(pk, clock)
    return True


def post(url: str, raw: bytes, secret: str) -> tuple[int | None, str]:
    """POST the body, signed now; the response's status code, or None and why it failed."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lead-refunds-webhooks/1",
        SIGNATURE_HEADER: signature(secret, raw, int(time.time())),
    }
    try:
        response = requests.post(
            url,
            data=raw,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"
    response.close()
    return response.status_code, ""


def send_due(now: datetime | None = None) -> int:
    """Queue every due delivery (the scheduled sweep): deliveries whose task was lost in a
    crash, retries whose wait is over, and decisions whose undo time has passed."""
    ids = list(due(now or timezone.now()).values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in ids:
        enqueue_delivery(pk, now)
    return len(ids)


def send_again(deliveries: QuerySet[Delivery], now: datetime | None = None) -> int:
    """Support's Send again: each delivery is tried now, and retried for a day if it fails."""
    clock, now = now, now or timezone.now()
    with transaction.atomic():
        ids = list(deliveries.select_for_update().values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, retry_until=now + RETRY_FOR
        )
        transaction.on_commit(lambda: [enqueue_delivery(pk, clock) for pk in ids])
    return len(ids)
