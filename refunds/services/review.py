"""The reviewer's commands: claim and release, approve (all or part of the price) and deny (one
or several), and the spot check of an automatic approval."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.money import money
from refunds import permissions, policy
from refunds.choices import DecisionKind, Outcome
from refunds.models import Credit, CreditTopUp, Decision, RefundRequest, SpotCheck
from refunds.services.core import (
    MAX_NOTE_LENGTH,
    OWN_REQUEST,
    AmountRefused,
    RefundError,
    announce,
    check_staff,
    create_decision,
    enqueue,
    enqueue_at,
    lock,
    params,
    record,
    require,
)
from webhooks.choices import EventType


def claim(*, reviewer: User, request_id: int, now: datetime | None = None) -> RefundRequest:
    """Show other reviewers who is working on a request, until the claim expires."""
    now = now or timezone.now()
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.claim, reviewer)
        if request.claimed_by_other(reviewer, now):
            raise RefundError(f"{request.claimed_by} is already reviewing this request.")
        before = request.status
        request.claim()
        request.claimed_by = reviewer
        request.claimed_until = now + timedelta(minutes=params().claim_minutes)
        request.save(update_fields=("status", "claimed_by", "claimed_until"))
        record(request, reviewer, "claim", before, at=now)
        return request


def release(*, reviewer: User, request_id: int, note: str = "") -> RefundRequest:
    """Put a claimed request back in the queue; only its claimer can."""
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.release, reviewer)
        if request.claimed_by_other(reviewer, timezone.now()):
            raise RefundError(f"Only {request.claimed_by} can release this claim.")
        unclaim(request, reviewer, "release", note)
        return request


def unclaim(
    request: RefundRequest, actor: User | None, action: str, note: str = "", at=None
) -> None:
    """Back to the queue with nobody's name on it (a release, or a claim that ran out).

    The caller holds the row lock and has checked who may do it.
    """
    before = request.status
    request.release()
    request.claimed_by = None
    request.claimed_until = None
    request.save(update_fields=("status", "claimed_by", "claimed_until"))
    record(request, actor, action, before, note, at=at)


def decide(
    request: RefundRequest,
    transition,
    actor: User | None,
    outcome: str,
    kind: str,
    explanation: str,
    guidance: str,
    now: datetime,
    rule: str = "",
    facts: dict | None = None,
    amount: Decimal | None = None,
) -> Decision:
    """Record a decision on a locked request and queue what follows from it.

    An approval gives back `amount`, or the lead's whole price when none is given; the credit
    carries the same amount as the decision (one credit per request, the database says).
    """
    approved = outcome == Outcome.APPROVED
    amount = (request.lead.price if amount is None else amount) if approved else None
    before = request.status
    transition()
    if request.decided_at is None:
        request.decided_at = now
    request.claimed_by = None
    request.claimed_until = None
    request.save(update_fields=("status", "decided_at", "claimed_by", "claimed_until"))
    decision = create_decision(
        request=request,
        outcome=outcome,
        kind=kind,
        decided_by=actor,
        decided_at=now,
        explanation=explanation,
        guidance=guidance,
        rule=rule,
        facts=facts or {},
        amount=amount,
    )
    action = transition.__name__
    note = explanation
    if approved and amount != request.lead.price:
        currency = request.market.currency if request.market else ""
        part = f"{money(amount, currency)} of {money(request.lead.price, currency)}"
        note = f"{part}. {explanation}" if explanation else part
    record(request, actor, action, before, note, at=now)
    p = params()
    # The reviewer may take it back for a while: the credit or notice waits until then.
    until = policy.undo_until(now, p) if kind == DecisionKind.REVIEW and p.undo_seconds else None
    credit = Credit.objects.filter(request=request).first() if approved else None
    if approved and credit is None:
        Credit.objects.create(
            request=request,
            amount=amount,
            method=request.lead.payment_method,
            created_at=now,
        )
        # A denial is announced when its notice goes out (refund.denied, deliver_denial).
        announce(request, EventType.REFUND_APPROVED, now, not_before=until, amount=str(amount))
    elif credit is not None:
        # Support answering the pro's dispute of a partial credit: the credit already paid
        # stays as it is, and an overturn pays the difference on it (one credit per request).
        if amount < credit.amount:
            raise AmountRefused(
                f"The pro has already been paid {money(credit.amount)}: a credit is never reduced."
            )
        if amount > credit.amount:
            CreditTopUp.objects.create(
                credit=credit, decision=decision, amount=amount - credit.amount, created_at=now
            )
            announce(request, EventType.REFUND_APPROVED, now, amount=str(amount))
    if until is not None:
        transaction.on_commit(
            lambda: enqueue_at(until, "refunds.tasks.release_decision", decision.pk)
        )
    else:
        transaction.on_commit(lambda: release_decision(decision.pk))
    return decision


def release_decision(decision_id: int) -> None:
    """Send a decision's credit or notice on its way, unless it was taken back (Undo)."""
    decision = Decision.objects.get(pk=decision_id)
    if decision.undone_at is not None:
        return
    if decision.outcome == Outcome.APPROVED:
        credit = Credit.objects.filter(request_id=decision.request_id).first()
        top_up = CreditTopUp.objects.filter(decision=decision).first()
        if top_up is not None:
            if not top_up.is_posted:
                enqueue("refunds.tasks.post_top_up", top_up.pk)
        elif credit is not None and not credit.is_posted:
            enqueue("refunds.tasks.post_credit", credit.pk)
        elif credit is not None and decision.kind == DecisionKind.DISPUTE:
            # A partial credit upheld on the pro's dispute: no money moves, the pro is told.
            enqueue("refunds.tasks.keep_credit", decision.pk)
    else:
        enqueue("refunds.tasks.deliver_denial", decision.pk)


