"""Disputes: the pro's reply to a denial, and support's answer to it, with four eyes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from accounts.models import User
from refunds import policy
from refunds.choices import DecisionKind, DisputeStatus, Outcome
from refunds.models import Decision, Dispute, RefundRequest
from refunds.services.core import (
    MAX_NOTE_LENGTH,
    announce,
    check_staff,
    lock,
    params,
    record,
    require,
)
from refunds.services.review import clean_denial, clean_part, decide
from webhooks.choices import EventType


def open_dispute(
    *, pro: User, request_id: int, message: str, now: datetime | None = None
) -> Dispute:
    """The pro's reply to a denial: support looks at the request again, within
    REFUND_DISPUTE_HOURS. Once per request."""
    now = now or timezone.now()
    message = message.strip()
    require(bool(message), "Tell us why you think the decision is wrong.")
    require(len(message) <= MAX_NOTE_LENGTH, f"Keep your reply under {MAX_NOTE_LENGTH} characters.")
    with transaction.atomic():
        request = lock(request_id)
        if request.pro_id != pro.pk:
            raise RefundRequest.DoesNotExist
        require(
            not Dispute.objects.filter(request=request).exists(),
            "You have already disputed this decision; support's answer is final.",
        )
        require(can_proceed(request.open_dispute), "Only a denied request can be disputed.")
        before = request.status
        request.open_dispute()
        request.save(update_fields=("status",))
        dispute = Dispute.objects.create(
            request=request,
            message=message,
            opened_at=now,
            due_at=policy.dispute_due(now, params()),
        )
        record(request, pro, "dispute", before, message, at=now)
        announce(request, EventType.DISPUTE_OPENED, now)
        return dispute


def check_four_eyes(request: RefundRequest, agent: User) -> None:
    deciders = set(request.decisions.values_list("decided_by_id", flat=True))
    require(
        agent.pk not in deciders,
        "You made a decision on this request, so another member of support must resolve the "
        "dispute.",
    )


def overturn(
    *,
    agent: User,
    request_id: int,
    note: str,
    share: int | None = None,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Decision:
    """Reverse a denial after a dispute: a new approval, which then credits the pro.

    The whole price, unless support gives a share of it or an amount (review.clean_part); the
    note is then the reason the pro reads for the part kept back.
    """
    now = now or timezone.now()
    note = note.strip()
    require(bool(note), "Write a note to the pro explaining the new decision.")
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.overturn, agent)
        check_four_eyes(request, agent)
        if share is not None or amount is not None:
            amount, note = clean_part(request, share, amount, note)
        decision = decide(
            request,
            request.overturn,
            agent,
            Outcome.APPROVED,
            DecisionKind.DISPUTE,
            note,
            "",
            now,
            amount=amount,
        )
        Dispute.objects.filter(request=request).update(
            status=DisputeStatus.OVERTURNED, resolution=decision
        )
        announce(request, EventType.DISPUTE_RESOLVED, now, resolution=DisputeStatus.OVERTURNED)
        return decision


def uphold(
    *,
    agent: User,
    request_id: int,
    explanation: str,
    guidance: str,
    now: datetime | None = None,
) -> Decision:
    """Keep a denial after a dispute; the pro is told why."""
    now = now or timezone.now()
    explanation, guidance = clean_denial(explanation, guidance)
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.uphold, agent)
        check_four_eyes(request, agent)
        decision = decide(
            request,
            request.uphold,
            agent,
            Outcome.DENIED,
            DecisionKind.DISPUTE,
            explanation,
            guidance,
            now,
        )
        Dispute.objects.filter(request=request).update(
            status=DisputeStatus.UPHELD, resolution=decision
        )
        announce(request, EventType.DISPUTE_RESOLVED, now, resolution=DisputeStatus.UPHELD)
        return decision
