"""What a request leaves behind: decisions, the credit, a dispute and the event log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import InboxMessage, LedgerEntry
from accounts.money import money
from leads.choices import PaymentMethod
from refunds.choices import CreditStatus, DecisionKind, DisputeStatus, Outcome, Status
from refunds.models.request import RefundRequest
from refunds.policy import RULE_LABELS


class DecisionQuerySet(models.QuerySet):
    def standing(self) -> DecisionQuerySet:
        """The decisions that count: not taken back with Undo."""
        return self.filter(undone_at__isnull=True)


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
        max_length=20,
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
    amount = models.DecimalField(
        verbose_name="amount approved",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What an approval gives back: the lead's price, or part of it. Empty for a "
        "denial.",
    )
    undone_at = models.DateTimeField(
        verbose_name="undone at",
        null=True,
        blank=True,
        help_text="Taken back by the reviewer (Undo) before its credit or notice went out.",
    )
    rule = models.CharField(
        verbose_name="rule",
        max_length=30,
        blank=True,
        help_text="For an automatic approval: the rule that made it (refunds/policy/rules.py).",
    )
    facts = models.JSONField(
        verbose_name="facts the rule used",
        default=dict,
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

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ("decided_at", "id")
        get_latest_by = ("decided_at", "id")
        indexes = [
            models.Index(
                fields=["request"],
                name="decision_automatic",
                condition=models.Q(kind="automatic"),
            ),
            # Automatic approvals by time: the staff home's "today" and the per-pro cap.
            models.Index(
                fields=["decided_at"],
                name="decision_auto_approval_at",
                condition=models.Q(kind="auto_approval"),
            ),
            # Every rule's decisions by time: the analytics leave out the requests a rule decided
            # among a few days' submissions without reading all of history's.
            models.Index(
                fields=["decided_at", "request"],
                name="decision_rules_at",
                condition=models.Q(kind__in=["automatic", "auto_approval"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(outcome=Outcome.DENIED)
                | (~models.Q(explanation="") & ~models.Q(guidance="")),
                name="denial_has_explanation_and_guidance",
            ),
            models.CheckConstraint(
                # The services give every approval its amount (audit_refunds checks it); a
                # denial gives nothing back.
                condition=models.Q(amount__isnull=True)
                | models.Q(outcome=Outcome.APPROVED, amount__gt=0),
                name="decision_amount_only_for_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_kind_display()})"

    @property
    def is_approval(self) -> bool:
        return self.outcome == Outcome.APPROVED

    @property
    def rule_label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)


class DecisionTally(models.Model):
    """How many decisions were ever recorded with one outcome and kind: what /metrics exports
    as refunds_decisions_total, read without counting the decisions.

    Raised in the transaction that records the decision (services.core.create_decision), and
    never lowered: a decision taken back with Undo stays in the table and stays counted.
    audit_refunds checks every tally against the decisions.
    """

    outcome = models.CharField(
        verbose_name="outcome",
        max_length=10,
        choices=Outcome.choices,
    )
    kind = models.CharField(
        verbose_name="kind",
        max_length=20,
        choices=DecisionKind.choices,
    )
    decisions = models.PositiveBigIntegerField(
        verbose_name="decisions",
        default=0,
    )

    class Meta:
        ordering = ("outcome", "kind")
        verbose_name = "decision tally"
        verbose_name_plural = "decision tallies"
        constraints = [
            models.UniqueConstraint(fields=["outcome", "kind"], name="decision_tally_one_row"),
        ]

    def __str__(self) -> str:
        return f"{self.decisions} {self.get_outcome_display()} ({self.get_kind_display()})"


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
        indexes = [
            # Credits not yet paid, by attempts: the stuck ones (services.stuck_credits).
            models.Index(
                fields=["attempts"],
                name="credit_pending_attempts",
                condition=models.Q(status="pending"),
            ),
            # Paid credits by when: support's "conversation resumed" list reads only the recent
            # ones (services.resumed_condition).
            models.Index(
                fields=["posted_at", "request"],
                name="credit_posted_at",
                condition=models.Q(status="posted"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_amount_positive"),
        ]
        permissions = [
            ("retry_credit", "Can send a stuck credit to the payment provider again"),
        ]

    def __str__(self) -> str:
        return f"{money(self.amount)} to {self.get_method_display()} ({self.get_status_display()})"

    @property
    def is_posted(self) -> bool:
        return self.status == CreditStatus.POSTED

    @property
    def price(self):
        """What the pro paid for the lead: the most a credit may be."""
        return self.request.lead.price

    @property
    def total(self):
        """What the pro gets back in all: the credit, and a top-up after a dispute."""
        top_up = getattr(self, "top_up", None)
        return self.amount + top_up.amount if top_up is not None else self.amount

    @property
    def is_partial(self) -> bool:
        return self.total < self.price

    @property
    def partial_reason(self) -> str:
        """Why only part of the price: the approving decision's explanation (reads the
        request's decisions, so prefetch them for a list)."""
        if not self.is_partial:
            return ""
        approvals = [
            d
            for d in self.request.decisions.all()
            if d.outcome == Outcome.APPROVED and d.undone_at is None
        ]
        return approvals[-1].explanation if approvals else ""