def clean_denial(explanation: str, guidance: str) -> tuple[str, str]:
    explanation, guidance = explanation.strip(), guidance.strip()
    require(bool(explanation), "Explain to the pro why the request is denied.")
    require(bool(guidance), "Give the pro guidance for future leads.")
    require(
        len(explanation) <= MAX_NOTE_LENGTH and len(guidance) <= MAX_NOTE_LENGTH,
        f"Keep the explanation and guidance under {MAX_NOTE_LENGTH} characters each.",
    )
    return explanation, guidance


def approve(
    *, reviewer: User, request_id: int, note: str = "", now: datetime | None = None
) -> Decision:
    """Approve a request: the decision is recorded and the credit queued, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.approve, reviewer)
        if request.claimed_by_other(reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        return decide(
            request,
            request.approve,
            reviewer,
            Outcome.APPROVED,
            DecisionKind.REVIEW,
            note.strip(),
            "",
            now,
        )


def deny(
    *,
    reviewer: User,
    request_id: int,
    explanation: str,
    guidance: str,
    now: datetime | None = None,
) -> Decision:
    """Deny a request with an explanation and guidance; the notice is queued."""
    now = now or timezone.now()
    explanation, guidance = clean_denial(explanation, guidance)
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.deny, reviewer)
        if request.claimed_by_other(reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        return decide(
            request,
            request.deny,
            reviewer,
            Outcome.DENIED,
            DecisionKind.REVIEW,
            explanation,
            guidance,
            now,
        )


def _refuse_unless(allowed: bool, message: str) -> None:
    if not allowed:
        raise AmountRefused(message)


def clean_part(
    request: RefundRequest, share: int | None, amount: Decimal | None, reason: str
) -> tuple[Decimal, str]:
    """The amount a partial approval gives back, from a share of the price or an amount typed
    in (exactly one), refused with a message when the policy does not allow it."""
    reason = reason.strip()
    _refuse_unless(
        len(reason) <= MAX_NOTE_LENGTH, f"Keep the reason under {MAX_NOTE_LENGTH} characters."
    )
    _refuse_unless(
        (share is None) != (amount is None),
        "Choose a share of the price or type an amount (one of them).",
    )
    price = request.lead.price
    if share is not None:
        _refuse_unless(
            share in policy.PARTIAL_SHARES, "Choose 25 %, 50 %, 75 % or 100 % of the price."
        )
        amount = policy.share_of_price(price, share)
    currency = request.market.currency if request.market else ""
    refusal = policy.partial_refusal(amount, price, reason, currency)
    _refuse_unless(not refusal, refusal)
    return amount, reason


def approve_part(
    *,
    reviewer: User,
    request_id: int,
    reason: str,
    share: int | None = None,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Decision:
    """Approve part of the lead's price (a share of it, rounded half up to the cent, or an
    amount), with the reason the pro reads; the credit carries that amount."""
    now = now or timezone.now()
    with transaction.atomic():
        request = lock(request_id)
        check_staff(request, request.approve_part, reviewer)
        if request.claimed_by_other(reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        amount, reason = clean_part(request, share, amount, reason)
        return decide(
            request,
            request.approve_part,
            reviewer,
            Outcome.APPROVED,
            DecisionKind.REVIEW,
            reason,
            "",
            now,
            amount=amount,
        )


def bulk_deny(
    *, reviewer: User, request_ids: Iterable[int], explanation: str, guidance: str
) -> tuple[list[int], dict[int, str]]:
    """Deny several requests with one shared explanation; each gets its own decision and event."""
    denied: list[int] = []
    refused: dict[int, str] = {}
    for request_id in request_ids:
        try:
            deny(
                reviewer=reviewer,
                request_id=request_id,
                explanation=explanation,
                guidance=guidance,
            )
        except RefundError as error:
            refused[request_id] = str(error)
        else:
            denied.append(request_id)
    return denied, refused


def check_automatic_approval(
    *, reviewer: User, spot_check_id: int, agreed: bool, note: str = "", now: datetime | None = None
) -> SpotCheck:
    """A reviewer's second look at an automatic approval: agreed or not. No money moves.

    Disagreeing does not undo the credit; a wrong approval is put right only through the pro's
    dispute and support's overturn, never by editing.
    """
    now = now or timezone.now()
    note = note.strip()
    require(reviewer.has_perm(permissions.DECIDE), "You do not have permission to do that.")
    require(len(note) <= MAX_NOTE_LENGTH, f"Keep the note under {MAX_NOTE_LENGTH} characters.")
    require(agreed or bool(note), "Say what the rule got wrong, so the rule can be fixed.")
    with transaction.atomic():
        check = (
            SpotCheck.objects.select_for_update(of=("self",))
            .select_related("decision__request")
            .get(pk=spot_check_id)
        )
        require(check.decision.request.pro_id != reviewer.pk, OWN_REQUEST)
        require(check.is_waiting, f"{check.checked_by} already checked this approval.")
        check.agreed = agreed
        check.note = note
        check.checked_by = reviewer
        check.checked_at = now
        # The check is its own record (who, when, verdict); the request's log stays the story
        # of its states.
        check.save(update_fields=("agreed", "note", "checked_by", "checked_at"))
        return check
