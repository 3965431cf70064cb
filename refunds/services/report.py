"""The pro's commands: report a lead (decided automatically when a rule says so) and withdraw."""

from __future__ import annotations

import random
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from accounts.models import User
from accounts.templatetags.local_time import day
from leads.models import Lead
from refunds import notices, policy
from refunds.choices import DecisionKind, Outcome, Status
from refunds.models import RefundRequest, SpotCheck
from refunds.services.core import (
    MAX_DETAILS_LENGTH,
    AlreadyReported,
    RefundError,
    announce,
    create_decision,
    enqueue,
    lock,
    params,
    record,
    require,
    state_message,
)
from refunds.services.queries import assess_lead, report_facts
from refunds.services.review import decide
from webhooks.choices import EventType


def submit_report(
    *, pro: User, lead_id: int, reason: str, details: str = "", now: datetime | None = None
) -> RefundRequest:
    """Record a pro's report of one of their leads; auto-deny it when the peer rule says so.

    Raises Lead.DoesNotExist for a lead that is not the pro's, AlreadyReported when a request
    exists (carrying it), and RefundError for any other refusal. Nothing is stored on refusal.
    """
    now = now or timezone.now()
    p = params()
    require(policy.is_eligible_reason(reason), "Choose one of the listed reasons.")
    require(
        len(details) <= MAX_DETAILS_LENGTH,
        f"Keep the details under {MAX_DETAILS_LENGTH} characters.",
    )
    try:
        with transaction.atomic():
            # Locking the lead serialises two submissions of the same lead.
            lead = Lead.objects.select_for_update().get(pk=lead_id, pro=pro)
            existing = RefundRequest.objects.filter(lead=lead).first()
            if existing is not None:
                raise AlreadyReported(existing)
            if not policy.window_open(lead.received_at, now, p):
                deadline = policy.report_deadline(lead.received_at, p)
                raise RefundError(
                    f"Reporting for this lead closed on {day(deadline)}: "
                    f"leads can be reported for {p.report_window_days} days after you receive them."
                )
            assessment = assess_lead(lead, reason, now)
            assessment.rule = policy.automatic_approval(report_facts(lead, assessment, now), p)
            profile = getattr(lead.pro, "pro_profile", None)  # loaded by the assessment
            request = RefundRequest.objects.create(
                lead=lead,
                pro=pro,
                market_id=profile.market_id if profile else None,
                reason=reason,
                details=details.strip(),
                submitted_at=now,
                due_at=policy.review_due(now, p),
                assessment=assessment.as_json(),
            )
            record(request, pro, "submit", "", at=now)
            announce(request, EventType.REFUND_SUBMITTED, now)
            if assessment.peers.auto_deny:
                _auto_deny(request, assessment.peers.why, now)
            elif assessment.rule is not None and assessment.rule.applied:
                _auto_approve(request, assessment.rule, now, p)
            return request
    except IntegrityError:
        # Another submission of the same lead won the race: show the pro that one.
        existing = RefundRequest.objects.filter(lead_id=lead_id, pro=pro).first()
        if existing is None:
            raise
        raise AlreadyReported(existing) from None


def _auto_deny(request: RefundRequest, why: str, now: datetime) -> None:
    before = request.status
    request.auto_deny()
    request.decided_at = now
    request.save(update_fields=("status", "decided_at"))
    decision = create_decision(
        request=request,
        outcome=Outcome.DENIED,
        kind=DecisionKind.AUTOMATIC,
        decided_at=now,
        explanation=notices.auto_denial_explanation(why),
        guidance=notices.AUTO_DENIAL_GUIDANCE,
    )
    record(request, None, "auto_deny", before, why, at=now)
    transaction.on_commit(lambda: enqueue("refunds.tasks.deliver_denial", decision.pk))


def _auto_approve(
    request: RefundRequest, verdict: policy.RuleVerdict, now: datetime, p: policy.Params
) -> None:
    """Approve with no person, through the same transition, credit task and log as a reviewer."""
    decision = decide(
        request,
        request.auto_approve,
        None,
        Outcome.APPROVED,
        DecisionKind.AUTO_APPROVAL,
        verdict.why,
        "",
        now,
        rule=verdict.rule,
        facts=verdict.facts,
    )
    if random.randrange(100) < p.auto_approve_sample_percent:
        SpotCheck.objects.create(decision=decision, created_at=now)


def withdraw(*, pro: User, request_id: int) -> RefundRequest:
    with transaction.atomic():
        request = lock(request_id)
        if request.pro_id != pro.pk:
            raise RefundRequest.DoesNotExist
        require(
            can_proceed(request.withdraw),
            "A reviewer is already looking at this request, so it can no longer be withdrawn."
            if request.status == Status.IN_REVIEW
            else state_message(request),
        )
        before = request.status
        request.withdraw()
        request.save(update_fields=("status",))
        record(request, pro, "withdraw", before)
        return request
