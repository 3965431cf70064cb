"""Support's disputes queue: denials the pro replied to, oldest first, four eyes shown."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin
from accounts.money import money
from accounts.templatetags.local_time import day
from refunds.admin.display import REASON_SHORT, clock_chip, dispute_clock, duration, html
from refunds.admin.filters import DisputeStateFilter
from refunds.admin.request_page import RequestPage, load_request
from refunds.models import Decision, Dispute


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin, admin.ModelAdmin[Dispute]):
    list_display = (
        "customer",
        "time_left",
        "pro_name",
        "reason",
        "original_decision",
        "reply",
    )
    list_display_links = ("customer",)
    list_filter = (DisputeStateFilter,)
    list_select_related = ("request__lead__category", "request__pro__pro_profile")
    search_fields = (
        "request__lead__customer_name",
        "request__pro__email",
        "request__pro__pro_profile__business_name",
        "message",
    )
    ordering = ("due_at", "id")
    show_full_result_count = False

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        mine = Decision.objects.filter(request_id=OuterRef("request_id"), decided_by=request.user)
        return (
            super()
            .get_queryset(request)
            .annotate(decided_by_me=Exists(mine))
            .prefetch_related(
                Prefetch(
                    "request__decisions", queryset=Decision.objects.select_related("decided_by")
                )
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "title": "Disputed decisions",
                "is_nav_sidebar_enabled": False,
            },
        )

    @staticmethod
    def _disputed(obj: Dispute) -> Decision | None:
        before = [d for d in obj.request.decisions.all() if d.decided_at <= obj.opened_at]
        return before[-1] if before else None

    @admin.display(description="Time left", ordering="due_at")
    def time_left(self, obj: Dispute) -> str:
        now = timezone.now()
        left = dispute_clock(obj, now)
        if left is None:
            return obj.get_status_display()
        return html(
            '{}<br><span class="rq-muted">waiting {}</span>',
            clock_chip(left, done="answered"),
            duration(now - obj.opened_at),
        )

    @admin.display(description="Request", ordering="request__lead__customer_name")
    def customer(self, obj: Dispute) -> str:
        return html(
            '{}<br><span class="rq-muted">#{} · {}</span>',
            obj.request.lead.customer_name,
            obj.request_id,
            obj.request.lead.category,
        )

    @admin.display(description="Pro")
    def pro_name(self, obj: Dispute) -> str:
        return obj.request.pro.display_name

    @admin.display(description="Reason")
    def reason(self, obj: Dispute) -> str:
        return html(
            '<span title="{}">{}</span>',
            obj.request.get_reason_display(),
            REASON_SHORT[obj.request.reason],
        )

    @admin.display(description="Decision disputed")
    def original_decision(self, obj: Dispute) -> str:
        decision = self._disputed(obj)
        if decision is None:
            return "—"
        who = decision.decided_by or "automatic (refund rate)"
        # Four eyes: the one who decided sees at once that a colleague must take it.
        mine = (
            html(' <span class="rq-text--warn">{}</span>', "· you decided it")
            if getattr(obj, "decided_by_me", False)
            else ""
        )
        outcome = decision.get_outcome_display()
        price = obj.request.lead.price
        if decision.amount is not None and decision.amount != price:
            outcome = f"{outcome}: {money(decision.amount)} of {money(price)}"  # a partial credit
        return html(
            '{}{}<br><span class="rq-muted">by {}, {}</span>',
            outcome,
            mine,
            who,
            day(decision.decided_at),
        )

    @admin.display(description="Pro's reply")
    def reply(self, obj: Dispute) -> str:
        text = obj.message if len(obj.message) <= 140 else obj.message[:139] + "…"
        return text

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            dispute = Dispute.objects.get(pk=int(unquote(object_id)))
        except (ValueError, Dispute.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        refund = load_request(dispute.request_id)
        page = RequestPage(self, "refunds_dispute_changelist")
        if request.method == "POST":
            return page.handle_post(request, refund, obj=dispute)
        return page.render(request, refund, obj=dispute)
