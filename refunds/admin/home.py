"""The back office's home: the work there is now, each count a link to the list showing it.

It is the admin site's index (install(), called from config/urls.py), so /admin/, its name and
its sign-in check stay the admin's own. Below the counts: the model list the index always showed.
A count is shown only to someone who may open its list, and each list costs one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from refunds import permissions, services
from refunds.admin import review_path
from refunds.admin.display import duration
from refunds.admin.filters import DUE_SOON_LABEL, RESUMED_LABEL
from refunds.choices import DecisionKind, Status
from refunds.models import Credit, Decision, Dispute, RefundRequest, ReversalDispute, SpotCheck

TEMPLATE = "admin/home.html"


@dataclass(frozen=True)
class Tile:
    """One count, and the address of the list that shows exactly what it counts."""

    label: str
    count: int
    url: str
    level: str = ""  # "late" or "warn" while the count needs attention: the number's colour
    note: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    tiles: list[Tile]


def changelist(model: type[Model], query: dict[str, str] | None = None) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def start_of_day(now: datetime) -> datetime:
    """Midnight of `now`'s day in the server's time zone, as the admin's date filters count it."""
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def sections(request: HttpRequest, site: AdminSite, now: datetime) -> list[Section]:
    """The counts `request.user` may open, by whose work they are."""

    def may_open(model: type[Model]) -> bool:
        return site.get_model_admin(model).has_view_permission(request)

    found = []
    if may_open(RefundRequest):
        counts = services.open_request_counts(request.user, now)
        queue = [
            Tile("Open requests", counts["open"], changelist(RefundRequest)),
            Tile(
                DUE_SOON_LABEL,
                counts["due_soon"],
                changelist(RefundRequest, {"overdue": "soon"}),
                level="warn" if counts["due_soon"] else "",
            ),
            Tile(
                "Overdue",
                counts["overdue"],
                changelist(RefundRequest, {"overdue": "yes"}),
                level="late" if counts["overdue"] else "",
            ),
        ]
        # Only those who decide can claim: for anyone else the count is always nought.
        if request.user.has_perm(permissions.DECIDE):
            queue.append(
                Tile("Claimed by me", counts["mine"], changelist(RefundRequest, {"claimed": "me"}))
            )
        found.append(Section("Refund requests", queue))

    support = []
    if may_open(Dispute):
        disputes = services.open_dispute_counts(now)
        if disputes["oldest"] is None:
            note = "none waiting"
        else:
            note = f"oldest waiting {duration(now - disputes['oldest'])}"
        if disputes["overdue"]:
            note += f" · {disputes['overdue']} overdue"
        support.append(
            Tile(
                "Disputes waiting",
                disputes["waiting"],
                changelist(Dispute),
                level="late" if disputes["overdue"] else "",
                note=note,
            )
        )
    if may_open(ReversalDispute):
        waiting = services.open_reversal_dispute_counts(now)
        note = (
            "none waiting"
            if waiting["oldest"] is None
            else f"oldest waiting {duration(now - waiting['oldest'])}"
        )
        if waiting["overdue"]:
            note += f" · {waiting['overdue']} overdue"
        support.append(
            Tile(
                "Disputed reversals waiting",
                waiting["waiting"],
                changelist(ReversalDispute),
                level="late" if waiting["overdue"] else "",
                note=note,
            )
        )
    if may_open(Credit):
        stuck = services.stuck_credits().count()
        support.append(
            Tile(
                "Credits needing a person",
                stuck,
                changelist(Credit, {"stuck": "yes"}),
                level="warn" if stuck else "",
                note="retries used up",
            )
        )
    if may_open(RefundRequest) and request.user.has_perm(permissions.RESOLVE_DISPUTE):
        resumed = RefundRequest.objects.filter(services.resumed_condition(now)).count()
        support.append(
            Tile(
                RESUMED_LABEL,
                resumed,
                changelist(RefundRequest, {"state": Status.CREDITED.value, "resumed": "yes"}),
                level="warn" if resumed else "",
                note=f"credits of the last {services.RESUMED_WINDOW.days} days",
            )
        )
    if support:
        found.append(Section("Disputes and credits", support))

    automatic = []
    if may_open(Decision):
        today = start_of_day(now)
        tomorrow = today + timedelta(days=1)
        # The Decision list's kind filter, and its decided_at filter's own "Today" link.
        query = {
            "kind__exact": DecisionKind.AUTO_APPROVAL.value,
            "decided_at__gte": str(today),
            "decided_at__lt": str(tomorrow),
        }
        automatic.append(
            Tile(
                "Automatic approvals today",
                services.automatic_approvals_between(today, tomorrow),
                changelist(Decision, query),
                note=f"since 00:00 {today.tzname()}",
            )
        )
    if may_open(SpotCheck):
        automatic.append(
            Tile("Spot checks waiting", services.waiting_spot_checks(), changelist(SpotCheck))
        )
    if automatic:
        found.append(Section("Automatic approvals", automatic))
    return found


def install(site: AdminSite) -> None:
    """Make `site`'s index the staff home: the index's own context and model list, plus the
    counts. Installing twice changes nothing."""

    def index(request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {
            "sections": sections(request, site, timezone.now()),
            # Start reviewing is the first thing a reviewer does here (key s).
            "can_decide": request.user.has_perm(permissions.DECIDE),
            "undo_offer": review_path.undo_offer(request),
            **(extra_context or {}),
        }
        return AdminSite.index(site, request, context)

    site.index = index  # type: ignore[method-assign]
    site.index_template = TEMPLATE
