"""Every change of a refund request's state happens here.

Each function is one transaction: it locks the request row, checks who may act and in which
state, runs the django-fsm transition, writes the decision and the event, and queues side
effects (credits, notices) with transaction.on_commit so they never run for a rolled-back change.
Views, admin actions, tasks and commands call these functions; nothing else calls a transition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm
from django_q.tasks import async_task

from accounts.choices import LedgerKind, Role
from accounts.models import InboxMessage, LedgerEntry, User
from leads.choices import PaymentMethod, Sender
from leads.models import Lead
from refunds import notices, policy
from refunds.choices import (
    OPEN_STATUSES,
    CreditStatus,
    DecisionKind,
    DisputeStatus,
    Outcome,
    Status,
)
from refunds.gateway import get_gateway
from refunds.models import (
    Credit,
    Decision,
    Dispute,
    MarketPeerStats,
    RefundEvent,
    RefundRequest,
)

log = logging.getLogger(__name__)

MAX_DETAILS_LENGTH = 2000
MAX_NOTE_LENGTH = 4000


class RefundError(Exception):
    """A request the rules refuse; the message is shown to the person who asked."""


class AlreadyReported(RefundError):
    def __init__(self, request: RefundRequest):
        super().__init__("You have already reported this lead.")
        self.request = request


def params() -> policy.Params:
    return policy.Params.from_settings(settings.REFUND_POLICY)


def _record(
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


def _lock(request_id: int) -> RefundRequest:
    return RefundRequest.objects.select_for_update().select_related("lead").get(pk=request_id)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise RefundError(message)


def _state_message(request: RefundRequest) -> str:
    return f"This request is {request.get_status_display().lower()} and cannot be changed that way."


# The assessment


def market_peer_rates(market_id: int, exclude_pro_id: int, since: datetime) -> list[float]:
    """Each other pro's refund rate in the market over the peer window (pros with leads)."""
    leads = dict(
        Lead.objects.filter(pro__pro_profile__market_id=market_id, received_at__gte=since)
        .exclude(pro_id=exclude_pro_id)
        .values_list("pro_id")
        .annotate(n=Count("id"))
    )
    requests = dict(
        RefundRequest.objects.filter(pro__pro_profile__market_id=market_id, submitted_at__gte=since)
        .exclude(pro_id=exclude_pro_id)
        .values_list("pro_id")
        .annotate(n=Count("id"))
    )
    return [requests.get(pro_id, 0) / n for pro_id, n in leads.items() if n > 0]


def peer_rates_for(market_id: int, pro_id: int, since: datetime) -> list[float]:
    """The other pros' rates from the market's snapshot, or counted now when there is none yet."""
    stats = MarketPeerStats.objects.filter(market_id=market_id).only("rates").first()
    if stats is None:
        return market_peer_rates(market_id, pro_id, since)
    return [rate for pro, rate in stats.rates.items() if pro != str(pro_id)]


