"""What the pages and the commands read: the assessment's facts, the actions open to a person,
the queue's health, the same customer's other leads, a pro's history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import User
from leads.choices import Channel, PaymentMethod, Sender
from leads.choices import Outcome as ContactOutcome
from leads.models import ContactAttempt, Lead, Message
from refunds import permissions, policy
from refunds.choices import (
    OPEN_STATUSES,
    STATUS_COLOURS,
    CreditStatus,
    DecisionKind,
    DisputeStatus,
    Status,
)
from refunds.models import (
    Credit,
    CreditTopUp,
    Decision,
    DecisionTally,
    Dispute,
    MarketPeerStats,
    RefundRequest,
    ReversalDispute,
    SpotCheck,
    WorkerHeartbeat,
)
from refunds.services.core import params
from refunds.services.undo import undo_refusal

# "Due soon" on the staff home and in the queue's deadline filter.
DUE_SOON = timedelta(hours=4)
# How long after its credit a request's conversation is watched for resuming: older credits are
# not read at all, so the support list stays one bounded scan of the credit_posted_at index.
RESUMED_WINDOW = timedelta(days=90)


def _customer_messages_after_credit(posted_at) -> QuerySet[Message]:
    """The customer's messages on the request's lead after its credit that the pro answered."""
    replies = Message.objects.filter(
        lead_id=OuterRef("lead_id"), sender=Sender.PRO, sent_at__gt=OuterRef("sent_at")
    )
    return Message.objects.filter(
        lead_id=OuterRef("lead_id"), sender=Sender.CUSTOMER, sent_at__gt=posted_at
    ).filter(Exists(replies))


def resumed_condition(now: datetime) -> Q:
    """Credited, not reversed, and the thread carried on afterwards: a customer message after
    the credit with a pro reply to it, or a contact attempt answered after the credit (support's
    list of "conversation resumed"). Computed in the database; only credits of RESUMED_WINDOW."""
    posted_at = OuterRef("credit__posted_at")
    answered = ContactAttempt.objects.filter(
        lead_id=OuterRef("lead_id"),
        outcome=ContactOutcome.ANSWERED,
        attempted_at__gt=posted_at,
    )
    return Q(
        status=Status.CREDITED,
        credit__status=CreditStatus.POSTED,
        credit__posted_at__gte=now - RESUMED_WINDOW,
        credit__reversal__isnull=True,
    ) & (Exists(_customer_messages_after_credit(posted_at)) | Exists(answered))


def conversation_resumed(request: RefundRequest, now: datetime | None = None) -> bool:
    """Whether `request` is on support's list of conversations resumed after a credit."""
    now = now or timezone.now()
    return RefundRequest.objects.filter(resumed_condition(now), pk=request.pk).exists()


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


def peer_rates_by_market(
    since: datetime, market_ids: Iterable[int] | None = None
) -> dict[int, dict[str, float]]:
    """Each pro's refund rate (requests ÷ leads since `since`) by market, for the pros with
    leads: one grouped pass over the window's leads and requests, all markets at once unless
    `market_ids` names some. What MarketPeerStats stores."""
    leads = Lead.objects.filter(received_at__gte=since, pro__pro_profile__isnull=False)
    requests = RefundRequest.objects.filter(submitted_at__gte=since)
    if market_ids is not None:
        leads = leads.filter(pro__pro_profile__market_id__in=market_ids)
        requests = requests.filter(pro__pro_profile__market_id__in=market_ids)
    per_pro = dict(requests.values_list("pro_id").annotate(n=Count("id")).order_by())
    by_market: dict[int, dict[str, float]] = {}
    grouped = leads.values_list("pro__pro_profile__market_id", "pro_id").annotate(n=Count("id"))
    for market_id, pro_id, n in grouped.order_by():
        by_market.setdefault(market_id, {})[str(pro_id)] = per_pro.get(pro_id, 0) / n
    return by_market


