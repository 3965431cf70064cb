"""Scheduled work, run by the worker on django-q2 schedules (refunds/migrations/0003): claims
that ran out, side effects that never finished, requests past their deadline, peer statistics,
the worker's heartbeat."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import InboxMessage, User
from config.db_router import using_replica
from refunds import emails
from refunds.choices import (
    OPEN_STATUSES,
    CreditStatus,
    DecisionKind,
    DisputeStatus,
    Outcome,
    Status,
)
from refunds.models import (
    Credit,
    CreditTopUp,
    Decision,
    Dispute,
    MarketPeerStats,
    RefundRequest,
    ReversalDispute,
    WorkerHeartbeat,
)
from refunds.services.core import enqueue, lock, params, record
from refunds.services.queries import peer_rates_by_market
from refunds.services.review import unclaim

log = logging.getLogger(__name__)


# A side effect still pending this long after its decision was lost (worker down, crash):
# longer than the worker's own retries take to start, so a normal retry is not raced.
STUCK_AFTER = timedelta(minutes=10)


def expire_claims(*, now: datetime | None = None) -> list[int]:
    """Put back in the queue every request whose claim has run out; returns their ids."""
    now = now or timezone.now()
    expired = list(RefundRequest.objects.expired_claims(now).values_list("id", flat=True))
    released = []
    for request_id in expired:
        try:
            with transaction.atomic():
                request = lock(request_id)
                # Re-checked under the lock: the reviewer may have renewed or decided meanwhile.
                if request.status != Status.IN_REVIEW or request.has_live_claim(now):
                    continue
                holder = request.claimed_by
                unclaim(request, None, "claim_expired", f"Claim by {holder} ran out.")
                released.append(request_id)
        except RefundRequest.DoesNotExist:
            continue
    return released


def record_heartbeat(*, now: datetime | None = None) -> datetime:
    """Note that a worker is alive and working its queue (read by /health/ready, /metrics)."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        pk=WorkerHeartbeat.SINGLE_ROW, defaults={"beat_at": now}
    )
    return now


def compute_peer_stats(now: datetime | None = None) -> int:
    """Snapshot every market's refund rate per pro over the peer window; returns the markets.

    One grouped pass over the window's leads and requests, for all markets at once. The two
    passes read from the replica when there is one (a moment's lag does not matter to rates
    over months); the snapshots are written to the primary.
    """
    now = now or timezone.now()
    window = params().peer_window_days
    # Two grouped passes over the window's leads and requests: a replica's work if there is one.
    with using_replica():
        by_market = peer_rates_by_market(now - timedelta(days=window))
    with transaction.atomic():
        MarketPeerStats.objects.exclude(market_id__in=by_market).delete()
        for market_id, rates in by_market.items():
            MarketPeerStats.objects.update_or_create(
                market_id=market_id,
                defaults={"computed_at": now, "window_days": window, "rates": rates},
            )
    return len(by_market)


def resume_stuck(*, now: datetime | None = None, older_than: timedelta = STUCK_AFTER) -> dict:
    """Queue again the side effects of decisions that should have finished by now.

    Approved requests whose credit (or top-up after a dispute) is still pending, denials whose
    notice was never delivered, and decision notices whose email copy never went out. Every task
    is idempotent, so queueing one that is in fact still waiting in the broker does no harm.
    """
    now = now or timezone.now()
    # A reviewer's decision waits out its undo window before anything is sent.
    cutoff = now - older_than - timedelta(seconds=params().undo_seconds)
    credits = list(
        Credit.objects.filter(
            status=CreditStatus.PENDING,
            request__status=Status.REVIEWED,
            created_at__lt=cutoff,
            attempts__lt=settings.CREDIT_MAX_ATTEMPTS,
        ).values_list("id", flat=True)
    )
    top_ups = list(
        CreditTopUp.objects.filter(
            status=CreditStatus.PENDING,
            credit__request__status=Status.REVIEWED,
            created_at__lt=cutoff,
            attempts__lt=settings.CREDIT_MAX_ATTEMPTS,
        ).values_list("id", flat=True)
    )
    denials = list(
        Decision.objects.filter(
            outcome=Outcome.DENIED,
            notice__isnull=True,
            undone_at__isnull=True,
            request__status=Status.REVIEWED,
            decided_at__lt=cutoff,
        ).values_list("id", flat=True)
    )
    emails = list(
        InboxMessage.objects.filter(
            emailed_at__isnull=True,
            decision__isnull=False,
            created_at__lt=cutoff,
            # An email days late would confuse more than help; the inbox has the message.
            created_at__gte=now - timedelta(days=2),
        )
        .exclude(decision__kind=DecisionKind.AUTOMATIC)
        .values_list("id", flat=True)
    )
    for credit_id in credits:
        enqueue("refunds.tasks.post_credit", credit_id)
    for top_up_id in top_ups:
        enqueue("refunds.tasks.post_top_up", top_up_id)
    for decision_id in denials:
        enqueue("refunds.tasks.deliver_denial", decision_id)
    for message_id in emails:
        enqueue("refunds.tasks.email_notice", message_id)
    if credits or top_ups or denials or emails:
        log.warning(
            "Resumed stuck side effects: credits %s, top-ups %s, denials %s, emails %s",
            credits,
            top_ups,
            denials,
            emails,
        )
    return {"credits": credits, "top_ups": top_ups, "denials": denials, "emails": emails}


