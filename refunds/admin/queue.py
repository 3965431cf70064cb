"""The reviewers' queue: open requests in due order, dense, with the assessment at a glance."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin
from accounts.models import User
from accounts.templatetags.local_time import clock
from refunds import permissions, services
from refunds.admin import review_path
from refunds.admin.display import (
    REASON_SHORT,
    clock_chip,
    contact_effort_verdict,
    hours,
    html,
    percent,
    refund_rate_verdict,
    review_clock,
    rule_chip,
    status_badge,
)
from refunds.admin.filters import (
    ClaimFilter,
    MarketFilter,
    OverdueFilter,
    ResumedFilter,
    StateFilter,
)
from refunds.admin.forms import DenialForm, first_template, ordered_templates
from refunds.admin.request_page import RequestPage, load_request
from refunds.choices import Reason
from refunds.models import RefundRequest

BULK_DENY_TEMPLATE = "admin/refunds/refundrequest/bulk_deny.html"


class QueueChangeList(ChangeList):
    """The queue loads only the columns its cells show: a row joins six tables, and building
    every field of each (the lead's message text, the pro's whole profile) cost more than the
    query itself."""

    SHOWN = (
        "status",
        "reason",
        "due_at",
        "claimed_until",
        "assessment",
        "lead__customer_name",
        "lead__category__name",
        "pro__email",
        "pro__first_name",
        "pro__last_name",
        "pro__pro_profile__business_name",
        "market__name",
        "claimed_by",
    )

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # Who holds a claim comes in a second, tiny query (only when a shown row is claimed):
        # joining the users table a second time cost the planner more than the query itself.
        claimers = Prefetch("claimed_by", queryset=User.objects.only("email"))
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.only(*self.SHOWN).prefetch_related(claimers)


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin[RefundRequest]):
    list_display = (
        "customer",
        "time_left",
        "state",
        "reason_short",
        "pro_name",
        "lead_age",
        "contact_effort",
        "refund_rate",
    )
    list_display_links = ("customer",)
    list_filter = (
        StateFilter,
        "reason",
        ("market", MarketFilter),
        OverdueFilter,
        ClaimFilter,
    )
    list_select_related = ("lead__category", "pro__pro_profile", "market")
    search_fields = (
        "lead__customer_name",
        "lead__customer_email",
        "lead__customer_phone",
        "lead__marketplace_id",
        "pro__email",
        "pro__pro_profile__business_name",
    )
    search_help_text = "Customer name, phone or email; pro email or business; lead id."
    ordering = ("due_at", "id")
    list_per_page = 50
    show_full_result_count = False
    actions = ("bulk_deny",)

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.DECIDE)

    def get_list_filter(self, request: HttpRequest) -> tuple:
        """Support (who may reverse a credit) also filters on a conversation resumed after it."""
        if request.user.has_perm(permissions.RESOLVE_DISPUTE):
            return (*self.list_filter, ResumedFilter)
        return self.list_filter

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    def get_urls(self):
        start = path(
            "start/",
            self.admin_site.admin_view(self.start_reviewing),
            name="refunds_refundrequest_start",
        )
        return [start, *super().get_urls()]

    def start_reviewing(self, request: HttpRequest) -> HttpResponse:
        """Start reviewing: claim the most urgent request of the queue as filtered, open it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_decide_permission(request):
            raise PermissionDenied
        filters = review_path.queue_filters(request)
        following = review_path.start_next(self, request, filters)
        if following is None:
            messages.info(request, "Nothing to review: no open request is free in this queue.")
            return HttpResponseRedirect(review_path.queue_url(filters))
        return HttpResponseRedirect(review_path.request_url(following.pk, filters))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        filters = request.GET.copy()
        filters.pop("p", None)  # the queue's page: the next request is the most urgent anyway
        extra_context = {
            **(extra_context or {}),
            "queue_filters": filters.urlencode(),
            "can_decide": self.has_decide_permission(request),
            "undo_offer": review_path.undo_offer(request),
            "queue_stats": services.queue_stats(cached=True),
            "title": "Refund requests to review",
            # The queue needs every column; the breadcrumbs lead everywhere else.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Time left", ordering="due_at")
    def time_left(self, obj: RefundRequest) -> str:
        return clock_chip(review_clock(obj, timezone.now()), done="decided")

    @admin.display(description="State", ordering="status")
    def state(self, obj: RefundRequest) -> str:
        # The enums' labels: get_FOO_display() rebuilds the field's choices on every call.
        badge = status_badge(obj.status)
        if not obj.has_live_claim(timezone.now()):
            return badge
        return html(
            '{}<br><span class="rq-claim" title="Claimed until {}">{}</span>',
            badge,
            clock(obj.claimed_until),
            obj.claimed_by,
        )

    @admin.display(description="Reason", ordering="reason")
    def reason_short(self, obj: RefundRequest) -> str:
        return html(
            '<span title="{}">{}</span>{}',
            Reason(obj.reason).label,
            REASON_SHORT[obj.reason],
            rule_chip(obj.assessed),
        )

    @admin.display(description="Request", ordering="lead__customer_name")
    def customer(self, obj: RefundRequest) -> str:
        return html(
            '{}<br><span class="rq-muted">#{} · {}</span>',
            obj.lead.customer_name,
            obj.pk,
            obj.lead.category,
        )

    @admin.display(description="Pro · market", ordering="pro__pro_profile__business_name")
    def pro_name(self, obj: RefundRequest) -> str:
        return html(
            '{}<br><span class="rq-muted">{}</span>',
            obj.pro.display_name,
            obj.market or "no market",
        )

    @admin.display(description="Lead age")
    def lead_age(self, obj: RefundRequest) -> str:
        return hours(obj.assessed.lead_age_hours) if obj.assessed else "—"

    @admin.display(description="Contact effort")
    def contact_effort(self, obj: RefundRequest) -> str:
        text, level, missing = contact_effort_verdict(obj.assessed)
        return html(
            '<span class="rq-text--{}" title="{}">{}</span>', level, " ".join(missing), text
        )

    @admin.display(description="Rate / limit")
    def refund_rate(self, obj: RefundRequest) -> str:
        if obj.assessed is None:
            return "—"
        peers = obj.assessed.peers
        text, level = refund_rate_verdict(obj.assessed)
        return html(
            '<span class="rq-text--{}" title="{}">{} / {}</span>',
            level,
            peers.why or text,
            percent(peers.pro_rate),
            percent(peers.threshold) if peers.comparable else "—",
        )

    # The request page

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            refund = load_request(int(unquote(object_id)))
        except (ValueError, RefundRequest.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, refund):
            raise PermissionDenied
        page = RequestPage(self, "refunds_refundrequest_changelist")
        if request.method == "POST":
            return page.handle_post(request, refund, obj=refund)
        return page.render(request, refund, obj=refund)

    # Bulk deny

    @admin.action(description="Deny selected requests with one explanation", permissions=["decide"])
    def bulk_deny(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        chosen = list(queryset.select_related("lead", "pro__pro_profile"))
        reasons = {r.reason for r in chosen}
        groups = ordered_templates(reasons)
        # One reason: start from its first template. Several: no template fits them all, so
        # the reviewer picks one or writes the shared explanation.
        first = first_template(groups) if len(reasons) == 1 else None
        if "apply" in request.POST:
            form = DenialForm(request.POST)
            if form.is_valid():
                denied, refused = services.bulk_deny(
                    reviewer=request.user,
                    request_ids=[r.pk for r in chosen],
                    **form.cleaned_data,
                )
                if denied:
                    messages.success(
                        request,
                        f"Denied {len(denied)} request{'s' if len(denied) != 1 else ''}: "
                        + ", ".join(f"#{pk}" for pk in denied),
                    )
                for pk, why in refused.items():
                    messages.error(request, f"#{pk} not denied: {why}")
                return None
        else:
            form = DenialForm(
                initial={"explanation": first.explanation, "guidance": first.guidance}
                if first
                else {}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deny {len(chosen)} request{'s' if len(chosen) != 1 else ''}",
            "opts": self.opts,
            "requests": chosen,
            "form": form,
            "template_groups": groups,
            "selected_template": first,
            "mixed_reasons": len(reasons) > 1,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, BULK_DENY_TEMPLATE, context)
