from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Model, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import pro_required
from leads import services
from leads.access import get_own_lead, leads_for_pages
from leads.choices import Channel, Outcome
from leads.forms import LogCallForm, MessageForm
from leads.models import ContactAttempt, Lead, Message

THREADS_PER_PAGE = 20


def _threads_page(request: HttpRequest) -> Page:
    """One page of the pro's threads with each thread's last message, in a fixed few queries."""
    last = Message.objects.filter(lead=OuterRef("pk")).order_by("-sent_at", "-id")
    threads = (
        leads_for_pages(Lead.objects.filter(pro=request.user).select_related("category"))
        .annotate(
            last_body=Subquery(last.values("body")[:1]),
            last_sender=Subquery(last.values("sender")[:1]),
            last_at=Subquery(last.values("sent_at")[:1]),
        )
        .order_by("-received_at", "-id")
    )
    return Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "message" or "attempt"
    item: Model


def _timeline(messages_: list[Message], attempts: list[ContactAttempt]) -> list[TimelineItem]:
    """Messages and contact attempts in time order.

    A delivered in-app message is already on screen as its bubble, so its attempt row is left
    out; calls and failed deliveries appear as small rows between the bubbles.
    """
    items = [TimelineItem(m.sent_at, "message", m) for m in messages_]
    items += [
        TimelineItem(a.attempted_at, "attempt", a)
        for a in attempts
        if not (a.channel == Channel.MESSAGE and a.outcome == Outcome.DELIVERED)
    ]
    # Stable sort: at equal times a message stays before the attempt logged with it.
    return sorted(items, key=lambda entry: entry.at)


def _render_thread(
    request: HttpRequest,
    lead: Lead,
    message_form: MessageForm | None = None,
    call_form: LogCallForm | None = None,
) -> HttpResponse:
    attempts = list(lead.contact_attempts.all())
    return render(
        request,
        "leads/thread.html",
        {
            "nav_section": "marketing",
            "threads": _threads_page(request),
            "lead": lead,
            "timeline": _timeline(list(lead.messages.all()), attempts),
            "attempt_count": len(attempts),
            "call_count": sum(1 for a in attempts if a.channel == Channel.PHONE),
            "message_form": message_form or MessageForm(),
            "call_form": call_form or LogCallForm(lead=lead),
        },
    )


@require_safe
@login_required
@pro_required
def thread_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/messages.html",
        {"nav_section": "marketing", "threads": _threads_page(request)},
    )


@require_safe
@login_required
@pro_required
def thread(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _render_thread(request, get_own_lead(request, lead_id))


@require_POST
@login_required
@pro_required
def send_message(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_own_lead(request, lead_id)
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _render_thread(request, lead, message_form=form)
    services.send_message(pro=request.user, lead=lead, body=form.cleaned_data["body"])
    return redirect(reverse("lead_thread", args=[lead.pk]) + "#latest")


@require_POST
@login_required
@pro_required
def log_call(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_own_lead(request, lead_id)
    form = LogCallForm(request.POST, lead=lead)
    if not form.is_valid():
        return _render_thread(request, lead, call_form=form)
    services.log_call(
        pro=request.user,
        lead=lead,
        outcome=form.cleaned_data["outcome"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, "Call logged.")
    return redirect(reverse("lead_thread", args=[lead.pk]) + "#latest")
