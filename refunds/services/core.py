"""What every service module shares: refusals, the policy's parameters, the row lock, the
event log, the decisions' tallies and the worker queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from accounts.models import User
from config.logs import current_request_id
from refunds import policy
from refunds.models import Decision, DecisionTally, RefundEvent, RefundRequest
from webhooks import outbox

MAX_DETAILS_LENGTH = 2000
MAX_NOTE_LENGTH = 4000


class RefundError(Exception):
    """A request the rules refuse; the message is shown to the person who asked."""


class AmountRefused(RefundError):
    """An amount the policy does not allow for a credit: the panel asks again, as a form."""


class AlreadyReported(RefundError):
    def __init__(self, request: RefundRequest):
        super().__init__("You have already reported this lead.")
        self.request = request


def params() -> policy.Params:
    return policy.Params.from_settings(settings.REFUND_POLICY)


def record(
    request: RefundRequest,
    actor: User | None,
    action: str,
    from_status: str,
    note: str = "",
    at: datetime | None = None,
) -> RefundEvent:
    return RefundEvent.objects.create(
        request=request,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=request.status,
        note=note,
        created_at=at or timezone.now(),
    )


def create_decision(**fields) -> Decision:
    """Record a decision and count it in its tally (DecisionTally), in the caller's transaction.

    The caller holds the request's row lock, so the request's row is always locked before the
    tally's: a transaction waiting for a tally holds no other request's row, and the one holding
    the tally locks nothing after it that a decision takes, so two decisions never deadlock.
    They do queue one behind the other on the same tally until the first commits.
    """
    decision = Decision.objects.create(**fields)
    count_decisions({(decision.outcome, decision.kind): 1})
    return decision


def count_decisions(counts: Mapping[tuple[str, str], int]) -> None:
    """Add `counts` of new decisions, by (outcome, kind), to their tallies.

    In a fixed order (sorted), so two writers of several tallies take their locks alike.
    """
    for (outcome, kind), n in sorted(counts.items()):
        tally = DecisionTally.objects.filter(outcome=outcome, kind=kind)
        if n <= 0 or tally.update(decisions=F("decisions") + n):
            continue
        # The first decision of its outcome and kind. A concurrent first one may insert the row
        # before this one does: then the insert fails and the update finds the row.
        try:
            with transaction.atomic():
                DecisionTally.objects.create(outcome=outcome, kind=kind, decisions=n)
        except IntegrityError:
            tally.update(decisions=F("decisions") + n)


def webhook_subject(request: RefundRequest) -> str:
    return f"refund_request:{request.pk}"


def announce(
    request: RefundRequest,
    event_type: str,
    at: datetime,
    not_before: datetime | None = None,
    **extra: object,
) -> None:
    """Tell the marketplace's webhooks about a change, in the change's own transaction (the
    outbox): sent once it commits, never for a change that rolled back."""
    lead = request.lead
    outbox.publish(
        event_type,
        subject=webhook_subject(request),
        data={
            "lead_id": lead.marketplace_id,
            "status": request.status,
            "amount": str(lead.price),
            "method": lead.payment_method,
            "reason": request.reason,
            **extra,
        },
        at=at,
        not_before=not_before,
    )


def lock(request_id: int) -> RefundRequest:
    return RefundRequest.objects.select_for_update().select_related("lead").get(pk=request_id)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise RefundError(message)


def state_message(request: RefundRequest) -> str:
    return f"This request is {request.get_status_display().lower()} and cannot be changed that way."


OWN_REQUEST = (
    "This is your own refund request: another member of staff must handle it, and nothing "
    "was changed."
)


def check_not_own(request: RefundRequest, user: User) -> None:
    """Nobody decides, claims or resolves a request they made as a pro (a person may hold
    both roles)."""
    require(request.pro_id != user.pk, OWN_REQUEST)


def check_staff(request: RefundRequest, transition, user: User) -> None:
    require(can_proceed(transition), state_message(request))
    require(has_transition_perm(transition, user), "You do not have permission to do that.")
    check_not_own(request, user)


def enqueue(func: str, *args) -> None:
    """Queue a side effect for the worker.

    ack_failure=False overrides Q_CLUSTER["ack_failures"] for our tasks: a failed task stays in
    the broker and is handed out again after Q_RETRY seconds, until max_attempts. (Acknowledged
    failures are deleted from the queue and never retried.) Every task here is idempotent.

    The task carries the current request's id (or the current task's) to the worker, beside
    func and args, so its log lines join the request's (config.logs).
    """
    async_task(func, *args, group=func.rsplit(".", 1)[-1], ack_failure=False)


def enqueue_at(when: datetime, func: str, *args) -> None:
    """Queue a side effect for the worker to run once, at `when` (its scheduler looks every
    30 seconds or so). The task runs through enqueue, so it is retried like any other."""
    request_id = current_request_id()
    schedule(
        "refunds.tasks.run_later",
        func,
        *args,
        # The scheduler queues the task with no request around it: the id goes with it.
        **({"request_id": request_id} if request_id else {}),
        schedule_type=Schedule.ONCE,
        next_run=when,
        repeats=1,
    )