def sweep_overdue(*, now: datetime | None = None) -> list[int]:
    """Flag open requests past their decision time and tell the reviewers, once per request.

    One email to every active reviewer lists the requests newly past due. It is sent inside the
    transaction, so a failed send leaves them unflagged for the next sweep to try again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(
            RefundRequest.objects.select_for_update(of=("self",))
            .filter(status__in=OPEN_STATUSES, due_at__lt=now, overdue_notified_at__isnull=True)
            .select_related("lead", "pro__pro_profile")
            .order_by("due_at", "id")
        )
        if not overdue:
            return []
        for request in overdue:
            request.overdue_notified_at = now
            request.save(update_fields=("overdue_notified_at",))
            record(
                request,
                None,
                "overdue",
                request.status,
                f"No decision by {request.due_at:%Y-%m-%d %H:%M} UTC.",
            )
        recipients = list(
            User.objects.filter(groups__name=Role.REVIEWER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        if recipients:
            subject, context = _overdue_digest(overdue, now)
            emails.send("digest", subject, context, recipients)
        return [r.pk for r in overdue]


def sweep_overdue_disputes(*, now: datetime | None = None) -> list[int]:
    """Flag open disputes past their answer time and tell support, once per dispute.

    As sweep_overdue does for requests: one email to every active support agent, sent inside
    the transaction, so a failed send leaves them for the next sweep. Returns the request ids.
    """
    now = now or timezone.now()
    late = Q(status=DisputeStatus.OPEN, due_at__lt=now, overdue_notified_at__isnull=True)
    with transaction.atomic():
        overdue = list(
            Dispute.objects.select_for_update(of=("self",))
            .filter(late)
            .select_related("request__lead", "request__pro__pro_profile")
            .order_by("due_at", "id")
        )
        # A reversal's dispute waits for support's answer as a decision's does.
        reversals = list(
            ReversalDispute.objects.select_for_update(of=("self",))
            .filter(late)
            .select_related(
                "reversal__credit__request__lead", "reversal__credit__request__pro__pro_profile"
            )
            .order_by("due_at", "id")
        )
        # (dispute, its request, its admin page, what it disputes) for both kinds.
        waiting = [(d, d.request, "admin:refunds_dispute_change", "dispute") for d in overdue]
        waiting += [
            (
                d,
                d.reversal.credit.request,
                "admin:refunds_reversaldispute_change",
                "dispute of the reversal",
            )
            for d in reversals
        ]
        if not waiting:
            return []
        for dispute, request, _, what in waiting:
            dispute.overdue_notified_at = now
            dispute.save(update_fields=("overdue_notified_at",))
            record(
                request,
                None,
                "dispute_overdue",
                request.status,
                f"No answer to the {what} by {dispute.due_at:%Y-%m-%d %H:%M} UTC.",
                at=now,
            )
        recipients = list(
            User.objects.filter(groups__name=Role.SUPPORT, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        if recipients:
            count = len(waiting)
            items = [
                {
                    "title": f"#{request.pk} {request.lead.customer_name}"
                    + (" (reversal)" if page == "admin:refunds_reversaldispute_change" else ""),
                    "detail": f"for {request.pro.display_name}: "
                    f"{int((now - d.due_at).total_seconds() // 3600)} h overdue",
                    "url": emails.absolute(reverse(page, args=[d.pk])),
                }
                for d, request, page, _ in waiting
            ]
            subject = (
                f"{count} dispute{'s' if count != 1 else ''} past the "
                f"{params().dispute_hours}-hour answer time"
            )
            emails.send(
                "digest",
                subject,
                {
                    "subject": subject,
                    "intro": "These pros are waiting for support's answer to their dispute:",
                    "items": items,
                },
                recipients,
            )
        return [request.pk for _, request, _, _ in waiting]


def _overdue_digest(requests: list[RefundRequest], now: datetime) -> tuple[str, dict]:
    count = len(requests)
    subject = (
        f"{count} refund request{'s' if count != 1 else ''} past the "
        f"{params().review_hours}-hour review deadline"
    )
    items = [
        {
            "title": f"#{request.pk} {request.lead.customer_name}",
            "detail": f"{request.get_reason_display()}, for {request.pro.display_name}: "
            f"{int((now - request.due_at).total_seconds() // 3600)} h overdue",
            "url": emails.absolute(
                reverse("admin:refunds_refundrequest_change", args=[request.pk])
            ),
        }
        for request in requests
    ]
    return subject, {
        "subject": subject,
        "intro": "These requests have waited longer than pros are promised. Please decide them "
        "first:",
        "items": items,
        "closing": "The queue lists them at the top, oldest deadline first.",
    }
