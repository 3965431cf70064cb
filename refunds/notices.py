"""The wording of what pros receive in their Inbox (and by email) about their requests.

Money through accounts.money, days through the `day_in` formatter, in the pro's own zone: the
worker that writes these has no reader of its own. A denial is disputed from its message in the
Inbox (the form under it), so nothing here asks for a reply to an email.
"""

from accounts.money import money
from accounts.templatetags.local_time import day_in
from accounts.timezones import zone_of
from leads.choices import PaymentMethod
from refunds.choices import DecisionKind
from refunds.models import (
    Credit,
    CreditReversal,
    CreditTopUp,
    Decision,
    RefundRequest,
    ReversalDispute,
)


def _lead_line(request: RefundRequest) -> str:
    lead = request.lead
    received = day_in(lead.received_at, zone_of(request.pro).key)
    return f"the {lead.category} lead from {lead.customer_name} (received {received})"


def approval(
    request: RefundRequest, credit: Credit, top_up: CreditTopUp | None = None
) -> tuple[str, str]:
    """The approval notice, once the money is on its way: the credit, or after a dispute of a
    partial credit, the top-up that pays the rest."""
    decision = top_up.decision if top_up is not None else request.decisions.latest()
    currency = request.market.currency if request.market else ""
    price = request.lead.price
    total = credit.amount + (top_up.amount if top_up is not None else 0)
    partial = total < price
    subject = f"Refund {'partly ' if partial else ''}approved: {request.lead.customer_name}"
    if decision.kind == DecisionKind.DISPUTE:
        opening = "Our support team looked at your dispute again and reversed the earlier decision."
    elif decision.kind == DecisionKind.AUTO_APPROVAL:
        opening = (
            "Good news: your refund request was approved automatically, without waiting for a "
            f"reviewer. Why: {decision.explanation}"
        )
    elif partial:
        opening = "We approved part of your refund request."
    else:
        opening = "Good news: we approved your refund request."
    paying = top_up.amount if top_up is not None else credit.amount
    amount = money(paying, currency)
    if top_up is not None:
        amount = f"{amount} more"
    elif partial:
        amount = f"{amount} of {money(price, currency)}"
    method = top_up if top_up is not None else credit
    if credit.method == PaymentMethod.BALANCE:
        paid = f"{amount} has been added to your prepaid balance and is available now."
    else:
        expected = day_in(method.expected_on, zone_of(request.pro).key)
        paid = (
            f"{amount} is being refunded to the card you paid with. Card refunds take a few "
            f"business days; expect it by {expected}."
        )
    if top_up is not None:
        paid += f" In all you are refunded {money(total, currency)} of {money(price, currency)}."
    body = f"{opening}\n\nThis is for {_lead_line(request)}.\n\n{paid}"
    if partial:
        body += f"\n\nWhy part of the price: {decision.explanation}"
        if decision.kind != DecisionKind.DISPUTE:
            body += (
                "\n\nIf you think we got this wrong, dispute the decision from this message in "
                "your Inbox; someone from support who did not make it will look again."
            )
    elif decision.explanation and decision.kind != DecisionKind.AUTO_APPROVAL:
        body += f"\n\nNote from our team: {decision.explanation}"
    return subject, body


def credit_kept(request: RefundRequest, decision: Decision) -> tuple[str, str]:
    """Support kept a partial credit after the pro's dispute (no money moves)."""
    currency = request.market.currency if request.market else ""
    part = f"{money(decision.amount, currency)} of {money(request.lead.price, currency)}"
    return (
        f"Dispute reviewed: partial refund kept ({request.lead.customer_name})",
        f"Our support team looked again at {_lead_line(request)} and kept the earlier "
        f"decision: you are refunded {part}.\n\nWhy: {decision.explanation}\n\n"
        f"For future leads: {decision.guidance}\n\nThis decision is final.",
    )


def reversal(request: RefundRequest, reversal: CreditReversal) -> tuple[str, str]:
    """Support took a credit back: how much, from where, and why."""
    amount = money(reversal.amount, request.market.currency if request.market else "")
    if reversal.credit.method == PaymentMethod.BALANCE:
        where = f"{amount} has been taken back from your prepaid balance."
    else:
        where = (
            f"The refund to your card stays where it is; instead, {amount} has been taken from "
            "your prepaid balance."
        )
    return f"Refund reversed: {request.lead.customer_name}", (
        f"Our support team reversed the refund for {_lead_line(request)}: the conversation with "
        f"the customer carried on after the refund, so the lead was not a bad one after all."
        f"\n\n{where} Your Credits page shows it with your balance.\n\n"
        f"Why: {reversal.explanation}\n\n"
        "If you think we got this wrong, dispute the reversal from this message in your Inbox; "
        "someone from support who did not reverse it will look again."
    )


def reversal_answer(request: RefundRequest, dispute: ReversalDispute) -> tuple[str, str]:
    """Support's answer to the pro's dispute of a reversal: kept, or the credit restored."""
    reversal = dispute.reversal
    amount = money(reversal.amount, request.market.currency if request.market else "")
    name = request.lead.customer_name
    if dispute.restored:
        return f"Dispute reviewed: refund restored ({name})", (
            f"Our support team looked again at {_lead_line(request)} and agreed with you: the "
            f"reversal is undone.\n\n{amount} has been added back to your prepaid balance and "
            f"is available now. Your Credits page shows it with your balance.\n\n"
            f"Note from our team: {dispute.answer}"
        )
    return f"Dispute reviewed: reversal kept ({name})", (
        f"Our support team looked again at {_lead_line(request)} and kept the reversal: the "
        f"{amount} taken back from your prepaid balance stays taken back.\n\n"
        f"Why: {dispute.answer}\n\nThis decision is final."
    )


def denial(request: RefundRequest, decision: Decision) -> tuple[str, str]:
    if decision.kind == DecisionKind.DISPUTE:
        subject = f"Dispute reviewed: refund still denied ({request.lead.customer_name})"
        opening = (
            f"Our support team looked again at {_lead_line(request)} and kept the earlier decision."
        )
        closing = "This decision is final."
    else:
        subject = f"Refund denied: {request.lead.customer_name}"
        opening = f"We could not approve your refund request for {_lead_line(request)}."
        closing = (
            "If you think we got this wrong, dispute the decision from this message in your "
            "Inbox; someone from support who did not make it will look again."
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
        f"so this request was denied automatically. {peer_why} Your Credits page shows your "
        "refund rate next to theirs, and the rate above which requests are denied automatically."
    )
