"""The back office's Analytics section: one page per question, filters in the URL, every table
downloadable as CSV with the same filters (refunds/analytics builds the figures)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from config.db_router import replica_reads
from refunds import permissions
from refunds.analytics import capacity, money, promise, quality, sources
from refunds.analytics.figures import Page
from refunds.analytics.period import Period, period_from

TEMPLATE = "admin/analytics/page.html"
# slug -> (the page's name in the section's navigation, its builder)
PAGES: dict[str, tuple[str, Callable[[Period, datetime], Page]]] = {
    "promise": ("Review promise", promise.build),
    "capacity": ("Capacity", capacity.build),
    "sources": ("Where refunds come from", sources.build),
    "quality": ("Quality", quality.build),
    "money": ("Money", money.build),
}


def page(request: HttpRequest, slug: str = "promise") -> HttpResponse:
    if not request.user.has_perm(permissions.VIEW_ANALYTICS):
        raise PermissionDenied
    if slug not in PAGES:
        raise Http404("No such analytics page")
    now = timezone.now()
    period, form = period_from(request.GET, now)
    built = PAGES[slug][1](period, now)
    wanted = request.GET.get("csv")
    if wanted:
        table = built.table(wanted)
        if table is None:
            raise Http404("No such table on this page")
        return _csv(table, f"{slug}-{table.name}-{period.first}-{period.last}.csv")
    context = {
        **admin.site.each_context(request),
        "title": f"Analytics: {built.title}",
        "page": built,
        "period": period,
        "form": form,
        "slug": slug,
        "query": period.query(),
        "tabs": [
            (name, reverse("analytics:page", args=[key]), key == slug)
            for key, (name, _) in PAGES.items()
        ],
        "is_nav_sidebar_enabled": False,
    }
    return TemplateResponse(request, TEMPLATE, context)


def _csv(table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return response


app_name = "analytics"
urlpatterns = [
    # Heavy, read-only pages: their queries go to the read replica when one is configured.
    path("", admin.site.admin_view(require_safe(replica_reads(page))), name="index"),
    path("<slug:slug>/", admin.site.admin_view(require_safe(replica_reads(page))), name="page"),
]