def compute_peer_stats(now: datetime | None = None) -> int:
    """Snapshot every market's refund rate per pro over the peer window; returns the markets.

    One grouped pass over the window's leads and requests, for all markets at once.
    """
    now = now or timezone.now()
    window = settings.REFUND_POLICY["PEER_WINDOW_DAYS"]
    since = now - timedelta(days=window)
    requests = dict(
        RefundRequest.objects.filter(submitted_at__gte=since)
        .values_list("pro_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    leads = (
        Lead.objects.filter(received_at__gte=since, pro__pro_profile__isnull=False)
        .values_list("pro__pro_profile__market_id", "pro_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_market: dict[int, dict[str, float]] = {}
    for market_id, pro_id, n in leads:
        by_market.setdefault(market_id, {})[str(pro_id)] = requests.get(pro_id, 0) / n
    with transaction.atomic():
        MarketPeerStats.objects.exclude(market_id__in=by_market).delete()
        for market_id, rates in by_market.items():
            MarketPeerStats.objects.update_or_create(
                market_id=market_id,
                defaults={"computed_at": now, "window_days": window, "rates": rates},
            )
    return len(by_market)


def duplicate_candidates(lead: Lead, window_days: int) -> list[int]:
    """Other leads sold to the same pro with the same customer phone or email, within the window."""
    match = Q()
    if lead.customer_phone:
        match |= Q(customer_phone=lead.customer_phone)
    if lead.customer_email:
        # Emails are stored lower-cased, so an exact match can use the index.
        match |= Q(customer_email=lead.customer_email)
    if not match:
        return []
    window = timedelta(days=window_days)
    return list(
        Lead.objects.filter(match, pro_id=lead.pro_id)
        .filter(received_at__range=(lead.received_at - window, lead.received_at + window))
        .exclude(pk=lead.pk)
        .values_list("id", flat=True)[:20]
    )


def assess_lead(
    lead: Lead, reason: str, now: datetime, counting_new: bool = True
) -> policy.Assessment:
    """The policy's view of a report of `lead` for `reason` at `now`, from the database's facts."""
    p = params()
    since = now - timedelta(days=p.peer_window_days)
    profile = getattr(lead.pro, "pro_profile", None)
    attempts = [
        policy.Attempt(channel=a.channel, at=a.attempted_at) for a in lead.contact_attempts.all()
    ]
    first_message = lead.messages.filter(sender=Sender.PRO).aggregate(at=Min("sent_at"))["at"]
    firsts = [t for t in (first_message, min((a.at for a in attempts), default=None)) if t]
    pro_leads = Lead.objects.filter(pro_id=lead.pro_id, received_at__gte=since).count()
    pro_requests = RefundRequest.objects.filter(pro_id=lead.pro_id, submitted_at__gte=since).count()
    peer_rates = peer_rates_for(profile.market_id, lead.pro_id, since) if profile else []
    assessment = policy.assess(
        reason=reason,
        received_at=lead.received_at,
        now=now,
        attempts=attempts,
        available_channels=lead.available_channels,
        pro_requests=pro_requests + (1 if counting_new else 0),
        pro_leads=pro_leads,
        peer_rates=peer_rates,
        duplicate_lead_ids=duplicate_candidates(lead, p.duplicate_window_days),
        phone=lead.customer_phone,
        email=lead.customer_email,
        category_offered=profile is not None
        and profile.categories.filter(pk=lead.category_id).exists(),
        in_service_area=profile is not None and profile.serves_location(lead.location),
        first_response_at=min(firsts) if firsts else None,
        params=p,
    )
    # Leads from the marketplace carry a validity checked with phonenumbers on the way in;
    # the policy's own heuristic only covers leads whose contact details were never checked.
    if lead.phone_valid is not None:
        assessment.phone_valid = lead.phone_valid
    if lead.email_valid is not None:
        assessment.email_valid = lead.email_valid
    return assessment


# The pro's side


def submit_report(
    *, pro: User, lead_id: int, reason: str, details: str = "", now: datetime | None = None
) -> RefundRequest:
    """Record a pro's report of one of their leads; auto-deny it when the peer rule says so.

    Raises Lead.DoesNotExist for a lead that is not the pro's, AlreadyReported when a request
    exists (carrying it), and RefundError for any other refusal. Nothing is stored on refusal.
    """
    now = now or timezone.now()
    p = params()
    _require(policy.is_eligible_reason(reason), "Choose one of the listed reasons.")
    _require(
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
                    f"Reporting for this lead closed on {deadline:%B %-d, %Y}: "
                    f"leads can be reported for {p.report_window_days} days after you receive them."
                )
            assessment = assess_lead(lead, reason, now)
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
            _record(request, pro, "submit", "", at=now)
            if assessment.peers.auto_deny:
                _auto_deny(request, assessment.peers.why, now)
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
    decision = Decision.objects.create(
        request=request,
        outcome=Outcome.DENIED,
        kind=DecisionKind.AUTOMATIC,
        decided_at=now,
        explanation=notices.auto_denial_explanation(why),
        guidance=notices.AUTO_DENIAL_GUIDANCE,
    )
    _record(request, None, "auto_deny", before, why, at=now)
    transaction.on_commit(lambda: enqueue("refunds.tasks.deliver_denial", decision.pk))


def withdraw(*, pro: User, request_id: int) -> RefundRequest:
    with transaction.atomic():
        request = _lock(request_id)
        if request.pro_id != pro.pk:
            raise RefundRequest.DoesNotExist
        _require(
            can_proceed(request.withdraw),
            "A reviewer is already looking at this request, so it can no longer be withdrawn."
            if request.status == Status.IN_REVIEW
            else _state_message(request),
        )
        before = request.status
        request.withdraw()
        request.save(update_fields=("status",))
        _record(request, pro, "withdraw", before)
        return request


def open_dispute(*, pro: User, request_id: int, message: str) -> Dispute:
    """The pro's reply to a denial: support looks at the request again. Once per request."""
    message = message.strip()
    _require(bool(message), "Tell us why you think the decision is wrong.")
    _require(
        len(message) <= MAX_NOTE_LENGTH, f"Keep your reply under {MAX_NOTE_LENGTH} characters."
    )
    with transaction.atomic():
        request = _lock(request_id)
        if request.pro_id != pro.pk:
            raise RefundRequest.DoesNotExist
        _require(
            not Dispute.objects.filter(request=request).exists(),
            "You have already disputed this decision; support's answer is final.",
        )
        _require(can_proceed(request.open_dispute), "Only a declined request can be disputed.")
        before = request.status
        request.open_dispute()
        request.save(update_fields=("status",))
        dispute = Dispute.objects.create(request=request, message=message)
        _record(request, pro, "dispute", before, message)
        return dispute


# The reviewer's side


def _check_staff(request: RefundRequest, transition, user: User) -> None:
    _require(can_proceed(transition), _state_message(request))
    _require(has_transition_perm(transition, user), "You do not have permission to do that.")


def _claimed_by_other(request: RefundRequest, user: User, now: datetime) -> bool:
    return (
        request.claimed_by_id is not None
        and request.claimed_by_id != user.pk
        and request.claimed_until is not None
        and request.claimed_until > now
    )


def claim(*, reviewer: User, request_id: int, now: datetime | None = None) -> RefundRequest:
    """Show other reviewers who is working on a request, until the claim expires."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock(request_id)
        _check_staff(request, request.claim, reviewer)
        if _claimed_by_other(request, reviewer, now):
            raise RefundError(f"{request.claimed_by} is already reviewing this request.")
        before = request.status
        request.claim()
        request.claimed_by = reviewer
        request.claimed_until = now + timedelta(minutes=settings.REFUND_POLICY["CLAIM_MINUTES"])
        request.save(update_fields=("status", "claimed_by", "claimed_until"))
        _record(request, reviewer, "claim", before, at=now)
        return request


def release(*, reviewer: User | None, request_id: int, note: str = "") -> RefundRequest:
    """Put a claimed request back in the queue (the claimer, or the system when it expired)."""
    with transaction.atomic():
        request = _lock(request_id)
        if reviewer is not None:
            _check_staff(request, request.release, reviewer)
            now = timezone.now()
            if _claimed_by_other(request, reviewer, now):
                raise RefundError(f"Only {request.claimed_by} can release this claim.")
        else:
            _require(can_proceed(request.release), _state_message(request))
        before = request.status
        request.release()
        request.claimed_by = None
        request.claimed_until = None
        request.save(update_fields=("status", "claimed_by", "claimed_until"))
        _record(request, reviewer, "release", before, note)
        return request


def _decide(
    request: RefundRequest,
    transition,
    actor: User | None,
    outcome: str,
    kind: str,
    explanation: str,
    guidance: str,
    now: datetime,
) -> Decision:
    before = request.status
    transition()
    if request.decided_at is None:
        request.decided_at = now
    request.claimed_by = None
    request.claimed_until = None
    request.save(update_fields=("status", "decided_at", "claimed_by", "claimed_until"))
    decision = Decision.objects.create(
        request=request,
        outcome=outcome,
        kind=kind,
        decided_by=actor,
        decided_at=now,
        explanation=explanation,
        guidance=guidance,
    )
    action = transition.__name__
    _record(request, actor, action, before, explanation, at=now)
    if outcome == Outcome.APPROVED:
        credit = Credit.objects.create(
            request=request,
            amount=request.lead.price,
            method=request.lead.payment_method,
            created_at=now,
        )
        transaction.on_commit(lambda: enqueue("refunds.tasks.post_credit", credit.pk))
    else:
        transaction.on_commit(lambda: enqueue("refunds.tasks.deliver_denial", decision.pk))
    return decision


def _clean_denial(explanation: str, guidance: str) -> tuple[str, str]:
    explanation, guidance = explanation.strip(), guidance.strip()
    _require(bool(explanation), "Explain to the pro why the request is denied.")
    _require(bool(guidance), "Give the pro guidance for future leads.")
    _require(
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
        request = _lock(request_id)
        _check_staff(request, request.approve, reviewer)
        if _claimed_by_other(request, reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        return _decide(
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
    explanation, guidance = _clean_denial(explanation, guidance)
    with transaction.atomic():
        request = _lock(request_id)
        _check_staff(request, request.deny, reviewer)
        if _claimed_by_other(request, reviewer, now):
            raise RefundError(f"{request.claimed_by} is reviewing this request.")
        return _decide(
            request,
            request.deny,
            reviewer,
            Outcome.DENIED,
            DecisionKind.REVIEW,
            explanation,
            guidance,
            now,
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


def allowed_actions(request: RefundRequest, user: User, now: datetime | None = None) -> set[str]:
    """The actions `user` may take on `request` now: the buttons the admin shows.

    The same checks the functions above make, so a shown button is never refused for a rule
    the page could have known; the functions still re-check everything under the row lock.
    """
    now = now or timezone.now()
    actions = {
        t.name
        for t in request.get_available_user_status_transitions(user)
        if t.name in {"claim", "release", "approve", "deny", "overturn", "uphold"}
    }
    if _claimed_by_other(request, user, now):
        actions -= {"claim", "release", "approve", "deny"}
    elif request.claimed_by_id == user.pk and request.status == Status.IN_REVIEW:
        actions.discard("claim")
    else:
        # Nobody holds a live claim: claiming is what there is to do, not releasing.
        actions.discard("release")
    if actions & {"overturn", "uphold"} and user.pk in {
        d.decided_by_id for d in request.decisions.all()
    }:
        actions -= {"overturn", "uphold"}
    return actions


# Support's side: disputes, with four eyes


def _check_four_eyes(request: RefundRequest, agent: User) -> None:
    deciders = set(request.decisions.values_list("decided_by_id", flat=True))
    _require(
        agent.pk not in deciders,
        "You made a decision on this request, so another member of support must resolve the "
        "dispute.",
    )


def overturn(*, agent: User, request_id: int, note: str, now: datetime | None = None) -> Decision:
    """Reverse a denial after a dispute: a new approval, which then credits the pro."""
    now = now or timezone.now()
    note = note.strip()
    _require(bool(note), "Write a note to the pro explaining the new decision.")
    with transaction.atomic():
        request = _lock(request_id)
        _check_staff(request, request.overturn, agent)
        _check_four_eyes(request, agent)
        decision = _decide(
            request, request.overturn, agent, Outcome.APPROVED, DecisionKind.DISPUTE, note, "", now
        )
        Dispute.objects.filter(request=request).update(
            status=DisputeStatus.OVERTURNED, resolution=decision
        )
        return decision


def uphold(
    *,
    agent: User,
    request_id: int,
    explanation: str,
    guidance: str,
    now: datetime | None = None,
) -> Decision:
    """Keep a denial after a dispute; the pro is told why."""
    now = now or timezone.now()
    explanation, guidance = _clean_denial(explanation, guidance)
    with transaction.atomic():
        request = _lock(request_id)
        _check_staff(request, request.uphold, agent)
        _check_four_eyes(request, agent)
        decision = _decide(
            request,
            request.uphold,
            agent,
            Outcome.DENIED,
            DecisionKind.DISPUTE,
            explanation,
            guidance,
            now,
        )
        Dispute.objects.filter(request=request).update(
            status=DisputeStatus.UPHELD, resolution=decision
        )
        return decision


# Side effects, run by the worker


def enqueue(func: str, *args) -> None:
    """Queue a side effect for the worker.

    ack_failure=False overrides Q_CLUSTER["ack_failures"] for our tasks: a failed task stays in
    the broker and is handed out again after Q_RETRY seconds, until max_attempts. (Acknowledged
    failures are deleted from the queue and never retried.) Every task here is idempotent.
    """
    async_task(func, *args, group=func.rsplit(".", 1)[-1], ack_failure=False)


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
        credit = Credit.objects.select_for_update().get(pk=credit_id)
        if credit.status == CreditStatus.POSTED:
            return
        if credit.attempts >= settings.CREDIT_MAX_ATTEMPTS:
            # Retrying for ever would only hammer a provider that keeps refusing: support takes
            # it from here (stuck_credits), with the attempts and the last error on the credit.
            log.error("Credit %s gave up after %s attempts", credit.pk, credit.attempts)
            return
        request = _lock(credit.request_id)
        if credit.method == PaymentMethod.BALANCE:
            credit.ledger_entry = LedgerEntry.objects.create(
                pro_id=request.pro_id,
                kind=LedgerKind.REFUND,
                amount=credit.amount,
                memo=f"Refund for lead {request.lead.customer_name} (request #{request.pk})",
                created_at=now,
            )
        else:
            refund = get_gateway().refund(
                idempotency_key=f"refund-request-{request.pk}", amount=credit.amount
            )
            credit.gateway_reference = refund.reference
            credit.expected_on = refund.expected_on
        credit.status = CreditStatus.POSTED
        credit.posted_at = now
        credit.attempts += 1
        credit.last_error = ""
        credit.save()
        before = request.status
        request.mark_credited()
        request.save(update_fields=("status",))
        _record(
            request, None, "credit_posted", before, f"{credit.amount} to {credit.method}", at=now
        )
        subject, body = notices.approval(request, credit)
        _notify(request, request.decisions.latest(), subject, body, email=True, now=now)


def deliver_denial(decision_id: int, now: datetime | None = None) -> None:
    """Send the pro the denial notice and close the request as denied. Idempotent."""
    now = now or timezone.now()
    request_id = Decision.objects.values_list("request_id", flat=True).get(pk=decision_id)
    with transaction.atomic():
        request = _lock(request_id)
        # Read under the request's lock: a concurrent delivery may have just attached the notice.
        decision = Decision.objects.get(pk=decision_id)
        if decision.notice_id is not None:
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
            _record(request, None, "denial_sent", before, at=now)


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
    """Email a copy of an inbox message, once."""
    with transaction.atomic():
        message = (
            InboxMessage.objects.select_for_update().select_related("recipient").get(pk=message_id)
        )
        if message.emailed_at is not None:
            return
        send_mail(
            message.subject,
            f"{message.body}\n\nYou can read this message in your Inbox.",
            None,
            [message.recipient.email],
        )
        message.emailed_at = timezone.now()
        message.save(update_fields=("emailed_at",))


# Scheduled work, run by the worker on django-q2 schedules (refunds/migrations/0003)

# A side effect still pending this long after its decision was lost (worker down, crash):
# longer than the worker's own retries take to start, so a normal retry is not raced.
STUCK_AFTER = timedelta(minutes=10)


def expire_claims(*, now: datetime | None = None) -> list[int]:
    """Put back in the queue every request whose claim has run out; returns their ids."""
    now = now or timezone.now()
    expired = list(
        RefundRequest.objects.filter(status=Status.IN_REVIEW, claimed_until__lt=now).values_list(
            "id", flat=True
        )
    )
    released = []
    for request_id in expired:
        try:
            with transaction.atomic():
                request = _lock(request_id)
                # Re-checked under the lock: the reviewer may have renewed or decided meanwhile.
                if request.status != Status.IN_REVIEW or (
                    request.claimed_until is not None and request.claimed_until >= now
                ):
                    continue
                before = request.status
                holder = request.claimed_by
                request.release()
                request.claimed_by = None
                request.claimed_until = None
                request.save(update_fields=("status", "claimed_by", "claimed_until"))
                _record(request, None, "claim_expired", before, f"Claim by {holder} ran out.")
                released.append(request_id)
        except RefundRequest.DoesNotExist:
            continue
    return released


def stuck_credits() -> QuerySet[Credit]:
    """Credits given up on after CREDIT_MAX_ATTEMPTS tries: a person must look at them."""
    return Credit.objects.filter(
        status=CreditStatus.PENDING, attempts__gte=settings.CREDIT_MAX_ATTEMPTS
    )


RETRY_CREDIT_PERMISSION = "refunds.retry_credit"


def retry_credit(*, agent: User, credit_id: int, now: datetime | None = None) -> Credit:
    """Send a credit the worker gave up on (stuck_credits) to the payment provider again.

    For support, once the cause is fixed (the provider is back, the card was updated). The
    attempts start again from zero, so the worker retries it as it did at first; the event log
    keeps how many tries had failed and the last error. The provider's idempotency key is the
    request, so an earlier try that did reach the provider is not paid a second time.
    """
    now = now or timezone.now()
    _require(agent.has_perm(RETRY_CREDIT_PERMISSION), "You do not have permission to do that.")
    with transaction.atomic():
        credit = Credit.objects.select_for_update().filter(pk=credit_id).first()
        _require(credit is not None, "There is no such credit.")
        _require(credit.status != CreditStatus.POSTED, "This credit has already been paid.")
        _require(
            credit.attempts >= settings.CREDIT_MAX_ATTEMPTS,
            "This credit is still being retried automatically.",
        )
        request = _lock(credit.request_id)
        failed, credit.attempts = credit.attempts, 0
        credit.save(update_fields=("attempts",))
        note = f"Sent to the payment provider again after {failed} failed attempts."
        if credit.last_error:
            note += f" Last error: {credit.last_error}"
        _record(request, agent, "credit_retried", request.status, note[:MAX_NOTE_LENGTH], at=now)
        transaction.on_commit(lambda: enqueue("refunds.tasks.post_credit", credit.pk))
    return credit


def resume_stuck(*, now: datetime | None = None, older_than: timedelta = STUCK_AFTER) -> dict:
    """Queue again the side effects of decisions that should have finished by now.

    Approved requests whose credit is still pending, denials whose notice was never delivered,
    and decision notices whose email copy never went out. Every task is idempotent, so queueing
    one that is in fact still waiting in the broker does no harm.
    """
    now = now or timezone.now()
    cutoff = now - older_than
    credits = list(
        Credit.objects.filter(
            status=CreditStatus.PENDING,
            request__status=Status.REVIEWED,
            created_at__lt=cutoff,
            attempts__lt=settings.CREDIT_MAX_ATTEMPTS,
        ).values_list("id", flat=True)
    )
    denials = list(
        Decision.objects.filter(
            outcome=Outcome.DENIED,
            notice__isnull=True,
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
    for decision_id in denials:
        enqueue("refunds.tasks.deliver_denial", decision_id)
    for message_id in emails:
        enqueue("refunds.tasks.email_notice", message_id)
    if credits or denials or emails:
        log.warning(
            "Resumed stuck side effects: credits %s, denials %s, emails %s",
            credits,
            denials,
            emails,
        )
    return {"credits": credits, "denials": denials, "emails": emails}


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
            _record(
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
            subject, body = _overdue_digest(overdue, now)
            send_mail(subject, body, None, recipients)
        return [r.pk for r in overdue]


def _overdue_digest(requests: list[RefundRequest], now: datetime) -> tuple[str, str]:
    count = len(requests)
    subject = (
        f"{count} refund request{'s' if count != 1 else ''} past the "
        f"{settings.REFUND_POLICY['REVIEW_HOURS']}-hour review deadline"
    )
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    lines = []
    for request in requests:
        late = now - request.due_at
        hours = int(late.total_seconds() // 3600)
        lines.append(
            f"- #{request.pk} {request.lead.customer_name}, {request.get_reason_display()}, "
            f"for {request.pro.display_name}: {hours} h overdue\n"
            f"  {site}{reverse('admin:refunds_refundrequest_change', args=[request.pk])}"
        )
    body = (
        "These requests have waited longer than pros are promised. Please decide them first:\n\n"
        + "\n".join(lines)
        + "\n\nThe queue lists them at the top, oldest deadline first."
    )
    return subject, body


# The share decided in time covers a month of requests; reviewers reload the queue all day, so
# it is counted at most once a minute. The open and overdue counts are always live.
PROMISE_STATS_CACHE_KEY = "refunds:queue-promise-stats"
PROMISE_STATS_SECONDS = 60


def queue_stats(*, now: datetime | None = None, cached: bool = False) -> dict:
    """The queue's health: open and overdue counts, and the share decided in time.

    "In time" means by the request's due time (REVIEW_HOURS after submission), over requests
    submitted in the last 7 and 30 days whose outcome is known (decided, or already past due).
    Withdrawn and automatically denied requests never reach a reviewer and are left out.
    With cached=True the shares may be up to PROMISE_STATS_SECONDS old.
    """
    now = now or timezone.now()
    open_work = RefundRequest.objects.filter(status__in=OPEN_STATUSES).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))
    )
    if cached:
        counts = cache.get_or_set(
            PROMISE_STATS_CACHE_KEY, lambda: _promise_counts(now), PROMISE_STATS_SECONDS
        )
    else:
        counts = _promise_counts(now)

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "open": open_work["open"],
        "overdue": open_work["overdue"],
        "review_hours": settings.REFUND_POLICY["REVIEW_HOURS"],
        "week": {
            "counted": counts["week"],
            "in_time": counts["week_in_time"],
            "share": share(counts["week_in_time"], counts["week"]),
        },
        "month": {
            "counted": counts["month"],
            "in_time": counts["month_in_time"],
            "share": share(counts["month_in_time"], counts["month"]),
        },
    }


def _promise_counts(now: datetime) -> dict:
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    settled = Q(decided_at__isnull=False) | Q(due_at__lte=now)
    in_time = Q(decided_at__lte=F("due_at"))
    return (
        RefundRequest.objects.filter(settled, submitted_at__gte=month)
        .exclude(status=Status.WITHDRAWN)
        .exclude(decisions__kind=DecisionKind.AUTOMATIC)
        .aggregate(
            week=Count("id", filter=Q(submitted_at__gte=week)),
            week_in_time=Count("id", filter=Q(submitted_at__gte=week) & in_time),
            month=Count("id"),
            month_in_time=Count("id", filter=in_time),
        )
    )
