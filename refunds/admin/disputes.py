"""Support's disputes queues: denials (and partial credits) the pro replied to, and reversals of
a credit the pro replied to; oldest first, four eyes shown."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.admin import ReadOnlyAdmin
from accounts.money import money
from accounts.templatetags.local_time import day
from refunds.admin.display import REASON_SHORT, clock_chip, dispute_clock, duration, html
from refunds.admin.filters import DisputeStateFilter, ReversalDisputeStateFilter
from refunds.admin.request_page import RequestPage, load_request
from refunds.models import Decision, Dispute, ReversalDispute


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


@admin.register(ReversalDispute)
class ReversalDisputeAdmin(ReadOnlyAdmin, admin.ModelAdmin[ReversalDispute]):
    """Reversals of a credit the pro disputed: support keeps the reversal or restores the
    credit from the request page, never on a reversal or a decision of their own."""

    list_display = ("customer", "time_left", "pro_name", "reversed_credit", "reply")
    list_display_links = ("customer",)
    list_filter = (ReversalDisputeStateFilter,)
    list_select_related = (
        "reversal__reversed_by",
        "reversal__credit__request__lead__category",
        "reversal__credit__request__market",
        "reversal__credit__request__pro__pro_profile",
    )
    search_fields = (
        "reversal__credit__request__lead__customer_name",
        "reversal__credit__request__pro__email",
        "reversal__credit__request__pro__pro_profile__business_name",
        "message",
    )
    ordering = ("due_at", "id")
    show_full_result_count = False

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReversalDispute]:
        decided = Decision.objects.filter(
            request_id=OuterRef("reversal__credit__request_id"), decided_by=request.user
        )
        mine = Q(reversal__reversed_by=request.user)
        return (
            super()
            .get_queryset(request)
            .annotate(
                decided_by_me=Exists(decided),
                reversed_by_me=ExpressionWrapper(mine, output_field=BooleanField()),
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "title": "Disputed reversals",
                "is_nav_sidebar_enabled": False,
            },
        )

    @admin.display(description="Time left", ordering="due_at")
    def time_left(self, obj: ReversalDispute) -> str:
        now = timezone.now()
        left = dispute_clock(obj, now)
        if left is None:
            return obj.outcome_label
        return html(
            '{}<br><span class="rq-muted">waiting {}</span>',
            clock_chip(left, done="answered"),
            duration(now - obj.opened_at),
        )

    @admin.display(description="Request", ordering="reversal__credit__request__lead__customer_name")
    def customer(self, obj: ReversalDispute) -> str:
        request = obj.reversal.credit.request
        return html(
            '{}<br><span class="rq-muted">#{} · {}</span>',
            request.lead.customer_name,
            request.pk,
            request.lead.category,
        )

    @admin.display(description="Pro")
    def pro_name(self, obj: ReversalDispute) -> str:
        return obj.reversal.credit.request.pro.display_name

    @admin.display(description="Reversal disputed")
    def reversed_credit(self, obj: ReversalDispute) -> str:
        reversal = obj.reversal
        request = reversal.credit.request
        # Four eyes: who reversed it, or decided the request, sees that a colleague must answer.
        mine = ""
        if getattr(obj, "reversed_by_me", False):
            mine = html(' <span class="rq-text--warn">{}</span>', "· you reversed it")
        elif getattr(obj, "decided_by_me", False):
            mine = html(' <span class="rq-text--warn">{}</span>', "· you decided it")
        currency = request.market.currency if request.market else ""
        return html(
            '{} taken back{}<br><span class="rq-muted">by {}, {}</span>',
            money(reversal.amount, currency),
            mine,
            reversal.reversed_by,
            day(reversal.reversed_at),
        )

    @admin.display(description="Pro's reply")
    def reply(self, obj: ReversalDispute) -> str:
        return obj.message if len(obj.message) <= 140 else obj.message[:139] + "…"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            dispute = ReversalDispute.objects.select_related("reversal__credit").get(
                pk=int(unquote(object_id))
            )
        except (ValueError, ReversalDispute.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        refund = load_request(dispute.reversal.credit.request_id)
        page = RequestPage(self, "refunds_reversaldispute_changelist")
        if request.method == "POST":
            return page.handle_post(request, refund, obj=dispute)
        return page.render(request, refund, obj=dispute)
