"""Side effects, run by the worker (refunds/tasks.py names them for django-q2): paying a
credit, delivering a denial, emailing a notice. Each is safe to run any number of times."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry
from accounts.money import money
from accounts.timezones import zone_of
from leads.choices import PaymentMethod
from refunds import emails, notices
from refunds.choices import CreditStatus, DecisionKind, Outcome, Status
from refunds.gateway import get_gateway
from refunds.models import Credit, CreditReversal, CreditTopUp, Decision, RefundRequest
from refunds.services.core import announce, enqueue, lock, record
from webhooks.choices import EventType

log = logging.getLogger(__name__)


def post_credit(credit_id: int, now: datetime | None = None) -> None:
    """Pay an approved request back and tell the pro. Safe to run any number of times.

    A gateway failure is recorded on the credit (for support to see) and raised again, so the
    worker retries; the idempotency key stops a retry from refunding twice.
    """
    try:
        _post_credit(credit_id, now or timezone.now())
    except Exception as error:
        # Any failure, not only the gateway's: support sees it on the credit either way.
        detail = f"{type(error).__name__}: {error}"
        Credit.objects.filter(pk=credit_id).update(
            attempts=F("attempts") + 1, last_error=detail[:2000]
        )
        raise


def _post_credit(credit_id: int, now: datetime) -> None:
    with transaction.atomic():
        credit = Credit.objects.select_for_update().filter(pk=credit_id).first()
        if credit is None:
            return  # the reviewer took the approval back (Undo) before it was sent
        if credit.status == CreditStatus.POSTED:
            return
        if credit.attempts >= settings.CREDIT_MAX_ATTEMPTS:
            # Retrying for ever would only hammer a provider that keeps refusing: support takes
            # it from here (stuck_credits), with the attempts and the last error on the credit.
            log.error("Credit %s gave up after %s attempts", credit.pk, credit.attempts)
            return
        request = lock(credit.request_id)
        _pay(
            credit,
            request,
            credit.method,
            memo=f"Refund for lead {request.lead.customer_name} (request #{request.pk})",
            idempotency_key=f"refund-request-{request.pk}",
            now=now,
        )
        before = request.status
        request.mark_credited()
        request.save(update_fields=("status",))
        record(
            request,
            None,
            "credit_posted",
            before,
            f"{money(credit.amount)} to {credit.method}",
            at=now,
        )
        announce(request, EventType.REFUND_CREDITED, now, amount=str(credit.amount))
        subject, body = notices.approval(request, credit)
        _notify(request, request.decisions.latest(), subject, body, email=True, now=now)
    # Once committed, ids and money only: the ledger's memo names the customer.
    log.info(
        "Credit %s posted: %s to %s (request %s)",
        credit.pk,
        credit.amount,
        credit.method,
        request.pk,
    )


def post_top_up(top_up_id: int, now: datetime | None = None) -> None:
    """Pay the rest of the price after support overturned a partial credit, and tell the pro.
    Safe to run any number of times, as post_credit is (its own idempotency key)."""
    try:
        _post_top_up(top_up_id, now or timezone.now())
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        CreditTopUp.objects.filter(pk=top_up_id).update(
            attempts=F("attempts") + 1, last_error=detail[:2000]
        )
        raise


def _pay(
    paid: Credit | CreditTopUp,
    request: RefundRequest,
    method: str,
    *,
    memo: str,
    idempotency_key: str,
    now: datetime,
) -> None:
    """Move the money of a credit or of its top-up, inside the caller's transaction: an entry
    on the pro's prepaid balance, or a card refund at the gateway (the key makes a retry safe);
    then it is posted."""
    if method == PaymentMethod.BALANCE:
        paid.ledger_entry = LedgerEntry.objects.create(
            pro_id=request.pro_id,
            kind=LedgerKind.REFUND,
            amount=paid.amount,
            memo=memo,
            created_at=now,
        )
    else:
        refund = get_gateway().refund(idempotency_key=idempotency_key, amount=paid.amount)
        paid.gateway_reference = refund.reference
        paid.expected_on = refund.expected_on
    paid.status = CreditStatus.POSTED
    paid.posted_at = now
    paid.attempts += 1
    paid.last_error = ""
    paid.save()


def _post_top_up(top_up_id: int, now: datetime) -> None:
    with transaction.atomic():
        top_up = (
            CreditTopUp.objects.select_for_update(of=("self",))
            .select_related("credit")
            .filter(pk=top_up_id)
            .first()
        )
        if top_up is None or top_up.is_posted:
            return
        if top_up.attempts >= settings.CREDIT_MAX_ATTEMPTS:
            log.error("Top-up %s gave up after %s attempts", top_up.pk, top_up.attempts)
            return
        credit = top_up.credit
        request = lock(credit.request_id)
        _pay(
            top_up,
            request,
            credit.method,
            memo=f"Rest of the refund for lead {request.lead.customer_name} "
            f"(request #{request.pk})",
            idempotency_key=f"refund-request-{request.pk}-top-up",
            now=now,
        )
        before = request.status
        request.mark_credited()
        request.save(update_fields=("status",))
        record(
            request,
            None,
            "credit_posted",
            before,
            f"{money(top_up.amount)} more to {credit.method} (top-up)",
            at=now,
        )
        # The marketplace hears the whole amount now refunded, as for the first credit.
        total = credit.amount + top_up.amount
        announce(
            request, EventType.REFUND_CREDITED, now, amount=str(total), top_up=str(top_up.amount)
        )
        subject, body = notices.approval(request, credit, top_up)
        _notify(request, top_up.decision, subject, body, email=True, now=now)
    log.info("Top-up %s posted: %s (request %s)", top_up.pk, top_up.amount, request.pk)


def keep_credit(decision_id: int, now: datetime | None = None) -> None:
    """Tell the pro support kept their partial credit after the dispute, and close the request
    as credited again. No money moves. Idempotent."""
    now = now or timezone.now()
    request_id = Decision.objects.values_list("request_id", flat=True).get(pk=decision_id)
    with transaction.atomic():
        request = lock(request_id)
        decision = Decision.objects.get(pk=decision_id)
        if decision.notice_id is not None:
            return
        subject, body = notices.credit_kept(request, decision)
        _notify(request, decision, subject, body, email=True, now=now)
        if request.status == Status.REVIEWED:
            before = request.status
            request.mark_credited()
            request.save(update_fields=("status",))
            record(request, None, "credit_kept", before, at=now)


def deliver_denial(decision_id: int, now: datetime | None = None) -> None:
    """Send the pro the denial notice and close the request as denied. Idempotent."""
    now = now or timezone.now()
    request_id = Decision.objects.values_list("request_id", flat=True).get(pk=decision_id)
    with transaction.atomic():
        request = lock(request_id)
        # Read under the request's lock: a concurrent delivery may have just attached the notice.
        decision = Decision.objects.get(pk=decision_id)
        if decision.notice_id is not None or decision.undone_at is not None:
            return
        subject, body = notices.denial(request, decision)
        _notify(
            request,
            decision,
            subject,
            body,
            email=decision.kind != DecisionKind.AUTOMATIC,
            now=now,
        )
        if request.status == Status.REVIEWED:
            before = request.status
            request.mark_denied()
            request.save(update_fields=("status",))
            record(request, None, "denial_sent", before, at=now)
            announce(request, EventType.REFUND_DENIED, now)
    log.info("Denial notice %s sent (request %s)", decision.notice_id, request.pk)


def _notify(
    request: RefundRequest,
    decision: Decision,
    subject: str,
    body: str,
    *,
    email: bool,
    now: datetime,
) -> InboxMessage:
    message = InboxMessage.objects.create(
        recipient_id=request.pro_id, subject=subject, body=body, created_at=now
    )
    decision.notice = message
    decision.save(update_fields=("notice",))
    if email:
        transaction.on_commit(lambda: enqueue("refunds.tasks.email_notice", message.pk))
    return message


def email_notice(message_id: int) -> None:
    """Email a copy of an inbox message, once: text and HTML, linking to the message in the
    Inbox, where a denial is disputed (the email is never the way back)."""
    with transaction.atomic():
        message = (
            InboxMessage.objects.select_for_update(of=("self",))
            .select_related("recipient__pro_profile__market")
            .get(pk=message_id)
        )
        if message.emailed_at is not None:
            return
        decision = (
            Decision.objects.select_related(
                "request__market", "request__lead", "request__credit__top_up"
            )
            .filter(notice=message)
            .first()
        )
        request = decision.request if decision is not None else None
        credit = getattr(request, "credit", None) if decision is not None else None
        emails.send(
            "notice",
            message.subject,
            {
                "subject": message.subject,
                "message": message,
                "paragraphs": [p for p in message.body.split("\n\n") if p.strip()],
                "url": emails.absolute(reverse("inbox_message", args=[message.pk])),
                "credit": credit if decision and decision.outcome == Outcome.APPROVED else None,
                "currency": request.market.currency if request and request.market else "",
                "can_dispute": (
                    decision is not None
                    and decision.kind != DecisionKind.DISPUTE
                    and (
                        decision.outcome == Outcome.DENIED
                        or (credit is not None and credit.amount < request.lead.price)
                    )
                )
                # A reversal of the credit is disputed from its message, as a decision is.
                or CreditReversal.objects.filter(notice=message, dispute__isnull=True).exists(),
            },
            [message.recipient.email],
            zone=zone_of(message.recipient),
        )
        message.emailed_at = timezone.now()
        message.save(update_fields=("emailed_at",))
    # The message's number only: its subject names the customer.
    log.info("Inbox message %s emailed to its recipient", message_id)
