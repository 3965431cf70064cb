"""The keyboard-first review path: Start reviewing, the next request after a decision, j/k
through the queue, and Undo, all within the queue as the reviewer filtered it.

The queue's filters travel as Django's own `_changelist_filters` (the changelist's query
string), so the list a reviewer comes back to is the one they left.
"""

from __future__ import annotations

import copy
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone

from refunds import policy, services
from refunds.choices import OPEN_STATUSES
from refunds.models import RefundRequest

FILTERS = "_changelist_filters"
UNDO_KEY = "refunds:undo"
# j/k look this far down the queue; past it, the reviewer is better served by the list.
NEIGHBOURS_WINDOW = 500
CANDIDATES = 10  # tried in turn when other reviewers take the first ones at the same moment


def queue_filters(http: HttpRequest) -> str:
    """The queue's query string this page was opened from (empty: the queue as it opens)."""
    return http.POST.get(FILTERS) or http.GET.get(FILTERS, "")


def request_url(pk: int, filters: str) -> str:
    url = reverse("admin:refunds_refundrequest_change", args=[pk])
    return f"{url}?{urlencode({FILTERS: filters})}" if filters else url


def queue_url(filters: str) -> str:
    url = reverse("admin:refunds_refundrequest_changelist")
    return f"{url}?{filters}" if filters else url


def filtered_queue(model_admin: admin.ModelAdmin, http: HttpRequest, filters: str) -> QuerySet:
    """The queue's rows, filtered, searched and ordered as its list shows them."""
    as_listed = copy.copy(http)
    as_listed.GET = QueryDict(filters)
    try:
        changelist = model_admin.get_changelist_instance(as_listed)
    except IncorrectLookupParameters:
        as_listed.GET = QueryDict("")
        changelist = model_admin.get_changelist_instance(as_listed)
    return changelist.get_queryset(as_listed)


def start_next(
    model_admin: admin.ModelAdmin, http: HttpRequest, filters: str
) -> RefundRequest | None:
    """Claim the most urgent open request of the filtered queue nobody else holds."""
    now = timezone.now()
    reviewer = http.user
    candidates = list(
        filtered_queue(model_admin, http, filters)
        .filter(status__in=OPEN_STATUSES)
        .exclude(pro=reviewer)  # their own requests are for someone else (check_not_own)
        .filter(~Q(status="in_review", claimed_until__gt=now) | Q(claimed_by=reviewer))
        .values_list("pk", flat=True)[:CANDIDATES]
    )
    for pk in candidates:
        try:
            return services.claim(reviewer=reviewer, request_id=pk)
        except services.RefundError:
            continue  # taken a moment ago by someone else: the next one
    return None


def neighbours(
    model_admin: admin.ModelAdmin, http: HttpRequest, filters: str, current: int
) -> tuple[int | None, int | None]:
    """The requests before and after `current` in the filtered queue (j and k)."""
    ids = list(
        filtered_queue(model_admin, http, filters).values_list("pk", flat=True)[:NEIGHBOURS_WINDOW]
    )
    if current not in ids:
        return None, ids[0] if ids else None
    at = ids.index(current)
    return (ids[at - 1] if at else None), (ids[at + 1] if at + 1 < len(ids) else None)


PAST = {"Approve": "Approved", "Approve part": "Approved part", "Deny": "Denied"}


def remember_for_undo(http: HttpRequest, refund: RefundRequest, verb: str) -> None:
    """After a reviewer's decision, the next pages offer to take it back until the window ends."""
    p = services.params()
    if not p.undo_seconds:
        return
    until = policy.undo_until(timezone.now(), p)
    http.session[UNDO_KEY] = {
        "id": refund.pk,
        "verb": PAST.get(verb, verb),
        "customer": refund.lead.customer_name,
        "until": until.isoformat(),
    }


def undo_offer(http: HttpRequest, now: datetime | None = None) -> dict | None:
    """The decision the reviewer may still undo from this page, for the Undo bar."""
    offer = http.session.get(UNDO_KEY)
    if not offer:
        return None
    until = datetime.fromisoformat(offer["until"])
    if (now or timezone.now()) >= until:
        http.session.pop(UNDO_KEY, None)
        return None
    return {**offer, "until": until, "url": request_url(offer["id"], queue_filters(http))}


def forget_undo(http: HttpRequest, pk: int) -> None:
    offer = http.session.get(UNDO_KEY)
    if offer and offer["id"] == pk:
        http.session.pop(UNDO_KEY, None)