class CreditTopUp(models.Model):
    """The rest of the price, paid after support overturned a partial credit on the pro's
    dispute: on the same credit (one credit per request), as its own ledger entry or card
    refund. At most one per credit, as there is one dispute per request."""

    credit = models.OneToOneField(
        Credit,
        verbose_name="credit",
        on_delete=models.PROTECT,
        related_name="top_up",
    )
    decision = models.OneToOneField(
        Decision,
        verbose_name="overturn",
        on_delete=models.PROTECT,
        related_name="top_up",
    )
    amount = models.DecimalField(
        verbose_name="amount",
        max_digits=8,
        decimal_places=2,
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
        related_name="credit_top_up",
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
        verbose_name = "credit top-up"
        indexes = [
            # Top-ups not yet paid, by attempts: the stuck ones (services.stuck_credits).
            models.Index(
                fields=["attempts"],
                name="top_up_pending_attempts",
                condition=models.Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="credit_top_up_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Top-up of {money(self.amount)} ({self.get_status_display()})"

    @property
    def is_posted(self) -> bool:
        return self.status == CreditStatus.POSTED


class CreditReversal(models.Model):
    """Support taking a paid credit back because the conversation carried on after it: a debit
    on the pro's balance (never a card charge), with the explanation the pro reads. At most one
    per credit: the unique credit is the database's refusal of a second."""

    credit = models.OneToOneField(
        Credit,
        verbose_name="credit",
        on_delete=models.PROTECT,
        related_name="reversal",
    )
    amount = models.DecimalField(
        verbose_name="amount taken back",
        max_digits=8,
        decimal_places=2,
    )
    explanation = models.TextField(
        verbose_name="explanation to the pro",
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="reversed by",
        on_delete=models.PROTECT,
        related_name="credit_reversals",
    )
    reversed_at = models.DateTimeField(
        verbose_name="reversed at",
        default=timezone.now,
    )
    ledger_entry = models.OneToOneField(
        LedgerEntry,
        verbose_name="balance debit",
        on_delete=models.PROTECT,
        related_name="credit_reversal",
    )
    notice = models.OneToOneField(
        InboxMessage,
        verbose_name="inbox message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="credit_reversal",
    )

    class Meta:
        ordering = ("-reversed_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="credit_reversal_amount_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(explanation=""), name="credit_reversal_has_explanation"
            ),
        ]

    def __str__(self) -> str:
        return f"Reversal of {money(self.amount)} (request #{self.credit.request_id})"


class DisputeBase(models.Model):
    """What every dispute has: the pro's reply, when it was opened and is due (its overdue
    notice), and support's answer so far (open, overturned, upheld)."""

    message = models.TextField(
        verbose_name="pro's message",
    )
    opened_at = models.DateTimeField(
        verbose_name="opened at",
        default=timezone.now,
    )
    due_at = models.DateTimeField(
        verbose_name="answer due",
        help_text="REFUND_DISPUTE_HOURS after the pro's reply.",
    )
    overdue_notified_at = models.DateTimeField(
        verbose_name="overdue notice sent at",
        null=True,
        blank=True,
    )
    status = models.CharField(
        verbose_name="status",
        max_length=10,
        choices=DisputeStatus.choices,
        default=DisputeStatus.OPEN,
    )

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN


class ReversalDispute(DisputeBase):
    """A pro's reply to a credit reversal, asking support to look again: at most one per
    reversal, beside (never instead of) the request's Dispute of a decision.

    Support keeps the reversal (upheld) or restores the credit (overturned): a ledger credit of
    the reversed amount back on the pro's balance, at most one, as the dispute is one row.
    """

    reversal = models.OneToOneField(
        CreditReversal,
        verbose_name="reversal",
        on_delete=models.PROTECT,
        related_name="dispute",
    )
    status = models.CharField(
        verbose_name="status",
        max_length=10,
        choices=DisputeStatus.choices,
        default=DisputeStatus.OPEN,
        help_text="Overturned: the credit is restored. Upheld: the reversal is kept.",
    )
    answer = models.TextField(
        verbose_name="support's answer",
        blank=True,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="resolved by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved_reversal_disputes",
    )
    resolved_at = models.DateTimeField(
        verbose_name="resolved at",
        null=True,
        blank=True,
    )
    restoration = models.OneToOneField(
        LedgerEntry,
        verbose_name="balance credit restored",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal_restoration",
    )
    notice = models.OneToOneField(
        InboxMessage,
        verbose_name="inbox message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reversal_dispute_answer",
    )

    class Meta:
        verbose_name = "disputed reversal"
        ordering = ("due_at", "id")
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="reversal_dispute_open_due",
                condition=models.Q(status=DisputeStatus.OPEN),
            ),
        ]
        constraints = [
            # Money back exactly when support restored the credit; an answer once resolved.
            models.CheckConstraint(
                condition=models.Q(status=DisputeStatus.OVERTURNED, restoration__isnull=False)
                | (~models.Q(status=DisputeStatus.OVERTURNED) & models.Q(restoration__isnull=True)),
                name="reversal_dispute_restored_has_credit",
            ),
            models.CheckConstraint(
                condition=models.Q(status=DisputeStatus.OPEN)
                | (~models.Q(answer="") & models.Q(resolved_at__isnull=False)),
                name="reversal_dispute_resolved_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute of the reversal of request #{self.reversal.credit.request_id}"

    @property
    def restored(self) -> bool:
        return self.status == DisputeStatus.OVERTURNED

    @property
    def kept(self) -> bool:
        return self.status == DisputeStatus.UPHELD

    @property
    def outcome_label(self) -> str:
        """The product's words for the resolution."""
        if self.restored:
            return "Credit restored"
        if self.kept:
            return "Reversal kept"
        return "Open"


class Dispute(DisputeBase):
    """A pro's reply to a denial, asking support to look again: at most one per request."""

    request = models.OneToOneField(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="dispute",
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
        ordering = ("due_at", "id")
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="dispute_open_due",
                condition=models.Q(status=DisputeStatus.OPEN),
            ),
            # The waiting disputes' count, overdue count and oldest (services.open_dispute_counts)
            # from the index alone.
            models.Index(
                fields=["opened_at", "due_at"],
                name="dispute_open_age",
                condition=models.Q(status=DisputeStatus.OPEN),
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute of request #{self.request_id} ({self.get_status_display()})"

    @property
    def overturned(self) -> bool:
        return self.status == DisputeStatus.OVERTURNED

    @property
    def upheld(self) -> bool:
        return self.status == DisputeStatus.UPHELD


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


class SpotCheck(models.Model):
    """An automatic approval picked at random for a reviewer to look at again. No money moves:
    a reviewer only says whether they agree, so the rules' disagreements can be counted."""

    decision = models.OneToOneField(
        Decision,
        verbose_name="automatic approval",
        on_delete=models.PROTECT,
        related_name="spot_check",
    )
    created_at = models.DateTimeField(verbose_name="picked at", default=timezone.now)
    agreed = models.BooleanField(verbose_name="agreed", null=True, blank=True)
    note = models.TextField(verbose_name="note", blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="checked by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(verbose_name="checked at", null=True, blank=True)

    class Meta:
        verbose_name = "spot check"
        ordering = ("created_at", "id")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="spot_check_waiting",
                condition=models.Q(checked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Spot check of request #{self.decision.request_id}"

    @property
    def is_waiting(self) -> bool:
        return self.checked_at is None
