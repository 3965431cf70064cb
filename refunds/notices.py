"""The wording of what pros receive in their Inbox (and by email) about their requests."""

from django.utils import formats, timezone

from accounts.timezones import zone_of
from leads.choices import PaymentMethod
from refunds.choices import DecisionKind
from refunds.models import Credit, Decision, RefundRequest


def _lead_line(request: RefundRequest) -> str:
    lead = request.lead
    # Written in the pro's own zone: the worker that sends it has none of its own.
    received = formats.date_format(
        timezone.localtime(lead.received_at, zone_of(request.pro)), "N j, Y"
    )
    return f"the {lead.category} lead from {lead.customer_name} (received {received})"


def approval(request: RefundRequest, credit: Credit) -> tuple[str, str]:
    decision = request.decisions.latest()
    subject = f"Refund approved: {request.lead.customer_name}"
    if decision.kind == DecisionKind.DISPUTE:
        opening = "Our support team looked at your dispute again and reversed the earlier decision."
    elif decision.kind == DecisionKind.AUTO_APPROVAL:
        opening = (
            "Good news: your refund request was approved automatically, without waiting for a "
            f"reviewer. Why: {decision.explanation}"
        )
    else:
        opening = "Good news: we approved your refund request."
    if credit.method == PaymentMethod.BALANCE:
        money = f"${credit.amount} has been added to your prepaid balance and is available now."
    else:
        expected = formats.date_format(credit.expected_on, "l, N j") if credit.expected_on else ""
        money = (
            f"${credit.amount} is being refunded to the card you paid with. Card refunds take a "
            f"few business days; expect it by {expected}."
        )
    body = f"{opening}\n\nThis is for {_lead_line(request)}.\n\n{money}"
    if decision.explanation and decision.kind != DecisionKind.AUTO_APPROVAL:
        body += f"\n\nNote from our team: {decision.explanation}"
    return subject, body


def denial(request: RefundRequest, decision: Decision) -> tuple[str, str]:
    if decision.kind == DecisionKind.DISPUTE:
        subject = f"Dispute reviewed: refund still declined ({request.lead.customer_name})"
        opening = (
            f"Our support team looked again at {_lead_line(request)} and kept the earlier decision."
        )
        closing = "This decision is final."
    else:
        subject = f"Refund declined: {request.lead.customer_name}"
        opening = f"We could not approve your refund request for {_lead_line(request)}."
        closing = (
            "If you think we got this wrong, reply to this message to dispute the decision; "
            "our support team will look at it again."
        )
    return subject, (
        f"{opening}\n\nWhy: {decision.explanation}\n\n"
        f"For future leads: {decision.guidance}\n\n{closing}"
    )


AUTO_DENIAL_GUIDANCE = (
    "Report a lead only when it clearly fails our lead-quality policy, and keep your services "
    "and service area up to date so you are matched with jobs you want."
)


def auto_denial_explanation(peer_why: str) -> str:
    return (
        "You have asked for refunds on many more of your leads than other pros in your area, "
        f"so this request was declined automatically. {peer_why}"
    )
