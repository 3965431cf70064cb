"""The refund request and its state machine."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from leads.models import Lead
from refunds import permissions, policy
from refunds.choices import OPEN_STATUSES, STATUS_COLOURS, Reason, Status


class RefundRequestQuerySet(models.QuerySet):
    def open(self) -> "RefundRequestQuerySet":
        """Waiting for a decision: submitted or in review."""
        return self.filter(status__in=OPEN_STATUSES)

    def live_claims(self, now: datetime) -> "RefundRequestQuerySet":
        """Held by a reviewer whose claim has not run out (RefundRequest.has_live_claim)."""
        return self.filter(status=Status.IN_REVIEW, claimed_until__gt=now)

    def without_live_claim(self, now: datetime) -> "RefundRequestQuerySet":
        return self.exclude(status=Status.IN_REVIEW, claimed_until__gt=now)

    def expired_claims(self, now: datetime) -> "RefundRequestQuerySet":
        return self.filter(status=Status.IN_REVIEW, claimed_until__lt=now)


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

    objects = RefundRequestQuerySet.as_manager()

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
                condition=models.Q(status__in=list(OPEN_STATUSES)),
            ),
            # The staff home's counts of open work (due soon, overdue, claimed by whom), from
            # the index alone.
            models.Index(
                fields=["due_at", "id", "status", "claimed_by", "claimed_until"],
                name="request_open_work",
                condition=models.Q(status__in=list(OPEN_STATUSES)),
            ),
            # Analytics' open requests by age and overdue now, from the index alone.
            models.Index(
                fields=["submitted_at", "due_at", "id"],
                name="request_open_age",
                condition=models.Q(status__in=list(OPEN_STATUSES)),
            ),
            # The queue filtered by reason: open work of that reason in due order, however many
            # decided requests pile up behind it.
            models.Index(
                fields=["reason", "due_at", "id"],
                name="request_open_reason_due",
                condition=models.Q(status__in=list(OPEN_STATUSES)),
            ),
            # The queue filtered by market (and reason): that market's open work in due order.
            models.Index(
                fields=["market", "reason", "due_at", "id"],
                name="request_open_market_due",
                condition=models.Q(status__in=list(OPEN_STATUSES)),
            ),
        ]
        permissions = [
            ("decide_refundrequest", "Can approve or deny refund requests"),
            ("resolve_dispute", "Can overturn or uphold disputed decisions"),
            ("view_analytics", "Can see the operations analytics"),
        ]

    def __str__(self) -> str:
        return f"Refund request #{self.pk} ({self.get_status_display()})"

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS[Status(self.status)]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @cached_property
    def assessed(self) -> policy.Assessment | None:
        """The stored assessment, typed (None for a request stored without one)."""
        return policy.Assessment.from_json(self.assessment)

    def has_live_claim(self, now: datetime) -> bool:
        """A reviewer holds this request and the claim has not run out."""
        return (
            self.status == Status.IN_REVIEW
            and self.claimed_by_id is not None
            and self.claimed_until is not None
            and self.claimed_until > now
        )

    def claimed_by_other(self, user, now: datetime) -> bool:
        return self.has_live_claim(now) and self.claimed_by_id != user.pk

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
        permission=permissions.DECIDE,
    )
    def claim(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.SUBMITTED,
        permission=permissions.DECIDE,
    )
    def release(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.REVIEWED,
        permission=permissions.DECIDE,
    )
    def approve(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.REVIEWED,
        permission=permissions.DECIDE,
    )
    def approve_part(self) -> None:
        """Approve part of the lead's price, with a reason for the pro."""

    @transition(
        field=status,
        source=[Status.SUBMITTED, Status.IN_REVIEW],
        target=Status.REVIEWED,
        permission=permissions.DECIDE,
    )
    def deny(self) -> None:
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.REVIEWED)
    def auto_deny(self) -> None:
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.REVIEWED)
    def auto_approve(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.REVIEWED,
        target=Status.IN_REVIEW,
        permission=permissions.DECIDE,
    )
    def undo(self) -> None:
        """The reviewer takes their decision back before its credit or notice went out."""

    @transition(field=status, source=Status.REVIEWED, target=Status.CREDITED)
    def mark_credited(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.CREDITED,
        target=Status.CREDITED,
        permission=permissions.RESOLVE_DISPUTE,
    )
    def reverse_credit(self) -> None:
        """Support takes the credit back (the conversation resumed after it); stays credited,
        with the reversal recorded beside the credit."""

    @transition(field=status, source=Status.CREDITED, target=Status.CREDITED)
    def dispute_reversal(self) -> None:
        """The pro replies to a reversal of their credit (services.open_reversal_dispute)."""

    @transition(
        field=status,
        source=Status.CREDITED,
        target=Status.CREDITED,
        permission=permissions.RESOLVE_DISPUTE,
    )
    def keep_reversal(self) -> None:
        """Support answers the pro's dispute of a reversal: the reversal stands."""

    @transition(
        field=status,
        source=Status.CREDITED,
        target=Status.CREDITED,
        permission=permissions.RESOLVE_DISPUTE,
    )
    def restore_credit(self) -> None:
        """Support answers the pro's dispute of a reversal: the amount goes back on the
        balance."""

    @transition(field=status, source=Status.REVIEWED, target=Status.DENIED)
    def mark_denied(self) -> None:
        pass

    @transition(field=status, source=[Status.DENIED, Status.CREDITED], target=Status.DISPUTED)
    def open_dispute(self) -> None:
        """A denial, or a credit of part of the price (services.open_dispute checks which)."""

    @transition(
        field=status,
        source=Status.DISPUTED,
        target=Status.REVIEWED,
        permission=permissions.RESOLVE_DISPUTE,
    )
    def overturn(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.DISPUTED,
        target=Status.REVIEWED,
        permission=permissions.RESOLVE_DISPUTE,
    )
    def uphold(self) -> None:
        pass