def peer_rates_for(market_id: int, pro_id: int, since: datetime) -> list[float]:
    """The other pros' rates from the market's snapshot, or counted now when there is none yet."""
    stats = MarketPeerStats.objects.filter(market_id=market_id).only("rates").first()
    if stats is None:
        return market_peer_rates(market_id, pro_id, since)
    return [rate for pro, rate in stats.rates.items() if pro != str(pro_id)]


def same_customer(lead: Lead) -> QuerySet[Lead]:
    """Other leads with this lead's customer phone or email, for any pro; none without either."""
    match = Q()
    if lead.customer_phone:
        match |= Q(customer_phone=lead.customer_phone)
    if lead.customer_email:
        # Emails are stored lower-cased, so an exact match can use the index (iexact would scan).
        match |= Q(customer_email=lead.customer_email)
    if not match:
        return Lead.objects.none()
    return Lead.objects.filter(match).exclude(pk=lead.pk)


def duplicate_candidates(lead: Lead, window_days: int) -> list[int]:
    """Other leads sold to the same pro with the same customer phone or email, within the window."""
    window = timedelta(days=window_days)
    return list(
        same_customer(lead)
        .filter(pro_id=lead.pro_id)
        .filter(received_at__range=(lead.received_at - window, lead.received_at + window))
        .values_list("id", flat=True)[:20]
    )


def report_facts(lead: Lead, assessment: policy.Assessment, now: datetime) -> policy.ReportFacts:
    """What the automatic-approval rules look at, for a report of `lead` assessed as given."""
    p = params()
    window = timedelta(days=p.duplicate_window_days)
    earlier = (
        same_customer(lead)
        .filter(pro_id=lead.pro_id)
        .filter(received_at__gte=lead.received_at - window, received_at__lt=lead.received_at)
        .exclude(refund_request__credit__isnull=False)  # refunded leads do not count
        .order_by("-received_at")
        .values_list("id", flat=True)[:20]
    )
    pro_message = lead.messages.filter(sender=Sender.PRO).aggregate(at=Min("sent_at"))["at"]
    attempted = lead.contact_attempts.aggregate(at=Min("attempted_at"))["at"]
    first_contact = min((t for t in (pro_message, attempted) if t), default=None)
    customer = lead.messages.filter(sender=Sender.CUSTOMER)
    return policy.ReportFacts(
        reason=assessment.reason,
        price=lead.price,
        earlier_duplicates=tuple(earlier),
        category=str(lead.category),
        category_offered=assessment.category_offered,
        phone_given=bool(lead.customer_phone),
        phone_valid=assessment.phone_valid,
        email_given=bool(lead.customer_email),
        email_valid=assessment.email_valid,
        phone_outcomes=tuple(
            lead.contact_attempts.filter(channel=Channel.PHONE).values_list("outcome", flat=True)
        ),
        customer_wrote=customer.exists(),
        customer_wrote_after_first_contact=first_contact is not None
        and customer.filter(sent_at__gt=first_contact).exists(),
        auto_denied=assessment.peers.auto_deny,
        auto_approvals_30d=Decision.objects.filter(
            kind=DecisionKind.AUTO_APPROVAL,
            request__pro_id=lead.pro_id,
            decided_at__gte=now - timedelta(days=30),
        ).count(),
    )


