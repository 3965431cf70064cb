import secrets

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from webhooks.choices import DeliveryStatus, EventType

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class WebhookEndpoint(models.Model):
    """A URL of the marketplace's that receives the events it subscribed to, signed.

    The secret is stored as it is (it signs every delivery) and shown only once, when the
    endpoint is created.
    """

    url = models.URLField(
        verbose_name="URL",
        max_length=500,
        validators=[URLValidator(schemes=("http", "https"))],
    )
    events = models.JSONField(
        verbose_name="events",
        default=list,
        help_text="The event types sent to this URL.",
    )
    active = models.BooleanField(
        verbose_name="active",
        default=True,
        help_text="An inactive endpoint is sent nothing; what was waiting for it is sent "
        "when it is active again (and still within its day of retries).",
    )
    secret = models.CharField(
        verbose_name="signing secret",
        max_length=100,
        default=new_secret,
        editable=False,
    )
    created_at = models.DateTimeField(
        verbose_name="created",
        default=timezone.now,
        editable=False,
    )

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ("url", "pk")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in self.events


class Event(models.Model):
    """One change announced to the marketplace: the outbox row, written in the transaction of
    the change itself, so no event is lost and none is sent for a change that rolled back.

    `subject` names what changed (a refund request); `sequence` counts that subject's events,
    so a receiver can tell the order even if it processes deliveries out of order.
    """

    public_id = models.CharField(
        verbose_name="event id",
        max_length=40,
        unique=True,
        default=new_event_id,
        editable=False,
    )
    type = models.CharField(
        verbose_name="type",
        max_length=40,
        choices=EventType.choices,
    )
    created_at = models.DateTimeField(
        verbose_name="created",
    )
    subject = models.CharField(
        verbose_name="subject",
        max_length=100,
    )
    sequence = models.PositiveIntegerField(
        verbose_name="sequence",
    )
    data = models.JSONField(
        verbose_name="data",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("subject", "sequence"), name="webhook_event_sequence_per_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} of {self.subject}"


class Delivery(models.Model):
    """One event on its way to one endpoint: the delivery log support reads."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name="endpoint",
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        Event,
        verbose_name="event",
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(
        verbose_name="status",
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    response_code = models.PositiveSmallIntegerField(
        verbose_name="response code",
        null=True,
        blank=True,
    )
    last_error = models.CharField(
        verbose_name="last error",
        max_length=500,
        blank=True,
    )
    attempts = models.PositiveIntegerField(
        verbose_name="attempts",
        default=0,
    )
    last_attempt_at = models.DateTimeField(
        verbose_name="last attempt",
        null=True,
        blank=True,
    )
    next_attempt_at = models.DateTimeField(
        verbose_name="next attempt",
        null=True,
        blank=True,
    )
    retry_until = models.DateTimeField(
        verbose_name="retried until",
    )

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ("-pk",)
        constraints = [
            models.UniqueConstraint(fields=("endpoint", "event"), name="one_delivery_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=("status", "next_attempt_at"), name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"
