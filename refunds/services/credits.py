"""Support's command for a credit the worker gave up on."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from refunds import permissions
from refunds.choices import CreditStatus
from refunds.models import Credit, CreditTopUp
from refunds.services.core import MAX_NOTE_LENGTH, enqueue, lock, record, require


def retry_credit(*, agent: User, credit_id: int, now: datetime | None = None) -> Credit:
    """Send a credit the worker gave up on (stuck_credits) to the payment provider again.

    For support, once the cause is fixed (the provider is back, the card was updated). The
    attempts start again from zero, so the worker retries it as it did at first; the event log
    keeps how many tries had failed and the last error. The provider's idempotency key is the
    request, so an earlier try that did reach the provider is not paid a second time.
    """
    now = now or timezone.now()
    require(agent.has_perm(permissions.RETRY_CREDIT), "You do not have permission to do that.")
    with transaction.atomic():
        credit = Credit.objects.select_for_update().filter(pk=credit_id).first()
        require(credit is not None, "There is no such credit.")
        # A credit paid whose top-up (after a dispute) was given up on: the top-up goes again.
        top_up = CreditTopUp.objects.select_for_update().filter(credit=credit).first()
        paying = top_up if credit.is_posted and top_up is not None else credit
        require(paying.status != CreditStatus.POSTED, "This credit has already been paid.")
        require(
            paying.attempts >= settings.CREDIT_MAX_ATTEMPTS,
            "This credit is still being retried automatically.",
        )
        request = lock(credit.request_id)
        failed, paying.attempts = paying.attempts, 0
        paying.save(update_fields=("attempts",))
        what = "The top-up was sent" if paying is top_up else "Sent"
        note = f"{what} to the payment provider again after {failed} failed attempts."
        if paying.last_error:
            note += f" Last error: {paying.last_error}"
        record(request, agent, "credit_retried", request.status, note[:MAX_NOTE_LENGTH], at=now)
        task = "refunds.tasks.post_top_up" if paying is top_up else "refunds.tasks.post_credit"
        transaction.on_commit(lambda: enqueue(task, paying.pk))
    return credit