def pro_history(request: RefundRequest, now: datetime, size: int = 10) -> dict:
    """The pro's other requests (the latest `size`) and their counts over the peer window."""
    window = params().peer_window_days
    since = now - timedelta(days=window)
    recent = list(
        RefundRequest.objects.filter(pro_id=request.pro_id)
        .exclude(pk=request.pk)
        .select_related("lead__category")
        .order_by("-submitted_at")[:size]
    )
    by_status = dict(
        RefundRequest.objects.filter(pro_id=request.pro_id, submitted_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    leads = Lead.objects.filter(pro_id=request.pro_id, received_at__gte=since).count()
    return {
        "window_days": window,
        "requests": sum(by_status.values()),
        "leads": leads,
        "by_status": [
            (Status(value).label, by_status[value], STATUS_COLOURS[Status(value)])
            for value in Status.values
            if by_status.get(value)
        ],
        "recent": recent,
    }


def peer_facts(pro_id: int, market_id: int | None, now: datetime) -> tuple[int, int, list[float]]:
    """What the peer rule compares: the pro's requests and leads over the peer window, and the
    other pros' rates in the market (none without a market)."""
    since = now - timedelta(days=params().peer_window_days)
    leads = Lead.objects.filter(pro_id=pro_id, received_at__gte=since).count()
    requests = RefundRequest.objects.filter(pro_id=pro_id, submitted_at__gte=since).count()
    rates = peer_rates_for(market_id, pro_id, since) if market_id is not None else []
    return requests, leads, rates


def peer_standing(pro: User, now: datetime | None = None) -> policy.Standing:
    """Where the pro stands against the peer refund-rate rule now, from the same facts and the
    same comparison a report submitted now would get (its `next`)."""
    profile = getattr(pro, "pro_profile", None)
    requests, leads, rates = peer_facts(
        pro.pk, profile.market_id if profile else None, now or timezone.now()
    )
    return policy.standing(requests, leads, rates, params())


def assess_lead(
    lead: Lead, reason: str, now: datetime, counting_new: bool = True
) -> policy.Assessment:
    """The policy's view of a report of `lead` for `reason` at `now`, from the database's facts."""
    p = params()
    profile = getattr(lead.pro, "pro_profile", None)
    attempts = [
        policy.Attempt(channel=a.channel, at=a.attempted_at) for a in lead.contact_attempts.all()
    ]
    first_message = lead.messages.filter(sender=Sender.PRO).aggregate(at=Min("sent_at"))["at"]
    firsts = [t for t in (first_message, min((a.at for a in attempts), default=None)) if t]
    pro_requests, pro_leads, peer_rates = peer_facts(
        lead.pro_id, profile.market_id if profile else None, now
    )
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


def allowed_actions(request: RefundRequest, user: User, now: datetime | None = None) -> set[str]:
    """The staff transitions `user` may take on `request` now: the buttons the admin shows.

    Staff transitions are those the state machine guards with a permission. The same checks
    the commands make, so a shown button is never refused for a rule the page could have known;
    the commands still re-check everything under the row lock.
    """
    now = now or timezone.now()
    if request.pro_id == user.pk:
        return set()  # their own request, made as a pro (core.check_not_own)
    by_permission: dict[str, set[str]] = {}
    for t in request.get_available_user_status_transitions(user):
        if t.permission:
            by_permission.setdefault(t.permission, set()).add(t.name)
    deciding = by_permission.get(permissions.DECIDE, set())
    resolving = by_permission.get(permissions.RESOLVE_DISPUTE, set())
    if request.claimed_by_other(user, now):
        deciding = set()
    elif request.claimed_by_id == user.pk and request.status == Status.IN_REVIEW:
        deciding.discard("claim")
    else:
        # Nobody holds a live claim: claiming is what there is to do, not releasing.
        deciding.discard("release")
    if "undo" in deciding and undo_refusal(request, user, now)[0] is None:
        deciding.discard("undo")
    # Four eyes: whoever decided the request does not resolve its dispute.
    if resolving and user.pk in {d.decided_by_id for d in request.decisions.all()}:
        resolving = set()
    # Support reverses a credit only while it is on their "conversation resumed" list.
    if "reverse_credit" in resolving and not conversation_resumed(request, now):
        resolving.discard("reverse_credit")
    # A reversal's dispute is answered while it is open, by support who did not reverse it.
    answering = {"keep_reversal", "restore_credit"}
    if resolving & answering:
        dispute = (
            ReversalDispute.objects.filter(
                reversal__credit__request=request, status=DisputeStatus.OPEN
            )
            .values_list("reversal__reversed_by_id", flat=True)
            .first()
        )
        if dispute is None or dispute == user.pk:
            resolving -= answering
    return deciding | resolving


def overdue_condition(now: datetime) -> Q:
    """Open and past its due time (the queue's deadline filter and the counts read this)."""
    return Q(status__in=OPEN_STATUSES, due_at__lt=now)


def due_soon_condition(now: datetime) -> Q:
    """Open, not yet overdue, and due within DUE_SOON."""
    return Q(status__in=OPEN_STATUSES, due_at__gte=now, due_at__lte=now + DUE_SOON)


def open_request_counts(user: User, now: datetime) -> dict[str, int]:
    """The queue at a glance, in one query: open, due soon, overdue, and claimed by `user`."""
    # A live claim as RefundRequestQuerySet.live_claims has it (the queue's claim filter).
    mine = Q(status=Status.IN_REVIEW, claimed_until__gt=now, claimed_by=user)
    # Already open: the due-soon and overdue counts name only due_at (as open_work does), one
    # index-only pass over the open requests' partial index (request_open_work).
    return RefundRequest.objects.filter(status__in=OPEN_STATUSES).aggregate(
        open=Count("id"),
        due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lte=now + DUE_SOON)),
        overdue=Count("id", filter=Q(due_at__lt=now)),
        mine=Count("id", filter=mine),
    )


