"""The question a reviewer sends the customer about a report, and the customer's answer."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Message
from refunds.models.request import RefundRequest


class CustomerQuestion(models.Model):
    """One templated question per request, sent through the marketplace's messaging (the
    `refund.customer_question` webhook event). The customer's reply comes back through the
    ingest API as a thread message that names this question; it is linked here once.

    Asking does not hold the request: it is decided within its 24 hours, answered or not.
    """

    request = models.OneToOneField(
        RefundRequest,
        verbose_name="request",
        on_delete=models.PROTECT,
        related_name="customer_question",
    )
    text = models.TextField(
        verbose_name="question",
        help_text="As it was sent to the customer.",
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="asked by",
        on_delete=models.PROTECT,
        related_name="+",
    )
    asked_at = models.DateTimeField(
        verbose_name="asked at",
        default=timezone.now,
    )
    answer = models.OneToOneField(
        Message,
        verbose_name="answer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answered_question",
        help_text="The customer's message that answers it, once it arrived.",
    )

    class Meta:
        verbose_name = "customer question"
        ordering = ("asked_at", "id")

    def __str__(self) -> str:
        return f"Question {self.pk} about request #{self.request_id}"

    @property
    def answered_after_decision(self) -> bool:
        """The customer wrote back once the request was decided: kept, and changes nothing."""
        decided_at = self.request.decided_at
        if self.answer is None or decided_at is None:
            return False
        return self.answer.sent_at > decided_at
