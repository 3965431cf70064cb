"""Records the review works from: denial wording, the sandbox gateway, market statistics."""

from django.db import models
from django.utils import timezone

from refunds.choices import Reason


class DenialTemplate(models.Model):
    """Editable wording a reviewer starts from when denying: one per case."""

    title = models.CharField(
        verbose_name="title",
        max_length=120,
        unique=True,
    )
    reason = models.CharField(
        verbose_name="for reason",
        max_length=30,
        choices=Reason.choices,
        blank=True,
        help_text="Offered first for requests with this reason; empty for any reason.",
    )
    explanation = models.TextField(
        verbose_name="explanation",
    )
    guidance = models.TextField(
        verbose_name="guidance for future leads",
    )

    class Meta:
        ordering = ("title",)

    def __str__(self) -> str:
        return self.title


class SandboxRefund(models.Model):
    """A card refund recorded by the sandbox payment gateway, keyed like a real provider's."""

    idempotency_key = models.CharField(
        verbose_name="idempotency key",
        max_length=100,
        unique=True,
    )
    amount = models.DecimalField(
        verbose_name="amount",
        max_digits=8,
        decimal_places=2,
    )
    created_at = models.DateTimeField(
        verbose_name="created at",
        default=timezone.now,
    )
    settles_on = models.DateField(
        verbose_name="settles on",
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"sandbox refund {self.idempotency_key} ({self.amount})"


class MarketPeerStats(models.Model):
    """A market's refund rates per pro over the peer window, computed by a scheduled job.

    A report submission compares the pro with this snapshot instead of counting the whole
    market's leads, so it never scans the leads table.
    """

    market = models.OneToOneField(
        "accounts.Market",
        verbose_name="market",
        on_delete=models.CASCADE,
        related_name="peer_stats",
    )
    computed_at = models.DateTimeField(
        verbose_name="computed at",
    )
    window_days = models.PositiveIntegerField(
        verbose_name="window (days)",
    )
    rates = models.JSONField(
        verbose_name="refund rate per pro",
        default=dict,
        help_text="Pro id → requests ÷ leads over the window, for pros with leads.",
    )

    class Meta:
        verbose_name = "market peer statistics"
        verbose_name_plural = "market peer statistics"

    def __str__(self) -> str:
        return f"{self.market} ({len(self.rates)} pros, {self.computed_at:%Y-%m-%d %H:%M})"