def open_work(now: datetime) -> dict:
    """Open requests for the operators, in one query: how many, overdue, due soon, and when the
    oldest of them was submitted (None when there are none).

    One pass over the open requests' partial index (request_open_age) and nothing else: the
    counts name only its columns, so decided requests, however many, are never read.
    """
    return RefundRequest.objects.filter(status__in=OPEN_STATUSES).aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(due_at__lt=now)),
        due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lte=now + DUE_SOON)),
        oldest=Min("submitted_at"),
    )


def decisions_by_outcome_and_kind() -> dict[tuple[str, str], int]:
    """Every decision ever recorded, by (outcome, kind), in one query of a few rows: the tallies
    the decisions' transactions keep (DecisionTally), so history is never counted here.

    Undone decisions are counted too: they stay in the table, so each count only ever grows
    (the metrics export them as counters).
    """
    rows = DecisionTally.objects.filter(decisions__gt=0).values_list("outcome", "kind", "decisions")
    return {(outcome, kind): n for outcome, kind, n in rows}


def worker_heartbeat_age(now: datetime) -> timedelta | None:
    """How long ago a worker last ran the heartbeat task; None if none ever has."""
    beat = (
        WorkerHeartbeat.objects.filter(pk=WorkerHeartbeat.SINGLE_ROW)
        .values_list("beat_at", flat=True)
        .first()
    )
    return None if beat is None else max(now - beat, timedelta(0))


def _waiting(now: datetime) -> dict:
    """How open disputes are counted: how many, how many past due, the oldest's opening."""
    return {
        "waiting": Count("id"),
        "overdue": Count("id", filter=Q(due_at__lt=now)),
        "oldest": Min("opened_at"),
    }


def open_dispute_counts(now: datetime) -> dict:
    """Disputes waiting for support, how many are past due, and when the oldest was opened:
    from the open disputes' partial index (dispute_open_age), never the resolved ones."""
    return Dispute.objects.filter(status=DisputeStatus.OPEN).aggregate(**_waiting(now))


def open_reversal_dispute_counts(now: datetime) -> dict:
    """Disputed reversals waiting for support, as open_dispute_counts counts disputes."""
    return ReversalDispute.objects.filter(status=DisputeStatus.OPEN).aggregate(**_waiting(now))


def all_open_dispute_counts(now: datetime) -> dict:
    """Everything waiting for support's answer, disputes of decisions and of reversals
    together (the metrics), as open_dispute_counts counts: one query, each table's open rows
    counted on its own and the two rows added up."""
    found = {}
    for model in (Dispute, ReversalDispute):
        found[model] = (
            model.objects.filter(status=DisputeStatus.OPEN)
            .order_by()
            .annotate(one=Value(1))
            .values("one")
            .annotate(**_waiting(now))
            .values("waiting", "overdue", "oldest")
        )
    rows = list(found[Dispute].union(found[ReversalDispute], all=True))
    oldest = [row["oldest"] for row in rows if row["oldest"] is not None]
    return {
        "waiting": sum(row["waiting"] for row in rows),
        "overdue": sum(row["overdue"] for row in rows),
        "oldest": min(oldest) if oldest else None,
    }


