"""Bring refund requests to a state the way the product does: through refunds.services.

Used by the reviewer, support and worker tests. Requests that only need to *be* in a state
(for refusal tests) are stored directly with RefundRequestFactory(status=...).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from leads.choices import Channel, Sender
from leads.models import Lead
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import RefundRequest
from tests.factories import ContactAttemptFactory, LeadFactory, MessageFactory

EXPLANATION = "The customer asked for plumbing, which your profile offers."
GUIDANCE = "Report a lead only when the job is outside your categories."


def run_on_commit(capture, func, *args, **kwargs):
    """Run `func` and then the side effects it queued, as the worker would."""
    with capture(execute=True):
        return func(*args, **kwargs)


def chatty_lead(pro, *, messages: int = 3, **lead_kwargs) -> Lead:
    """A lead with a short conversation and the contact attempts the policy asks for."""
    lead = LeadFactory(pro=pro, **lead_kwargs)
    senders = [Sender.PRO, Sender.CUSTOMER, Sender.SYSTEM]
    for i in range(messages):
        MessageFactory(
            lead=lead,
            sender=senders[i % 3],
            body=f"Message {i} from the {senders[i % 3].label.lower()}",
            sent_at=lead.received_at + timedelta(minutes=10 + i),
        )
    ContactAttemptFactory(lead=lead, channel=Channel.MESSAGE)
    ContactAttemptFactory(
        lead=lead, channel=Channel.PHONE, attempted_at=lead.received_at + timedelta(hours=30)
    )
    return lead


def submitted(pro, **lead_kwargs) -> RefundRequest:
    lead = chatty_lead(pro, **lead_kwargs)
    return services.submit_report(pro=pro, lead_id=lead.pk, reason=Reason.WRONG_JOB)


def denied(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    """A request a reviewer denied and whose notice went out (DENIED)."""
    request = submitted(pro, **lead_kwargs)
    run_on_commit(
        capture,
        services.deny,
        reviewer=reviewer,
        request_id=request.pk,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    return request


def disputed(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    """A denied request the pro replied to (DISPUTED)."""
    request = denied(capture, pro, reviewer, **lead_kwargs)
    services.open_dispute(pro=pro, request_id=request.pk, message="The customer wanted a roof.")
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    return request


def make_stale(request: RefundRequest, minutes: int = 30) -> None:
    """Pretend the request's decision happened `minutes` ago (the worker was down since)."""
    earlier = timedelta(minutes=minutes)
    with transaction.atomic():
        for decision in request.decisions.all():
            type(decision).objects.filter(pk=decision.pk).update(
                decided_at=decision.decided_at - earlier
            )
        credit = getattr(request, "credit", None)
        if credit is not None:
            type(credit).objects.filter(pk=credit.pk).update(created_at=credit.created_at - earlier)


def credited(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    """A request approved and paid back (CREDITED), through the services and the worker."""
    request = submitted(pro, **lead_kwargs)
    run_on_commit(capture, services.approve, reviewer=reviewer, request_id=request.pk)
    request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
    assert request.status == Status.CREDITED
    return request


def say(request: RefundRequest, sender: str, minutes: int, body: str = "") -> None:
    """A message in the request's thread `minutes` after its credit was posted (negative:
    before it)."""
    MessageFactory(
        lead=request.lead,
        sender=sender,
        body=body or f"{sender} writes {minutes} minutes from the credit",
        sent_at=request.credit.posted_at + timedelta(minutes=minutes),
    )


def resumed(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    """A $24.50 credited request whose customer wrote after the credit, and the pro replied:
    on support's "conversation resumed" list."""
    request = credited(capture, pro, reviewer, price=Decimal("24.50"), **lead_kwargs)
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")
    return request


REVERSAL_WHY = "The customer booked the job with you two days after the refund."
REVERSAL_DISPUTE = "The customer asked about another job, not this one."


def reversed_credit(capture, pro, reviewer, agent, **lead_kwargs) -> RefundRequest:
    """A $24.50 credit whose conversation resumed, taken back by `agent` (support)."""
    request = resumed(capture, pro, reviewer, **lead_kwargs)
    run_on_commit(
        capture,
        services.reverse_credit,
        agent=agent,
        request_id=request.pk,
        explanation=REVERSAL_WHY,
    )
    return RefundRequest.objects.select_related("credit__reversal", "lead").get(pk=request.pk)


def reversal_disputed(capture, pro, reviewer, agent, **lead_kwargs) -> RefundRequest:
    """A reversed credit the pro replied to: the reversal's dispute is open."""
    request = reversed_credit(capture, pro, reviewer, agent, **lead_kwargs)
    run_on_commit(
        capture,
        services.open_reversal_dispute,
        pro=pro,
        request_id=request.pk,
        message=REVERSAL_DISPUTE,
    )
    return RefundRequest.objects.select_related("credit__reversal__dispute", "lead").get(
        pk=request.pk
    )
