"""Disputes: the pro's reply to a denial or a partial credit, and support's answer to it, with
four eyes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from accounts.models import User
from accounts.money import money
from refunds import policy
from refunds.choices import DecisionKind, DisputeStatus, Outcome, Status
from refunds.models import Credit, Decision, Dispute, RefundRequest
from refunds.services.core import (
    MAX_NOTE_LENGTH,
    AmountRefused,
    announce,
    check_staff,
    lock,
    params,
    record,
    require,
)
from refunds.services.review import clean_denial, clean_part, decide
from webhooks.choices import EventType


def disputable(request: RefundRequest, decision: Decision) -> bool:
    """Whether the pro may dispute `decision` now: a denial that went out, or a credit of part
    of the price that was paid (the Inbox's dispute form, and the email's link to it)."""
    if decision.outcome == Outcome.DENIED:
        return request.status == Status.DENIED
    credit = getattr(request, "credit", None)
    return (
        request.status == Status.CREDITED
        and credit is not None
        and credit.is_partial
        and not hasattr(credit, "reversal")
    )


def open_dispute(
    *, pro: User, request_id: int, message: str, now: datetime | None = None
) -> Dispute:
    """The pro's reply to a denial, or to a credit of part of the price: support looks at the
    request again, within REFUND_DISPUTE_HOURS. Once per request."""
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
        refusal = "Only a denial or a credit of part of the price can be disputed."
        require(can_proceed(request.open_dispute), refusal)
        if request.status == Status.CREDITED:
            credit = Credit.objects.get(request=request)
            require(credit.amount < request.lead.price, refusal)
            # Support took the credit back (reversals): there is no partial credit to top up.
            require(not hasattr(credit, "reversal"), refusal)
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
    """Reverse a denial, or a partial credit, after a dispute: a new approval, which then
    credits the pro.

    The whole price, unless support gives a share of it or an amount (review.clean_part); the
    note is then the reason the pro reads for the part kept back. On a partial credit the
    amount is the new total: the difference is paid as a top-up on the same credit.
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
        credit = Credit.objects.filter(request=request).first()
        if credit is not None and (amount or request.lead.price) <= credit.amount:
            currency = request.market.currency if request.market else ""
            raise AmountRefused(
                f"The pro has already been paid {money(credit.amount, currency)}: an overturn "
                "pays more than that (to keep the credit as it is, uphold)."
            )
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
    """Keep a denial, or a partial credit, after a dispute; the pro is told why.

    Keeping a partial credit is an approval of the amount already paid: no money moves.
    """
    now = now or timezone.now()
    explanation, guidance = clean_denial(explanation, guidance)
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.uphold, agent)
        check_four_eyes(request, agent)
        credit = Credit.objects.filter(request=request).first()
        decision = decide(
            request,
            request.uphold,
            agent,
            Outcome.DENIED if credit is None else Outcome.APPROVED,
            DecisionKind.DISPUTE,
            explanation,
            guidance,
            now,
            amount=None if credit is None else credit.amount,
        )
        Dispute.objects.filter(request=request).update(
            status=DisputeStatus.UPHELD, resolution=decision
        )
        announce(request, EventType.DISPUTE_RESOLVED, now, resolution=DisputeStatus.UPHELD)
        return decision
