"""How the pro's own leads are read, for leads' pages and for the apps built on leads.

Apps that show something beside a lead (refunds: the lead's request and its status) register
what they read with `load_with_leads`, so leads loads it in the same query without knowing
them: the dependency stays `refunds → leads`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from leads.models import Lead

_loaders: list[Callable[[QuerySet[Lead]], QuerySet[Lead]]] = []


def load_with_leads(loader: Callable[[QuerySet[Lead]], QuerySet[Lead]]):
    """Register a function that adds to every queryset of leads the pro's pages show."""
    _loaders.append(loader)
    return loader


def leads_for_pages(queryset: QuerySet[Lead]) -> QuerySet[Lead]:
    for loader in _loaders:
        queryset = loader(queryset)
    return queryset


def get_own_lead(request: HttpRequest, lead_id: int) -> Lead:
    """The signed-in pro's lead, or 404: another pro's lead looks exactly like a missing one."""
    queryset = leads_for_pages(Lead.objects.select_related("category"))
    return get_object_or_404(queryset, pk=lead_id, pro=request.user)