def automatic_approvals_between(since: datetime, until: datetime) -> int:
    return Decision.objects.filter(
        kind=DecisionKind.AUTO_APPROVAL, decided_at__gte=since, decided_at__lt=until
    ).count()


def waiting_spot_checks() -> int:
    return SpotCheck.objects.filter(checked_at__isnull=True).count()


def stuck_credits() -> QuerySet[Credit]:
    """Credits given up on after CREDIT_MAX_ATTEMPTS tries, or whose top-up after a dispute
    was (the credit itself then paid): a person must look at them."""
    tries = settings.CREDIT_MAX_ATTEMPTS
    # Each side from its pending-attempts partial index; an OR across the top-up's join would
    # read every credit ever paid instead.
    credits = Credit.objects.filter(status=CreditStatus.PENDING, attempts__gte=tries)
    top_ups = CreditTopUp.objects.filter(status=CreditStatus.PENDING, attempts__gte=tries)
    return Credit.objects.filter(
        pk__in=credits.order_by().values("pk").union(top_ups.order_by().values("credit_id"))
    )


def retrying_credits() -> QuerySet[Credit]:
    """Credits whose last try failed and that the worker still retries (not yet stuck)."""
    return Credit.objects.filter(
        status=CreditStatus.PENDING,
        attempts__gt=0,
        attempts__lt=settings.CREDIT_MAX_ATTEMPTS,
    ).exclude(last_error="")


def settling_card_refunds(today: date) -> QuerySet[Credit]:
    """Card refunds the payment provider accepted whose money reaches the card after `today`."""
    return Credit.objects.filter(
        method=PaymentMethod.CARD, status=CreditStatus.POSTED, expected_on__gt=today
    )


# The share decided in time covers a month of requests; reviewers reload the queue all day, so
# it is counted at most once a minute. The open and overdue counts are always live.
PROMISE_STATS_CACHE_KEY = "refunds:queue-promise-stats"
AUTOMATIC_KINDS = (DecisionKind.AUTOMATIC, DecisionKind.AUTO_APPROVAL)
PROMISE_STATS_SECONDS = 60


def queue_stats(*, now: datetime | None = None, cached: bool = False) -> dict:
    """The queue's health: open and overdue counts, and the share decided in time.

    "In time" means by the request's due time (REVIEW_HOURS after submission), over requests
    submitted in the last 7 and 30 days whose outcome is known (decided, or already past due).
    Withdrawn requests and automatic decisions (denials and approvals) never reach a reviewer
    and are left out.
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
        "review_hours": params().review_hours,
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
        .exclude(decisions__kind__in=AUTOMATIC_KINDS)
        .aggregate(
            week=Count("id", filter=Q(submitted_at__gte=week)),
            week_in_time=Count("id", filter=Q(submitted_at__gte=week) & in_time),
            month=Count("id"),
            month_in_time=Count("id", filter=in_time),
        )
    )


def report_deadline(lead: Lead) -> datetime:
    """The last moment the pro may report `lead` (the policy's report window)."""
    return policy.report_deadline(lead.received_at, params())


def reportable(lead: Lead, now: datetime | None = None) -> bool:
    return policy.window_open(lead.received_at, now or timezone.now(), params())


def reportable_leads(leads: QuerySet[Lead], now: datetime | None = None) -> QuerySet[Lead]:
    """The leads whose ⋮ menu offers Report: never reported, and the window still open."""
    since = policy.earliest_reportable_receipt(now or timezone.now(), params())
    return leads.filter(received_at__gte=since, refund_request__isnull=True)


def reported_leads(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads the pro has reported, whatever became of the request (withdrawn included)."""
    return leads.filter(refund_request__isnull=False)
