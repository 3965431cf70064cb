"""The worker's webhook tasks (django-q2), and the sweep that its schedule runs every minute
(webhooks/migrations/0002)."""

from datetime import datetime

from webhooks import delivery


def deliver(delivery_id: int, now: datetime | None = None) -> bool:
    return delivery.deliver(delivery_id, now)


def send_due() -> int:
    return delivery.send_due()
