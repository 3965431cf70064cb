"""Support's reversal of a credit the conversation shows was wrong: the customer and the pro
carried on after it. Never automatic; one per credit."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry, User
from refunds import notices
from refunds.choices import CreditStatus
from refunds.models import Credit, CreditReversal, CreditTopUp
from refunds.services.core import MAX_NOTE_LENGTH, check_staff, enqueue, lock, record, require
from refunds.services.disputes import check_four_eyes
from refunds.services.queries import conversation_resumed

ALREADY_REVERSED = "This credit has already been reversed; nothing was changed."


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
        subject, body = notices.reversal(request, reversal)
        message = InboxMessage.objects.create(
            recipient_id=request.pro_id, subject=subject, body=body, created_at=now
        )
        reversal.notice = message
        reversal.save(update_fields=("notice",))
        transaction.on_commit(lambda: enqueue("refunds.tasks.email_notice", message.pk))
        return reversal
