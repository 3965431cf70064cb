"""Asking the customer: one templated question per request, sent through the marketplace's
messaging (a webhook event), and the customer's answer linked when it comes back.

Asking holds nothing: the request stays due when it was, and is decided on what is there if
no answer comes. An answer that arrives after the decision is kept and shown, and changes
nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from leads.choices import Sender
from leads.models import Message
from refunds import permissions
from refunds.choices import Reason
from refunds.models import CustomerQuestion, RefundRequest
from refunds.services.core import RefundError, announce, check_staff, lock, record, require
from webhooks.choices import EventType

# Our own wording, one per reason the customer can settle; {category} and {pro} are filled in.
QUESTIONS = {
    Reason.HIRED_BEFORE_CONTACT: (
        "Thanks for your {category} request. One quick question: had you already hired "
        "someone for this job before {pro} got in touch? A yes or no is all we need."
    ),
    Reason.WRONG_JOB: (
        "Thanks for your {category} request. One quick question: was {category} the kind of "
        "work you needed? If it was something else, tell us what in a few words."
    ),
    Reason.INVALID_CONTACT: (
        "Thanks for your {category} request. {pro} could not reach you on the phone number or "
        "email you gave. Are they right? If not, reply with the best way to reach you."
    ),
}
ASKABLE_REASONS = frozenset(QUESTIONS)

ONE_QUESTION = "The customer was already asked about this request: one question per request."


def question_text(request: RefundRequest) -> str:
    """The question this request's reason asks, filled in for its lead (empty: none fits)."""
    template = QUESTIONS.get(request.reason)
    if template is None:
        return ""
    return template.format(category=request.lead.category.name, pro=request.pro.display_name)


def can_ask(request: RefundRequest, user: User, now: datetime | None = None) -> bool:
    """Whether the page offers Ask the customer: the checks ask_customer makes, unlocked."""
    now = now or timezone.now()
    return (
        request.reason in ASKABLE_REASONS
        and request.pro_id != user.pk
        and request.is_open
        and user.has_perm(permissions.DECIDE)
        and not request.claimed_by_other(user, now)
        and getattr(request, "customer_question", None) is None
    )


def ask_customer(
    *, reviewer: User, request_id: int, now: datetime | None = None
) -> CustomerQuestion:
    """Record the reason's question and announce it (refund.customer_question) for the
    marketplace to send, in one transaction. Whoever may decide the request may ask."""
    now = now or timezone.now()
    with transaction.atomic():
        request = lock(request_id)
        # The checks of deciding: an open request, the reviewer's permission, not their own.
        check_staff(request, request.approve, reviewer)
        if request.claimed_by_other(reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        require(
            request.reason in ASKABLE_REASONS,
            f"The customer is not asked about “{request.get_reason_display()}” reports.",
        )
        require(not CustomerQuestion.objects.filter(request=request).exists(), ONE_QUESTION)
        try:
            with transaction.atomic():
                question = CustomerQuestion.objects.create(
                    request=request, text=question_text(request), asked_by=reviewer, asked_at=now
                )
        except IntegrityError:
            raise RefundError(ONE_QUESTION) from None
        record(request, reviewer, "ask_customer", request.status, question.text, at=now)
        announce(
            request,
            EventType.REFUND_CUSTOMER_QUESTION,
            now,
            question_id=question.pk,
            question=question.text,
        )
        return question


def record_answer(
    question: CustomerQuestion, message: Message, now: datetime | None = None
) -> None:
    """Link the customer's reply to its question (the caller holds the lead's row lock and
    has checked that they belong together). Nothing else changes, decided or not."""
    require(message.sender == Sender.CUSTOMER, "Only the customer answers the question.")
    question.answer = message
    question.save(update_fields=("answer",))
    request = question.request
    record(request, None, "customer_answered", request.status, message.body, at=now)
