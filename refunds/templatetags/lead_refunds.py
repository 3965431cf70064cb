"""The refund pieces of the pro's Messages pages, rendered by the refunds app.

Leads' templates load this library and call its tags with a lead; the lead's request comes
with the lead (RefundsConfig.ready registers it with leads.access), so the list costs no query
per thread, and the thread page reads the latest decision and the dispute once.
"""

from __future__ import annotations

from django import template

from leads.choices import PaymentMethod
from leads.models import Lead
from refunds import services
from refunds.choices import DecisionKind, Outcome, Status

register = template.Library()


def _refund(lead: Lead) -> dict:
    """What the tags show about the lead's refund, read once per lead and page."""
    cached = getattr(lead, "_refund_context", None)
    if cached is not None:
        return cached
    refund_request = getattr(lead, "refund_request", None)
    context = {
        "lead": lead,
        "refund_request": refund_request,
        "deadline": services.report_deadline(lead),
        "reportable": services.reportable(lead),
        "Status": Status,
        "Outcome": Outcome,
        "DecisionKind": DecisionKind,
        "PaymentMethod": PaymentMethod,
    }
    lead._refund_context = context
    return context


def _with_decision(lead: Lead) -> dict:
    context = _refund(lead)
    refund_request = context["refund_request"]
    if refund_request is not None and "decision" not in context:
        context["decision"] = refund_request.decisions.order_by("decided_at", "id").last()
        context["dispute"] = getattr(refund_request, "dispute", None)
    return context


@register.inclusion_tag("refunds/includes/status_badge_wrapped.html")
def lead_refund_badge(lead: Lead, css_class: str = "") -> dict:
    """The request's status badge, or nothing for a lead never reported."""
    return {"refund_request": getattr(lead, "refund_request", None), "css_class": css_class}


@register.inclusion_tag("refunds/lead/menu.html", takes_context=True)
def lead_refund_menu(context, lead: Lead) -> dict:
    """The ⋮ menu's refund items: the request and Withdraw, Report, or why reporting closed."""
    return {**_refund(lead), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("refunds/lead/banner.html")
def lead_refund_banner(lead: Lead) -> dict:
    return _with_decision(lead)


@register.inclusion_tag("refunds/lead/fact.html")
def lead_refund_fact(lead: Lead) -> dict:
    return _refund(lead)
