from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import pro_required
from leads import services
from leads.access import get_own_lead, own_threads, thread_filters
from leads.choices import Channel, Outcome
from leads.forms import ALL_THREADS, LogCallForm, MessageForm, ThreadSearchForm
from leads.models import ContactAttempt, Lead, Message

THREADS_PER_PAGE = 20


def _list_query(search: str, show: str, page: int = 1) -> str:
    """The list's search, filter and page as a query string, leaving out the defaults."""
    wanted = {"q": search, "show": "" if show == ALL_THREADS else show}
    wanted["page"] = str(page) if page > 1 else ""
    return urlencode({name: value for name, value in wanted.items() if value})


@dataclass(frozen=True)
class FilterLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class ThreadList:
    """What the Messages list shows: a page of threads and the search and filter behind it."""

    threads: Page
    form: ThreadSearchForm
    search: str
    show: str
    filters: list[FilterLink]

    @property
    def show_label(self) -> str:
        return next(f.label for f in self.filters if f.current)

    @property
    def clear_search_url(self) -> str:
        query = _list_query("", self.show)
        return reverse("messages") + (f"?{query}" if query else "")

    @property
    def query(self) -> str:
        """The search and filter, for the page links."""
        return _list_query(self.search, self.show)

    @property
    def thread_query(self) -> str:
        """The search, filter and page: a thread lists the threads beside it as they were."""
        return _list_query(self.search, self.show, self.threads.number)


def _thread_list(request: HttpRequest) -> ThreadList:
    """One page of the pro's threads as the URL asks, in a fixed few queries."""
    form = ThreadSearchForm(request.GET or None, filters=thread_filters())
    search, show = form.wanted()
    profile = getattr(request.user, "pro_profile", None) if search else None
    region = profile.market.country_code if profile is not None else ""
    threads = own_threads(request.user, search=search, region=region, show=form.filters.get(show))
    page = Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    base = reverse("messages")
    links = []
    for value, label in form.fields["show"].choices:
        query = _list_query(search, value)
        links.append(FilterLink(label, f"{base}?{query}" if query else base, value == show))
    return ThreadList(page, form, search, show, links)


def _list_context(request: HttpRequest) -> dict:
    thread_list = _thread_list(request)
    return {"thread_list": thread_list, "threads": thread_list.threads}


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
            **_list_context(request),
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
        {"nav_section": "marketing", **_list_context(request)},
    )


@require_safe
@login_required
@pro_required
def thread(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_own_lead(request, lead_id)
    services.mark_read(pro=request.user, lead=lead)
    return _render_thread(request, lead)


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
