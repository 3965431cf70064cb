"""Support's reversal of a credit the conversation shows was wrong: the customer and the pro
carried on after it. Never automatic; one per credit.

The pro may dispute a reversal once, as they would a decision (a ReversalDispute beside the
request's Dispute, which stays the dispute of a decision): support, four eyes, keeps the
reversal or restores the credit, a ledger credit of the reversed amount back on the balance.
The request stays credited through all of it; the event log has every step."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry, User
from refunds import notices, policy
from refunds.choices import CreditStatus, DisputeStatus, Status
from refunds.models import Credit, CreditReversal, CreditTopUp, RefundRequest, ReversalDispute
from refunds.services.core import (
    MAX_NOTE_LENGTH,
    announce,
    check_staff,
    enqueue,
    lock,
    params,
    record,
    require,
)
from refunds.services.disputes import check_four_eyes
from refunds.services.queries import conversation_resumed
from webhooks.choices import EventType

ALREADY_REVERSED = "This credit has already been reversed; nothing was changed."
ALREADY_RESTORED = "This credit has already been restored; nothing was changed."
ALREADY_KEPT = "Support has already kept this reversal; nothing was changed."
ALREADY_DISPUTED = "You have already disputed this reversal; support's answer is final."
REVERSER = (
    "You reversed this credit, so another member of support must answer the pro's dispute of it."
)
# What the webhooks' dispute events say when the dispute is of a reversal, not of a decision.
ABOUT_REVERSAL = "credit_reversal"


def reverse_credit(
    *, agent: User, request_id: int, explanation: str, now: datetime | None = None
) -> CreditReversal:
    """Take a paid credit back from the pro's prepaid balance, with an explanation they read.

    Whatever way the credit was paid, the reversal is a debit on the balance the pro sees on
    their Credits page (a card refund is never charged back). Only for a request on support's
    "conversation resumed" list, by support who made no decision on it, once: the request's row
    lock orders two reversals, and the unique credit refuses a second in the database.
    """
    now = now or timezone.now()
    explanation = explanation.strip()
    require(bool(explanation), "Explain to the pro why the credit is reversed.")
    require(
        len(explanation) <= MAX_NOTE_LENGTH,
        f"Keep the explanation under {MAX_NOTE_LENGTH} characters.",
    )
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.reverse_credit, agent)
        check_four_eyes(request, agent)
        credit = Credit.objects.select_for_update().get(request=request)
        require(credit.status == CreditStatus.POSTED, "This credit has not been paid yet.")
        require(not CreditReversal.objects.filter(credit=credit).exists(), ALREADY_REVERSED)
        # After a dispute of a partial credit, support's top-up is part of what was refunded.
        top_up = CreditTopUp.objects.filter(credit=credit).first()
        require(
            top_up is None or top_up.is_posted,
            "The rest of this refund is still being paid; reverse it once it has been.",
        )
        amount = credit.amount + (top_up.amount if top_up is not None else 0)
        require(
            conversation_resumed(request, now),
            "Only a credit whose conversation resumed afterwards can be reversed.",
        )
        debit = LedgerEntry.objects.create(
            pro_id=request.pro_id,
            kind=LedgerKind.ADJUSTMENT,
            amount=-amount,
            memo=f"Refund reversed for lead {request.lead.customer_name} (request #{request.pk})",
            created_at=now,
        )
        reversal = CreditReversal.objects.create(
            credit=credit,
            amount=amount,
            explanation=explanation,
            reversed_by=agent,
            reversed_at=now,
            ledger_entry=debit,
        )
        before = request.status
        request.reverse_credit()
        request.save(update_fields=("status",))
        record(request, agent, "reverse_credit", before, explanation, at=now)
        announce(request, EventType.REFUND_REVERSED, now, reversed_amount=str(amount))
        subject, body = notices.reversal(request, reversal)
        message = InboxMessage.objects.create(
            recipient_id=request.pro_id, subject=subject, body=body, created_at=now
        )
        reversal.notice = message
        reversal.save(update_fields=("notice",))
        transaction.on_commit(lambda: enqueue("refunds.tasks.email_notice", message.pk))
        return reversal


def reversal_disputable(reversal: CreditReversal) -> bool:
    """Whether the pro may dispute `reversal` now (the Inbox's form under the reversal, and the
    email's link to it): once, while the request is credited."""
    return reversal.credit.request.status == Status.CREDITED and not hasattr(reversal, "dispute")


def _reversal_of(request: RefundRequest) -> CreditReversal | None:
    return (
        CreditReversal.objects.select_for_update(of=("self",))
        .filter(credit__request=request)
        .first()
    )


def open_reversal_dispute(
    *, pro: User, request_id: int, message: str, now: datetime | None = None
) -> ReversalDispute:
    """The pro's reply to a reversal of their credit: support looks again, within
    REFUND_DISPUTE_HOURS. Once per reversal; the request stays credited."""
    now = now or timezone.now()
    message = message.strip()
    require(bool(message), "Tell us why you think the reversal is wrong.")
    require(len(message) <= MAX_NOTE_LENGTH, f"Keep your reply under {MAX_NOTE_LENGTH} characters.")
    with transaction.atomic():
        request = lock(request_id)
        if request.pro_id != pro.pk:
            raise RefundRequest.DoesNotExist
        reversal = _reversal_of(request)
        require(reversal is not None, "Only a reversed credit can be disputed this way.")
        require(not ReversalDispute.objects.filter(reversal=reversal).exists(), ALREADY_DISPUTED)
        require(can_proceed(request.dispute_reversal), "This reversal can no longer be disputed.")
        before = request.status
        request.dispute_reversal()
        request.save(update_fields=("status",))
        dispute = ReversalDispute.objects.create(
            reversal=reversal,
            message=message,
            opened_at=now,
            due_at=policy.dispute_due(now, params()),
        )
        record(request, pro, "dispute_reversal", before, message, at=now)
        announce(
            request,
            EventType.DISPUTE_OPENED,
            now,
            about=ABOUT_REVERSAL,
            reversed_amount=str(reversal.amount),
        )
        return dispute


def check_reversal_four_eyes(request: RefundRequest, reversal: CreditReversal, agent: User) -> None:
    """Neither who reversed the credit nor anyone who decided the request answers its dispute."""
    require(agent.pk != reversal.reversed_by_id, REVERSER)
    check_four_eyes(request, agent)


def _answering(request_id: int, agent: User, transition_name: str, answer: str):
    """Lock the request and its open reversal dispute, checking who may answer it."""
    answer = answer.strip()
    require(bool(answer), "Write the pro an explanation of your answer.")
    require(len(answer) <= MAX_NOTE_LENGTH, f"Keep the answer under {MAX_NOTE_LENGTH} characters.")
    request = lock(request_id)
    check_staff(request, getattr(request, transition_name), agent)
    reversal = _reversal_of(request)
    dispute = (
        ReversalDispute.objects.select_for_update().filter(reversal=reversal).first()
        if reversal is not None
        else None
    )
    require(dispute is not None, "The pro has not disputed a reversal of this credit.")
    require(not dispute.restored, ALREADY_RESTORED)
    require(not dispute.kept, ALREADY_KEPT)
    check_reversal_four_eyes(request, reversal, agent)
    return request, reversal, dispute, answer


def _tell_the_pro(request: RefundRequest, dispute: ReversalDispute, now: datetime) -> None:
    subject, body = notices.reversal_answer(request, dispute)
    message = InboxMessage.objects.create(
        recipient_id=request.pro_id, subject=subject, body=body, created_at=now
    )
    dispute.notice = message
    dispute.save(update_fields=("notice",))
    transaction.on_commit(lambda: enqueue("refunds.tasks.email_notice", message.pk))


def keep_reversal(
    *, agent: User, request_id: int, explanation: str, now: datetime | None = None
) -> ReversalDispute:
    """Support answers the pro's dispute of a reversal and keeps it: no money moves; the pro
    reads why."""
    now = now or timezone.now()
    with transaction.atomic():
        request, reversal, dispute, explanation = _answering(
            request_id, agent, "keep_reversal", explanation
        )
        before = request.status
        request.keep_reversal()
        request.save(update_fields=("status",))
        dispute.status = DisputeStatus.UPHELD
        dispute.answer = explanation
        dispute.resolved_by = agent
        dispute.resolved_at = now
        dispute.save(update_fields=("status", "answer", "resolved_by", "resolved_at"))
        record(request, agent, "keep_reversal", before, explanation, at=now)
        announce(
            request,
            EventType.DISPUTE_RESOLVED,
            now,
            about=ABOUT_REVERSAL,
            resolution=DisputeStatus.UPHELD,
            reversed_amount=str(reversal.amount),
        )
        _tell_the_pro(request, dispute, now)
        return dispute


def restore_credit(
    *, agent: User, request_id: int, note: str, now: datetime | None = None
) -> ReversalDispute:
    """Support answers the pro's dispute of a reversal and restores the credit: the reversed
    amount goes back on the pro's prepaid balance (where the reversal took it from, whichever
    way the credit was paid), once.

    The request's row lock orders two answers, and the dispute holds one restoration (its
    one-to-one ledger entry, one dispute per reversal): money never goes back twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        request, reversal, dispute, note = _answering(request_id, agent, "restore_credit", note)
        before = request.status
        request.restore_credit()
        request.save(update_fields=("status",))
        entry = LedgerEntry.objects.create(
            pro_id=request.pro_id,
            kind=LedgerKind.ADJUSTMENT,
            amount=reversal.amount,
            memo=f"Refund restored for lead {request.lead.customer_name} (request #{request.pk})",
            created_at=now,
        )
        dispute.status = DisputeStatus.OVERTURNED
        dispute.answer = note
        dispute.resolved_by = agent
        dispute.resolved_at = now
        dispute.restoration = entry
        dispute.save(
            update_fields=("status", "answer", "resolved_by", "resolved_at", "restoration")
        )
        record(request, agent, "restore_credit", before, note, at=now)
        announce(
            request,
            EventType.DISPUTE_RESOLVED,
            now,
            about=ABOUT_REVERSAL,
            resolution=DisputeStatus.OVERTURNED,
            reversed_amount=str(reversal.amount),
            restored_amount=str(entry.amount),
        )
        _tell_the_pro(request, dispute, now)
        return dispute
