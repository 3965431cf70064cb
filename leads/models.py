from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import ServiceCategory
from leads.choices import AttemptSource, Channel, Outcome, PaymentMethod, Sender

# A thread's last activity: its latest message or contact attempt, else the lead's arrival.
ACTIVITY = Coalesce("last_activity_at", "received_at")


class Lead(models.Model):
    """A customer's job request, sold to one pro; the pro may report it within the window.

    `last_activity_at` and `customer_wrote_at` are kept by Message.save and ContactAttempt.save
    (a bulk load that skips them sets them itself), so Messages lists threads by activity from
    an index and marks new replies without reading the messages.
    """

    marketplace_id = models.CharField(
        verbose_name="marketplace id",
        max_length=64,
        unique=True,
    )
    pro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="pro",
        on_delete=models.PROTECT,
        related_name="leads",
    )
    customer_name = models.CharField(
        verbose_name="customer name",
        max_length=150,
    )
    customer_phone = models.CharField(
        verbose_name="customer phone",
        max_length=32,
        blank=True,
    )
    customer_email = models.EmailField(
        verbose_name="customer email",
        blank=True,
    )
    phone_valid = models.BooleanField(
        verbose_name="phone number valid",
        null=True,
        blank=True,
        help_text="Checked on the way in from the marketplace; empty when not checked or no phone.",
    )
    email_valid = models.BooleanField(
        verbose_name="email address valid",
        null=True,
        blank=True,
        help_text="Checked on the way in from the marketplace; empty when not checked or no email.",
    )
    category = models.ForeignKey(
        ServiceCategory,
        verbose_name="category",
        on_delete=models.PROTECT,
        related_name="leads",
    )
    location = models.CharField(
        verbose_name="location",
        max_length=200,
        help_text="Town and postal code of the job.",
    )
    request_text = models.TextField(
        verbose_name="customer's request",
        blank=True,
    )
    price = models.DecimalField(
        verbose_name="price paid",
        max_digits=8,
        decimal_places=2,
    )
    payment_method = models.CharField(
        verbose_name="paid with",
        max_length=10,
        choices=PaymentMethod.choices,
    )
    received_at = models.DateTimeField(
        verbose_name="received at",
        default=timezone.now,
    )
    last_activity_at = models.DateTimeField(
        verbose_name="last activity",
        null=True,
        blank=True,
        editable=False,
        help_text="When the latest message or contact attempt happened; empty while none has.",
    )
    customer_wrote_at = models.DateTimeField(
        verbose_name="customer's last message arrived",
        null=True,
        blank=True,
        editable=False,
        help_text="When the customer's latest message reached the thread (not when it was sent).",
    )
    read_at = models.DateTimeField(
        verbose_name="opened by the pro",
        null=True,
        blank=True,
        editable=False,
        help_text="When the pro last opened the thread; a customer's message after it is new.",
    )

    class Meta:
        ordering = ("-received_at", "-id")
        indexes = [
            models.Index(fields=["pro", "-received_at"], name="lead_pro_received"),
            # Messages lists a pro's threads by ACTIVITY, newest first, a page at a time.
            models.Index(F("pro"), ACTIVITY.desc(), F("id").desc(), name="lead_pro_activity"),
            models.Index(fields=["customer_phone"], name="lead_customer_phone"),
            models.Index(fields=["customer_email"], name="lead_customer_email"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="lead_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_name} — {self.category}"

    @property
    def new_reply(self) -> bool:
        """Whether the customer wrote since the pro last opened the thread (or ever, if never)."""
        if self.customer_wrote_at is None:
            return False
        return self.read_at is None or self.customer_wrote_at > self.read_at

    @property
    def available_channels(self) -> set[str]:
        channels = {Channel.MESSAGE.value}
        if self.customer_phone:
            channels.add(Channel.PHONE.value)
        return channels


def _note_activity(lead_id: int, at: datetime, *, customer: bool = False) -> None:
    """Move the lead's last activity to `at` unless it already is later; for a customer's
    message, note that one arrived now (a pro who opened the thread before has not read it).

    Conditional in the database, so two writers at once cannot move the activity back.
    """
    earlier = Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
    changes = {
        "last_activity_at": Case(When(earlier, then=Value(at)), default=F("last_activity_at"))
    }
    if customer:
        changes["customer_wrote_at"] = timezone.now()
    Lead.objects.filter(pk=lead_id).update(**changes)


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a line of a lead's conversation."""


class Message(models.Model):
    """One line of a lead's conversation, as the pro and the customer wrote it.

    Append-only: reviewers judge a report on the thread exactly as it was written, so a
    message is never edited or deleted once stored.
    """

    lead = models.ForeignKey(
        Lead,
        verbose_name="lead",
        on_delete=models.CASCADE,
        related_name="messages",
    )
    marketplace_id = models.CharField(
        verbose_name="marketplace id",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The messaging service's id; empty for messages written here.",
    )
    sender = models.CharField(
        verbose_name="sender",
        max_length=10,
        choices=Sender.choices,
    )
    body = models.TextField(
        verbose_name="body",
    )
    sent_at = models.DateTimeField(
        verbose_name="sent at",
        default=timezone.now,
    )

    class Meta:
        ordering = ("sent_at", "id")
        indexes = [models.Index(fields=["lead", "sent_at"], name="message_lead_sent")]

    def __str__(self) -> str:
        return f"{self.get_sender_display()}: {self.body[:40]}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Messages in a lead's thread are never changed")
        super().save(*args, **kwargs)
        _note_activity(self.lead_id, self.sent_at, customer=self.sender == Sender.CUSTOMER)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Messages in a lead's thread are never deleted")


class ContactAttempt(models.Model):
    """One try by the pro to reach the customer, by in-app message or phone."""

    lead = models.ForeignKey(
        Lead,
        verbose_name="lead",
        on_delete=models.CASCADE,
        related_name="contact_attempts",
    )
    marketplace_id = models.CharField(
        verbose_name="marketplace id",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The telephony or messaging service's id; empty for attempts logged here.",
    )
    channel = models.CharField(
        verbose_name="channel",
        max_length=10,
        choices=Channel.choices,
    )
    outcome = models.CharField(
        verbose_name="outcome",
        max_length=20,
        choices=Outcome.choices,
    )
    attempted_at = models.DateTimeField(
        verbose_name="attempted at",
        default=timezone.now,
    )
    note = models.CharField(
        verbose_name="note",
        max_length=500,
        blank=True,
    )
    source = models.CharField(
        verbose_name="source",
        max_length=10,
        choices=AttemptSource.choices,
        default=AttemptSource.PRO,
    )

    class Meta:
        ordering = ("attempted_at", "id")
        indexes = [models.Index(fields=["lead", "attempted_at"], name="attempt_lead_attempted")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} — {self.get_outcome_display()}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _note_activity(self.lead_id, self.attempted_at)
