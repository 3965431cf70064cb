from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod
from leads.models import Lead
from refunds.choices import (
    STATUS_COLOURS,
    CreditStatus,
    DecisionKind,
    DisputeStatus,
    Outcome,
    Reason,
    Status,
)

DECIDE_PERMISSION = "refunds.decide_refundrequest"
RESOLVE_DISPUTE_PERMISSION = "refunds.resolve_dispute"


class RefundRequest(ConcurrentTransitionMixin, models.Model):
    """A pro's request to get their money back for one lead.

    The status moves only through the transitions below, and only refunds/services.py calls
    them: it locks the row, checks who may act, writes the event and queues side effects.
    """

    lead = models.OneToOneField(
        Lead,
        verbose_name="lead",
        on_delete=models.PROTECT,
        related_name="refund_request",
    )
    pro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="pro",
        on_delete=models.PROTECT,
        related_name="refund_requests",
    )
    # The pro's market when they reported: the market their refund rate was compared with, and
    # the one reviewers filter the queue by (kept here so that filter reads one index).
    market = models.ForeignKey(
        "accounts.Market",
        verbose_name="market",
        on_delete=models.PROTECT,
        related_name="refund_requests",
        null=True,
        blank=True,
    )
    reason = models.CharField(
        verbose_name="reason",
        max_length=30,
        choices=Reason.choices,
    )
    details = models.TextField(
        verbose_name="details",
        blank=True,
    )
    status = FSMField(
        verbose_name="status",
        default=Status.SUBMITTED,
        choices=Status.choices,
        protected=True,
    )
    submitted_at = models.DateTimeField(
        verbose_name="submitted at",
        default=timezone.now,
    )
    due_at = models.DateTimeField(
        verbose_name="decision due",
    )
    assessment = models.JSONField(
        verbose_name="assessment",
        default=dict,
        blank=True,
        help_text="The policy checks computed at submission (refunds.policy).",
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="claimed by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_refund_requests",
    )
    claimed_until = models.DateTimeField(
        verbose_name="claimed until",
        null=True,
        blank=True,
    )
    overdue_notified_at = models.DateTimeField(
        verbose_name="overdue notice sent at",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(
        verbose_name="decided at",
        null=True,
        blank=True,
        help_text="When the first decision was recorded.",
    )

    class Meta:
        ordering = ("due_at", "id")
        indexes = [
            models.Index(fields=["status", "due_at"], name="request_status_due"),
            models.Index(fields=["pro", "submitted_at"], name="request_pro_submitted"),
            # Every column the queue's on-time statistics read: answered from the index alone.
            models.Index(
                fields=["submitted_at", "status", "decided_at", "due_at", "id"],
                name="request_submitted_stats",
            ),
            # The queue's default view: open work in due order, read from the index in order.
            models.Index(
                fields=["due_at", "id"],
                name="request_open_due",
                condition=models.Q(status__in=["submitted", "in_review"]),
            ),
            # The queue filtered by reason: open work of that reason in due order, however many
            # decided requests pile up behind it.
            models.Index(
                fields=["reason", "due_at", "id"],
                name="request_open_reason_due",
                condition=models.Q(status__in=["submitted", "in_review"]),
            ),
            # The queue filtered by market (and reason): that market's open work in due order.
            models.Index(
                fields=["market", "reason", "due_at", "id"],
                name="request_open_market_due",
                condition=models.Q(status__in=["submitted", "in_review"]),
            ),
        ]
        permissions = [
            ("decide_refundrequest", "Can approve or deny refund requests"),
            ("resolve_dispute", "Can overturn or uphold disputed decisions"),
        ]

    def __str__(self) -> str:
        return f"Refund request #{self.pk} ({self.get_status_display()})"

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS[Status(self.status)]

    @property
    def is_open(self) -> bool:
        return self.status in (Status.SUBMITTED, Status.IN_REVIEW)

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.is_open and (now or timezone.now()) > self.due_at

    # Transitions. Bodies stay empty: services.py does the work around them.

    @transition(field=status, source=Status.SUBMITTED, target=Status.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.IN_REVIEW,
        permission=DECIDE_PERMISSION,
    )
    def claim(self) -> None:
        pass

    @transition(
        field=status, source=Status.IN_REVIEW, target=Status.SUBMITTED, permission=DECIDE_PERMISSION
    )
    def release(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.REVIEWED,
        permission=DECIDE_PERMISSION,
    )
    def approve(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.REVIEWED,
        permission=DECIDE_PERMISSION,
    )
    def deny(self) -> None:
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.REVIEWED)
    def auto_deny(self) -> None:
        pass

    @transition(field=status, source=Status.REVIEWED, target=Status.CREDITED)
    def mark_credited(self) -> None:
        pass

    @transition(field=status, source=Status.REVIEWED, target=Status.DENIED)
    def mark_denied(self) -> None:
        pass

    @transition(field=status, source=Status.DENIED, target=Status.DISPUTED)
    def open_dispute(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.DISPUTED,
        target=Status.REVIEWED,
        permission=RESOLVE_DISPUTE_PERMISSION,
    )
    def overturn(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.DISPUTED,
        target=Status.REVIEWED,
        permission=RESOLVE_DISPUTE_PERMISSION,
    )
    def uphold(self) -> None:
        pass


