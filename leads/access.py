"""How the pro's own leads are read, for leads' pages and for the apps built on leads.

Apps that show something beside a lead (refunds: the lead's request and its status) register
what they read with `load_with_leads`, so leads loads it in the same query without knowing
them, and the ways to narrow the Messages list that only they can judge (refunds: "Reportable
now", "Reported") with `filter_threads`: the dependency stays `refunds → leads`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from accounts.models import User
from leads.contact import phone_search
from leads.models import ACTIVITY, Lead, Message

Narrowing = Callable[[QuerySet[Lead]], QuerySet[Lead]]

_loaders: list[Narrowing] = []


def load_with_leads(loader: Narrowing):
    """Register a function that adds to every queryset of leads the pro's pages show."""
    _loaders.append(loader)
    return loader


def leads_for_pages(queryset: QuerySet[Lead]) -> QuerySet[Lead]:
    for loader in _loaders:
        queryset = loader(queryset)
    return queryset


@dataclass(frozen=True)
class ThreadFilter:
    """One choice of the Messages list's filter: its value in the URL (?show=), its label."""

    value: str
    label: str
    narrow: Narrowing


_thread_filters: dict[str, ThreadFilter] = {}


def filter_threads(value: str, label: str, narrow: Narrowing) -> None:
    """Offer a filter on the pro's Messages list, beside "All"."""
    _thread_filters[value] = ThreadFilter(value, label, narrow)


def thread_filters() -> list[ThreadFilter]:
    return list(_thread_filters.values())


def matching(queryset: QuerySet[Lead], text: str, region: str) -> QuerySet[Lead]:
    """The leads whose customer's name, email or phone matches what the pro typed."""
    found = (
        Q(customer_name__icontains=text)
        | Q(customer_email__icontains=text)
        | Q(customer_phone__icontains=text)
    )
    e164, digits = phone_search(text, region)
    if e164:
        found |= Q(customer_phone=e164)
    if digits:
        found |= Q(customer_phone__contains=digits)
    return queryset.filter(found)


def own_threads(
    pro: User, *, search: str = "", region: str = "", show: ThreadFilter | None = None
) -> QuerySet[Lead]:
    """The pro's threads for Messages, the latest activity first.

    Each comes with its last message, read for the page's rows only, so the page costs the
    same few queries however many leads the pro has.
    """
    threads = leads_for_pages(Lead.objects.filter(pro=pro).select_related("category"))
    if show is not None:
        threads = show.narrow(threads)
    if search:
        threads = matching(threads, search, region)
    last = Message.objects.filter(lead=OuterRef("pk")).order_by("-sent_at", "-id")
    return threads.annotate(
        last_body=Subquery(last.values("body")[:1]),
        last_sender=Subquery(last.values("sender")[:1]),
        activity_at=ACTIVITY,
    ).order_by(ACTIVITY.desc(), "-id")


def get_own_lead(request: HttpRequest, lead_id: int) -> Lead:
    """The signed-in pro's lead, or 404: another pro's lead looks exactly like a missing one."""
    # The pro's market comes along: its country writes the customer's phone number.
    queryset = leads_for_pages(Lead.objects.select_related("category", "pro__pro_profile__market"))
    return get_object_or_404(queryset, pk=lead_id, pro=request.user)
