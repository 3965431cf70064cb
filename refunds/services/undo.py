"""Undo: a reviewer takes back their decision while its credit or notice is still waiting.

For REFUND_UNDO_SECONDS after a reviewer's approval or denial nothing leaves the building
(review.decide schedules release_decision for the end of the window). Undo puts the request
back in review, claimed by the same reviewer, marks the decision undone and drops the credit
that was never sent; the log keeps both the decision and the undo.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from refunds import policy
from refunds.choices import DecisionKind, Outcome, Status
from refunds.models import Credit, Decision, RefundRequest
from refunds.services.core import check_staff, lock, params, record, require, webhook_subject
from webhooks import outbox
from webhooks.choices import EventType


def undo_refusal(request: RefundRequest, user: User, now: datetime) -> tuple[Decision | None, str]:
    """The decision `user` may still take back on `request`, or why there is none."""
    if request.status != Status.REVIEWED:
        return None, "Only a decision whose credit or notice has not gone out can be undone."
    standing = [d for d in request.decisions.all() if d.undone_at is None]
    latest = standing[-1] if standing else None
    if latest is None or latest.kind != DecisionKind.REVIEW:
        return None, "Only a reviewer's decision can be undone."
    if latest.decided_by_id != user.pk:
        return None, f"Only {latest.decided_by} can undo their decision."
    if now >= policy.undo_until(latest.decided_at, params()):
        return None, "The time to undo this decision has passed."
    if latest.notice_id is not None:
        return None, "The pro has already been told."
    credit = getattr(request, "credit", None)
    if credit is not None and (credit.is_posted or credit.attempts):
        return None, "The credit has already been sent."
    return latest, ""


def undo(*, reviewer: User, request_id: int, now: datetime | None = None) -> RefundRequest:
    """Take back `reviewer`'s decision on the request; it is theirs to decide again."""
    now = now or timezone.now()
    with transaction.atomic():
        # The credit's row first, then the request's: post_credit locks them in that order.
        list(Credit.objects.select_for_update().filter(request_id=request_id))
        request = lock(request_id)
        check_staff(request, request.undo, reviewer)
        decision, refusal = undo_refusal(request, reviewer, now)
        require(decision is not None, refusal)
        before = request.status
        request.undo()
        request.decided_at = None
        request.claimed_by = reviewer
        request.claimed_until = now + timedelta(minutes=params().claim_minutes)
        request.save(update_fields=("status", "decided_at", "claimed_by", "claimed_until"))
        decision.undone_at = now
        decision.save(update_fields=("undone_at",))
        Credit.objects.filter(request=request).delete()  # never sent: checked above
        if decision.outcome == Outcome.APPROVED:
            # Its deliveries were held back until the undo time was over: nobody was told.
            outbox.withdraw(EventType.REFUND_APPROVED, subject=webhook_subject(request))
        word = "approval" if decision.outcome == Outcome.APPROVED else "denial"
        record(request, reviewer, "undo", before, f"Took back the {word}.", at=now)
        return request