class Decision(models.Model):
    """An approval or denial of a request, by a reviewer, support, or the peer-rate rule."""

    request = models.ForeignKey(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    outcome = models.CharField(
        verbose_name="outcome",
        max_length=10,
        choices=Outcome.choices,
    )
    kind = models.CharField(
        verbose_name="kind",
        max_length=10,
        choices=DecisionKind.choices,
        default=DecisionKind.REVIEW,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="decided by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_decisions",
        help_text="Empty for an automatic decision.",
    )
    decided_at = models.DateTimeField(
        verbose_name="decided at",
        default=timezone.now,
    )
    explanation = models.TextField(
        verbose_name="explanation",
        blank=True,
    )
    guidance = models.TextField(
        verbose_name="guidance for future leads",
        blank=True,
    )
    notice = models.OneToOneField(
        InboxMessage,
        verbose_name="inbox message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decision",
    )

    class Meta:
        ordering = ("decided_at", "id")
        get_latest_by = ("decided_at", "id")
        indexes = [
            models.Index(
                fields=["request"],
                name="decision_automatic",
                condition=models.Q(kind="automatic"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(outcome=Outcome.DENIED)
                | (~models.Q(explanation="") & ~models.Q(guidance="")),
                name="denial_has_explanation_and_guidance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_kind_display()})"

    @property
    def is_approval(self) -> bool:
        return self.outcome == Outcome.APPROVED


class Credit(models.Model):
    """The money given back for an approved request: at most one per request."""

    request = models.OneToOneField(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="credit",
    )
    amount = models.DecimalField(
        verbose_name="amount",
        max_digits=8,
        decimal_places=2,
    )
    method = models.CharField(
        verbose_name="paid back to",
        max_length=10,
        choices=PaymentMethod.choices,
    )
    status = models.CharField(
        verbose_name="status",
        max_length=10,
        choices=CreditStatus.choices,
        default=CreditStatus.PENDING,
    )
    ledger_entry = models.OneToOneField(
        LedgerEntry,
        verbose_name="ledger entry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit",
    )
    gateway_reference = models.CharField(
        verbose_name="gateway reference",
        max_length=100,
        blank=True,
    )
    expected_on = models.DateField(
        verbose_name="expected on",
        null=True,
        blank=True,
        help_text="For card refunds, the day the money should reach the card.",
    )
    created_at = models.DateTimeField(
        verbose_name="created at",
        default=timezone.now,
    )
    posted_at = models.DateTimeField(
        verbose_name="posted at",
        null=True,
        blank=True,
    )
    attempts = models.PositiveIntegerField(
        verbose_name="attempts",
        default=0,
    )
    last_error = models.TextField(
        verbose_name="last error",
        blank=True,
    )

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_amount_positive"),
        ]
        permissions = [
            ("retry_credit", "Can send a stuck credit to the payment provider again"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.get_method_display()} ({self.get_status_display()})"


class Dispute(models.Model):
    """A pro's reply to a denial, asking support to look again: at most one per request."""

    request = models.OneToOneField(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="dispute",
    )
    message = models.TextField(
        verbose_name="pro's message",
    )
    opened_at = models.DateTimeField(
        verbose_name="opened at",
        default=timezone.now,
    )
    status = models.CharField(
        verbose_name="status",
        max_length=10,
        choices=DisputeStatus.choices,
        default=DisputeStatus.OPEN,
    )
    resolution = models.OneToOneField(
        Decision,
        verbose_name="resolution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved_dispute",
    )

    class Meta:
        ordering = ("opened_at", "id")

    def __str__(self) -> str:
        return f"Dispute of request #{self.request_id} ({self.get_status_display()})"


class ImmutableError(Exception):
    pass


class RefundEvent(models.Model):
    """One line of a request's history: who moved it from which state to which, and why.

    Written once by services.py; never changed or deleted.
    """

    request = models.ForeignKey(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="actor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_events",
        help_text="Empty when the system acted.",
    )
    action = models.CharField(
        verbose_name="action",
        max_length=30,
    )
    from_status = models.CharField(
        verbose_name="from",
        max_length=20,
        choices=Status.choices,
        blank=True,
    )
    to_status = models.CharField(
        verbose_name="to",
        max_length=20,
        choices=Status.choices,
    )
    note = models.TextField(
        verbose_name="note",
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name="at",
        default=timezone.now,
    )

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["request", "created_at"], name="event_request_created")]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status or '—'} → {self.to_status}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("Refund events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("Refund events are never deleted")


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
